//! `app.integrations.twilio`: the agent-facing Twilio API.
//!
//! - [`spec`]: the 15 functions as data (method, host, path, parameters, result shape).
//! - [`args`] and [`rules`]: checking a script's arguments before anything is sent.
//! - [`encode`]: percent-encoding, query strings, form bodies, paths.
//! - [`client`] and [`retry`]: the requests, status checks, JSON decoding, pagination, retries.
//! - [`errors`]: the error tables scripts catch.
//! - [`namespace`]: the read-only tables, account resolution and `help`; [`names`]: what a
//!   misspelt or reworded name probably meant.
//! - `fuzzing` (tests and the `fuzzing` feature): what the property tests and fuzz targets share.

pub mod args;
pub mod client;
pub mod encode;
pub mod errors;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod names;
pub mod namespace;
pub mod retry;
pub mod rules;
pub mod spec;

#[cfg(test)]
mod tests;

use std::rc::Rc;

use mlua::Lua;

use crate::account::Account;
use crate::transport::Transport;

/// Builds the part of `app.integrations.twilio` that is the same for every run (the tables,
/// metatables, `help` and the Lua glue), so that it can be built before the snapshot.
pub fn prepare(lua: &Lua) -> mlua::Result<()> {
    namespace::prepare(lua)
}

/// Gives the namespace the run's `accounts`, sending requests through `transport` and retrying
/// as `retry` says (building the namespace first when [`prepare`] was not called on `lua`).
pub fn bind(
    lua: &Lua,
    accounts: Vec<Account>,
    transport: Rc<dyn Transport>,
    retry: retry::RetryPolicy,
) -> mlua::Result<()> {
    namespace::bind(lua, accounts, client::Client::new(transport, retry))
}
