//! Parameter checks shared by the create handlers.

use crate::errors::ApiError;
use crate::request::SimRequest;

/// The form parameter `name`, or 400 "missing required parameter" with `code`.
pub(crate) fn required<'a>(
    request: &'a SimRequest,
    name: &str,
    code: u32,
) -> Result<&'a str, ApiError> {
    request.form_param(name).ok_or_else(|| {
        ApiError::bad_request(
            code,
            format!("Missing required parameter {name} in the post body"),
        )
    })
}

/// The form parameter `name` if it is one of `allowed` (case-insensitive, returned as listed),
/// `default` if absent, else 400 / 20001.
pub(crate) fn one_of(
    request: &SimRequest,
    name: &str,
    allowed: &[&'static str],
    default: Option<&'static str>,
) -> Result<Option<&'static str>, ApiError> {
    let Some(value) = request.form_param(name) else {
        return Ok(default);
    };
    allowed
        .iter()
        .find(|candidate| candidate.eq_ignore_ascii_case(value))
        .map(|candidate| Some(*candidate))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "{name} must be one of {}, not '{value}'",
                allowed.join(", ")
            ))
        })
}

/// An absolute http(s) URL whose host is non-empty and has no underscore or whitespace.
pub(crate) fn is_http_url(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    !host.is_empty() && !host.contains('_') && !value.chars().any(char::is_whitespace)
}

/// Checks an optional URL parameter, answering `code` when it is not a valid URL.
pub(crate) fn optional_url(request: &SimRequest, name: &str, code: u32) -> Result<(), ApiError> {
    match request.form_param(name) {
        Some(url) if !is_http_url(url) => Err(ApiError::bad_request(
            code,
            format!("The {name} URL {url} is not a valid URL."),
        )),
        _ => Ok(()),
    }
}

/// Splits a channel address: `whatsapp:+1555` -> `(Some("whatsapp"), "+1555")`.
pub(crate) fn split_channel(address: &str) -> (Option<&str>, &str) {
    match address.split_once(':') {
        Some((channel, rest))
            if !channel.is_empty() && channel.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            (Some(channel), rest)
        }
        _ => (None, address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_urls() {
        assert!(is_http_url("https://example.com/cb?x=1"));
        assert!(is_http_url("http://127.0.0.1:8080"));
        assert!(!is_http_url("ftp://example.com"));
        assert!(!is_http_url("https://bad_host.com/"));
        assert!(!is_http_url("https:///path"));
        assert!(!is_http_url("https://a.com/x y"));
    }

    #[test]
    fn splits_channels() {
        assert_eq!(split_channel("whatsapp:+1555"), (Some("whatsapp"), "+1555"));
        assert_eq!(split_channel("+1555"), (None, "+1555"));
    }
}
