//! What a run produced, as the host reports it to its caller.

use std::time::Duration;

use serde::Serialize;

/// The result of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Everything the script printed.
    pub printed: String,
    /// The script's return value (JSON), or why it failed.
    pub outcome: Result<serde_json::Value, ScriptError>,
    /// Outbound requests the run made.
    pub requests: u32,
    /// Wall time of the run.
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
}

/// Why a run failed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScriptError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// The Lua traceback, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
    /// The error value when it was a table (Twilio and validation errors): `code`, `status`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// Classes of run failure.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The script does not compile.
    Syntax,
    /// The script raised an error.
    Runtime,
    /// The Lua instruction budget ran out.
    InstructionLimit,
    /// The memory cap was reached.
    MemoryLimit,
    /// The CPU budget ran out.
    CpuLimit,
    /// The run took longer than its wall-clock limit.
    Timeout,
    /// The guest trapped (a bug in the plugin, never expected).
    Trap,
    /// The run could not be started.
    Internal,
}

impl ScriptError {
    /// An error with just a kind and a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ScriptError {
        ScriptError {
            kind,
            message: message.into(),
            traceback: None,
            value: None,
        }
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_millis() as u64)
}
