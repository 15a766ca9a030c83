//! How one account authenticates: an auth token or an API key, turned into the Basic
//! `Authorization` header on the host side of the egress hook.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use zeroize::Zeroizing;

use crate::secret::Secret;

/// The credential of one Twilio account.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `AccountSid:AuthToken`.
    AuthToken(Secret),
    /// `ApiKeySid:ApiKeySecret`; the account SID still goes in the path.
    ApiKey {
        /// The API key SID (`SK...`).
        sid: String,
        /// The API key secret.
        secret: Secret,
    },
}

impl Credential {
    /// The `Authorization` header for requests of `account_sid`, marked sensitive so that
    /// hyper and `Debug` never show it.
    pub fn authorization(&self, account_sid: &str) -> HeaderValue {
        let (user, password) = match self {
            Credential::AuthToken(token) => (account_sid, token.expose()),
            Credential::ApiKey { sid, secret } => (sid.as_str(), secret.expose()),
        };
        let plain = Zeroizing::new(format!("{user}:{password}"));
        let header = Zeroizing::new(format!("Basic {}", STANDARD.encode(plain.as_bytes())));
        let mut value =
            HeaderValue::from_str(&header).unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }

    /// The secret itself, so the egress hook can make sure it never flows back to the guest.
    pub fn secret(&self) -> &Secret {
        match self {
            Credential::AuthToken(token) => token,
            Credential::ApiKey { secret, .. } => secret,
        }
    }

    /// What kind of credential this is, for `check` and logs (never the value).
    pub fn describe(&self) -> String {
        match self {
            Credential::AuthToken(_) => "auth token".into(),
            Credential::ApiKey { sid, .. } => format!("API key {sid}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_for_token_and_api_key() {
        let token = Credential::AuthToken(Secret::new("tok".into()));
        let header = token.authorization("AC1");
        assert!(header.is_sensitive());
        assert_eq!(
            header.to_str().unwrap(),
            format!("Basic {}", STANDARD.encode("AC1:tok"))
        );
        let key = Credential::ApiKey {
            sid: "SK1".into(),
            secret: Secret::new("s".into()),
        };
        assert_eq!(
            key.authorization("AC1").to_str().unwrap(),
            format!("Basic {}", STANDARD.encode("SK1:s"))
        );
    }
}
