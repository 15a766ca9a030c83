//! Percent-encoding of query strings and `application/x-www-form-urlencoded` bodies, and filling
//! path templates.

use std::fmt::Write;

/// Percent-encodes `value`: the RFC 3986 unreserved characters stay, every other byte of its
/// UTF-8 form becomes `%XX` (so `+` is `%2B` and a space `%20`).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `Name=value&Name=value`, each part percent-encoded: a query string or a form body.
pub fn form(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Replaces each `{name}` in `template` with `value(name)`; the first error `value` gives is the
/// result.
pub fn fill_path(
    template: &str,
    value: impl Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or_else(|| format!("unclosed placeholder in {template}"))?;
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        out.push_str(&value(name)?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `base` and a path (or a `next_page_uri`) joined with exactly one `/`.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_space_and_non_ascii_are_encoded() {
        assert_eq!(percent_encode("+1 555"), "%2B1%20555");
        assert_eq!(percent_encode("héllo ✓"), "h%C3%A9llo%20%E2%9C%93");
        assert_eq!(percent_encode("a&b=c,d"), "a%26b%3Dc%2Cd");
        assert_eq!(percent_encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn forms_and_paths() {
        assert_eq!(
            form(&[("To", "+1".into()), ("Body", "a b".into())]),
            "To=%2B1&Body=a%20b"
        );
        assert_eq!(
            fill_path("/A/{AccountSid}/M/{sid}.json", |n| Ok(n.to_lowercase())).unwrap(),
            "/A/accountsid/M/sid.json"
        );
        assert_eq!(fill_path("/x/{y}", |n| Err(n.to_owned())).unwrap_err(), "y");
        assert_eq!(
            join("https://h/", "/2010/x.json?a=b"),
            "https://h/2010/x.json?a=b"
        );
    }
}
