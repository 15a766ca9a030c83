//! A compromised plugin, played by the hostile test guest (`tests/hostile`, plain Rust, no Lua):
//! it sends raw `wasi:http` requests straight at the host. Every one outside what the tenant
//! may do is refused before a connection is made, neither the simulator nor a listening trap
//! port sees a single connection, and the refusals carry the host's reason.

use std::net::TcpListener;

use serde_json::{Value, json};
use twilio_e2e::hostile::hostile_guest;
use twilio_e2e::{TestHost, value};

const HEX: &str = "0123456789abcdef0123456789abcdef";
const OTHER_ACCOUNT: &str = "ACffffffffffffffffffffffffffffffff";

/// A host running the hostile guest for a tenant with a budget of 40 requests and `policy`
/// (lines of `[tenants.default.policy]`).
async fn hostile_host(policy: &str) -> TestHost {
    TestHost::from_toml_running(
        &format!(
            r#"
[tenants.default.limits]
max_requests = 40
[tenants.default.accounts.default]
account_sid = "$SID"
auth_token_env = "SIM_TOKEN"
[tenants.default.policy]
{policy}
"#
        ),
        Some(hostile_guest()),
    )
    .await
}

fn request(method: &str, url: &str, body: &str) -> Value {
    json!({ "method": method, "url": url, "headers": [["x-twilio-account", "default"]], "body": body })
}

/// Runs the hostile guest with `requests`, one by one or all in flight `together`; one
/// outcome per request.
async fn send(host: &TestHost, requests: &[Value], together: bool) -> Vec<Value> {
    let input = json!({ "requests": requests, "together": together });
    let report = host.run(&input.to_string()).await;
    value(&report)
        .as_array()
        .expect("a list of outcomes")
        .clone()
}

#[tokio::test]
async fn every_request_outside_the_tenants_rights_is_refused_without_a_connection() {
    let host = hostile_host("allowed_countries = [\"US\"]").await;
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_port = trap.local_addr().unwrap().port();
    let api = host.sim.api_url();
    let api_port = api.rsplit(':').next().unwrap().to_string();
    let lookups = host.sim.lookups_url();
    let sid = host.account_sid();
    let base = format!("{api}/2010-04-01/Accounts/{sid}");
    let sms = "To=%2B14155550123&From=%2B15559876543&Body=hi";
    let mut guest_authorization = request("GET", &format!("{base}.json"), "");
    guest_authorization["headers"] = json!([
        ["x-twilio-account", "default"],
        ["authorization", "Basic Z3Vlc3Q6Z3Vlc3Q="]
    ]);
    let mut no_account = request("GET", &format!("{base}.json"), "");
    no_account["headers"] = json!([]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "another host",
            request(
                "GET",
                &format!("http://127.0.0.1:{trap_port}/2010-04-01/Accounts/{sid}.json"),
                "",
            ),
            "is not one of account",
        ),
        (
            "another name for the server",
            request(
                "GET",
                &format!("http://localhost:{api_port}/2010-04-01/Accounts/{sid}.json"),
                "",
            ),
            "is not one of account",
        ),
        (
            "the core path on Lookup",
            request(
                "GET",
                &format!("{lookups}/2010-04-01/Accounts/{sid}.json"),
                "",
            ),
            "is not a request",
        ),
        (
            "https to the server",
            request(
                "GET",
                &format!("https://127.0.0.1:{api_port}/2010-04-01/Accounts/{sid}.json"),
                "",
            ),
            "is not one of account",
        ),
        (
            "another account",
            request(
                "GET",
                &format!("{api}/2010-04-01/Accounts/{OTHER_ACCOUNT}/Messages.json"),
                "",
            ),
            "may not act on",
        ),
        ("no account named", no_account, "names no account"),
        (
            "mint an API key",
            request("POST", &format!("{base}/Keys.json"), "FriendlyName=x"),
            "is not a request",
        ),
        (
            "signing keys",
            request("POST", &format!("{base}/SigningKeys.json"), ""),
            "is not a request",
        ),
        (
            "buy a number",
            request(
                "POST",
                &format!("{base}/IncomingPhoneNumbers.json"),
                "PhoneNumber=%2B14155550100",
            ),
            "is not a request",
        ),
        (
            "close the account",
            request("POST", &format!("{base}.json"), "Status=closed"),
            "is not a request",
        ),
        (
            "redirect a live call",
            request(
                "POST",
                &format!("{base}/Calls/CA{HEX}.json"),
                "Url=https%3A%2F%2Fevil.example",
            ),
            "is not a request",
        ),
        (
            "delete a message",
            request("DELETE", &format!("{base}/Messages/SM{HEX}.json"), ""),
            "is not a request",
        ),
        (
            "a path without .json",
            request("GET", &format!("{base}/Messages"), ""),
            "is not a request",
        ),
        (
            "list every account",
            request("GET", &format!("{api}/2010-04-01/Accounts.json"), ""),
            "is not a request",
        ),
        (
            "another method",
            request("PUT", &format!("{base}/Messages.json"), sms),
            "is not a request",
        ),
        (
            "dot segments",
            request("GET", &format!("{base}/Messages/../Keys.json"), ""),
            "is not a plain Twilio path",
        ),
        (
            "a parameter no function sends",
            request(
                "POST",
                &format!("{base}/Messages.json"),
                &format!("{sms}&SmsUrl=https%3A%2F%2Fevil.example"),
            ),
            "is not one that twilio_send_sms sends",
        ),
        (
            "a country the policy forbids",
            request(
                "POST",
                &format!("{base}/Messages.json"),
                "To=%2B442071838750&From=%2B15559876543&Body=hi",
            ),
            "is a number in GB",
        ),
        (
            "a SIP destination under a country rule",
            request(
                "POST",
                &format!("{base}/Calls.json"),
                "To=sip%3Aa%40evil.example&From=%2B15559876543&Url=https%3A%2F%2Fx.test",
            ),
            "is not an E.164 phone number",
        ),
        (
            "a premium-rate number",
            request(
                "POST",
                &format!("{base}/Messages.json"),
                "To=%2B19005550123&From=%2B15559876543&Body=hi",
            ),
            "a prefix this tenant may not reach",
        ),
        (
            "a body over the cap",
            request(
                "POST",
                &format!("{base}/Messages.json"),
                &format!("{sms}&Body={}", "x".repeat(200 << 10)),
            ),
            "larger than",
        ),
    ];
    let requests: Vec<Value> = cases
        .iter()
        .map(|(_, request, _)| request.clone())
        .collect();
    let mut outcomes = send(&host, &requests, false).await;
    for ((what, _, says), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(
            outcome["error"], "ErrorCode::HttpRequestDenied",
            "{what}: {outcome}"
        );
        let message = outcome["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }
    let rules: Vec<&Value> = outcomes[17..20].iter().map(|o| &o["rule"]).collect();
    assert_eq!(
        rules,
        ["allowed_countries", "allowed_countries", "denied_prefixes"]
    );
    outcomes = send(&host, &[guest_authorization], false).await;
    assert!(
        outcomes[0]["error"]
            .as_str()
            .unwrap()
            .contains("header authorization: HeaderError::Forbidden"),
        "the guest cannot even set the header: {}",
        outcomes[0]
    );
    assert_eq!(
        host.sim.connection_count(),
        0,
        "the server saw no connection"
    );
    assert_eq!(
        trap.accept().map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock),
        "the trap port saw no connection"
    );
}

#[tokio::test]
async fn requests_in_flight_together_cannot_pass_the_runs_budget() {
    let host = hostile_host("allowed_countries = [\"US\"]").await;
    let url = format!(
        "{}/2010-04-01/Accounts/{}.json",
        host.sim.api_url(),
        host.account_sid()
    );
    let requests = vec![request("GET", &url, ""); 45];
    let outcomes = send(&host, &requests, true).await;
    let answered = outcomes.iter().filter(|o| o["status"] == 200).count();
    let over: Vec<&Value> = outcomes
        .iter()
        .filter(|o| o["error"] == "ErrorCode::ConnectionLimitReached")
        .collect();
    assert_eq!((answered, over.len()), (40, 5), "{outcomes:?}");
    assert_eq!(
        host.sim.requests().len(),
        40,
        "the server sees exactly the budget"
    );
}

#[tokio::test]
async fn every_rule_and_quota_holds_on_raw_requests() {
    let host = hostile_host(
        r#"functions = ["read", "twilio_send_sms", "call"]
allowed_from = ["+15559876543"]
callback_hosts = ["hooks.example.com"]
inline_twiml = false
lookup_fields = ["line_type_intelligence"]
[tenants.default.policy.quotas]
messages_per_run = 1
calls_per_run = 0"#,
    )
    .await;
    let api = host.sim.api_url();
    let base = format!("{api}/2010-04-01/Accounts/{}", host.account_sid());
    let lookup = format!("{}/v2/PhoneNumbers/%2B14155550123", host.sim.lookups_url());
    let messages = format!("{base}/Messages.json");
    let sms = "To=%2B14155550123&From=%2B15559876543&Body=hi";
    let cases: Vec<(Value, &str)> = vec![
        (
            request(
                "POST",
                &messages,
                "To=whatsapp%3A%2B14155550123&From=whatsapp%3A%2B15559876543&Body=hi",
            ),
            "functions",
        ),
        (
            request(
                "POST",
                &messages,
                "To=WhatsApp%3A%2B14155550123&From=%2B15559876543&Body=hi",
            ),
            "functions",
        ),
        (
            request("DELETE", &format!("{base}/Recordings/RE{HEX}.json"), ""),
            "functions",
        ),
        (
            request(
                "POST",
                &format!("{base}/Usage/Triggers.json"),
                "UsageCategory=sms&TriggerValue=1&CallbackUrl=https%3A%2F%2Fhooks.example.com%2F",
            ),
            "functions",
        ),
        (
            request(
                "POST",
                &messages,
                "To=%2B14155550123&From=%2B15550000000&Body=hi",
            ),
            "allowed_from",
        ),
        (
            request(
                "POST",
                &messages,
                &format!("{sms}&StatusCallback=https%3A%2F%2Fevil.example%2F%3Fleak%3D1"),
            ),
            "callback_hosts",
        ),
        (
            request(
                "POST",
                &messages,
                &format!(
                    "{sms}&MediaUrl=https%3A%2F%2Fhooks.example.com%2Fa.png&MediaUrl=https%3A%2F%2Fevil.example%2Fb.png"
                ),
            ),
            "callback_hosts",
        ),
        (
            request(
                "POST",
                &format!("{base}/Calls.json"),
                "To=%2B14155550123&From=%2B15559876543&Twiml=%3CResponse%2F%3E",
            ),
            "inline_twiml",
        ),
        (
            request("GET", &format!("{lookup}?Fields=caller_name"), ""),
            "lookup_fields",
        ),
        (
            request(
                "POST",
                &format!("{base}/Calls.json"),
                "To=%2B14155550123&From=%2B15559876543&Url=https%3A%2F%2Fhooks.example.com%2Ft",
            ),
            "calls_per_run",
        ),
    ];
    let requests: Vec<Value> = cases.iter().map(|(request, _)| request.clone()).collect();
    let outcomes = send(&host, &requests, false).await;
    for ((request, rule), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(
            outcome["error"], "ErrorCode::HttpRequestDenied",
            "{request}: {outcome}"
        );
        assert_eq!(outcome["rule"], *rule, "{request}: {outcome}");
    }
    // Parameters given twice could show the rules one value and Twilio another.
    let twice = [
        request(
            "POST",
            &messages,
            "To=%2B14155550123&To=%2B447700900123&From=%2B15559876543&Body=hi",
        ),
        request(
            "GET",
            &format!("{lookup}?Fields=line_type_intelligence&Fields=caller_name"),
            "",
        ),
    ];
    for outcome in send(&host, &twice, false).await {
        assert_eq!(
            outcome["error"], "ErrorCode::HttpRequestDenied",
            "{outcome}"
        );
        assert!(
            outcome["message"]
                .as_str()
                .unwrap()
                .contains("is given more than once"),
            "{outcome}"
        );
    }
    assert_eq!(host.sim.connection_count(), 0, "nothing reached the server");
    // One send per run: the first passes, the second is refused before it leaves.
    let outcomes = send(
        &host,
        &[
            request("POST", &messages, sms),
            request("POST", &messages, sms),
        ],
        false,
    )
    .await;
    assert_eq!(outcomes[0]["status"], 201, "{outcomes:?}");
    assert_eq!(outcomes[1]["rule"], "messages_per_run", "{outcomes:?}");
    assert_eq!(host.sim.requests().len(), 1);
}

#[tokio::test]
async fn a_read_only_tenant_sends_nothing_a_raw_request_asks_for() {
    let host = hostile_host("read_only = true").await;
    let base = format!(
        "{}/2010-04-01/Accounts/{}",
        host.sim.api_url(),
        host.account_sid()
    );
    let writes = [
        request(
            "POST",
            &format!("{base}/Messages.json"),
            "To=%2B14155550123&From=%2B15559876543&Body=hi",
        ),
        request(
            "POST",
            &format!("{base}/Calls.json"),
            "To=%2B14155550123&From=%2B15559876543&Url=https%3A%2F%2Fx.test%2F",
        ),
        request("DELETE", &format!("{base}/Recordings/RE{HEX}.json"), ""),
    ];
    for outcome in send(&host, &writes, false).await {
        assert_eq!(outcome["rule"], "read_only", "{outcome}");
    }
    assert_eq!(host.sim.connection_count(), 0);
}
