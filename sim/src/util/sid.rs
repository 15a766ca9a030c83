//! Deterministic SID, token and hex helpers.

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 lower-case hex characters derived from `parts` (SHA-256, truncated).
pub(crate) fn hex32(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let mut out = hex(&hasher.finalize());
    out.truncate(32);
    out
}

/// A SID: a two-letter prefix followed by 32 hex characters derived from `parts`.
pub(crate) fn sid(prefix: &str, parts: &[&str]) -> String {
    format!("{prefix}{}", hex32(parts))
}

/// True if `value` is `prefix` followed by exactly 32 hex characters.
pub(crate) fn is_sid(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Decodes lower- or upper-case hex; `None` on odd length or a non-hex digit.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_deterministic_and_well_formed() {
        let a = sid("SM", &["x", "1"]);
        assert_eq!(a, sid("SM", &["x", "1"]));
        assert_ne!(a, sid("SM", &["x", "2"]));
        assert!(is_sid(&a, "SM"));
        assert!(!is_sid(&a, "MM"));
        assert!(!is_sid("SMzz", "SM"));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(b"12:ab")).as_deref(), Some(&b"12:ab"[..]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }
}
