//! What reaches Twilio: for each of the 15 functions, the exact method, host, path, query and form
//! parameters the simulator received, with Basic auth for the right account and no internal
//! account header; WhatsApp prefixes, `+` and non-ASCII encoding; delete results; and
//! pagination by following `next_page_uri` verbatim.

use serde_json::{Value, json};
use twilio_e2e::twilio_host::ACCOUNT_HEADER;
use twilio_e2e::twilio_sim::{MAIN_NUMBER, RecordedRequest, SeededIds};
use twilio_e2e::{TestHost, header, sim_get, value};

/// One call and the request it must produce.
pub(crate) struct Case {
    /// The call, after `app.integrations.twilio.`; `{msg}`, `{call}`, `{pn}`, `{rec}`,
    /// `{rec_call}` and `{account}` stand for seeded SIDs.
    pub(crate) call: &'static str,
    method: &'static str,
    /// Whether it goes to the Lookup listener.
    lookups: bool,
    /// The path; `{A}` is `/2010-04-01/Accounts/{account}`.
    path: &'static str,
    query: &'static [Pair],
    form: &'static [Pair],
    /// The status the simulator answered.
    status: u16,
}

const TO: &str = "+15551234567";

/// A GET of one resource.
const fn fetch(call: &'static str, path: &'static str) -> Case {
    Case {
        call,
        method: "GET",
        lookups: false,
        path,
        query: &[],
        form: &[],
        status: 200,
    }
}

/// A GET with a query (a list, or a Lookup with `Fields`).
const fn query(call: &'static str, path: &'static str, query: &'static [Pair]) -> Case {
    Case {
        query,
        ..fetch(call, path)
    }
}

/// A POST creating a resource from a form.
const fn create(call: &'static str, path: &'static str, form: &'static [Pair]) -> Case {
    Case {
        method: "POST",
        form,
        status: 201,
        ..fetch(call, path)
    }
}

type Pair = (&'static str, &'static str);

/// Every function, some twice, each making exactly one request.
pub(crate) const CASES: &[Case] = &[
    create(
        r#"twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "Hi"})"#,
        "{A}/Messages.json",
        &[("To", TO), ("From", MAIN_NUMBER), ("Body", "Hi")],
    ),
    create(
        r#"twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "Pic",
            media_url = "https://example.com/cat.png", status_callback = "https://example.com/status"})"#,
        "{A}/Messages.json",
        &[
            ("To", TO),
            ("From", MAIN_NUMBER),
            ("Body", "Pic"),
            ("MediaUrl", "https://example.com/cat.png"),
            ("StatusCallback", "https://example.com/status"),
        ],
    ),
    fetch(
        r#"twilio_get_message({message_sid = "{msg}"})"#,
        "{A}/Messages/{msg}.json",
    ),
    query(
        r#"twilio_list_messages({to = "+15551234567", from = "+15559876543",
            date_sent = "2026-01-10", limit = 5})"#,
        "{A}/Messages.json",
        &[
            ("To", TO),
            ("From", MAIN_NUMBER),
            ("DateSent", "2026-01-10"),
            ("PageSize", "5"),
        ],
    ),
    create(
        r#"twilio_make_call({to = "+15551234567", from = "+15559876543",
            url = "https://example.com/twiml", status_callback = "https://example.com/status"})"#,
        "{A}/Calls.json",
        &[
            ("To", TO),
            ("From", MAIN_NUMBER),
            ("Url", "https://example.com/twiml"),
            ("StatusCallback", "https://example.com/status"),
        ],
    ),
    create(
        r#"twilio_make_call({to = "+15551234567", from = "+15559876543",
            twiml = "<Response><Say>Hi</Say></Response>"})"#,
        "{A}/Calls.json",
        &[
            ("To", TO),
            ("From", MAIN_NUMBER),
            ("Twiml", "<Response><Say>Hi</Say></Response>"),
        ],
    ),
    fetch(
        r#"twilio_get_call({call_sid = "{call}"})"#,
        "{A}/Calls/{call}.json",
    ),
    query(
        r#"twilio_list_calls({to = "+15551234567", from = "+15559876543",
            status = "completed", page_size = 20})"#,
        "{A}/Calls.json",
        &[
            ("To", TO),
            ("From", MAIN_NUMBER),
            ("Status", "completed"),
            ("PageSize", "20"),
        ],
    ),
    query(
        "twilio_list_phone_numbers({})",
        "{A}/IncomingPhoneNumbers.json",
        &[("PageSize", "50")],
    ),
    query(
        "twilio_list_phone_numbers({limit = 2})",
        "{A}/IncomingPhoneNumbers.json",
        &[("PageSize", "2")],
    ),
    fetch(
        r#"twilio_get_phone_number({phone_sid = "{pn}"})"#,
        "{A}/IncomingPhoneNumbers/{pn}.json",
    ),
    Case {
        lookups: true,
        ..query(
            r#"twilio_lookup_phone({phone_number = "+15551234567",
                fields = "line_type_intelligence,caller_name"})"#,
            "/v2/PhoneNumbers/+15551234567",
            &[("Fields", "line_type_intelligence,caller_name")],
        )
    },
    Case {
        lookups: true,
        ..fetch(
            r#"twilio_lookup_phone({phone_number = "+15551234567"})"#,
            "/v2/PhoneNumbers/+15551234567",
        )
    },
    create(
        r#"twilio_create_usage_trigger({usage_category = "sms", trigger_value = "+30",
            callback_url = "https://example.com/cb", recurring = "daily"})"#,
        "{A}/Usage/Triggers.json",
        &[
            ("UsageCategory", "sms"),
            ("TriggerValue", "+30"),
            ("CallbackUrl", "https://example.com/cb"),
            ("Recurring", "daily"),
        ],
    ),
    query(
        r#"twilio_list_usage_records({category = "calls", start_date = "2026-01-01",
            end_date = "2026-01-31", limit = 3})"#,
        "{A}/Usage/Records.json",
        &[
            ("Category", "calls"),
            ("StartDate", "2026-01-01"),
            ("EndDate", "2026-01-31"),
            ("PageSize", "3"),
        ],
    ),
    create(
        r#"twilio_send_whatsapp({to = "+15551234567", from = "+15559876543", body = "Hola",
            media_url = "https://example.com/a.jpg"})"#,
        "{A}/Messages.json",
        &[
            ("To", "whatsapp:+15551234567"),
            ("From", "whatsapp:+15559876543"),
            ("Body", "Hola"),
            ("MediaUrl", "https://example.com/a.jpg"),
        ],
    ),
    fetch("twilio_get_account({})", "{A}.json"),
    fetch(r#"twilio_get_account({sid = "{account}"})"#, "{A}.json"),
    query(
        r#"twilio_list_recordings({call_sid = "{rec_call}", date_created = "2026-01-03",
            limit = 10})"#,
        "{A}/Recordings.json",
        &[
            ("CallSid", "{rec_call}"),
            ("DateCreated", "2026-01-03"),
            ("PageSize", "10"),
        ],
    ),
    Case {
        method: "DELETE",
        status: 204,
        ..fetch(
            r#"twilio_delete_recording({recording_sid = "{rec}"})"#,
            "{A}/Recordings/{rec}.json",
        )
    },
];

/// `text` with the `{...}` stand-ins replaced by SIDs of `account`.
pub(crate) fn fill(text: &str, account: &str, ids: &SeededIds) -> String {
    text.replace("{A}", &format!("/2010-04-01/Accounts/{account}"))
        .replace("{account}", account)
        .replace("{msg}", &ids.message_sids[0])
        .replace("{call}", &ids.call_sids[0])
        .replace("{rec_call}", &ids.completed_call_sids[0])
        .replace("{pn}", &ids.phone_number_sids[0])
        .replace("{rec}", &ids.recording_sids[0])
}

/// Parameter pairs as the simulator records them.
fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `list` with its stand-ins filled in.
fn pairs(list: &[(&str, &str)], account: &str, ids: &SeededIds) -> Vec<(String, String)> {
    owned(list)
        .into_iter()
        .map(|(k, v)| (k, fill(&v, account, ids)))
        .collect()
}

/// Runs `return app.integrations.twilio.<call>`; its result and the one request it made.
async fn one_request(host: &TestHost, call: &str) -> (Value, RecordedRequest) {
    let (report, mut requests) = host
        .run_recorded(&format!("return app.integrations.twilio.{call}"))
        .await;
    let result = value(&report).clone();
    assert_eq!(requests.len(), 1, "{call}: {requests:#?}");
    (result, requests.remove(0))
}

/// Checks the credentials and headers every request to the simulator must carry.
fn assert_authenticated_as(request: &RecordedRequest, account: &str) {
    assert_eq!(request.auth_user.as_deref(), Some(account), "{request:#?}");
    let authorization = header(request, "authorization").expect("an Authorization header");
    assert!(authorization.starts_with("Basic "), "{authorization}");
    assert!(header(request, ACCOUNT_HEADER).is_none(), "{request:#?}");
    assert!(
        request
            .headers
            .iter()
            .all(|(name, _)| !name.starts_with("x-twilio")),
        "{request:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_sends_exactly_the_documented_request() {
    let host = TestHost::start().await;
    let account = host.account_sid();
    let ids = host.seeded();
    let api_host = host.sim.api_url().replace("http://", "");
    let lookups_host = host.sim.lookups_url().replace("http://", "");
    let mut covered = std::collections::BTreeSet::new();
    for case in CASES {
        let call = fill(case.call, &account, &ids);
        let (_, request) = one_request(&host, &call).await;
        let context = format!("{call}: {request:#?}");
        assert_eq!(request.method, case.method, "{context}");
        let expected_host = if case.lookups {
            &lookups_host
        } else {
            &api_host
        };
        assert_eq!(&request.host, expected_host, "{context}");
        assert_eq!(request.path, fill(case.path, &account, &ids), "{context}");
        assert_eq!(
            request.query,
            pairs(case.query, &account, &ids),
            "{context}"
        );
        assert_eq!(
            request.raw_query.is_some(),
            !case.query.is_empty(),
            "{context}"
        );
        assert_eq!(request.form, pairs(case.form, &account, &ids), "{context}");
        assert_eq!(request.status, case.status, "{context}");
        let content_type = header(&request, "content-type");
        if case.method == "POST" {
            assert_eq!(content_type, Some("application/x-www-form-urlencoded"));
        } else {
            assert_eq!(content_type, None, "{context}");
        }
        assert_authenticated_as(&request, &account);
        covered.insert(call.split('(').next().unwrap().to_string());
    }
    assert_eq!(covered.len(), 15, "{covered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_numbers_are_prefixed_exactly_once() {
    let host = TestHost::start().await;
    for (to, from) in [
        ("+15551234567", "+15559876543"),
        ("whatsapp:+15551234567", "whatsapp:+15559876543"),
        ("WhatsApp:+15551234567", "+15559876543"),
    ] {
        let call =
            format!(r#"twilio_send_whatsapp({{to = "{to}", from = "{from}", body = "Hi"}})"#);
        let (result, request) = one_request(&host, &call).await;
        assert_eq!(
            request.form,
            owned(&[
                ("To", "whatsapp:+15551234567"),
                ("From", "whatsapp:+15559876543"),
                ("Body", "Hi"),
            ]),
            "{call}"
        );
        assert_eq!(result["to"], "whatsapp:+15551234567", "{result}");
        assert_eq!(result["from"], "whatsapp:+15559876543", "{result}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leading_plus_and_non_ascii_text_survive_encoding() {
    let host = TestHost::start().await;
    let (trigger, request) = one_request(
        &host,
        r#"twilio_create_usage_trigger({usage_category = "calls", trigger_value = "+30",
            callback_url = "https://example.com/cb?a=1&b=caf%C3%A9+x"})"#,
    )
    .await;
    let form = |name: &str| {
        request
            .form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(form("TriggerValue").as_deref(), Some("+30"), "{request:#?}");
    assert_eq!(
        form("CallbackUrl").as_deref(),
        Some("https://example.com/cb?a=1&b=caf%C3%A9+x")
    );
    assert_eq!(
        trigger["callback_url"],
        "https://example.com/cb?a=1&b=caf%C3%A9+x"
    );

    let body = "Grüße, 世界! 🚀 a+b=c&d %20 ok";
    let (message, request) = one_request(
        &host,
        &format!(
            r#"twilio_send_sms({{to = "+15551234567", from = "+15559876543", body = "{body}"}})"#
        ),
    )
    .await;
    assert_eq!(request.form[2], ("Body".to_string(), body.to_string()));
    assert_eq!(message["body"], body);
    let stored = host.sim.state().messages(&host.account_sid());
    assert_eq!(stored.last().unwrap()["body"], body);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_returns_deleted_and_the_sid() {
    let host = TestHost::start().await;
    let sid = host.seeded().recording_sids[3].clone();
    let (result, request) = one_request(
        &host,
        &format!(r#"twilio_delete_recording({{recording_sid = "{sid}"}})"#),
    )
    .await;
    assert_eq!(result, json!({"deleted": true, "sid": sid}));
    assert_eq!((request.method.as_str(), request.status), ("DELETE", 204));
    assert!(
        host.sim
            .state()
            .recordings(&host.account_sid())
            .iter()
            .all(|r| r["sid"] != sid.as_str())
    );
}

/// One listing of the 120 seeded messages: the arguments, then the requests and items expected.
struct Paging {
    args: &'static str,
    requests: usize,
    page_size: &'static str,
    items: usize,
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_followed_through_next_page_uri_up_to_the_limit() {
    let host = TestHost::start().await;
    let account = host.sim.accounts()[0].clone();
    let mut seeded = host.sim.state().seed_messages(&account.account_sid, 120);
    // Twilio lists newest first; the seeded messages are one minute apart, the last newest.
    seeded.reverse();
    let cases = [
        Paging {
            args: "limit = 120, page_size = 50",
            requests: 3,
            page_size: "50",
            items: 120,
        },
        Paging {
            args: "limit = 10",
            requests: 1,
            page_size: "10",
            items: 10,
        },
        Paging {
            args: "page_size = 50",
            requests: 3,
            page_size: "50",
            items: 120,
        },
        Paging {
            args: "limit = 60, page_size = 50",
            requests: 2,
            page_size: "50",
            items: 60,
        },
    ];
    for case in cases {
        // Only the seeded messages were sent on 2026-02-01.
        let script = format!(
            r#"local result = app.integrations.twilio.twilio_list_messages({{date_sent = "2026-02-01", {}}})
               local sids = {{}}
               for i, m in ipairs(result.messages) do sids[i] = m.sid end
               return sids"#,
            case.args
        );
        let (report, requests) = host.run_recorded(&script).await;
        let sids: Vec<String> = serde_json::from_value(value(&report).clone()).unwrap();
        assert_eq!(sids, seeded[..case.items], "{}", case.args);
        assert_eq!(
            requests.len(),
            case.requests,
            "{}: {requests:#?}",
            case.args
        );
        let first = &requests[0];
        assert_eq!(
            first.query,
            owned(&[("DateSent", "2026-02-01"), ("PageSize", case.page_size)]),
            "{}",
            case.args
        );
        for pair in requests.windows(2) {
            let target = format!("{}?{}", pair[0].path, pair[0].raw_query.as_deref().unwrap());
            let page = sim_get(
                &host.sim.api_url(),
                &target,
                &account.account_sid,
                &account.auth_token,
            )
            .await;
            let next = page["next_page_uri"].as_str().expect("a next page");
            let followed = format!("{}?{}", pair[1].path, pair[1].raw_query.as_deref().unwrap());
            assert_eq!(followed, next, "the next page is requested verbatim");
            assert!(next.contains("PageToken=PA"), "{next}");
            assert!(
                next.contains(&format!("PageSize={}", case.page_size)),
                "{next}"
            );
            assert!(next.contains("DateSent=2026-02-01"), "{next}");
        }
        for request in &requests {
            assert_eq!((request.method.as_str(), request.status), ("GET", 200));
            assert_authenticated_as(request, &account.account_sid);
        }
    }
}
