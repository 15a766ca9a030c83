//! Resource records and their JSON representations (field sets as in the 2010 API spec).

pub(crate) mod account;
pub(crate) mod call;
pub(crate) mod lookup;
pub(crate) mod message;
pub(crate) mod phone_number;
pub(crate) mod recording;
pub(crate) mod usage;
pub(crate) mod usage_trigger;

use serde_json::{Map, Value};

use crate::util::time::Timestamp;

/// A resource addressed by its SID.
pub(crate) trait Identified {
    /// The resource's SID.
    fn sid(&self) -> &str;
}

/// Implements [`Identified`] for types with a `sid: String` field.
macro_rules! identified {
    ($($ty:ty),*) => {$(
        impl Identified for $ty {
            fn sid(&self) -> &str {
                &self.sid
            }
        }
    )*};
}

identified!(
    call::Call,
    message::Message,
    phone_number::PhoneNumber,
    recording::Recording,
    usage_trigger::UsageTrigger
);

/// The `api_version` every 2010 resource reports.
pub(crate) const API_VERSION: &str = "2010-04-01";

/// `/2010-04-01/Accounts/{sid}`: the relative base of every account-scoped URI.
pub(crate) fn account_path(account_sid: &str) -> String {
    format!("/{API_VERSION}/Accounts/{account_sid}")
}

/// An optional instant as an RFC 2822 string or null.
pub(crate) fn rfc2822(ts: Option<Timestamp>) -> Value {
    ts.map_or(Value::Null, |ts| Value::String(ts.rfc2822()))
}

/// An amount in units of 1e-5 as a decimal string, e.g. `-790` -> `"-0.00790"`.
pub(crate) fn decimal(e5: i64) -> String {
    let sign = if e5 < 0 { "-" } else { "" };
    let abs = e5.unsigned_abs();
    format!("{sign}{}.{:05}", abs / 100_000, abs % 100_000)
}

/// An optional amount as a decimal string or null.
pub(crate) fn opt_decimal(e5: Option<i64>) -> Value {
    e5.map_or(Value::Null, |e5| Value::String(decimal(e5)))
}

/// A `subresource_uris` object: each `(key, name)` maps to `{base}/{name}.json`.
pub(crate) fn subresource_uris(base: &str, entries: &[(&str, &str)]) -> Value {
    let map: Map<String, Value> = entries
        .iter()
        .map(|(key, name)| {
            (
                (*key).to_owned(),
                Value::String(format!("{base}/{name}.json")),
            )
        })
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_decimals() {
        assert_eq!(decimal(-790), "-0.00790");
        assert_eq!(decimal(219_284_855), "2192.84855");
        assert_eq!(decimal(0), "0.00000");
    }
}
