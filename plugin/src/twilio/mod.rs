//! `app.integrations.twilio`: the agent-facing namespace.

use std::rc::Rc;

use mlua::Lua;

use crate::account::Account;
use crate::transport::Transport;

/// Installs the global `app` with `app.integrations.twilio` for `accounts`, sending requests
/// through `transport`.
pub fn install(lua: &Lua, accounts: Vec<Account>, transport: Rc<dyn Transport>) -> mlua::Result<()> {
    let _ = (accounts, transport);
    let twilio = lua.create_table()?;
    let integrations = lua.create_table()?;
    integrations.set("twilio", twilio)?;
    let app = lua.create_table()?;
    app.set("integrations", integrations)?;
    lua.globals().set("app", app)
}
