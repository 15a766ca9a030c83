//! Reliability under failure, through the real host, component and simulator: every simulator
//! fault with the error table a script sees (`kind`, `function`, `status`, `code`), the number of
//! attempts the host let out, and what the simulator holds afterwards (a POST that may have
//! reached Twilio is never repeated, so nothing is ever created twice).

use std::time::Duration;

use serde_json::json;
use twilio_e2e::fault_cases::*;
use twilio_e2e::twilio_host::Limits;
use twilio_e2e::twilio_sim::{Fault, FaultKind};
use twilio_e2e::{TenantSpec, TestHost, value};

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
                fails(
                    "twilio",
                    Some(502),
                    Some(502),
                    &["withheld a text/html answer", "not JSON"],
                ),
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
                outcome: fails(
                    "twilio",
                    Some(404),
                    Some(404),
                    &["withheld a text/html answer", "not JSON"],
                ),
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

/// A request with a body over the budget: the host refuses it without reading the body, and the
/// script learns that it hit a limit (not that the body could not be written).
#[tokio::test(flavor = "multi_thread")]
async fn a_send_over_the_request_budget_is_a_limit_error() {
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(Limits {
        max_requests: 2,
        ..fault_limits()
    })])
    .await;
    let report = host
        .run(
            r#"local t = app.integrations.twilio
               for i = 1, 3 do
                 local ok, err = pcall(t.twilio_send_sms, {to = "+15551234567", from = "+15559876543", body = "n" .. i})
                 if not ok then return {i = i, kind = err.kind, message = err.message} end
               end"#,
        )
        .await;
    let result = value(&report);
    assert_eq!(result["i"], json!(3), "{result}");
    assert_eq!(result["kind"], json!("limit"), "{result}");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("budget of outbound requests"),
        "{result}"
    );
    assert_eq!(host.sim.requests().len(), 2, "the third send never left");
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

/// An SMS sent by a tenant with `limits`, whose first POST Twilio answers with 429 and
/// `Retry-After: retry_after` seconds.
async fn send_after_one_429(
    limits: Limits,
    retry_after: u32,
) -> twilio_e2e::twilio_host::RunReport {
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(limits)]).await;
    host.sim
        .inject(Fault::new("/Messages", too_many_requests(Some(retry_after))).method("POST"));
    let seeded = host.sim.state().seeded(&host.account_sid()).unwrap();
    host.run(&script(Function::SendSms, &seeded, 0)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_within_the_cap_is_honoured() {
    let limits = Limits {
        retry_cap: Duration::from_secs(2),
        ..fault_limits()
    };
    let report = send_after_one_429(limits, 1).await;
    assert_eq!(value(&report), &json!({"ok": true}));
    assert_eq!(report.requests, 2);
    assert!(
        report.elapsed >= Duration::from_secs(1),
        "{:?}",
        report.elapsed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_trickles_in_ends_within_the_http_timeout() {
    // Each byte comes within the between-bytes timeout (300 ms), but the whole body would
    // take minutes: the request's total deadline (the same 300 ms) ends it.
    let host = fault_host().await;
    host.sim.inject(
        Fault::new(
            "/Accounts/",
            FaultKind::TrickleBody(Duration::from_millis(100)),
        )
        .method("GET"),
    );
    let seeded = host.sim.state().seeded(&host.account_sid()).unwrap();
    let report = host.run(&script(Function::GetMessage, &seeded, 0)).await;
    let error = value(&report);
    assert_eq!(error["kind"], json!("timeout"), "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("HttpResponseTimeout"),
        "{error}"
    );
    assert_eq!(report.requests, 1, "a timeout is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_past_the_runs_wall_time_ends_the_retries_at_once() {
    // The cap would allow a 3 s wait, but the run has 2 s in all: no waiting, one request,
    // and the error says why.
    let limits = Limits {
        retry_cap: Duration::from_secs(5),
        wall: Duration::from_secs(2),
        ..fault_limits()
    };
    let report = send_after_one_429(limits, 3).await;
    let error = value(&report);
    assert_eq!(error["code"], json!(20429), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("not retried: the next try would have to wait 3000 ms")
            && message.contains("ms this run has left"),
        "{message}"
    );
    assert_eq!(report.requests, 1);
    assert!(
        report.elapsed < Duration::from_secs(2),
        "{:?}",
        report.elapsed
    );
}
