//! The exact request of each function, the results, pagination and encoding.

use super::*;

const API: &str = "https://api.twilio.com/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Runs `script` over the Twilio-like fake and returns the result and the only request.
fn one(script: &str) -> (Json, HttpRequest) {
    let fake = fake_twilio();
    let result = ok(script, &fake);
    (result, fake.only_request())
}

fn body(request: &HttpRequest) -> String {
    String::from_utf8(request.body.clone().unwrap_or_default()).unwrap()
}

fn assert_get(request: &HttpRequest, url: &str) {
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.url, url);
    assert_eq!(request.body, None);
    assert_eq!(header(request, "accept"), Some("application/json"));
    assert_eq!(header(request, "content-type"), None);
}

fn assert_post(request: &HttpRequest, url: &str, form: &str) {
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, url);
    assert_eq!(body(request), form);
    assert_eq!(
        header(request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(request, "accept"), Some("application/json"));
}

#[test]
fn send_sms_posts_a_form_and_returns_the_message() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543",
            body = "Hello from Twilio!", media_url = "https://example.com/a.png",
            status_callback = "https://example.com/cb?x=1"})"#,
    );
    assert_post(
        &request,
        &format!("{API}/Messages.json"),
        "To=%2B15551234567&From=%2B15559876543&Body=Hello%20from%20Twilio%21\
         &MediaUrl=https%3A%2F%2Fexample.com%2Fa.png&StatusCallback=https%3A%2F%2Fexample.com%2Fcb%3Fx%3D1",
    );
    assert_eq!(request.account, "default");
    assert_eq!(
        header(&request, "user-agent"),
        Some("twilio-lua-wasm/0.1.0 (wasm32-wasip2)")
    );
    assert_eq!(result["sid"], format!("SM{HEX}"));
    assert_eq!(result["num_segments"], "1", "strings stay strings");
    assert!(result.get("price").is_none(), "null is nil");
}

#[test]
fn bodies_encode_non_ascii_and_reserved_characters() {
    let (_, request) = one(
        r#"return app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543",
            body = "Café & crème: 100% + ✓\nnext"})"#,
    );
    assert!(
        body(&request)
            .ends_with("&Body=Caf%C3%A9%20%26%20cr%C3%A8me%3A%20100%25%20%2B%20%E2%9C%93%0Anext")
    );
}

#[test]
fn a_body_of_1600_characters_counts_characters_not_bytes() {
    let fake = fake_twilio();
    ok(
        r#"return app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543",
            body = string.rep("é", 1600)})"#,
        &fake,
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn get_message() {
    let (result, request) = one(&format!(
        r#"return app.integrations.twilio.twilio_get_message({{message_sid = "MM{HEX}"}})"#
    ));
    assert_get(&request, &format!("{API}/Messages/MM{HEX}.json"));
    assert_eq!(result["sid"], format!("MM{HEX}"));
}

#[test]
fn list_messages_sends_filters_and_page_size() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_list_messages({to = "+15551234567", from = "+15559876543",
            date_sent = "2026-01-15", limit = 10})"#,
    );
    assert_get(
        &request,
        &format!(
            "{API}/Messages.json?To=%2B15551234567&From=%2B15559876543&DateSent=2026-01-15&PageSize=10"
        ),
    );
    assert_eq!(result["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn list_messages_without_arguments() {
    let (_, request) = one("return app.integrations.twilio.twilio_list_messages()");
    assert_get(&request, &format!("{API}/Messages.json?PageSize=50"));
}

#[test]
fn make_call_with_inline_twiml() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_make_call({to = "+15551234567", from = "+15559876543",
            twiml = '<Response><Say>Hello from Twilio!</Say></Response>',
            status_callback = "https://example.com/status"})"#,
    );
    assert_post(
        &request,
        &format!("{API}/Calls.json"),
        "To=%2B15551234567&From=%2B15559876543\
         &Twiml=%3CResponse%3E%3CSay%3EHello%20from%20Twilio%21%3C%2FSay%3E%3C%2FResponse%3E\
         &StatusCallback=https%3A%2F%2Fexample.com%2Fstatus",
    );
    assert_eq!(result["status"], "queued");
}

#[test]
fn make_call_with_a_url() {
    let (_, request) = one(
        r#"return app.integrations.twilio.twilio_make_call({to = "+15551234567", from = "+15559876543",
            url = "http://demo.twilio.com/docs/voice.xml"})"#,
    );
    assert_eq!(
        body(&request),
        "To=%2B15551234567&From=%2B15559876543&Url=http%3A%2F%2Fdemo.twilio.com%2Fdocs%2Fvoice.xml"
    );
}

#[test]
fn get_call() {
    let (result, request) = one(&format!(
        r#"return app.integrations.twilio.twilio_get_call({{call_sid = "CA{HEX}"}})"#
    ));
    assert_get(&request, &format!("{API}/Calls/CA{HEX}.json"));
    assert_eq!(result["duration"], "15");
}

#[test]
fn list_calls() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_list_calls({status = "in-progress", limit = 10, page_size = 5})"#,
    );
    assert_get(
        &request,
        &format!("{API}/Calls.json?Status=in-progress&PageSize=5"),
    );
    assert_eq!(result["calls"][0]["sid"], format!("CA{HEX}"));
}

#[test]
fn list_phone_numbers_renames_the_list() {
    let (result, request) = one("return app.integrations.twilio.twilio_list_phone_numbers({})");
    assert_get(
        &request,
        &format!("{API}/IncomingPhoneNumbers.json?PageSize=50"),
    );
    assert_eq!(result["phone_numbers"][0]["sid"], format!("PN{HEX}"));
    assert!(result.get("incoming_phone_numbers").is_none());
}

#[test]
fn get_phone_number() {
    let (result, request) = one(&format!(
        r#"return app.integrations.twilio.twilio_get_phone_number({{phone_sid = "PN{HEX}"}})"#
    ));
    assert_get(
        &request,
        &format!("{API}/IncomingPhoneNumbers/PN{HEX}.json"),
    );
    assert_eq!(result["capabilities"]["sms"], true);
}

#[test]
fn lookup_uses_the_lookup_host_and_a_raw_e164_path() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_lookup_phone({phone_number = "+15551234567",
            fields = "line_type_intelligence, caller_name"})"#,
    );
    assert_get(
        &request,
        "https://lookups.twilio.com/v2/PhoneNumbers/+15551234567?Fields=line_type_intelligence%2Ccaller_name",
    );
    assert_eq!(result["valid"], true);
    let (_, request) = one(
        r#"return app.integrations.twilio.twilio_lookup_phone({phone_number = "+442071838750"})"#,
    );
    assert_eq!(
        request.url,
        "https://lookups.twilio.com/v2/PhoneNumbers/+442071838750"
    );
}

#[test]
fn create_usage_trigger_encodes_an_offset() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_create_usage_trigger({usage_category = "sms",
            trigger_value = "+30", callback_url = "https://example.com/twilio/callback", recurring = "monthly"})"#,
    );
    assert_post(
        &request,
        &format!("{API}/Usage/Triggers.json"),
        "UsageCategory=sms&TriggerValue=%2B30&CallbackUrl=https%3A%2F%2Fexample.com%2Ftwilio%2Fcallback&Recurring=monthly",
    );
    assert_eq!(result["current_value"], "0");
}

#[test]
fn list_usage_records() {
    let (result, request) = one(
        r#"return app.integrations.twilio.twilio_list_usage_records({category = "sms",
            start_date = "2026-01-01", end_date = "2026-01-31", limit = 3})"#,
    );
    assert_get(
        &request,
        &format!(
            "{API}/Usage/Records.json?Category=sms&StartDate=2026-01-01&EndDate=2026-01-31&PageSize=3"
        ),
    );
    assert_eq!(result["usage_records"][0]["price_unit"], "usd");
}

#[test]
fn send_whatsapp_prefixes_both_numbers_once() {
    for (to, from) in [
        ("+15551234567", "+15559876543"),
        ("whatsapp:+15551234567", "whatsapp:+15559876543"),
    ] {
        let (_, request) = one(&format!(
            r#"return app.integrations.twilio.twilio_send_whatsapp({{to = "{to}", from = "{from}",
                body = "Hello via WhatsApp!", media_url = "https://example.com/cat.jpg"}})"#
        ));
        assert_post(
            &request,
            &format!("{API}/Messages.json"),
            "To=whatsapp%3A%2B15551234567&From=whatsapp%3A%2B15559876543&Body=Hello%20via%20WhatsApp%21\
             &MediaUrl=https%3A%2F%2Fexample.com%2Fcat.jpg",
        );
    }
}

#[test]
fn get_account_defaults_to_the_accounts_own_sid() {
    let (result, request) = one("return app.integrations.twilio.twilio_get_account()");
    assert_get(
        &request,
        &format!("https://api.twilio.com/2010-04-01/Accounts/{DEFAULT_SID}.json"),
    );
    assert_eq!(result["type"], "Full");
    assert!(
        result.get("auth_token").is_none(),
        "the Auth Token never reaches scripts"
    );
    let (_, request) = one(&format!(
        r#"return app.integrations.twilio.twilio_get_account({{sid = "AC{HEX}"}})"#
    ));
    assert_get(
        &request,
        &format!("https://api.twilio.com/2010-04-01/Accounts/AC{HEX}.json"),
    );
}

#[test]
fn list_recordings() {
    let (result, request) = one(&format!(
        r#"return app.integrations.twilio.twilio_list_recordings({{call_sid = "CA{HEX}", date_created = "2024-02-29", limit = 5}})"#
    ));
    assert_get(
        &request,
        &format!("{API}/Recordings.json?CallSid=CA{HEX}&DateCreated=2024-02-29&PageSize=5"),
    );
    assert_eq!(result["recordings"][0]["channels"], 1);
}

#[test]
fn delete_recording_sends_no_accept_and_reports_the_deletion() {
    let (result, request) = one(&format!(
        r#"return app.integrations.twilio.twilio_delete_recording({{recording_sid = "RE{HEX}"}})"#
    ));
    assert_eq!(request.method, Method::Delete);
    assert_eq!(request.url, format!("{API}/Recordings/RE{HEX}.json"));
    assert_eq!(header(&request, "accept"), None);
    assert_eq!(request.body, None);
    assert_eq!(result, json!({"deleted": true, "sid": format!("RE{HEX}")}));
}

#[test]
fn a_planned_side_effect_returns_the_hosts_pending_result_whatever_its_shape() {
    let pending = r#"{"planned": true, "status": "planned", "plan_action": 1, "sid": "planned-1"}"#;
    let fake = fake_always(202, pending);
    let sms = ok(
        r#"return app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "Hi"})"#,
        &fake,
    );
    assert_eq!(sms["status"], "planned");
    let deleted = ok(
        &format!(
            r#"return app.integrations.twilio.twilio_delete_recording({{recording_sid = "RE{HEX}"}})"#
        ),
        &fake,
    );
    assert_eq!(deleted["planned"], true);
    assert_eq!(
        deleted.get("deleted"),
        None,
        "the host's answer, not a deletion"
    );
    // A read answered 202 is not a result.
    let read = fails(
        r#"return app.integrations.twilio.twilio_get_account({})"#,
        &fake,
    );
    assert!(
        read.message.contains("expected HTTP 200, got HTTP 202"),
        "{read:?}"
    );
}

/// Serves `total` messages in pages of the size asked for, linking pages with `next_page_uri`.
fn paged(total: usize) -> Rc<Recorder> {
    Recorder::new(move |request| {
        let query = request
            .url
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default();
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse::<usize>().ok())
        };
        let size = param("PageSize").unwrap_or(50);
        let page = param("Page").unwrap_or(0);
        let start = page * size;
        let items: Vec<Json> = (start..total.min(start + size))
            .map(|i| message(&format!("SM{i:032x}")))
            .collect();
        let next = (start + size < total).then(|| {
            format!("/2010-04-01/Accounts/{DEFAULT_SID}/Messages.json?PageSize={size}&Page={}&PageToken=PA{i}", page + 1, i = start + size)
        });
        let mut envelope = page_envelope(items);
        envelope["next_page_uri"] = json!(next);
        Ok(response(200, &envelope.to_string()))
    })
}

fn page_envelope(items: Vec<Json>) -> Json {
    super::page("messages", items)
}

#[test]
fn pagination_follows_next_page_uri_verbatim_up_to_the_limit() {
    let fake = paged(500);
    let result = ok(
        "local r = app.integrations.twilio.twilio_list_messages({limit = 120, page_size = 50})
         local n = 0 for _ in ipairs(r.messages) do n = n + 1 end
         return {n = n, first = r.messages[1].sid, last = r.messages[120].sid}",
        &fake,
    );
    assert_eq!(
        result,
        json!({"n": 120, "first": format!("SM{:032x}", 0), "last": format!("SM{:032x}", 119)})
    );
    let urls: Vec<String> = fake.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(
        urls,
        vec![
            format!("{API}/Messages.json?PageSize=50"),
            format!("{API}/Messages.json?PageSize=50&Page=1&PageToken=PA50"),
            format!("{API}/Messages.json?PageSize=50&Page=2&PageToken=PA100"),
        ]
    );
}

/// Lists messages with `arguments` over `fake`: how many came back and the URLs requested.
fn list_messages(fake: &Rc<Recorder>, arguments: &str) -> (i64, Vec<String>) {
    let script =
        format!("return #app.integrations.twilio.twilio_list_messages({arguments}).messages");
    let count = ok(&script, fake).as_i64().unwrap();
    (count, fake.requests().into_iter().map(|r| r.url).collect())
}

#[test]
fn a_small_limit_is_one_request_of_that_page_size() {
    let (count, urls) = list_messages(&paged(500), "{limit = 10}");
    assert_eq!(count, 10);
    assert_eq!(urls, vec![format!("{API}/Messages.json?PageSize=10")]);
}

#[test]
fn a_limit_above_1000_asks_for_pages_of_1000() {
    let (count, urls) = list_messages(&paged(1500), "{limit = 1200}");
    assert_eq!(count, 1200);
    assert_eq!(urls.len(), 2);
    assert_eq!(urls[0], format!("{API}/Messages.json?PageSize=1000"));
}

#[test]
fn without_a_limit_every_page_is_read_and_the_limit_truncates_a_page() {
    let (count, urls) = list_messages(&paged(120), "");
    assert_eq!((count, urls.len()), (120, 3));
    let fifty = (0..50).map(|i| message(&format!("SM{i:032x}"))).collect();
    let fake = fake_always(200, &page_envelope(fifty).to_string());
    let (count, urls) = list_messages(&fake, "{limit = 7, page_size = 50}");
    assert_eq!(count, 7);
    assert_eq!(urls, vec![format!("{API}/Messages.json?PageSize=7")]);
}

#[test]
fn functions_without_page_size_page_internally() {
    let fake = Recorder::new(|request| {
        let first = !request.url.contains("Page=1");
        let items = if first {
            vec![recording("RE1"), recording("RE2")]
        } else {
            vec![recording("RE3")]
        };
        let mut envelope = page("recordings", items);
        if first {
            envelope["next_page_uri"] = json!(format!(
                "/2010-04-01/Accounts/{DEFAULT_SID}/Recordings.json?PageSize=2&Page=1&PageToken=PAx"
            ));
        }
        Ok(response(200, &envelope.to_string()))
    });
    let result = ok(
        "return app.integrations.twilio.twilio_list_recordings({limit = 3})",
        &fake,
    );
    assert_eq!(result["recordings"].as_array().unwrap().len(), 3);
    let urls: Vec<String> = fake.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(urls[0], format!("{API}/Recordings.json?PageSize=3"));
    assert_eq!(
        urls[1],
        format!("{API}/Recordings.json?PageSize=2&Page=1&PageToken=PAx")
    );
}

#[test]
fn empty_lists_are_arrays() {
    let fake = fake_always(200, &page("calls", vec![]).to_string());
    let result = ok(
        "return app.integrations.twilio.twilio_list_calls({})",
        &fake,
    );
    assert_eq!(result, json!({"calls": []}));
}
