//! What the property tests (`tests/properties.rs`) and the cargo-fuzz targets (`fuzz/`) share:
//! a recording transport with a request budget, a probe that calls one function from Lua and
//! reports what the script saw, and the checks every outcome must pass. Built for tests and with
//! the `fuzzing` feature only.

use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::client::Client;
use super::retry::RetryPolicy;
use super::spec::{Cross, FunctionSpec, Host, Rule, Shape, Wire};
use crate::account::Account;
use crate::runner::{self, FailureKind};
use crate::sandbox::Limits;
use crate::transport::recorder::{REQUEST_BUDGET, Recorder};
use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// The SID of the account probes run as.
pub const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A 32-digit hex tail for SIDs.
const HEX: &str = "0123456789abcdef0123456789abcdef";

/// The `kind`s an error table may have.
pub const ERROR_KINDS: &[&str] = &[
    "validation",
    "twilio",
    "denied",
    "policy",
    "timeout",
    "transport",
    "limit",
    "response",
];

/// Numbers at the edges, as Lua expressions: NaN, -0.0, infinities, the integer limits, floats
/// past 2^63.
pub const EDGE_NUMBERS: &[&str] = &[
    "0/0",
    "-0.0",
    "math.huge",
    "-math.huge",
    "math.maxinteger",
    "math.mininteger",
    "2^53 + 1",
    "2^63",
    "-(2^63)",
    "1e308 * 10",
    "5e-324",
];

/// Strings close to what the rules accept, and tricky for URLs.
pub const NEAR_MISSES: &[&str] = &[
    "+15551234567",
    "+1",
    "whatsapp:+15551234567",
    "whatsapp:",
    "2026-02-30",
    "https://",
    "https://a.b/../c",
    "SM",
    "../../Accounts/ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "a/b?c#d",
    "%2e%2e",
    "caller_name,,sim_swap",
    "",
    " ",
];

/// Values that are not data, as Lua expressions.
pub const ODD_VALUES: &[&str] = &[
    "nil",
    "true",
    "false",
    "print",
    "function() error('from a function') end",
    "coroutine.create(function() end)",
    "app.integrations.twilio",
    "_G",
];

/// Metatable fields that throw or misbehave.
pub const HOSTILE_METAMETHODS: &[&str] = &[
    "__index = function() error('__index') end",
    "__newindex = function() error('__newindex') end",
    "__tostring = function() error('__tostring') end",
    "__pairs = function() error('__pairs') end",
    "__len = function() error('__len') end",
    "__eq = function() error('__eq') end",
    "__call = function() error('__call') end",
    "__concat = function() error('__concat') end",
    "__index = function(t, k) return t[k] end",
    "__tostring = function() return {} end",
    "__len = function() return 0/0 end",
    "__name = {}",
    "__metatable = 'locked'",
];

/// Keys of Twilio responses, for generated response bodies.
pub const RESPONSE_KEYS: &[&str] = &[
    "sid",
    "messages",
    "calls",
    "incoming_phone_numbers",
    "usage_records",
    "recordings",
    "next_page_uri",
    "code",
    "message",
    "more_info",
    "status",
    "auth_token",
    "detail",
];

/// A successful answer of the shape `spec` expects (a resource, a one-page list, a 204).
pub fn success(spec: &FunctionSpec) -> HttpResponse {
    let body = match spec.shape {
        Shape::Deleted => String::new(),
        Shape::Resource => json!({"sid": format!("XX{HEX}"), "status": "ok"}).to_string(),
        Shape::List { items, .. } => {
            json!({items: [{"sid": format!("XX{HEX}")}], "next_page_uri": null}).to_string()
        }
    };
    HttpResponse {
        status: spec.success,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into_bytes(),
    }
}

/// A Lua string literal for arbitrary bytes (invalid UTF-8 included), escaped byte by byte.
pub fn lua_bytes(bytes: &[u8]) -> String {
    let mut literal = String::with_capacity(bytes.len() + 2);
    literal.push('"');
    for &byte in bytes {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b' ' | b'+' | b':' | b'/' | b'.' | b'-' => {
                literal.push(byte as char)
            }
            _ => literal.push_str(&format!("\\{byte:03}")),
        }
    }
    literal.push('"');
    literal
}

/// A value `rule` accepts, as a Lua literal.
pub fn plausible(rule: &Rule) -> String {
    let text = match rule {
        Rule::E164 => "+15551234567".to_owned(),
        Rule::WhatsApp => "whatsapp:+15551234567".to_owned(),
        Rule::Text(_) => "hello".to_owned(),
        Rule::Sid { prefixes, .. } => format!("{}{HEX}", prefixes[0]),
        Rule::Date => "2026-01-31".to_owned(),
        Rule::Url => "https://example.com/hook?a=1&b=2".to_owned(),
        Rule::OneOf(values) => values[0].to_owned(),
        Rule::LookupFields => "caller_name,line_type_intelligence".to_owned(),
        Rule::Decimal => "-12.50".to_owned(),
        Rule::Category => "sms".to_owned(),
        Rule::Count { min, max } => return (min + (max - min) / 2).to_string(),
    };
    lua_bytes(text.as_bytes())
}

/// Arguments `spec` accepts: every required parameter (and the first of an exactly-one pair)
/// with a plausible value, as a Lua table constructor.
pub fn valid_arguments(spec: &FunctionSpec) -> String {
    let in_pair = |name: &str, first: bool| {
        spec.cross.iter().any(
            |Cross::ExactlyOne(a, b)| {
                if first { *a == name } else { *b == name }
            },
        )
    };
    let fields: Vec<String> = spec
        .params
        .iter()
        .filter(|p| (p.required || in_pair(p.name, true)) && !in_pair(p.name, false))
        .filter(|p| p.wire != Wire::Limit || p.required)
        .map(|p| format!("{} = {}", p.name, plausible(&p.rule)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// What one call produced, as the script saw it.
#[derive(Debug)]
pub enum Seen {
    /// Building the arguments raised or ran out of memory or instructions: the script's own
    /// limits, before the function ran.
    ArgumentsRaised,
    /// The function returned; `table` says whether the result was a table.
    Returned {
        /// Whether the result was a table.
        table: bool,
    },
    /// The function raised this (JSON of the error table's fields).
    Raised(Json),
}

/// Lua that builds `arguments` (an expression list), calls `function` with them under `pcall`
/// and returns what happened.
fn probe(function: &str, arguments: &str) -> String {
    format!(
        r#"local built, args = pcall(function() return table.pack({arguments}) end)
           if not built then return {{arguments_raised = true}} end
           local ok, result = pcall(app.integrations.twilio.{function}, table.unpack(args, 1, args.n))
           if ok then return {{ok = true, table = type(result) == "table"}} end
           if type(result) ~= "table" then return {{ok = false, raw = type(result)}} end
           local fields = {{}}
           for _, key in ipairs({{"kind", "function", "field", "rule", "message", "status", "code", "more_info"}}) do
             local value = rawget(result, key)
             if value ~= nil and type(value) ~= "string" and math.type(value) ~= "integer" then
               value = {{not_text = type(value)}}
             end
             fields[key] = value
           end
           fields.text = tostring(result)
           return {{ok = false, error = fields}}"#
    )
}

/// Calls `function` with `arguments` as the `default` account on Twilio's hosts, over
/// `transport`, retrying without waiting.
pub fn call(function: &str, arguments: &str, transport: Rc<dyn Transport>) -> Result<Seen, String> {
    let accounts = vec![Account {
        name: "default".into(),
        account_sid: ACCOUNT_SID.into(),
        api_base_url: "https://api.twilio.com".into(),
        lookups_base_url: "https://lookups.twilio.com".into(),
    }];
    let retry = RetryPolicy {
        sleep: Rc::new(|_: Duration| {}),
        random: Rc::new(|| 0.5),
        ..RetryPolicy::standard()
    };
    let limits = Limits {
        memory_bytes: 64 << 20,
        instructions: 100_000_000,
    };
    let output = runner::run_collecting_output(&probe(function, arguments), limits, |lua| {
        super::namespace::bind(lua, accounts, Client::new(transport, retry))
    });
    let text = match output.outcome {
        Ok(text) => text,
        Err(failure)
            if matches!(
                failure.kind,
                FailureKind::MemoryLimit | FailureKind::InstructionLimit
            ) =>
        {
            return Ok(Seen::ArgumentsRaised);
        }
        Err(failure) => {
            return Err(format!(
                "{function}({arguments}) ended the run: {failure:?}"
            ));
        }
    };
    let seen: Json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(if seen["arguments_raised"] == true {
        Seen::ArgumentsRaised
    } else if seen["ok"] == true {
        Seen::Returned {
            table: seen["table"] == true,
        }
    } else {
        Seen::Raised(seen["error"].clone())
    })
}

/// Fails with `message` unless `condition`.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

/// An error table has a known kind, names `function` (in its message too, except for a `twilio`
/// error, whose message is Twilio's own) and has text fields.
pub fn check_error(function: &str, error: &Json) -> Result<(), String> {
    let kind = error["kind"].as_str().unwrap_or_default();
    ensure!(ERROR_KINDS.contains(&kind), "{function}: bad error {error}");
    ensure!(error["function"] == function, "wrong function: {error}");
    let message = error["message"].as_str();
    ensure!(message.is_some(), "no message: {error}");
    ensure!(
        kind == "twilio" || message.is_some_and(|m| m.starts_with(function)),
        "message does not name {function}: {error}"
    );
    ensure!(
        error["text"].as_str().is_some_and(|t| t.contains(function)),
        "tostring does not name {function}: {error}"
    );
    ensure!(
        kind != "validation" || error["field"].is_string(),
        "validation error without a field: {error}"
    );
    Ok(())
}

/// `%XX` escapes are well-formed and the decoded text is UTF-8 (`+` means a space).
fn decodes(encoded: &str) -> bool {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match encoded
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(byte) => {
                    decoded.push(byte);
                    i += 3;
                }
                None => return false,
            },
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            byte => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).is_ok()
}

/// `k=v&k=v` where every name and value decodes.
fn form_decodes(form: &str) -> bool {
    form.is_empty()
        || form.split('&').all(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, v)| !k.is_empty() && decodes(k) && decodes(v))
        })
}

/// The request goes to the account's endpoint for `spec`, under the API's path.
pub fn check_origin(spec: &FunctionSpec, request: &HttpRequest) -> Result<(), String> {
    let base = match spec.host {
        Host::Api => "https://api.twilio.com/2010-04-01/Accounts/",
        Host::Lookups => "https://lookups.twilio.com/v2/PhoneNumbers/",
    };
    ensure!(
        request.url.starts_with(base),
        "{} not under {base}",
        request.url
    );
    Ok(())
}

/// A request is for the spec's method and the account's endpoint, with a clean URL, a form body
/// only for POST, and headers that cannot split.
pub fn check_request(spec: &FunctionSpec, request: &HttpRequest) -> Result<(), String> {
    ensure!(request.method == spec.method, "method of {request:?}");
    ensure!(request.account == "default", "account of {request:?}");
    check_origin(spec, request)?;
    let url = &request.url;
    ensure!(
        url.bytes().all(|b| b.is_ascii_graphic() && b != b'#'),
        "unsendable URL {url}"
    );
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = &path["https://".len()..];
    ensure!(
        path.split('/')
            .skip(1)
            .all(|segment| !segment.is_empty() && segment != "." && segment != ".."),
        "empty or dot segment in {url}"
    );
    ensure!(
        path.split('/').all(decodes),
        "path of {url} does not decode"
    );
    ensure!(form_decodes(query), "query of {url} does not decode");
    match (&request.body, spec.method) {
        (Some(body), Method::Post) => {
            let body = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            ensure!(
                body.is_ascii() && form_decodes(body),
                "body {body:?} does not decode"
            );
        }
        (None, Method::Get | Method::Delete) => {}
        (body, method) => return Err(format!("{method:?} with body {body:?}")),
    }
    for (name, value) in &request.headers {
        ensure!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
            "header name {name:?}"
        );
        ensure!(
            !value.contains(['\r', '\n', '\0']),
            "header {name}: {value:?}"
        );
    }
    Ok(())
}

/// Calls `spec`'s function with `arguments` over a transport answering with success: a
/// validation error sends nothing; anything else sends only well-formed requests.
pub fn check_arguments(spec: &'static FunctionSpec, arguments: &str) -> Result<(), String> {
    let recorder = Recorder::new(|_| Ok(success(spec)));
    let seen = call(spec.name, arguments, recorder.clone())?;
    let requests = recorder.requests();
    match &seen {
        Seen::ArgumentsRaised => ensure!(requests.is_empty(), "sent while building arguments"),
        Seen::Returned { table } => {
            ensure!(*table, "{}({arguments}) returned a non-table", spec.name);
            ensure!(!requests.is_empty(), "returned without a request");
        }
        Seen::Raised(error) => {
            check_error(spec.name, error)?;
            ensure!(
                error["kind"] != "validation" || requests.is_empty(),
                "validation error after sending: {error}"
            );
        }
    }
    requests
        .iter()
        .try_for_each(|request| check_request(spec, request))
}

/// Calls `spec`'s function with valid arguments over a transport answering every request with
/// `response`: a result table or a non-validation error table, and requests only to the
/// account's endpoint.
pub fn check_response(
    spec: &'static FunctionSpec,
    response: Result<HttpResponse, TransportError>,
) -> Result<(), String> {
    let recorder = Recorder::new(move |_| response.clone());
    match call(spec.name, &valid_arguments(spec), recorder.clone())? {
        Seen::Returned { table } => ensure!(table, "returned a non-table"),
        Seen::Raised(error) => {
            check_error(spec.name, &error)?;
            ensure!(
                error["kind"] != "validation",
                "valid arguments refused: {error}"
            );
        }
        Seen::ArgumentsRaised => return Err("valid arguments raised".into()),
    }
    let requests = recorder.requests();
    ensure!(requests.len() <= REQUEST_BUDGET + 1, "past the budget");
    requests
        .iter()
        .try_for_each(|request| check_origin(spec, request))
}
