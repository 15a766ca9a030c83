//! Errors scripts see, through the real host and component: bad input to each of the 15 functions
//! is a `validation` error naming the function and the field, and sends nothing; Twilio's error
//! responses (20003, 20404, 21211, 21608, 20429) arrive as `twilio` error tables with Twilio's code,
//! both when the script catches them and in the host's report when it does not.

use serde_json::{Value, json};
use twilio_e2e::twilio_host::credential::Credential;
use twilio_e2e::twilio_host::secret::Secret;
use twilio_e2e::twilio_host::{ErrorKind, Limits};
use twilio_e2e::twilio_sim::{Fault, FaultKind, SimAccount};
use twilio_e2e::{TenantSpec, TestHost, error, validation_error, value};

/// Locals every bad-input script starts with: a valid To and From, and 32 hex digits.
const PRELUDE: &str = r#"local T, F, H = "+15551234567", "+15559876543", ("0"):rep(32)"#;

/// A call with bad input: the function, its arguments (Lua), the field the error must name and
/// a part of the reason.
struct Bad {
    function: &'static str,
    args: &'static str,
    field: &'static str,
    says: &'static str,
}

const fn bad(
    function: &'static str,
    args: &'static str,
    field: &'static str,
    says: &'static str,
) -> Bad {
    Bad {
        function,
        args,
        field,
        says,
    }
}

const SMS: &str = "twilio_send_sms";
const GET_MESSAGE: &str = "twilio_get_message";
const LIST_MESSAGES: &str = "twilio_list_messages";
const CALL: &str = "twilio_make_call";
const GET_CALL: &str = "twilio_get_call";
const LIST_CALLS: &str = "twilio_list_calls";
const LIST_NUMBERS: &str = "twilio_list_phone_numbers";
const GET_NUMBER: &str = "twilio_get_phone_number";
const LOOKUP: &str = "twilio_lookup_phone";
const TRIGGER: &str = "twilio_create_usage_trigger";
const USAGE: &str = "twilio_list_usage_records";
const WHATSAPP: &str = "twilio_send_whatsapp";
const ACCOUNT: &str = "twilio_get_account";
const RECORDINGS: &str = "twilio_list_recordings";
const DELETE: &str = "twilio_delete_recording";

const NOT_E164: &str = "is not an E.164 number";
const NOT_SID: &str = "is not a SID";
const NOT_DATE: &str = "is not a calendar date";
const NOT_URL: &str = "it must start with https:// or http://";
const NOT_INTEGER: &str = "must be an integer of at least 1, got";
const PLACEHOLDER: &str = "is the documentation's placeholder";

#[rustfmt::skip]
const BAD_INPUT: &[Bad] = &[
    bad(SMS, r#"{to = T, from = F, msg = "hi"}"#, "msg", "did you mean `body`?"),
    bad(SMS, r#"{To = T, from = F, body = "hi"}"#, "To", "did you mean `to`?"),
    bad(SMS, r#"{to = T, from_ = F, body = "hi"}"#, "from_", "did you mean `from`?"),
    bad(SMS, r#"{to = "555-1234", from = F, body = "hi"}"#, "to", NOT_E164),
    bad(SMS, r#"{to = "+1 555 123 4567", from = F, body = "hi"}"#, "to", NOT_E164),
    bad(SMS, r#"{to = T, from = "15559876543", body = "hi"}"#, "from", NOT_E164),
    bad(SMS, r#"{to = 15551234567, from = F, body = "hi"}"#, "to", "(write it in quotes)"),
    bad(SMS, r#"{to = T, from = F, body = ("x"):rep(1601)}"#, "body", "is 1601 characters long; at most 1600"),
    bad(SMS, r#"{to = T, from = F, body = ("é"):rep(1601)}"#, "body", "is 1601 characters long; at most 1600"),
    bad(SMS, r#"{to = T, from = F, body = ""}"#, "body", "must not be empty"),
    bad(SMS, "{to = T, from = F}", "body", "is required"),
    bad(SMS, r#"{to = T, from = F, body = "hi", media_url = "ftp://example.com/cat.png"}"#, "media_url", NOT_URL),
    bad(SMS, r#"{to = T, from = F, body = "hi", status_callback = "example.com/status"}"#, "status_callback", NOT_URL),
    bad(SMS, "", "arguments", "expects a table of parameters"),
    bad(SMS, "T", "arguments", "expects a table of parameters"),
    bad(GET_MESSAGE, r#"{message_sid = "SM123"}"#, "message_sid", NOT_SID),
    bad(GET_MESSAGE, r#"{message_sid = "CA" .. H}"#, "message_sid", "expected SM or MM followed by 32 hex digits"),
    bad(GET_MESSAGE, "{}", "message_sid", "is required"),
    bad(GET_MESSAGE, r#"{message_sid = "SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#, "message_sid", PLACEHOLDER),
    bad(LIST_MESSAGES, "{limit = 2.5}", "limit", NOT_INTEGER),
    bad(LIST_MESSAGES, r#"{limit = "ten"}"#, "limit", NOT_INTEGER),
    bad(LIST_MESSAGES, "{limit = 0}", "limit", "0 is out of range"),
    bad(LIST_MESSAGES, "{page_size = 0}", "page_size", "0 is out of range: must be an integer from 1 to 1000"),
    bad(LIST_MESSAGES, "{page_size = 1001}", "page_size", "1001 is out of range: must be an integer from 1 to 1000"),
    bad(LIST_MESSAGES, "{page_size = 2.5}", "page_size", "must be an integer from 1 to 1000, got"),
    bad(LIST_MESSAGES, r#"{date_sent = "2026-02-30"}"#, "date_sent", NOT_DATE),
    bad(LIST_MESSAGES, r#"{date_sent = "2026/01/31"}"#, "date_sent", NOT_DATE),
    bad(LIST_MESSAGES, r#"{to = "whatsapp:+15551234567"}"#, "to", "use twilio_send_whatsapp"),
    bad(CALL, r#"{to = T, from = F, url = "https://example.com/t", twiml = "<Response/>"}"#, "url", "not both"),
    bad(CALL, "{to = T, from = F}", "url", "one of `url`"),
    bad(CALL, r#"{to = T, from = F, url = "ftp://example.com/twiml"}"#, "url", NOT_URL),
    bad(CALL, r#"{to = T, from = F, twiml = ("x"):rep(4001)}"#, "twiml", "at most 4000"),
    bad(CALL, r#"{to = "+0123", from = F, twiml = "<Response/>"}"#, "to", NOT_E164),
    bad(GET_CALL, r#"{call_sid = "CAxyz"}"#, "call_sid", NOT_SID),
    bad(GET_CALL, "{call_sid = {}}", "call_sid", "must be a string"),
    bad(GET_CALL, r#"{call_sid = "CAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#, "call_sid", PLACEHOLDER),
    bad(LIST_CALLS, r#"{status = "done"}"#, "status", "is not one of"),
    bad(LIST_CALLS, r#"{status = "complete"}"#, "status", r#"did you mean "completed"?"#),
    bad(LIST_CALLS, "{limit = -5}", "limit", "-5 is out of range"),
    bad(LIST_NUMBERS, r#"{limit = "ten"}"#, "limit", NOT_INTEGER),
    bad(LIST_NUMBERS, "{page_size = 10}", "page_size", "unknown parameter"),
    bad(GET_NUMBER, r#"{phone_sid = "PN" .. H:sub(2)}"#, "phone_sid", NOT_SID),
    bad(GET_NUMBER, r#"{phone_sid = "SM" .. H}"#, "phone_sid", "expected PN"),
    bad(GET_NUMBER, r#"{phone_sid = "PNxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#, "phone_sid", PLACEHOLDER),
    bad(LOOKUP, r#"{phone_number = "5551234567"}"#, "phone_number", NOT_E164),
    bad(LOOKUP, r#"{phone_number = T, fields = "carrier"}"#, "fields", "is not a Lookup data package"),
    bad(LOOKUP, r#"{phone_number = T, fields = "caller_nam"}"#, "fields", r#"did you mean "caller_name"?"#),
    bad(LOOKUP, "{number = T}", "number", "did you mean `phone_number`?"),
    bad(TRIGGER, r#"{usage_category = "sms", trigger_value = "ten", callback_url = "https://example.com/cb"}"#, "trigger_value", "is not a decimal number"),
    bad(TRIGGER, r#"{usage_category = "sms", trigger_value = 50, callback_url = "https://example.com/cb"}"#, "trigger_value", "(write it in quotes)"),
    bad(TRIGGER, r#"{usage_category = "sms", trigger_value = "50", callback_url = "not a url"}"#, "callback_url", NOT_URL),
    bad(TRIGGER, r#"{usage_category = "sms", trigger_value = "50", callback_url = "https://example.com/cb", recurring = "weekly"}"#, "recurring", "is not one of"),
    bad(TRIGGER, r#"{trigger_value = "50", callback_url = "https://example.com/cb"}"#, "usage_category", "is required"),
    bad(USAGE, r#"{start_date = "2026-13-01"}"#, "start_date", NOT_DATE),
    bad(USAGE, r#"{end_date = "2026-02-30"}"#, "end_date", NOT_DATE),
    bad(USAGE, "{limit = 0}", "limit", "0 is out of range"),
    bad(USAGE, r#"{category = "sms;drop"}"#, "category", "is not a usage category"),
    bad(WHATSAPP, r#"{to = "whatsapp:whatsapp:+15551234567", from = F, body = "hi"}"#, "to", "prefix is added for you"),
    bad(WHATSAPP, r#"{to = T, from = "whatsapp:", body = "hi"}"#, "from", NOT_E164),
    bad(WHATSAPP, r#"{to = T, from = F, body = ("x"):rep(1601)}"#, "body", "at most 1600"),
    bad(ACCOUNT, r#"{sid = "ACxyz"}"#, "sid", NOT_SID),
    bad(ACCOUNT, r#"{sid = "SK" .. H}"#, "sid", "expected AC"),
    bad(RECORDINGS, r#"{call_sid = "RE" .. H}"#, "call_sid", "expected CA"),
    bad(RECORDINGS, r#"{date_created = "2026-02-30"}"#, "date_created", NOT_DATE),
    bad(DELETE, r#"{recording_sid = "RE123"}"#, "recording_sid", NOT_SID),
    bad(DELETE, "{}", "recording_sid", "is required"),
    bad(DELETE, r#"{recording_sid = "RExxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#, "recording_sid", PLACEHOLDER),
];

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_validation_error_and_sends_nothing() {
    let host = TestHost::start().await;
    let mut functions = std::collections::BTreeSet::new();
    for case in BAD_INPUT {
        let call = format!("{}({})", case.function, case.args);
        let script = format!("{PRELUDE} return app.integrations.twilio.{call}");
        let (report, requests) = host.run_recorded(&script).await;
        let message = validation_error(&report, case.function, case.field);
        let named = format!("{}: {}: ", case.function, case.field);
        assert!(message.starts_with(&named), "{call}: {message}");
        assert!(message.contains(case.says), "{call}: {message}");
        assert!(requests.is_empty(), "{call} sent {requests:#?}");
        assert_eq!(report.requests, 0, "{call}");
        functions.insert(case.function);
    }
    assert!(BAD_INPUT.len() >= 40);
    assert_eq!(functions.len(), 15, "{functions:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_errors_are_catchable_tables() {
    let host = TestHost::start().await;
    let (report, requests) = host
        .run_recorded(
            r#"local ok, err = pcall(app.integrations.twilio.twilio_send_sms,
                   {to = "+15551234567", from = "+15559876543", msg = "hi"})
               return {ok = ok, kind = err.kind, field = err.field, fn = err["function"],
                       status = err.status, code = err.code,
                       same = tostring(err) == err.message, text = tostring(err)}"#,
        )
        .await;
    let result = value(&report);
    assert_eq!(
        result,
        &json!({
            "ok": false, "kind": "validation", "field": "msg", "fn": "twilio_send_sms",
            "same": true,
            "text": "twilio_send_sms: msg: unknown parameter \"msg\" (did you mean `body`?); twilio_send_sms takes: to, from, body, media_url, status_callback"
        })
    );
    assert!(requests.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_1600_characters_are_accepted_whatever_their_bytes() {
    let host = TestHost::start().await;
    for (char, bytes) in [("x", 1), ("é", 2), ("世", 3), ("🚀", 4)] {
        for function in [SMS, WHATSAPP] {
            let script = format!(
                r#"{PRELUDE} local body = ("{char}"):rep(1600) assert(#body == {})
                   return app.integrations.twilio.{function}({{to = T, from = F, body = body}}).body"#,
                1600 * bytes
            );
            let (report, requests) = host.run_recorded(&script).await;
            let body = value(&report).as_str().expect("the body comes back");
            assert_eq!(body, char.repeat(1600), "{function} {char}");
            assert_eq!(requests.len(), 1);
            let sent = &requests[0].form[2];
            assert_eq!((sent.0.as_str(), sent.1.chars().count()), ("Body", 1600));
        }
    }
}

/// How the host of a Twilio error case is set up.
#[derive(Clone, Copy, Debug)]
enum Setup {
    /// The default account with its credentials.
    Plain,
    /// The default account with a token Twilio refuses.
    WrongToken,
    /// A trial account (only `+15551234567` verified).
    Trial,
    /// The account answers 429 more often than the retries; retries wait about a millisecond.
    RateLimited,
}

/// Twilio's 20429 body.
const TOO_MANY_REQUESTS: &str = r#"{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}"#;

async fn host_for(setup: Setup) -> TestHost {
    match setup {
        Setup::Plain => TestHost::start().await,
        Setup::WrongToken => {
            let wrong = Credential::AuthToken(Secret::new("f".repeat(32)));
            TestHost::with_credential(SimAccount::test_default(), wrong).await
        }
        Setup::Trial => {
            let trial = SimAccount {
                account_type: "Trial".into(),
                ..SimAccount::new("trial")
            };
            TestHost::with_tenants(vec![
                TenantSpec::new("default").accounts(vec![("default", trial)]),
            ])
            .await
        }
        Setup::RateLimited => {
            let limits = Limits {
                retry_base: std::time::Duration::from_millis(1),
                retry_cap: std::time::Duration::from_millis(2),
                ..Limits::default()
            };
            let host =
                TestHost::with_tenants(vec![TenantSpec::new("default").limits(limits)]).await;
            let kind = FaultKind::Status {
                status: 429,
                body: TOO_MANY_REQUESTS.into(),
                retry_after: None,
            };
            // Twice the first attempt plus the three retries: two calls fail.
            host.sim
                .inject(Fault::new("/Messages.json", kind).method("POST").times(8));
            host
        }
    }
}

/// A call Twilio refuses, and how.
struct Refused {
    setup: Setup,
    function: &'static str,
    args: &'static str,
    status: u16,
    code: i64,
    /// Requests one call makes (retries included).
    attempts: usize,
}

const REFUSED: &[Refused] = &[
    Refused {
        setup: Setup::WrongToken,
        function: ACCOUNT,
        args: "{}",
        status: 401,
        code: 20003,
        attempts: 1,
    },
    Refused {
        setup: Setup::Plain,
        function: GET_MESSAGE,
        args: "{message_sid = 'SM' .. H}",
        status: 404,
        code: 20404,
        attempts: 1,
    },
    Refused {
        setup: Setup::Plain,
        function: SMS,
        args: "{to = '+15005550001', from = F, body = 'hi'}",
        status: 400,
        code: 21211,
        attempts: 1,
    },
    Refused {
        setup: Setup::Trial,
        function: SMS,
        args: "{to = '+15550001111', from = F, body = 'hi'}",
        status: 400,
        code: 21608,
        attempts: 1,
    },
    Refused {
        setup: Setup::RateLimited,
        function: SMS,
        args: "{to = T, from = F, body = 'hi'}",
        status: 429,
        code: 20429,
        attempts: 4,
    },
];

#[tokio::test(flavor = "multi_thread")]
async fn twilio_errors_arrive_as_tables_with_twilio_codes() {
    for case in REFUSED {
        let host = host_for(case.setup).await;
        let more_info = format!("https://www.twilio.com/docs/errors/{}", case.code);
        let caught = format!(
            r#"{PRELUDE}
               local ok, err = pcall(app.integrations.twilio.{}, {})
               return {{ok = ok, kind = err.kind, code = err.code, status = err.status,
                        fn = err["function"], more_info = err.more_info,
                        message = err.message, text = tostring(err)}}"#,
            case.function, case.args
        );
        let (report, requests) = host.run_recorded(&caught).await;
        let result = value(&report);
        let context = format!("{:?} {}: {result}", case.setup, case.function);
        for (field, expected) in [
            ("ok", json!(false)),
            ("kind", json!("twilio")),
            ("code", json!(case.code)),
            ("status", json!(case.status)),
            ("fn", json!(case.function)),
            ("more_info", json!(more_info)),
        ] {
            assert_eq!(result[field], expected, "{field} of {context}");
        }
        let message = result["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{context}");
        let text = result["text"].as_str().unwrap();
        for part in [
            case.function,
            &format!("HTTP {}", case.status),
            &format!("Twilio error {}", case.code),
            message,
            &more_info,
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        assert_eq!(requests.len(), case.attempts, "{context}: {requests:#?}");
        assert!(
            requests.iter().all(|r| r.status == case.status),
            "{context}"
        );

        let uncaught = format!(
            "{PRELUDE} return app.integrations.twilio.{}({})",
            case.function, case.args
        );
        let report = host.run(&uncaught).await;
        let failure = error(&report);
        assert_eq!(failure.kind, ErrorKind::Runtime, "{failure:?}");
        assert!(
            failure.message.contains(&case.code.to_string()),
            "{failure:?}"
        );
        let table: &Value = failure.value.as_ref().expect("an error table");
        assert_eq!(table["kind"], "twilio", "{table}");
        assert_eq!(table["code"], case.code, "{table}");
        assert_eq!(table["status"], case.status, "{table}");
        assert_eq!(table["more_info"], more_info.as_str(), "{table}");
    }
}
