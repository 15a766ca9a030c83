//! Bad input: every case is a `validation` error naming the function and the field, and nothing
//! is sent.

use super::*;

const T: &str = r#""+15551234567""#;
const F: &str = r#""+15559876543""#;
const U: &str = r#""https://example.com/cb""#;

/// (function, Lua argument list, field named in the error, text the message must contain)
fn cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let sid = |prefix: &str| format!("\"{prefix}{HEX}\"");
    let x32 = "x".repeat(32);
    vec![
        (
            "twilio_send_sms",
            "nil".into(),
            "arguments",
            "expects a table",
        ),
        (
            "twilio_send_sms",
            r#""hello""#.into(),
            "arguments",
            "got the string",
        ),
        (
            "twilio_send_sms",
            format!("{{from = {F}, body = 'hi'}}"),
            "to",
            "is required",
        ),
        (
            "twilio_send_sms",
            format!(r#"{{to = "555-1234", from = {F}, body = "hi"}}"#),
            "to",
            r#""555-1234" is not an E.164 number like "+15551234567""#,
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = 15559876543, body = 'hi'}}"),
            "from",
            "must be a string",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, body = string.rep('a', 1601)}}"),
            "body",
            "1601 characters",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, body = ''}}"),
            "body",
            "empty",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, msg = 'hi'}}"),
            "msg",
            "did you mean `body`",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, message = 'hi'}}"),
            "message",
            "did you mean `body`",
        ),
        (
            "twilio_send_sms",
            format!("{{To = {T}, from = {F}, body = 'hi'}}"),
            "To",
            "did you mean `to`",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from_ = {F}, body = 'hi'}}"),
            "from_",
            "did you mean `from`",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, body = 'hi', media_url = 'not a url'}}"),
            "media_url",
            "http(s) URL",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, body = 'hi', status_callback = 'ftp://x.com'}}"),
            "status_callback",
            "http(s) URL",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, body = '\\xff\\xfe'}}"),
            "body",
            "UTF-8",
        ),
        (
            "twilio_send_sms",
            format!("{{{T}, {F}, 'hi'}}"),
            "arguments",
            "positional",
        ),
        (
            "twilio_send_sms",
            format!("{{to = {T}, from = {F}, body = {{}}}}"),
            "body",
            "got a table",
        ),
        (
            "twilio_send_sms",
            format!(r#"{{to = "whatsapp:+15551234567", from = {F}, body = "hi"}}"#),
            "to",
            "twilio_send_whatsapp",
        ),
        (
            "twilio_get_message",
            format!("{{message_sid = \"SM{x32}\"}}"),
            "message_sid",
            "placeholder",
        ),
        (
            "twilio_get_message",
            format!("{{message_sid = {}}}", sid("CA")),
            "message_sid",
            "SM or MM followed by 32 hex digits",
        ),
        (
            "twilio_get_message",
            r#"{message_sid = "SM123/../../Calls"}"#.into(),
            "message_sid",
            "not a SID",
        ),
        (
            "twilio_get_message",
            "{}".into(),
            "message_sid",
            "is required",
        ),
        (
            "twilio_get_message",
            format!("{{sid = {}}}", sid("SM")),
            "sid",
            "did you mean `message_sid`",
        ),
        (
            "twilio_list_messages",
            r#"{date_sent = "2026-02-30"}"#.into(),
            "date_sent",
            "calendar date",
        ),
        (
            "twilio_list_messages",
            "{limit = 2.5}".into(),
            "limit",
            "must be an integer",
        ),
        (
            "twilio_list_messages",
            r#"{limit = "ten"}"#.into(),
            "limit",
            "must be an integer",
        ),
        (
            "twilio_list_messages",
            "{limit = 0}".into(),
            "limit",
            "out of range",
        ),
        (
            "twilio_list_messages",
            "{page_size = 1001}".into(),
            "page_size",
            "from 1 to 1000",
        ),
        (
            "twilio_list_messages",
            r#"{to = "+1 555 123 4567"}"#.into(),
            "to",
            "E.164",
        ),
        (
            "twilio_make_call",
            format!("{{to = {T}, from = {F}}}"),
            "url",
            "is required",
        ),
        (
            "twilio_make_call",
            format!("{{to = {T}, from = {F}, url = {U}, twiml = '<Response/>'}}"),
            "url",
            "not both",
        ),
        (
            "twilio_make_call",
            format!("{{to = {T}, from = {F}, twiml = string.rep('a', 4001)}}"),
            "twiml",
            "at most 4000",
        ),
        (
            "twilio_make_call",
            format!("{{to = {T}, from = {F}, url = '/relative'}}"),
            "url",
            "http(s) URL",
        ),
        (
            "twilio_get_call",
            format!("{{call_sid = \"CA{x32}\"}}"),
            "call_sid",
            "twilio_list_calls",
        ),
        (
            "twilio_get_call",
            "{call_sid = 12345}".into(),
            "call_sid",
            "write it in quotes",
        ),
        (
            "twilio_list_calls",
            r#"{status = "done"}"#.into(),
            "status",
            "\"completed\"",
        ),
        (
            "twilio_list_calls",
            "{limit = -5}".into(),
            "limit",
            "out of range",
        ),
        (
            "twilio_list_phone_numbers",
            "{limit = 0/0}".into(),
            "limit",
            "must be an integer",
        ),
        (
            "twilio_list_phone_numbers",
            "{limit = -0.0}".into(),
            "limit",
            "out of range",
        ),
        (
            "twilio_list_phone_numbers",
            "{limit = math.huge}".into(),
            "limit",
            "must be an integer",
        ),
        (
            "twilio_list_phone_numbers",
            "{page_size = 10}".into(),
            "page_size",
            "unknown parameter",
        ),
        (
            "twilio_get_phone_number",
            format!("{{phone_sid = \"PN{x32}\"}}"),
            "phone_sid",
            "twilio_list_phone_numbers",
        ),
        (
            "twilio_lookup_phone",
            r#"{phone_number = "5551234567"}"#.into(),
            "phone_number",
            "E.164",
        ),
        (
            "twilio_lookup_phone",
            format!("{{phone_number = {T}, fields = 'carrier'}}"),
            "fields",
            "not a Lookup data package",
        ),
        (
            "twilio_lookup_phone",
            r#"{phone_number = "+1555/../x"}"#.into(),
            "phone_number",
            "E.164",
        ),
        (
            "twilio_lookup_phone",
            r#"{number = "+15551234567"}"#.into(),
            "number",
            "did you mean `phone_number`",
        ),
        (
            "twilio_create_usage_trigger",
            format!("{{usage_category = 'sms', trigger_value = 50, callback_url = {U}}}"),
            "trigger_value",
            "must be a string",
        ),
        (
            "twilio_create_usage_trigger",
            format!("{{usage_category = 'sms', trigger_value = 'fifty', callback_url = {U}}}"),
            "trigger_value",
            "decimal",
        ),
        (
            "twilio_create_usage_trigger",
            format!(
                "{{usage_category = 'sms', trigger_value = '50', callback_url = {U}, recurring = 'weekly'}}"
            ),
            "recurring",
            "\"alltime\"",
        ),
        (
            "twilio_create_usage_trigger",
            "{usage_category = 'sms', trigger_value = '50'}".into(),
            "callback_url",
            "is required",
        ),
        (
            "twilio_create_usage_trigger",
            format!("{{usage_category = '', trigger_value = '50', callback_url = {U}}}"),
            "usage_category",
            "usage category",
        ),
        (
            "twilio_create_usage_trigger",
            "{usage_category = 'sms', trigger_value = '5', callback_url = 'https://my_host.com/'}"
                .into(),
            "callback_url",
            "underscores",
        ),
        (
            "twilio_list_usage_records",
            r#"{start_date = "2026-1-1"}"#.into(),
            "start_date",
            "YYYY-MM-DD",
        ),
        (
            "twilio_list_usage_records",
            r#"{end_date = "2025-02-29"}"#.into(),
            "end_date",
            "calendar date",
        ),
        (
            "twilio_list_usage_records",
            r#"{category = "sms records"}"#.into(),
            "category",
            "usage category",
        ),
        (
            "twilio_send_whatsapp",
            format!(r#"{{to = "whatsapp:whatsapp:+15551234567", from = {F}, body = "x"}}"#),
            "to",
            "E.164",
        ),
        (
            "twilio_send_whatsapp",
            format!("{{to = {T}, from = {F}}}"),
            "body",
            "is required",
        ),
        (
            "twilio_get_account",
            format!("{{sid = {}}}", sid("SK")),
            "sid",
            "AC followed by 32 hex digits",
        ),
        (
            "twilio_get_account",
            sid("AC"),
            "arguments",
            "expects a table",
        ),
        (
            "twilio_list_recordings",
            format!("{{call_sid = {}}}", sid("RE")),
            "call_sid",
            "CA followed by",
        ),
        (
            "twilio_list_recordings",
            r#"{date_created = "yesterday"}"#.into(),
            "date_created",
            "YYYY-MM-DD",
        ),
        (
            "twilio_delete_recording",
            format!("{{recording_sid = \"RE{x32}\"}}"),
            "recording_sid",
            "placeholder",
        ),
        (
            "twilio_delete_recording",
            "{recording_sid = true}".into(),
            "recording_sid",
            "got the boolean true",
        ),
        (
            "twilio_delete_recording",
            format!("{{recording_sid = {}, extra = 1}}", sid("RE")),
            "extra",
            "unknown parameter",
        ),
    ]
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let cases = cases();
    assert!(cases.len() >= 40);
    let mut functions: Vec<&str> = cases.iter().map(|c| c.0).collect();
    functions.dedup();
    assert_eq!(functions.len(), 15, "every function has bad-input cases");
    for (function, arguments, field, needle) in cases {
        let fake = fake_twilio();
        let script = format!("return app.integrations.twilio.{function}({arguments})");
        let failure = fails(&script, &fake);
        let error = error_value(&failure);
        assert_eq!(error["kind"], "validation", "{script}: {error}");
        assert_eq!(error["function"], function, "{script}: {error}");
        assert_eq!(error["field"], field, "{script}: {error}");
        let text = error["message"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("{function}: {field}: ")),
            "{script}: {text}"
        );
        assert!(text.contains(needle), "{script}: {text} lacks {needle}");
        assert_eq!(failure.message, text, "tostring is the message");
        assert!(fake.requests().is_empty(), "{script} sent a request");
    }
}

#[test]
fn the_error_message_quotes_the_rule() {
    let failure = fails(
        r#"return app.integrations.twilio.twilio_send_sms({to = "555-1234", from = "+15559876543", body = "x"})"#,
        &fake_twilio(),
    );
    assert!(
        failure.message.starts_with(
            r#"twilio_send_sms: to: "555-1234" is not an E.164 number like "+15551234567""#
        ),
        "{}",
        failure.message
    );
}

#[test]
fn colon_calls_are_explained() {
    let failure = fails(
        "return app.integrations.twilio:twilio_list_messages({limit = 1})",
        &fake_twilio(),
    );
    assert!(
        failure.message.contains("not a colon"),
        "{}",
        failure.message
    );
}

#[test]
fn metamethods_of_argument_tables_never_run() {
    let fake = fake_twilio();
    let result = ok(
        r#"local boom = function() error("metamethod ran") end
           local args = setmetatable({to = "+15551234567", from = "+15559876543", body = "hi"},
               {__index = boom, __newindex = boom, __pairs = boom, __len = boom, __tostring = boom})
           local evil = setmetatable({}, {__tostring = boom, __index = boom, __eq = boom})
           local ok, err = pcall(app.integrations.twilio.twilio_send_sms, {to = evil, from = "+15559876543", body = "x"})
           return {sid = app.integrations.twilio.twilio_send_sms(args).sid, kind = err.kind, message = err.message}"#,
        &fake,
    );
    assert_eq!(result["sid"], format!("SM{HEX}"));
    assert_eq!(result["kind"], "validation");
    assert!(result["message"].as_str().unwrap().contains("got a table"));
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn odd_values_do_not_panic() {
    let fake = fake_twilio();
    let result = ok(
        r#"local t = app.integrations.twilio
           local inputs = {
               {to = string.rep("+", 1000000), from = "+1", body = "x"},
               {to = "+15551234567", from = "+15559876543", body = string.rep("\0", 2000)},
               {[true] = 1}, {[1.5] = "x"}, {[print] = 1}, {["\xff"] = 1},
               {to = "+15551234567", from = "+15559876543", body = "x", media_url = "https://" .. string.rep("a", 100000)},
               {to = -0.0, from = 0/0, body = math.mininteger},
           }
           local kinds = {}
           for i, input in ipairs(inputs) do
               local ok, err = pcall(t.twilio_send_sms, input)
               kinds[i] = ok and "ok" or err.kind
           end
           local ok, err = pcall(t.twilio_list_calls, {limit = math.maxinteger})
           kinds[#kinds + 1] = ok and "ok" or err.kind
           ok, err = pcall(t.twilio_list_calls, {limit = 2^63})
           kinds[#kinds + 1] = ok and "ok" or err.kind
           return kinds"#,
        &fake,
    );
    assert_eq!(
        result,
        json!([
            "validation",
            "validation",
            "validation",
            "validation",
            "validation",
            "validation",
            "ok",
            "validation",
            "ok",
            "validation"
        ])
    );
    assert_eq!(fake.requests().len(), 2);
}
