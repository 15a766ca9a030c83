//! Incoming requests, decoded once, and their recorded form.

use serde::Serialize;

use crate::auth;
use crate::errors::ApiError;
use crate::util::form;

/// A request as the handlers see it: decoded query, decoded form body and credentials.
#[derive(Clone, Debug)]
pub(crate) struct SimRequest {
    pub method: String,
    pub host: String,
    pub path: String,
    pub raw_query: Option<String>,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub credentials: Option<(String, String)>,
    /// Set when the query or body could not be decoded (bad UTF-8); the pairs are then lossy.
    pub malformed: Option<&'static str>,
}

impl SimRequest {
    /// Decodes the request head and its (already collected) body.
    pub(crate) fn new(parts: &http::request::Parts, body: &[u8]) -> Self {
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let raw_query = parts.uri.query().map(str::to_owned);
        let mut malformed = None;
        let mut decode = |bytes: &[u8], what: &'static str| {
            form::decode(bytes).unwrap_or_else(|()| {
                malformed = Some(what);
                form_urlencoded::parse(bytes).into_owned().collect()
            })
        };
        let query = decode(
            raw_query.as_deref().unwrap_or("").as_bytes(),
            "query string",
        );
        let form = decode(body, "request body");
        SimRequest {
            method: parts.method.as_str().to_owned(),
            host: header("host").unwrap_or_default(),
            path: parts.uri.path().to_owned(),
            credentials: header("authorization").and_then(|value| auth::parse_basic(&value)),
            raw_query,
            query,
            form,
            headers,
            malformed,
        }
    }

    /// The request target: path plus `?query` if any.
    pub(crate) fn target(&self) -> String {
        match &self.raw_query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// The first query parameter `name`.
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        form::first(&self.query, name)
    }

    /// The first form parameter `name`, treating an empty value as absent.
    pub(crate) fn form_param(&self, name: &str) -> Option<&str> {
        form::first(&self.form, name).filter(|value| !value.is_empty())
    }

    /// Every form value of `name` (repeated keys), skipping empty ones.
    pub(crate) fn form_params(&self, name: &str) -> Vec<&str> {
        form::all(&self.form, name)
            .into_iter()
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// A 400 error if the query or body was not decodable.
    pub(crate) fn check_decoded(&self) -> Result<(), ApiError> {
        match self.malformed {
            Some(what) => Err(ApiError::invalid(format!(
                "The {what} is not valid application/x-www-form-urlencoded UTF-8"
            ))),
            None => Ok(()),
        }
    }
}

/// One request the simulator received, with the status it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `"POST"`.
    pub method: String,
    /// The `Host` header (empty if absent).
    pub host: String,
    /// The path, still percent-encoded as sent.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The raw query string, if any.
    pub raw_query: Option<String>,
    /// Decoded form body, repeated keys kept, in order.
    pub form: Vec<(String, String)>,
    /// All headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The Basic-auth username (an `AC` or `SK` SID), if any.
    pub auth_user: Option<String>,
    /// The status the simulator answered; `0` when the connection was reset without a response.
    pub status: u16,
}

impl RecordedRequest {
    /// Records `request` as answered with `status`.
    pub(crate) fn new(request: &SimRequest, status: u16) -> Self {
        RecordedRequest {
            method: request.method.clone(),
            host: request.host.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            raw_query: request.raw_query.clone(),
            form: request.form.clone(),
            headers: request.headers.clone(),
            auth_user: request.credentials.as_ref().map(|(user, _)| user.clone()),
            status,
        }
    }
}
