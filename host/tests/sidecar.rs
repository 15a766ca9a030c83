//! `twilio-host serve` over real HTTP: the binary runs as a child process on 127.0.0.1:0 with a
//! config whose tenants use an in-process simulator; the tests speak HTTP to it.

mod common;

use std::time::Duration;

use common::{ServeProcess, TestSim, tenant_toml, twilio_host, write_config};
use predicates::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use twilio_sim::{Fault, FaultKind, SimAccount};

const ACME_TOKEN: &str = "acme-token-0123456789";
const BETA_TOKEN: &str = "beta-token-9876543210";

fn sha256_hex(token: &str) -> String {
    twilio_host::config::TokenHash::of(token).to_string()
}

/// A simulator and a sidecar with tenants `acme` and `beta` (each with its own token),
/// `nohash` (no token: cannot use the sidecar) and `runaway` (token of acme's, with limits
/// large enough to loop for minutes).
struct Sidecar {
    sim: TestSim,
    serve: ServeProcess,
    client: reqwest::Client,
    _config: common::ConfigFile,
}

impl Sidecar {
    fn start() -> Sidecar {
        Sidecar::start_with(&[], &[])
    }

    /// [`Sidecar::start`] with more arguments for `serve` and more environment variables.
    fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Sidecar {
        let sim = TestSim::start(vec![SimAccount::test_default()]);
        let account = SimAccount::test_default();
        let hash = |token: &str| format!("api_token_sha256 = \"{}\"", sha256_hex(token));
        let text = [
            sim.endpoints_toml(),
            tenant_toml("acme", &account, "SIM_TOKEN", &hash(ACME_TOKEN)),
            tenant_toml("beta", &account, "SIM_TOKEN", &hash(BETA_TOKEN)),
            tenant_toml("nohash", &account, "SIM_TOKEN", ""),
            tenant_toml(
                "runaway",
                &account,
                "SIM_TOKEN",
                &format!(
                    "{}\nlimits = {{ cpu_ms = 600000, wall_ms = 600000, lua_instructions = 1000000000000000 }}",
                    hash(ACME_TOKEN)
                ),
            ),
        ]
        .concat();
        let config = write_config(&text);
        let args = [&["--config", config.path.to_str().unwrap()], args].concat();
        let envs = [&[("SIM_TOKEN", account.auth_token.as_str())], envs].concat();
        let serve = ServeProcess::start(&args, &envs);
        Sidecar {
            sim,
            serve,
            client: reqwest::Client::new(),
            _config: config,
        }
    }

    /// POSTs `body` to `tenant`'s runs with `token` (none when `None`).
    async fn post(&self, tenant: &str, token: Option<&str>, body: String) -> (StatusCode, Value) {
        post(&self.client, self.serve.runs_url(tenant), token, body).await
    }

    /// Runs `script` for `tenant` with `token`.
    async fn run(&self, tenant: &str, token: &str, script: &str) -> (StatusCode, Value) {
        self.post(tenant, Some(token), script_body(script)).await
    }
}

/// POSTs `body` to `url` with `token` (none when `None`); the status and the JSON answer.
async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: String,
) -> (StatusCode, Value) {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the sidecar answers");
    let status = response.status();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

/// The JSON body of a run request.
fn script_body(script: &str) -> String {
    json!({ "script": script }).to_string()
}

const SEND_SMS: &str = r#"local sms = app.integrations.twilio.twilio_send_sms({
    to = "+15551234567", from = "+15559876543", body = "from the sidecar" })
print("sent " .. sms.sid)
return { sid = sms.sid }"#;

#[test]
fn healthz_answers_ok() {
    let sidecar = Sidecar::start();
    let body = sidecar.sim.block_on(async {
        let response = sidecar
            .client
            .get(format!("{}/healthz", sidecar.serve.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    });
    assert_eq!(body, "ok");
}

#[test]
fn each_tenant_runs_with_its_own_token_and_a_wrong_token_runs_nothing() {
    let sidecar = Sidecar::start();
    sidecar.sim.block_on(async {
        let (status, body) = sidecar.run("acme", ACME_TOKEN, SEND_SMS).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["printed"].as_str().unwrap().starts_with("sent SM"),
            "{body}"
        );
        assert!(body["value"]["sid"].as_str().unwrap().starts_with("SM"));
        assert_eq!(body["error"], Value::Null);
        assert_eq!(body["requests"], 1);
        assert!(body["elapsed_ms"].is_u64());

        let (status, body) = sidecar.run("beta", BETA_TOKEN, "return 'beta'").await;
        assert_eq!((status, &body["value"]), (StatusCode::OK, &json!("beta")));
        assert_eq!(sidecar.sim.request_count(), 1);

        let refused = [
            ("acme", Some(BETA_TOKEN)),
            ("beta", Some(ACME_TOKEN)),
            ("acme", Some("")),
            ("acme", Some("acme-token-012345678")),
            ("acme", None),
        ];
        for (tenant, token) in refused {
            let (status, answer) = sidecar.post(tenant, token, script_body(SEND_SMS)).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{tenant} {token:?}: {answer}"
            );
            assert_eq!(answer["error"]["kind"], "unauthorized");
        }
        let response = sidecar
            .client
            .post(sidecar.serve.runs_url("acme"))
            .header("authorization", format!("Basic {ACME_TOKEN}"))
            .body(script_body(SEND_SMS))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    });
    assert_eq!(
        sidecar.sim.request_count(),
        1,
        "refused requests must not reach Twilio"
    );
}

#[test]
fn a_failed_script_is_a_200_with_the_error() {
    let sidecar = Sidecar::start();
    sidecar.sim.block_on(async {
        let script = "print('looking') return app.integrations.twilio.twilio_get_call({ call_sid = 'CA00000000000000000000000000000000' })";
        let (status, body) = sidecar.run("acme", ACME_TOKEN, script).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["printed"], "looking\n");
        assert_eq!(body["value"], Value::Null);
        let error = &body["error"];
        assert_eq!(error["kind"], "runtime");
        assert!(error["message"].as_str().unwrap().contains("20404"), "{error}");
        assert!(error["traceback"].as_str().unwrap().contains("traceback"), "{error}");
        assert_eq!(error["value"]["kind"], "twilio");
        assert_eq!(error["value"]["code"], 20404);
        assert_eq!(body["requests"], 1);

        let (status, body) = sidecar.run("acme", ACME_TOKEN, "return (").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["error"]["kind"], "syntax");
        assert_eq!(body["error"]["value"], Value::Null);
    });
}

#[test]
fn bad_requests_get_4xx_answers() {
    let sidecar = Sidecar::start();
    sidecar.sim.block_on(async {
        // An unknown tenant, one without a token and a wrong token: the same answer, so
        // tenant names cannot be found out.
        let wrong = sidecar.run("acme", BETA_TOKEN, "return 1").await;
        assert_eq!(wrong.0, StatusCode::UNAUTHORIZED, "{}", wrong.1);
        for tenant in ["nobody", "nohash"] {
            assert_eq!(sidecar.run(tenant, ACME_TOKEN, "return 1").await, wrong);
        }

        for bad in [
            "not json",
            "{}",
            r#"{"script": 1}"#,
            r#"{"script": "x", "extra": 1}"#,
        ] {
            let (status, body) = sidecar.post("acme", Some(ACME_TOKEN), bad.into()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert_eq!(body["error"]["kind"], "bad_request");
        }

        let padding = "-".repeat(1 << 20);
        let (status, body) = sidecar
            .run("acme", ACME_TOKEN, &format!("return 1 {padding}"))
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{}", body["error"]);
        let just_fits = format!("return 1 --{}", "x".repeat((1 << 20) - 11));
        assert_eq!(just_fits.len(), 1 << 20);
        let (status, body) = sidecar.run("acme", ACME_TOKEN, &just_fits).await;
        assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(1)));
    });
    assert_eq!(sidecar.sim.request_count(), 0);
}

#[test]
fn failed_token_checks_are_throttled_per_address_before_any_token_is_checked() {
    let sidecar = Sidecar::start();
    sidecar.sim.block_on(async {
        for guess in 0..10 {
            let token = format!("guess-{guess}");
            let (status, _) = sidecar.run("beta", &token, "return 1").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        // The eleventh try from this address waits, even with the right token...
        let response = sidecar
            .client
            .post(sidecar.serve.runs_url("acme"))
            .bearer_auth(ACME_TOKEN)
            .body(script_body("return 1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=61).contains(&retry_after), "{retry_after}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["kind"], "throttled", "{body}");
        // ...while another address (127.0.0.2, also this machine) is served.
        let elsewhere = reqwest::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let (status, body) = post(
            &elsewhere,
            sidecar.serve.runs_url("acme"),
            Some(ACME_TOKEN),
            script_body("return 1"),
        )
        .await;
        assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(1)));
    });
}

#[test]
fn with_no_cache_it_serves_without_touching_the_cache_directory() {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("compiled");
    let cache_var = ("TWILIO_HOST_CACHE_DIR", cache.to_str().unwrap());
    let sidecar = Sidecar::start_with(&["--no-cache"], &[cache_var]);
    let (status, body) = sidecar
        .sim
        .block_on(sidecar.run("acme", ACME_TOKEN, "return 1"));
    assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(1)));
    assert!(!cache.exists(), "nothing written, nothing read");
}

#[test]
fn a_hundred_concurrent_runs_all_complete() {
    let sidecar = Sidecar::start();
    let results = sidecar.sim.block_on(async {
        let runs: Vec<_> = (0..100)
            .map(|i| {
                let (tenant, token) = if i % 2 == 0 {
                    ("acme", ACME_TOKEN)
                } else {
                    ("beta", BETA_TOKEN)
                };
                let script = format!(
                    "local sms = app.integrations.twilio.twilio_send_sms({{ to = '+15551234567', from = '+15559876543', body = 'run {i}' }})\nreturn {{ i = {i}, body = sms.body }}"
                );
                let client = sidecar.client.clone();
                let url = sidecar.serve.runs_url(tenant);
                tokio::spawn(async move { post(&client, url, Some(token), script_body(&script)).await })
            })
            .collect();
        let mut results = Vec::new();
        for run in runs {
            results.push(run.await.expect("the run task completes"));
        }
        results
    });
    for (i, (status, body)) in results.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["error"], Value::Null, "{body}");
        assert_eq!(body["value"], json!({ "i": i, "body": format!("run {i}") }));
    }
    assert_eq!(sidecar.sim.request_count(), 100);
}

#[test]
fn a_runaway_script_does_not_hold_up_another_tenant() {
    let sidecar = Sidecar::start();
    sidecar.sim.block_on(async {
        // The runaway run makes one request (so we know it is running), then loops for minutes.
        let runaway_script = "app.integrations.twilio.twilio_get_account({}) while true do end";
        let client = sidecar.client.clone();
        let url = sidecar.serve.runs_url("runaway");
        let runaway = tokio::spawn(async move {
            post(&client, url, Some(ACME_TOKEN), script_body(runaway_script)).await
        });
        while sidecar.sim.request_count() == 0 {
            if runaway.is_finished() {
                panic!("the runaway run ended early: {:?}", runaway.await);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for i in 0..20 {
            let (status, body) = sidecar
                .run("beta", BETA_TOKEN, &format!("return {i} * 2"))
                .await;
            assert_eq!(
                (status, &body["value"]),
                (StatusCode::OK, &json!(i * 2)),
                "{body}"
            );
        }
        assert!(
            !runaway.is_finished(),
            "beta's 20 runs finished while the runaway run was still going"
        );
        runaway.abort();
    });
}

#[test]
fn sigterm_lets_a_running_script_finish_then_exits_0() {
    let mut sidecar = Sidecar::start();
    // The script's one request stalls in the simulator, so the run is in flight at SIGTERM.
    sidecar.sim.sim.inject(Fault::new(
        "/Accounts/",
        FaultKind::StallBeforeResponse(Duration::from_secs(3)),
    ));
    let connections_before = sidecar.sim.sim.connection_count();
    let (status, body) = sidecar.sim.block_on(async {
        let running = {
            let client = sidecar.client.clone();
            let url = sidecar.serve.runs_url("acme");
            let script = "return app.integrations.twilio.twilio_get_account({}).status";
            tokio::spawn(
                async move { post(&client, url, Some(ACME_TOKEN), script_body(script)).await },
            )
        };
        while sidecar.sim.sim.connection_count() == connections_before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &sidecar.serve.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        running.await.unwrap()
    });
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], "active", "{body}");
    let exit = sidecar.serve.child.wait().unwrap();
    assert!(
        exit.success(),
        "serve exits 0 after a graceful shutdown: {exit:?}"
    );
}

#[test]
fn without_configuration_it_serves_the_simulator_with_a_printed_token() {
    let serve = ServeProcess::start(&[], &[]);
    let line = serve.stderr_line("(shown only now): ");
    let (_, token) = line.split_once("(shown only now): ").unwrap();
    let token = token.to_string();
    assert_eq!(token.len(), 64);
    let client = reqwest::Client::new();
    // Only for its runtime: the sidecar uses its own built-in simulator.
    let runtime = TestSim::start(vec![SimAccount::test_default()]);
    runtime.block_on(async {
        let url = serve.runs_url("default");
        let (status, body) = post(&client, url.clone(), Some(&token), script_body(SEND_SMS)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["value"]["sid"].as_str().unwrap().starts_with("SM"),
            "{body}"
        );
        let (status, _) = post(&client, url, Some("guess"), script_body("return 1")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    });
    assert_eq!(runtime.request_count(), 0);
}

#[test]
fn a_non_loopback_address_is_refused_without_allow_remote() {
    twilio_host()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-remote"));
}

#[test]
fn a_config_without_any_token_hash_is_refused() {
    let sim = TestSim::start(vec![SimAccount::test_default()]);
    let text = format!(
        "{}{}",
        sim.endpoints_toml(),
        tenant_toml("acme", &SimAccount::test_default(), "SIM_TOKEN", "")
    );
    let config = write_config(&text);
    twilio_host()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config.path)
        .env("SIM_TOKEN", "x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("twilio-host gen-token"));
}
