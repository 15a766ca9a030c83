//! The 15 functions as data: for each, the HTTP method, host, path template, parameters (their
//! wire names and rules) and how the response becomes the Lua result. Everything else (validation,
//! encoding, the request, pagination) is generic code driven by this table.

use crate::transport::Method;

/// Which base URL of the account a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `Account::api_base_url`: the 2010 REST API.
    Api,
    /// `Account::lookups_base_url`: Lookup v2.
    Lookups,
}

/// How a successful response becomes the Lua result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The JSON object, as Twilio sent it.
    Resource,
    /// A paged list: `items` is Twilio's key for the array, `key` the key in the Lua result.
    List {
        /// The envelope key Twilio uses.
        items: &'static str,
        /// The key of the array in the Lua result.
        key: &'static str,
    },
    /// A delete answered with 204: `{deleted = true, sid = <the path parameter>}`.
    Deleted,
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Substituted for `{name}` in the path template.
    Path,
    /// Substituted for `{name}` in the path; the account's own SID when absent.
    PathOrAccountSid,
    /// Sent under this PascalCase name: in the query for GET, in the form body for POST.
    Named(&'static str),
    /// The size of the first page, sent as `PageSize`.
    PageSize,
    /// The most items a list returns; never sent.
    Limit,
}

/// What a parameter's value must be. Every rule but [`Rule::Count`] takes a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An E.164 phone number, `^\+[1-9]\d{1,14}$`.
    E164,
    /// An E.164 phone number sent as `whatsapp:<number>` (a `whatsapp:` the caller wrote is
    /// not doubled).
    WhatsApp,
    /// Text of at most this many characters; empty text is refused.
    Text(usize),
    /// A SID: one of the prefixes and 32 hex digits. `source` says where a script gets one.
    Sid {
        /// Allowed two-letter prefixes.
        prefixes: &'static [&'static str],
        /// Where a real SID comes from, for the placeholder hint.
        source: &'static str,
    },
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// An absolute http(s) URL with a host.
    Url,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of Lookup v2 data packages.
    LookupFields,
    /// A decimal number as a string, optionally with a leading `+` or `-` (an offset).
    Decimal,
    /// A usage category name such as `sms` or `totalprice`.
    Category,
    /// An integer in `min..=max`.
    Count {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
}

/// One parameter of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// The name scripts use (snake_case).
    pub name: &'static str,
    /// Where it goes in the request.
    pub wire: Wire,
    /// What the value must be.
    pub rule: Rule,
    /// Whether the script must give it.
    pub required: bool,
}

/// A rule that involves more than one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cross {
    /// Exactly one of the two must be given.
    ExactlyOne(&'static str, &'static str),
}

/// One function of the Lua API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The documented name, `twilio_send_sms`.
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The base URL.
    pub host: Host,
    /// The path with `{AccountSid}` and `{param}` placeholders.
    pub path: &'static str,
    /// The status that means success.
    pub success: u16,
    /// The parameters, in the order they are sent.
    pub params: &'static [Param],
    /// Rules across parameters.
    pub cross: &'static [Cross],
    /// How the response becomes the result.
    pub shape: Shape,
}

impl FunctionSpec {
    /// Whether the function can be called without arguments.
    pub fn all_optional(&self) -> bool {
        self.params.iter().all(|param| !param.required)
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|param| param.name == name)
    }
}

/// The function called `name`.
pub fn find(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|spec| spec.name == name)
}

/// The names of all functions, in the reference's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|spec| spec.name)
}

/// Lookup v2 data packages (`Fields`).
pub const LOOKUP_PACKAGES: &[&str] = &[
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

const CALL_STATUSES: &[&str] = &[
    "queued",
    "ringing",
    "in-progress",
    "canceled",
    "completed",
    "failed",
    "busy",
    "no-answer",
];

const RECURRENCES: &[&str] = &["daily", "monthly", "yearly", "alltime"];

const MESSAGE_SID: Rule = sid(
    &["SM", "MM"],
    "use a `sid` from twilio_list_messages or the result of twilio_send_sms",
);
const CALL_SID: Rule = sid(
    &["CA"],
    "use a `sid` from twilio_list_calls or the result of twilio_make_call",
);
const PHONE_SID: Rule = sid(&["PN"], "use a `sid` from twilio_list_phone_numbers");
const RECORDING_SID: Rule = sid(&["RE"], "use a `sid` from twilio_list_recordings");
const ACCOUNT_SID: Rule = sid(&["AC"], "omit `sid` for the current account");

const fn sid(prefixes: &'static [&'static str], source: &'static str) -> Rule {
    Rule::Sid { prefixes, source }
}

/// Maximum characters of a message body.
const BODY_MAX: usize = 1600;
/// Maximum characters of inline TwiML.
const TWIML_MAX: usize = 4000;
/// Largest page Twilio serves.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Twilio's page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: i64 = 50;

const fn send(name: &'static str, wire: &'static str, rule: Rule, required: bool) -> Param {
    Param {
        name,
        wire: Wire::Named(wire),
        rule,
        required,
    }
}

const fn path(name: &'static str, rule: Rule) -> Param {
    Param {
        name,
        wire: Wire::Path,
        rule,
        required: true,
    }
}

const LIMIT: Param = Param {
    name: "limit",
    wire: Wire::Limit,
    rule: Rule::Count {
        min: 1,
        max: i64::MAX,
    },
    required: false,
};

const PAGE_SIZE: Param = Param {
    name: "page_size",
    wire: Wire::PageSize,
    rule: Rule::Count {
        min: 1,
        max: MAX_PAGE_SIZE,
    },
    required: false,
};

/// A POST that creates a resource (201).
const fn create(name: &'static str, path: &'static str, params: &'static [Param]) -> FunctionSpec {
    FunctionSpec {
        name,
        method: Method::Post,
        host: Host::Api,
        path,
        success: 201,
        params,
        cross: &[],
        shape: Shape::Resource,
    }
}

/// A GET of one resource (200).
const fn fetch(name: &'static str, path: &'static str, params: &'static [Param]) -> FunctionSpec {
    FunctionSpec {
        method: Method::Get,
        success: 200,
        ..create(name, path, params)
    }
}

/// A GET of a paged list whose items Twilio calls `items` and the result calls `key`.
const fn list(
    name: &'static str,
    path: &'static str,
    params: &'static [Param],
    items: &'static str,
    key: &'static str,
) -> FunctionSpec {
    FunctionSpec {
        shape: Shape::List { items, key },
        ..fetch(name, path, params)
    }
}

/// The 15 functions, in the reference's order.
pub static FUNCTIONS: &[FunctionSpec] = &[
    create(
        "twilio_send_sms",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        &[
            send("to", "To", Rule::E164, true),
            send("from", "From", Rule::E164, true),
            send("body", "Body", Rule::Text(BODY_MAX), true),
            send("media_url", "MediaUrl", Rule::Url, false),
            send("status_callback", "StatusCallback", Rule::Url, false),
        ],
    ),
    fetch(
        "twilio_get_message",
        "/2010-04-01/Accounts/{AccountSid}/Messages/{message_sid}.json",
        &[path("message_sid", MESSAGE_SID)],
    ),
    list(
        "twilio_list_messages",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        &[
            send("to", "To", Rule::E164, false),
            send("from", "From", Rule::E164, false),
            send("date_sent", "DateSent", Rule::Date, false),
            LIMIT,
            PAGE_SIZE,
        ],
        "messages",
        "messages",
    ),
    FunctionSpec {
        cross: &[Cross::ExactlyOne("url", "twiml")],
        ..create(
            "twilio_make_call",
            "/2010-04-01/Accounts/{AccountSid}/Calls.json",
            &[
                send("to", "To", Rule::E164, true),
                send("from", "From", Rule::E164, true),
                send("url", "Url", Rule::Url, false),
                send("twiml", "Twiml", Rule::Text(TWIML_MAX), false),
                send("status_callback", "StatusCallback", Rule::Url, false),
            ],
        )
    },
    fetch(
        "twilio_get_call",
        "/2010-04-01/Accounts/{AccountSid}/Calls/{call_sid}.json",
        &[path("call_sid", CALL_SID)],
    ),
    list(
        "twilio_list_calls",
        "/2010-04-01/Accounts/{AccountSid}/Calls.json",
        &[
            send("to", "To", Rule::E164, false),
            send("from", "From", Rule::E164, false),
            send("status", "Status", Rule::OneOf(CALL_STATUSES), false),
            LIMIT,
            PAGE_SIZE,
        ],
        "calls",
        "calls",
    ),
    list(
        "twilio_list_phone_numbers",
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json",
        &[LIMIT],
        "incoming_phone_numbers",
        "phone_numbers",
    ),
    fetch(
        "twilio_get_phone_number",
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{phone_sid}.json",
        &[path("phone_sid", PHONE_SID)],
    ),
    FunctionSpec {
        host: Host::Lookups,
        ..fetch(
            "twilio_lookup_phone",
            "/v2/PhoneNumbers/{phone_number}",
            &[
                path("phone_number", Rule::E164),
                send("fields", "Fields", Rule::LookupFields, false),
            ],
        )
    },
    create(
        "twilio_create_usage_trigger",
        "/2010-04-01/Accounts/{AccountSid}/Usage/Triggers.json",
        &[
            send("usage_category", "UsageCategory", Rule::Category, true),
            send("trigger_value", "TriggerValue", Rule::Decimal, true),
            send("callback_url", "CallbackUrl", Rule::Url, true),
            send("recurring", "Recurring", Rule::OneOf(RECURRENCES), false),
        ],
    ),
    list(
        "twilio_list_usage_records",
        "/2010-04-01/Accounts/{AccountSid}/Usage/Records.json",
        &[
            send("category", "Category", Rule::Category, false),
            send("start_date", "StartDate", Rule::Date, false),
            send("end_date", "EndDate", Rule::Date, false),
            LIMIT,
        ],
        "usage_records",
        "usage_records",
    ),
    create(
        "twilio_send_whatsapp",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        &[
            send("to", "To", Rule::WhatsApp, true),
            send("from", "From", Rule::WhatsApp, true),
            send("body", "Body", Rule::Text(BODY_MAX), true),
            send("media_url", "MediaUrl", Rule::Url, false),
        ],
    ),
    fetch(
        "twilio_get_account",
        "/2010-04-01/Accounts/{sid}.json",
        &[Param {
            name: "sid",
            wire: Wire::PathOrAccountSid,
            rule: ACCOUNT_SID,
            required: false,
        }],
    ),
    list(
        "twilio_list_recordings",
        "/2010-04-01/Accounts/{AccountSid}/Recordings.json",
        &[
            send("call_sid", "CallSid", CALL_SID, false),
            send("date_created", "DateCreated", Rule::Date, false),
            LIMIT,
        ],
        "recordings",
        "recordings",
    ),
    FunctionSpec {
        method: Method::Delete,
        success: 204,
        shape: Shape::Deleted,
        ..fetch(
            "twilio_delete_recording",
            "/2010-04-01/Accounts/{AccountSid}/Recordings/{recording_sid}.json",
            &[path("recording_sid", RECORDING_SID)],
        )
    },
];
