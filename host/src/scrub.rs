//! Removing secrets from responses before the guest sees them: `auth_token` from Account
//! resources (real Twilio returns it), and any configured secret's bytes wherever they appear.

use bytes::Bytes;
use serde_json::Value;

/// Placeholder written where a secret was.
const REDACTED: &str = "[redacted by twilio-host]";

/// The body the guest may see for a response to `path`.
pub fn scrub_response(path: &str, body: Bytes, secrets: &[&[u8]]) -> Bytes {
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

fn redact_secret_bytes(body: Bytes, secrets: &[&[u8]]) -> Bytes {
    let present: Vec<&[u8]> = secrets
        .iter()
        .copied()
        .filter(|s| !s.is_empty() && contains(&body, s))
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = &rest[needle.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_responses_lose_their_auth_token() {
        let body = Bytes::from(r#"{"sid":"AC1","auth_token":"abc","friendly_name":"x"}"#);
        let out = scrub_response("/2010-04-01/Accounts/AC1.json", body, &[]);
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert!(json.get("auth_token").is_none());
        assert_eq!(json["friendly_name"], "x");
    }

    #[test]
    fn secret_bytes_are_redacted_anywhere() {
        let body = Bytes::from(r#"{"body":"token is s3cret!"}"#);
        let out = scrub_response("/2010-04-01/Accounts/AC1/Messages.json", body, &[b"s3cret"]);
        assert_eq!(
            &out[..],
            br#"{"body":"token is [redacted by twilio-host]!"}"#
        );
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
