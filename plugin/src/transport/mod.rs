//! The one way out of the plugin: an HTTP exchange carried by the host. In the component it is
//! `wasi:http/outgoing-handler` (see `component::WasiHttp`); native tests and fuzz targets use
//! the [`recorder`].

#[cfg(any(test, feature = "fuzzing"))]
pub mod recorder;

use std::fmt;

/// HTTP methods the Twilio client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Fetch and list.
    Get,
    /// Create.
    Post,
    /// Delete.
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One outgoing request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// Absolute URL: scheme, authority, path and query.
    pub url: String,
    /// The account name the host authenticates this request as.
    pub account: String,
    /// Extra headers (never `Authorization`: the host refuses it).
    pub headers: Vec<(String, String)>,
    /// The body, for POST (form-encoded).
    pub body: Option<Vec<u8>>,
}

/// A response, whatever its status.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The host's egress refused the request (not one the tenant may make at all); nothing
    /// was sent.
    Denied(String),
    /// The tenant's policy refused the request (a rule or a quota); nothing was sent.
    Policy {
        /// The policy rule, as the host's configuration names it (`allowed_countries`, ...).
        rule: String,
        /// The script's parameter it is about, when there is one.
        field: Option<String>,
        /// What is allowed.
        message: String,
    },
    /// Connecting or waiting for the response took longer than allowed.
    Timeout(String),
    /// The connection failed (refused, reset, DNS, TLS).
    Connection(String),
    /// The response was larger than the host allows.
    TooLarge(String),
    /// The run used up its budget of outbound requests.
    Limit(String),
    /// Anything else the transport reported.
    Other(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Denied(m) => write!(f, "request denied by the host: {m}"),
            TransportError::Policy { rule, message, .. } => {
                write!(f, "refused by the tenant's policy ({rule}): {message}")
            }
            TransportError::Timeout(m) => write!(f, "timed out: {m}"),
            TransportError::Connection(m) => write!(f, "connection failed: {m}"),
            TransportError::TooLarge(m) => write!(f, "response too large: {m}"),
            TransportError::Limit(m) => write!(f, "limit reached: {m}"),
            TransportError::Other(m) => write!(f, "transport error: {m}"),
        }
    }
}

/// Something that performs HTTP exchanges for the Twilio client.
pub trait Transport {
    /// Sends `request` and returns the response, or why there is none.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}
