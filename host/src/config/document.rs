//! The configuration as written: the TOML file's structure, and the same structure built from
//! the standard `TWILIO_*` environment variables, so both go through one resolver.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::SecretSource;
use super::policy::Quotas;
pub(super) use super::server::ServerDocument;
use crate::limits::LimitsFile;

/// The config file (or the environment) as written, before anything is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Document {
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub endpoints: EndpointsDocument,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantDocument>,
    #[serde(default)]
    pub state: StateDocument,
    #[serde(default)]
    pub server: ServerDocument,
    #[serde(default)]
    pub audit: AuditDocument,
    /// Lets `http://` endpoints on hosts that are not loopback through (Basic auth in clear).
    #[serde(default)]
    pub allow_insecure_endpoints: bool,
}

/// `[state]`: where quota counts live.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateDocument {
    pub url: Option<String>,
}

/// `[audit]`: how long audit records are kept, and whether destinations are masked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditDocument {
    pub retention_days: Option<u64>,
    pub destinations: Option<String>,
}

/// `[tenants.NAME.policy]` and `[tenants.NAME.accounts.NAME.policy]`: every key optional; an
/// account's keys override its tenant's, the tenant's override the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyDocument {
    pub read_only: Option<bool>,
    pub functions: Option<Vec<String>>,
    pub allowed_countries: Option<Vec<String>>,
    pub denied_prefixes: Option<Vec<String>>,
    pub allowed_to: Option<Vec<String>>,
    pub allowed_from: Option<Vec<String>>,
    pub callback_hosts: Option<Vec<String>>,
    pub inline_twiml: Option<bool>,
    pub lookup_fields: Option<Vec<String>>,
    pub quotas: Option<Quotas>,
    pub approval: Option<Vec<String>>,
    pub plan_expiry_minutes: Option<u64>,
}

/// `[endpoints]`: base URLs that replace Twilio's for every account.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointsDocument {
    pub api: Option<String>,
    pub lookups: Option<String>,
}

/// `[tenants.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantDocument {
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountDocument>,
    pub api_token_sha256: Option<String>,
    #[serde(default)]
    pub policy: PolicyDocument,
}

/// `[tenants.NAME.accounts.NAME]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountDocument {
    pub account_sid: String,
    pub auth_token_env: Option<String>,
    pub auth_token_file: Option<PathBuf>,
    pub api_key_sid: Option<String>,
    pub api_key_secret_env: Option<String>,
    pub api_key_secret_file: Option<PathBuf>,
    pub edge: Option<String>,
    pub region: Option<String>,
    #[serde(default)]
    pub subaccounts: Vec<String>,
    #[serde(default)]
    pub policy: PolicyDocument,
}

/// The environment variables [`Document::from_twilio_env`] reads, with the document key each
/// stands for, so that an error names the variable.
const TWILIO_VARIABLES: [(&str, &str); 8] = [
    ("TWILIO_ACCOUNT_SID", "account_sid"),
    ("TWILIO_AUTH_TOKEN", "auth_token_env"),
    ("TWILIO_API_KEY", "api_key_sid"),
    ("TWILIO_API_SECRET", "api_key_secret_env"),
    ("TWILIO_EDGE", "edge"),
    ("TWILIO_REGION", "region"),
    ("TWILIO_API_BASE_URL", "endpoints.api"),
    ("TWILIO_LOOKUPS_BASE_URL", "endpoints.lookups"),
];

impl Document {
    /// One tenant, `default`, with one account, `default`: `TWILIO_ACCOUNT_SID` with
    /// `TWILIO_AUTH_TOKEN`, or with `TWILIO_API_KEY` and `TWILIO_API_SECRET`; `TWILIO_EDGE`,
    /// `TWILIO_REGION`, `TWILIO_API_BASE_URL` and `TWILIO_LOOKUPS_BASE_URL` optional. `None`
    /// when `TWILIO_ACCOUNT_SID` is not set.
    pub fn from_twilio_env(env: &dyn SecretSource) -> Option<Document> {
        let account_sid = env.var("TWILIO_ACCOUNT_SID")?;
        let api_key_sid = env.var("TWILIO_API_KEY");
        let account = AccountDocument {
            account_sid,
            auth_token_env: api_key_sid.is_none().then(|| "TWILIO_AUTH_TOKEN".into()),
            api_key_secret_env: api_key_sid.is_some().then(|| "TWILIO_API_SECRET".into()),
            api_key_sid,
            edge: env.var("TWILIO_EDGE"),
            region: env.var("TWILIO_REGION"),
            ..AccountDocument::default()
        };
        Some(Document {
            endpoints: EndpointsDocument {
                api: env.var("TWILIO_API_BASE_URL"),
                lookups: env.var("TWILIO_LOOKUPS_BASE_URL"),
            },
            tenants: BTreeMap::from([(
                "default".to_string(),
                TenantDocument {
                    limits: LimitsFile::default(),
                    accounts: BTreeMap::from([("default".to_string(), account)]),
                    api_token_sha256: None,
                    policy: PolicyDocument::default(),
                },
            )]),
            ..Document::default()
        })
    }
}

/// Where a document came from; it decides how an error names the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// A TOML file: keys are dotted paths.
    File,
    /// The `TWILIO_*` variables: keys are the variable names.
    Environment,
}

impl Origin {
    /// How an error names `key` (a dotted document path).
    pub fn key_name(self, key: &str) -> String {
        if self == Origin::Environment {
            for (variable, document_key) in TWILIO_VARIABLES {
                let secret_key = document_key.trim_end_matches("_env");
                if key == document_key
                    || key.ends_with(&format!(".{document_key}"))
                    || key.ends_with(&format!(".{secret_key}"))
                {
                    return variable.to_string();
                }
            }
        }
        key.to_string()
    }
}
