//! Plan and approve against both state stores: the store runs a plan at most once (however
//! many handles claim it at the same moment) and never once it expired or was rejected;
//! `twilio-host run --plan` sends nothing and `approve` sends exactly the plan, once; an
//! approval whose data changed stops at the first action that differs; two sidecar replicas
//! approving the same plan at once send it once; and a tenant whose policy needs approval
//! for sends never sends from an ordinary run.

use std::process::Output;

use super::*;
use twilio_host::plan::{NotPending, Plan, PlanAction, PlanChange, PlanState, WireRequest};

/// Three SMS to three numbers.
const THREE_SMS: &str = r#"local t = app.integrations.twilio
for i, to in ipairs({"+14155550101", "+14155550102", "+14155550103"}) do
  local m = t.twilio_send_sms({to = to, from = "+15559876543", body = "Reminder " .. i})
  print(i, m.status, m.sid)
end
return "done""#;

/// The form parameters of every message the simulator was asked to create, in order.
fn sent_messages(sim: &TestSim) -> Vec<(String, String)> {
    sim.sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .map(|r| {
            let field = |name: &str| {
                r.form
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            };
            (field("To"), field("Body"))
        })
        .collect()
}

/// `twilio-host SUBCOMMAND ARGS --config CONFIG --tenant acme` with the simulator's token.
fn host_command(config: &ConfigFile, account: &SimAccount, args: &[&str]) -> Output {
    twilio_host_process()
        .args(args)
        .args([
            "--config",
            config.path.to_str().unwrap(),
            "--tenant",
            "acme",
        ])
        .env("SIM_TOKEN", &account.auth_token)
        .output()
        .expect("twilio-host runs")
}

/// The JSON object on the last line of `output`'s stdout.
fn last_json_line(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "no JSON last line: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn one_action() -> Vec<PlanAction> {
    let params = [("To".to_string(), "+14155550101".to_string())];
    let request = WireRequest::new("POST", "/2010-04-01/Accounts/AC1/Messages.json", &params);
    vec![PlanAction::new("twilio_send_sms", "default", request, true)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_runs_a_plan_at_most_once_and_never_once_expired_or_rejected() {
    let kept = AuditSettings::default().oldest_kept_ms();
    let hour = Duration::from_secs(3600);
    for backend in Backend::both() {
        let url = backend.url();
        let handles = [state::open(&url).unwrap(), state::open(&url).unwrap()];
        let plan = Plan::new(
            Plan::new_id(),
            "t",
            "run",
            "return 1",
            "",
            one_action(),
            hour,
        );
        handles[0].save_plan(plan.clone(), kept).await.unwrap();
        let loaded = handles[1].load_plan("t".into(), plan.id.clone()).await;
        assert_eq!(loaded, Ok(Some(plan.clone())), "{url}");
        assert_eq!(
            handles[1].load_plan("other".into(), plan.id.clone()).await,
            Ok(None),
            "{url}: another tenant's plan is not found"
        );

        // 16 approvals at once through two handles: one claims it.
        let claims: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&handles[i % 2]);
                let change =
                    PlanChange::new("t", &plan.id, PlanState::Pending, PlanState::Executing);
                tokio::spawn(async move { store.change_plan(change).await })
            })
            .collect();
        let mut claimed = 0;
        for claim in claims {
            match claim.await.unwrap().unwrap() {
                Ok(plan) => {
                    assert_eq!(plan.state, PlanState::Executing);
                    claimed += 1;
                }
                Err(why) => assert_eq!(why, NotPending::In(PlanState::Executing), "{url}"),
            }
        }
        assert_eq!(claimed, 1, "{url}");
        let settle = PlanChange::new("t", &plan.id, PlanState::Executing, PlanState::Executed);
        assert!(handles[0].change_plan(settle).await.unwrap().is_ok());
        let again = PlanChange::new("t", &plan.id, PlanState::Pending, PlanState::Executing);
        assert_eq!(
            handles[1].change_plan(again).await,
            Ok(Err(NotPending::In(PlanState::Executed))),
            "{url}"
        );

        let expired = Plan::new(
            Plan::new_id(),
            "t",
            "run",
            "",
            "",
            one_action(),
            Duration::ZERO,
        );
        handles[0].save_plan(expired.clone(), kept).await.unwrap();
        let claim = PlanChange::new("t", &expired.id, PlanState::Pending, PlanState::Executing);
        assert_eq!(
            handles[1].change_plan(claim).await,
            Ok(Err(NotPending::In(PlanState::Expired))),
            "{url}"
        );
        let read = handles[1].load_plan("t".into(), expired.id.clone()).await;
        assert_eq!(read.unwrap().map(|p| p.state), Some(PlanState::Expired));

        let rejected = Plan::new(Plan::new_id(), "t", "run", "", "", one_action(), hour);
        handles[0].save_plan(rejected.clone(), kept).await.unwrap();
        let reject = PlanChange::new("t", &rejected.id, PlanState::Pending, PlanState::Rejected);
        assert!(handles[1].change_plan(reject).await.unwrap().is_ok());
        let claim = PlanChange::new("t", &rejected.id, PlanState::Pending, PlanState::Executing);
        assert_eq!(
            handles[0].change_plan(claim).await,
            Ok(Err(NotPending::In(PlanState::Rejected))),
            "{url}"
        );
        let unknown = PlanChange::new(
            "t",
            "no-such-plan",
            PlanState::Pending,
            PlanState::Executing,
        );
        assert_eq!(
            handles[0].change_plan(unknown).await,
            Ok(Err(NotPending::Unknown)),
            "{url}"
        );
    }
}

#[test]
fn a_planned_run_sends_nothing_and_its_approval_sends_exactly_the_plan_once() {
    let account = SimAccount::test_default();
    let backend = Backend::Sqlite(tempfile::tempdir().unwrap());
    let (sim, config) = quota_setup(&account, &backend, "");
    let planned = host_command(
        &config,
        &account,
        &["run", "--plan", "--json", "-e", THREE_SMS],
    );
    assert!(planned.status.success(), "{}", stderr_of(&planned));
    assert!(sent_messages(&sim).is_empty(), "plan mode sends nothing");
    let stdout = String::from_utf8_lossy(&planned.stdout);
    assert!(stdout.contains("1\tplanned\tplanned-1"), "{stdout}");
    let report = last_json_line(&planned);
    assert_eq!(report["needs_approval"], true, "{report}");
    assert_eq!(report["value"], "done");
    let plan = &report["plan"];
    let actions = plan["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 3, "{plan}");
    for (i, action) in actions.iter().enumerate() {
        assert_eq!(action["function"], "twilio_send_sms");
        assert_eq!(action["account"], "default");
        assert_eq!(
            action["arguments"],
            json!({"to": format!("+1415555010{}", i + 1), "from": "+15559876543", "body": format!("Reminder {}", i + 1)})
        );
    }
    let id = plan["id"].as_str().expect("a plan id").to_string();
    assert!(plan["expires_at"].is_string(), "{plan}");

    let text = host_command(&config, &account, &["show-plan", &id]);
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        shown.contains("1. twilio_send_sms to +14155550101 from +15559876543 (account default) body=\"Reminder 1\""),
        "{shown}"
    );

    let approved = host_command(&config, &account, &["approve", &id, "--json"]);
    assert!(approved.status.success(), "{}", stderr_of(&approved));
    let report = last_json_line(&approved);
    assert_eq!(report["execution"]["state"], "executed", "{report}");
    assert_eq!(report["execution"]["actions_sent"], 3);
    let expected: Vec<(String, String)> = (1..=3)
        .map(|i| (format!("+1415555010{i}"), format!("Reminder {i}")))
        .collect();
    assert_eq!(sent_messages(&sim), expected);

    let again = host_command(&config, &account, &["approve", &id]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr_of(&again));
    assert!(
        stderr_of(&again).contains("the plan was already executed"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(sent_messages(&sim).len(), 3, "nothing more was sent");
    let shown = host_command(&config, &account, &["show-plan", &id, "--json"]);
    assert_eq!(last_json_line(&shown)["state"], "executed");

    let planned = host_command(
        &config,
        &account,
        &["run", "--plan", "--json", "-e", THREE_SMS],
    );
    let other = last_json_line(&planned)["plan"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rejected = host_command(&config, &account, &["reject", &other]);
    assert!(rejected.status.success(), "{}", stderr_of(&rejected));
    let approved = host_command(&config, &account, &["approve", &other]);
    assert_eq!(approved.status.code(), Some(2));
    assert!(stderr_of(&approved).contains("the plan was rejected"));
    assert_eq!(sent_messages(&sim).len(), 3, "a rejected plan never runs");
}

#[test]
fn quotas_apply_when_a_plan_runs_and_stop_it_where_they_refuse() {
    let account = SimAccount::test_default();
    let backend = Backend::Sqlite(tempfile::tempdir().unwrap());
    let (sim, config) = quota_setup(&account, &backend, "messages_per_day = 2");
    let planned = host_command(
        &config,
        &account,
        &["run", "--plan", "--json", "-e", THREE_SMS],
    );
    let plan = last_json_line(&planned)["plan"].clone();
    assert_eq!(
        plan["actions"].as_array().map(Vec::len),
        Some(3),
        "planning takes no quota"
    );
    let id = plan["id"].as_str().unwrap().to_string();
    let approved = host_command(&config, &account, &["approve", &id, "--json"]);
    assert_eq!(approved.status.code(), Some(1), "{}", stderr_of(&approved));
    let report = last_json_line(&approved);
    assert_eq!(report["execution"]["state"], "stopped", "{report}");
    assert_eq!(report["execution"]["actions_sent"], 2);
    assert_eq!(report["execution"]["stopped"]["action"], 3);
    assert_eq!(
        report["error"]["value"]["rule"], "messages_per_day",
        "{report}"
    );
    assert_eq!(sent_messages(&sim).len(), 2);
}

#[test]
fn an_approval_whose_data_changed_stops_at_the_first_action_that_differs() {
    let account = SimAccount::test_default();
    let backend = Backend::Sqlite(tempfile::tempdir().unwrap());
    let (sim, config) = quota_setup(&account, &backend, "");
    // Texts the two most recent recipients, whoever they are when it runs.
    let follow_up = r#"local t = app.integrations.twilio
for _, m in ipairs(t.twilio_list_messages({limit = 2}).messages) do
  t.twilio_send_sms({to = m.to, from = "+15559876543", body = "Following up"})
end"#;
    let planned = host_command(
        &config,
        &account,
        &["run", "--plan", "--json", "-e", follow_up],
    );
    assert!(planned.status.success(), "{}", stderr_of(&planned));
    let plan = last_json_line(&planned)["plan"].clone();
    assert_eq!(plan["actions"].as_array().map(Vec::len), Some(2), "{plan}");
    let id = plan["id"].as_str().unwrap().to_string();

    // Meanwhile someone texts a new number: it is now the most recent recipient.
    let send = r#"app.integrations.twilio.twilio_send_sms({to = "+14155550199", from = "+15559876543", body = "new"})"#;
    assert!(
        host_command(&config, &account, &["run", "-e", send])
            .status
            .success()
    );
    assert_eq!(sent_messages(&sim).len(), 1);

    let approved = host_command(&config, &account, &["approve", &id, "--json"]);
    assert_eq!(approved.status.code(), Some(1), "{}", stderr_of(&approved));
    let stderr = stderr_of(&approved);
    assert!(
        stderr.contains("action 1 differs from the approved plan"),
        "{stderr}"
    );
    assert!(stderr.contains("stopped at action 1"), "{stderr}");
    let report = last_json_line(&approved);
    assert_eq!(report["execution"]["state"], "stopped", "{report}");
    assert_eq!(report["execution"]["actions_sent"], 0);
    assert_eq!(report["error"]["value"]["kind"], "denied", "{report}");
    assert_eq!(sent_messages(&sim).len(), 1, "nothing of the plan was sent");
    let shown = host_command(&config, &account, &["show-plan", &id, "--json"]);
    assert_eq!(last_json_line(&shown)["state"], "stopped");
    let records = host_command(
        &config,
        &account,
        &[
            "audit",
            "--json",
            "--run",
            report["run_id"].as_str().unwrap(),
        ],
    );
    let refused = String::from_utf8_lossy(&records.stdout);
    assert!(refused.contains("\"rule\":\"plan\""), "{refused}");
}

/// POSTs to `url` with the tenant's token: status and JSON answer.
async fn post_json(client: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the sidecar answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

#[test]
fn two_sidecars_approving_one_plan_at_once_send_it_once() {
    let account = SimAccount::test_default();
    for backend in Backend::both() {
        let url = backend.url();
        let (sim, config) = quota_setup(&account, &backend, "");
        let text = std::fs::read_to_string(&config.path).unwrap();
        let metrics_hash = twilio_host::config::TokenHash::of(TOKEN);
        std::fs::write(
            &config.path,
            format!("{text}\n[server]\nmetrics_token_sha256 = \"{metrics_hash}\"\n"),
        )
        .unwrap();
        let args = ["--config", config.path.to_str().unwrap()];
        let envs = [("SIM_TOKEN", account.auth_token.as_str())];
        let replicas = [
            ServeProcess::start(&args, &envs),
            ServeProcess::start(&args, &envs),
        ];
        let client = reqwest::Client::new();
        let (status, planned) = sim.block_on(post_json(
            &client,
            &replicas[0].runs_url("acme"),
            json!({"script": THREE_SMS, "mode": "plan"}),
        ));
        assert_eq!(status, 200, "{planned}");
        assert_eq!(planned["needs_approval"], true, "{planned}");
        let id = planned["plan"]["id"].as_str().unwrap().to_string();
        assert!(sent_messages(&sim).is_empty(), "{url}");

        let approvals: Vec<(u16, Value)> = sim.block_on(async {
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let client = client.clone();
                    let approve = format!(
                        "{}/v1/tenants/acme/plans/{id}/approve",
                        replicas[i % 2].base_url
                    );
                    tokio::spawn(async move { post_json(&client, &approve, json!({})).await })
                })
                .collect();
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.expect("the approval completes"));
            }
            answers
        });
        let ran: Vec<&Value> = approvals
            .iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, answer)| answer)
            .collect();
        assert_eq!(ran.len(), 1, "{url}: {approvals:?}");
        assert_eq!(ran[0]["execution"]["state"], "executed", "{url}");
        for (status, answer) in approvals.iter().filter(|(status, _)| *status != 200) {
            assert_eq!(*status, 409, "{url}: {answer}");
            assert_eq!(answer["error"]["kind"], "plan_not_pending");
        }
        assert_eq!(sent_messages(&sim).len(), 3, "{url}: 3, not 6");

        let base = &replicas[1].base_url;
        let show = sim.block_on(async {
            let response = client
                .get(format!("{base}/v1/tenants/acme/plans/{id}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        });
        assert_eq!(show["state"], "executed", "{url}: {show}");
        let (status, missing) = sim.block_on(post_json(
            &client,
            &format!("{base}/v1/tenants/acme/plans/no-such-plan/reject"),
            json!({}),
        ));
        assert_eq!(
            (status, &missing["error"]["kind"]),
            (404, &json!("plan_not_found"))
        );
        let unauthorized = sim.block_on(async {
            client
                .post(format!("{base}/v1/tenants/acme/plans/{id}/approve"))
                .bearer_auth("not-the-token-0123456789")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert_eq!(unauthorized, 401, "{url}");

        // Between them, the replicas made one plan and executed it once.
        let mut counted = std::collections::BTreeMap::new();
        for replica in &replicas {
            let text = sim.block_on(async {
                let response = client
                    .get(format!("{}/metrics", replica.base_url))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap();
                response.text().await.unwrap()
            });
            let lines = text.lines().map(|line| Ok(line.to_string()));
            let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
            for sample in scrape.samples {
                let count = match sample.value {
                    prometheus_parse::Value::Counter(n) | prometheus_parse::Value::Untyped(n) => n,
                    _ => continue,
                };
                if sample.metric == "twilio_host_plans_total" {
                    let outcome = sample.labels.get("outcome").unwrap_or_default().to_string();
                    *counted.entry(outcome).or_insert(0.0) += count;
                }
            }
        }
        let expected = [("executed".to_string(), 1.0), ("made".to_string(), 1.0)];
        assert_eq!(counted, expected.into_iter().collect(), "{url}");
    }
}

#[test]
fn a_tenant_whose_sends_need_approval_never_sends_from_an_ordinary_run() {
    let account = SimAccount::test_default();
    let backend = Backend::Sqlite(tempfile::tempdir().unwrap());
    let (sim, config) = quota_setup(&account, &backend, "");
    let text = std::fs::read_to_string(&config.path).unwrap();
    std::fs::write(
        &config.path,
        format!("{text}\n[tenants.acme.policy]\napproval = [\"send\"]\n"),
    )
    .unwrap();
    // Two sends (they need approval) and a call (it does not: sent at once, never twice).
    let script = r#"local t = app.integrations.twilio
local call = t.twilio_make_call({to = "+14155550150", from = "+15559876543", twiml = "<Response><Say>Hi</Say></Response>"})
t.twilio_send_sms({to = "+14155550151", from = "+15559876543", body = "one"})
local second = t.twilio_send_sms({to = "+14155550152", from = "+15559876543", body = "two"})
return {call = call.sid, second = second.status}"#;
    let calls = |sim: &TestSim| {
        sim.sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/Calls.json"))
            .count()
    };
    let ran = host_command(&config, &account, &["run", "--json", "-e", script]);
    assert!(ran.status.success(), "{}", stderr_of(&ran));
    let report = last_json_line(&ran);
    assert_eq!(report["needs_approval"], true, "{report}");
    assert_eq!(report["value"]["second"], "planned");
    let call_sid = report["value"]["call"].as_str().unwrap().to_string();
    assert!(call_sid.starts_with("CA"), "the call went out: {report}");
    let pending: Vec<bool> = report["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["pending"].as_bool().unwrap())
        .collect();
    assert_eq!(pending, [false, true, true]);
    assert!(
        sent_messages(&sim).is_empty(),
        "no send from an ordinary run"
    );
    assert_eq!(calls(&sim), 1);

    let id = report["plan"]["id"].as_str().unwrap().to_string();
    let approved = host_command(&config, &account, &["approve", &id, "--json"]);
    assert!(approved.status.success(), "{}", stderr_of(&approved));
    let report = last_json_line(&approved);
    assert_eq!(
        report["value"]["call"],
        call_sid.as_str(),
        "the call's answer, replayed"
    );
    assert_eq!(calls(&sim), 1, "the call is not placed again");
    assert_eq!(sent_messages(&sim).len(), 2);
}
