//! Quotas counted exactly across processes and machines, against both state stores: an SQLite
//! file in a temporary directory, and a real `redis-server` on 127.0.0.1 that each test starts
//! and stops. The same tests run against both: the store's contract through the library, five
//! `twilio-host run` processes sharing a daily quota, and two `twilio-host serve` replicas
//! taking 200 concurrent sends against a quota of 50; and the audit trail kept in the same
//! stores, which refuses a send it cannot record; and plans, which those stores run at most
//! once ([`plans`]).

mod common;
mod plans;

use std::sync::Arc;
use std::time::Duration;

use common::redis_server::RedisServer;
use common::{ConfigFile, ServeProcess, TestSim, tenant_toml, twilio_host_process, write_config};
use serde_json::{Value, json};
use twilio_host::audit::{AuditQuery, AuditRecord, AuditSettings, Outcome, now_ms};
use twilio_host::config::StateUrl;
use twilio_host::state::{self, Counter, Reserved};
use twilio_sim::SimAccount;

const TOKEN: &str = "quota-tenant-token-0123456789";

/// Where the counts of one test live: an SQLite file, a Redis server of its own, or a Redis
/// URL nothing listens at.
enum Backend {
    Sqlite(tempfile::TempDir),
    Redis(RedisServer),
    Unreachable(String),
}

impl Backend {
    fn both() -> [Backend; 2] {
        [
            Backend::Sqlite(tempfile::tempdir().expect("a temporary directory")),
            Backend::Redis(RedisServer::start()),
        ]
    }

    /// A Redis URL at a port nothing listens at.
    fn unreachable() -> Backend {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        Backend::Unreachable(format!("redis://127.0.0.1:{closed}/0"))
    }

    fn url(&self) -> StateUrl {
        match self {
            Backend::Sqlite(dir) => StateUrl::Sqlite(dir.path().join("state.db")),
            Backend::Redis(server) => StateUrl::Redis(server.url.clone()),
            Backend::Unreachable(url) => StateUrl::Redis(url.clone()),
        }
    }
}

fn counter(key: &str, amount: u32, limit: u32) -> Counter {
    Counter {
        key: key.into(),
        amount,
        limit,
        ttl: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_reserves_all_or_nothing_and_never_past_a_limit() {
    for backend in Backend::both() {
        let url = backend.url();
        let store = state::open(&url).unwrap();
        let day = counter("twilio-host:{t}:messages_per_day:1", 1, 3);
        let segments = counter("twilio-host:{t}:segments_per_day:1", 2, 5);
        for _ in 0..2 {
            let both = vec![day.clone(), segments.clone()];
            assert_eq!(store.reserve(both).await, Ok(Reserved::Granted), "{url}");
        }
        // Room for a message, none for two more segments: nothing is taken.
        let both = vec![day.clone(), segments.clone()];
        assert_eq!(
            store.reserve(both).await,
            Ok(Reserved::Exceeded(1)),
            "{url}"
        );
        assert_eq!(store.value(day.key.clone()).await, Ok(2), "{url}");
        store.release(vec![segments.clone()]).await.unwrap();
        assert_eq!(store.value(segments.key.clone()).await, Ok(2), "{url}");
        store
            .release(vec![counter(&segments.key, 9, 5)])
            .await
            .unwrap();
        assert_eq!(
            store.value(segments.key.clone()).await,
            Ok(0),
            "never below zero"
        );

        // Two handles (as two processes would have), 100 concurrent reservations, limit 37.
        let handles = [state::open(&url).unwrap(), state::open(&url).unwrap()];
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let store = Arc::clone(&handles[i % 2]);
                tokio::spawn(async move {
                    store
                        .reserve(vec![counter("twilio-host:{t}:race:1", 1, 37)])
                        .await
                })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            if task.await.unwrap() == Ok(Reserved::Granted) {
                granted += 1;
            }
        }
        assert_eq!(granted, 37, "{url}");
    }
}

/// A simulator knowing `account`, and a config file with tenant `acme` (that account on the
/// simulator, the sidecar token [`TOKEN`]) whose quotas are `quotas`, counting in `backend`.
fn quota_setup(account: &SimAccount, backend: &Backend, quotas: &str) -> (TestSim, ConfigFile) {
    let sim = TestSim::start(vec![account.clone()]);
    let token = format!(
        "api_token_sha256 = \"{}\"",
        twilio_host::config::TokenHash::of(TOKEN)
    );
    let text = [
        format!("[state]\nurl = \"{}\"\n", backend.url()),
        sim.endpoints_toml(),
        tenant_toml("acme", account, "SIM_TOKEN", &token),
        format!("[tenants.acme.policy.quotas]\n{quotas}\n"),
    ]
    .concat();
    (sim, write_config(&text))
}

const SEND: &str = r#"return app.integrations.twilio.twilio_send_sms({
    to = "+14155550123", from = "+15559876543", body = "counted" }).sid"#;

fn posts_to_messages(sim: &TestSim) -> usize {
    sim.sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .count()
}

#[test]
fn five_run_processes_share_a_daily_quota_of_three() {
    let account = SimAccount::test_default();
    for backend in Backend::both() {
        let (sim, config) = quota_setup(&account, &backend, "messages_per_day = 3");
        let children: Vec<_> = (0..5)
            .map(|_| {
                twilio_host_process()
                    .args(["run", "--config", config.path.to_str().unwrap()])
                    .args(["--tenant", "acme", "-e", SEND])
                    .env("SIM_TOKEN", &account.auth_token)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("twilio-host run starts")
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|child| child.wait_with_output().expect("twilio-host run ends"))
            .collect();
        let sent = outputs.iter().filter(|o| o.status.success()).count();
        let refused: Vec<String> = outputs
            .iter()
            .filter(|o| o.status.code() == Some(1))
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        let url = backend.url();
        assert_eq!(sent, 3, "{url}: {outputs:?}");
        assert_eq!(refused.len(), 2, "{url}: {outputs:?}");
        for stderr in &refused {
            assert!(
                stderr.contains("error kind: policy (rule messages_per_day)"),
                "{url}: {stderr}"
            );
            assert!(
                stderr.contains("this tenant's quota of 3 messages per day is used up"),
                "{url}: {stderr}"
            );
        }
        assert_eq!(posts_to_messages(&sim), 3, "{url}");
    }
}

#[test]
fn two_sidecars_sharing_a_store_send_exactly_the_quota() {
    let account = SimAccount::test_default();
    for backend in Backend::both() {
        let (sim, config) = quota_setup(&account, &backend, "messages_per_day = 50");
        let args = ["--config", config.path.to_str().unwrap()];
        let envs = [("SIM_TOKEN", account.auth_token.as_str())];
        let replicas = [
            ServeProcess::start(&args, &envs),
            ServeProcess::start(&args, &envs),
        ];
        let urls: Vec<String> = replicas.iter().map(|r| r.runs_url("acme")).collect();
        let client = reqwest::Client::new();
        let answers: Vec<Value> = sim.block_on(async {
            let tasks: Vec<_> = (0..200)
                .map(|i| {
                    let request = client
                        .post(&urls[i % 2])
                        .bearer_auth(TOKEN)
                        .json(&json!({ "script": SEND }));
                    tokio::spawn(async move {
                        let response = request.send().await.expect("the sidecar answers");
                        response.json::<Value>().await.expect("a JSON answer")
                    })
                })
                .collect();
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.expect("the request task completes"));
            }
            answers
        });
        let url = backend.url();
        let sent = answers.iter().filter(|a| a["error"].is_null()).count();
        let over: Vec<&Value> = answers
            .iter()
            .filter(|a| a["error"]["value"]["rule"] == "messages_per_day")
            .collect();
        assert_eq!(sent, 50, "{url}");
        assert_eq!(
            over.len(),
            150,
            "{url}: {:?}",
            answers.iter().find(|a| !a["error"].is_null())
        );
        assert_eq!(over[0]["error"]["value"]["kind"], "policy");
        assert_eq!(posts_to_messages(&sim), 50, "{url}");
    }
}

#[test]
fn without_its_store_a_tenant_with_quotas_sends_nothing() {
    let account = SimAccount::test_default();
    let unreachable = Backend::unreachable();
    let (sim, config) = quota_setup(&account, &unreachable, "messages_per_day = 5");
    let output = twilio_host_process()
        .args(["run", "--config", config.path.to_str().unwrap()])
        .args(["--tenant", "acme", "-e", SEND])
        .env("SIM_TOKEN", &account.auth_token)
        .output()
        .expect("twilio-host run runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error kind: denied"), "{stderr}");
    assert!(
        stderr.contains("nothing that counts against a quota is sent"),
        "{stderr}"
    );
    assert_eq!(posts_to_messages(&sim), 0);
}

/// An audit record of tenant `t` made at `time_ms`.
fn audit_record(id: &str, run_id: &str, time_ms: u64, outcome: Outcome) -> AuditRecord {
    AuditRecord {
        id: id.into(),
        time: twilio_host::audit::rfc3339(time_ms),
        time_ms,
        run_id: run_id.into(),
        plan_id: None,
        tenant: "t".into(),
        account: Some("default".into()),
        function: Some("twilio_send_sms".into()),
        method: "POST".into(),
        path: "/2010-04-01/Accounts/AC1/Messages.json".into(),
        to: Some("+1******4567".into()),
        body_length: Some(5),
        segments: Some(1),
        retry: false,
        status: None,
        sid: None,
        error_code: None,
        error: None,
        elapsed_ms: None,
        outcome,
        rule: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_keeps_audit_records_replaced_by_id_until_their_retention() {
    let kept_for = |days: u64| {
        AuditSettings {
            retention: Duration::from_secs(days * 86_400),
            ..AuditSettings::default()
        }
        .oldest_kept_ms()
    };
    let week = kept_for(7);
    for backend in Backend::both() {
        let url = backend.url();
        let store = state::open(&url).unwrap();
        let now = now_ms();
        let old = audit_record("old-0001", "old", now - 3 * 86_400_000, Outcome::Ok);
        store.write_audit(old.clone(), week).await.unwrap();
        let pending = audit_record("run1-0001", "run1", now - 1000, Outcome::Unknown);
        store.write_audit(pending.clone(), week).await.unwrap();
        let done = AuditRecord {
            status: Some(201),
            sid: Some("SM0123".into()),
            outcome: Outcome::Ok,
            ..pending.clone()
        };
        store.write_audit(done.clone(), week).await.unwrap();
        let other = audit_record("run2-0001", "run2", now, Outcome::Refused);
        store.write_audit(other.clone(), week).await.unwrap();
        let query = |since_ms, run_id: Option<&str>| AuditQuery {
            tenant: "t".into(),
            since_ms,
            run_id: run_id.map(String::from),
            limit: 100,
        };
        let all = store.read_audit(query(0, None)).await.unwrap();
        assert_eq!(
            all,
            vec![old, done.clone(), other.clone()],
            "{url}: the oldest first; the second write replaced the first"
        );
        let recent = store.read_audit(query(now - 60_000, None)).await.unwrap();
        assert_eq!(recent, vec![done.clone(), other.clone()], "{url}");
        let run = store.read_audit(query(0, Some("run2"))).await.unwrap();
        assert_eq!(run, vec![other.clone()], "{url}");
        let first = AuditQuery {
            limit: 1,
            ..query(now - 60_000, None)
        };
        assert_eq!(store.read_audit(first).await.unwrap(), vec![done.clone()]);
        let elsewhere = AuditQuery {
            tenant: "u".into(),
            ..query(0, None)
        };
        assert!(
            store.read_audit(elsewhere).await.unwrap().is_empty(),
            "{url}"
        );
        // A write under a retention of one day deletes the three-day-old record (SQLite looks
        // at a tenant's old records at its first write and then once a minute: the write comes
        // from another handle, as from another process).
        let newest = audit_record("run3-0001", "run3", now, Outcome::Ok);
        let day = kept_for(1);
        let another = state::open(&url).unwrap();
        another.write_audit(newest.clone(), day).await.unwrap();
        let kept = store.read_audit(query(0, None)).await.unwrap();
        assert_eq!(kept, vec![done, other, newest], "{url}");
    }
}

#[test]
fn with_the_store_unreachable_a_send_is_refused_unsent_and_reads_still_work() {
    let account = SimAccount::test_default();
    let unreachable = Backend::unreachable();
    let (sim, config) = quota_setup(&account, &unreachable, "");
    let script = r#"local twilio = app.integrations.twilio
    local sent, err = pcall(twilio.twilio_send_sms, {
        to = "+14155550123", from = "+15559876543", body = "unaudited" })
    return { sent = sent, kind = err.kind, message = err.message,
             status = twilio.twilio_get_account({}).status }"#;
    let output = twilio_host_process()
        .args(["run", "--json", "--config", config.path.to_str().unwrap()])
        .args(["--tenant", "acme", "-e", script])
        .env("SIM_TOKEN", &account.auth_token)
        .output()
        .expect("twilio-host run runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let value = &report["value"];
    assert_eq!(value["sent"], false, "{report}");
    assert_eq!(value["kind"], "denied", "{report}");
    let message = value["message"].as_str().unwrap();
    assert!(
        message.contains(
            "nothing is sent that the audit trail cannot record: the audit trail cannot be written right now"
        ),
        "{message}"
    );
    assert!(
        !message.contains("127.0.0.1"),
        "the store is not named: {message}"
    );
    assert_eq!(value["status"], "active", "the read still works: {report}");
    assert_eq!(posts_to_messages(&sim), 0, "the server saw no POST");
}
