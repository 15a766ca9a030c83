//! Twilio-style error bodies: `{"code","message","more_info","status"}`.

use serde_json::{Value, json};

use crate::reply::Reply;

/// Twilio's generic "invalid parameter" code, used where the docs name no specific code.
pub(crate) const INVALID_PARAMETER: u32 = 20001;

/// An API error answered with a Twilio JSON error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Twilio error code.
    pub code: u32,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with an explicit status.
    pub(crate) fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 error.
    pub(crate) fn bad_request(code: u32, message: impl Into<String>) -> Self {
        ApiError::new(400, code, message)
    }

    /// A 400 "invalid parameter" error (code 20001).
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ApiError::bad_request(INVALID_PARAMETER, message)
    }

    /// 404 / 20404 for `path`.
    pub(crate) fn not_found(path: &str) -> Self {
        ApiError::new(
            404,
            20404,
            format!("The requested resource {path} was not found"),
        )
    }

    /// 401 / 20003.
    pub(crate) fn unauthorized() -> Self {
        ApiError::new(401, 20003, "Authenticate")
    }

    /// The JSON error body.
    pub(crate) fn body(&self) -> Value {
        error_body(self.status, self.code, &self.message)
    }

    /// The full reply.
    pub(crate) fn into_reply(self) -> Reply {
        Reply::json(self.status, &self.body())
    }
}

/// `{"code","message","more_info","status"}`.
pub(crate) fn error_body(status: u16, code: u32, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

/// The Twilio code that usually accompanies an HTTP status (20429 for 429, 20500 for 500, …).
pub(crate) fn code_for_status(status: u16) -> u32 {
    match status {
        401 => 20003,
        403 => 20403,
        404 => 20404,
        405 => 20004,
        429 => 20429,
        500..=599 => 20000 + u32::from(status),
        _ => u32::from(status),
    }
}

/// The canonical reason phrase of `status` (`"Unknown"` if none).
pub(crate) fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}
