//! HTTP Basic authentication against the configured accounts and API keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::SimAccount;
use crate::errors::ApiError;
use crate::request::SimRequest;

/// Parses `Basic base64(user:password)` into `(user, password)`.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The account whose credentials the request carries, or 401 / 20003.
pub(crate) fn authenticate<'a>(
    accounts: impl IntoIterator<Item = &'a SimAccount>,
    request: &SimRequest,
) -> Result<&'a SimAccount, ApiError> {
    let (user, password) = request
        .credentials
        .as_ref()
        .ok_or_else(ApiError::unauthorized)?;
    accounts
        .into_iter()
        .find(|account| account.accepts(user, password))
        .ok_or_else(ApiError::unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_headers() {
        let header = format!("Basic {}", STANDARD.encode("ACx:tok:en"));
        assert_eq!(
            parse_basic(&header),
            Some(("ACx".to_owned(), "tok:en".to_owned()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic"), None);
    }
}
