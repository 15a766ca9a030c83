//! How one account authenticates: an auth token or an API key, turned into the Basic
//! `Authorization` header on the host side of the egress hook.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use zeroize::Zeroizing;

use crate::config::{AccountSid, ApiKeySid};
use crate::secret::Secret;

/// The credential of one Twilio account.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `AccountSid:AuthToken`.
    AuthToken(Secret),
    /// `ApiKeySid:ApiKeySecret`; the account SID still goes in the path.
    ApiKey {
        /// The API key SID (`SK...`).
        sid: ApiKeySid,
        /// The API key secret.
        secret: Secret,
    },
}

impl Credential {
    /// The `Authorization` header for requests of `account_sid`, marked sensitive so that
    /// hyper and `Debug` never show it.
    pub fn authorization(&self, account_sid: &AccountSid) -> HeaderValue {
        let (user, password) = match self {
            Credential::AuthToken(token) => (account_sid.as_str(), token.expose()),
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
        let account = AccountSid::parse(&format!("AC{}", "1".repeat(32))).unwrap();
        let token = Credential::AuthToken(Secret::new("tok".into()));
        let header = token.authorization(&account);
        assert!(header.is_sensitive());
        assert_eq!(
            header.to_str().unwrap(),
            format!("Basic {}", STANDARD.encode(format!("{account}:tok")))
        );
        let key_sid = ApiKeySid::parse(&format!("SK{}", "1".repeat(32))).unwrap();
        let key = Credential::ApiKey {
            sid: key_sid.clone(),
            secret: Secret::new("s".into()),
        };
        assert_eq!(
            key.authorization(&account).to_str().unwrap(),
            format!("Basic {}", STANDARD.encode(format!("{key_sid}:s")))
        );
    }
}
