//! What a run produced, as the host reports it to its caller.
//!
//! As JSON (the sidecar's answer, and what platforms store), a report is
//! `{"run_id", "printed", "value", "error": null | {"kind", "message", "traceback", "value"},
//! "requests", "elapsed_ms", "needs_approval", "plan", "execution"}`, every field always
//! present (`null` when empty): `plan` is the plan a planning run stored
//! ([`crate::plan::Plan::summary`]), `needs_approval` says there is one, `execution` is how
//! an approved plan's run went.

use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::bindings::exports::twilio::lua::runner::{ErrorKind as WitKind, RunError};
use crate::plan::Plan;
use crate::plan::gate::Execution;

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run's id (a UUID v7: it sorts by start time), which its audit records carry.
    pub run_id: String,
    /// Everything the script printed.
    pub printed: String,
    /// The script's return value (JSON), or why it failed.
    pub outcome: Result<serde_json::Value, ScriptError>,
    /// Outbound requests the run made.
    pub requests: u32,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The plan the run stored instead of sending side effects (plan mode, or the tenant's
    /// `approval`): the run needs approval.
    pub plan: Option<Plan>,
    /// How the run of an approved plan went.
    pub execution: Option<Execution>,
}

/// Why a run failed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScriptError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// The Lua traceback, when there is one.
    pub traceback: Option<String>,
    /// The error value when it was a table (Twilio and validation errors): `code`, `status`, ...
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

impl ErrorKind {
    /// The kind's name as in JSON: `syntax`, `runtime`, `cpu_limit`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Runtime => "runtime",
            ErrorKind::InstructionLimit => "instruction_limit",
            ErrorKind::MemoryLimit => "memory_limit",
            ErrorKind::CpuLimit => "cpu_limit",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Trap => "trap",
            ErrorKind::Internal => "internal",
        }
    }
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

impl From<RunError> for ScriptError {
    /// The plugin's own report of a failed run (the kinds it can tell from inside Lua).
    fn from(error: RunError) -> ScriptError {
        ScriptError {
            kind: match error.kind {
                WitKind::Syntax => ErrorKind::Syntax,
                WitKind::Runtime => ErrorKind::Runtime,
                WitKind::InstructionLimit => ErrorKind::InstructionLimit,
                WitKind::MemoryLimit => ErrorKind::MemoryLimit,
                WitKind::Internal => ErrorKind::Internal,
            },
            message: error.message,
            traceback: error.traceback,
            value: error
                .value_json
                .and_then(|text| serde_json::from_str(&text).ok()),
        }
    }
}

impl ScriptError {
    /// The failure as a person (or an agent) reads it: kind and message, the error table's
    /// kind, rule, field, Twilio code and HTTP status when there are some, and the traceback
    /// (no final newline).
    pub fn describe(&self) -> String {
        let mut text = format!("error ({}): {}\n", self.kind.as_str(), self.message);
        if let Some(value) = &self.value {
            let field = |name: &str| value.get(name).filter(|v| !v.is_null());
            if let Some(kind) = field("kind").and_then(|k| k.as_str()) {
                text.push_str(&format!("error kind: {kind}"));
                let about: Vec<String> = ["rule", "field"]
                    .into_iter()
                    .filter_map(|name| {
                        field(name)
                            .and_then(|v| v.as_str())
                            .map(|v| format!("{name} {v}"))
                    })
                    .collect();
                if !about.is_empty() {
                    text.push_str(&format!(" ({})", about.join(", ")));
                }
                text.push('\n');
            }
            if let Some(code) = field("code") {
                text.push_str(&format!("twilio code: {code}"));
                if let Some(status) = field("status") {
                    text.push_str(&format!(", HTTP status: {status}"));
                }
                text.push('\n');
            }
        }
        if let Some(traceback) = &self.traceback {
            text.push_str(traceback);
        }
        text.trim_end().to_string()
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl Serialize for RunReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (value, error) = match &self.outcome {
            Ok(value) => (Some(value), None),
            Err(error) => (None, Some(error)),
        };
        let mut report = serializer.serialize_struct("RunReport", 9)?;
        report.serialize_field("run_id", &self.run_id)?;
        report.serialize_field("printed", &self.printed)?;
        report.serialize_field("value", &value)?;
        report.serialize_field("error", &error)?;
        report.serialize_field("requests", &self.requests)?;
        report.serialize_field(
            "elapsed_ms",
            &u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        )?;
        report.serialize_field("needs_approval", &self.plan.is_some())?;
        report.serialize_field("plan", &self.plan.as_ref().map(Plan::summary))?;
        report.serialize_field("execution", &self.execution)?;
        report.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_serialise_with_every_field_present() {
        let ok = RunReport {
            run_id: "0190".into(),
            printed: "hi\n".into(),
            outcome: Ok(json!({"a": 1})),
            requests: 2,
            elapsed: Duration::from_millis(7),
            plan: None,
            execution: None,
        };
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"run_id": "0190", "printed": "hi\n", "value": {"a": 1}, "error": null, "requests": 2, "elapsed_ms": 7, "needs_approval": false, "plan": null, "execution": null})
        );
        let failed = RunReport {
            outcome: Err(ScriptError::new(ErrorKind::CpuLimit, "spent")),
            ..ok
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap()["error"],
            json!({"kind": "cpu_limit", "message": "spent", "traceback": null, "value": null})
        );
        assert_eq!(
            ErrorKind::InstructionLimit.as_str(),
            serde_json::to_value(ErrorKind::InstructionLimit).unwrap()
        );
    }
}
