//! Conversion between Lua values and JSON: Twilio's responses into Lua tables, and a script's
//! return value (or error table) out as JSON.

use std::collections::HashSet;

use mlua::{Lua, Table, Value};
use serde_json::{Map, Number, Value as Json};

/// How deep a Lua table may nest before it is refused as JSON.
const MAX_DEPTH: usize = 128;

/// Registry key of the metatable that marks a Lua table as a JSON array, so that an empty list
/// from Twilio goes back out as `[]`, not `{}`.
const ARRAY_MARKER: &str = "twilio.json.array";

/// Builds the Lua value for a JSON value: null is nil, arrays and objects are tables, numbers
/// are integers when they are whole and fit, and strings stay strings.
pub fn to_lua(lua: &Lua, json: &Json) -> mlua::Result<Value> {
    Ok(match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for item in items {
                table.raw_push(to_lua(lua, item)?)?;
            }
            table.set_metatable(Some(array_marker(lua)?))?;
            Value::Table(table)
        }
        Json::Object(fields) => {
            let table = lua.create_table_with_capacity(0, fields.len())?;
            for (key, value) in fields {
                table.raw_set(key.as_str(), to_lua(lua, value)?)?;
            }
            Value::Table(table)
        }
    })
}

/// Encodes a Lua value as JSON. Tables that are sequences (or came from JSON arrays) become
/// arrays, other tables objects with string keys; functions and other opaque values become
/// `"<function>"`-style strings; NaN and infinities become the strings `"nan"`, `"inf"`, `"-inf"`.
/// Metamethods are never called. Cycles and nesting deeper than 128 are errors.
pub fn from_lua(lua: &Lua, value: &Value) -> Result<Json, String> {
    let marker = array_marker(lua).map_err(|e| e.to_string())?;
    Encoder {
        marker,
        open: HashSet::new(),
    }
    .encode(value, 0)
}

fn array_marker(lua: &Lua) -> mlua::Result<Table> {
    if let Some(marker) = lua.named_registry_value::<Option<Table>>(ARRAY_MARKER)? {
        return Ok(marker);
    }
    let marker = lua.create_table()?;
    marker.raw_set("__name", "json array")?;
    lua.set_named_registry_value(ARRAY_MARKER, &marker)?;
    Ok(marker)
}

struct Encoder {
    marker: Table,
    /// Tables on the current path, to detect cycles.
    open: HashSet<usize>,
}

impl Encoder {
    fn encode(&mut self, value: &Value, depth: usize) -> Result<Json, String> {
        Ok(match value {
            Value::Nil => Json::Null,
            Value::Boolean(b) => Json::Bool(*b),
            Value::Integer(i) => Json::Number((*i).into()),
            Value::Number(n) => float_to_json(*n),
            Value::String(s) => Json::String(s.to_string_lossy()),
            Value::Table(table) => self.encode_table(table, depth)?,
            other => Json::String(format!("<{}>", other.type_name())),
        })
    }

    fn encode_table(&mut self, table: &Table, depth: usize) -> Result<Json, String> {
        if depth >= MAX_DEPTH {
            return Err(format!("the value nests deeper than {MAX_DEPTH} tables"));
        }
        let id = table.to_pointer() as usize;
        if !self.open.insert(id) {
            return Err("the value contains a table that contains itself".into());
        }
        let result = match self.array_len(table) {
            Some(len) => self.encode_array(table, len, depth),
            None => self.encode_object(table, depth),
        };
        self.open.remove(&id);
        result
    }

    /// The length of the JSON array `table` becomes, or `None` for an object: a table marked as
    /// an array (from Twilio), or one whose keys are all integers from 1 up to a largest key at
    /// most twice their number (so at most half of the array is `null` holes).
    fn array_len(&self, table: &Table) -> Option<usize> {
        if table.metatable().is_some_and(|mt| mt == self.marker) {
            return Some(table.raw_len());
        }
        let mut count = 0usize;
        let mut largest = 0i64;
        for pair in table.pairs::<Value, Value>() {
            let Ok((Value::Integer(key), _)) = pair else {
                return None;
            };
            if key < 1 {
                return None;
            }
            count += 1;
            largest = largest.max(key);
        }
        let largest = usize::try_from(largest).ok()?;
        (count > 0 && largest <= count.saturating_mul(2)).then_some(largest)
    }

    fn encode_array(&mut self, table: &Table, len: usize, depth: usize) -> Result<Json, String> {
        let mut items = Vec::with_capacity(len);
        for index in 1..=len {
            let item: Value = table.raw_get(index).map_err(|e| e.to_string())?;
            items.push(self.encode(&item, depth + 1)?);
        }
        Ok(Json::Array(items))
    }

    fn encode_object(&mut self, table: &Table, depth: usize) -> Result<Json, String> {
        let mut fields = Map::new();
        for pair in table.pairs::<Value, Value>() {
            let (key, value) = pair.map_err(|e| e.to_string())?;
            let key = match key {
                Value::String(s) => s.to_string_lossy(),
                Value::Integer(i) => i.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "a table key of type {} has no JSON form",
                        other.type_name()
                    ));
                }
            };
            fields.insert(key, self.encode(&value, depth + 1)?);
        }
        Ok(Json::Object(fields))
    }
}

fn float_to_json(n: f64) -> Json {
    match Number::from_f64(n) {
        Some(number) => Json::Number(number),
        None if n.is_nan() => Json::String("nan".into()),
        None if n > 0.0 => Json::String("inf".into()),
        None => Json::String("-inf".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(lua: &Lua, code: &str) -> String {
        let value: Value = lua.load(code).eval().unwrap();
        from_lua(lua, &value).unwrap().to_string()
    }

    #[test]
    fn encodes_sequences_objects_and_scalars() {
        let lua = Lua::new();
        assert_eq!(roundtrip(&lua, "return {a = 1}"), r#"{"a":1}"#);
        assert_eq!(roundtrip(&lua, "return {1, 'x', true}"), r#"[1,"x",true]"#);
        assert_eq!(roundtrip(&lua, "return {}"), "{}");
        assert_eq!(roundtrip(&lua, "return 0/0"), r#""nan""#);
        assert_eq!(roundtrip(&lua, "return 1.5"), "1.5");
        assert_eq!(roundtrip(&lua, "return print"), r#""<function>""#);
    }

    #[test]
    fn integer_keys_make_an_array_with_null_holes_unless_too_sparse() {
        let lua = Lua::new();
        assert_eq!(roundtrip(&lua, "return {nil, 'a'}"), r#"[null,"a"]"#);
        assert_eq!(roundtrip(&lua, "return {1, nil, 3, nil}"), "[1,null,3]");
        assert_eq!(
            roundtrip(&lua, "return {[2] = 'b', [4] = 'd'}"),
            r#"[null,"b",null,"d"]"#
        );
        assert_eq!(
            roundtrip(&lua, "return {[1] = 1, [100] = 2}"),
            r#"{"1":1,"100":2}"#
        );
        assert_eq!(
            roundtrip(&lua, "return {[0] = 'z', 'a'}"),
            r#"{"0":"z","1":"a"}"#
        );
        assert_eq!(roundtrip(&lua, "return {[-1] = 'n'}"), r#"{"-1":"n"}"#);
        assert_eq!(roundtrip(&lua, "return {1, x = 2}"), r#"{"1":1,"x":2}"#);
        assert_eq!(roundtrip(&lua, "return {[1.5] = 1}"), r#"{"1.5":1}"#);
        assert_eq!(
            roundtrip(&lua, "return {[1e15] = 1}"),
            r#"{"1000000000000000":1}"#,
            "a huge index does not make a huge array"
        );
    }

    #[test]
    fn json_arrays_survive_a_round_trip_even_when_empty() {
        let lua = Lua::new();
        let json: Json = serde_json::from_str(r#"{"items":[],"n":null,"s":"1"}"#).unwrap();
        let value = to_lua(&lua, &json).unwrap();
        let expected: Json = serde_json::from_str(r#"{"items":[],"s":"1"}"#).unwrap();
        assert_eq!(from_lua(&lua, &value).unwrap(), expected);
    }

    #[test]
    fn refuses_cycles() {
        let lua = Lua::new();
        let value: Value = lua.load("local t = {} t.self = t return t").eval().unwrap();
        assert!(
            from_lua(&lua, &value)
                .unwrap_err()
                .contains("contains itself")
        );
    }
}
