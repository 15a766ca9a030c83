//! Executing one function call: build the request from the spec and the checked arguments, send
//! it (with retries), check the status, decode the JSON and follow pages.

use std::rc::Rc;

use serde_json::{Map, Value as Json};

use super::args::{Arg, Args};
use super::encode;
use super::errors::{ApiError, Kind};
use super::retry::RetryPolicy;
use super::rules;
use super::spec::{DEFAULT_PAGE_SIZE, FunctionSpec, Host, MAX_PAGE_SIZE, Shape, Wire};
use crate::account::Account;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!(
    "twilio-lua-wasm/",
    env!("CARGO_PKG_VERSION"),
    " (wasm32-wasip2)"
);

/// Response keys never handed to scripts: an Account resource carries the account's Auth Token,
/// the secret only the host may hold.
const SECRET_KEYS: &[&str] = &["auth_token"];

/// The status a host answers a side effect with when it recorded it in a plan instead of
/// sending it (plan mode, or a tenant policy's `approval`): the body is the pending result
/// the script gets, whatever the function's usual shape. Twilio answers none of these
/// requests with it.
const PLANNED_STATUS: u16 = 202;

/// How much of a non-JSON body an error message quotes, in characters.
const BODY_EXCERPT_CHARS: usize = 200;

/// Sends the requests of function calls through a [`Transport`].
pub struct Client {
    transport: Rc<dyn Transport>,
    retry: RetryPolicy,
}

impl Client {
    /// A client over `transport` that retries as `retry` says.
    pub fn new(transport: Rc<dyn Transport>, retry: RetryPolicy) -> Client {
        Client { transport, retry }
    }

    /// Performs `spec`'s operation for `account` and returns the result as JSON (the value the
    /// script gets, before it becomes a Lua table).
    pub fn call(
        &self,
        spec: &'static FunctionSpec,
        account: &Account,
        args: &Args,
    ) -> Result<Json, ApiError> {
        let call = Call {
            client: self,
            spec,
            account,
        };
        let path = call.path(args)?;
        let mut pairs: Vec<(&str, String)> = args
            .iter()
            .filter_map(|(param, arg)| match (param.wire, arg) {
                (Wire::Named(name), Arg::Text(text)) => Some((name, text.clone())),
                (Wire::Named(name), Arg::Int(number)) => Some((name, number.to_string())),
                _ => None,
            })
            .collect();
        let limit = args.int("limit");
        if let Shape::List { .. } = spec.shape {
            pairs.push((
                "PageSize",
                page_size(args.int("page_size"), limit).to_string(),
            ));
        }
        let base = match spec.host {
            Host::Api => &account.api_base_url,
            Host::Lookups => &account.lookups_base_url,
        };
        let mut url = encode::join(base, &path);
        let mut body = None;
        if spec.method == Method::Post {
            body = Some(encode::form(&pairs));
        } else if !pairs.is_empty() {
            url = format!("{url}?{}", encode::form(&pairs));
        }
        match spec.shape {
            Shape::Resource => call
                .fetch(url, body)
                .and_then(|response| call.object(&response))
                .map(Json::Object),
            Shape::Deleted => {
                let response = call.fetch(url, body)?;
                if response.status == PLANNED_STATUS {
                    return call.object(&response).map(Json::Object);
                }
                let sid = args
                    .iter()
                    .find(|(param, _)| param.wire == Wire::Path)
                    .map(|(_, arg)| arg);
                let sid = match sid {
                    Some(Arg::Text(sid)) => Json::String(sid.clone()),
                    _ => Json::Null,
                };
                Ok(serde_json::json!({"deleted": true, "sid": sid}))
            }
            Shape::List { items, key } => {
                let limit = limit
                    .and_then(|l| usize::try_from(l).ok())
                    .unwrap_or(usize::MAX);
                let all = call.list(url, &path, items, limit)?;
                let mut result = Map::new();
                result.insert(key.to_owned(), Json::Array(all));
                Ok(Json::Object(result))
            }
        }
    }

    /// Sends `request`, repeating it while the retry policy allows.
    fn exchange(&self, function: &str, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let mut retry = 0;
        loop {
            let outcome = self.transport.send(request);
            let Some(wait) = self.retry.delay(request.method, &outcome, retry) else {
                return outcome.map_err(|error| ApiError::transport(function, &error));
            };
            if let Some(note) = self.retry.past_deadline(wait) {
                let error = match outcome {
                    Ok(response) => twilio_error(function, &response),
                    Err(error) => ApiError::transport(function, &error),
                };
                return Err(error.with_note(&note));
            }
            (self.retry.sleep)(wait);
            retry += 1;
        }
    }
}

/// `PageSize`: the page size asked for, else the limit, within 1..=1000; 50 with neither.
pub fn page_size(page_size: Option<i64>, limit: Option<i64>) -> i64 {
    match (page_size, limit) {
        (Some(size), Some(limit)) => size.min(limit),
        (Some(size), None) => size,
        (None, Some(limit)) => limit.min(MAX_PAGE_SIZE),
        (None, None) => DEFAULT_PAGE_SIZE,
    }
    .clamp(1, MAX_PAGE_SIZE)
}

/// One call in progress.
struct Call<'a> {
    client: &'a Client,
    spec: &'static FunctionSpec,
    account: &'a Account,
}

impl Call<'_> {
    fn path(&self, args: &Args) -> Result<String, ApiError> {
        encode::fill_path(self.spec.path, |name| {
            let param = self.spec.param(name);
            let value = match (name, param.map(|p| p.wire)) {
                ("AccountSid", _) | (_, Some(Wire::PathOrAccountSid))
                    if args.text(name).is_none() =>
                {
                    self.account.account_sid.clone()
                }
                _ => args.text(name).unwrap_or_default().to_owned(),
            };
            if rules::path_safe(&value) {
                Ok(value)
            } else {
                let field = if param.is_some() { name } else { "account" };
                Err(format!(
                    "{field}: {} cannot be part of a URL path",
                    rules::quote(&value)
                ))
            }
        })
        .map_err(|reason| match reason.split_once(": ") {
            Some((field, why)) => ApiError::validation(self.spec.name, field, why),
            None => ApiError::validation(self.spec.name, "path", &reason),
        })
    }

    /// Sends one request and checks its status.
    fn fetch(&self, url: String, body: Option<String>) -> Result<HttpResponse, ApiError> {
        let method = self.spec.method;
        let mut headers = vec![("User-Agent".to_owned(), USER_AGENT.to_owned())];
        if method != Method::Delete {
            headers.push(("Accept".to_owned(), "application/json".to_owned()));
        }
        if body.is_some() {
            headers.push((
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
        }
        let request = HttpRequest {
            method,
            url,
            account: self.account.name.clone(),
            headers,
            body: body.map(String::into_bytes),
        };
        let response = self.client.exchange(self.spec.name, &request)?;
        match response.status {
            status if status == self.spec.success => Ok(response),
            PLANNED_STATUS if method != Method::Get => Ok(response),
            status if status >= 400 => Err(twilio_error(self.spec.name, &response)),
            status => Err(self.bad_response(
                status,
                &format!("expected HTTP {}, got HTTP {status}", self.spec.success),
            )),
        }
    }

    /// Fetches pages from `url` (the list at `path`) on, following `next_page_uri`, until `limit`
    /// items or the last page.
    fn list(
        &self,
        mut url: String,
        path: &str,
        items_key: &str,
        limit: usize,
    ) -> Result<Vec<Json>, ApiError> {
        let mut all = Vec::new();
        loop {
            let response = self.fetch(url, None)?;
            let mut page = self.object(&response)?;
            let Some(Json::Array(items)) = page.remove(items_key) else {
                return Err(self.bad_response(
                    response.status,
                    &format!("the page has no \"{items_key}\" array"),
                ));
            };
            let empty = items.is_empty();
            all.extend(items.into_iter().take(limit - all.len()).map(|mut item| {
                if let Json::Object(fields) = &mut item {
                    redact(fields);
                }
                item
            }));
            if all.len() >= limit || empty {
                return Ok(all);
            }
            match page.get("next_page_uri") {
                Some(Json::String(next)) if !next.is_empty() => {
                    if !is_next_page(path, next) {
                        return Err(self.bad_response(
                            response.status,
                            &format!(
                                "\"next_page_uri\" is not a page of this list: {}",
                                excerpt(next.as_bytes())
                            ),
                        ));
                    }
                    url = encode::join(&self.account.api_base_url, next)
                }
                None | Some(Json::Null) | Some(Json::String(_)) => return Ok(all),
                Some(_) => {
                    return Err(
                        self.bad_response(response.status, "\"next_page_uri\" is not a string")
                    );
                }
            }
        }
    }

    /// The response body as a JSON object.
    fn object(&self, response: &HttpResponse) -> Result<Map<String, Json>, ApiError> {
        match serde_json::from_slice::<Json>(&response.body) {
            Ok(Json::Object(mut map)) => {
                redact(&mut map);
                Ok(map)
            }
            Ok(_) => Err(self.bad_response(response.status, "the body is JSON but not an object")),
            Err(error) if error.is_eof() && !response.body.is_empty() => Err(self.bad_response(
                response.status,
                &format!("the JSON body is cut short ({} bytes)", response.body.len()),
            )),
            Err(_) => Err(self.bad_response(
                response.status,
                &format!("the body is not JSON: {}", excerpt(&response.body)),
            )),
        }
    }

    fn bad_response(&self, status: u16, what: &str) -> ApiError {
        ApiError::failed(
            Kind::Response,
            self.spec.name,
            Some(status),
            &format!("HTTP {status} response from Twilio is malformed: {what}"),
        )
    }
}

/// Whether `next` (a `next_page_uri`) is another page of the list at `path`: Twilio's is the
/// list's own path with paging parameters in the query. Another path, or characters a URL cannot
/// carry as they are, would send the follow-up request somewhere the script never asked for.
fn is_next_page(path: &str, next: &str) -> bool {
    let next_path = next.split('?').next().unwrap_or_default();
    next_path.trim_start_matches('/') == path.trim_start_matches('/')
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

/// Removes the [`SECRET_KEYS`] from a response object.
fn redact(fields: &mut Map<String, Json>) {
    for key in SECRET_KEYS {
        fields.remove(*key);
    }
}

/// The error for a 4xx or 5xx response. A body in Twilio's `{code, message, more_info}` shape
/// gives its code; any other body gives the HTTP status as the code and its text as the message.
fn twilio_error(function: &str, response: &HttpResponse) -> ApiError {
    let json: Option<Map<String, Json>> = match serde_json::from_slice(&response.body) {
        Ok(Json::Object(map)) => Some(map),
        _ => None,
    };
    let field = |name: &str| json.as_ref().and_then(|map| map.get(name));
    let text = |name: &str| field(name).and_then(Json::as_str).map(str::to_owned);
    let code = field("code").and_then(Json::as_i64);
    let message = text("message")
        .or_else(|| text("detail"))
        .or_else(|| text("title"));
    let more_info = text("more_info").filter(|link| !link.is_empty());
    match (code, message) {
        (Some(code), Some(message)) => {
            ApiError::twilio(function, response.status, code, message, more_info, true)
        }
        (_, message) => {
            let message = message.unwrap_or_else(|| match excerpt(&response.body) {
                body if body.is_empty() => "the response body is empty".to_owned(),
                body => body,
            });
            ApiError::twilio(
                function,
                response.status,
                i64::from(response.status),
                message,
                more_info,
                false,
            )
        }
    }
}

/// The start of a body as text, for messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut cut: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}
