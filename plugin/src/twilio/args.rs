//! Reading a function's Lua arguments into checked values. Tables are read with raw access only,
//! so no metamethod of a script's table ever runs; every refusal names the function, the field
//! and the rule.

use std::collections::BTreeMap;

use mlua::{MultiValue, Table, Value};

use super::errors::ApiError;
use super::rules;
use super::spec::{Cross, FunctionSpec, Param, Rule};

/// The field named in errors about the argument list itself.
const ARGUMENTS: &str = "arguments";

/// Unknown keys collected for one message, at most.
const MAX_UNKNOWN_REPORTED: usize = 20;

/// Names agents use for a parameter, normalised (see [`rules::normalize`]), with the parameter
/// meant.
const ALIASES: &[(&str, &str)] = &[
    ("msg", "body"),
    ("message", "body"),
    ("text", "body"),
    ("content", "body"),
    ("recipient", "to"),
    ("destination", "to"),
    ("sender", "from"),
    ("number", "phone_number"),
    ("phone", "phone_number"),
    ("media", "media_url"),
    ("mediaurls", "media_url"),
    ("callback", "status_callback"),
    ("callback", "callback_url"),
    ("max", "limit"),
    ("count", "limit"),
    ("pagesize", "page_size"),
    ("category", "usage_category"),
    ("value", "trigger_value"),
    ("threshold", "trigger_value"),
    ("date", "date_sent"),
    ("date", "date_created"),
    ("start", "start_date"),
    ("end", "end_date"),
];

/// A checked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A string parameter, as it is sent.
    Text(String),
    /// An integer parameter.
    Int(i64),
}

/// The checked arguments of one call, in the function's parameter order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    values: Vec<(&'static Param, Arg)>,
}

impl Args {
    /// The parameters given, with their values.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Param, &Arg)> {
        self.values.iter().map(|(param, arg)| (*param, arg))
    }

    /// The string value of `name`, when given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.iter().find_map(|(param, arg)| match arg {
            Arg::Text(text) if param.name == name => Some(text.as_str()),
            _ => None,
        })
    }

    /// The integer value of `name`, when given.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.values.iter().find_map(|(param, arg)| match arg {
            Arg::Int(value) if param.name == name => Some(*value),
            _ => None,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(param, _)| param.name == name)
    }
}

/// Checks the arguments a script passed to `spec`'s function.
pub fn read(spec: &'static FunctionSpec, args: MultiValue) -> Result<Args, ApiError> {
    let refuse = |field: &str, reason: String| ApiError::validation(spec.name, field, &reason);
    let mut values: Vec<Value> = args.into_vec();
    while matches!(values.last(), Some(Value::Nil)) {
        values.pop();
    }
    let table = match values.as_slice() {
        [] if spec.all_optional() => return Ok(Args::default()),
        [] => {
            return Err(refuse(
                ARGUMENTS,
                format!("expects a table of parameters like {}", example(spec)),
            ));
        }
        [Value::Table(table)] => table.clone(),
        [Value::Table(_), _, ..] => {
            return Err(refuse(
                ARGUMENTS,
                format!(
                    "expects one table argument but got {}; call it with a dot, app.integrations.twilio.{}{{...}}, not a colon",
                    values.len(),
                    spec.name
                ),
            ));
        }
        [other, ..] => {
            return Err(refuse(
                ARGUMENTS,
                format!(
                    "expects a table of parameters like {}, got {}",
                    example(spec),
                    describe(other)
                ),
            ));
        }
    };
    let given = collect(spec, &table)?;
    let mut checked = Args::default();
    for param in spec.params {
        let value = given.get(param.name).cloned().unwrap_or(Value::Nil);
        if let Some(arg) = check(param, &value).map_err(|reason| refuse(param.name, reason))? {
            checked.values.push((param, arg));
        }
    }
    for cross in spec.cross {
        match *cross {
            Cross::ExactlyOne(a, b) if checked.has(a) == checked.has(b) => {
                let reason = if checked.has(a) {
                    format!("give either `{a}` or `{b}`, not both")
                } else {
                    format!(
                        "one of `{a}` (a URL returning TwiML) or `{b}` (inline TwiML) is required"
                    )
                };
                return Err(refuse(a, reason));
            }
            Cross::ExactlyOne(..) => {}
        }
    }
    Ok(checked)
}

/// The table's entries by parameter name; unknown or non-string keys are refused.
fn collect(spec: &FunctionSpec, table: &Table) -> Result<BTreeMap<&'static str, Value>, ApiError> {
    let mut given = BTreeMap::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) =
            pair.map_err(|e| ApiError::validation(spec.name, ARGUMENTS, &e.to_string()))?;
        let param = match &key {
            Value::String(s) => s.to_str().ok().and_then(|name| spec.param(&name)),
            _ => None,
        };
        match (param, &key) {
            (Some(param), _) => {
                given.insert(param.name, value);
            }
            _ if unknown.len() + positional.len() >= MAX_UNKNOWN_REPORTED => {}
            (None, Value::String(s)) => unknown.push(s.to_string_lossy()),
            (None, other) => positional.push(describe_key(other)),
        }
    }
    if !positional.is_empty() {
        positional.sort();
        let reason = format!(
            "positional values {} are not accepted: parameters are named, like {}",
            positional.join(", "),
            example(spec)
        );
        return Err(ApiError::validation(spec.name, ARGUMENTS, &reason));
    }
    if unknown.is_empty() {
        return Ok(given);
    }
    unknown.sort();
    let names: Vec<&str> = spec.params.iter().map(|param| param.name).collect();
    let described: Vec<String> = unknown
        .iter()
        .take(5)
        .map(|key| match did_you_mean(key, &names) {
            Some(name) => format!("{} (did you mean `{name}`?)", rules::quote(key)),
            None => rules::quote(key),
        })
        .collect();
    let noun = if unknown.len() == 1 {
        "unknown parameter"
    } else {
        "unknown parameters"
    };
    let reason = format!(
        "{noun} {}; {} takes: {}",
        described.join(", "),
        spec.name,
        names.join(", ")
    );
    Err(ApiError::validation(spec.name, &unknown[0], &reason))
}

/// The parameter an unknown name most likely meant.
fn did_you_mean(key: &str, names: &[&'static str]) -> Option<&'static str> {
    let normalized = rules::normalize(key);
    ALIASES
        .iter()
        .filter(|(alias, _)| *alias == normalized)
        .find_map(|(_, target)| names.iter().copied().find(|name| name == target))
        .or_else(|| rules::suggest(key, names))
        .or_else(|| {
            (normalized.len() >= 3)
                .then(|| {
                    names
                        .iter()
                        .copied()
                        .find(|name| rules::normalize(name).ends_with(&normalized))
                })
                .flatten()
        })
}

/// Checks one parameter's value; `None` when it is absent and optional.
fn check(param: &Param, value: &Value) -> Result<Option<Arg>, String> {
    let expected = rules::describe(param.rule);
    match (param.rule, value) {
        (_, Value::Nil) if param.required => Err(format!("is required ({expected})")),
        (_, Value::Nil) => Ok(None),
        (Rule::Count { min, max }, value) => {
            let number = integer(value)
                .ok_or_else(|| format!("must be {expected}, got {}", describe(value)))?;
            if number < min || number > max {
                return Err(format!("{number} is out of range: must be {expected}"));
            }
            Ok(Some(Arg::Int(number)))
        }
        (rule, Value::String(s)) => {
            let text = s
                .to_str()
                .map_err(|_| "is not valid UTF-8 text".to_owned())?
                .to_owned();
            rules::check(rule, &text).map(|sent| Some(Arg::Text(sent)))
        }
        (_, other) => {
            let quote_hint = if matches!(other, Value::Integer(_) | Value::Number(_)) {
                " (write it in quotes)"
            } else {
                ""
            };
            Err(format!(
                "must be a string ({expected}), got {}{quote_hint}",
                describe(other)
            ))
        }
    }
}

/// A Lua number that is exactly an integer.
fn integer(value: &Value) -> Option<i64> {
    match *value {
        Value::Integer(i) => Some(i),
        // 2^63 is the first float past i64::MAX.
        Value::Number(n) if n.fract() == 0.0 && n >= -(2f64.powi(63)) && n < 2f64.powi(63) => {
            Some(n as i64)
        }
        _ => None,
    }
}

/// A value for a message, without calling any metamethod.
fn describe(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Integer(i) => format!("the number {i}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", rules::quote(&s.to_string_lossy())),
        other => rules::a(other.type_name()),
    }
}

/// A key that is not a string, for a message.
fn describe_key(key: &Value) -> String {
    match key {
        Value::Integer(i) => format!("[{i}]"),
        Value::Number(n) => format!("[{n}]"),
        other => format!("[{}]", rules::a(other.type_name())),
    }
}

/// `{to = ..., from = ...}` with the required parameters, or the first optional one.
fn example(spec: &FunctionSpec) -> String {
    let mut names: Vec<String> = spec
        .params
        .iter()
        .filter(|param| param.required)
        .map(|param| format!("{} = ...", param.name))
        .collect();
    if names.is_empty() {
        names.extend(
            spec.params
                .first()
                .map(|param| format!("{} = ...", param.name)),
        );
    }
    format!("{{{}}}", names.join(", "))
}
