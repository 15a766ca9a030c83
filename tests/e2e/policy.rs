//! The tenant policy end to end: a config written as a user writes it, the real component in
//! the real host, the simulator counting what arrives. Every refusal reaches Lua as an error
//! table with `kind = "policy"`, the rule and the field, and nothing is sent.

use serde_json::{Value, json};
use twilio_e2e::{TestHost, value};

/// The tenant's one account, and the tenant policy lines that follow.
const ACCOUNT: &str = r#"
[tenants.default.accounts.default]
account_sid = "$SID"
auth_token_env = "SIM_TOKEN"
"#;

/// `try(f, args)`: the SID of what `f` created, or the error table's kind, rule, field and
/// message.
const TRY: &str = r#"
local t = app.integrations.twilio
local function try(f, args)
  local ok, result = pcall(f, args)
  if ok then return { sid = result.sid or "ok" } end
  return { kind = result.kind, rule = result.rule, field = result.field, message = result.message }
end
local function sms(to, extra)
  local args = { to = to, from = "+15559876543", body = "hi" }
  for k, v in pairs(extra or {}) do args[k] = v end
  return try(t.twilio_send_sms, args)
end
"#;

async fn host(policy: &str) -> TestHost {
    TestHost::from_toml(&format!("{ACCOUNT}\n{policy}")).await
}

/// Runs `TRY` then `script`; the returned value.
async fn probe(host: &TestHost, script: &str) -> Value {
    value(&host.run(&format!("{TRY}\n{script}")).await).clone()
}

fn posts(host: &TestHost) -> usize {
    host.sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count()
}

fn refusal(rule: &str, field: Option<&str>) -> impl Fn(&Value) {
    let (rule, field) = (rule.to_string(), field.map(String::from));
    move |outcome: &Value| {
        assert_eq!(outcome["kind"], "policy", "{outcome}");
        assert_eq!(outcome["rule"], rule.as_str(), "{outcome}");
        assert_eq!(outcome["field"], json!(field), "{outcome}");
    }
}

#[tokio::test]
async fn a_read_only_tenant_reads_and_sends_nothing() {
    let host = host("[tenants.default.policy]\nread_only = true").await;
    let outcome = probe(
        &host,
        r#"return { send = sms("+14155550123"), list = #t.twilio_list_messages({}) >= 0 }"#,
    )
    .await;
    refusal("read_only", None)(&outcome["send"]);
    assert_eq!(
        outcome["send"]["message"],
        "twilio_send_sms failed: refused by the tenant's policy (read_only): twilio_send_sms is not allowed: this tenant's agents may only read"
    );
    assert_eq!(outcome["list"], true);
    assert_eq!(posts(&host), 0, "the server sees no POST");
}

#[tokio::test]
async fn a_country_rule_sends_only_to_numbers_of_its_countries() {
    let host = host("[tenants.default.policy]\nallowed_countries = [\"US\"]").await;
    let outcome = probe(
        &host,
        r#"return {
            gb = sms("+442071838750"), drama = sms("+447700900123"), jamaica = sms("+18765550123"),
            fictional = sms("+15551234567"), us = sms("+14155550123"),
        }"#,
    )
    .await;
    for refused in ["gb", "drama", "jamaica", "fictional"] {
        refusal("allowed_countries", Some("to"))(&outcome[refused]);
    }
    let message = |key: &str| {
        outcome[key]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(message("gb").ends_with("+442071838750 is a number in GB; this tenant may reach US"));
    assert!(message("jamaica").contains("+18765550123 is a number in JM"));
    assert!(
        message("fictional").contains("the country of +15551234567 cannot be known"),
        "{}",
        message("fictional")
    );
    assert!(outcome["us"]["sid"].as_str().unwrap().starts_with("SM"));
    let sent: Vec<_> = host
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(sent.len(), 1, "only the US text reaches the server");
    assert!(sent[0].form.contains(&("To".into(), "+14155550123".into())));
}

#[tokio::test]
async fn an_account_overrides_its_tenants_rules() {
    let host = TestHost::from_toml(&format!(
        r#"{ACCOUNT}
[tenants.default.policy]
read_only = true
[tenants.default.accounts.work]
account_sid = "$SID"
auth_token_env = "SIM_TOKEN"
[tenants.default.accounts.work.policy]
read_only = false
allowed_to = ["+14155550123"]
"#
    ))
    .await;
    let outcome = probe(
        &host,
        r#"local work = t.work
        return {
            default = sms("+14155550123"),
            work = try(work.twilio_send_sms, { to = "+14155550123", from = "+15559876543", body = "hi" }),
            other = try(work.twilio_send_sms, { to = "+14155550124", from = "+15559876543", body = "hi" }),
        }"#,
    )
    .await;
    refusal("read_only", None)(&outcome["default"]);
    assert!(outcome["work"]["sid"].is_string(), "{outcome}");
    refusal("allowed_to", Some("to"))(&outcome["other"]);
    assert_eq!(posts(&host), 1);
}

#[tokio::test]
async fn functions_senders_callbacks_twiml_and_lookup_packages() {
    let host = host(
        r#"[tenants.default.policy]
functions = ["read", "twilio_send_sms", "call"]
allowed_from = ["+15559876543"]
callback_hosts = ["hooks.example.com"]
inline_twiml = false
lookup_fields = ["line_type_intelligence"]
"#,
    )
    .await;
    let outcome = probe(
        &host,
        r#"return {
            whatsapp = try(t.twilio_send_whatsapp, { to = "whatsapp:+14155550123",
                                                     from = "whatsapp:+15559876543", body = "hi" }),
            delete = try(t.twilio_delete_recording, { recording_sid = "RE0123456789abcdef0123456789abcdef" }),
            sender = try(t.twilio_send_sms, { to = "+14155550123", from = "+15550000000", body = "hi" }),
            callback = sms("+14155550123", { status_callback = "https://evil.example/?leak=1" }),
            media = sms("+14155550123", { media_url = "https://evil.example/a.png" }),
            hooked = sms("+14155550123", { status_callback = "https://hooks.example.com/status" }),
            twiml = try(t.twilio_make_call, { to = "+14155550123", from = "+15559876543",
                                              twiml = "<Response><Dial>+19005550123</Dial></Response>" }),
            paid = try(t.twilio_lookup_phone, { phone_number = "+14155550123",
                                                fields = "line_type_intelligence,caller_name" }),
            lookup = try(t.twilio_lookup_phone, { phone_number = "+14155550123",
                                                  fields = "line_type_intelligence" }),
        }"#,
    )
    .await;
    refusal("functions", None)(&outcome["whatsapp"]);
    refusal("functions", None)(&outcome["delete"]);
    refusal("allowed_from", Some("from"))(&outcome["sender"]);
    refusal("callback_hosts", Some("status_callback"))(&outcome["callback"]);
    refusal("callback_hosts", Some("media_url"))(&outcome["media"]);
    refusal("inline_twiml", Some("twiml"))(&outcome["twiml"]);
    refusal("lookup_fields", Some("fields"))(&outcome["paid"]);
    assert!(outcome["hooked"]["sid"].is_string(), "{outcome}");
    assert_eq!(outcome["lookup"]["sid"], "ok", "{outcome}");
    assert_eq!(posts(&host), 1, "only the allowed send");
}

#[tokio::test]
async fn premium_rate_numbers_are_refused_by_default() {
    let host = host("").await;
    let outcome = probe(&host, r#"return sms("+19005550123")"#).await;
    refusal("denied_prefixes", Some("to"))(&outcome);
    assert_eq!(
        outcome["message"],
        "twilio_send_sms failed: refused by the tenant's policy (denied_prefixes): +19005550123 starts with +1900, a prefix this tenant may not reach"
    );
    assert_eq!(posts(&host), 0);
}

#[tokio::test]
async fn quotas_count_per_run_per_day_and_in_segments_and_a_refused_send_gives_its_share_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let host = host(&format!(
        r#"[state]
url = "sqlite://{}"
[tenants.default.policy.quotas]
messages_per_run = 2
messages_per_day = 3
segments_per_day = 4
calls_per_run = 0
"#,
        state.display()
    ))
    .await;
    let long = "x".repeat(200); // two segments
    let first = probe(
        &host,
        &format!(
            r#"return {{
                bad_sender = try(t.twilio_send_sms, {{ to = "+14155550123", from = "+15550000000", body = "hi" }}),
                one = sms("+14155550123", {{ body = "{long}" }}),
                two = sms("+14155550123"),
                three = sms("+14155550123"),
                call = try(t.twilio_make_call, {{ to = "+14155550123", from = "+15559876543", url = "https://example.com/t" }}),
            }}"#
        ),
    )
    .await;
    assert_eq!(
        first["bad_sender"]["kind"], "twilio",
        "Twilio refused it: {first}"
    );
    assert!(first["one"]["sid"].is_string(), "{first}");
    assert!(first["two"]["sid"].is_string(), "{first}");
    refusal("messages_per_run", None)(&first["three"]);
    refusal("calls_per_run", None)(&first["call"]);
    // A new run: the per-run count starts afresh; 3 segments of 4 are used.
    let second = probe(
        &host,
        &format!(r#"return {{ long = sms("+14155550123", {{ body = "{long}" }}), short = sms("+14155550123") }}"#),
    )
    .await;
    refusal("segments_per_day", None)(&second["long"]);
    assert!(second["long"]["message"].as_str().unwrap().ends_with(
        "this tenant's quota of 4 SMS segments per day is used up; it resets at 00:00 UTC"
    ));
    assert!(second["short"]["sid"].is_string(), "{second}");
    let third = probe(&host, r#"return sms("+14155550123")"#).await;
    refusal("messages_per_day", None)(&third);
    let created = host
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .count();
    assert_eq!(created, 4, "three sends and the one Twilio refused");
}
