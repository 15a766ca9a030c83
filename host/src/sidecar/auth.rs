//! Bearer-token authentication of sidecar requests: the presented token's SHA-256 is compared
//! with the tenant's `api_token_sha256` in constant time.

use std::sync::LazyLock;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use crate::config::TokenHash;

/// Whether `headers` carry `Authorization: Bearer <token>` whose SHA-256 is `expected`.
/// Without an expected hash (an unknown tenant, or one without a token) the answer is `false`
/// after the same work, so that the time taken does not tell which case it was.
pub fn authorized(headers: &HeaderMap, expected: Option<&TokenHash>) -> bool {
    static UNMATCHABLE: LazyLock<TokenHash> =
        LazyLock::new(|| TokenHash::of("no tenant has this token hash: compared, never true"));
    let token = bearer_token(headers);
    let presented = TokenHash::of(token.unwrap_or_default());
    let matches: bool = presented
        .as_bytes()
        .ct_eq(expected.unwrap_or(&UNMATCHABLE).as_bytes())
        .into();
    matches && expected.is_some() && token.is_some()
}

/// The one tenant whose token `headers` carry, among `tenants` (name and expected hash): `None`
/// when no tenant has that token, and when several share it (the token alone must say the
/// tenant). Every tenant's hash is compared, in constant time, whatever matched before.
pub fn tenant_with_token<'a>(
    headers: &HeaderMap,
    tenants: impl IntoIterator<Item = (&'a str, Option<&'a TokenHash>)>,
) -> Option<&'a str> {
    let token = bearer_token(headers)?;
    let presented = TokenHash::of(token);
    let matching: Vec<&str> = tenants
        .into_iter()
        .filter(|(_, expected)| {
            expected.is_some_and(|expected| presented.as_bytes().ct_eq(expected.as_bytes()).into())
        })
        .map(|(name, _)| name)
        .collect();
    match matching.as_slice() {
        [only] => Some(only),
        _ => None,
    }
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
    fn a_token_names_its_tenant_only_when_no_other_tenant_shares_it() {
        let (a, b) = (TokenHash::of("token-a"), TokenHash::of("token-b"));
        let tenants = [("one", Some(&a)), ("two", Some(&b)), ("none", None)];
        assert_eq!(
            tenant_with_token(&headers("Bearer token-b"), tenants),
            Some("two")
        );
        assert_eq!(tenant_with_token(&headers("Bearer token-c"), tenants), None);
        assert_eq!(tenant_with_token(&HeaderMap::new(), tenants), None);
        let shared = [("one", Some(&a)), ("other", Some(&a))];
        assert_eq!(tenant_with_token(&headers("Bearer token-a"), shared), None);
    }

    #[test]
    fn accepts_only_the_token_whose_hash_is_configured() {
        let hash = TokenHash::of("s3cret");
        let expected = Some(&hash);
        assert!(authorized(&headers("Bearer s3cret"), expected));
        assert!(authorized(&headers("bearer s3cret"), expected));
        assert!(!authorized(&headers("Bearer s3cre"), expected));
        assert!(!authorized(&headers("Basic s3cret"), expected));
        assert!(!authorized(&headers("Bearer "), expected));
        assert!(!authorized(&HeaderMap::new(), expected));
        assert!(!authorized(
            &headers("Bearer s3cret"),
            Some(&TokenHash::of("other"))
        ));
        assert!(!authorized(&headers("Bearer s3cret"), None));
        // An empty token hashes like any other, but is never accepted.
        assert!(!authorized(&HeaderMap::new(), Some(&TokenHash::of(""))));
    }
}
