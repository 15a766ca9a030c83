//! The read-only tables a script reaches the API through: `app`, `app.integrations`,
//! `app.integrations.twilio` (the default account's functions, the account namespaces and
//! `help`) and `app.integrations.twilio.<account>`.
//!
//! Every table is an empty proxy whose metatable resolves names, refuses writes, protects
//! itself and describes itself with `__tostring`. Rust callbacks cannot raise a table, so each
//! one returns `nil, err` and a small Lua wrapper raises `err` at the caller's level.

use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::args;
use super::client::Client;
use super::errors::ApiError;
use super::rules;
use super::spec::{self, FunctionSpec};
use crate::account::Account;
use crate::json;
use crate::reference;

/// Turns a Rust callback returning `result` or `nil, err` into a function that raises `err`.
const RAISING: &str = r#"
local rust = ...
return function(...)
    local result, err = rust(...)
    if err ~= nil then
        error(err, 2)
    end
    return result
end
"#;

/// The path of the namespace.
const ROOT: &str = "app.integrations.twilio";

/// The name that always means the default account.
const DEFAULT: &str = "default";

/// What a name in a namespace resolves to, or why it does not.
type Resolved = Result<Value, String>;

/// Installs the global `app` with `app.integrations.twilio` for `accounts`.
pub fn install(lua: &Lua, accounts: Vec<Account>, client: Client) -> mlua::Result<()> {
    check_names(&accounts)?;
    let builder = Builder {
        lua,
        raising: lua.load(RAISING).set_name("=twilio").into_function()?,
    };
    let client = Rc::new(client);
    let help = builder.help()?;
    let account_names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
    let mut namespaces = Vec::new();
    for account in accounts {
        let functions = builder.functions(&client, Rc::new(account.clone()))?;
        let proxy = builder.account_namespace(&account.name, functions.clone(), help.clone())?;
        namespaces.push((account.name, proxy, functions));
    }
    let default = namespaces
        .iter()
        .position(|(name, ..)| name == DEFAULT)
        .or_else(|| (namespaces.len() == 1).then_some(0));
    let root = builder.proxy(ROOT, root_text(&account_names), move |key| {
        if key == "help" {
            return Ok(Value::Function(help.clone()));
        }
        if let Some((_, proxy, _)) = namespaces.iter().find(|(name, ..)| name == key) {
            return Ok(Value::Table(proxy.clone()));
        }
        let is_function = spec::find(key).is_some();
        if key == DEFAULT || is_function {
            let Some((_, proxy, functions)) = default.map(|i| &namespaces[i]) else {
                return Err(no_default(key, &account_names));
            };
            return Ok(if is_function {
                functions.raw_get(key).unwrap_or(Value::Nil)
            } else {
                Value::Table(proxy.clone())
            });
        }
        let mut candidates: Vec<&str> = account_names.iter().map(String::as_str).collect();
        for name in spec::names() {
            candidates.push(name);
        }
        Err(format!(
            "no account or function named {}{}; accounts: {}; functions: {}",
            rules::quote(key),
            hint(key, &candidates),
            list(&account_names),
            spec::names().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let integrations = builder.fixed("app.integrations", "twilio", root)?;
    let app = builder.fixed("app", "integrations", integrations)?;
    lua.globals().set("app", app)
}

/// Refuses account names a script could not reach or that would shadow a function or `help`.
fn check_names(accounts: &[Account]) -> mlua::Result<()> {
    for (index, account) in accounts.iter().enumerate() {
        let name = &account.name;
        let identifier = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let problem = if !identifier {
            "is not an identifier (letters, digits and _, not starting with a digit)"
        } else if name.starts_with("twilio_") || name == "help" {
            "is reserved for functions"
        } else if accounts[..index].iter().any(|other| &other.name == name) {
            "is configured twice"
        } else {
            continue;
        };
        return Err(mlua::Error::runtime(format!(
            "Twilio account name {} {problem}",
            rules::quote(name)
        )));
    }
    Ok(())
}

fn no_default(key: &str, accounts: &[String]) -> String {
    if accounts.is_empty() {
        return format!(
            "{} needs a Twilio account, and none is configured",
            rules::quote(key)
        );
    }
    format!(
        "there is no account named \"default\" and {} accounts are configured ({}); name one, like {ROOT}.{}.{}",
        accounts.len(),
        list(accounts),
        accounts[0],
        if key == DEFAULT {
            "twilio_send_sms"
        } else {
            key
        }
    )
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(", ")
    }
}

/// ` (did you mean "x"?)` when a candidate is close to `key`.
fn hint(key: &str, candidates: &[&str]) -> String {
    let prefixed = format!("twilio_{key}");
    candidates
        .iter()
        .copied()
        .find(|c| *c == prefixed)
        .or_else(|| rules::suggest(key, candidates))
        .map(|c| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

fn root_text(accounts: &[String]) -> String {
    format!(
        "{ROOT}: the Twilio API. Accounts: {} (the functions directly under {ROOT} use the default account; {ROOT}.<account>.<function> picks one). Functions: {}. Help: {ROOT}.help() returns the whole reference, {ROOT}.help(\"twilio_send_sms\") one function's section.",
        list(accounts),
        spec::names().collect::<Vec<_>>().join(", ")
    )
}

/// Creates the functions and proxies of the namespace.
struct Builder<'a> {
    lua: &'a Lua,
    raising: Function,
}

impl Builder<'_> {
    /// A Lua function that runs `callback` and raises the error table it returns.
    fn raising<A, F>(&self, callback: F) -> mlua::Result<Function>
    where
        A: mlua::FromLuaMulti,
        F: Fn(&Lua, A) -> mlua::Result<Result<Value, ApiError>> + 'static,
    {
        let rust = self.lua.create_function(move |lua, args: A| {
            Ok(match callback(lua, args)? {
                Ok(value) => Ok(value),
                Err(error) => Err(error.to_lua(lua)?),
            })
        })?;
        self.raising.call(rust)
    }

    /// The 15 functions bound to `account`, in a plain table by name.
    fn functions(&self, client: &Rc<Client>, account: Rc<Account>) -> mlua::Result<Table> {
        let table = self.lua.create_table()?;
        for spec in spec::FUNCTIONS {
            let spec: &'static FunctionSpec = spec;
            let client = Rc::clone(client);
            let account = Rc::clone(&account);
            let function = self.raising(move |lua, arguments: MultiValue| {
                let checked = match args::read(spec, arguments) {
                    Ok(checked) => checked,
                    Err(error) => return Ok(Err(error)),
                };
                match client.call(spec, &account, &checked) {
                    Ok(result) => json::to_lua(lua, &result).map(Ok),
                    Err(error) => Ok(Err(error)),
                }
            })?;
            table.raw_set(spec.name, function)?;
        }
        Ok(table)
    }

    /// `help()`: the reference; `help(name)`: one function's section.
    fn help(&self) -> mlua::Result<Function> {
        self.raising(|lua, arguments: MultiValue| {
            let mut arguments = arguments.into_vec();
            if matches!(arguments.first(), Some(Value::Table(_))) {
                // Called with a colon: the first argument is the namespace.
                arguments.remove(0);
            }
            let path = format!("{ROOT}.help");
            let text = match arguments.first() {
                None | Some(Value::Nil) => reference::REFERENCE,
                Some(Value::String(name)) => {
                    let name = name.to_string_lossy();
                    match reference::section(&name) {
                        Some(section) => section,
                        None => {
                            let names: Vec<&str> = spec::names().collect();
                            let reason = format!(
                                "no function named {}{}; functions: {}",
                                rules::quote(&name),
                                hint(&name, &names),
                                names.join(", ")
                            );
                            return Ok(Err(ApiError::namespace(&path, &name, &reason)));
                        }
                    }
                }
                Some(other) => {
                    let reason = format!(
                        "expects a function name like \"twilio_send_sms\", got {}",
                        rules::a(other.type_name())
                    );
                    return Ok(Err(ApiError::namespace(&path, "name", &reason)));
                }
            };
            Ok(Ok(Value::String(lua.create_string(text)?)))
        })
    }

    /// `app.integrations.twilio.<name>`.
    fn account_namespace(
        &self,
        name: &str,
        functions: Table,
        help: Function,
    ) -> mlua::Result<Table> {
        let path = format!("{ROOT}.{name}");
        let text = format!(
            "{path}: the Twilio API as the account \"{name}\". Functions: {}. Help: {path}.help() returns the whole reference, {path}.help(\"twilio_send_sms\") one function's section.",
            spec::names().collect::<Vec<_>>().join(", ")
        );
        self.proxy(&path, text, move |key| {
            if key == "help" {
                return Ok(Value::Function(help.clone()));
            }
            match functions.raw_get::<Value>(key) {
                Ok(Value::Function(function)) => Ok(Value::Function(function)),
                _ => {
                    let names: Vec<&str> = spec::names().collect();
                    Err(format!(
                        "no function named {}{}; functions: {}",
                        rules::quote(key),
                        hint(key, &names),
                        names.join(", ")
                    ))
                }
            }
        })
    }

    /// A read-only table with one field.
    fn fixed(&self, path: &str, field: &'static str, value: Table) -> mlua::Result<Table> {
        let text = format!("{path}: has {field}; see {ROOT}.help()");
        self.proxy(path, text, move |key| {
            if key == field {
                Ok(Value::Table(value.clone()))
            } else {
                Err(format!(
                    "has no field {}; it has: {field}",
                    rules::quote(key)
                ))
            }
        })
    }

    /// An empty table whose metatable resolves names with `resolve`, refuses writes, protects
    /// itself and gives `text` to `tostring`.
    fn proxy(
        &self,
        path: &str,
        text: String,
        resolve: impl Fn(&str) -> Resolved + 'static,
    ) -> mlua::Result<Table> {
        let index_path = path.to_owned();
        let index = self.raising(move |_, (_, key): (Value, Value)| {
            let name = match &key {
                Value::String(s) => s.to_string_lossy(),
                other => {
                    let reason = format!("names are strings, not {}", rules::a(other.type_name()));
                    return Ok(Err(ApiError::namespace(&index_path, "name", &reason)));
                }
            };
            Ok(resolve(&name).map_err(|reason| ApiError::namespace(&index_path, &name, &reason)))
        })?;
        let write_path = path.to_owned();
        let newindex = self.raising(move |_, (_, key): (Value, Value)| {
            let name = match &key {
                Value::String(s) => s.to_string_lossy(),
                _ => "name".to_owned(),
            };
            let reason = format!(
                "cannot assign {}: the namespace is read-only",
                rules::quote(&name)
            );
            Ok(Err(ApiError::namespace(&write_path, &name, &reason)))
        })?;
        let metatable = self.lua.create_table()?;
        metatable.raw_set("__index", index)?;
        metatable.raw_set("__newindex", newindex)?;
        metatable.raw_set(
            "__tostring",
            self.lua
                .create_function(move |_, _: Value| Ok(text.clone()))?,
        )?;
        metatable.raw_set("__metatable", format!("{path} is read-only"))?;
        let proxy = self.lua.create_table()?;
        proxy.set_metatable(Some(metatable))?;
        Ok(proxy)
    }
}
