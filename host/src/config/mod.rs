//! The host configuration: tenants, their Twilio accounts (with secrets referenced by
//! environment variable or file, never inline), endpoints and limits.
//!
//! One pipeline for every source: a TOML file and the standard `TWILIO_*` variables both become
//! the same written-down structure (`document`), which one resolver (`resolve`) turns into the
//! typed [`HostConfig`]: SIDs, base URLs and token hashes are parsed types ([`values`]), and
//! every secret is resolved.

mod document;
pub mod policy;
mod resolve;
pub mod server;
pub mod values;

use std::collections::BTreeMap;
use std::path::Path;

use document::{Document, Origin};
pub use policy::{Approval, Quotas, Rules, StateUrl, default_state_dir, without_password};
use resolve::Resolver;
pub use server::ServerSettings;
pub use values::{AccountSid, ApiKeySid, BaseUrl, TokenHash};

use crate::audit::AuditSettings;
use crate::credential::Credential;
use crate::limits::Limits;

/// A ready configuration: every secret resolved, every value checked.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Tenants by name.
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Where quota counts and the audit trail live.
    pub state: StateUrl,
    /// How the sidecar treats its connections (`[server]`).
    pub server: ServerSettings,
    /// How the audit trail keeps records (`[audit]`).
    pub audit: AuditSettings,
}

/// One tenant: its accounts and limits.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// The tenant's name.
    pub name: String,
    /// Its accounts, `default` first when there is one.
    pub accounts: Vec<AccountConfig>,
    /// Its limits (the defaults with its overrides applied).
    pub limits: Limits,
    /// SHA-256 of the bearer token this tenant uses with the sidecar; without it the tenant
    /// cannot use the sidecar.
    pub api_token_sha256: Option<TokenHash>,
    /// Its quotas, counted over all its runs.
    pub quotas: Quotas,
    /// What its runs need a person's approval for.
    pub approval: Approval,
}

/// One Twilio account of a tenant.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// Name scripts use (`default`, `work`, ...).
    pub name: String,
    /// The account SID.
    pub account_sid: AccountSid,
    /// Subaccount SIDs this account's credential may also act on.
    pub subaccounts: Vec<AccountSid>,
    /// How it authenticates.
    pub credential: Credential,
    /// Core API base URL (`https://api.twilio.com`, an edge/region host, or an override).
    pub api_base_url: BaseUrl,
    /// Lookup API base URL.
    pub lookups_base_url: BaseUrl,
    /// What its agents may do (the tenant's policy with the account's overrides).
    pub rules: Rules,
}

/// A configuration problem: where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {key}: {message}")]
pub struct ConfigError {
    /// The file (or `environment`) the problem is in.
    pub source_name: String,
    /// The key, dotted (`tenants.acme.accounts.work.auth_token_env`), the environment variable
    /// (`TWILIO_API_BASE_URL`), or `line L, column C` for a TOML syntax error.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Every problem found in one configuration (never empty); derefs to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    /// One problem per line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl std::ops::Deref for ConfigErrors {
    type Target = [ConfigError];

    fn deref(&self) -> &[ConfigError] {
        &self.0
    }
}

/// Where secrets come from; the process environment in production, a map in tests.
pub trait SecretSource {
    /// The value of environment variable `name`.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl SecretSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher> SecretSource for std::collections::HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl HostConfig {
    /// Reads and resolves a TOML config file; every problem found is reported, each naming the
    /// file and the key.
    pub fn load(path: &Path, env: &dyn SecretSource) -> Result<HostConfig, ConfigErrors> {
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                source_name: source_name.clone(),
                key: "(file)".into(),
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        HostConfig::parse(&text, &source_name, env)
    }

    /// Parses and resolves config text; `source_name` is used in error messages.
    pub fn parse(
        text: &str,
        source_name: &str,
        env: &dyn SecretSource,
    ) -> Result<HostConfig, ConfigErrors> {
        let document: Document = toml::from_str(text).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                source_name: source_name.into(),
                key: toml_error_location(text, &e),
                message: e.message().to_string(),
            }])
        })?;
        resolve(document, source_name, Origin::File, env)
    }

    /// One tenant, `default`, with one account, `default`, from the standard Twilio variables:
    /// `TWILIO_ACCOUNT_SID` with `TWILIO_AUTH_TOKEN`, or with `TWILIO_API_KEY` and
    /// `TWILIO_API_SECRET`; optional `TWILIO_EDGE` and `TWILIO_REGION`, and
    /// `TWILIO_API_BASE_URL` / `TWILIO_LOOKUPS_BASE_URL` to replace the base URLs (proxies,
    /// the simulator). `None` when `TWILIO_ACCOUNT_SID` is not set; errors name the variable.
    pub fn from_twilio_env(env: &dyn SecretSource) -> Option<Result<HostConfig, ConfigErrors>> {
        let document = Document::from_twilio_env(env)?;
        Some(resolve(document, "environment", Origin::Environment, env))
    }

    /// A configuration of `tenants`, keyed by their names, with counts in the default state
    /// location and the default server settings.
    pub fn of(tenants: impl IntoIterator<Item = TenantConfig>) -> HostConfig {
        HostConfig {
            tenants: tenants.into_iter().map(|t| (t.name.clone(), t)).collect(),
            state: StateUrl::default(),
            server: ServerSettings::default(),
            audit: AuditSettings::default(),
        }
    }

    /// A tenant by name.
    pub fn tenant(&self, name: &str) -> Option<&TenantConfig> {
        self.tenants.get(name)
    }
}

fn resolve(
    document: Document,
    source_name: &str,
    origin: Origin,
    env: &dyn SecretSource,
) -> Result<HostConfig, ConfigErrors> {
    Resolver {
        source_name,
        origin,
        env,
        errors: Vec::new(),
    }
    .resolve(document)
}

impl TenantConfig {
    /// The names of its accounts, for messages.
    pub fn account_names(&self) -> Vec<&str> {
        self.accounts.iter().map(|a| a.name.as_str()).collect()
    }
}

/// Where in the file a TOML error is: `line L, column C` (the message names the key).
fn toml_error_location(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return "(file)".into();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    format!("line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resolves_tenants_accounts_and_overrides() {
        let text = format!(
            "[limits]\nmemory_mb = 32\n[endpoints]\napi = \"http://127.0.0.1:4010\"\n\
             [tenants.acme.limits]\ncpu_ms = 100\n\
             [tenants.acme.accounts.work]\naccount_sid = \"{SID}\"\nauth_token_env = \"W\"\n\
             [tenants.acme.accounts.default]\naccount_sid = \"{SID}\"\napi_key_sid = \"SK0123456789abcdef0123456789abcdef\"\napi_key_secret_env = \"K\"\n"
        );
        let config =
            HostConfig::parse(&text, "t.toml", &env(&[("W", "tok"), ("K", "sec")])).unwrap();
        let acme = config.tenant("acme").unwrap();
        assert_eq!(acme.account_names(), ["default", "work"]);
        assert_eq!(acme.limits.memory_bytes, 32 << 20);
        assert_eq!(acme.limits.cpu.as_millis(), 100);
        assert_eq!(
            acme.accounts[0].api_base_url.as_str(),
            "http://127.0.0.1:4010"
        );
        assert_eq!(
            acme.accounts[0].lookups_base_url.as_str(),
            "https://lookups.twilio.com"
        );
    }

    #[test]
    fn server_settings_default_and_are_checked() {
        let account = format!(
            "[tenants.a.accounts.default]\naccount_sid = \"{SID}\"\nauth_token_env = \"T\"\n"
        );
        let vars = env(&[("T", "x")]);
        let config = HostConfig::parse(&account, "h.toml", &vars).unwrap();
        assert_eq!(config.server, ServerSettings::default());
        let text = format!("[server]\nmax_connections = 7\nshutdown_timeout_ms = 1500\n{account}");
        let config = HostConfig::parse(&text, "h.toml", &vars).unwrap();
        assert_eq!(config.server.max_connections, 7);
        assert_eq!(config.server.shutdown_timeout.as_millis(), 1500);
        let text = format!("[server]\nbody_read_timeout_ms = 0\n{account}");
        let errors = HostConfig::parse(&text, "h.toml", &vars).unwrap_err();
        assert_eq!(errors[0].key, "server.body_read_timeout_ms");
        assert!(errors[0].message.contains("greater than 0"), "{errors:?}");
    }

    #[test]
    fn approval_takes_side_effects_for_the_whole_tenant() {
        let account = format!(
            "[tenants.a.accounts.default]\naccount_sid = \"{SID}\"\nauth_token_env = \"T\"\n"
        );
        let vars = env(&[("T", "x")]);
        let text = format!(
            "[tenants.a.policy]\napproval = [\"send\", \"twilio_delete_recording\"]\nplan_expiry_minutes = 5\n{account}"
        );
        let approval = HostConfig::parse(&text, "h.toml", &vars).unwrap().tenants["a"]
            .approval
            .clone();
        let functions: Vec<&str> = approval.functions.iter().copied().collect();
        assert_eq!(
            functions,
            [
                "twilio_delete_recording",
                "twilio_send_sms",
                "twilio_send_whatsapp"
            ]
        );
        assert_eq!(approval.plan_expiry.as_secs(), 300);
        let text = format!("[tenants.a.policy]\napproval = [\"read\"]\n{account}");
        let errors = HostConfig::parse(&text, "h.toml", &vars).unwrap_err();
        assert_eq!(errors[0].key, "tenants.a.policy.approval");
        assert!(
            errors[0].message.contains("reads are never planned"),
            "{errors:?}"
        );
        let text = format!("{account}[tenants.a.accounts.default.policy]\napproval = [\"send\"]\n");
        let errors = HostConfig::parse(&text, "h.toml", &vars).unwrap_err();
        assert!(
            errors[0].message.contains("the whole tenant's"),
            "{errors:?}"
        );
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_fix() {
        let text = format!(
            "[tenants.acme.accounts.default]\naccount_sid = \"{SID}\"\nauth_token_env = \"MISSING\"\n"
        );
        let errors = HostConfig::parse(&text, "host.toml", &env(&[])).unwrap_err();
        let message = errors[0].to_string();
        assert!(
            message.starts_with("host.toml: tenants.acme.accounts.default.auth_token_env:"),
            "{message}"
        );
        assert!(message.contains("MISSING is not set"), "{message}");
    }

    #[test]
    fn unknown_keys_and_bad_sids_are_reported() {
        let errors =
            HostConfig::parse("[limits]\nmemroy_mb = 1\n", "h.toml", &env(&[])).unwrap_err();
        assert!(errors[0].message.contains("memroy_mb"), "{:?}", errors);
        let text = "[tenants.a.accounts.default]\naccount_sid = \"AC1\"\nauth_token_env = \"T\"\n";
        let errors = HostConfig::parse(text, "h.toml", &env(&[("T", "x")])).unwrap_err();
        assert_eq!(errors[0].key, "tenants.a.accounts.default.account_sid");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let text = "[endpoints]\napi = \"x\"\n[tenants.a]\napi_token_sha256 = \"zz\"\n\
                    [tenants.a.accounts.default]\naccount_sid = \"AC1\"\nauth_token_env = \"T\"\n";
        let errors = HostConfig::parse(text, "h.toml", &env(&[])).unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "endpoints.api",
                "tenants.a.accounts.default.account_sid",
                "tenants.a.accounts.default.auth_token_env",
                "tenants.a.api_token_sha256"
            ]
        );
        assert_eq!(errors.to_string().lines().count(), 4);
    }

    #[test]
    fn edge_and_region_hosts() {
        let account = |extra: &str| {
            let text = format!(
                "[tenants.a.accounts.default]\naccount_sid = \"{SID}\"\nauth_token_env = \"T\"\n{extra}"
            );
            let config = HostConfig::parse(&text, "h.toml", &env(&[("T", "x")])).unwrap();
            config.tenants["a"].accounts[0].clone()
        };
        let dublin = account("edge = \"dublin\"\nregion = \"ie1\"\n");
        assert_eq!(
            dublin.api_base_url.as_str(),
            "https://api.dublin.ie1.twilio.com"
        );
        let sydney = account("edge = \"sydney\"\n");
        assert_eq!(
            sydney.lookups_base_url.as_str(),
            "https://lookups.sydney.us1.twilio.com"
        );
        assert_eq!(account("").api_base_url.as_str(), "https://api.twilio.com");
    }

    #[test]
    fn standard_twilio_variables_make_a_default_account() {
        let vars = env(&[("TWILIO_ACCOUNT_SID", SID), ("TWILIO_AUTH_TOKEN", "t")]);
        let config = HostConfig::from_twilio_env(&vars).unwrap().unwrap();
        assert_eq!(
            config.tenant("default").unwrap().accounts[0].account_sid,
            SID
        );
        assert!(HostConfig::from_twilio_env(&env(&[])).is_none());
    }

    #[test]
    fn endpoint_variables_replace_the_base_urls() {
        let vars = env(&[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", "t"),
            ("TWILIO_API_BASE_URL", "http://127.0.0.1:4010/"),
            ("TWILIO_LOOKUPS_BASE_URL", "http://127.0.0.1:4011"),
        ]);
        let config = HostConfig::from_twilio_env(&vars).unwrap().unwrap();
        let account = &config.tenant("default").unwrap().accounts[0];
        assert_eq!(account.api_base_url.as_str(), "http://127.0.0.1:4010");
        assert_eq!(account.lookups_base_url.as_str(), "http://127.0.0.1:4011");
    }

    #[test]
    fn errors_in_the_environment_name_the_variable() {
        let vars = env(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_API_BASE_URL", "127.0.0.1:4010/x"),
        ]);
        let errors = HostConfig::from_twilio_env(&vars).unwrap().unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "TWILIO_API_BASE_URL",
                "TWILIO_ACCOUNT_SID",
                "TWILIO_AUTH_TOKEN"
            ]
        );
    }

    #[test]
    fn a_redis_password_is_never_shown() {
        let url = StateUrl::Redis("redis://app:s3cret@10.0.0.5:6379/0".into());
        assert_eq!(url.to_string(), "redis://app:***@10.0.0.5:6379/0");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            without_password("redis://:s3cret@cache/1"),
            "redis://:***@cache/1"
        );
        assert_eq!(
            without_password("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }
}
