//! Bearer-token authentication of sidecar requests: the presented token's SHA-256 is compared
//! with the tenant's `api_token_sha256` in constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use crate::config::TokenHash;

/// Whether `headers` carry `Authorization: Bearer <token>` whose SHA-256 is `expected`.
pub fn authorized(headers: &HeaderMap, expected: &TokenHash) -> bool {
    let Some(token) = bearer_token(headers) else {
        return false;
    };
    let presented = TokenHash::of(token);
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accepts_only_the_token_whose_hash_is_configured() {
        let hash = TokenHash::of("s3cret");
        assert!(authorized(&headers("Bearer s3cret"), &hash));
        assert!(authorized(&headers("bearer s3cret"), &hash));
        assert!(!authorized(&headers("Bearer s3cre"), &hash));
        assert!(!authorized(&headers("Basic s3cret"), &hash));
        assert!(!authorized(&headers("Bearer "), &hash));
        assert!(!authorized(&HeaderMap::new(), &hash));
        assert!(!authorized(
            &headers("Bearer s3cret"),
            &TokenHash::of("other")
        ));
    }
}
