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
        Sidecar::start_with(&[], &[], "")
    }

    /// [`Sidecar::start`] with more arguments for `serve`, more environment variables and more
    /// configuration.
    fn start_with(args: &[&str], envs: &[(&str, &str)], more_config: &str) -> Sidecar {
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
            more_config.to_string(),
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
    let sidecar = Sidecar::start_with(&["--no-cache"], &[cache_var], "");
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

/// Starts a run of `tenant` (with `token`) whose one request stalls in the simulator for
/// `stall`, and returns once that request is in flight: the run's answer to await.
async fn start_stalled_run(
    sidecar: &Sidecar,
    tenant: &str,
    token: &'static str,
    stall: Duration,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    sidecar.sim.sim.inject(Fault::new(
        "/Accounts/",
        FaultKind::StallBeforeResponse(stall),
    ));
    let connections_before = sidecar.sim.sim.connection_count();
    let client = sidecar.client.clone();
    let url = sidecar.serve.runs_url(tenant);
    let script = "return app.integrations.twilio.twilio_get_account({}).status";
    let running =
        tokio::spawn(async move { post(&client, url, Some(token), script_body(script)).await });
    while sidecar.sim.sim.connection_count() == connections_before {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running
}

/// Starts a stalled run of acme ([`start_stalled_run`]), sends SIGTERM to the sidecar while
/// its request is in flight, and gives back the run's answer (an error when the connection
/// was dropped) and when SIGTERM was sent.
fn sigterm_during_a_stalled_run(
    sidecar: &Sidecar,
    stall: Duration,
) -> (Result<(StatusCode, Value), String>, std::time::Instant) {
    sidecar.sim.block_on(async {
        let running = start_stalled_run(sidecar, "acme", ACME_TOKEN, stall).await;
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &sidecar.serve.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let signalled = std::time::Instant::now();
        (running.await.map_err(|e| e.to_string()), signalled)
    })
}

#[test]
fn sigterm_lets_a_running_script_finish_then_exits_0() {
    let mut sidecar = Sidecar::start();
    let (answer, _) = sigterm_during_a_stalled_run(&sidecar, Duration::from_secs(3));
    let (status, body) = answer.unwrap();
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

// ---- connection hygiene ----------------------------------------------------------------------

/// `host:port` of the sidecar.
fn address_of(serve: &ServeProcess) -> String {
    serve.base_url.trim_start_matches("http://").to_string()
}

/// How many descriptors the process `pid` has open.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// Whether the server closed `stream` (a read gives end of file or an error) within `wait`.
fn closed_within(stream: &mut std::net::TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// Lets this test process open `needed` descriptors (a machine's default soft limit may be
/// 1024), as far as the hard limit allows.
fn allow_open_files(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < needed {
            limit.rlim_cur = needed.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[test]
fn idle_and_slowloris_clients_do_not_starve_a_tenant_and_are_closed() {
    allow_open_files(4096);
    let sidecar = Sidecar::start_with(
        &[],
        &[],
        "[server]\nheader_read_timeout_ms = 3000\nbody_read_timeout_ms = 1000\n",
    );
    let address = address_of(&sidecar.serve);
    let idle: Vec<std::net::TcpStream> = (0..1000)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    let mut slow: Vec<std::net::TcpStream> = (0..100)
        .map(|_| {
            use std::io::Write;
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"POST /v1/tenants/acme/runs HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            stream
        })
        .collect();
    // A half-sent body: the head is complete, the body never comes.
    let mut no_body = std::net::TcpStream::connect(&address).unwrap();
    {
        use std::io::Write;
        let head = format!(
            "POST /v1/tenants/beta/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {BETA_TOKEN}\r\nContent-Length: 100\r\n\r\n{{\"scr"
        );
        no_body.write_all(head.as_bytes()).unwrap();
    }

    let started = std::time::Instant::now();
    let (status, body) = sidecar
        .sim
        .block_on(sidecar.run("beta", BETA_TOKEN, "return 'served'"));
    let waited = started.elapsed();
    assert_eq!((status, &body["value"]), (StatusCode::OK, &json!("served")));
    eprintln!("a run with 1,101 idle or slow connections open was answered in {waited:?}");
    assert!(
        waited < Duration::from_secs(3),
        "answered before any idle one timed out: {waited:?}"
    );
    // One descriptor per connection it has accepted so far, and not many more.
    let held = open_descriptors(sidecar.serve.child.id());
    assert!(held < 1400, "{held} descriptors");

    {
        use std::io::Read;
        let mut answer = String::new();
        no_body
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let _ = no_body.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"kind\":\"timeout\""), "{answer}");
    }
    // The header clock ends the idle and the slow ones (3 s; a minute is generous).
    for stream in slow
        .iter_mut()
        .chain(idle.into_iter().step_by(50).collect::<Vec<_>>().iter_mut())
    {
        assert!(closed_within(stream, Duration::from_secs(60)), "still open");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while open_descriptors(sidecar.serve.child.id()) > 100 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(open_descriptors(sidecar.serve.child.id()) <= 100);
}

#[test]
fn beyond_max_connections_new_clients_wait_instead_of_failing() {
    let sidecar = Sidecar::start_with(
        &[],
        &[],
        "[server]\nmax_connections = 20\nheader_read_timeout_ms = 1000\n",
    );
    let address = address_of(&sidecar.serve);
    let _idle: Vec<std::net::TcpStream> = (0..40)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let held = open_descriptors(sidecar.serve.child.id());
    assert!(held < 20 + 60, "{held} descriptors: the cap holds");
    // Served once the idle ones ahead of it have timed out.
    let (status, body) = sidecar
        .sim
        .block_on(sidecar.run("beta", BETA_TOKEN, "return 2"));
    assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(2)));
}

#[test]
fn sigterm_drops_what_is_still_running_at_the_shutdown_deadline() {
    let mut sidecar = Sidecar::start_with(&[], &[], "[server]\nshutdown_timeout_ms = 1000\n");
    let _slowloris = std::net::TcpStream::connect(address_of(&sidecar.serve)).unwrap();
    let (_, signalled) = sigterm_during_a_stalled_run(&sidecar, Duration::from_secs(20));
    let exit = sidecar.serve.child.wait().unwrap();
    let took = signalled.elapsed();
    eprintln!("serve exited {took:?} after SIGTERM (deadline 1 s, a run stalled for 20 s)");
    assert!(exit.success(), "{exit:?}");
    assert!(
        took < Duration::from_secs(15),
        "the 20 s run did not hold it: {took:?}"
    );
}

#[test]
fn a_tenant_whose_runs_and_queue_are_full_gets_429_with_retry_after() {
    let sidecar = Sidecar::start_with(
        &[],
        &[],
        "[tenants.beta.limits]\nmax_concurrent_runs = 1\nmax_queued_runs = 0\n",
    );
    sidecar.sim.block_on(async {
        let running = start_stalled_run(&sidecar, "beta", BETA_TOKEN, Duration::from_secs(3)).await;
        let response = sidecar
            .client
            .post(sidecar.serve.runs_url("beta"))
            .bearer_auth(BETA_TOKEN)
            .body(script_body("return 1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["kind"], "busy", "{body}");
        // Another tenant is not affected.
        let (status, body) = sidecar.run("acme", ACME_TOKEN, "return 3").await;
        assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(3)));
        let (status, body) = running.await.unwrap();
        assert_eq!((status, &body["value"]), (StatusCode::OK, &json!("active")));
    });
}

// ---- /mcp ------------------------------------------------------------------------------------

const GAMMA_TOKEN: &str = "gamma-token-5555555555555";

/// The sidecar with one more account for beta (`ledger`) and a tenant `gamma` with a token of
/// its own, no `ledger`, one run at a time and limits that let a loop spin for minutes.
fn sidecar_for_mcp() -> Sidecar {
    let account = SimAccount::test_default();
    let more = format!(
        "[tenants.beta.accounts.ledger]\naccount_sid = \"{}\"\nauth_token_env = \"SIM_TOKEN\"\n{}",
        account.account_sid,
        tenant_toml(
            "gamma",
            &account,
            "SIM_TOKEN",
            &format!(
                "api_token_sha256 = \"{}\"\nlimits = {{ max_concurrent_runs = 1, cpu_ms = 600000, wall_ms = 600000, lua_instructions = 1000000000000000 }}",
                sha256_hex(GAMMA_TOKEN)
            )
        )
    );
    Sidecar::start_with(&[], &[], &more)
}

/// An MCP client of the sidecar's `/mcp` with `token`.
async fn mcp_client(sidecar: &Sidecar, token: &str) -> common::mcp_client::Client {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", sidecar.serve.base_url))
            .auth_header(token);
    rmcp::ServiceExt::serve((), StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the MCP client initializes")
}

#[test]
fn mcp_over_http_runs_as_the_tenant_of_the_token_and_refuses_everything_else() {
    let sidecar = sidecar_for_mcp();
    sidecar.sim.block_on(async {
        let beta = mcp_client(&sidecar, BETA_TOKEN).await;
        common::mcp_client::check_tools_and_reference(&beta).await;
        let ledger = "return app.integrations.twilio.ledger.twilio_get_account({}).status";
        let own = common::mcp_client::run(&beta, ledger).await;
        assert_eq!(own.structured_content.unwrap()["value"], "active");

        // gamma's token reaches gamma's accounts only.
        let gamma = mcp_client(&sidecar, GAMMA_TOKEN).await;
        let foreign = common::mcp_client::run(&gamma, ledger).await;
        assert_eq!(foreign.is_error, Some(true));
        let message = common::mcp_client::text(&foreign);
        assert!(
            message.contains("ledger") && !message.contains("active"),
            "{message}"
        );
        beta.cancel().await.unwrap();
        gamma.cancel().await.unwrap();
    });
    let requests = sidecar.sim.request_count();

    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"}}});
    let mcp_post = |token: Option<&str>, headers: &[(&str, &str)]| {
        let mut request = sidecar
            .client
            .post(format!("{}/mcp", sidecar.serve.base_url))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    sidecar.sim.block_on(async {
        for token in [
            None,
            Some("wrong-token-0000000000000000000000"),
            Some(ACME_TOKEN),
        ] {
            // acme's token is runaway's too: at /mcp a token must name one tenant.
            let response = mcp_post(token, &[]).await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
        }
        let page = mcp_post(Some(BETA_TOKEN), &[("origin", "http://attacker.example")])
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "a foreign Origin");
        let rebound = mcp_post(Some(BETA_TOKEN), &[("host", "attacker.example")])
            .await
            .unwrap();
        assert!(
            rebound.status().is_client_error(),
            "a foreign Host: {}",
            rebound.status()
        );
        assert_eq!(
            mcp_post(Some(BETA_TOKEN), &[]).await.unwrap().status(),
            StatusCode::OK
        );
    });
    assert_eq!(
        sidecar.sim.request_count(),
        requests,
        "refused requests run nothing"
    );
}

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

/// A sidecar ([`Sidecar::start`]) keeping its counts and audit trail in the SQLite file
/// `state` (so that another process can read them), serving `/metrics` for [`METRICS_TOKEN`].
fn audited_sidecar(state: &std::path::Path) -> Sidecar {
    Sidecar::start_with(&[], &[], &audited_config(state))
}

fn audited_config(state: &std::path::Path) -> String {
    format!(
        "[state]\nurl = \"sqlite://{}\"\n[server]\nmetrics_token_sha256 = \"{}\"\n",
        state.display(),
        sha256_hex(METRICS_TOKEN)
    )
}

/// `twilio-host audit --json` over `sidecar`'s configuration with `args`: one record per line.
fn audit_json(sidecar: &Sidecar, args: &[&str]) -> Vec<Value> {
    let output = twilio_host()
        .args([
            "audit",
            "--json",
            "--config",
            sidecar._config.path.to_str().unwrap(),
        ])
        .args(args)
        .env("SIM_TOKEN", SimAccount::test_default().auth_token)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// GETs `path` on the sidecar with `token`: the status and the body.
async fn get(sidecar: &Sidecar, path: &str, token: &str) -> (StatusCode, String) {
    let response = sidecar
        .client
        .get(format!("{}{path}", sidecar.serve.base_url))
        .bearer_auth(token)
        .send()
        .await
        .expect("the sidecar answers");
    (response.status(), response.text().await.unwrap())
}

/// The sum of the samples of metric `name` whose labels include every pair of `labels`.
fn metric_sum(metrics: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
            prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn a_hundred_sends_through_the_sidecar_are_a_hundred_audit_records_matching_twilio_and_the_metrics()
{
    let state = tempfile::tempdir().unwrap();
    let sidecar = audited_sidecar(&state.path().join("state.db"));
    let premium = r#"local ok, e = pcall(app.integrations.twilio.twilio_send_sms, {
        to = "+19005550100", from = "+15559876543", body = "premium" })
    return { ok = ok, rule = e.rule }"#;
    let messages = || -> std::collections::BTreeSet<String> {
        let stored = sidecar
            .sim
            .sim
            .state()
            .messages(&SimAccount::test_default().account_sid);
        stored
            .iter()
            .map(|m| m["sid"].as_str().unwrap().to_string())
            .collect()
    };
    let seeded = messages();
    let (run_ids, refused) = sidecar.sim.block_on(async {
        let mut run_ids = Vec::new();
        for _ in 0..100 {
            let (status, body) = sidecar.run("acme", ACME_TOKEN, SEND_SMS).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body["error"].is_null(), "{body}");
            run_ids.push(body["run_id"].as_str().unwrap().to_string());
        }
        let (_, refused) = sidecar.run("acme", ACME_TOKEN, premium).await;
        let (_, read) = sidecar
            .run(
                "beta",
                BETA_TOKEN,
                "return app.integrations.twilio.twilio_get_account({}).status",
            )
            .await;
        assert_eq!(read["value"], "active", "{read}");
        (run_ids, refused)
    });
    assert_eq!(
        refused["value"],
        json!({"ok": false, "rule": "denied_prefixes"})
    );

    let records = audit_json(&sidecar, &["--tenant", "acme"]);
    let sends: Vec<&Value> = records
        .iter()
        .filter(|r| r["function"] == "twilio_send_sms" && r["outcome"] == "ok")
        .collect();
    assert_eq!(sends.len(), 100, "{records:?}");
    let audited: std::collections::BTreeSet<String> = sends
        .iter()
        .map(|r| r["sid"].as_str().unwrap().to_string())
        .collect();
    let created: std::collections::BTreeSet<String> =
        messages().difference(&seeded).cloned().collect();
    assert_eq!(audited.len(), 100);
    assert_eq!(
        audited, created,
        "the audit's SIDs are the simulator's new messages"
    );
    let first = sends[0];
    assert_eq!(first["run_id"], run_ids[0].as_str());
    assert_eq!(first["tenant"], "acme");
    assert_eq!(first["account"], "default");
    assert_eq!(first["method"], "POST");
    assert_eq!(first["status"], 201);
    assert_eq!(first["to"], "+1******4567", "the destination is masked");
    assert_eq!(first["body_length"], 16);
    assert_eq!(first["segments"], 1);
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    let text = first.to_string();
    assert!(
        !text.contains("from the sidecar"),
        "no message body: {text}"
    );
    assert!(
        !text.contains(&SimAccount::test_default().auth_token),
        "no secret"
    );
    let refusal: Vec<&Value> = records
        .iter()
        .filter(|r| r["outcome"] == "refused")
        .collect();
    assert_eq!(refusal.len(), 1, "{records:?}");
    assert_eq!(refusal[0]["rule"], "denied_prefixes");
    assert_eq!(refusal[0]["to"], "+1******0100");
    let one_run = audit_json(&sidecar, &["--run", &run_ids[7]]);
    assert_eq!(one_run.len(), 1);
    assert_eq!(one_run[0]["run_id"], run_ids[7].as_str());

    // The tenant's own token reads its own records, and only those.
    let (acme, beta, wrong, metrics, no_token) = sidecar.sim.block_on(async {
        (
            get(&sidecar, "/v1/tenants/acme/audit?since=1h", ACME_TOKEN).await,
            get(&sidecar, "/v1/tenants/beta/audit", BETA_TOKEN).await,
            get(&sidecar, "/v1/tenants/beta/audit", ACME_TOKEN).await,
            get(&sidecar, "/metrics", METRICS_TOKEN).await,
            get(&sidecar, "/metrics", ACME_TOKEN).await,
        )
    });
    assert_eq!(acme.0, StatusCode::OK);
    let acme: Value = serde_json::from_str(&acme.1).unwrap();
    assert_eq!(acme["records"].as_array().unwrap().len(), records.len());
    let beta: Value = serde_json::from_str(&beta.1).unwrap();
    let beta = beta["records"].as_array().unwrap();
    assert_eq!(beta.len(), 1);
    assert_eq!(beta[0]["function"], "twilio_get_account");
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(no_token.0, StatusCode::UNAUTHORIZED);

    // The metrics parse as Prometheus text and count what the audit holds.
    assert_eq!(metrics.0, StatusCode::OK);
    let lines = metrics.1.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let requests = "twilio_host_twilio_requests_total";
    let sent = metric_sum(
        &scrape,
        requests,
        &[("tenant", "acme"), ("function", "twilio_send_sms")],
    );
    assert_eq!(sent, 100.0);
    assert_eq!(metric_sum(&scrape, requests, &[("status", "201")]), 100.0);
    let read = metric_sum(&scrape, requests, &[("tenant", "beta"), ("status", "200")]);
    assert_eq!(read, 1.0);
    let refusals = metric_sum(
        &scrape,
        "twilio_host_refusals_total",
        &[("rule", "denied_prefixes")],
    );
    assert_eq!(refusals, 1.0);
    let runs = metric_sum(
        &scrape,
        "twilio_host_runs_total",
        &[("tenant", "acme"), ("outcome", "ok")],
    );
    assert_eq!(runs, 101.0);
    let timed = metric_sum(&scrape, "twilio_host_run_duration_seconds_count", &[]);
    assert_eq!(timed, 102.0);
    assert!(
        !metrics.1.contains("4567") && !audited.iter().any(|sid| metrics.1.contains(sid.as_str())),
        "no numbers, no SIDs"
    );
}

#[test]
fn a_send_in_flight_when_the_sidecar_is_killed_stays_in_the_audit_as_unknown() {
    let state = tempfile::tempdir().unwrap();
    let path = state.path().join("state.db");
    let mut sidecar = audited_sidecar(&path);
    sidecar.sim.sim.inject(
        Fault::new(
            "/Messages.json",
            FaultKind::StallBeforeResponse(Duration::from_secs(60)),
        )
        .method("POST"),
    );
    let connections_before = sidecar.sim.sim.connection_count();
    let pending = sidecar.sim.block_on(async {
        let client = sidecar.client.clone();
        let url = sidecar.serve.runs_url("acme");
        let _running = tokio::spawn(async move {
            post(&client, url, Some(ACME_TOKEN), script_body(SEND_SMS)).await
        });
        loop {
            // The simulator records a request once it answers: the stalled POST shows as
            // the sidecar's connection to it.
            let posted = sidecar.sim.sim.connection_count() > connections_before;
            let (_, body) = get(&sidecar, "/v1/tenants/acme/audit", ACME_TOKEN).await;
            let body: Value = serde_json::from_str(&body).unwrap();
            if posted && !body["records"].as_array().unwrap().is_empty() {
                break body["records"].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(
        pending[0]["outcome"], "unknown",
        "written before the request left"
    );
    std::thread::sleep(Duration::from_millis(300)); // the request reaches the stall
    sidecar.serve.child.kill().unwrap(); // SIGKILL
    sidecar.serve.child.wait().unwrap();

    let restarted = ServeProcess::start(
        &["--config", sidecar._config.path.to_str().unwrap()],
        &[("SIM_TOKEN", SimAccount::test_default().auth_token.as_str())],
    );
    let after: Value = sidecar.sim.block_on(async {
        let response = sidecar
            .client
            .get(format!("{}/v1/tenants/acme/audit", restarted.base_url))
            .bearer_auth(ACME_TOKEN)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    });
    let records = after["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "no record is missing: {after}");
    assert_eq!(records[0]["id"], pending[0]["id"]);
    assert_eq!(records[0]["outcome"], "unknown");
    assert_eq!(records[0]["function"], "twilio_send_sms");
    assert!(records[0]["status"].is_null());
    twilio_host()
        .args(["audit", "--config", sidecar._config.path.to_str().unwrap()])
        .env("SIM_TOKEN", SimAccount::test_default().auth_token)
        .assert()
        .success()
        .stdout(predicate::str::contains("twilio_send_sms  -  UNKNOWN"))
        .stderr(predicate::str::contains("1 with outcome unknown"))
        .stderr(predicate::str::contains("reconcile them with Twilio"));
}
