//! Arbitrary Lua arguments into one of the 15 functions: a validation error table, or only
//! well-formed requests and a result table. Never a panic (a trap in the component) or a hang.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use twilio_plugin::fuzzing::{
    self, EDGE_NUMBERS, HOSTILE_METAMETHODS, NEAR_MISSES, ODD_VALUES, lua_bytes, plausible,
};
use twilio_plugin::spec::{FUNCTIONS, FunctionSpec};

/// How deep generated tables nest.
const MAX_DEPTH: u32 = 4;

/// A Lua expression for one value, decoded from the fuzzer's bytes.
fn value(u: &mut Unstructured, depth: u32) -> Result<String> {
    let kinds = if depth >= MAX_DEPTH { 7 } else { 10 };
    Ok(match u.int_in_range(0..=kinds - 1)? {
        0 => u.choose(ODD_VALUES)?.to_string(),
        1 => u.choose(EDGE_NUMBERS)?.to_string(),
        2 => format!("math.tointeger({})", u.arbitrary::<i64>()?),
        3 => match u.arbitrary::<f64>()? {
            f if f.is_finite() => format!("{f:e}"),
            _ => "0/0".to_owned(),
        },
        4 => lua_bytes(u.arbitrary::<&[u8]>()?),
        5 => lua_bytes(u.choose(NEAR_MISSES)?.as_bytes()),
        6 => format!(
            "string.rep({}, {})",
            lua_bytes(u.arbitrary::<&[u8]>()?),
            u.int_in_range(0..=1_000_000u32)?
        ),
        7 => table(u, depth + 1)?,
        8 => {
            let mut fields = Vec::new();
            while u.arbitrary::<bool>()? && fields.len() < 8 {
                fields.push(format!("[{}] = {}", key(u)?, value(u, depth + 1)?));
            }
            format!("{{{}}}", fields.join(", "))
        }
        _ => format!("setmetatable({}, {})", table(u, depth + 1)?, metatable(u)?),
    })
}

/// An array-like table.
fn table(u: &mut Unstructured, depth: u32) -> Result<String> {
    let mut items = Vec::new();
    while u.arbitrary::<bool>()? && items.len() < 8 {
        items.push(value(u, depth)?);
    }
    Ok(format!("{{{}}}", items.join(", ")))
}

/// A metatable of hostile metamethods.
fn metatable(u: &mut Unstructured) -> Result<String> {
    let mut fields = vec![u.choose(HOSTILE_METAMETHODS)?.to_string()];
    while u.arbitrary::<bool>()? && fields.len() < 6 {
        fields.push(u.choose(HOSTILE_METAMETHODS)?.to_string());
    }
    Ok(format!("{{{}}}", fields.join(", ")))
}

/// A table key: a parameter name of any function, or arbitrary bytes, or a non-string.
fn key(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=2)? {
        0 => {
            let spec = u.choose(FUNCTIONS)?;
            match spec.params {
                [] => "1".to_owned(),
                params => lua_bytes(u.choose(params)?.name.as_bytes()),
            }
        }
        1 => lua_bytes(u.arbitrary::<&[u8]>()?),
        _ => u
            .choose(&["1", "-0.0", "math.maxinteger", "1.5", "true", "print", "{}"])?
            .to_string(),
    })
}

/// The arguments of a call of `spec`: mostly a table whose parameters are absent, plausible or
/// arbitrary, with stray keys and maybe a hostile metatable; otherwise arbitrary values.
fn arguments(u: &mut Unstructured, spec: &FunctionSpec) -> Result<String> {
    if u.ratio(1, 8)? {
        let mut values = Vec::new();
        while u.arbitrary::<bool>()? && values.len() < 3 {
            values.push(value(u, 0)?);
        }
        return Ok(values.join(", "));
    }
    let mut fields = Vec::new();
    for param in spec.params {
        let name = lua_bytes(param.name.as_bytes());
        match u.int_in_range(0..=2)? {
            0 => {}
            1 => fields.push(format!("[{name}] = {}", plausible(&param.rule))),
            _ => fields.push(format!("[{name}] = {}", value(u, 1)?)),
        }
    }
    while u.ratio(1, 4)? && fields.len() < 12 {
        fields.push(format!("[{}] = {}", key(u)?, value(u, 1)?));
    }
    let table = format!("{{{}}}", fields.join(", "));
    Ok(if u.ratio(1, 10)? {
        format!("setmetatable({table}, {})", metatable(u)?)
    } else {
        table
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(spec) = u.choose(FUNCTIONS) else {
        return;
    };
    let Ok(arguments) = arguments(&mut u, spec) else {
        return;
    };
    if let Err(failure) = fuzzing::check_arguments(spec, &arguments) {
        panic!("{}({arguments}): {failure}", spec.name);
    }
});
