//! Every script in examples/ runs against the simulator and prints what it promises, and the
//! copies embedded in the binary (`examples`, `run --example`, `config example`) work from any
//! directory.

mod common;

use common::{TestSim, twilio_host, workspace_root, write_config};
use predicates::prelude::*;
use predicates::str::{contains, is_match};
use twilio_sim::SimAccount;

/// Runs `examples/NAME` against the built-in simulator and checks stdout with `expected`.
fn example_prints(name: &str, expected: &[&str]) {
    let mut assert = twilio_host()
        .args(["run", &format!("examples/{name}")])
        .assert()
        .success();
    for pattern in expected {
        assert = assert.stdout(is_match(*pattern).unwrap());
    }
}

#[test]
fn quickstart() {
    example_prints(
        "quickstart.lua",
        &[
            r"Message SID: SM[0-9a-f]{32}\n",
            r"Read back: Hello from a sandboxed Lua script!",
        ],
    );
}

#[test]
fn messaging() {
    example_prints(
        "messaging.lua",
        &[
            r"SMS sent: SM[0-9a-f]{32} \(queued\)",
            r"MMS sent: MM[0-9a-f]{32} with 1 media item",
            r"Read back: Your order #1042 has shipped\.",
            r"Recent messages to \+15551234567: [1-5]\n",
        ],
    );
}

#[test]
fn whatsapp() {
    example_prints(
        "whatsapp.lua",
        &[
            r"WhatsApp message: SM[0-9a-f]{32} \(queued\)",
            r"Sent to: whatsapp:\+15551234567",
            r"WhatsApp media message: MM[0-9a-f]{32}",
        ],
    );
}

#[test]
fn calls() {
    example_prints(
        "calls.lua",
        &[
            r"Call placed: CA[0-9a-f]{32} \(queued\)",
            r"Call status now: \w+",
            r"Completed calls: 5\n(  CA[0-9a-f]{32}  completed  \d+s\n){5}",
        ],
    );
}

#[test]
fn numbers_and_lookup() {
    example_prints(
        "numbers_and_lookup.lua",
        &[
            r"Numbers on the account: 4\n",
            r"\+15559876543  Main Line  \(PN[0-9a-f]{32}\)",
            r"First number: \+15559876543, SMS capable: true",
            r"Lookup \+15551234567: valid=true, country=US",
            r"Line type: mobile, carrier: ",
        ],
    );
}

#[test]
fn usage() {
    example_prints(
        "usage.lua",
        &[
            r"SMS usage records: 1\n  sms: \d+ \([0-9.]+ usd\)",
            r"Usage trigger: UT[0-9a-f]{32} fires at 50\.00",
        ],
    );
}

#[test]
fn account_and_recordings() {
    example_prints(
        "account_and_recordings.lua",
        &[
            r"Account: Twilio Simulator Test Account \(active, Full\)",
            r"auth_token visible to the script: false",
            r"Recordings: 5\n",
            r"Deleted RE[0-9a-f]{32}: true",
        ],
    );
}

#[test]
fn error_handling() {
    example_prints(
        "error_handling.lua",
        &[
            r"validation: ok=false kind=validation field=to\n",
            r"not an E\.164 number",
            r"twilio: ok=false kind=twilio status=404 code=20404\n",
            r"Twilio error 20404",
            r"good number: sent SM[0-9a-f]{32}",
            r"bad number:  fix the input: ",
            r#""code": 20404"#,
        ],
    );
}

#[test]
fn multi_account_with_the_shipped_config() {
    // The simulator `twilio-host sim` runs (the default account and `work`), on free ports.
    let sim = TestSim::start(vec![SimAccount::test_default(), SimAccount::new("work")]);
    let shipped = std::fs::read_to_string(workspace_root().join("examples/multi-account.toml"))
        .expect("examples/multi-account.toml exists");
    let config = write_config(&pointed_at(&sim, &shipped));
    let (default, work) = (SimAccount::test_default(), SimAccount::new("work"));
    twilio_host()
        .args(["run", "examples/multi_account.lua", "--config"])
        .arg(&config.path)
        .env("TWILIO_SIM_DEFAULT_AUTH_TOKEN", &default.auth_token)
        .env("TWILIO_SIM_WORK_API_SECRET", &work.api_keys[0].secret)
        .assert()
        .success()
        .stdout(contains(format!(
            "default account: Twilio Simulator Test Account ({})",
            default.account_sid
        )))
        .stdout(contains(format!(
            "work account:    Simulated account work ({})",
            work.account_sid
        )))
        .stdout(contains(
            "default and twilio.default are the same account: true",
        ))
        .stdout(contains(format!("on account {}", work.account_sid)))
        .stdout(contains("accounts: default, work\n"))
        .stdout(contains("personal account: not configured\n"))
        .stdout(contains("twilio.personal: raised a validation error"))
        .stderr(contains("simulator").not());
    let work_requests: Vec<_> = sim
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.auth_user.as_deref() == Some(work.api_keys[0].sid.as_str()))
        .collect();
    assert_eq!(
        work_requests.len(),
        2,
        "the work account authenticates with its API key"
    );
}

/// The simulator `twilio-host sim` runs (the default account and `work`), on free ports, with
/// `text` pointed at it instead of the default addresses.
fn pointed_at(sim: &TestSim, text: &str) -> String {
    let pointed = text
        .replace("http://127.0.0.1:4010", &sim.sim.api_url())
        .replace("http://127.0.0.1:4011", &sim.sim.lookups_url());
    assert_ne!(
        pointed, text,
        "the file points at the sim's default addresses"
    );
    pointed
}

#[test]
fn the_embedded_examples_and_sample_config_work_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let in_elsewhere = || {
        let mut command = twilio_host();
        command.current_dir(elsewhere.path());
        command
    };
    in_elsewhere()
        .arg("examples")
        .assert()
        .success()
        .stdout(contains("quickstart.lua  ").and(contains("Send a text message and read it back.")))
        .stdout(contains("host.toml"));
    let quickstart =
        std::fs::read_to_string(workspace_root().join("examples/quickstart.lua")).unwrap();
    in_elsewhere()
        .args(["examples", "quickstart"])
        .assert()
        .success()
        .stdout(quickstart);
    in_elsewhere()
        .args(["examples", "nope"])
        .assert()
        .code(2)
        .stderr(contains(
            "no example named \"nope\"; the examples: quickstart.lua",
        ));

    let sample = in_elsewhere()
        .args(["config", "example"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sample = String::from_utf8(sample).unwrap();
    let shipped = std::fs::read_to_string(workspace_root().join("examples/host.toml")).unwrap();
    assert_eq!(sample, shipped);
    let sim = TestSim::start(vec![SimAccount::test_default(), SimAccount::new("work")]);
    std::fs::write(
        elsewhere.path().join("host.toml"),
        pointed_at(&sim, &sample),
    )
    .unwrap();
    in_elsewhere()
        .args(["check", "--config", "host.toml"])
        .assert()
        .code(2)
        .stderr(contains("TWILIO_SIM_DEFAULT_AUTH_TOKEN is not set"));
    let (default, work) = (SimAccount::test_default(), SimAccount::new("work"));
    let with_secrets = |command: &mut assert_cmd::Command| {
        command
            .env("TWILIO_SIM_DEFAULT_AUTH_TOKEN", &default.auth_token)
            .env("TWILIO_SIM_WORK_API_SECRET", &work.api_keys[0].secret);
    };
    let mut check = in_elsewhere();
    with_secrets(&mut check);
    check
        .args(["check", "--config", "host.toml"])
        .assert()
        .success()
        .stdout(contains("host.toml: OK"));
    for example in ["quickstart", "multi_account"] {
        let mut run = in_elsewhere();
        with_secrets(&mut run);
        run.args(["run", "--config", "host.toml", "--example", example])
            .assert()
            .success()
            .stderr(contains("simulator").not());
    }
    assert!(
        sim.sim.requests().len() >= 5,
        "the examples ran against the configured simulator"
    );
}

/// A compiled Rust example of this package (`cargo test` builds them next to the test
/// binaries), run with the same clean environment as the CLI tests.
fn rust_example(name: &str) -> assert_cmd::Command {
    let deps = std::env::current_exe().expect("the test binary's path");
    let profile_dir = deps
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/PROFILE/deps/TEST");
    let mut command = assert_cmd::Command::new(profile_dir.join("examples").join(name));
    command.current_dir(workspace_root());
    command
        .env_remove("TWILIO_ACCOUNT_SID")
        .env_remove("RUST_LOG");
    command.timeout(std::time::Duration::from_secs(120));
    command
}

#[test]
fn embedding_two_tenants_in_one_host() {
    rust_example("embed")
        .assert()
        .success()
        .stdout(is_match(r"\[acme\] sent SM[0-9a-f]{32}").unwrap())
        .stdout(is_match(r"\[globex\] sent SM[0-9a-f]{32}").unwrap())
        .stdout(contains("after 1 request(s)"));
}

#[test]
fn a_wasmtime_setup_of_ones_own_runs_scripts_through_our_egress() {
    rust_example("own_wasmtime")
        .assert()
        .success()
        .stdout(is_match(r"sent SM[0-9a-f]{32}").unwrap())
        .stdout(contains(
            "another account: denied: twilio_get_account failed: request denied by the host: \
             account \"default\" may not act on \"ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"",
        ))
        .stdout(contains("returned \"queued\""))
        .stdout(contains("requests: 2"));
}
