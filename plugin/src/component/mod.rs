//! The WASI component: the WIT exports call the runner, and requests leave through
//! `wasi:http/outgoing-handler`.

mod wasi_http;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::account::Account;
use crate::output::Output;
use crate::reference;
use crate::runner::{self, FailureKind};
use crate::sandbox::{Limits, Sandbox};
use crate::twilio::retry::RetryPolicy;

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
    generate_all,
});

use exports::twilio::lua::runner::{
    ApiError as RaisedApiError, ApiErrorKind, ErrorKind, Guest, RunError, RunOptions,
};

struct Plugin;

thread_local! {
    /// The sandbox prepared before the snapshot, taken by the instance's first run.
    static PREPARED: RefCell<Option<Sandbox>> = const { RefCell::new(None) };
}

impl Guest for Plugin {
    fn run(script: String, options: RunOptions) -> Result<String, RunError> {
        let limits = Limits {
            memory_bytes: usize::try_from(options.memory_bytes).unwrap_or(usize::MAX),
            instructions: options.instructions,
        };
        let deadline = (options.wall_ms > 0)
            .then(|| Instant::now().checked_add(Duration::from_millis(options.wall_ms)))
            .flatten();
        let retry = RetryPolicy::standard()
            .with_limits(
                options.retry.max_retries,
                Duration::from_millis(options.retry.base_delay_ms.into()),
                Duration::from_millis(options.retry.max_delay_ms.into()),
            )
            .with_deadline(deadline);
        let accounts: Vec<Account> = twilio::lua::accounts::list_accounts()
            .into_iter()
            .map(|a| Account {
                name: a.name,
                account_sid: a.account_sid,
                api_base_url: a.api_base_url,
                lookups_base_url: a.lookups_base_url,
            })
            .collect();
        let bind = |lua: &mlua::Lua| {
            // Builds the namespace too when the sandbox was not prepared before the snapshot.
            crate::twilio::bind(lua, accounts, Rc::new(wasi_http::WasiHttp), retry)
        };
        let prepared = PREPARED.with(|prepared| prepared.borrow_mut().take());
        let fresh_instance = prepared.is_some();
        let sandbox = match prepared {
            Some(prepared) => Ok(prepared),
            None => Sandbox::new(Rc::new(HostOutput)),
        };
        sandbox
            .map_err(|error| runner::Failure::internal(error.to_string()))
            .and_then(|sandbox| {
                let outcome = runner::run(&sandbox, &script, limits, bind);
                if fresh_instance {
                    // An instance made for this one run is thrown away after it, memory and
                    // all: closing the Lua state would only free that memory and run the
                    // finalizers of the script's globals, which no instruction budget stops
                    // (Lua turns hooks off in finalizers) and whose calls do nothing then.
                    std::mem::forget(sandbox);
                }
                outcome
            })
            .map_err(|failure| RunError {
                kind: match failure.kind {
                    FailureKind::Syntax => ErrorKind::Syntax,
                    FailureKind::Runtime => ErrorKind::Runtime,
                    FailureKind::InstructionLimit => ErrorKind::InstructionLimit,
                    FailureKind::MemoryLimit => ErrorKind::MemoryLimit,
                    FailureKind::Internal => ErrorKind::Internal,
                },
                message: failure.message,
                traceback: failure.traceback,
                api_error: failure.value_json.as_deref().and_then(raised_api_error),
                value_json: failure.value_json,
            })
    }

    fn prepare() {
        // A failure here only means the first run builds its sandbox itself.
        let prepared = Sandbox::new(Rc::new(HostOutput)).and_then(|sandbox| {
            crate::twilio::prepare(&sandbox.lua)?;
            Ok(sandbox)
        });
        if let Ok(sandbox) = prepared {
            PREPARED.with(|prepared| *prepared.borrow_mut() = Some(sandbox));
        }
    }

    fn reference(function: Option<String>) -> Option<String> {
        match function {
            None => Some(reference::text().to_string()),
            Some(name) => reference::section(&name).map(str::to_string),
        }
    }
}

/// The typed fields of a raised error table that is a Twilio function's (a `kind` the
/// functions use and a `function`), read from its JSON; `None` for any other error value.
fn raised_api_error(value_json: &str) -> Option<RaisedApiError> {
    let value: serde_json::Value = serde_json::from_str(value_json).ok()?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let kind = match value.get("kind")?.as_str()? {
        "validation" => ApiErrorKind::Validation,
        "twilio" => ApiErrorKind::Twilio,
        "denied" => ApiErrorKind::Denied,
        "policy" => ApiErrorKind::Policy,
        "limit" => ApiErrorKind::Limit,
        "timeout" => ApiErrorKind::Timeout,
        "transport" => ApiErrorKind::Transport,
        "response" => ApiErrorKind::Response,
        _ => return None,
    };
    Some(RaisedApiError {
        kind,
        function: text("function")?,
        field: text("field"),
        rule: text("rule"),
        code: value.get("code").and_then(serde_json::Value::as_i64),
        status: value
            .get("status")
            .and_then(serde_json::Value::as_u64)
            .and_then(|status| u16::try_from(status).ok()),
        more_info: text("more_info"),
    })
}

/// `print` output straight to the host.
struct HostOutput;

impl Output for HostOutput {
    fn write(&self, text: &str) {
        twilio::lua::output::write(text);
    }
}

export!(Plugin);
