//! The accounts a run may use, as the host describes them (never with a secret).

/// One Twilio account the tenant configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The name scripts use: `default`, `work`, ...
    pub name: String,
    /// The account SID that goes into request paths.
    pub account_sid: String,
    /// Base URL of the core REST API, e.g. `https://api.twilio.com`.
    pub api_base_url: String,
    /// Base URL of the Lookup API, e.g. `https://lookups.twilio.com`.
    pub lookups_base_url: String,
}
