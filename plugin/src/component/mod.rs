//! The WASI component: the WIT exports call the runner, and requests leave through
//! `wasi:http/outgoing-handler`.

mod wasi_http;

use std::rc::Rc;

use crate::account::Account;
use crate::reference;
use crate::runner::{self, FailureKind};
use crate::sandbox::Limits;

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
    generate_all,
});

use exports::twilio::lua::runner::{ErrorKind, Guest, Limits as WitLimits, RunError, RunResult};

struct Plugin;

impl Guest for Plugin {
    fn run(script: String, limits: WitLimits) -> RunResult {
        let limits = Limits {
            memory_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            instructions: limits.instructions,
        };
        let accounts: Vec<Account> = twilio::lua::accounts::list_accounts()
            .into_iter()
            .map(|a| Account {
                name: a.name,
                account_sid: a.account_sid,
                api_base_url: a.api_base_url,
                lookups_base_url: a.lookups_base_url,
            })
            .collect();
        let output = runner::run(&script, limits, |lua| {
            crate::twilio::install(lua, accounts, Rc::new(wasi_http::WasiHttp))
        });
        RunResult {
            printed: output.printed,
            outcome: output.outcome.map_err(|failure| RunError {
                kind: match failure.kind {
                    FailureKind::Syntax => ErrorKind::Syntax,
                    FailureKind::Runtime => ErrorKind::Runtime,
                    FailureKind::InstructionLimit => ErrorKind::InstructionLimit,
                    FailureKind::MemoryLimit => ErrorKind::MemoryLimit,
                    FailureKind::Internal => ErrorKind::Internal,
                },
                message: failure.message,
                traceback: failure.traceback,
                value_json: failure.value_json,
            }),
        }
    }

    fn reference(function: Option<String>) -> Option<String> {
        match function {
            None => Some(reference::REFERENCE.to_string()),
            Some(name) => reference::section(&name).map(str::to_string),
        }
    }
}

export!(Plugin);
