//! Reliability under failure, through the real host, component and simulator: every simulator
//! fault with the error table a script sees (`kind`, `function`, `status`, `code`), the number of
//! attempts the host let out, and what the simulator holds afterwards (a POST that may have
//! reached Twilio is never repeated, so nothing is ever created twice).

use std::time::Duration;

use serde_json::{Value as Json, json};
use twilio_e2e::twilio_host::Limits;
use twilio_e2e::twilio_sim::{Fault, FaultKind, SeededIds};
use twilio_e2e::{PeakRss, TenantSpec, TestHost, value};

/// Limits for fault tests: a short HTTP timeout, quick retries and a small response cap, so that
/// every case ends fast.
fn fault_limits() -> Limits {
    Limits {
        http_timeout: Duration::from_millis(300),
        wall: Duration::from_secs(10),
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(40),
        max_response_bytes: 256 << 10,
        ..Limits::default()
    }
}

async fn fault_host() -> TestHost {
    TestHost::with_tenants(vec![TenantSpec::new("default").limits(fault_limits())]).await
}

/// The functions the cases call, each with valid arguments.
#[derive(Clone, Copy, Debug)]
enum Function {
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
enum Created {
    Messages,
    Calls,
    Triggers,
}

impl Function {
    fn function(self) -> &'static str {
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

    fn method(self) -> &'static str {
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
    fn path(self) -> &'static str {
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
    fn args(self, seeded: &SeededIds, n: usize) -> String {
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

    fn created(self) -> Option<Created> {
        match self {
            Function::SendSms | Function::SendWhatsApp => Some(Created::Messages),
            Function::MakeCall => Some(Created::Calls),
            Function::CreateTrigger => Some(Created::Triggers),
            _ => None,
        }
    }
}

/// A script that calls `call` under `pcall` and returns `{ok = true}` or the error's fields.
fn script(call: Function, seeded: &SeededIds, n: usize) -> String {
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
fn count(host: &TestHost, account: &str, what: Created) -> usize {
    let state = host.sim.state();
    match what {
        Created::Messages => state.messages(account).len(),
        Created::Calls => state.calls(account).len(),
        Created::Triggers => state.usage_triggers(account).len(),
    }
}

/// The documented outcome of a case.
#[derive(Debug)]
enum Outcome {
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
struct Case {
    call: Function,
    kind: FaultKind,
    times: u32,
    outcome: Outcome,
    /// Requests the host let out (each counts against `max_requests`).
    attempts: u32,
    /// For a POST: resources the call leaves in the simulator (`None` when the simulator acts
    /// only after the run ends, as with a stall).
    created: Option<usize>,
}

fn fails(
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

fn status(status: u16, body: Json, retry_after: Option<u32>) -> FaultKind {
    FaultKind::Status {
        status,
        body: body.to_string(),
        retry_after,
    }
}

fn too_many_requests(retry_after: Option<u32>) -> FaultKind {
    status(
        429,
        json!({"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}),
        retry_after,
    )
}

fn server_error(code: u16) -> FaultKind {
    status(
        code,
        json!({"code": 20000 + u32::from(code), "message": "Service Unavailable", "more_info": "", "status": code}),
        None,
    )
}

/// A stall much longer than the 300 ms HTTP timeout.
const STALL: Duration = Duration::from_secs(30);

/// Runs each case on a fresh fault queue and checks the error table, the attempts and what the
/// simulator holds.
async fn check(host: &TestHost, cases: Vec<Case>) {
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

#[tokio::test(flavor = "multi_thread")]
async fn a_post_that_may_have_reached_twilio_is_never_repeated() {
    let host = fault_host().await;
    let twilio_500 = || fails("twilio", Some(500), Some(20500), &["Internal Server Error"]);
    let reset = || fails("transport", None, None, &["failed"]);
    let case = |call, kind, outcome, created| Case {
        call,
        kind,
        times: 1,
        outcome,
        attempts: 1,
        created: Some(created),
    };
    check(
        &host,
        vec![
            // Processed, then the answer is lost: one error, exactly one message.
            case(
                Function::SendSms,
                FaultKind::ProcessThenStatus { status: 500 },
                twilio_500(),
                1,
            ),
            case(
                Function::SendWhatsApp,
                FaultKind::ProcessThenStatus { status: 500 },
                twilio_500(),
                1,
            ),
            case(
                Function::MakeCall,
                FaultKind::ProcessThenStatus { status: 500 },
                twilio_500(),
                1,
            ),
            case(
                Function::SendSms,
                FaultKind::ProcessThenStatus { status: 503 },
                fails("twilio", Some(503), Some(20503), &["Service Unavailable"]),
                1,
            ),
            // Not processed: one error, nothing created.
            case(
                Function::CreateTrigger,
                server_error(500),
                fails("twilio", Some(500), Some(20500), &[]),
                0,
            ),
            case(Function::SendSms, FaultKind::ResetConnection, reset(), 0),
            case(Function::MakeCall, FaultKind::ResetConnection, reset(), 0),
            case(
                Function::SendSms,
                FaultKind::NonTwilioErrorBody { status: 502 },
                fails("twilio", Some(502), Some(502), &["502 Bad Gateway"]),
                0,
            ),
            // Processed, then the body is cut off: one error, one message.
            case(
                Function::SendWhatsApp,
                FaultKind::TruncatedBody,
                fails("transport", None, None, &[]),
                1,
            ),
            // Processed after the stall: one attempt, the timeout.
            Case {
                created: None,
                ..case(
                    Function::SendSms,
                    FaultKind::StallBeforeResponse(STALL),
                    fails("timeout", None, None, &["timed out"]),
                    0,
                )
            },
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_retried_for_every_method() {
    let host = fault_host().await;
    let rate_limited = || fails("twilio", Some(429), Some(20429), &["Too Many Requests"]);
    let case = |call, times, kind, outcome, attempts, created| Case {
        call,
        kind,
        times,
        outcome,
        attempts,
        created,
    };
    check(
        &host,
        vec![
            // 429, 429, 201: the message exists once.
            case(
                Function::SendSms,
                2,
                too_many_requests(None),
                Outcome::Ok,
                3,
                Some(1),
            ),
            case(
                Function::MakeCall,
                3,
                too_many_requests(None),
                Outcome::Ok,
                4,
                Some(1),
            ),
            case(
                Function::GetMessage,
                1,
                too_many_requests(None),
                Outcome::Ok,
                2,
                None,
            ),
            case(
                Function::Lookup,
                2,
                too_many_requests(None),
                Outcome::Ok,
                3,
                None,
            ),
            // Four 429s: three retries, then the error.
            case(
                Function::SendSms,
                4,
                too_many_requests(None),
                rate_limited(),
                4,
                Some(0),
            ),
            // A Retry-After beyond the tenant's cap ends the retries at once.
            case(
                Function::ListCalls,
                1,
                too_many_requests(Some(60)),
                rate_limited(),
                1,
                None,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_requests_are_retried_after_server_errors_and_lost_connections() {
    let host = fault_host().await;
    let ok = |call, kind| Case {
        call,
        kind,
        times: 1,
        outcome: Outcome::Ok,
        attempts: 2,
        created: None,
    };
    check(
        &host,
        vec![
            ok(Function::GetMessage, server_error(503)),
            ok(Function::ListMessages, server_error(500)),
            ok(Function::DeleteRecording, server_error(503)),
            ok(Function::GetMessage, FaultKind::ResetConnection),
            ok(Function::Lookup, FaultKind::ResetConnection),
            ok(Function::DeleteRecording, FaultKind::ResetConnection),
            ok(Function::GetCall, FaultKind::TruncatedBody),
            ok(
                Function::GetMessage,
                FaultKind::NonTwilioErrorBody { status: 502 },
            ),
            // Every attempt fails: three retries, then the last failure.
            Case {
                times: 4,
                attempts: 4,
                outcome: fails("twilio", Some(503), Some(20503), &["Service Unavailable"]),
                ..ok(Function::ListCalls, server_error(503))
            },
            Case {
                times: 4,
                attempts: 4,
                outcome: fails("transport", None, None, &["twilio_get_call failed"]),
                ..ok(Function::GetCall, FaultKind::ResetConnection)
            },
            // A 4xx is the caller's problem: never retried.
            Case {
                attempts: 1,
                outcome: fails("twilio", Some(404), Some(404), &["404 Not Found"]),
                ..ok(
                    Function::GetCall,
                    FaultKind::NonTwilioErrorBody { status: 404 },
                )
            },
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_responses_are_clear_errors_naming_the_function() {
    let host = fault_host().await;
    let case = |call, kind, outcome| Case {
        call,
        kind,
        times: 1,
        outcome,
        attempts: 1,
        created: None,
    };
    let timeout = || fails("timeout", None, None, &["timed out"]);
    check(
        &host,
        vec![
            case(
                Function::GetMessage,
                FaultKind::MalformedJson,
                fails(
                    "response",
                    Some(200),
                    None,
                    &["twilio_get_message failed", "JSON"],
                ),
            ),
            case(
                Function::ListCalls,
                FaultKind::MalformedJson,
                fails(
                    "response",
                    Some(200),
                    None,
                    &["twilio_list_calls failed", "JSON"],
                ),
            ),
            case(
                Function::GetCall,
                FaultKind::WrongContentType,
                fails(
                    "response",
                    Some(200),
                    None,
                    &["twilio_get_call failed", "not JSON"],
                ),
            ),
            case(
                Function::SendSms,
                FaultKind::WrongContentType,
                fails(
                    "response",
                    Some(200),
                    None,
                    &["expected HTTP 201, got HTTP 200"],
                ),
            ),
            case(
                Function::GetMessage,
                FaultKind::StallBeforeResponse(STALL),
                timeout(),
            ),
            case(
                Function::ListMessages,
                FaultKind::StallMidBody(STALL),
                timeout(),
            ),
            case(
                Function::DeleteRecording,
                FaultKind::StallBeforeResponse(STALL),
                timeout(),
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stall_ends_the_call_at_the_http_timeout_not_the_stall() {
    let host = fault_host().await;
    host.sim.inject(Fault::new(
        "/Messages",
        FaultKind::StallBeforeResponse(STALL),
    ));
    let seeded = host.sim.state().seeded(&host.account_sid()).unwrap();
    let report = host.run(&script(Function::GetMessage, &seeded, 0)).await;
    assert_eq!(value(&report)["kind"], json!("timeout"));
    assert!(
        report.elapsed < fault_limits().wall && report.elapsed < STALL,
        "the run ended: {:?}",
        report.elapsed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_body_is_refused_without_holding_it_in_the_host() {
    const BODY: usize = 50 << 20;
    // A generous timeout: this test is about size, not about how fast 50 MiB is built.
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(Limits {
        http_timeout: Duration::from_secs(5),
        ..fault_limits()
    })])
    .await;
    let huge = |call| Case {
        call,
        kind: FaultKind::HugeBody { bytes: BODY },
        times: 1,
        outcome: fails("response", None, None, &["too large", "bytes"]),
        attempts: 1,
        created: None,
    };
    check(&host, vec![huge(Function::GetMessage)]).await; // warm-up: pool and code in memory
    let sampler = PeakRss::start();
    check(
        &host,
        vec![
            huge(Function::GetCall),
            huge(Function::ListMessages),
            huge(Function::Lookup),
        ],
    )
    .await;
    let growth = sampler.stop();
    // The simulator, in this process, builds each 50 MiB body; the host must add nothing near it.
    assert!(
        growth < (BODY as u64 / 1024) * 3 / 2,
        "peak RSS grew by {growth} KiB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_count_against_the_runs_request_budget() {
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(Limits {
        max_requests: 2,
        ..fault_limits()
    })])
    .await;
    host.sim.inject(
        Fault::new("/Calls", server_error(503))
            .method("GET")
            .times(10),
    );
    let seeded = host.sim.state().seeded(&host.account_sid()).unwrap();
    let report = host.run(&script(Function::GetCall, &seeded, 0)).await;
    let result = value(&report);
    assert_eq!(result["kind"], json!("limit"), "{result}");
    assert_eq!(result["function"], json!("twilio_get_call"));
    assert_eq!(report.requests, 2);
    assert_eq!(host.sim.requests().len(), 2, "the third attempt never left");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_follow_each_tenants_limits() {
    let tenant = |name: &str, max_retries| {
        TenantSpec::new(name).limits(Limits {
            max_retries,
            ..fault_limits()
        })
    };
    let host =
        TestHost::with_tenants(vec![tenant("none", 0), tenant("one", 1), tenant("five", 5)]).await;
    let seeded = host.sim.state().seeded(&host.account_sid()).unwrap();
    for (name, retries) in [("none", 0), ("one", 1), ("five", 5)] {
        host.sim.clear_faults();
        host.sim
            .inject(Fault::new("/Messages", too_many_requests(None)).times(10));
        let report = host
            .run_as(name, &script(Function::SendSms, &seeded, 0))
            .await;
        assert_eq!(value(&report)["code"], json!(20429), "{name}");
        assert_eq!(report.requests, retries + 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_within_the_cap_is_honoured() {
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(Limits {
        retry_cap: Duration::from_secs(2),
        ..fault_limits()
    })])
    .await;
    host.sim
        .inject(Fault::new("/Messages", too_many_requests(Some(1))).method("POST"));
    let seeded = host.sim.state().seeded(&host.account_sid()).unwrap();
    let report = host.run(&script(Function::SendSms, &seeded, 0)).await;
    assert_eq!(value(&report), &json!({"ok": true}));
    assert_eq!(report.requests, 2);
    assert!(
        report.elapsed >= Duration::from_secs(1),
        "{:?}",
        report.elapsed
    );
}
