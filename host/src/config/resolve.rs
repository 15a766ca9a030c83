//! Turning a [`Document`] into a checked [`HostConfig`]: every value parsed into its type, every
//! secret resolved, and every problem collected (not just the first), each naming its key.

use std::collections::BTreeMap;
use std::path::Path;

use super::document::{AccountDocument, Document, EndpointsDocument, Origin};
use super::policy::Rules;
use super::server::ServerSettings;
use super::values::{AccountSid, ApiKeySid, BaseUrl, TokenHash};
use super::{AccountConfig, ConfigError, ConfigErrors, HostConfig, SecretSource, TenantConfig};
use crate::credential::Credential;
use crate::limits::Limits;
use crate::secret::Secret;

/// Production base URLs.
const TWILIO_API: &str = "https://api.twilio.com";
const TWILIO_LOOKUPS: &str = "https://lookups.twilio.com";

/// The functions of `app.integrations.twilio` that are not Twilio calls (the plugin's
/// `namespace::HELPERS`): an account of one of these names could not be reached.
const NAMESPACE_HELPERS: &[&str] = &["help", "accounts", "has_account"];

/// Resolves one document, collecting every problem on the way.
pub(super) struct Resolver<'a> {
    pub source_name: &'a str,
    pub origin: Origin,
    pub env: &'a dyn SecretSource,
    pub errors: Vec<ConfigError>,
}

/// The endpoints that replace Twilio's, parsed.
#[derive(Default)]
struct Overrides {
    api: Option<BaseUrl>,
    lookups: Option<BaseUrl>,
}

impl Resolver<'_> {
    pub fn resolve(mut self, document: Document) -> Result<HostConfig, ConfigErrors> {
        let defaults = document.limits.apply_to(Limits::default());
        self.check_limits("limits", &defaults);
        let overrides = self.overrides(&document.endpoints, document.allow_insecure_endpoints);
        let state = self.state(&document.state);
        let audit = self.audit(&document.audit);
        let server = document.server.settings().unwrap_or_else(|(key, problem)| {
            self.error(&format!("server.{key}"), &problem);
            ServerSettings::default()
        });
        let mut tenants = BTreeMap::new();
        for (tenant_name, tenant) in document.tenants {
            let prefix = format!("tenants.{tenant_name}");
            if !is_identifier(&tenant_name) {
                self.error(&prefix, "tenant names use letters, digits, '-' and '_'");
            }
            let limits = tenant.limits.apply_to(defaults);
            self.check_limits(&format!("{prefix}.limits"), &limits);
            if tenant.accounts.is_empty() {
                self.error(
                    &format!("{prefix}.accounts"),
                    "a tenant needs at least one account, e.g. [tenants.NAME.accounts.default]",
                );
            }
            let tenant_rules = self.rules(
                &format!("{prefix}.policy"),
                &Rules::default(),
                &tenant.policy,
            );
            let mut accounts = Vec::new();
            for (account_name, account) in tenant.accounts {
                let key = format!("{prefix}.accounts.{account_name}");
                if account.policy.quotas.is_some() {
                    self.error(
                        &format!("{key}.policy.quotas"),
                        "quotas count for the whole tenant; set them in [tenants.NAME.policy.quotas]",
                    );
                }
                if account.policy.approval.is_some() || account.policy.plan_expiry_minutes.is_some()
                {
                    self.error(
                        &format!("{key}.policy"),
                        "approval and plan_expiry_minutes are the whole tenant's; set them in [tenants.NAME.policy]",
                    );
                }
                let rules = self.rules(&format!("{key}.policy"), &tenant_rules, &account.policy);
                if let Some(resolved) = self.account(&key, &account_name, account, &overrides) {
                    accounts.push(AccountConfig { rules, ..resolved });
                }
            }
            let quotas = tenant.policy.quotas.unwrap_or_default();
            let approval = self.approval(&format!("{prefix}.policy"), &tenant.policy);
            accounts.sort_by_key(|a| a.name != "default");
            let api_token_sha256 = tenant.api_token_sha256.and_then(|hash| {
                self.parsed(
                    &format!("{prefix}.api_token_sha256"),
                    TokenHash::parse(&hash),
                )
            });
            tenants.insert(
                tenant_name.clone(),
                TenantConfig {
                    name: tenant_name,
                    accounts,
                    limits,
                    api_token_sha256,
                    quotas,
                    approval,
                },
            );
        }
        if self.errors.is_empty() {
            Ok(HostConfig {
                tenants,
                state,
                server,
                audit,
            })
        } else {
            Err(ConfigErrors(self.errors))
        }
    }

    /// The `[endpoints]`; plain `http://` only to loopback hosts unless `allow_insecure`.
    fn overrides(&mut self, endpoints: &EndpointsDocument, allow_insecure: bool) -> Overrides {
        let mut parse = |key: &str, url: &Option<String>| {
            let url = url.as_deref()?;
            let parsed = BaseUrl::parse(url).and_then(|base| {
                if base.is_insecure() && !allow_insecure {
                    Err(format!(
                        "{url:?} is plain http to a host that is not loopback, which would send the account's credentials in clear text; use https (plain http is allowed for localhost and 127.0.0.1, or everywhere with allow_insecure_endpoints = true at the top of the file)"
                    ))
                } else {
                    Ok(base)
                }
            });
            self.parsed(key, parsed)
        };
        Overrides {
            api: parse("endpoints.api", &endpoints.api),
            lookups: parse("endpoints.lookups", &endpoints.lookups),
        }
    }

    fn account(
        &mut self,
        key: &str,
        name: &str,
        document: AccountDocument,
        overrides: &Overrides,
    ) -> Option<AccountConfig> {
        if !is_identifier(name) || name.starts_with("twilio_") || NAMESPACE_HELPERS.contains(&name)
        {
            self.error(key, "account names are identifiers (letters, digits, '_'), not `help`, `accounts` or `has_account`, and not starting with `twilio_`");
        }
        let account_sid = self.parsed(
            &format!("{key}.account_sid"),
            AccountSid::parse(&document.account_sid),
        );
        let subaccounts: Vec<AccountSid> = document
            .subaccounts
            .iter()
            .filter_map(|sub| self.parsed(&format!("{key}.subaccounts"), AccountSid::parse(sub)))
            .collect();
        let credential = self.credential(key, &document);
        let (api, lookups) = self.base_urls(key, &document, overrides);
        Some(AccountConfig {
            name: name.to_string(),
            account_sid: account_sid?,
            subaccounts,
            credential: credential?,
            api_base_url: api?,
            lookups_base_url: lookups?,
            rules: Rules::default(),
        })
    }

    /// The account's base URLs: `[endpoints]` when set, else Twilio's, on the account's edge and
    /// region (`https://api.{edge}.{region}.twilio.com`; an edge alone implies `us1`).
    fn base_urls(
        &mut self,
        key: &str,
        document: &AccountDocument,
        overrides: &Overrides,
    ) -> (Option<BaseUrl>, Option<BaseUrl>) {
        let region = match (&document.edge, &document.region) {
            (Some(_), None) => Some("us1"),
            (_, region) => region.as_deref(),
        };
        let suffix: String = [document.edge.as_deref(), region]
            .into_iter()
            .flatten()
            .map(|label| format!(".{label}"))
            .collect();
        let mut twilio = |what: &str, production: &str, given: &Option<BaseUrl>| {
            if let Some(url) = given {
                return Some(url.clone());
            }
            let url = if suffix.is_empty() {
                production.to_string()
            } else {
                format!("https://{what}{suffix}.twilio.com")
            };
            self.parsed(
                &format!("{key}.edge"),
                BaseUrl::parse(&url).map_err(|_| {
                    format!("edge and region must be host name labels like \"dublin\" and \"ie1\", which make {url:?}")
                }),
            )
        };
        (
            twilio("api", TWILIO_API, &overrides.api),
            twilio("lookups", TWILIO_LOOKUPS, &overrides.lookups),
        )
    }

    fn credential(&mut self, key: &str, document: &AccountDocument) -> Option<Credential> {
        let token = (
            document.auth_token_env.as_deref(),
            document.auth_token_file.as_deref(),
        );
        let api_key = (
            document.api_key_secret_env.as_deref(),
            document.api_key_secret_file.as_deref(),
        );
        match (token, &document.api_key_sid, api_key) {
            ((None, None), Some(sid), secret_ref) => {
                let sid = self.parsed(&format!("{key}.api_key_sid"), ApiKeySid::parse(sid));
                let secret = self.secret(&format!("{key}.api_key_secret"), secret_ref);
                Some(Credential::ApiKey {
                    sid: sid?,
                    secret: secret?,
                })
            }
            (token_ref, None, (None, None)) => {
                let secret = self.secret(&format!("{key}.auth_token"), token_ref)?;
                Some(Credential::AuthToken(secret))
            }
            _ => {
                self.error(key, "use either auth_token_env/auth_token_file, or api_key_sid with api_key_secret_env/api_key_secret_file, not both");
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
                    self.error(&format!("{key}_env"), &format!("environment variable {var} is not set; export it, or point {key}_file at a file holding the secret"));
                    return None;
                }
            },
            (None, Some(path)) => match std::fs::read_to_string(path) {
                Ok(value) => value,
                Err(e) => {
                    self.error(
                        &format!("{key}_file"),
                        &format!("cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            },
            (None, None) => {
                self.error(key, &format!("no secret given: set {key}_env (an environment variable name) or {key}_file (a file path); secrets are never written in the config itself"));
                return None;
            }
            (Some(_), Some(_)) => {
                self.error(key, &format!("set only one of {key}_env and {key}_file"));
                return None;
            }
        };
        let value = value.trim().to_string();
        if value.is_empty() {
            self.error(key, "the secret is empty");
            return None;
        }
        Some(Secret::new(value))
    }

    fn check_limits(&mut self, key: &str, limits: &Limits) {
        if let Some(problem) = limits.problem() {
            self.error(key, &problem);
        }
    }

    /// The value, or `None` with the problem recorded under `key`.
    pub(super) fn parsed<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.error(key, &message)).ok()
    }

    pub(super) fn error(&mut self, key: &str, message: &str) {
        self.errors.push(ConfigError {
            source_name: self.source_name.to_string(),
            key: self.origin.key_name(key),
            message: message.to_string(),
        });
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
