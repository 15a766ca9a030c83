//! `&'static str` fields (statuses, directions, categories) read back from a saved state. Each
//! distinct text is leaked once and reused afterwards, so reloading a state file any number of
//! times allocates nothing new: the texts come from the small fixed sets the simulator writes.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer};

/// A field read through this module. (An alias, because serde's derive would otherwise take
/// `&'static str` for text borrowed from the input and demand `'de: 'static`.)
pub(crate) type Text = &'static str;

static TEXTS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// The one `'static` copy of `text`.
fn intern(text: &str) -> &'static str {
    let mut texts = TEXTS.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some(known) = texts.get(text) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    texts.insert(leaked);
    leaked
}

/// Deserializes a string field into its interned `'static` copy.
pub(crate) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(intern(&text))
}

/// Deserializes an optional string field into its interned `'static` copy.
pub(crate) fn optional_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'static str>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.as_deref().map(intern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_leaked_once() {
        let first = intern("delivered-test");
        let second = intern(&String::from("delivered-test"));
        assert!(std::ptr::eq(first, second));
    }
}
