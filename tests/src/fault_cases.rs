//! The fault cases of the reliability tests: one simulator fault, the call it hits and what
//! must happen ([`Case`]), and [`check`], which runs cases through the real host and component
//! and checks the error table a script sees, the attempts the host let out and what the
//! simulator holds afterwards.

use std::time::Duration;

use serde_json::{Value as Json, json};
use twilio_host::Limits;
use twilio_sim::{Fault, FaultKind, SeededIds};

use crate::{TenantSpec, TestHost, value};

/// Limits for fault tests: a short HTTP timeout, quick retries and a small response cap, so that
/// every case ends fast.
pub fn fault_limits() -> Limits {
    Limits {
        http_timeout: Duration::from_millis(300),
        wall: Duration::from_secs(10),
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(40),
        max_response_bytes: 256 << 10,
        ..Limits::default()
    }
}

/// A host whose one tenant, `default`, has [`fault_limits`].
pub async fn fault_host() -> TestHost {
    TestHost::with_tenants(vec![TenantSpec::new("default").limits(fault_limits())]).await
}

/// The functions the cases call, each with valid arguments.
#[derive(Clone, Copy, Debug)]
pub enum Function {
    SendSms,
    SendWhatsApp,
    MakeCall,
    CreateTrigger,
    GetMessage,
    GetCall,
    ListMessages,
    ListCalls,
    Lookup,
    DeleteRecording,
}

/// What a POST creates, counted in the simulator to find duplicates and losses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Created {
    Messages,
    Calls,
    Triggers,
}

impl Function {
    /// The function's name in the reference.
    pub fn function(self) -> &'static str {
        match self {
            Function::SendSms => "twilio_send_sms",
            Function::SendWhatsApp => "twilio_send_whatsapp",
            Function::MakeCall => "twilio_make_call",
            Function::CreateTrigger => "twilio_create_usage_trigger",
            Function::GetMessage => "twilio_get_message",
            Function::GetCall => "twilio_get_call",
            Function::ListMessages => "twilio_list_messages",
            Function::ListCalls => "twilio_list_calls",
            Function::Lookup => "twilio_lookup_phone",
            Function::DeleteRecording => "twilio_delete_recording",
        }
    }

    /// The HTTP method its request uses.
    pub fn method(self) -> &'static str {
        match self {
            Function::SendSms
            | Function::SendWhatsApp
            | Function::MakeCall
            | Function::CreateTrigger => "POST",
            Function::DeleteRecording => "DELETE",
            _ => "GET",
        }
    }

    /// A part of the request target the fault matches on.
    pub fn path(self) -> &'static str {
        match self {
            Function::SendSms
            | Function::SendWhatsApp
            | Function::GetMessage
            | Function::ListMessages => "/Messages",
            Function::MakeCall | Function::GetCall | Function::ListCalls => "/Calls",
            Function::CreateTrigger => "/Usage/Triggers",
            Function::Lookup => "/v2/PhoneNumbers/",
            Function::DeleteRecording => "/Recordings/",
        }
    }

    /// The Lua argument table; `n` picks which seeded recording a delete removes.
    pub fn args(self, seeded: &SeededIds, n: usize) -> String {
        match self {
            Function::SendSms => {
                r#"{to = "+15551234567", from = "+15559876543", body = "hi"}"#.into()
            }
            Function::SendWhatsApp => {
                r#"{to = "+15551234567", from = "+15559876543", body = "hola"}"#.into()
            }
            Function::MakeCall => {
                r#"{to = "+15551234567", from = "+15559876543", twiml = "<Response/>"}"#.into()
            }
            Function::CreateTrigger => r#"{usage_category = "sms", trigger_value = "50", callback_url = "https://example.com/cb"}"#.into(),
            Function::GetMessage => format!("{{message_sid = {:?}}}", seeded.message_sids[0]),
            Function::GetCall => format!("{{call_sid = {:?}}}", seeded.call_sids[0]),
            Function::ListMessages => "{limit = 3}".into(),
            Function::ListCalls => "{limit = 3}".into(),
            Function::Lookup => r#"{phone_number = "+15551234567"}"#.into(),
            Function::DeleteRecording => {
                format!("{{recording_sid = {:?}}}", seeded.recording_sids[n])
            }
        }
    }

    /// What a successful call creates, for the functions that create something.
    pub fn created(self) -> Option<Created> {
        match self {
            Function::SendSms | Function::SendWhatsApp => Some(Created::Messages),
            Function::MakeCall => Some(Created::Calls),
            Function::CreateTrigger => Some(Created::Triggers),
            _ => None,
        }
    }
}

/// A script that calls `call` under `pcall` and returns `{ok = true}` or the error's fields.
pub fn script(call: Function, seeded: &SeededIds, n: usize) -> String {
    format!(
        r#"local ok, err = pcall(app.integrations.twilio.{function}, {args})
           if ok then return {{ok = true}} end
           return {{ok = false, kind = err.kind, ["function"] = err["function"], status = err.status,
                    code = err.code, message = err.message, text = tostring(err)}}"#,
        function = call.function(),
        args = call.args(seeded, n),
    )
}

/// How many resources of `what` the simulator holds for `account`.
pub fn count(host: &TestHost, account: &str, what: Created) -> usize {
    let state = host.sim.state();
    match what {
        Created::Messages => state.messages(account).len(),
        Created::Calls => state.calls(account).len(),
        Created::Triggers => state.usage_triggers(account).len(),
    }
}

/// The documented outcome of a case.
#[derive(Debug)]
pub enum Outcome {
    /// The call succeeds.
    Ok,
    /// The call raises an error table with these fields; `message` contains every `says`.
    Fails {
        kind: &'static str,
        status: Option<u16>,
        code: Option<i64>,
        says: &'static [&'static str],
    },
}

/// One fault, the call it hits and what must happen.
pub struct Case {
    pub call: Function,
    pub kind: FaultKind,
    pub times: u32,
    pub outcome: Outcome,
    /// Requests the host let out (each counts against `max_requests`).
    pub attempts: u32,
    /// For a POST: resources the call leaves in the simulator (`None` when the simulator acts
    /// only after the run ends, as with a stall).
    pub created: Option<usize>,
}

/// A failure with these error-table fields, whose message contains every one of `says`.
pub fn fails(
    kind: &'static str,
    status: Option<u16>,
    code: Option<i64>,
    says: &'static [&'static str],
) -> Outcome {
    Outcome::Fails {
        kind,
        status,
        code,
        says,
    }
}

/// A fault answering `status` with `body`.
pub fn status(status: u16, body: Json, retry_after: Option<u32>) -> FaultKind {
    FaultKind::Status {
        status,
        body: body.to_string(),
        retry_after,
    }
}

/// A Twilio 429 (error 20429), optionally with `Retry-After`.
pub fn too_many_requests(retry_after: Option<u32>) -> FaultKind {
    status(
        429,
        json!({"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}),
        retry_after,
    )
}

/// A Twilio-shaped 5xx error.
pub fn server_error(code: u16) -> FaultKind {
    status(
        code,
        json!({"code": 20000 + u32::from(code), "message": "Service Unavailable", "more_info": "", "status": code}),
        None,
    )
}

/// A stall much longer than the 300 ms HTTP timeout.
pub const STALL: Duration = Duration::from_secs(30);

/// Runs each case on a fresh fault queue and checks the error table, the attempts and what the
/// simulator holds.
pub async fn check(host: &TestHost, cases: Vec<Case>) {
    let account = host.account_sid();
    let seeded = host.sim.state().seeded(&account).expect("seeded account");
    for (n, case) in cases.into_iter().enumerate() {
        let label = format!("{:?} x{} on {:?}", case.kind, case.times, case.call);
        host.sim.clear_faults();
        host.sim.clear_requests();
        host.sim.inject(
            Fault::new(case.call.path(), case.kind.clone())
                .method(case.call.method())
                .times(case.times),
        );
        let created = case.call.created();
        let before = created.map(|what| count(host, &account, what));
        let report = host.run(&script(case.call, &seeded, n)).await;
        let result = value(&report);
        match case.outcome {
            Outcome::Ok => assert_eq!(result, &json!({"ok": true}), "{label}"),
            Outcome::Fails {
                kind,
                status,
                code,
                says,
            } => {
                assert_eq!(result["ok"], json!(false), "{label}: {result}");
                assert_eq!(result["kind"], json!(kind), "{label}: {result}");
                assert_eq!(result["function"], json!(case.call.function()), "{label}");
                assert_eq!(result["status"], json!(status), "{label}: {result}");
                assert_eq!(result["code"], json!(code), "{label}: {result}");
                let message = result["message"].as_str().unwrap_or_default();
                for needle in says {
                    assert!(
                        message.contains(needle),
                        "{label}: {message:?} lacks {needle:?}"
                    );
                }
                let text = result["text"].as_str().unwrap_or_default();
                assert!(text.contains(case.call.function()), "{label}: {text}");
            }
        }
        assert_eq!(report.requests, case.attempts, "{label}: attempts");
        if let (Some(what), Some(before), Some(expected)) = (created, before, case.created) {
            let after = count(host, &account, what);
            assert_eq!(after - before, expected, "{label}: {what:?} created");
        }
    }
}
