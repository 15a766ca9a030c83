//! What of a response the guest may see, whatever the request's path: only JSON (every one of
//! the 15 operations answers JSON; any other answer, a proxy's HTML page say, is withheld and
//! replaced by a note saying so), without the JSON fields Twilio uses for secrets
//! (`auth_token` of an Account, `secret` of an API or signing key) at any depth, without any
//! configured secret's bytes wherever they appear, and with only the few headers the plugin
//! reads.

use bytes::Bytes;
use http::HeaderMap;
use memchr::memmem;
use serde_json::Value;

/// Placeholder written where a secret was.
const REDACTED: &str = "[redacted by twilio-host]";

/// The JSON fields that hold a secret in Twilio's responses, removed at any depth.
const SECRET_FIELDS: [&str; 2] = ["auth_token", "secret"];

/// The response headers the guest sees: the type of the body, when to retry, and Twilio's
/// request id (for support).
const GUEST_HEADERS: [&str; 3] = ["content-type", "retry-after", "twilio-request-id"];

/// The body the guest may see: an empty body or JSON with its secrets removed; anything else
/// becomes a plain-text note (and `headers` say so).
pub fn scrub_body<'a>(
    body: Bytes,
    headers: &mut HeaderMap,
    secrets: impl IntoIterator<Item = &'a [u8]>,
) -> Bytes {
    if !body.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return withheld(&body, headers);
    }
    redact_secret_bytes(drop_secret_fields(body), secrets)
}

/// The note that stands for a body that is not JSON.
fn withheld(body: &[u8], headers: &mut HeaderMap) -> Bytes {
    let kind = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("untyped")
        .to_string();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Bytes::from(format!(
        "twilio-host withheld a {kind} answer of {} bytes that is not JSON",
        body.len()
    ))
}

/// Keeps only the [`GUEST_HEADERS`].
pub fn scrub_headers(headers: &mut HeaderMap) {
    let names: Vec<_> = headers.keys().cloned().collect();
    for name in names {
        if !GUEST_HEADERS.contains(&name.as_str()) {
            headers.remove(&name);
        }
    }
}

/// Removes the [`SECRET_FIELDS`] from a JSON body. Only a body that names one is parsed, so
/// the common response passes untouched.
fn drop_secret_fields(body: Bytes) -> Bytes {
    let names_one = SECRET_FIELDS
        .iter()
        .any(|field| memmem::find(&body, field.as_bytes()).is_some());
    if !names_one {
        return body;
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    remove_fields(&mut json);
    serde_json::to_vec(&json).map(Bytes::from).unwrap_or(body)
}

fn remove_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for field in SECRET_FIELDS {
                map.remove(field);
            }
            map.values_mut().for_each(remove_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(remove_fields),
        _ => {}
    }
}

fn redact_secret_bytes<'a>(body: Bytes, secrets: impl IntoIterator<Item = &'a [u8]>) -> Bytes {
    let present: Vec<&[u8]> = secrets
        .into_iter()
        .filter(|s| !s.is_empty() && memmem::find(&body, s).is_some())
        .collect();
    if present.is_empty() {
        return body;
    }
    let mut text = body.to_vec();
    for secret in present {
        text = replace_all(&text, secret, REDACTED.as_bytes());
    }
    Bytes::from(text)
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut copied = 0;
    for found in memmem::find_iter(haystack, needle) {
        if found < copied {
            continue; // overlaps the occurrence just replaced
        }
        out.extend_from_slice(&haystack[copied..found]);
        out.extend_from_slice(with);
        copied = found + needle.len();
    }
    out.extend_from_slice(&haystack[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_responses_lose_their_auth_token() {
        let body = Bytes::from(r#"{"sid":"AC1","auth_token":"abc","friendly_name":"x"}"#);
        let out = scrub_body(body, &mut HeaderMap::new(), []);
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert!(json.get("auth_token").is_none());
        assert_eq!(json["friendly_name"], "x");
    }

    #[test]
    fn secret_bytes_are_redacted_anywhere() {
        let body = Bytes::from(r#"{"body":"token is s3cret!"}"#);
        let out = scrub_body(body, &mut HeaderMap::new(), [b"s3cret".as_slice()]);
        assert_eq!(
            &out[..],
            br#"{"body":"token is [redacted by twilio-host]!"}"#
        );
    }

    #[test]
    fn secret_fields_go_whatever_the_path_and_depth() {
        let body = Bytes::from(
            r#"{"keys":[{"sid":"SK1","secret":"s"}],"owner":{"auth_token":"t","name":"n"}}"#,
        );
        let json: Value =
            serde_json::from_slice(&scrub_body(body, &mut HeaderMap::new(), [])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"keys": [{"sid": "SK1"}], "owner": {"name": "n"}})
        );
        let plain = Bytes::from(r#"{"sid":"SM1","body":"hello"}"#);
        assert_eq!(
            scrub_body(plain.clone(), &mut HeaderMap::new(), []),
            plain,
            "untouched when no field is named"
        );
    }

    #[test]
    fn an_answer_that_is_not_json_is_withheld() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            "text/html; charset=utf-8".parse().unwrap(),
        );
        let page = Bytes::from("<html><body>token s3cret</body></html>");
        let out = scrub_body(page, &mut headers, [b"s3cret".as_slice()]);
        assert_eq!(
            &out[..],
            b"twilio-host withheld a text/html answer of 38 bytes that is not JSON"
        );
        assert_eq!(
            headers[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let empty = scrub_body(Bytes::new(), &mut HeaderMap::new(), []);
        assert!(empty.is_empty(), "an empty body (a 204) stays empty");
    }

    #[test]
    fn only_the_headers_the_plugin_reads_reach_it() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("retry-after", "1"),
            ("twilio-request-id", "RQ1"),
            ("set-cookie", "session=1"),
            ("x-internal", "10.0.0.1"),
        ] {
            headers.insert(http::HeaderName::from_static(name), value.parse().unwrap());
        }
        scrub_headers(&mut headers);
        let mut kept: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        kept.sort();
        assert_eq!(kept, ["content-type", "retry-after", "twilio-request-id"]);
    }

    #[test]
    fn overlapping_and_repeated_secrets_are_all_replaced() {
        assert_eq!(replace_all(b"aaaa", b"aa", b"X"), b"XX");
        assert_eq!(replace_all(b"aaa", b"aa", b"X"), b"Xa");
        assert_eq!(replace_all(b"xsys", b"s", b"[]"), b"x[]y[]");
        assert_eq!(replace_all(b"none", b"zz", b"X"), b"none");
    }
}
