//! The operations the egress lets out: exactly the requests the 15 functions make, each a
//! method, an API (core or Lookup), a path template whose every segment is checked (SIDs by
//! their prefix, the `.json` suffix), and the query or form parameters that function sends.
//! Everything else under the account (`Keys.json`, `IncomingPhoneNumbers` POST, `Accounts/{sid}`
//! POST, `Messages/{sid}` DELETE, ...) is refused before a connection is made.
//!
//! This table is the host's own, written from Twilio's API, not shared with the plugin: the
//! plugin is the side that is not trusted. The end-to-end tests send every function's requests
//! through it.

use http::Method;

use crate::config::values::is_sid;

/// Which of an account's two endpoints an operation goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The core REST API (`api.twilio.com`).
    Core,
    /// Lookup v2 (`lookups.twilio.com`).
    Lookups,
}

/// What a function does, as the tenant policy's `functions` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Reads: gets, lists, lookups.
    Read,
    /// Sends a message (SMS, MMS, WhatsApp).
    Send,
    /// Places a call.
    Call,
    /// Deletes something (recordings).
    Delete,
    /// Changes the account's configuration (usage triggers).
    Configure,
}

impl Class {
    /// Every class, in the order the policy documents them.
    pub const ALL: [Class; 5] = [
        Class::Read,
        Class::Send,
        Class::Call,
        Class::Delete,
        Class::Configure,
    ];

    /// The name the policy uses.
    pub fn name(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Send => "send",
            Class::Call => "call",
            Class::Delete => "delete",
            Class::Configure => "configure",
        }
    }
}

/// The 15 functions and what each does.
pub const FUNCTIONS: [(&str, Class); 15] = [
    ("twilio_send_sms", Class::Send),
    ("twilio_get_message", Class::Read),
    ("twilio_list_messages", Class::Read),
    ("twilio_make_call", Class::Call),
    ("twilio_get_call", Class::Read),
    ("twilio_list_calls", Class::Read),
    ("twilio_list_phone_numbers", Class::Read),
    ("twilio_get_phone_number", Class::Read),
    ("twilio_lookup_phone", Class::Read),
    ("twilio_create_usage_trigger", Class::Configure),
    ("twilio_list_usage_records", Class::Read),
    ("twilio_send_whatsapp", Class::Send),
    ("twilio_get_account", Class::Read),
    ("twilio_list_recordings", Class::Read),
    ("twilio_delete_recording", Class::Delete),
];

/// The data packages Lookup v2 offers in `Fields` (most are billed per lookup).
pub const LOOKUP_PACKAGES: [&str; 11] = [
    "validation",
    "caller_name",
    "sim_swap",
    "call_forwarding",
    "line_status",
    "line_type_intelligence",
    "identity_match",
    "reassigned_number",
    "sms_pumping_risk",
    "phone_number_quality_score",
    "pre_fill",
];

/// One operation: the function it serves and what its requests look like.
#[derive(Debug)]
pub struct Operation {
    /// The function that makes this request (for messages and the audit); the send operation
    /// also serves `twilio_send_whatsapp` (a `To` of `whatsapp:+...`).
    pub function: &'static str,
    /// What it does.
    pub class: Class,
    /// The HTTP method.
    pub method: Method,
    /// The endpoint.
    pub api: Api,
    /// The path, `/`-separated; `{XX}` is a SID with prefix `XX` (`{SM|MM}`: either),
    /// `{E164}` a phone number, and a segment may end in `.json` after its placeholder.
    pub path: &'static str,
    /// Query parameters a request may carry (GET), or form parameters (POST).
    pub params: &'static [&'static str],
}

/// Query parameters of every paged list: the page size the function sets, and what Twilio's
/// `next_page_uri` adds.
const PAGING: [&str; 3] = ["PageSize", "Page", "PageToken"];

const MESSAGE_FILTERS: [&str; 6] = ["To", "From", "DateSent", PAGING[0], PAGING[1], PAGING[2]];
const CALL_FILTERS: [&str; 6] = ["To", "From", "Status", PAGING[0], PAGING[1], PAGING[2]];
const USAGE_FILTERS: [&str; 6] = [
    "Category",
    "StartDate",
    "EndDate",
    PAGING[0],
    PAGING[1],
    PAGING[2],
];
const RECORDING_FILTERS: [&str; 5] = ["CallSid", "DateCreated", PAGING[0], PAGING[1], PAGING[2]];

/// The operations of the 15 functions (`twilio_send_sms` and `twilio_send_whatsapp` share one).
pub static OPERATIONS: &[Operation] = &[
    Operation {
        function: "twilio_send_sms",
        class: Class::Send,
        method: Method::POST,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Messages.json",
        params: &["To", "From", "Body", "MediaUrl", "StatusCallback"],
    },
    Operation {
        function: "twilio_get_message",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Messages/{SM|MM}.json",
        params: &[],
    },
    Operation {
        function: "twilio_list_messages",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Messages.json",
        params: &MESSAGE_FILTERS,
    },
    Operation {
        function: "twilio_make_call",
        class: Class::Call,
        method: Method::POST,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Calls.json",
        params: &["To", "From", "Url", "Twiml", "StatusCallback"],
    },
    Operation {
        function: "twilio_get_call",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Calls/{CA}.json",
        params: &[],
    },
    Operation {
        function: "twilio_list_calls",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Calls.json",
        params: &CALL_FILTERS,
    },
    Operation {
        function: "twilio_list_phone_numbers",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json",
        params: &PAGING,
    },
    Operation {
        function: "twilio_get_phone_number",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json",
        params: &[],
    },
    Operation {
        function: "twilio_lookup_phone",
        class: Class::Read,
        method: Method::GET,
        api: Api::Lookups,
        path: "/v2/PhoneNumbers/{E164}",
        params: &["Fields"],
    },
    Operation {
        function: "twilio_create_usage_trigger",
        class: Class::Configure,
        method: Method::POST,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Usage/Triggers.json",
        params: &["UsageCategory", "TriggerValue", "CallbackUrl", "Recurring"],
    },
    Operation {
        function: "twilio_list_usage_records",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Usage/Records.json",
        params: &USAGE_FILTERS,
    },
    Operation {
        function: "twilio_get_account",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}.json",
        params: &[],
    },
    Operation {
        function: "twilio_list_recordings",
        class: Class::Read,
        method: Method::GET,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Recordings.json",
        params: &RECORDING_FILTERS,
    },
    Operation {
        function: "twilio_delete_recording",
        class: Class::Delete,
        method: Method::DELETE,
        api: Api::Core,
        path: "/2010-04-01/Accounts/{AC}/Recordings/{RE}.json",
        params: &[],
    },
];

/// The operation a request with `method` to `api` at `path` is, if any.
pub fn find(method: &Method, api: Api, path: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|op| op.method == *method && op.api == api && matches_template(op.path, path))
}

/// A query or form parameter `operation` does not send, if the request has one.
pub fn unexpected_param<'a>(
    operation: &Operation,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    names
        .into_iter()
        .find(|name| !operation.params.contains(name))
}

fn matches_template(template: &str, path: &str) -> bool {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(pattern), Some(segment)) if segment_matches(pattern, segment) => {}
            _ => return false,
        }
    }
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    let Some(placeholder) = pattern.strip_prefix('{') else {
        return pattern == segment;
    };
    let (kinds, suffix) = placeholder.split_once('}').unwrap_or((placeholder, ""));
    let Some(value) = segment.strip_suffix(suffix) else {
        return false;
    };
    if kinds == "E164" {
        return is_e164(value);
    }
    kinds.split('|').any(|prefix| is_sid(value, prefix))
}

/// `+` (as `%2B` or plain) and 2 to 15 digits.
fn is_e164(value: &str) -> bool {
    let digits = value
        .strip_prefix("%2B")
        .or_else(|| value.strip_prefix("%2b"))
        .or_else(|| value.strip_prefix('+'));
    digits.is_some_and(|d| (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const HEX: &str = "0123456789abcdef0123456789abcdef";

    fn op(method: Method, api: Api, path: &str) -> Option<&'static str> {
        find(&method, api, path).map(|op| op.function)
    }

    #[test]
    fn each_function_has_its_operation() {
        let base = format!("/2010-04-01/Accounts/{AC}");
        let cases = [
            (
                Method::POST,
                format!("{base}/Messages.json"),
                "twilio_send_sms",
            ),
            (
                Method::GET,
                format!("{base}/Messages/SM{HEX}.json"),
                "twilio_get_message",
            ),
            (
                Method::GET,
                format!("{base}/Messages/MM{HEX}.json"),
                "twilio_get_message",
            ),
            (
                Method::GET,
                format!("{base}/Messages.json"),
                "twilio_list_messages",
            ),
            (
                Method::POST,
                format!("{base}/Calls.json"),
                "twilio_make_call",
            ),
            (
                Method::GET,
                format!("{base}/Calls/CA{HEX}.json"),
                "twilio_get_call",
            ),
            (
                Method::GET,
                format!("{base}/Calls.json"),
                "twilio_list_calls",
            ),
            (
                Method::GET,
                format!("{base}/IncomingPhoneNumbers.json"),
                "twilio_list_phone_numbers",
            ),
            (
                Method::GET,
                format!("{base}/IncomingPhoneNumbers/PN{HEX}.json"),
                "twilio_get_phone_number",
            ),
            (
                Method::POST,
                format!("{base}/Usage/Triggers.json"),
                "twilio_create_usage_trigger",
            ),
            (
                Method::GET,
                format!("{base}/Usage/Records.json"),
                "twilio_list_usage_records",
            ),
            (Method::GET, format!("{base}.json"), "twilio_get_account"),
            (
                Method::GET,
                format!("{base}/Recordings.json"),
                "twilio_list_recordings",
            ),
            (
                Method::DELETE,
                format!("{base}/Recordings/RE{HEX}.json"),
                "twilio_delete_recording",
            ),
        ];
        for (method, path, function) in cases {
            assert_eq!(
                op(method.clone(), Api::Core, &path),
                Some(function),
                "{method} {path}"
            );
        }
        assert_eq!(
            op(Method::GET, Api::Lookups, "/v2/PhoneNumbers/%2B15551234567"),
            Some("twilio_lookup_phone")
        );
    }

    #[test]
    fn privileged_and_unknown_requests_have_no_operation() {
        let base = format!("/2010-04-01/Accounts/{AC}");
        let refused = [
            (Method::POST, format!("{base}/Keys.json")),
            (Method::GET, format!("{base}/Keys.json")),
            (Method::POST, format!("{base}/SigningKeys.json")),
            (Method::POST, format!("{base}/IncomingPhoneNumbers.json")),
            (Method::POST, format!("{base}.json")),
            (Method::POST, format!("{base}/Calls/CA{HEX}.json")),
            (Method::DELETE, format!("{base}/Messages/SM{HEX}.json")),
            (Method::GET, format!("{base}/Messages")),
            (Method::GET, format!("{base}/Messages/SM{HEX}")),
            (Method::GET, format!("{base}/Messages/CA{HEX}.json")),
            (
                Method::GET,
                format!("{base}/Messages/SM{HEX}.json/Media.json"),
            ),
            (Method::PUT, format!("{base}/Messages.json")),
            (Method::GET, format!("{base}/SIP/Credentials.json")),
            (Method::GET, "/2010-04-01/Accounts.json".to_string()),
            (Method::GET, format!("{base}/Messages.json")),
        ];
        for (method, path) in &refused[..refused.len() - 1] {
            assert_eq!(op(method.clone(), Api::Core, path), None, "{method} {path}");
        }
        let (method, path) = &refused[refused.len() - 1];
        assert_eq!(
            op(method.clone(), Api::Lookups, path),
            None,
            "the core path on Lookup"
        );
        for path in [
            "/v2/PhoneNumbers/15551234567",
            "/v2/PhoneNumbers/+1",
            "/v1/PhoneNumbers/+15551234567",
        ] {
            assert_eq!(op(Method::GET, Api::Lookups, path), None, "{path}");
        }
    }

    #[test]
    fn only_the_parameters_a_function_sends_pass() {
        let send = find(
            &Method::POST,
            Api::Core,
            &format!("/2010-04-01/Accounts/{AC}/Messages.json"),
        )
        .unwrap();
        assert_eq!(unexpected_param(send, ["To", "From", "Body"]), None);
        assert_eq!(unexpected_param(send, ["To", "SmsUrl"]), Some("SmsUrl"));
        let list = find(
            &Method::GET,
            Api::Core,
            &format!("/2010-04-01/Accounts/{AC}/Messages.json"),
        )
        .unwrap();
        assert_eq!(
            unexpected_param(list, ["To", "PageSize", "Page", "PageToken"]),
            None
        );
        assert_eq!(unexpected_param(list, ["Body"]), Some("Body"));
    }

    #[test]
    fn the_functions_are_the_references_and_each_operation_has_its_class() {
        let reference = include_str!("../../../docs/lua-api.md");
        let documented: Vec<&str> = reference
            .lines()
            .filter_map(|line| line.strip_prefix("## twilio_"))
            .collect();
        let named: Vec<&str> = FUNCTIONS
            .iter()
            .map(|(name, _)| name.strip_prefix("twilio_").unwrap())
            .collect();
        assert_eq!(named, documented);
        for operation in OPERATIONS {
            let class = FUNCTIONS
                .iter()
                .find(|(name, _)| *name == operation.function);
            assert_eq!(
                class.map(|(_, c)| *c),
                Some(operation.class),
                "{}",
                operation.function
            );
            assert_eq!(
                operation.class == Class::Read,
                operation.method == Method::GET
            );
        }
    }
}
