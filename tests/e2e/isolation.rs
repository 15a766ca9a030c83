//! Credentials as capabilities and per-tenant isolation (issue 4), through the real host,
//! component and simulator: a script cannot read a secret by any route, cannot use another
//! tenant's accounts or another account's SID, and a runaway run ends with its own specific
//! error while other tenants' runs go on.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use twilio_e2e::twilio_host::config::BaseUrl;
use twilio_e2e::twilio_host::simulated::tenant_for;
use twilio_e2e::twilio_host::{ErrorKind, HostConfig, Limits, RunReport, TenantConfig};
use twilio_e2e::twilio_sim::{Fault, FaultKind, SimAccount, SimConfig, Simulator};
use twilio_e2e::{TenantSpec, TestHost, error, start_host, value};

/// Every log line written on the calling thread, at every level, for as long as the guard
/// lives. The thread's own subscriber, not the global one: the other tests of this binary run
/// alongside on other threads, so a test that captures must run on one thread
/// (`#[tokio::test]`, the current-thread runtime).
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&logs);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || LogSink(Arc::clone(&sink)))
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything a run gave back, as one string to search for secrets.
fn everything(report: &RunReport) -> String {
    format!("{} {:?}", report.printed, report.outcome)
}

const EXFILTRATION: &str = r#"
local other_sid = ...
local strings = {}
local seen = {}
local function walk(value, depth)
  if depth > 12 then return end
  local kind = type(value)
  if kind == "string" then strings[#strings + 1] = value return end
  if kind ~= "table" or seen[value] then return end
  seen[value] = true
  for k, v in next, value do walk(k, depth + 1) walk(v, depth + 1) end
  local mt = getmetatable(value)
  if mt ~= nil then walk(mt, depth + 1) end
end

local attempts = {}
local function try(name, f, ...)
  local ok, result = pcall(f, ...)
  attempts[name] = {ok = ok, kind = type(result) == "table" and result.kind or nil, text = tostring(result)}
  walk(result, 0)
end

try("getenv", function() return os.getenv("TWILIO_AUTH_TOKEN") end)
try("environ", function() return io.open("/proc/self/environ") end)
try("require", function() return require("os") end)
try("debug", function() return debug.getupvalue(app.integrations.twilio.twilio_get_account, 1) end)
try("account", app.integrations.twilio.twilio_get_account, {})
try("work_account", app.integrations.twilio.work.twilio_get_account, {})
try("other_sid", app.integrations.twilio.twilio_get_account, {sid = other_sid})
try("own_header", app.integrations.twilio.twilio_send_sms,
    {to = "+15551234567", from = "+15559876543", body = "x", headers = {Authorization = "Basic x"}})
try("help", app.integrations.twilio.help)
walk(_G, 0)
walk(app, 0)
for _, s in ipairs(strings) do print(s) end
return attempts
"#;

#[tokio::test]
async fn no_route_leads_a_script_to_a_secret() {
    let (logs, _capturing) = capture_logs();
    let default = SimAccount::test_default();
    let work = SimAccount::new("work");
    let stranger = SimAccount::new("stranger");
    let host = TestHost::with_tenants(vec![
        TenantSpec::new("acme")
            .accounts(vec![("default", default.clone()), ("work", work.clone())]),
        TenantSpec::new("other").accounts(vec![("default", stranger.clone())]),
    ])
    .await;
    let script = EXFILTRATION.replacen(
        "local other_sid = ...",
        &format!("local other_sid = {:?}", stranger.account_sid),
        1,
    );
    let report = host.run_as("acme", &script).await;
    let attempts = value(&report);

    assert_eq!(attempts["account"]["ok"], json!(true), "{attempts}");
    assert_eq!(attempts["work_account"]["ok"], json!(true));
    assert_eq!(attempts["other_sid"]["kind"], json!("denied"), "{attempts}");
    let denial = attempts["other_sid"]["text"].as_str().unwrap_or_default();
    assert!(
        denial.contains(&format!(
            "account \"default\" may not act on \"{}\"",
            stranger.account_sid
        )),
        "the host's reason reaches the script: {denial}"
    );
    assert_eq!(
        attempts["own_header"]["kind"],
        json!("validation"),
        "{attempts}"
    );
    for refused in ["getenv", "environ", "require", "debug"] {
        assert_eq!(
            attempts[refused]["ok"],
            json!(false),
            "{refused}: {attempts}"
        );
    }
    assert!(
        report.printed.contains("Twilio Simulator Test Account"),
        "the walk saw the account"
    );
    assert!(
        !host
            .sim
            .requests()
            .iter()
            .any(|r| r.path.contains(&stranger.account_sid)),
        "the other SID never left the host"
    );

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("twilio request"), "audit events are written");
    for secret in [&default.auth_token, &work.auth_token, &stranger.auth_token] {
        assert!(
            !everything(&report).contains(secret.as_str()),
            "a token reached the script"
        );
        assert!(!logs.contains(secret.as_str()), "a token reached the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_cannot_name_another_tenants_accounts() {
    let host = TestHost::with_tenants(vec![
        TenantSpec::new("a").accounts(vec![("default", SimAccount::test_default())]),
        TenantSpec::new("b").accounts(vec![
            ("default", SimAccount::new("b")),
            ("bwork", SimAccount::new("bwork")),
        ]),
    ])
    .await;
    let report = host
        .run_as(
            "a",
            "return app.integrations.twilio.bwork.twilio_get_account({})",
        )
        .await;
    let failure = error(&report);
    assert!(failure.message.contains("bwork"), "{failure:?}");
    assert!(
        failure.message.contains("default"),
        "the error lists the tenant's own accounts: {failure:?}"
    );
    assert!(host.sim.requests().is_empty());
    assert!(
        host.host.run("nobody", "return 1").await.is_err(),
        "unknown tenants are refused"
    );
}

/// A listener that accepts connections and never answers.
async fn silent_server() -> BaseUrl {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = BaseUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

fn tenant(sim: &Simulator, name: &str, limits: Limits) -> TenantConfig {
    tenant_for(sim, name, &sim.accounts()[..1], &["default"], limits)
}

#[tokio::test(flavor = "multi_thread")]
async fn runaway_runs_end_with_their_own_errors_while_other_tenants_succeed() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let wall = Duration::from_secs(20);
    let base = Limits {
        wall,
        lua_instructions: u64::MAX / 2,
        ..Limits::default()
    };
    let mut hang = tenant(
        &sim,
        "hang",
        Limits {
            http_timeout: Duration::from_millis(500),
            max_retries: 0,
            ..base
        },
    );
    hang.accounts[0].api_base_url = silent_server().await;
    let mut tenants = vec![
        tenant(
            &sim,
            "loop",
            Limits {
                cpu: Duration::from_millis(300),
                ..base
            },
        ),
        tenant(&sim, "bomb", base),
        tenant(
            &sim,
            "flood",
            Limits {
                max_requests: 20,
                ..base
            },
        ),
        hang,
    ];
    tenants.extend((0..4).map(|i| tenant(&sim, &format!("good{i}"), base)));
    let host = Arc::new(start_host(HostConfig::of(tenants)));

    let runaway = [
        ("loop", "while true do end"),
        ("bomb", "local t = {} for i = 1, 1e9 do t[i] = {i} end"),
        (
            "flood",
            "for i = 1, 10000 do app.integrations.twilio.twilio_get_account({}) end",
        ),
        (
            "hang",
            "return app.integrations.twilio.twilio_get_account({})",
        ),
    ];
    let good = (0..20).map(|i| {
        (format!("good{}", i % 4), format!(r#"return app.integrations.twilio.twilio_send_sms({{to = "+15551234567", from = "+15559876543", body = "run {i}"}}).sid"#))
    });
    let mut runs = tokio::task::JoinSet::new();
    for (tenant, script) in runaway
        .iter()
        .map(|(t, s)| (t.to_string(), s.to_string()))
        .chain(good)
    {
        let host = Arc::clone(&host);
        runs.spawn(async move {
            let started = Instant::now();
            let report = host.run(&tenant, &script).await.unwrap();
            (tenant, report, started.elapsed())
        });
    }
    let mut good_runs = 0;
    while let Some(finished) = runs.join_next().await {
        let (tenant, report, elapsed) = finished.unwrap();
        assert!(elapsed < wall, "{tenant} ran past its wall-clock limit");
        match tenant.as_str() {
            "loop" => assert!(
                matches!(error(&report).kind, ErrorKind::CpuLimit),
                "{:?}",
                report.outcome
            ),
            "bomb" => assert_eq!(
                error(&report).kind,
                ErrorKind::MemoryLimit,
                "{:?}",
                report.outcome
            ),
            "flood" => {
                assert_eq!(
                    error(&report).value.as_ref().unwrap()["kind"],
                    json!("limit"),
                    "{:?}",
                    report.outcome
                );
                assert_eq!(
                    report.requests, 20,
                    "20 sent, the 21st refused before it left"
                );
            }
            "hang" => assert_eq!(
                error(&report).value.as_ref().unwrap()["kind"],
                json!("timeout"),
                "{:?}",
                report.outcome
            ),
            _ => {
                assert!(
                    value(&report).as_str().unwrap().starts_with("SM"),
                    "{tenant}: {:?}",
                    report.outcome
                );
                good_runs += 1;
            }
        }
    }
    assert_eq!(good_runs, 20);
    assert_eq!(
        sim.state()
            .messages(&sim.accounts()[0].account_sid)
            .iter()
            .filter(|m| m["body"].as_str().unwrap_or("").starts_with("run "))
            .count(),
        20
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_outlives_its_wall_clock_limit_is_stopped() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let limits = Limits {
        wall: Duration::from_millis(800),
        http_timeout: Duration::from_secs(5),
        max_retries: 0,
        ..Limits::default()
    };
    let mut slow = tenant(&sim, "default", limits);
    slow.accounts[0].api_base_url = silent_server().await;
    let host = start_host(HostConfig::of([slow]));
    let report = host
        .run(
            "default",
            "return app.integrations.twilio.twilio_get_account({})",
        )
        .await
        .unwrap();
    assert_eq!(
        error(&report).kind,
        ErrorKind::Timeout,
        "{:?}",
        report.outcome
    );
    let after = host.run("default", "return 1").await.unwrap();
    assert_eq!(value(&after), &json!(1), "the host goes on");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_at_its_run_cap_queues_then_is_refused_while_another_is_served() {
    let capped = Limits {
        max_concurrent_runs: 2,
        max_queued_runs: 1,
        ..Limits::default()
    };
    let host = Arc::new(
        TestHost::with_tenants(vec![
            TenantSpec::new("flood").limits(capped),
            TenantSpec::new("other"),
        ])
        .await,
    );
    // Each of A's runs waits two seconds on Twilio, so that A sits at its cap.
    host.sim.inject(
        Fault::new(
            "/Accounts/",
            FaultKind::StallBeforeResponse(Duration::from_secs(2)),
        )
        .times(3),
    );
    let slow = "return app.integrations.twilio.twilio_get_account({}).status";
    let connections = host.sim.connection_count();
    let mut flood = Vec::new();
    for _ in 0..3 {
        let host = Arc::clone(&host);
        flood.push(tokio::spawn(
            async move { host.host.run("flood", slow).await },
        ));
    }
    while host.sim.connection_count() < connections + 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Two running, one waiting: the next is refused at once, and says why.
    let refused = host.host.run("flood", slow).await.unwrap_err();
    assert!(
        matches!(
            refused,
            twilio_e2e::twilio_host::HostError::TenantBusy {
                running: 2,
                waiting: 1,
                ..
            }
        ),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("max_concurrent_runs"),
        "{refused}"
    );
    // Another tenant is served meanwhile, from a line of its own.
    let started = Instant::now();
    let report = host.run_as("other", "return 'b'").await;
    eprintln!(
        "tenant B served in {:?} while A was at its cap",
        started.elapsed()
    );
    assert_eq!(value(&report), &json!("b"));
    assert_eq!(
        host.sim.connection_count(),
        connections + 2,
        "A's third still waits"
    );
    for run in flood {
        let report = run.await.unwrap().expect("queued, not refused");
        assert_eq!(value(&report), &json!("active"));
    }
}
