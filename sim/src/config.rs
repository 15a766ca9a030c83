//! Simulator configuration: listen addresses and the accounts it knows.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::util::sid::{hex32, sid};

/// What a [`crate::Simulator`] serves and where.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Accounts the simulator accepts credentials for; each gets its own seeded data.
    pub accounts: Vec<SimAccount>,
    /// Address of the core API listener (`/2010-04-01/...`). Default `127.0.0.1:0` (any free port).
    pub api_addr: SocketAddr,
    /// Address of the Lookup v2 listener (`/v2/PhoneNumbers/...`). Default `127.0.0.1:0`.
    pub lookups_addr: SocketAddr,
    /// Where the data is kept between processes. `None` (the default): in memory only, seeded
    /// with deterministic SIDs (see [`crate::SeededIds`]). A path: the data of the accounts
    /// found there is served and every change written back, so processes sharing the file see
    /// one simulated Twilio; accounts the file lacks are seeded with SIDs no earlier state used.
    /// Deleting the file starts afresh, also for a simulator already running.
    pub state_file: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        SimConfig {
            accounts: vec![SimAccount::test_default()],
            api_addr: any_port,
            lookups_addr: any_port,
            state_file: None,
        }
    }
}

/// A Twilio account known to the simulator, with its credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    /// `AC` + 32 hex characters; the `{AccountSid}` in paths and the Basic-auth username.
    pub account_sid: String,
    /// The Auth Token (Basic-auth password paired with `account_sid`).
    pub auth_token: String,
    /// API keys that may authenticate for this account (username `SK…`, password the secret).
    pub api_keys: Vec<ApiKey>,
    /// The account's `friendly_name`.
    pub friendly_name: String,
    /// The account's `type`: `"Full"` or `"Trial"`.
    pub account_type: String,
    /// Verified caller IDs. A `"Trial"` account may only send messages and place calls to these
    /// (otherwise error 21608 for messages, 21219 for calls).
    pub verified_numbers: Vec<String>,
}

/// An API key (`SK…` SID and its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// `SK` + 32 hex characters.
    pub sid: String,
    /// The key's secret.
    pub secret: String,
}

impl SimAccount {
    /// The account used by [`SimConfig::default`]: `SimAccount::new("default")` with the friendly
    /// name "Twilio Simulator Test Account". SID `ACcda0a964fd416773ac8818d8b3bb1c76`, Auth Token
    /// `d26ec84b53c3cdcead348391d61ab9d8`, API key `SK49a19047a33ed9b0aa8da4e2bb13c4f0` with
    /// secret `1d5b1cff5ac1bd4ddb74d0f896751117`.
    pub fn test_default() -> Self {
        SimAccount {
            friendly_name: "Twilio Simulator Test Account".to_owned(),
            ..SimAccount::new("default")
        }
    }

    /// A `"Full"` account whose SID, token and one API key are derived deterministically from
    /// `name_seed` (SHA-256 based), so distinct seeds give distinct credentials.
    /// `+15551234567` is its only verified number.
    pub fn new(name_seed: &str) -> Self {
        SimAccount {
            account_sid: sid("AC", &["account-sid", name_seed]),
            auth_token: hex32(&["auth-token", name_seed]),
            api_keys: vec![ApiKey {
                sid: sid("SK", &["api-key-sid", name_seed]),
                secret: hex32(&["api-key-secret", name_seed]),
            }],
            friendly_name: format!("Simulated account {name_seed}"),
            account_type: "Full".to_owned(),
            verified_numbers: vec!["+15551234567".to_owned()],
        }
    }

    /// True for a `"Trial"` account.
    pub(crate) fn is_trial(&self) -> bool {
        self.account_type.eq_ignore_ascii_case("trial")
    }

    /// True if `user`/`password` are this account's SID and token or one of its API keys.
    pub(crate) fn accepts(&self, user: &str, password: &str) -> bool {
        (user == self.account_sid && password == self.auth_token)
            || self
                .api_keys
                .iter()
                .any(|key| key.sid == user && key.secret == password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_credentials_are_stable() {
        let account = SimAccount::test_default();
        assert_eq!(account.account_sid, "ACcda0a964fd416773ac8818d8b3bb1c76");
        assert_eq!(account.auth_token, "d26ec84b53c3cdcead348391d61ab9d8");
        assert_eq!(
            account.api_keys[0].sid,
            "SK49a19047a33ed9b0aa8da4e2bb13c4f0"
        );
        assert_eq!(
            account.api_keys[0].secret,
            "1d5b1cff5ac1bd4ddb74d0f896751117"
        );
        assert_ne!(
            SimAccount::new("a").account_sid,
            SimAccount::new("b").account_sid
        );
        assert!(account.accepts(&account.account_sid, &account.auth_token));
        assert!(!account.accepts(&account.account_sid, "nope"));
    }
}
