//! The JSON shape of a finished run, as the sidecar answers it:
//! `{"printed", "value", "error": null | {"kind", "message", "traceback", "value"}, "requests",
//! "elapsed_ms"}`. Every field is always present (`null` when empty), so clients need no
//! special cases.

use serde::Serialize;
use twilio_host::{ErrorKind, RunReport, ScriptError};

/// One run, as JSON.
#[derive(Debug, Serialize)]
pub struct RunJson<'a> {
    /// Everything the script printed.
    pub printed: &'a str,
    /// The return value; `null` when the script failed or returned nothing.
    pub value: Option<&'a serde_json::Value>,
    /// Why the script failed; `null` when it succeeded.
    pub error: Option<ErrorJson<'a>>,
    /// Outbound Twilio requests the run made.
    pub requests: u32,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
}

/// A failed run's error, as JSON.
#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    /// `syntax`, `runtime`, `instruction_limit`, `memory_limit`, `cpu_limit`, `timeout`, `trap`
    /// or `internal`.
    pub kind: ErrorKind,
    /// The message.
    pub message: &'a str,
    /// The Lua traceback, when there is one.
    pub traceback: Option<&'a str>,
    /// The error table (Twilio and validation errors: `kind`, `code`, `status`, ...).
    pub value: Option<&'a serde_json::Value>,
}

impl<'a> RunJson<'a> {
    /// The JSON view of `report`.
    pub fn new(report: &'a RunReport) -> RunJson<'a> {
        let (value, error) = match &report.outcome {
            Ok(value) => (Some(value), None),
            Err(error) => (None, Some(ErrorJson::new(error))),
        };
        RunJson {
            printed: &report.printed,
            value,
            error,
            requests: report.requests,
            elapsed_ms: u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl<'a> ErrorJson<'a> {
    /// The JSON view of `error`.
    pub fn new(error: &'a ScriptError) -> ErrorJson<'a> {
        ErrorJson {
            kind: error.kind,
            message: &error.message,
            traceback: error.traceback.as_deref(),
            value: error.value.as_ref(),
        }
    }
}

/// The snake_case name of an error kind, as in the JSON (`runtime`, `cpu_limit`, ...).
pub fn kind_name(kind: ErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{kind:?}"),
    }
}
