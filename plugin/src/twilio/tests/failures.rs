//! Twilio error bodies, transport failures, malformed responses and retries.

use super::*;

const SEND: &str = r#"return app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "hi"})"#;

fn twilio_body(code: i64, status: u16, message: &str) -> String {
    json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status})
        .to_string()
}

#[test]
fn twilio_error_bodies_become_twilio_errors() {
    let cases = [
        (401, 20003, "Authenticate"),
        (
            404,
            20404,
            "The requested resource /2010-04-01/Accounts/AC/Messages.json was not found",
        ),
        (
            400,
            21211,
            "The 'To' number 5551234567 is not a valid phone number.",
        ),
        (
            400,
            21608,
            "The number +15551234567 is unverified. Trial accounts cannot send messages to unverified numbers",
        ),
        (429, 20429, "Too Many Requests"),
    ];
    for (status, code, text) in cases {
        let fake = fake_always(status, &twilio_body(code, status, text));
        let failure = fails(SEND, &fake);
        let error = error_value(&failure);
        let link = format!("https://www.twilio.com/docs/errors/{code}");
        assert_eq!(
            error,
            json!({"kind": "twilio", "function": "twilio_send_sms", "status": status, "code": code,
                   "message": text, "more_info": link})
        );
        let expected = format!(
            "twilio_send_sms failed: HTTP {status}, Twilio error {code}: {text} (see {link})"
        );
        assert!(
            failure.message.starts_with(&expected),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("Hint: "), "{}", failure.message);
        let attempts = if status == 429 { 4 } else { 1 };
        assert_eq!(fake.requests().len(), attempts, "{code}");
    }
}

#[test]
fn a_body_that_is_not_twilio_shaped_gives_the_status_as_code() {
    let fake = fake_always(502, "<html><body>Bad Gateway</body></html>");
    let error = error_value(&fails(
        &format!(r#"return app.integrations.twilio.twilio_get_call({{call_sid = "CA{HEX}"}})"#),
        &fake,
    ));
    assert_eq!(error["kind"], "twilio");
    assert_eq!(error["code"], 502);
    assert_eq!(error["status"], 502);
    assert!(error["message"].as_str().unwrap().contains("Bad Gateway"));
    assert_eq!(fake.requests().len(), 4, "a GET is retried on 5xx");

    let failure = fails(SEND, &fake_always(503, ""));
    assert_eq!(
        failure.message,
        "twilio_send_sms failed: HTTP 503: the response body is empty"
    );
    let failure = fails(
        SEND,
        &fake_always(400, r#"{"message": "Bad things", "status": 400}"#),
    );
    assert_eq!(error_value(&failure)["code"], 400);
    assert_eq!(
        failure.message,
        "twilio_send_sms failed: HTTP 400: Bad things"
    );
}

#[test]
fn malformed_responses_are_response_errors() {
    let next_page = |next: &str| {
        let mut envelope = page("calls", vec![call(&format!("CA{HEX}"))]);
        envelope["next_page_uri"] = json!(next);
        envelope.to_string()
    };
    // Another account's list, and the list's own path with a space and a fragment.
    let other_list = next_page(&format!(
        "/2010-04-01/Accounts/{WORK_SID}/Calls.json?Page=1"
    ));
    let unsendable_page = next_page(&format!(
        "/2010-04-01/Accounts/{DEFAULT_SID}/Calls.json?Page=1 #x"
    ));
    let get = format!(
        r#"return app.integrations.twilio.twilio_get_message({{message_sid = "SM{HEX}"}})"#
    );
    let cases = [
        (
            SEND,
            200,
            r#"{"sid": "SM"}"#,
            "expected HTTP 201, got HTTP 200",
        ),
        (
            get.as_str(),
            200,
            "<TwilioResponse/>",
            "the body is not JSON: <TwilioResponse/>",
        ),
        (get.as_str(), 200, r#"{"sid": "SM01"#, "cut short"),
        (get.as_str(), 200, "[1, 2]", "not an object"),
        (get.as_str(), 302, "", "expected HTTP 200, got HTTP 302"),
        (
            "return app.integrations.twilio.twilio_list_calls()",
            200,
            r#"{"messages": []}"#,
            "no \"calls\" array",
        ),
        (
            "return app.integrations.twilio.twilio_list_calls()",
            200,
            &other_list,
            "\"next_page_uri\" is not a page of this list: /2010-04-01/Accounts/ACbbb",
        ),
        (
            "return app.integrations.twilio.twilio_list_calls()",
            200,
            &unsendable_page,
            "not a page of this list",
        ),
    ];
    for (script, status, body, needle) in cases {
        let failure = fails(script, &fake_always(status, body));
        let error = error_value(&failure);
        assert_eq!(error["kind"], "response", "{script}");
        assert_eq!(error["status"], status);
        let text = error["message"].as_str().unwrap();
        assert!(text.starts_with("twilio_"), "{text}");
        assert!(
            text.contains(&format!("HTTP {status}")) && text.contains(needle),
            "{text}"
        );
    }
}

#[test]
fn transport_failures_have_their_own_kinds() {
    let cases = [
        (
            TransportError::Denied("api.evil.test is not allowed".into()),
            "denied",
            1,
        ),
        (TransportError::Timeout("after 30 s".into()), "timeout", 1),
        (TransportError::Connection("refused".into()), "transport", 4),
        (TransportError::Other("broken".into()), "transport", 1),
        (
            TransportError::Limit("50 requests per run".into()),
            "limit",
            1,
        ),
        (
            TransportError::TooLarge("over 10 MiB".into()),
            "response",
            1,
        ),
    ];
    for (error, kind, attempts) in cases {
        let detail = error.to_string();
        let fake = Recorder::new(move |_| Err(error.clone()));
        let failure = fails(
            "return app.integrations.twilio.twilio_list_messages({limit = 1})",
            &fake,
        );
        let value = error_value(&failure);
        assert_eq!(value["kind"], kind);
        assert_eq!(value["function"], "twilio_list_messages");
        assert_eq!(
            value["message"],
            format!("twilio_list_messages failed: {detail}")
        );
        assert_eq!(
            failure.message,
            format!("twilio_list_messages failed: {detail}")
        );
        assert_eq!(fake.requests().len(), attempts, "{kind}");
    }
}

#[test]
fn a_post_is_never_repeated_after_a_server_error_or_connection_failure() {
    let fake = fake_always(500, &twilio_body(20500, 500, "Internal Server Error"));
    fails(SEND, &fake);
    assert_eq!(fake.requests().len(), 1);
    let fake = Recorder::new(|_| Err(TransportError::Connection("reset".into())));
    assert_eq!(error_value(&fails(SEND, &fake))["kind"], "transport");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn a_retried_get_succeeds_and_waits_with_backoff() {
    let attempts = Rc::new(RefCell::new(0));
    let counter = Rc::clone(&attempts);
    let fake = Recorder::new(move |request| {
        *counter.borrow_mut() += 1;
        Ok(match *counter.borrow() {
            1 => response(503, "unavailable"),
            2 => HttpResponse {
                headers: vec![("retry-after".into(), "1".into())],
                ..response(429, &twilio_body(20429, 429, "Too Many Requests"))
            },
            _ => twilio_like(request),
        })
    });
    let waits = Rc::new(RefCell::new(Vec::new()));
    let transport: Rc<dyn Transport> = fake.clone();
    let policy = quick_retries(Rc::clone(&waits));
    let output = runner::run_collecting_output(
        &format!(r#"return app.integrations.twilio.twilio_get_call({{call_sid = "CA{HEX}"}}).sid"#),
        Limits {
            memory_bytes: 64 << 20,
            instructions: 100_000_000,
        },
        |lua| super::super::namespace::bind(lua, two_accounts(), Client::new(transport, policy)),
    );
    assert_eq!(output.outcome, Ok(format!("\"CA{HEX}\"")));
    assert_eq!(*attempts.borrow(), 3);
    assert_eq!(
        *waits.borrow(),
        vec![Duration::from_millis(50), Duration::from_secs(1)]
    );
}

#[test]
fn errors_are_catchable_tables_with_a_readable_tostring() {
    let fake = fake_always(
        400,
        &twilio_body(21211, 400, "The 'To' number is not valid."),
    );
    let result = ok(
        &format!(
            r#"local ok, err = pcall(function() {} end)
               return {{ok = ok, kind = err.kind, code = err.code, text = tostring(err), type = type(err)}}"#,
            SEND.trim_start_matches("return ")
        ),
        &fake,
    );
    assert_eq!(result["ok"], false);
    assert_eq!(result["kind"], "twilio");
    assert_eq!(result["code"], 21211);
    assert_eq!(result["type"], "table");
    assert!(
        result["text"]
            .as_str()
            .unwrap()
            .starts_with("twilio_send_sms failed: HTTP 400, Twilio error 21211")
    );
}

#[test]
fn an_uncaught_error_ends_the_run_at_the_scripts_line() {
    let failure = fails(
        "local x = 1\n\nlocal r = app.integrations.twilio.twilio_send_sms({to = 'nope'})\nreturn r",
        &fake_twilio(),
    );
    assert!(
        failure.message.starts_with("twilio_send_sms: "),
        "{}",
        failure.message
    );
    let traceback = failure.traceback.unwrap_or_default();
    assert!(traceback.contains("script:3:"), "{traceback}");
}

#[test]
fn nothing_is_sent_once_the_script_has_ended() {
    const FINALIZER: &str = r#"
        setmetatable({}, {__gc = function()
            app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "late"})
        end})
    "#;
    // While the script runs, a finalizer is part of it: its call goes out.
    let fake = fake_twilio();
    let during = format!("{FINALIZER} collectgarbage() collectgarbage() return 1");
    assert_eq!(
        run_with(&during, two_accounts(), &fake).outcome,
        Ok("1".into())
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "the finalizer ran during the script"
    );
    // After it returned, while the state closes, the same call sends nothing.
    let fake = fake_twilio();
    let after = format!("{FINALIZER} return 1");
    assert_eq!(
        run_with(&after, two_accounts(), &fake).outcome,
        Ok("1".into())
    );
    assert_eq!(fake.requests().len(), 0, "nothing after the script ended");
}

/// Where the Lua state is closed (natively, or in a component instance that runs twice), the
/// finalizers of globals run while mlua is tearing the state down: a callback that touched a
/// Lua value then would panic (mlua catches that natively; in the component it aborts the
/// plugin). Every callback must return before that.
#[test]
fn callbacks_from_finalizers_while_the_state_closes_do_not_panic() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS_ON_THIS_TEST: AtomicUsize = AtomicUsize::new(0);
    let test_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == test_thread {
            PANICS_ON_THIS_TEST.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    let calls = [
        "print('late')",
        "app.integrations.twilio.help()",
        "tostring(app.integrations.twilio.default)",
        "local x = app.integrations.twilio.nothing",
        "app.integrations.twilio.twilio_send_sms({to = '+15551234567', from = '+15559876543', body = 'late'})",
    ];
    for call in calls {
        let fake = fake_twilio();
        let script =
            format!("keep = setmetatable({{}}, {{__gc = function() {call} end}}) return 1");
        let output = run_with(&script, two_accounts(), &fake);
        assert_eq!(output.outcome, Ok("1".into()), "{call}");
        assert_eq!(output.printed, "", "{call}");
        assert!(fake.requests().is_empty(), "{call}");
    }
    let _ = std::panic::take_hook();
    assert_eq!(PANICS_ON_THIS_TEST.load(Ordering::SeqCst), 0);
}
