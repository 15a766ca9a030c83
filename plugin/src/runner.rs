//! One run of one script: compile it, call it under a message handler that records the error and
//! its traceback, and turn the outcome into printed output plus JSON or a classified failure.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Value};

use crate::json;
use crate::output::{Buffer, Output};
use crate::sandbox::{Limits, Sandbox};

/// Cap on the JSON of a return value or an error table, in bytes.
const MAX_RESULT_JSON_BYTES: usize = 8 << 20;

/// Headroom the error handler gets above the memory cap, to build a traceback for an error
/// caused by running out of memory.
const HANDLER_MEMORY_HEADROOM: usize = 1 << 20;

/// Why a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The script does not compile.
    Syntax,
    /// The script raised an error.
    Runtime,
    /// The instruction budget ran out.
    InstructionLimit,
    /// The Lua heap cap was reached.
    MemoryLimit,
    /// The sandbox could not be set up.
    Internal,
}

/// A failed run.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The class of failure.
    pub kind: FailureKind,
    /// The error message.
    pub message: String,
    /// The Lua traceback where the error was raised.
    pub traceback: Option<String>,
    /// The error value as JSON when it was a table.
    pub value_json: Option<String>,
}

impl Failure {
    /// The sandbox could not be set up: `message` says why.
    pub fn internal(message: String) -> Failure {
        failure(FailureKind::Internal, message)
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// Everything printed, even when the run failed.
    pub printed: String,
    /// The return value as JSON, or the failure.
    pub outcome: Result<String, Failure>,
}

/// The error value and traceback the message handler saw last.
#[derive(Default)]
struct RaisedError {
    value: Option<Value>,
    traceback: Option<String>,
}

/// Runs `script` in `sandbox`, a sandbox that has run nothing yet (the component's
/// pre-initialised one, or a new one): arms `limits`, lets `bind` give the namespace the run's
/// accounts and transport, runs the script, and returns its return value as JSON or the
/// failure. This is the one way a script runs. The sandbox must not run anything else
/// afterwards; dropping it closes the Lua state, which runs the finalizers still pending
/// ([`crate::sandbox::ScriptEnded`] says what they may do).
pub fn run(
    sandbox: &Sandbox,
    script: &str,
    limits: Limits,
    bind: impl FnOnce(&Lua) -> mlua::Result<()>,
) -> Result<String, Failure> {
    let in_use = sandbox.lua.used_memory();
    sandbox
        .arm(limits)
        .and_then(|()| bind(&sandbox.lua))
        .map_err(|error| match error {
            mlua::Error::MemoryError(_) => failure(
                FailureKind::MemoryLimit,
                format!(
                    "the Lua memory cap of {} bytes leaves no room to set up the run (the sandbox \
                     alone uses {in_use} bytes); allow more",
                    limits.memory_bytes
                ),
            ),
            other => failure(FailureKind::Internal, other.to_string()),
        })?;
    execute(sandbox, script, limits)
}

/// [`run`] in a new sandbox whose `print` output is collected in memory: how native callers
/// (tests, benchmarks, fuzz targets) run a script.
pub fn run_collecting_output(
    script: &str,
    limits: Limits,
    bind: impl FnOnce(&Lua) -> mlua::Result<()>,
) -> RunOutput {
    let buffer = Rc::new(Buffer::default());
    let outcome = Sandbox::new(Rc::clone(&buffer) as Rc<dyn Output>)
        .map_err(|error| Failure::internal(error.to_string()))
        .and_then(|sandbox| run(&sandbox, script, limits, bind));
    RunOutput {
        printed: buffer.take(),
        outcome,
    }
}

fn execute(sandbox: &Sandbox, script: &str, limits: Limits) -> Result<String, Failure> {
    let lua = &sandbox.lua;
    let chunk = lua
        .load(script)
        .set_name("=script")
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()
        .map_err(|error| compile_failure(sandbox, error))?;
    let raised = Rc::new(RefCell::new(RaisedError::default()));
    let handler = message_handler(lua, Rc::clone(&raised), limits.memory_bytes)
        .map_err(|e| failure(FailureKind::Internal, e.to_string()))?;
    let xpcall: Function = lua
        .globals()
        .get("xpcall")
        .map_err(|e| failure(FailureKind::Internal, e.to_string()))?;
    let result = xpcall.call::<MultiValue>((chunk, handler));
    sandbox.end_script();
    // The script is over: lift the Lua cap so reporting cannot fail for want of memory (the
    // host's cap on the whole instance still holds).
    let _ = lua.set_memory_limit(0);
    let mut values = match result {
        Ok(values) => values,
        Err(error) => return Err(classify(sandbox, Value::Error(Box::new(error)), None)),
    };
    let ok = matches!(values.pop_front(), Some(Value::Boolean(true)));
    if ok {
        return encode_return(lua, values);
    }
    let raised = std::mem::take(&mut *raised.borrow_mut());
    let value = raised
        .value
        .unwrap_or_else(|| values.pop_front().unwrap_or(Value::Nil));
    Err(classify(sandbox, value, raised.traceback))
}

/// The handler `xpcall` calls with the error value: it records the value and the traceback at
/// the point of the error, and gives itself some memory headroom to do so.
fn message_handler(
    lua: &Lua,
    raised: Rc<RefCell<RaisedError>>,
    memory_cap: usize,
) -> mlua::Result<Function> {
    lua.create_function(move |lua, value: Value| {
        let _ = lua.set_memory_limit(memory_cap + HANDLER_MEMORY_HEADROOM);
        let traceback = lua.traceback(None, 1).ok().map(|tb| tb.to_string_lossy());
        let _ = lua.set_memory_limit(memory_cap);
        *raised.borrow_mut() = RaisedError {
            value: Some(value.clone()),
            traceback,
        };
        Ok(value)
    })
}

fn compile_failure(sandbox: &Sandbox, error: mlua::Error) -> Failure {
    match error {
        mlua::Error::SyntaxError { message, .. } => failure(FailureKind::Syntax, message),
        mlua::Error::MemoryError(message) => failure(FailureKind::MemoryLimit, message),
        other if sandbox.budget_exhausted() => {
            failure(FailureKind::InstructionLimit, other.to_string())
        }
        other => failure(FailureKind::Internal, other.to_string()),
    }
}

fn classify(sandbox: &Sandbox, value: Value, traceback: Option<String>) -> Failure {
    let lua = &sandbox.lua;
    let message = error_message(lua, &value);
    let kind = if sandbox.budget_exhausted() {
        FailureKind::InstructionLimit
    } else if is_memory_error(&value) {
        FailureKind::MemoryLimit
    } else {
        FailureKind::Runtime
    };
    let value_json = match &value {
        Value::Table(_) => json::from_lua(lua, &value)
            .ok()
            .map(|json| json.to_string())
            .filter(|text| text.len() <= MAX_RESULT_JSON_BYTES),
        _ => None,
    };
    Failure {
        kind,
        message,
        traceback: traceback.map(|tb| strip_handler_frame(&tb)),
        value_json,
    }
}

/// `tostring` of the error value as Lua would print it; a `__tostring` that itself fails gives a
/// description instead.
fn error_message(lua: &Lua, value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string_lossy(),
        Value::Error(error) => root_cause(error).to_string(),
        other => lua
            .globals()
            .get::<Function>("tostring")
            .and_then(|tostring| tostring.call::<mlua::LuaString>(other.clone()))
            .map(|s| s.to_string_lossy())
            .unwrap_or_else(|_| format!("(error object is a {} value)", other.type_name())),
    }
}

/// The error a Rust callback raised, without mlua's wrapping.
fn root_cause(error: &mlua::Error) -> &mlua::Error {
    match error {
        mlua::Error::CallbackError { cause, .. } => root_cause(cause),
        other => other,
    }
}

/// Lua's own refusals of allocations too large for the sandbox, checked before allocating.
const SIZE_OVERFLOW_ERRORS: [&str; 4] = [
    "resulting string too large",
    "string length overflow",
    "table overflow",
    "memory allocation error: block too big",
];

fn is_memory_error(value: &Value) -> bool {
    match value {
        Value::String(s) => {
            let text = s.to_string_lossy();
            text == "not enough memory" || SIZE_OVERFLOW_ERRORS.iter().any(|e| text.ends_with(e))
        }
        Value::Error(error) => matches!(root_cause(error), mlua::Error::MemoryError(_)),
        _ => false,
    }
}

/// The frames of the sandbox's own machinery (the message handler, `xpcall`) are not the
/// script's: drop them.
fn strip_handler_frame(traceback: &str) -> String {
    traceback
        .lines()
        .filter(|line| !line.contains("[C]: in ?") && !line.contains("[C]: in function 'xpcall'"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn encode_return(lua: &Lua, values: MultiValue) -> Result<String, Failure> {
    let value = match values.len() {
        0 => Value::Nil,
        1 => values.into_iter().next().unwrap_or(Value::Nil),
        _ => {
            let table = lua
                .create_sequence_from(values)
                .map_err(|e| failure(FailureKind::Internal, e.to_string()))?;
            Value::Table(table)
        }
    };
    let text = json::from_lua(lua, &value)
        .map_err(|reason| {
            failure(
                FailureKind::Runtime,
                format!("the return value cannot be sent back as JSON: {reason}"),
            )
        })?
        .to_string();
    if text.len() > MAX_RESULT_JSON_BYTES {
        return Err(failure(
            FailureKind::Runtime,
            format!(
                "the return value is {} bytes of JSON, more than the 8 MiB allowed",
                text.len()
            ),
        ));
    }
    Ok(text)
}

fn failure(kind: FailureKind, message: String) -> Failure {
    Failure {
        kind,
        message,
        traceback: None,
        value_json: None,
    }
}
