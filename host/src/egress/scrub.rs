//! Removing secrets from responses before the guest sees them: `auth_token` from Account
//! resources (real Twilio returns it), and any configured secret's bytes wherever they appear.

use bytes::Bytes;
use memchr::memmem;
use serde_json::Value;

/// Placeholder written where a secret was.
const REDACTED: &str = "[redacted by twilio-host]";

/// The body the guest may see for a response to `path`.
pub fn scrub_response<'a>(
    path: &str,
    body: Bytes,
    secrets: impl IntoIterator<Item = &'a [u8]>,
) -> Bytes {
    let body = if is_account_resource(path) {
        drop_auth_tokens(body)
    } else {
        body
    };
    redact_secret_bytes(body, secrets)
}

/// `/2010-04-01/Accounts/{Sid}.json` or the accounts list.
fn is_account_resource(path: &str) -> bool {
    match path.strip_prefix("/2010-04-01/Accounts") {
        Some(".json") => true,
        Some(rest) => rest
            .strip_prefix('/')
            .is_some_and(|r| r.ends_with(".json") && !r.contains('/')),
        None => false,
    }
}

fn drop_auth_tokens(body: Bytes) -> Bytes {
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    remove_key(&mut json, "auth_token");
    serde_json::to_vec(&json).map(Bytes::from).unwrap_or(body)
}

fn remove_key(value: &mut Value, key: &str) {
    match value {
        Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|v| remove_key(v, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| remove_key(v, key)),
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
        let out = scrub_response("/2010-04-01/Accounts/AC1.json", body, []);
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert!(json.get("auth_token").is_none());
        assert_eq!(json["friendly_name"], "x");
    }

    #[test]
    fn secret_bytes_are_redacted_anywhere() {
        let body = Bytes::from(r#"{"body":"token is s3cret!"}"#);
        let out = scrub_response(
            "/2010-04-01/Accounts/AC1/Messages.json",
            body,
            [b"s3cret".as_slice()],
        );
        assert_eq!(
            &out[..],
            br#"{"body":"token is [redacted by twilio-host]!"}"#
        );
    }

    #[test]
    fn overlapping_and_repeated_secrets_are_all_replaced() {
        assert_eq!(replace_all(b"aaaa", b"aa", b"X"), b"XX");
        assert_eq!(replace_all(b"aaa", b"aa", b"X"), b"Xa");
        assert_eq!(replace_all(b"xsys", b"s", b"[]"), b"x[]y[]");
        assert_eq!(replace_all(b"none", b"zz", b"X"), b"none");
    }

    #[test]
    fn only_account_resources_are_parsed() {
        assert!(is_account_resource("/2010-04-01/Accounts/AC1.json"));
        assert!(is_account_resource("/2010-04-01/Accounts.json"));
        assert!(!is_account_resource(
            "/2010-04-01/Accounts/AC1/Messages.json"
        ));
    }
}
