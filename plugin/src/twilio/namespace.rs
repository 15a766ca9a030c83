//! The read-only tables a script reaches the API through: `app`, `app.integrations`,
//! `app.integrations.twilio` (the default account's functions, the account namespaces, `help`,
//! `accounts` and `has_account`) and `app.integrations.twilio.<account>`.
//!
//! Every table is an empty proxy whose metatable resolves names, refuses writes, protects
//! itself and describes itself with `__tostring`. Rust callbacks cannot raise a table, so each
//! one returns `nil, err` and a small Lua wrapper raises `err` at the caller's level.
//!
//! The namespace is built in two steps so that the part every run shares can be built once,
//! before the component is snapshotted: [`prepare`] creates the tables, metatables, `help` and
//! the Lua glue, all independent of the run; [`bind`] then gives them the run's accounts and
//! client through a per-run slot the callbacks read. An account's namespace and its functions
//! are created the first time the script reaches them and kept for the rest of the run, so a
//! name always resolves to the same value.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::args;
use super::client::Client;
use super::errors::ApiError;
use super::names;
use super::rules;
use super::spec::{self, FunctionSpec};
use crate::account::Account;
use crate::json;
use crate::reference;
use crate::sandbox::ScriptEnded;

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

/// `__pairs` of a proxy: given a Rust callback that lists the proxy's names, iterates over them
/// in that order, each with what indexing the proxy gives (so `pairs` shows exactly what a
/// script can reach by name).
const PAIRS: &str = r#"
local names_of = ...
return function(proxy)
    local names = names_of(proxy)
    local i = 0
    return function()
        i = i + 1
        local name = names[i]
        if name ~= nil then
            return name, proxy[name]
        end
    end, proxy, nil
end
"#;

/// The path of the namespace.
const ROOT: &str = "app.integrations.twilio";

/// The name that always means the default account.
const DEFAULT: &str = "default";

/// The root's functions besides the Twilio ones; no account may take these names.
pub const HELPERS: [&str; 3] = ["help", "accounts", "has_account"];

/// What a name in a namespace resolves to, or why it does not.
type Resolved = Result<Value, String>;

/// Installs the global `app` with the run-independent part of `app.integrations.twilio`; the
/// namespace resolves nothing until [`bind`] gives it a run's accounts and client.
pub fn prepare(lua: &Lua) -> mlua::Result<()> {
    let builder = Builder {
        lua,
        raising: lua.load(RAISING).set_name("=twilio").into_function()?,
        pairs: lua.load(PAIRS).set_name("=twilio").into_function()?,
    };
    let help = builder.help()?;
    let account_index = builder.raising(|lua, (proxy, key): (Value, Value)| {
        let Some((index, path)) = account_of(lua, &proxy)? else {
            return Err(unbound());
        };
        let Some(name) = key_name(&key) else {
            return Ok(Err(not_a_name(&path, &key)));
        };
        let resolved: Resolved = if name == "help" {
            Ok(Value::Function(shared(lua)?.help.clone()))
        } else if let Some(spec) = spec::find(&name) {
            Ok(Value::Function(account_function(lua, index, spec)?))
        } else {
            let names: Vec<&str> = spec::names().collect();
            Err(format!(
                "no function named {}{}; functions: {}",
                rules::quote(&name),
                names::hint(&name, &names),
                names.join(", ")
            ))
        };
        Ok(resolved.map_err(|reason| ApiError::namespace(&path, &name, &reason)))
    })?;
    let account_newindex = builder.raising(|lua, (proxy, key): (Value, Value)| {
        let Some((_, path)) = account_of(lua, &proxy)? else {
            return Err(unbound());
        };
        Ok(Err(read_only(&path, &key)))
    })?;
    let account_tostring = guarded_function(lua, |lua, proxy: Value| {
        let Some((_, path)) = account_of(lua, &proxy)? else {
            return Err(unbound());
        };
        let name = &path[ROOT.len() + 1..];
        Ok(format!(
            "{path}: the Twilio API as the account \"{name}\". Functions: {}. Help: {path}.help() returns the whole reference, {path}.help(\"twilio_send_sms\") one function's section.",
            spec::names().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let account_pairs = builder.pairs(|_| Ok(function_names()))?;
    lua.set_app_data(Shared {
        raising: builder.raising.clone(),
        help,
        account_index,
        account_newindex,
        account_tostring,
        account_pairs,
        binding: RefCell::new(None),
    });
    let accounts = builder.accounts()?;
    let has_account = builder.has_account()?;
    let root = builder.proxy(
        ROOT,
        |lua| {
            let shared = shared(lua)?;
            let binding = shared.binding.borrow();
            let binding = binding.as_ref().ok_or_else(unbound)?;
            Ok(root_text(&binding.names))
        },
        |lua| {
            let shared = shared(lua)?;
            let binding = shared.binding.borrow();
            let binding = binding.as_ref().ok_or_else(unbound)?;
            // The default account's functions (when there is one), the helpers, the accounts.
            let mut names: Vec<String> = match binding.default {
                Some(_) => spec::names().map(str::to_string).collect(),
                None => Vec::new(),
            };
            names.extend(HELPERS.map(String::from));
            names.extend(binding.names.iter().cloned());
            Ok(names)
        },
        move |lua, key| {
            let (help, names, default) = {
                let shared = shared(lua)?;
                let binding = shared.binding.borrow();
                let binding = binding.as_ref().ok_or_else(unbound)?;
                (shared.help.clone(), binding.names.clone(), binding.default)
            };
            match key {
                "help" => return Ok(Ok(Value::Function(help))),
                "accounts" => return Ok(Ok(Value::Function(accounts.clone()))),
                "has_account" => return Ok(Ok(Value::Function(has_account.clone()))),
                _ => {}
            }
            if let Some(index) = names.iter().position(|name| name == key) {
                return account_proxy(lua, index).map(|proxy| Ok(Value::Table(proxy)));
            }
            let function = spec::find(key);
            if key == DEFAULT || function.is_some() {
                let Some(index) = default else {
                    return Ok(Err(no_default(key, &names)));
                };
                return Ok(Ok(match function {
                    Some(spec) => Value::Function(account_function(lua, index, spec)?),
                    None => Value::Table(account_proxy(lua, index)?),
                }));
            }
            let mut candidates: Vec<&str> = names.iter().map(String::as_str).collect();
            for name in spec::names() {
                candidates.push(name);
            }
            Ok(Err(format!(
                "no account or function named {}{}; accounts: {}; functions: {}",
                rules::quote(key),
                names::hint(key, &candidates),
                list(&names),
                spec::names().collect::<Vec<_>>().join(", ")
            )))
        },
    )?;
    let integrations = builder.fixed("app.integrations", "twilio", root)?;
    let app = builder.fixed("app", "integrations", integrations)?;
    describe_functions(lua)?;
    lua.globals().set("app", app)
}

/// Makes `tostring` of a Twilio function give its signature and what it does (any other
/// function keeps the usual `function: 0x...`), through the metatable all functions share.
fn describe_functions(lua: &Lua) -> mlua::Result<()> {
    let metatable = lua.create_table()?;
    let tostring = guarded_function(lua, |lua, function: Function| {
        Ok(match spec_of(lua, &function)? {
            Some(spec) => signature(spec),
            None => format!("function: {:p}", function.to_pointer()),
        })
    })?;
    metatable.raw_set("__tostring", tostring)?;
    metatable.raw_set("__metatable", "the functions' metatable is read-only")?;
    lua.set_type_metatable::<Function>(Some(metatable));
    Ok(())
}

/// The spec of `function` when it is one of the Twilio functions this run has created.
fn spec_of(lua: &Lua, function: &Function) -> mlua::Result<Option<&'static FunctionSpec>> {
    let shared = shared(lua)?;
    let binding = shared.binding.borrow();
    let Some(binding) = binding.as_ref() else {
        return Ok(None);
    };
    Ok(binding.functions.iter().find_map(|slots| {
        slots
            .iter()
            .position(|slot| slot.as_ref() == Some(function))
            .map(|index| &spec::FUNCTIONS[index])
    }))
}

/// `twilio_send_sms({to, from, body, media_url?, status_callback?}): Send an SMS or MMS
/// message via Twilio. help("twilio_send_sms") has the rest.`: the parameters (optional ones
/// with `?`) and the first sentence of the function's reference section.
fn signature(spec: &FunctionSpec) -> String {
    let params: Vec<String> = spec
        .params
        .iter()
        .map(|param| format!("{}{}", param.name, if param.required { "" } else { "?" }))
        .collect();
    let summary = reference::section(spec.name)
        .and_then(|section| section.lines().nth(1))
        .map(|line| match line.find(". ") {
            Some(end) => &line[..=end],
            None => line,
        })
        .unwrap_or_default();
    format!(
        "{}({{{}}}): {summary} help(\"{}\") has the rest.",
        spec.name,
        params.join(", "),
        spec.name
    )
}

/// Gives the namespace [`prepare`]d in `lua` the run's `accounts` and `client` (preparing it
/// first if it is not).
pub fn bind(lua: &Lua, accounts: Vec<Account>, client: Client) -> mlua::Result<()> {
    check_names(&accounts)?;
    if lua.app_data_ref::<Shared>().is_none() {
        prepare(lua)?;
    }
    let names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
    let default = names
        .iter()
        .position(|name| name == DEFAULT)
        .or_else(|| (names.len() == 1).then_some(0));
    let binding = Binding {
        proxies: vec![None; accounts.len()],
        functions: vec![vec![None; spec::FUNCTIONS.len()]; accounts.len()],
        accounts: accounts.into_iter().map(Rc::new).collect(),
        names,
        default,
        client: Rc::new(client),
    };
    *shared(lua)?.binding.borrow_mut() = Some(binding);
    Ok(())
}

/// What [`prepare`] builds once and the callbacks share, with the run's [`Binding`].
struct Shared {
    raising: Function,
    help: Function,
    account_index: Function,
    account_newindex: Function,
    account_tostring: Function,
    account_pairs: Function,
    binding: RefCell<Option<Binding>>,
}

/// The run's accounts and client, and the account namespaces and functions created so far.
struct Binding {
    accounts: Vec<Rc<Account>>,
    names: Vec<String>,
    default: Option<usize>,
    client: Rc<Client>,
    proxies: Vec<Option<Table>>,
    functions: Vec<Vec<Option<Function>>>,
}

fn shared(lua: &Lua) -> mlua::Result<mlua::AppDataRef<'_, Shared>> {
    lua.app_data_ref::<Shared>().ok_or_else(unbound)
}

fn unbound() -> mlua::Error {
    mlua::Error::runtime("the Twilio namespace is not set up for this run")
}

/// The index and path of the account namespace `proxy`, if it is one.
fn account_of(lua: &Lua, proxy: &Value) -> mlua::Result<Option<(usize, String)>> {
    let Value::Table(proxy) = proxy else {
        return Ok(None);
    };
    let shared = shared(lua)?;
    let binding = shared.binding.borrow();
    let Some(binding) = binding.as_ref() else {
        return Ok(None);
    };
    Ok(binding
        .proxies
        .iter()
        .position(|candidate| candidate.as_ref() == Some(proxy))
        .map(|index| (index, format!("{ROOT}.{}", binding.names[index]))))
}

/// `app.integrations.twilio.<account>`, created on first use.
fn account_proxy(lua: &Lua, index: usize) -> mlua::Result<Table> {
    let (index_function, newindex, tostring, pairs, name) = {
        let shared = shared(lua)?;
        let binding = shared.binding.borrow();
        let binding = binding.as_ref().ok_or_else(unbound)?;
        if let Some(proxy) = &binding.proxies[index] {
            return Ok(proxy.clone());
        }
        (
            shared.account_index.clone(),
            shared.account_newindex.clone(),
            shared.account_tostring.clone(),
            shared.account_pairs.clone(),
            binding.names[index].clone(),
        )
    };
    let metatable = lua.create_table()?;
    metatable.raw_set("__index", index_function)?;
    metatable.raw_set("__newindex", newindex)?;
    metatable.raw_set("__tostring", tostring)?;
    metatable.raw_set("__pairs", pairs)?;
    metatable.raw_set("__metatable", format!("{ROOT}.{name} is read-only"))?;
    let proxy = lua.create_table()?;
    proxy.set_metatable(Some(metatable))?;
    let shared = shared(lua)?;
    let mut binding = shared.binding.borrow_mut();
    let binding = binding.as_mut().ok_or_else(unbound)?;
    binding.proxies[index] = Some(proxy.clone());
    Ok(proxy)
}

/// `spec`'s function bound to the account at `index`, created on first use.
fn account_function(
    lua: &Lua,
    index: usize,
    spec: &'static FunctionSpec,
) -> mlua::Result<Function> {
    let slot = spec::FUNCTIONS
        .iter()
        .position(|candidate| std::ptr::eq(candidate, spec))
        .expect("a spec from FUNCTIONS");
    let (raising, client, account) = {
        let shared = shared(lua)?;
        let binding = shared.binding.borrow();
        let binding = binding.as_ref().ok_or_else(unbound)?;
        if let Some(function) = &binding.functions[index][slot] {
            return Ok(function.clone());
        }
        (
            shared.raising.clone(),
            Rc::clone(&binding.client),
            Rc::clone(&binding.accounts[index]),
        )
    };
    let function = raising_function(lua, &raising, move |lua, arguments: MultiValue| {
        let checked = match args::read(spec, arguments) {
            Ok(checked) => checked,
            Err(error) => return Ok(Err(error)),
        };
        match client.call(spec, &account, &checked) {
            Ok(result) => json::to_lua(lua, &result).map(Ok),
            Err(error) => Ok(Err(error)),
        }
    })?;
    let shared = shared(lua)?;
    let mut binding = shared.binding.borrow_mut();
    let binding = binding.as_mut().ok_or_else(unbound)?;
    binding.functions[index][slot] = Some(function.clone());
    Ok(function)
}

/// A Lua function that runs `callback` and raises the error table it returns, via `raising`.
fn raising_function<A, F>(lua: &Lua, raising: &Function, callback: F) -> mlua::Result<Function>
where
    A: mlua::FromLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<Result<Value, ApiError>> + 'static,
{
    let rust = guarded_function(lua, move |lua, args: A| {
        Ok(match callback(lua, args)? {
            Ok(value) => Ok(value),
            Err(error) => Err(error.to_lua(lua)?),
        })
    })?;
    raising.call(rust)
}

/// `lua.create_function(callback)`, except that once the script has ended it raises
/// [`ScriptEnded::error`] before it touches its arguments (the state may be closing).
fn guarded_function<A, R, F>(lua: &Lua, callback: F) -> mlua::Result<Function>
where
    A: mlua::FromLuaMulti,
    R: mlua::IntoLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<R> + 'static,
{
    let ended = ScriptEnded::of(lua);
    lua.create_function(move |lua, args: MultiValue| {
        if ended.get() {
            return Err(ScriptEnded::error());
        }
        callback(lua, A::from_lua_multi(args, lua)?)
    })
}

/// The arguments of a namespace function, without the namespace itself when it was called
/// with a colon (`twilio:help()`).
fn without_self(arguments: MultiValue) -> Vec<Value> {
    let mut arguments = arguments.into_vec();
    if matches!(arguments.first(), Some(Value::Table(_))) {
        arguments.remove(0);
    }
    arguments
}

/// The name `key` stands for, when it is a string.
fn key_name(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.to_string_lossy()),
        _ => None,
    }
}

/// The error for indexing `path` with a key that is not a string.
fn not_a_name(path: &str, key: &Value) -> ApiError {
    let reason = format!("names are strings, not {}", rules::a(key.type_name()));
    ApiError::namespace(path, "name", &reason)
}

/// The error for assigning `key` in `path`.
fn read_only(path: &str, key: &Value) -> ApiError {
    let name = match key {
        Value::String(s) => s.to_string_lossy(),
        _ => "name".to_owned(),
    };
    let reason = format!(
        "cannot assign {}: the namespace is read-only",
        rules::quote(&name)
    );
    ApiError::namespace(path, &name, &reason)
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
        } else if name.starts_with("twilio_") || HELPERS.contains(&name.as_str()) {
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

/// The 15 function names, then `help`: what an account namespace holds.
fn function_names() -> Vec<String> {
    spec::names()
        .chain(std::iter::once("help"))
        .map(str::to_string)
        .collect()
}

fn root_text(accounts: &[String]) -> String {
    format!(
        "{ROOT}: the Twilio API. Accounts: {} (the functions directly under {ROOT} use the default account; {ROOT}.<account>.<function> picks one; {ROOT}.accounts() lists them, {ROOT}.has_account(\"work\") checks one). Functions: {}. Help: {ROOT}.help() returns the whole reference, {ROOT}.help(\"twilio_send_sms\") one function's section.",
        list(accounts),
        spec::names().collect::<Vec<_>>().join(", ")
    )
}

/// Creates the run-independent functions and proxies of the namespace.
struct Builder<'a> {
    lua: &'a Lua,
    raising: Function,
    pairs: Function,
}

impl Builder<'_> {
    /// A Lua function that runs `callback` and raises the error table it returns.
    fn raising<A, F>(&self, callback: F) -> mlua::Result<Function>
    where
        A: mlua::FromLuaMulti,
        F: Fn(&Lua, A) -> mlua::Result<Result<Value, ApiError>> + 'static,
    {
        raising_function(self.lua, &self.raising, callback)
    }

    /// A `__pairs` metamethod over the names `names` lists.
    fn pairs(
        &self,
        names: impl Fn(&Lua) -> mlua::Result<Vec<String>> + 'static,
    ) -> mlua::Result<Function> {
        let names_of = guarded_function(self.lua, move |lua, _: Value| names(lua))?;
        self.pairs.call(names_of)
    }

    /// `help()`: the reference; `help(name)`: one function's section.
    fn help(&self) -> mlua::Result<Function> {
        self.raising(|lua, arguments: MultiValue| {
            let arguments = without_self(arguments);
            let path = format!("{ROOT}.help");
            let text = match arguments.first() {
                None | Some(Value::Nil) => reference::text(),
                Some(Value::String(name)) => {
                    let name = name.to_string_lossy();
                    match reference::section(&name) {
                        Some(section) => section,
                        None => {
                            let names: Vec<&str> = spec::names().collect();
                            let reason = format!(
                                "no function named {}{}; functions: {}",
                                rules::quote(&name),
                                names::hint(&name, &names),
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

    /// `accounts()`: the names of the run's accounts, in the configured order.
    fn accounts(&self) -> mlua::Result<Function> {
        guarded_function(self.lua, |lua, _: MultiValue| {
            let shared = shared(lua)?;
            let binding = shared.binding.borrow();
            let binding = binding.as_ref().ok_or_else(unbound)?;
            lua.create_sequence_from(binding.names.iter().map(String::as_str))
        })
    }

    /// `has_account(name)`: whether `app.integrations.twilio[name]` is an account namespace
    /// (`"default"` included when there is a default account), without raising.
    fn has_account(&self) -> mlua::Result<Function> {
        self.raising(|lua, arguments: MultiValue| {
            let arguments = without_self(arguments);
            let name = match arguments.first() {
                Some(Value::String(name)) => name.to_string_lossy(),
                other => {
                    let got = other.map_or("nothing".into(), |value| rules::a(value.type_name()));
                    let reason = format!("expects an account name like \"work\", got {got}");
                    let path = format!("{ROOT}.has_account");
                    return Ok(Err(ApiError::namespace(&path, "name", &reason)));
                }
            };
            let shared = shared(lua)?;
            let binding = shared.binding.borrow();
            let binding = binding.as_ref().ok_or_else(unbound)?;
            let known =
                binding.names.contains(&name) || (name == DEFAULT && binding.default.is_some());
            Ok(Ok(Value::Boolean(known)))
        })
    }

    /// A read-only table with one field.
    fn fixed(&self, path: &str, field: &'static str, value: Table) -> mlua::Result<Table> {
        let text = format!("{path}: has {field}; see {ROOT}.help()");
        self.proxy(
            path,
            move |_| Ok(text.clone()),
            move |_| Ok(vec![field.to_string()]),
            move |_, key| {
                Ok(if key == field {
                    Ok(Value::Table(value.clone()))
                } else {
                    Err(format!(
                        "has no field {}; it has: {field}",
                        rules::quote(key)
                    ))
                })
            },
        )
    }

    /// An empty table whose metatable resolves names with `resolve`, refuses writes, protects
    /// itself, gives what `text` says to `tostring` and iterates over what `names` lists.
    fn proxy(
        &self,
        path: &str,
        text: impl Fn(&Lua) -> mlua::Result<String> + 'static,
        names: impl Fn(&Lua) -> mlua::Result<Vec<String>> + 'static,
        resolve: impl Fn(&Lua, &str) -> mlua::Result<Resolved> + 'static,
    ) -> mlua::Result<Table> {
        let index_path = path.to_owned();
        let index = self.raising(move |lua, (_, key): (Value, Value)| {
            let Some(name) = key_name(&key) else {
                return Ok(Err(not_a_name(&index_path, &key)));
            };
            Ok(resolve(lua, &name)?
                .map_err(|reason| ApiError::namespace(&index_path, &name, &reason)))
        })?;
        let write_path = path.to_owned();
        let newindex =
            self.raising(move |_, (_, key): (Value, Value)| Ok(Err(read_only(&write_path, &key))))?;
        let metatable = self.lua.create_table()?;
        metatable.raw_set("__index", index)?;
        metatable.raw_set("__newindex", newindex)?;
        metatable.raw_set(
            "__tostring",
            guarded_function(self.lua, move |lua, _: Value| text(lua))?,
        )?;
        metatable.raw_set("__pairs", self.pairs(names)?)?;
        metatable.raw_set("__metatable", format!("{path} is read-only"))?;
        let proxy = self.lua.create_table()?;
        proxy.set_metatable(Some(metatable))?;
        Ok(proxy)
    }
}
