//! Bearer-token authentication of sidecar requests: the presented token's SHA-256 is compared
//! with the tenant's `api_token_sha256` in constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `headers` carry `Authorization: Bearer <token>` whose SHA-256 is `expected_hex`.
pub fn authorized(headers: &HeaderMap, expected_hex: &str) -> bool {
    let Some(token) = bearer_token(headers) else {
        return false;
    };
    let Some(expected) = decode_hex(expected_hex) else {
        return false;
    };
    let presented = Sha256::digest(token.as_bytes());
    presented.as_slice().ct_eq(&expected).into()
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// 64 hex digits as 32 bytes.
fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::cli::hash_token::sha256_hex;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accepts_only_the_token_whose_hash_is_configured() {
        let hash = sha256_hex("s3cret");
        assert!(authorized(&headers("Bearer s3cret"), &hash));
        assert!(authorized(&headers("bearer s3cret"), &hash));
        assert!(!authorized(&headers("Bearer s3cre"), &hash));
        assert!(!authorized(&headers("Basic s3cret"), &hash));
        assert!(!authorized(&headers("Bearer "), &hash));
        assert!(!authorized(&HeaderMap::new(), &hash));
        assert!(!authorized(&headers("Bearer s3cret"), "zz"));
    }
}
