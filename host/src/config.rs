//! The host configuration: tenants, their Twilio accounts (with secrets referenced by
//! environment variable or file, never inline), endpoints and limits. Read from TOML, from the
//! standard `TWILIO_*` environment variables, or built for the simulator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::credential::Credential;
use crate::limits::{Limits, LimitsFile};
use crate::secret::Secret;

/// Production base URLs.
const TWILIO_API: &str = "https://api.twilio.com";
const TWILIO_LOOKUPS: &str = "https://lookups.twilio.com";

/// A ready configuration: every secret resolved, every value checked.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Tenants by name.
    pub tenants: BTreeMap<String, TenantConfig>,
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
    /// SHA-256 (hex) of the bearer token this tenant uses with `twilio-host serve`.
    pub api_token_sha256: Option<String>,
}

/// One Twilio account of a tenant.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// Name scripts use (`default`, `work`, ...).
    pub name: String,
    /// The account SID (`AC...`).
    pub account_sid: String,
    /// Subaccount SIDs this account's credential may also act on.
    pub subaccounts: Vec<String>,
    /// How it authenticates.
    pub credential: Credential,
    /// Core API base URL (`https://api.twilio.com`, an edge/region host, or an override).
    pub api_base_url: String,
    /// Lookup API base URL.
    pub lookups_base_url: String,
}

/// A configuration problem: where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {key}: {message}")]
pub struct ConfigError {
    /// The file (or `environment`) the problem is in.
    pub source_name: String,
    /// The key, dotted (`tenants.acme.accounts.work.auth_token_env`).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    endpoints: EndpointsFile,
    #[serde(default)]
    tenants: BTreeMap<String, TenantFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointsFile {
    api: Option<String>,
    lookups: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    accounts: BTreeMap<String, AccountFile>,
    api_token_sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    account_sid: String,
    auth_token_env: Option<String>,
    auth_token_file: Option<PathBuf>,
    api_key_sid: Option<String>,
    api_key_secret_env: Option<String>,
    api_key_secret_file: Option<PathBuf>,
    edge: Option<String>,
    region: Option<String>,
    #[serde(default)]
    subaccounts: Vec<String>,
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
    pub fn load(path: &Path, env: &dyn SecretSource) -> Result<HostConfig, Vec<ConfigError>> {
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                source_name: source_name.clone(),
                key: "(file)".into(),
                message: format!("cannot read the config file: {e}"),
            }]
        })?;
        HostConfig::parse(&text, &source_name, env)
    }

    /// Parses and resolves config text; `source_name` is used in error messages.
    pub fn parse(
        text: &str,
        source_name: &str,
        env: &dyn SecretSource,
    ) -> Result<HostConfig, Vec<ConfigError>> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            vec![ConfigError {
                source_name: source_name.into(),
                key: toml_error_location(text, &e),
                message: e.message().to_string(),
            }]
        })?;
        Resolver {
            source_name,
            env,
            errors: Vec::new(),
        }
        .resolve(file)
    }

    /// One tenant, `default`, with one account, `default`, from the standard Twilio variables:
    /// `TWILIO_ACCOUNT_SID` with `TWILIO_AUTH_TOKEN`, or with `TWILIO_API_KEY` and
    /// `TWILIO_API_SECRET`; `TWILIO_EDGE` and `TWILIO_REGION` optional. `None` when
    /// `TWILIO_ACCOUNT_SID` is not set.
    pub fn from_twilio_env(env: &dyn SecretSource) -> Option<Result<HostConfig, Vec<ConfigError>>> {
        let account_sid = env.var("TWILIO_ACCOUNT_SID")?;
        let mut text = String::from("[tenants.default.accounts.default]\n");
        text.push_str(&format!("account_sid = {}\n", toml_string(&account_sid)));
        if env.var("TWILIO_API_KEY").is_some() {
            let key = env.var("TWILIO_API_KEY").unwrap_or_default();
            text.push_str(&format!(
                "api_key_sid = {}\napi_key_secret_env = \"TWILIO_API_SECRET\"\n",
                toml_string(&key)
            ));
        } else {
            text.push_str("auth_token_env = \"TWILIO_AUTH_TOKEN\"\n");
        }
        for (var, key) in [("TWILIO_EDGE", "edge"), ("TWILIO_REGION", "region")] {
            if let Some(value) = env.var(var) {
                text.push_str(&format!("{key} = {}\n", toml_string(&value)));
            }
        }
        Some(HostConfig::parse(&text, "environment", env))
    }

    /// A tenant by name.
    pub fn tenant(&self, name: &str) -> Option<&TenantConfig> {
        self.tenants.get(name)
    }
}

impl TenantConfig {
    /// The names of its accounts, for messages.
    pub fn account_names(&self) -> Vec<&str> {
        self.accounts.iter().map(|a| a.name.as_str()).collect()
    }
}

/// Turns the file into a [`HostConfig`], collecting every problem on the way.
struct Resolver<'a> {
    source_name: &'a str,
    env: &'a dyn SecretSource,
    errors: Vec<ConfigError>,
}

impl Resolver<'_> {
    fn resolve(mut self, file: ConfigFile) -> Result<HostConfig, Vec<ConfigError>> {
        let defaults = file.limits.apply_to(Limits::default());
        self.check_limits("limits", &defaults);
        for (key, url) in [
            ("endpoints.api", &file.endpoints.api),
            ("endpoints.lookups", &file.endpoints.lookups),
        ] {
            if let Some(url) = url
                && !is_base_url(url)
            {
                self.error(key, format!("{url:?} is not a base URL like \"https://api.twilio.com\" or \"http://127.0.0.1:4010\" (scheme and host, no path)"));
            }
        }
        let mut tenants = BTreeMap::new();
        for (tenant_name, tenant) in file.tenants {
            let prefix = format!("tenants.{tenant_name}");
            if !is_identifier(&tenant_name) {
                self.error(
                    &prefix,
                    "tenant names use letters, digits, '-' and '_'".into(),
                );
            }
            let limits = tenant.limits.apply_to(defaults);
            self.check_limits(&format!("{prefix}.limits"), &limits);
            if tenant.accounts.is_empty() {
                self.error(
                    &format!("{prefix}.accounts"),
                    "a tenant needs at least one account, e.g. [tenants.NAME.accounts.default]"
                        .into(),
                );
            }
            let mut accounts = Vec::new();
            for (account_name, account) in tenant.accounts {
                let key = format!("{prefix}.accounts.{account_name}");
                if let Some(resolved) = self.account(&key, &account_name, account, &file.endpoints)
                {
                    accounts.push(resolved);
                }
            }
            accounts.sort_by_key(|a| a.name != "default");
            if let Some(hash) = &tenant.api_token_sha256
                && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                self.error(&format!("{prefix}.api_token_sha256"), "must be 64 hex digits: the SHA-256 of the tenant's bearer token (`twilio-host hash-token`)".into());
            }
            tenants.insert(
                tenant_name.clone(),
                TenantConfig {
                    name: tenant_name,
                    accounts,
                    limits,
                    api_token_sha256: tenant.api_token_sha256.map(|h| h.to_ascii_lowercase()),
                },
            );
        }
        if self.errors.is_empty() {
            Ok(HostConfig { tenants })
        } else {
            Err(self.errors)
        }
    }

    fn account(
        &mut self,
        key: &str,
        name: &str,
        file: AccountFile,
        endpoints: &EndpointsFile,
    ) -> Option<AccountConfig> {
        if !is_identifier(name) || name.starts_with("twilio_") || name == "help" {
            self.error(key, "account names are identifiers (letters, digits, '_'), not `help` and not starting with `twilio_`".into());
        }
        if !is_sid(&file.account_sid, "AC") {
            self.error(
                &format!("{key}.account_sid"),
                format!(
                    "{:?} is not an account SID (AC followed by 32 hex digits)",
                    file.account_sid
                ),
            );
        }
        for sub in &file.subaccounts {
            if !is_sid(sub, "AC") {
                self.error(
                    &format!("{key}.subaccounts"),
                    format!("{sub:?} is not an account SID"),
                );
            }
        }
        let credential = self.credential(key, &file)?;
        let (api, lookups) = base_urls(file.edge.as_deref(), file.region.as_deref());
        Some(AccountConfig {
            name: name.to_string(),
            account_sid: file.account_sid,
            subaccounts: file.subaccounts,
            credential,
            api_base_url: endpoints.api.clone().unwrap_or(api),
            lookups_base_url: endpoints.lookups.clone().unwrap_or(lookups),
        })
    }

    fn credential(&mut self, key: &str, file: &AccountFile) -> Option<Credential> {
        let token = (
            file.auth_token_env.as_deref(),
            file.auth_token_file.as_deref(),
        );
        let api_key = (
            file.api_key_secret_env.as_deref(),
            file.api_key_secret_file.as_deref(),
        );
        match (token, &file.api_key_sid, api_key) {
            ((None, None), Some(sid), secret_ref) => {
                if !is_sid(sid, "SK") {
                    self.error(
                        &format!("{key}.api_key_sid"),
                        format!("{sid:?} is not an API key SID (SK followed by 32 hex digits)"),
                    );
                }
                let secret = self.secret(&format!("{key}.api_key_secret"), secret_ref)?;
                Some(Credential::ApiKey {
                    sid: sid.clone(),
                    secret,
                })
            }
            (token_ref, None, (None, None)) => {
                let secret = self.secret(&format!("{key}.auth_token"), token_ref)?;
                Some(Credential::AuthToken(secret))
            }
            _ => {
                self.error(key, "use either auth_token_env/auth_token_file, or api_key_sid with api_key_secret_env/api_key_secret_file, not both".into());
                None
            }
        }
    }

    /// Resolves `(env var, file)`: exactly one must be given and must yield a non-empty value.
    fn secret(&mut self, key: &str, reference: (Option<&str>, Option<&Path>)) -> Option<Secret> {
        let value = match reference {
            (Some(var), None) => match self.env.var(var) {
                Some(value) => value,
                None => {
                    self.error(&format!("{key}_env"), format!("environment variable {var} is not set; export it, or point {key}_file at a file holding the secret"));
                    return None;
                }
            },
            (None, Some(path)) => match std::fs::read_to_string(path) {
                Ok(value) => value,
                Err(e) => {
                    self.error(
                        &format!("{key}_file"),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            },
            (None, None) => {
                self.error(key, format!("no secret given: set {key}_env (an environment variable name) or {key}_file (a file path); secrets are never written in the config itself"));
                return None;
            }
            (Some(_), Some(_)) => {
                self.error(key, format!("set only one of {key}_env and {key}_file"));
                return None;
            }
        };
        let value = value.trim().to_string();
        if value.is_empty() {
            self.error(key, "the secret is empty".into());
            return None;
        }
        Some(Secret::new(value))
    }

    fn check_limits(&mut self, key: &str, limits: &Limits) {
        if let Some(problem) = limits.problem() {
            self.error(key, problem);
        }
    }

    fn error(&mut self, key: &str, message: String) {
        self.errors.push(ConfigError {
            source_name: self.source_name.to_string(),
            key: key.to_string(),
            message,
        });
    }
}

/// `https://api.{edge}.{region}.twilio.com` and the Lookup twin; an edge alone implies `us1`.
fn base_urls(edge: Option<&str>, region: Option<&str>) -> (String, String) {
    let region = match (edge, region) {
        (Some(_), None) => Some("us1"),
        (_, region) => region,
    };
    let suffix: String = [edge, region]
        .into_iter()
        .flatten()
        .map(|label| format!(".{label}"))
        .collect();
    if suffix.is_empty() {
        return (TWILIO_API.into(), TWILIO_LOOKUPS.into());
    }
    (
        format!("https://api{suffix}.twilio.com"),
        format!("https://lookups{suffix}.twilio.com"),
    )
}

/// `XX` followed by 32 hex digits.
pub fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_base_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|host| !host.is_empty() && !host.contains('/') && !host.contains('?'))
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
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
        assert_eq!(acme.accounts[0].api_base_url, "http://127.0.0.1:4010");
        assert_eq!(acme.accounts[0].lookups_base_url, TWILIO_LOOKUPS);
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
    fn edge_and_region_hosts() {
        assert_eq!(
            base_urls(Some("dublin"), Some("ie1")).0,
            "https://api.dublin.ie1.twilio.com"
        );
        assert_eq!(
            base_urls(Some("sydney"), None).1,
            "https://lookups.sydney.us1.twilio.com"
        );
        assert_eq!(base_urls(None, None).0, TWILIO_API);
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
}
