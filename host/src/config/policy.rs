//! The tenant policy as configured: what an account's agents may do ([`Rules`]), how much the
//! tenant may send ([`Quotas`]), and where the counts live ([`StateUrl`]); with the defaults a
//! cautious platform starts from, and the resolution of `[tenants.NAME.policy]`,
//! `[tenants.NAME.accounts.NAME.policy]`, `[tenants.NAME.policy.quotas]` and `[state]`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::SecretSource;
use super::document::{AuditDocument, PolicyDocument, StateDocument};
use super::resolve::Resolver;
use crate::audit::AuditSettings;
use crate::egress::operations::{Class, FUNCTIONS, LOOKUP_PACKAGES};

/// Prefixes refused unless a tenant's `denied_prefixes` says otherwise: premium-rate ranges
/// (NANP 900, UK 09 and 070 personal numbers, the ITU's international premium rate service)
/// and satellite and international networks (Inmarsat, GMSS, +882, +883), the destinations of
/// toll fraud and SMS pumping.
pub const DEFAULT_DENIED_PREFIXES: [&str; 8] = [
    "+1900", "+449", "+4470", "+870", "+881", "+882", "+883", "+979",
];

/// What one account's agents may do: its tenant's policy with the account's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Only reads: no send, call, delete or configure.
    pub read_only: bool,
    /// `functions` as written: function names and classes.
    pub functions: Vec<String>,
    /// The function names `functions` allows.
    pub allowed_functions: BTreeSet<&'static str>,
    /// ISO 3166 codes `to` of a message or call may be in; empty: any country.
    pub allowed_countries: Vec<String>,
    /// E.164 prefixes `to` may not start with.
    pub denied_prefixes: Vec<String>,
    /// The only numbers `to` may be; empty: no such rule.
    pub allowed_to: Vec<String>,
    /// The only sender numbers; empty: any of the account's.
    pub allowed_from: Vec<String>,
    /// The only hosts of `status_callback`, `url`, `media_url` and `callback_url`; empty: any.
    pub callback_hosts: Vec<String>,
    /// Whether a call may carry inline TwiML (`twiml`).
    pub inline_twiml: bool,
    /// The Lookup packages `fields` may ask for; `None`: any.
    pub lookup_fields: Option<Vec<String>>,
}

impl Default for Rules {
    /// Every function, any country but the premium-rate and satellite prefixes, any sender,
    /// callback host and Lookup package, inline TwiML allowed.
    fn default() -> Rules {
        let functions: Vec<String> = Class::ALL.iter().map(|c| c.name().to_string()).collect();
        Rules {
            read_only: false,
            allowed_functions: expand_functions(&functions).unwrap_or_default(),
            functions,
            allowed_countries: Vec::new(),
            denied_prefixes: DEFAULT_DENIED_PREFIXES.map(String::from).to_vec(),
            allowed_to: Vec::new(),
            allowed_from: Vec::new(),
            callback_hosts: Vec::new(),
            inline_twiml: true,
            lookup_fields: None,
        }
    }
}

/// The tenant's quotas, counted over all its runs, processes and machines (the `_per_run`
/// ones within one run). `None`: no such quota. Read as written from
/// `[tenants.NAME.policy.quotas]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Messages (SMS, MMS, WhatsApp) one run may send.
    pub messages_per_run: Option<u32>,
    /// Messages per calendar hour (UTC).
    pub messages_per_hour: Option<u32>,
    /// Messages per calendar day (UTC).
    pub messages_per_day: Option<u32>,
    /// Calls one run may place.
    pub calls_per_run: Option<u32>,
    /// Calls per calendar hour (UTC).
    pub calls_per_hour: Option<u32>,
    /// Calls per calendar day (UTC).
    pub calls_per_day: Option<u32>,
    /// SMS segments (what Twilio bills) per calendar day (UTC).
    pub segments_per_day: Option<u32>,
}

impl Quotas {
    /// Whether a quota counts across runs, so that a state store is needed.
    pub fn need_store(&self) -> bool {
        [
            self.messages_per_hour,
            self.messages_per_day,
            self.calls_per_hour,
            self.calls_per_day,
            self.segments_per_day,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// `(name, limit)` of every quota that is set, in the documented order.
    pub fn set(&self) -> Vec<(&'static str, u32)> {
        [
            ("messages_per_run", self.messages_per_run),
            ("messages_per_hour", self.messages_per_hour),
            ("messages_per_day", self.messages_per_day),
            ("calls_per_run", self.calls_per_run),
            ("calls_per_hour", self.calls_per_hour),
            ("calls_per_day", self.calls_per_day),
            ("segments_per_day", self.segments_per_day),
        ]
        .into_iter()
        .filter_map(|(name, limit)| limit.map(|limit| (name, limit)))
        .collect()
    }
}

/// What a tenant's ordinary runs need a person's approval for (`approval`, tenant-wide), and
/// how long a plan may wait for one (`plan_expiry_minutes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// `approval` as written: classes (`send`, `call`, `delete`, `configure`) and function
    /// names.
    pub approval: Vec<String>,
    /// The functions whose calls an ordinary run records in a plan instead of sending.
    pub functions: BTreeSet<&'static str>,
    /// How long a plan may be approved after it is made.
    pub plan_expiry: Duration,
}

impl Default for Approval {
    /// Nothing needs approval; plans expire after an hour.
    fn default() -> Approval {
        Approval {
            approval: Vec::new(),
            functions: BTreeSet::new(),
            plan_expiry: crate::plan::DEFAULT_PLAN_EXPIRY,
        }
    }
}

/// Every side-effecting function (what a plan-mode run records).
pub fn side_effects() -> BTreeSet<&'static str> {
    FUNCTIONS
        .iter()
        .filter(|(_, class)| *class != Class::Read)
        .map(|(name, _)| *name)
        .collect()
}

/// Where quota counts and the audit trail live. Shown (`Display`, `Debug`) with a Redis
/// password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub enum StateUrl {
    /// An SQLite file, shared by the processes of one machine.
    Sqlite(PathBuf),
    /// A Redis server (`redis://host:port/db`), shared by several machines.
    Redis(String),
}

impl Default for StateUrl {
    /// `state.db` in the default state directory of this process's environment.
    fn default() -> StateUrl {
        StateUrl::Sqlite(default_state_dir(&super::ProcessEnv).join("state.db"))
    }
}

impl fmt::Display for StateUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            StateUrl::Redis(url) => f.write_str(&without_password(url)),
        }
    }
}

impl fmt::Debug for StateUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateUrl({self})")
    }
}

/// `url` with the password of its user info (`redis://user:secret@host`) replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

impl fmt::Display for Rules {
    /// The rules as TOML lines, for `twilio-host check`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        writeln!(f, "read_only = {}", self.read_only)?;
        writeln!(f, "functions = {}", list(&self.functions))?;
        writeln!(f, "allowed_countries = {}", list(&self.allowed_countries))?;
        writeln!(f, "denied_prefixes = {}", list(&self.denied_prefixes))?;
        writeln!(f, "allowed_to = {}", list(&self.allowed_to))?;
        writeln!(f, "allowed_from = {}", list(&self.allowed_from))?;
        writeln!(f, "callback_hosts = {}", list(&self.callback_hosts))?;
        writeln!(f, "inline_twiml = {}", self.inline_twiml)?;
        match &self.lookup_fields {
            Some(fields) => writeln!(f, "lookup_fields = {}", list(fields)),
            None => writeln!(f, "lookup_fields = (any package)"),
        }
    }
}

/// The function names `entries` (names and classes) allow, or the first entry that is neither.
fn expand_functions(entries: &[String]) -> Result<BTreeSet<&'static str>, String> {
    let mut allowed = BTreeSet::new();
    for entry in entries {
        let matching: Vec<&'static str> = FUNCTIONS
            .iter()
            .filter(|(name, class)| name == entry || class.name() == entry)
            .map(|(name, _)| *name)
            .collect();
        if matching.is_empty() {
            return Err(entry.clone());
        }
        allowed.extend(matching);
    }
    Ok(allowed)
}

/// `+` and 1 to 15 digits (a prefix), or at least 8 (a whole number).
fn is_number_prefix(text: &str, min_digits: usize) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (min_digits..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

impl Resolver<'_> {
    /// `base` with the keys `document` sets (checked, problems recorded under `key`): the
    /// tenant's rules are the defaults with its `policy`, an account's are its tenant's with
    /// the account's `policy`.
    pub(super) fn rules(&mut self, key: &str, base: &Rules, document: &PolicyDocument) -> Rules {
        let mut rules = base.clone();
        if let Some(functions) = &document.functions {
            rules.functions = functions.clone();
            rules.allowed_functions = match expand_functions(functions) {
                Ok(allowed) => allowed,
                Err(unknown) => {
                    let classes: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
                    self.error(
                        &format!("{key}.functions"),
                        &format!(
                            "{unknown:?} is neither a class ({}) nor one of the 15 function names",
                            classes.join(", ")
                        ),
                    );
                    BTreeSet::new()
                }
            };
        }
        if let Some(countries) = &document.allowed_countries {
            rules.allowed_countries =
                self.checked(&format!("{key}.allowed_countries"), countries, |code| {
                    let upper = code.to_ascii_uppercase();
                    match phonenumber::country::Id::from_str(&upper) {
                        Ok(_) if upper.len() == 2 => Ok(upper),
                        _ => Err(format!(
                            "{code:?} is not an ISO 3166 two-letter country code such as \"US\""
                        )),
                    }
                });
        }
        let mut numbers =
            |name: &str, entries: &Option<Vec<String>>, min: usize, kept: &mut Vec<String>| {
                if let Some(entries) = entries {
                    *kept = self.checked(&format!("{key}.{name}"), entries, |entry| {
                        if is_number_prefix(entry, min) {
                            Ok(entry.to_string())
                        } else if min == 1 {
                            Err(format!(
                                "{entry:?} is not a number prefix: '+' and digits, like \"+1900\""
                            ))
                        } else {
                            Err(format!(
                                "{entry:?} is not an E.164 number like \"+14155550123\""
                            ))
                        }
                    });
                }
            };
        numbers(
            "denied_prefixes",
            &document.denied_prefixes,
            1,
            &mut rules.denied_prefixes,
        );
        numbers("allowed_to", &document.allowed_to, 8, &mut rules.allowed_to);
        numbers(
            "allowed_from",
            &document.allowed_from,
            8,
            &mut rules.allowed_from,
        );
        if let Some(hosts) = &document.callback_hosts {
            rules.callback_hosts = self.checked(&format!("{key}.callback_hosts"), hosts, |host| {
                let valid = !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
                if valid {
                    Ok(host.to_ascii_lowercase())
                } else {
                    Err(format!("{host:?} is not a host name like \"hooks.example.com\" (no scheme, port or path)"))
                }
            });
        }
        if let Some(fields) = &document.lookup_fields {
            rules.lookup_fields =
                Some(
                    self.checked(&format!("{key}.lookup_fields"), fields, |field| {
                        if LOOKUP_PACKAGES.contains(&field) {
                            Ok(field.to_string())
                        } else {
                            Err(format!(
                                "{field:?} is not a Lookup v2 package ({})",
                                LOOKUP_PACKAGES.join(", ")
                            ))
                        }
                    }),
                );
        }
        rules.read_only = document.read_only.unwrap_or(base.read_only);
        rules.inline_twiml = document.inline_twiml.unwrap_or(base.inline_twiml);
        rules
    }

    /// The tenant's `approval` and `plan_expiry_minutes` (problems recorded under `key`).
    pub(super) fn approval(&mut self, key: &str, document: &PolicyDocument) -> Approval {
        let mut approval = Approval::default();
        if let Some(entries) = &document.approval {
            let side_effects = side_effects();
            for entry in entries {
                match expand_functions(std::slice::from_ref(entry)) {
                    Ok(functions) if functions.is_subset(&side_effects) => {
                        approval.functions.extend(functions);
                    }
                    _ => self.error(
                        &format!("{key}.approval"),
                        &format!("{entry:?} is not a side effect that can wait for approval: the classes send, call, delete and configure, or their function names (reads are never planned)"),
                    ),
                }
            }
            approval.approval = entries.clone();
        }
        match document.plan_expiry_minutes {
            Some(0) => self.error(&format!("{key}.plan_expiry_minutes"), "must be at least 1"),
            Some(minutes) => approval.plan_expiry = Duration::from_secs(minutes.saturating_mul(60)),
            None => {}
        }
        approval
    }

    /// `[audit]`: the retention (at least a day) and how destinations are written.
    pub(super) fn audit(&mut self, document: &AuditDocument) -> AuditSettings {
        let defaults = AuditSettings::default();
        let retention = match document.retention_days {
            Some(0) => {
                self.error("audit.retention_days", "must be at least 1");
                defaults.retention
            }
            Some(days) => Duration::from_secs(days.saturating_mul(86_400)),
            None => defaults.retention,
        };
        let full_destinations = match document.destinations.as_deref() {
            None | Some("masked") => false,
            Some("full") => true,
            Some(other) => {
                self.error(
                    "audit.destinations",
                    &format!("{other:?} is neither \"masked\" nor \"full\""),
                );
                false
            }
        };
        AuditSettings {
            retention,
            full_destinations,
        }
    }

    /// Where counts live: `[state] url`, else `state.db` in the state directory
    /// (`TWILIO_HOST_STATE_DIR`, else `$XDG_STATE_HOME/twilio-lua-wasm`, else
    /// `~/.local/state/twilio-lua-wasm`).
    pub(super) fn state(&mut self, document: &StateDocument) -> StateUrl {
        let Some(url) = &document.url else {
            return StateUrl::Sqlite(default_state_dir(self.env).join("state.db"));
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if !path.is_empty() {
                return StateUrl::Sqlite(PathBuf::from(path));
            }
        } else if url.starts_with("redis://") || url.starts_with("rediss://") {
            match url.parse::<http::Uri>() {
                Ok(uri) if uri.authority().is_some_and(|a| a.as_str().contains('@')) => self.error(
                    "state.url",
                    "the url carries credentials, and secrets are never written in the config; use a Redis that accepts this host without them (on a private network)",
                ),
                Ok(uri) if uri.host().is_some() => {}
                _ => self.error(
                    "state.url",
                    &format!("{url:?} is not a Redis URL like \"redis://127.0.0.1:6379/0\""),
                ),
            }
            return StateUrl::Redis(url.clone());
        }
        self.error(
            "state.url",
            &format!(
                "{url:?} is neither \"sqlite:///path/to/state.db\" nor \"redis://host:port/db\""
            ),
        );
        StateUrl::Sqlite(PathBuf::new())
    }

    /// Each entry through `check`; problems recorded under `key`, the good entries kept.
    fn checked(
        &mut self,
        key: &str,
        entries: &[String],
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Vec<String> {
        entries
            .iter()
            .filter_map(|entry| self.parsed(key, check(entry)))
            .collect()
    }
}

/// The state directory: `TWILIO_HOST_STATE_DIR`, else `$XDG_STATE_HOME/twilio-lua-wasm`, else
/// `~/.local/state/twilio-lua-wasm` (the tenant policy's counts and the built-in simulator's
/// data live there unless configured elsewhere).
pub fn default_state_dir(env: &dyn SecretSource) -> PathBuf {
    if let Some(dir) = env.var("TWILIO_HOST_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = env
        .var("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env.var("HOME").unwrap_or_else(|| ".".into())).join(".local/state")
        });
    base.join("twilio-lua-wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_names_expand_to_function_names() {
        let allowed = expand_functions(&["read".into(), "twilio_send_sms".into()]).unwrap();
        assert_eq!(allowed.len(), 11);
        assert!(allowed.contains("twilio_send_sms"));
        assert!(!allowed.contains("twilio_send_whatsapp"));
        assert_eq!(expand_functions(&["write".into()]), Err("write".into()));
        assert_eq!(Rules::default().allowed_functions.len(), 15);
    }

    #[test]
    fn the_readmes_worked_example_is_a_valid_policy() {
        let readme = include_str!("../../../README.md");
        let example = readme
            .split("```toml\n")
            .find(|block| block.starts_with("[tenants.acme.policy]"))
            .and_then(|block| block.split("```").next())
            .expect("the README has the worked example");
        let accounts = ["default", "ops"].map(|name| {
            format!("[tenants.acme.accounts.{name}]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nauth_token_env = \"T\"\n")
        });
        let text = format!("{example}\n{}", accounts.concat());
        let env = std::collections::HashMap::from([("T".to_string(), "token".to_string())]);
        let config = super::super::HostConfig::parse(&text, "README.md", &env).unwrap();
        let acme = config.tenant("acme").unwrap();
        let (default, ops) = (&acme.accounts[0].rules, &acme.accounts[1].rules);
        assert_eq!(default.allowed_countries, ["US", "CA"]);
        assert!(!default.read_only && ops.read_only);
        assert_eq!(
            ops.allowed_from, default.allowed_from,
            "the account inherits the rest"
        );
        assert!(
            !default
                .allowed_functions
                .contains("twilio_delete_recording")
        );
        assert_eq!(acme.quotas.messages_per_day, Some(500));
        assert_eq!(
            config.state,
            StateUrl::Sqlite(PathBuf::from("/var/lib/twilio-host/state.db"))
        );
    }

    #[test]
    fn numbers_and_prefixes() {
        assert!(is_number_prefix("+1900", 1));
        assert!(!is_number_prefix("1900", 1));
        assert!(!is_number_prefix("+1900", 8));
        assert!(is_number_prefix("+14155550123", 8));
    }
}
