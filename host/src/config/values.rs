//! The typed values a configuration is made of, each checked once when it is parsed: SIDs,
//! base URLs (parsed origins) and bearer-token hashes.

use std::fmt;
use std::marker::PhantomData;

use http::Uri;
use http::uri::{Authority, Scheme};
use sha2::{Digest, Sha256};

/// What a kind of SID starts with, and what it is called in error messages.
pub trait SidKind {
    /// The two-letter prefix: `AC`, `SK`, ...
    const PREFIX: &'static str;
    /// The name used in messages: "an account SID".
    const NAME: &'static str;
}

/// Marks account SIDs (`AC...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKind;

impl SidKind for AccountKind {
    const PREFIX: &'static str = "AC";
    const NAME: &'static str = "an account SID";
}

/// Marks API key SIDs (`SK...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyKind;

impl SidKind for ApiKeyKind {
    const PREFIX: &'static str = "SK";
    const NAME: &'static str = "an API key SID";
}

/// A Twilio SID of kind `K`: its prefix followed by 32 hex digits, checked when parsed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sid<K> {
    text: String,
    kind: PhantomData<K>,
}

/// An account SID (`AC` + 32 hex digits).
pub type AccountSid = Sid<AccountKind>;
/// An API key SID (`SK` + 32 hex digits).
pub type ApiKeySid = Sid<ApiKeyKind>;

/// Whether `text` is a Twilio SID with `prefix`: the two letters, then 32 hex digits.
pub fn is_sid(text: &str, prefix: &str) -> bool {
    text.len() == 34 && text.starts_with(prefix) && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl<K: SidKind> Sid<K> {
    /// Checks `text`; the error says what a SID of this kind looks like.
    pub fn parse(text: &str) -> Result<Sid<K>, String> {
        if is_sid(text, K::PREFIX) {
            Ok(Sid {
                text: text.to_string(),
                kind: PhantomData,
            })
        } else {
            Err(format!(
                "{text:?} is not {} ({} followed by 32 hex digits)",
                K::NAME,
                K::PREFIX
            ))
        }
    }
}

impl<K> Sid<K> {
    /// The SID as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<K> fmt::Display for Sid<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<K> fmt::Debug for Sid<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl<K> PartialEq<str> for Sid<K> {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl<K> PartialEq<&str> for Sid<K> {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

/// The base URL of a Twilio API: `http` or `https`, a host and an optional port, nothing else
/// (no user info, path, query or fragment; one trailing slash is dropped).
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    /// `scheme://authority`, as the guest is told.
    text: String,
}

impl BaseUrl {
    /// Parses and checks `text`; the error says what a base URL looks like.
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        let problem = || {
            format!(
                "{text:?} is not a base URL like \"https://api.twilio.com\" or \
                 \"http://127.0.0.1:4010\" (scheme and host, no path)"
            )
        };
        if text.contains('@') {
            // Not echoed: what precedes the '@' is a credential.
            return Err("a base URL may not carry credentials (user:password@host); secrets are never written in the config".into());
        }
        let uri: Uri = text.parse().map_err(|_| problem())?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(problem());
        };
        let plain_path = matches!(uri.path(), "" | "/") && !text.ends_with("//");
        let http_or_https = *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS;
        if !http_or_https || !plain_path || uri.query().is_some() || text.contains('#') {
            return Err(problem());
        }
        Ok(BaseUrl {
            text: format!("{scheme}://{authority}"),
            scheme: scheme.clone(),
            authority: authority.clone(),
        })
    }

    /// Whether requests to it would travel in clear text off this machine: `http://` to a host
    /// that is not loopback (`localhost`, 127.0.0.0/8, `[::1]`).
    pub fn is_insecure(&self) -> bool {
        if self.scheme != Scheme::HTTP {
            return false;
        }
        let host = self
            .authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        !loopback
    }

    /// `scheme://authority`, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `uri` goes to this origin: the same scheme, host and port.
    pub fn is_origin_of(&self, uri: &Uri) -> bool {
        uri.scheme() == Some(&self.scheme) && uri.authority() == Some(&self.authority)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// The SHA-256 of a tenant's sidecar bearer token (the token itself is never configured).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Parses 64 hex digits (either case).
    pub fn parse(hex_digits: &str) -> Result<TokenHash, String> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut bytes).map_err(|_| {
            "must be 64 hex digits: the SHA-256 of the tenant's bearer token \
             (`twilio-host hash-token`)"
                .to_string()
        })?;
        Ok(TokenHash(bytes))
    }

    /// The hash of `token`.
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for TokenHash {
    /// Lower-case hex, as `api_token_sha256` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_text_off_the_machine_is_insecure() {
        for (url, insecure) in [
            ("http://api.example.com", true),
            ("http://10.0.0.5:4010", true),
            ("http://127.0.0.1:4010", false),
            ("http://127.8.9.10", false),
            ("http://localhost:4010", false),
            ("http://[::1]:4011", false),
            ("https://api.example.com", false),
        ] {
            assert_eq!(
                BaseUrl::parse(url).unwrap().is_insecure(),
                insecure,
                "{url}"
            );
        }
        let refused = BaseUrl::parse("https://user:s3cret@api.example.com").unwrap_err();
        assert!(refused.contains("may not carry credentials") && !refused.contains("s3cret"));
    }

    #[test]
    fn sids_have_their_prefix_and_32_hex_digits() {
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcdef").is_ok());
        assert!(AccountSid::parse("SK0123456789abcdef0123456789abcdef").is_err());
        assert!(ApiKeySid::parse("SK0123456789abcdef0123456789abcdef").is_ok());
        let error = AccountSid::parse("AC1").unwrap_err();
        assert!(
            error.contains("not an account SID (AC followed by 32 hex"),
            "{error}"
        );
    }

    #[test]
    fn base_urls_are_an_origin_and_nothing_else() {
        for good in [
            "https://api.twilio.com",
            "http://127.0.0.1:4010",
            "http://127.0.0.1:4010/",
        ] {
            let url = BaseUrl::parse(good).unwrap();
            assert_eq!(url.as_str(), good.trim_end_matches('/'));
        }
        for bad in [
            "127.0.0.1:4010",
            "ftp://x.test",
            "https://api.twilio.com/v1",
            "https://api.twilio.com//",
            "https://api.twilio.com?x=1",
            "http://user:pass@127.0.0.1:4010",
            "https://api.twilio.com#f",
            "https://",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        let url = BaseUrl::parse("http://127.0.0.1:4010").unwrap();
        assert!(url.is_origin_of(&"http://127.0.0.1:4010/x".parse().unwrap()));
        assert!(!url.is_origin_of(&"https://127.0.0.1:4010/x".parse().unwrap()));
        assert!(!url.is_origin_of(&"http://127.0.0.1:4011/x".parse().unwrap()));
    }

    #[test]
    fn token_hashes_round_trip_as_hex() {
        let hash = TokenHash::of("s3cret");
        assert_eq!(TokenHash::parse(&hash.to_string()).unwrap(), hash);
        assert_eq!(
            TokenHash::parse(&hash.to_string().to_ascii_uppercase()).unwrap(),
            hash
        );
        assert!(TokenHash::parse("zz").is_err());
    }
}
