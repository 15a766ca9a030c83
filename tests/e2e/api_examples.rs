//! The 15 examples of the agent reference (`docs/lua-api.md`, read at test time), verbatim,
//! through the real host and component against the simulator: each one runs and prints the
//! documented fields, checked line by line against the simulator's data. The four examples with
//! placeholder SIDs refuse them verbatim (a validation error saying so, nothing sent) and run
//! once the placeholder is swapped for a real SID.

use serde_json::Value;
use twilio_e2e::twilio_sim::{EXAMPLE_TO, MAIN_NUMBER, SeededIds, SimState};
use twilio_e2e::{TestHost, is_sid, reference_examples, validation_error, value};

/// The functions, in the reference's order.
const FUNCTIONS: [&str; 15] = [
    "twilio_send_sms",
    "twilio_get_message",
    "twilio_list_messages",
    "twilio_make_call",
    "twilio_get_call",
    "twilio_list_calls",
    "twilio_list_phone_numbers",
    "twilio_get_phone_number",
    "twilio_lookup_phone",
    "twilio_create_usage_trigger",
    "twilio_list_usage_records",
    "twilio_send_whatsapp",
    "twilio_get_account",
    "twilio_list_recordings",
    "twilio_delete_recording",
];

/// An example whose SID is the documentation's placeholder: the function, the field, the
/// placeholder, and which seeded SID replaces it.
struct Placeholder {
    function: &'static str,
    field: &'static str,
    placeholder: &'static str,
    real: fn(&SeededIds) -> String,
}

const PLACEHOLDERS: [Placeholder; 4] = [
    Placeholder {
        function: "twilio_get_message",
        field: "message_sid",
        placeholder: "SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        real: |ids| ids.message_sids[0].clone(),
    },
    Placeholder {
        function: "twilio_get_call",
        field: "call_sid",
        placeholder: "CAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        real: |ids| ids.completed_call_sids[0].clone(),
    },
    Placeholder {
        function: "twilio_get_phone_number",
        field: "phone_sid",
        placeholder: "PNxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        real: |ids| ids.phone_number_sids[0].clone(),
    },
    Placeholder {
        function: "twilio_delete_recording",
        field: "recording_sid",
        placeholder: "RExxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        real: |ids| ids.recording_sids[0].clone(),
    },
];

/// The verbatim example of `function`.
fn example(function: &str) -> String {
    reference_examples()
        .into_iter()
        .find(|(name, _)| name == function)
        .map(|(_, code)| code)
        .unwrap_or_else(|| panic!("no example for {function}"))
}

/// Runs the example of `function` (its placeholder SID, if any, replaced by a real one) and
/// returns the lines it printed; it must succeed.
async fn printed_lines(host: &TestHost, function: &str) -> Vec<String> {
    let mut code = example(function);
    if let Some(p) = PLACEHOLDERS.iter().find(|p| p.function == function) {
        assert!(code.contains(p.placeholder), "{code}");
        code = code.replace(p.placeholder, &(p.real)(&host.seeded()));
    }
    let report = host.run(&code).await;
    value(&report);
    assert!(report.requests > 0, "{function} made no request");
    report.printed.lines().map(str::to_string).collect()
}

/// The resource of `list` whose `sid` is `sid`.
fn find(list: Vec<Value>, sid: &str) -> Value {
    list.into_iter()
        .find(|item| item["sid"] == sid)
        .unwrap_or_else(|| panic!("{sid} not in the simulator"))
}

/// A string field of a resource (numbers Twilio sends as strings included).
fn text(resource: &Value, field: &str) -> String {
    resource[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {resource}"))
        .to_string()
}

#[test]
fn the_reference_has_one_example_per_function_in_order() {
    let names: Vec<String> = reference_examples()
        .into_iter()
        .map(|(name, code)| {
            assert!(
                code.contains(&format!("app.integrations.twilio.{name}(")),
                "{name}: {code}"
            );
            assert!(code.contains("print("), "{name} prints nothing: {code}");
            name
        })
        .collect();
    assert_eq!(names, FUNCTIONS);
}

#[tokio::test(flavor = "multi_thread")]
async fn placeholder_examples_fail_verbatim_with_a_validation_error() {
    let host = TestHost::start().await;
    for p in &PLACEHOLDERS {
        let (report, requests) = host.run_recorded(&example(p.function)).await;
        let message = validation_error(&report, p.function, p.field);
        for part in [
            p.function,
            p.field,
            p.placeholder,
            "is the documentation's placeholder",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
        assert!(report.printed.is_empty(), "{}", report.printed);
        assert!(requests.is_empty(), "{}: {requests:?}", p.function);
    }
}

/// What a create example prints and which simulator list the new resource lands in.
struct Created {
    function: &'static str,
    label: &'static str,
    prefix: &'static str,
    stored: fn(&SimState, &str) -> Vec<Value>,
    to: &'static str,
    from: &'static str,
}

#[tokio::test(flavor = "multi_thread")]
async fn create_examples_print_the_new_sid_and_status() {
    let host = TestHost::start().await;
    let account = host.account_sid();
    let cases = [
        Created {
            function: "twilio_send_sms",
            label: "Message SID",
            prefix: "SM",
            stored: SimState::messages,
            to: EXAMPLE_TO,
            from: MAIN_NUMBER,
        },
        Created {
            function: "twilio_make_call",
            label: "Call SID",
            prefix: "CA",
            stored: SimState::calls,
            to: EXAMPLE_TO,
            from: MAIN_NUMBER,
        },
        Created {
            function: "twilio_send_whatsapp",
            label: "Message SID",
            prefix: "SM",
            stored: SimState::messages,
            to: "whatsapp:+15551234567",
            from: "whatsapp:+15559876543",
        },
    ];
    for case in cases {
        let lines = printed_lines(&host, case.function).await;
        let newest = (case.stored)(host.sim.state(), &account)
            .pop()
            .expect("a stored resource");
        let sid = text(&newest, "sid");
        assert!(is_sid(&sid, case.prefix), "{sid}");
        assert_eq!(
            lines,
            [format!("{}: {sid}", case.label), "Status: queued".into()],
            "{}",
            case.function
        );
        assert_eq!(newest["to"], case.to, "{newest}");
        assert_eq!(newest["from"], case.from, "{newest}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_examples_print_the_fields_of_the_real_sid() {
    let host = TestHost::start().await;
    let account = host.account_sid();
    let ids = host.seeded();
    let state = host.sim.state();

    let message = find(state.messages(&account), &ids.message_sids[0]);
    assert_eq!(
        printed_lines(&host, "twilio_get_message").await,
        [
            format!("Status: {}", text(&message, "status")),
            format!("Body: {}", text(&message, "body")),
        ]
    );
    assert_eq!(message["status"], "delivered");

    let call = find(state.calls(&account), &ids.completed_call_sids[0]);
    let duration = text(&call, "duration");
    assert!(duration.parse::<u32>().is_ok_and(|d| d > 0), "{duration}");
    assert_eq!(
        printed_lines(&host, "twilio_get_call").await,
        [
            "Status: completed".to_string(),
            format!("Duration: {duration} seconds")
        ]
    );

    assert_eq!(
        printed_lines(&host, "twilio_get_phone_number").await,
        [format!("{MAIN_NUMBER} — Main Line")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_recording_example_prints_deleted_and_the_recording_is_gone() {
    let host = TestHost::start().await;
    let account = host.account_sid();
    let gone = host.seeded().recording_sids[0].clone();
    let before = host.sim.state().recordings(&account).len();
    assert_eq!(
        printed_lines(&host, "twilio_delete_recording").await,
        ["Deleted: true"]
    );
    let after = host.sim.state().recordings(&account);
    assert_eq!(after.len(), before - 1);
    assert!(after.iter().all(|r| r["sid"] != gone.as_str()));
}

/// Newest first, as Twilio lists (the simulator's state lists oldest first).
fn newest_first(mut items: Vec<Value>) -> Vec<Value> {
    items.reverse();
    items
}

#[tokio::test(flavor = "multi_thread")]
async fn list_examples_print_a_line_per_listed_item() {
    let host = TestHost::start().await;
    let account = host.account_sid();
    let state = host.sim.state();

    let messages: Vec<String> = newest_first(state.messages(&account))
        .iter()
        .filter(|m| m["to"] == EXAMPLE_TO)
        .take(10)
        .map(|m| {
            let [sid, status, body] = ["sid", "status", "body"].map(|f| text(m, f));
            format!("{sid} — {status}: {body}")
        })
        .collect();
    assert_eq!(messages.len(), 2, "the seeded messages to {EXAMPLE_TO}");
    assert_eq!(printed_lines(&host, "twilio_list_messages").await, messages);

    let calls: Vec<String> = newest_first(state.calls(&account))
        .iter()
        .filter(|c| c["status"] == "completed")
        .take(10)
        .map(|c| format!("{} — completed ({}s)", text(c, "sid"), text(c, "duration")))
        .collect();
    assert_eq!(calls.len(), 10);
    assert_eq!(printed_lines(&host, "twilio_list_calls").await, calls);

    assert_eq!(
        printed_lines(&host, "twilio_list_phone_numbers").await,
        [
            "+15559876543 (Main Line)",
            "+15005550006 (Magic Test Number)",
            "+15557654321 (Support Line)",
            "+18885550123 (Toll-Free Line)",
        ]
    );

    let recordings: Vec<String> = newest_first(state.recordings(&account))
        .iter()
        .take(10)
        .map(|r| format!("{} — {}s — completed", text(r, "sid"), text(r, "duration")))
        .collect();
    assert_eq!(recordings.len(), 10);
    assert_eq!(
        printed_lines(&host, "twilio_list_recordings").await,
        recordings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_records_example_prints_the_january_sms_total() {
    let host = TestHost::start().await;
    let lines = printed_lines(&host, "twilio_list_usage_records").await;
    assert_eq!(lines.len(), 1, "one record for the whole range: {lines:?}");
    let rest = lines[0].strip_prefix("sms: ").expect("the sms category");
    let (count, price) = rest
        .strip_suffix(" usd)")
        .and_then(|r| r.split_once(" ("))
        .unwrap_or_else(|| panic!("{rest}"));
    let count: u64 = count.parse().expect("an integer count");
    // 31 days of 5 to 24 messages a day, at $0.0079 each.
    assert!((31 * 5..=31 * 24).contains(&count), "{count}");
    let price: f64 = price.parse().expect("a decimal price");
    assert!(
        (price.abs() - count as f64 * 0.0079).abs() < 0.01,
        "{price}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_trigger_and_account_examples_print_their_fields() {
    let host = TestHost::start().await;
    assert_eq!(
        printed_lines(&host, "twilio_lookup_phone").await,
        ["Valid: true", "Country: US"]
    );

    let lines = printed_lines(&host, "twilio_create_usage_trigger").await;
    let triggers = host.sim.state().usage_triggers(&host.account_sid());
    let [trigger] = triggers.as_slice() else {
        panic!("one trigger: {triggers:?}")
    };
    let sid = text(trigger, "sid");
    assert!(is_sid(&sid, "UT"), "{sid}");
    assert_eq!(
        lines,
        [
            format!("Trigger SID: {sid}"),
            format!("Current value: {}", text(trigger, "current_value")),
        ]
    );
    assert_eq!(trigger["trigger_value"], "50.00");
    assert_eq!(trigger["recurring"], "monthly");

    assert_eq!(
        printed_lines(&host, "twilio_get_account").await,
        [
            "Account: Twilio Simulator Test Account",
            "Status: active",
            "Type: Full"
        ]
    );
}
