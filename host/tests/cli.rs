//! The `twilio-host` command line, end to end through the real binary: every subcommand, every
//! exit code, input from a file, stdin and `-e`, configuration errors, environment credentials
//! and the audit log. No test ever sees a developer's real TWILIO_* variables.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{
    TestSim, tenant_toml, twilio_host, twilio_host_process, workspace_root, write_config,
};
use predicates::prelude::*;
use twilio_sim::SimAccount;

/// The simulator's default account and a config file with tenants `acme` and `beta` using it.
fn two_tenant_setup(extra_acme: &str) -> (TestSim, common::ConfigFile) {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    let account = SimAccount::test_default();
    let text = format!(
        "{}{}{}",
        sim.endpoints_toml(),
        tenant_toml("acme", &account, "ACME_TOKEN", extra_acme),
        tenant_toml("beta", &account, "ACME_TOKEN", "")
    );
    (sim, write_config(&text))
}

/// What `check` prints for `config` (whose tenants' token is in `ACME_TOKEN`); it must pass.
fn checked(config: &common::ConfigFile) -> String {
    let output = twilio_host()
        .args(["check", "--config"])
        .arg(&config.path)
        .env("ACME_TOKEN", SimAccount::test_default().auth_token)
        .assert()
        .success()
        .get_output()
        .clone();
    stdout_of(&output)
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---- run -------------------------------------------------------------------------------------

#[test]
fn quickstart_runs_against_the_built_in_simulator_without_any_configuration() {
    twilio_host()
        .args(["run", "examples/quickstart.lua"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"Message SID: SM[0-9a-f]{32}\n").unwrap())
        .stdout(predicate::str::contains(
            "Read back: Hello from a sandboxed Lua script!",
        ))
        .stderr(predicate::str::contains("using the built-in simulator"));
}

/// `twilio-host run --json -e SCRIPT` against the built-in simulator keeping its data in
/// `state`: the script's value from the report on the last line of stdout, and stderr.
fn run_in_state(state: &std::path::Path, script: &str) -> (serde_json::Value, String) {
    let output = twilio_host()
        .env("TWILIO_HOST_STATE_DIR", state)
        .args(["run", "--json", "-e", script])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&output);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    (
        report["value"].clone(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_built_in_simulator_keeps_what_one_run_did_for_the_next() {
    let state = common::fresh_state_dir();
    let send = r#"return app.integrations.twilio.twilio_send_sms({
        to = "+15551234567", from = "+15559876543", body = "kept between runs"}).sid"#;
    let newest = r#"local m = app.integrations.twilio.twilio_list_messages({limit = 1}).messages[1]
        return {sid = m.sid, body = m.body}"#;
    let (sent, notice) = run_in_state(&state, send);
    let file = state.join("simulator.json");
    assert!(
        notice.contains(&format!(
            "keeps its data between runs in {}",
            file.display()
        )),
        "the notice says where the data lives: {notice}"
    );
    let (listed, _) = run_in_state(&state, newest);
    assert_eq!(
        listed["sid"], sent,
        "the second run lists the first run's message"
    );
    assert_eq!(listed["body"], "kept between runs");
    let audit = twilio_host()
        .env("TWILIO_HOST_STATE_DIR", &state)
        .args(["audit", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<serde_json::Value> = stdout_of(&audit)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let functions: Vec<&str> = records
        .iter()
        .map(|r| r["function"].as_str().unwrap())
        .collect();
    assert_eq!(functions, ["twilio_send_sms", "twilio_list_messages"]);
    assert_eq!(records[0]["sid"], sent, "the audit names what the run sent");

    twilio_host()
        .env("TWILIO_HOST_STATE_DIR", &state)
        .args(["sim", "--reset"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted"));
    assert!(!file.exists());
    let (listed, _) = run_in_state(&state, newest);
    assert_ne!(
        listed["body"], "kept between runs",
        "a reset forgets the message"
    );
    let (again, _) = run_in_state(&state, send);
    assert_ne!(again, sent, "a fresh state never hands out an earlier SID");
    let (elsewhere, _) = run_in_state(&common::fresh_state_dir(), send);
    assert_ne!(elsewhere, sent, "nor does another user's state");

    std::fs::write(&file, "{damaged").unwrap();
    let (_, notice) = run_in_state(&state, send);
    assert!(
        notice.contains("keeps nothing after this run")
            && notice.contains(&file.display().to_string())
            && notice.contains("not a saved simulator state"),
        "a damaged file does not stop the run, and the notice says so: {notice}"
    );
}

#[test]
fn eval_prints_output_then_the_return_value() {
    twilio_host()
        .args(["run", "-e", "print('hello') return {answer = 42}"])
        .assert()
        .success()
        .stdout("hello\n{\n  \"answer\": 42\n}\n");
}

#[test]
fn stdin_script_with_json_prints_the_run_report_last() {
    let output = twilio_host()
        .args(["run", "-", "--json"])
        .write_stdin("print('working') return {ok = true, items = {'a', 'b'}}")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&output);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("working"));
    let report: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        report["value"],
        serde_json::json!({"ok": true, "items": ["a", "b"]})
    );
    assert!(report["error"].is_null());
    assert_eq!(report["requests"], 0);
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(run_id.len(), 36, "a UUID: {run_id}");
    assert!(report.get("printed").is_none(), "printed once, above");
    assert_eq!(lines.next(), None);
}

#[test]
fn json_of_a_script_without_a_return_value_is_null() {
    twilio_host()
        .args(["run", "--json", "-e", "local x = 1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""value":null"#));
}

#[test]
fn with_json_a_failed_run_still_prints_its_report() {
    let output = twilio_host()
        .args(["run", "--json", "-e", "error({code = 7})"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_str(stdout_of(&output).trim()).unwrap();
    assert_eq!(report["error"]["kind"], "runtime");
    assert!(report["value"].is_null());
    assert!(report["run_id"].is_string());
}

#[test]
fn a_failing_script_exits_1_with_the_message_and_traceback_on_stderr() {
    twilio_host()
        .args(["run", "-e", "local function f() error('boom') end\nf()"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("error (runtime):"))
        .stderr(predicate::str::contains("boom"))
        .stderr(predicate::str::contains("stack traceback"));
}

#[test]
fn an_uncaught_twilio_error_shows_its_code_and_status() {
    twilio_host()
        .args([
            "run",
            "-e",
            "app.integrations.twilio.twilio_get_call({call_sid = 'CA00000000000000000000000000000000'})",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error kind: twilio"))
        .stderr(predicate::str::contains("twilio code: 20404, HTTP status: 404"))
        .stderr(predicate::str::contains("stack traceback"));
}

#[test]
fn a_validation_error_names_the_field() {
    twilio_host()
        .args([
            "run",
            "-e",
            "app.integrations.twilio.twilio_send_sms({to = '555', from = '+15559876543', body = 'x'})",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error kind: validation (field to)"))
        .stderr(predicate::str::contains("E.164"));
}

#[test]
fn a_policy_refusal_names_its_rule_and_field_and_sends_nothing() {
    let (sim, config) = two_tenant_setup("");
    let policy = "[tenants.acme.policy]\nallowed_countries = [\"US\", \"CA\"]\n";
    let text = std::fs::read_to_string(&config.path).unwrap() + policy;
    std::fs::write(&config.path, text).unwrap();
    twilio_host()
        .args(["run", "-v", "--tenant", "acme", "--config"])
        .arg(&config.path)
        .env("ACME_TOKEN", SimAccount::test_default().auth_token)
        .args([
            "-e",
            "app.integrations.twilio.twilio_send_sms({to = '+442071838750', from = '+15559876543', body = 'x'})",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error kind: policy (rule allowed_countries, field to)",
        ))
        .stderr(predicate::str::contains(
            "+442071838750 is a number in GB; this tenant may reach US, CA",
        ))
        .stderr(predicate::str::contains("request refused"))
        .stderr(predicate::str::contains("rule=\"allowed_countries\""));
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn a_syntax_error_exits_1() {
    twilio_host()
        .args(["run", "-e", "return ("])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error (syntax)"));
}

#[test]
fn a_runaway_script_hits_its_cpu_limit_and_exits_1() {
    let (_sim, config) = two_tenant_setup("limits = { cpu_ms = 200 }");
    twilio_host()
        .args(["run", "--tenant", "acme", "--config"])
        .arg(&config.path)
        .args(["-e", "print('before') while true do end"])
        .env("ACME_TOKEN", SimAccount::test_default().auth_token)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("limit"));
}

#[test]
fn a_missing_script_file_is_a_usage_error() {
    twilio_host()
        .args(["run", "examples/no-such-script.lua"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read examples/no-such-script.lua",
        ));
}

#[test]
fn usage_errors_exit_2() {
    twilio_host().args(["run"]).assert().code(2);
    twilio_host()
        .args(["run", "x.lua", "-e", "return 1"])
        .assert()
        .code(2);
    twilio_host().args(["no-such-command"]).assert().code(2);
    twilio_host()
        .args(["serve", "--listen", "256.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--listen"));
}

#[test]
fn an_address_that_cannot_be_bound_is_a_host_failure_exit_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = taken.local_addr().expect("its address").to_string();
    twilio_host()
        .args(["serve", "--listen", &address])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "cannot listen on {address}"
        )));
}

#[test]
fn a_foreign_account_sid_is_denied_with_the_hosts_reason() {
    let sid = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let output = twilio_host()
        .args([
            "run",
            "-e",
            &format!("return app.integrations.twilio.twilio_get_account({{sid = {sid:?}}})"),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error kind: denied"))
        .stderr(predicate::str::contains(format!(
            "account \"default\" may not act on \"{sid}\""
        )))
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("not one of the tenant's Twilio endpoints"),
        "the reason is the real one: {stderr}"
    );
}

#[test]
fn a_fresh_cache_gets_the_pre_initialised_component() {
    let cache = tempfile::tempdir().expect("a temporary directory");
    twilio_host()
        .env("TWILIO_HOST_CACHE_DIR", cache.path())
        .args([
            "run",
            "-e",
            "return app.integrations.twilio.twilio_get_account({}).status",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("could not pre-initialise").not());
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .expect("the cache directory was made")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(
        cached.len(),
        1,
        "only a pre-initialised component is cached"
    );
}

/// The host executes the machine code in its cache, so it uses only a cache nobody else could
/// have written: made owner-only, loaded while it stays so, ignored (not even read) once the
/// directory or the file is writable by others, even with every byte of code replaced.
#[cfg(unix)]
#[test]
fn a_cache_others_could_write_is_not_used_and_a_private_one_is() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("a temporary directory");
    let cache = root.path().join("compiled");
    let run = || {
        let output = twilio_host()
            .env("TWILIO_HOST_CACHE_DIR", &cache)
            .env("RUST_LOG", "twilio_host::code_cache=debug")
            .args(["run", "-e", "return 40 + 2"])
            .assert()
            .success()
            .stdout("42\n")
            .get_output()
            .clone();
        String::from_utf8(output.stderr).unwrap()
    };
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let chmod = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    const LOADED: &str = "compiled component loaded from the cache";
    const REFUSED: &str = "not using the compiled-code cache";

    assert!(!run().contains(LOADED));
    let file = std::fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "cwasm"))
        .expect("the compiled component was cached");
    assert_eq!((mode(&cache), mode(&file)), (0o700, 0o600));
    assert!(run().contains(LOADED), "a private cache is used");

    // Someone else could have written it: tampered (every byte after the ELF header replaced
    // with int3), it must not even be looked at.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[64..].fill(0xcc);
    std::fs::write(&file, bytes).unwrap();
    chmod(&cache, 0o777);
    let stderr = run();
    assert!(stderr.contains(REFUSED), "{stderr}");
    assert!(
        stderr.contains("can be written by group or others (mode 777)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(LOADED) && !stderr.contains("unusable"),
        "{stderr}"
    );
    chmod(&cache, 0o700);
    chmod(&file, 0o646);
    let stderr = run();
    assert!(
        stderr.contains(REFUSED) && stderr.contains("(mode 646)"),
        "{stderr}"
    );

    // Back to private and rebuilt: used again.
    std::fs::remove_file(&file).unwrap();
    assert!(!run().contains(LOADED));
    assert!(run().contains(LOADED));
}

#[test]
fn json_objects_come_out_with_sorted_keys() {
    let output = twilio_host()
        .args([
            "run",
            "--json",
            "-e",
            "return {zeta = 1, alpha = {c = 3, b = 2}, mid = true}",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&output).contains(r#""value":{"alpha":{"b":2,"c":3},"mid":true,"zeta":1}"#),
        "{}",
        stdout_of(&output)
    );
}

#[test]
fn a_bad_config_names_the_file_and_the_key() {
    let config = write_config("[limits]\nmemroy_mb = 64\n");
    twilio_host()
        .args(["run", "-e", "return 1", "--config"])
        .arg(&config.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("config error"))
        .stderr(predicate::str::contains("memroy_mb"));
}

#[test]
fn an_unset_secret_variable_names_the_key_and_the_variable() {
    let (_sim, config) = two_tenant_setup("");
    twilio_host()
        .args(["run", "-e", "return 1", "--config"])
        .arg(&config.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tenants.acme.accounts.default.auth_token_env",
        ))
        .stderr(predicate::str::contains("ACME_TOKEN is not set"));
}

#[test]
fn the_config_can_come_from_twilio_host_config() {
    let (sim, config) = two_tenant_setup("");
    twilio_host()
        .args(["run", "--tenant", "beta", "-e"])
        .arg("return app.integrations.twilio.twilio_get_account({}).sid")
        .env("TWILIO_HOST_CONFIG", &config.path)
        .env("ACME_TOKEN", SimAccount::test_default().auth_token)
        .assert()
        .success()
        .stdout(format!("\"{}\"\n", SimAccount::test_default().account_sid));
    assert_eq!(sim.request_count(), 1);
}

#[test]
fn an_unknown_tenant_is_a_usage_error_listing_the_known_ones() {
    let (sim, config) = two_tenant_setup("");
    twilio_host()
        .args(["run", "--tenant", "nobody", "-e", "return 1", "--config"])
        .arg(&config.path)
        .env("ACME_TOKEN", "x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown tenant \"nobody\""))
        .stderr(predicate::str::contains("acme, beta"));
    assert_eq!(sim.request_count(), 0);
}

// ---- credentials from the environment ----------------------------------------------------------

/// The standard variables plus the endpoint overrides that point them at `sim`.
fn env_run(sim: &TestSim) -> assert_cmd::Command {
    let mut command = twilio_host();
    command
        .env("TWILIO_ACCOUNT_SID", SimAccount::test_default().account_sid)
        .env("TWILIO_API_BASE_URL", sim.sim.api_url())
        .env("TWILIO_LOOKUPS_BASE_URL", sim.sim.lookups_url());
    command
}

#[test]
fn account_sid_and_auth_token_from_the_environment() {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    env_run(&sim)
        .env("TWILIO_AUTH_TOKEN", SimAccount::test_default().auth_token)
        .args(["run", "examples/numbers_and_lookup.lua"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Lookup +15551234567: valid=true"))
        .stderr(predicate::str::contains("simulator").not());
    let requests = sim.sim.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests.iter().all(
            |r| r.auth_user.as_deref() == Some(SimAccount::test_default().account_sid.as_str())
        )
    );
}

#[test]
fn api_key_and_secret_from_the_environment() {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    let key = SimAccount::test_default().api_keys[0].clone();
    env_run(&sim)
        .env("TWILIO_API_KEY", &key.sid)
        .env("TWILIO_API_SECRET", &key.secret)
        .args(["run", "examples/quickstart.lua"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Message SID: SM"));
    let requests = sim.sim.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.auth_user.as_deref() == Some(key.sid.as_str()))
    );
}

#[test]
fn a_wrong_auth_token_is_twilio_error_20003() {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    env_run(&sim)
        .env("TWILIO_AUTH_TOKEN", "not-the-token")
        .args(["run", "examples/quickstart.lua"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("twilio code: 20003"))
        .stderr(predicate::str::contains("not-the-token").not());
}

#[test]
fn a_bad_endpoint_variable_is_a_usage_error_naming_it() {
    twilio_host()
        .env("TWILIO_ACCOUNT_SID", SimAccount::test_default().account_sid)
        .env("TWILIO_AUTH_TOKEN", "x")
        .env("TWILIO_API_BASE_URL", "localhost:4010")
        .args(["run", "-e", "return 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("TWILIO_API_BASE_URL"));
}

#[test]
fn check_refuses_endpoints_with_credentials_or_clear_text_to_other_hosts() {
    let account = SimAccount::test_default();
    let tenant = tenant_toml("acme", &account, "ACME_TOKEN", "");
    let check = |text: &str| {
        let config = write_config(text);
        twilio_host()
            .args(["check", "--config"])
            .arg(&config.path)
            .env("ACME_TOKEN", &account.auth_token)
            .assert()
    };
    check(&format!(
        "[endpoints]\napi = \"http://user:hunter2@127.0.0.1:4010\"\n{tenant}"
    ))
    .code(2)
    .stderr(predicate::str::contains(
        "endpoints.api: a base URL may not carry credentials",
    ))
    .stderr(predicate::str::contains("hunter2").not());
    check(&format!(
        "[endpoints]\napi = \"http://api.example.com\"\n{tenant}"
    ))
    .code(2)
    .stderr(predicate::str::contains(
        "endpoints.api: \"http://api.example.com\" is plain http to a host that is not loopback",
    ));
    check(&format!(
        "allow_insecure_endpoints = true\n[endpoints]\napi = \"http://api.example.com\"\n{tenant}"
    ))
    .success();
    check(&format!(
        "[endpoints]\napi = \"http://localhost:4010\"\nlookups = \"http://[::1]:4011\"\n{tenant}"
    ))
    .success();
}

#[test]
fn an_auth_token_without_an_account_sid_does_not_configure_anything() {
    twilio_host()
        .args(["check"])
        .env("TWILIO_AUTH_TOKEN", "orphan")
        .assert()
        .success()
        .stdout(predicate::str::contains("built-in simulator"));
}

// ---- logging ---------------------------------------------------------------------------------

#[test]
fn verbose_runs_log_audit_lines_without_secrets() {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    let token = SimAccount::test_default().auth_token;
    for (flags, format) in [
        (&["-v"][..], "text"),
        (&["-v"][..], "json"),
        (&["-vv"][..], "text"),
    ] {
        let output = env_run(&sim)
            .env("TWILIO_AUTH_TOKEN", &token)
            .args(flags)
            .args(["--log-format", format, "run", "examples/quickstart.lua"])
            .assert()
            .success()
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let audit: Vec<&str> = stderr
            .lines()
            .filter(|line| line.contains("twilio_host::audit"))
            .collect();
        assert_eq!(audit.len(), 2, "{flags:?} {format}: {stderr}");
        assert!(
            audit.iter().all(|line| line.contains("twilio request")),
            "{stderr}"
        );
        if format == "json" {
            for line in &audit {
                let event: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(event["target"], "twilio_host::audit");
            }
        }
        assert!(
            !stderr.contains(&token),
            "{flags:?} {format}: the auth token leaked"
        );
        assert!(
            !stderr.contains('\u{1b}'),
            "no colour codes when stderr is not a terminal"
        );
        assert!(!stdout_of(&output).contains(&token));
    }
}

#[test]
fn quiet_runs_log_no_audit_lines() {
    twilio_host()
        .args(["run", "examples/quickstart.lua"])
        .assert()
        .success()
        .stderr(predicate::str::contains("audit").not());
}

// ---- docs ------------------------------------------------------------------------------------

#[test]
fn docs_prints_the_product_reference_with_what_each_function_returns() {
    let product = std::fs::read_to_string(workspace_root().join("docs/lua-api.md")).unwrap();
    let output = twilio_host()
        .arg("docs")
        .assert()
        .success()
        .get_output()
        .clone();
    let served = stdout_of(&output);
    let mut served_lines = served.lines();
    for line in product.lines() {
        assert!(
            served_lines.any(|served| served == line),
            "the product's line {line:?} is missing or out of order"
        );
    }
    assert_eq!(
        served
            .matches("### Returns (added by this integration)\n")
            .count(),
        15,
        "one Returns part per function"
    );
}

#[test]
fn docs_for_one_function_prints_its_section() {
    let reference = std::fs::read_to_string(workspace_root().join("docs/lua-api.md")).unwrap();
    let output = twilio_host()
        .args(["docs", "twilio_send_sms"])
        .assert()
        .success()
        .get_output()
        .clone();
    let section = stdout_of(&output);
    assert!(section.starts_with("## twilio_send_sms\n"), "{section}");
    assert!(section.contains("### Parameters") && section.contains("### Example"));
    assert!(!section.contains("## twilio_get_message"), "{section}");
    let product_section = section
        .split("### Returns (added by this integration)\n")
        .next()
        .unwrap();
    assert!(
        reference.contains(product_section),
        "the section starts with the product's text"
    );
    assert!(
        section.contains("### Returns (added by this integration)\n"),
        "{section}"
    );
}

#[test]
fn docs_for_an_unknown_function_exits_2_with_the_suggestion_help_gives() {
    twilio_host()
        .args(["docs", "twilio_fax"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no function named \"twilio_fax\""));
    twilio_host()
        .args(["docs", "send_message"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "(did you mean \"twilio_send_sms\" or \"twilio_send_whatsapp\"?)",
        ));
}

// ---- check -----------------------------------------------------------------------------------

#[test]
fn check_lists_tenants_and_accounts_but_never_a_secret() {
    let (_sim, config) = two_tenant_setup(
        "api_token_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"",
    );
    let token = SimAccount::test_default().auth_token;
    let output = twilio_host()
        .args(["check", "--config"])
        .arg(&config.path)
        .env("ACME_TOKEN", &token)
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&output);
    assert!(stdout.contains(": OK"), "{stdout}");
    assert!(
        stdout.contains("tenant acme:") && stdout.contains("sidecar token set"),
        "{stdout}"
    );
    assert!(stdout.contains("tenant beta:"), "{stdout}");
    assert!(stdout.contains(&format!(
        "account default: {} via auth token",
        SimAccount::test_default().account_sid
    )));
    assert!(!stdout.contains(&token) && !String::from_utf8_lossy(&output.stderr).contains(&token));
}

#[test]
fn check_prints_the_server_settings_and_what_the_pool_may_keep() {
    let (_sim, config) = two_tenant_setup("");
    let server =
        "[server]\nmax_concurrent_runs = 100\nmemory_budget_mb = 4096\nmax_connections = 50\n";
    let text = server.to_string() + &std::fs::read_to_string(&config.path).unwrap();
    std::fs::write(&config.path, text).unwrap();
    let stdout = checked(&config);
    // 100 slots (fewer than 128: one shard) of at most 656 KiB each.
    assert!(
        stdout.contains(
            "server: 100 runs at once, guest memory budget 4096 MiB, idle run slots keep at most 64 MiB after bursts\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  connections: 50 at once; head 10000 ms, body 30000 ms, shutdown 30000 ms\n"
        ),
        "{stdout}"
    );
    let zero = write_config("[server]\nmax_concurrent_runs = 0\n");
    twilio_host()
        .args(["check", "--config"])
        .arg(&zero.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max_concurrent_runs"))
        .stderr(predicate::str::contains("must be at least 1"));
}

#[test]
fn check_prints_each_tenants_policy_quotas_and_where_counts_live() {
    let (_sim, config) = two_tenant_setup("");
    let policy = r#"
[state]
url = "sqlite:///var/lib/twilio-host/state.db"
[tenants.acme.policy]
functions = ["read", "send"]
allowed_countries = ["us"]
[tenants.acme.policy.quotas]
messages_per_day = 500
segments_per_day = 1000
"#;
    let text = std::fs::read_to_string(&config.path).unwrap() + policy;
    std::fs::write(&config.path, text).unwrap();
    let stdout = checked(&config);
    let acme = &stdout[stdout.find("tenant acme").unwrap()..stdout.find("tenant beta").unwrap()];
    assert!(
        acme.contains("    functions = [\"read\", \"send\"]\n"),
        "{acme}"
    );
    assert!(
        acme.contains("    allowed_countries = [\"US\"]\n"),
        "{acme}"
    );
    assert!(
        acme.contains("    messages_per_day = 500\n    segments_per_day = 1000\n"),
        "{acme}"
    );
    let beta = &stdout[stdout.find("tenant beta").unwrap()..];
    assert!(
        beta.contains("    denied_prefixes = [\"+1900\", \"+449\", \"+4470\", \"+870\", \"+881\", \"+882\", \"+883\", \"+979\"]\n"),
        "the default policy: {beta}"
    );
    assert!(beta.contains("  quotas: none\n"), "{beta}");
    assert!(
        stdout.contains(
            "quota counts and audit trail: sqlite:///var/lib/twilio-host/state.db (records kept 90 days, destinations masked)"
        ),
        "{stdout}"
    );
}

#[test]
fn a_bad_policy_names_the_key_and_what_is_allowed() {
    let account = SimAccount::test_default();
    let text = format!(
        "{}[tenants.acme.policy]\nallowed_countries = [\"USA\"]\nfunctions = [\"write\"]\n[tenants.acme.accounts.default.policy.quotas]\nmessages_per_day = 1\n",
        tenant_toml("acme", &account, "ACME_TOKEN", "")
    );
    let config = write_config(&text);
    twilio_host()
        .args(["check", "--config"])
        .arg(&config.path)
        .env("ACME_TOKEN", &account.auth_token)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tenants.acme.policy.allowed_countries: \"USA\" is not an ISO 3166 two-letter country code",
        ))
        .stderr(predicate::str::contains(
            "tenants.acme.policy.functions: \"write\" is neither a class (read, send, call, delete, configure)",
        ))
        .stderr(predicate::str::contains(
            "tenants.acme.accounts.default.policy.quotas: quotas count for the whole tenant",
        ));
}

#[test]
fn check_says_which_secrets_could_not_be_resolved() {
    let account = SimAccount::test_default();
    let text = format!(
        "{}[tenants.ops.accounts.default]\naccount_sid = \"{}\"\nauth_token_file = \"/nonexistent/token\"\n",
        tenant_toml("acme", &account, "ACME_TOKEN", ""),
        account.account_sid
    );
    let config = write_config(&text);
    twilio_host()
        .args(["check", "--config"])
        .arg(&config.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tenants.acme.accounts.default.auth_token_env: environment variable ACME_TOKEN is not set",
        ))
        .stderr(predicate::str::contains(
            "tenants.ops.accounts.default.auth_token_file: cannot read /nonexistent/token",
        ));
}

#[test]
fn check_of_a_malformed_file_exits_2() {
    let config = write_config("[tenants.acme\n");
    twilio_host()
        .args(["check", "--config"])
        .arg(&config.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("host.toml"));
    twilio_host()
        .args(["check", "--config", "/nonexistent/host.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the config file"));
}

#[test]
fn check_without_configuration_points_at_the_simulator() {
    twilio_host()
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains("built-in simulator"))
        .stdout(predicate::str::contains(
            "policy (the default):\n  read_only = false\n",
        ))
        .stdout(predicate::str::contains("  denied_prefixes = [\"+1900\""));
}

// ---- hash-token ------------------------------------------------------------------------------

#[test]
fn hash_token_prints_the_sha256_of_stdin() {
    // `printf 0123456789abcdef0123456789abcdef | sha256sum`: the newline is not part of it.
    twilio_host()
        .arg("hash-token")
        .write_stdin("0123456789abcdef0123456789abcdef\n")
        .assert()
        .success()
        .stdout("3eb1bd439947eb762998e566ccc2e099c791118b2f40579cc4f7da2b5061b7f9\n");
}

#[test]
fn hash_token_refuses_a_missing_or_short_token_with_exit_2() {
    twilio_host()
        .arg("hash-token")
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no token on stdin"));
    twilio_host()
        .arg("hash-token")
        .write_stdin("s3cret\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the token on stdin has 6 characters; a token must have at least 32",
        ))
        .stderr(predicate::str::contains("twilio-host gen-token"));
}

#[test]
fn gen_token_prints_a_fresh_token_and_the_config_line_with_its_hash() {
    let generate = || {
        let out = twilio_host().arg("gen-token").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let printed = generate();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    let token = lines[0];
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    let hashed = twilio_host()
        .arg("hash-token")
        .write_stdin(token)
        .output()
        .unwrap();
    let hash = String::from_utf8(hashed.stdout).unwrap();
    assert_eq!(lines[1], format!("api_token_sha256 = \"{}\"", hash.trim()));
    assert_ne!(
        generate().lines().next(),
        Some(token),
        "a new token each time"
    );
}

// ---- sim -------------------------------------------------------------------------------------

#[test]
fn sim_prints_urls_and_credentials_and_serves_scripts_until_sigterm() {
    let mut child = twilio_host_process()
        .args(["sim", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("export TWILIO_SIM_WORK_API_SECRET=");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    let url_after = |label: &str| {
        banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|url| url.trim().to_string())
            .unwrap_or_else(|| panic!("no {label} in {banner}"))
    };
    let (api, lookups) = (url_after("core API:"), url_after("Lookup API:"));
    let default = SimAccount::test_default();
    assert!(
        banner.contains(&default.account_sid) && banner.contains(&default.auth_token),
        "{banner}"
    );
    assert!(
        banner.contains(&SimAccount::new("work").account_sid),
        "{banner}"
    );

    let text = format!(
        "[endpoints]\napi = \"{api}\"\nlookups = \"{lookups}\"\n{}",
        tenant_toml("default", &default, "SIM_TOKEN", "")
    );
    let config = write_config(&text);
    twilio_host()
        .args(["run", "examples/quickstart.lua", "--config"])
        .arg(&config.path)
        .env("SIM_TOKEN", &default.auth_token)
        .assert()
        .success()
        .stdout(predicate::str::contains("Message SID: SM"));

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "sim exits 0 on SIGTERM");
}

// ---- mcp -------------------------------------------------------------------------------------

/// `twilio-host mcp` for tenant `acme` of a config against the simulator: one run at a time,
/// and limits that let a loop spin for minutes (so that only cancelling can stop it soon).
fn mcp_over_stdio(sim: &TestSim, config: &common::ConfigFile) -> common::mcp_client::Client {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twilio-host"));
    for var in common::CLEARED_VARS {
        command.env_remove(var);
    }
    command
        .args(["mcp", "--tenant", "acme", "--config"])
        .arg(&config.path)
        .env("ACME_TOKEN", SimAccount::test_default().auth_token)
        .env("TWILIO_HOST_STATE_DIR", common::fresh_state_dir());
    sim.block_on(async {
        let transport =
            rmcp::transport::TokioChildProcess::new(command).expect("twilio-host mcp starts");
        rmcp::ServiceExt::serve((), transport)
            .await
            .expect("the MCP client initializes")
    })
}

#[test]
fn mcp_over_stdio_runs_scripts_serves_the_reference_and_stops_a_cancelled_run() {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    let limits = "limits = { max_concurrent_runs = 1, cpu_ms = 600000, wall_ms = 600000, lua_instructions = 1000000000000000 }";
    let config = write_config(&format!(
        "{}{}",
        sim.endpoints_toml(),
        tenant_toml("acme", &SimAccount::test_default(), "ACME_TOKEN", limits)
    ));
    let client = mcp_over_stdio(&sim, &config);
    let sid = sim.block_on(common::mcp_client::check_tools_and_reference(&client));
    let bodies: Vec<String> = sim
        .sim
        .state()
        .messages(&SimAccount::test_default().account_sid)
        .iter()
        .filter(|m| m["sid"] == sid.as_str())
        .map(|m| m["body"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(bodies, ["over MCP"], "the SMS reached the simulator once");

    // A client that gives up on a run cancels it: the sandbox stops, and the tenant's only run
    // slot is free for the next run at once (else it would wait ten minutes for the CPU limit).
    sim.block_on(async {
        let endless = common::mcp_client::run(&client, "while true do end");
        assert!(
            tokio::time::timeout(Duration::from_millis(500), endless)
                .await
                .is_err(),
            "the loop is still running"
        );
        let next = tokio::time::timeout(
            Duration::from_secs(60),
            common::mcp_client::run(&client, "return 41 + 1"),
        )
        .await
        .expect("the next run got the slot: the cancelled one stopped");
        assert_eq!(next.structured_content.unwrap()["value"], 42);
        client.cancel().await.expect("the client closes");
    });
}
