//! Deterministic SIDs and the SID check.

use sha2::{Digest, Sha256};

/// 32 lower-case hex characters derived from `parts` (SHA-256, truncated).
pub(crate) fn hex32(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let mut out = hex::encode(hasher.finalize());
    out.truncate(32);
    out
}

/// A SID: a two-letter prefix followed by 32 hex characters derived from `parts`.
pub(crate) fn sid(prefix: &str, parts: &[&str]) -> String {
    format!("{prefix}{}", hex32(parts))
}

/// True if `value` is `prefix` followed by exactly 32 hex characters.
pub fn is_sid(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
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
}
