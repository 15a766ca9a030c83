//! The egress policy: a pure decision on one request, made from a tenant's configuration that
//! was turned into parsed origins, allowed SIDs and ready `Authorization` headers once, when
//! the host was built. No I/O happens here; `Egress` in the parent module applies the decision.

use http::header::HeaderMap;
use http::{HeaderValue, Uri};

use crate::config::{AccountSid, BaseUrl, TenantConfig};
use crate::secret::Secret;

/// The request header in which the guest names the account; never forwarded.
pub const ACCOUNT_HEADER: &str = "x-twilio-account";

/// Why the policy refused a request. The text is what the script sees after
/// "request denied by the host: ", so it says what is allowed, never how to widen it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// No `x-twilio-account` header.
    #[error("the request names no account (header {ACCOUNT_HEADER})")]
    NoAccount,
    /// More than one `x-twilio-account` header.
    #[error("the request names more than one account")]
    SeveralAccounts,
    /// An account name that is not text.
    #[error("the account name is not text")]
    AccountNotText,
    /// An account the tenant does not have.
    #[error(
        "account {account:?} is not configured for tenant {tenant:?}; its accounts are {known}"
    )]
    UnknownAccount {
        /// The name the guest gave.
        account: String,
        /// The tenant.
        tenant: String,
        /// The tenant's account names, comma-separated.
        known: String,
    },
    /// Dot segments, empty segments, backslashes or encoded separators.
    #[error("path {path:?} is not a plain Twilio path")]
    NotPlainPath {
        /// The path as sent.
        path: String,
    },
    /// A core-API path outside `/2010-04-01/Accounts/`.
    #[error("path {path:?} is not under /2010-04-01/Accounts/")]
    NotUnderAccounts {
        /// The path as sent.
        path: String,
    },
    /// A core-API path about an account this credential may not act on.
    #[error("account {account:?} may not act on {sid:?}")]
    ForeignAccount {
        /// The account the guest named.
        account: String,
        /// The SID in the path.
        sid: String,
    },
    /// A Lookup path other than a v2 phone number.
    #[error("path {path:?} is not a Lookup v2 phone number")]
    NotLookupPath {
        /// The path as sent.
        path: String,
    },
    /// A destination other than the account's two endpoints.
    #[error("{origin} is not one of account {account:?}'s Twilio endpoints ({api}, {lookups})")]
    UnknownEndpoint {
        /// `scheme://authority` of the request.
        origin: String,
        /// The account.
        account: String,
        /// Its core API base URL.
        api: String,
        /// Its Lookup base URL.
        lookups: String,
    },
}

/// What an allowed request is sent as.
#[derive(Debug)]
pub struct Grant<'a> {
    /// The account's name.
    pub account: &'a str,
    /// The `Authorization` header to send (marked sensitive).
    pub authorization: &'a HeaderValue,
}

/// One tenant's egress policy.
pub struct TenantPolicy {
    tenant: String,
    accounts: Vec<AccountPolicy>,
    /// Every configured secret of the tenant, so responses can be scrubbed of them.
    secrets: Vec<Secret>,
}

/// What one account may reach, and how it authenticates.
struct AccountPolicy {
    name: String,
    api: BaseUrl,
    lookups: BaseUrl,
    /// The account's own SID, then its subaccounts'.
    sids: Vec<AccountSid>,
    authorization: HeaderValue,
}

impl TenantPolicy {
    /// The policy of `tenant`: its accounts' origins, SIDs and credentials.
    pub fn new(tenant: &TenantConfig) -> TenantPolicy {
        let accounts = tenant
            .accounts
            .iter()
            .map(|account| AccountPolicy {
                name: account.name.clone(),
                api: account.api_base_url.clone(),
                lookups: account.lookups_base_url.clone(),
                sids: std::iter::once(&account.account_sid)
                    .chain(&account.subaccounts)
                    .cloned()
                    .collect(),
                authorization: account.credential.authorization(&account.account_sid),
            })
            .collect();
        TenantPolicy {
            tenant: tenant.name.clone(),
            accounts,
            secrets: tenant
                .accounts
                .iter()
                .map(|a| a.credential.secret().clone())
                .collect(),
        }
    }

    /// The tenant's name.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The tenant's secrets, to scrub from responses.
    pub fn secrets(&self) -> impl Iterator<Item = &[u8]> {
        self.secrets.iter().map(|s| s.expose().as_bytes())
    }

    /// Decides a request from its URI and headers: it must name one configured account, go to
    /// one of that account's two endpoints (scheme, host and port), on the core API to a plain
    /// path about the account or one of its subaccounts, on Lookup to a v2 phone number.
    pub fn decide(&self, uri: &Uri, headers: &HeaderMap) -> Result<Grant<'_>, Denial> {
        let name = account_named(headers)?;
        let account = self
            .accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Denial::UnknownAccount {
                account: name.to_string(),
                tenant: self.tenant.clone(),
                known: self
                    .accounts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        account.check(uri)?;
        Ok(Grant {
            account: &account.name,
            authorization: &account.authorization,
        })
    }
}

impl AccountPolicy {
    fn check(&self, uri: &Uri) -> Result<(), Denial> {
        let path = uri.path();
        if has_traversal(path) {
            return Err(Denial::NotPlainPath { path: path.into() });
        }
        if self.api.is_origin_of(uri) {
            let sid = path
                .strip_prefix("/2010-04-01/Accounts/")
                .map(|rest| rest.split(['/', '.']).next().unwrap_or_default())
                .ok_or_else(|| Denial::NotUnderAccounts { path: path.into() })?;
            return if self.sids.iter().any(|allowed| allowed == sid) {
                Ok(())
            } else {
                Err(Denial::ForeignAccount {
                    account: self.name.clone(),
                    sid: sid.into(),
                })
            };
        }
        if self.lookups.is_origin_of(uri) {
            return if path.starts_with("/v2/PhoneNumbers/") {
                Ok(())
            } else {
                Err(Denial::NotLookupPath { path: path.into() })
            };
        }
        Err(Denial::UnknownEndpoint {
            origin: format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("?"),
                uri.authority().map_or("?", |a| a.as_str())
            ),
            account: self.name.clone(),
            api: self.api.to_string(),
            lookups: self.lookups.to_string(),
        })
    }
}

/// The one account the request names in [`ACCOUNT_HEADER`].
fn account_named(headers: &HeaderMap) -> Result<&str, Denial> {
    let mut values = headers.get_all(ACCOUNT_HEADER).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().map_err(|_| Denial::AccountNotText),
        (None, _) => Err(Denial::NoAccount),
        (Some(_), Some(_)) => Err(Denial::SeveralAccounts),
    }
}

/// Dot segments, empty segments, backslashes and encoded separators are refused outright.
fn has_traversal(path: &str) -> bool {
    let lowered = path.to_ascii_lowercase();
    path.contains("//")
        || path.contains('\\')
        || path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        || ["%2f", "%2e", "%5c", "%00"]
            .iter()
            .any(|bad| lowered.contains(bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AccountConfig;
    use crate::credential::Credential;
    use crate::limits::Limits;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const OTHER_SID: &str = "ACffffffffffffffffffffffffffffffff";
    const SUB_SID: &str = "AC11111111111111111111111111111111";
    const API: &str = "https://api.twilio.com";

    fn policy() -> TenantPolicy {
        TenantPolicy::new(&TenantConfig {
            name: "acme".into(),
            accounts: vec![AccountConfig {
                name: "default".into(),
                account_sid: AccountSid::parse(SID).unwrap(),
                subaccounts: vec![AccountSid::parse(SUB_SID).unwrap()],
                credential: Credential::AuthToken(Secret::new("token".into())),
                api_base_url: BaseUrl::parse(API).unwrap(),
                lookups_base_url: BaseUrl::parse("https://lookups.twilio.com").unwrap(),
            }],
            limits: Limits::default(),
            api_token_sha256: None,
        })
    }

    fn decide(url: &str, account: Option<&str>) -> Result<String, Denial> {
        let mut headers = HeaderMap::new();
        if let Some(account) = account {
            headers.insert(ACCOUNT_HEADER, account.parse().unwrap());
        }
        let policy = policy();
        policy
            .decide(&url.parse().unwrap(), &headers)
            .map(|grant| grant.account.to_string())
    }

    #[test]
    fn only_the_accounts_own_paths_on_its_own_endpoints_pass() {
        let cases = [
            (
                format!("{API}/2010-04-01/Accounts/{SID}/Messages.json"),
                Some("default"),
                true,
            ),
            (
                format!("{API}/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                true,
            ),
            (
                format!("{API}/2010-04-01/Accounts/{SUB_SID}/Calls.json"),
                Some("default"),
                true,
            ),
            (
                "https://lookups.twilio.com/v2/PhoneNumbers/+15551234567".to_string(),
                Some("default"),
                true,
            ),
            (
                format!("{API}/2010-04-01/Accounts/{OTHER_SID}/Messages.json"),
                Some("default"),
                false,
            ),
            (
                format!("{API}/2010-04-01/Accounts/{SID}/../{OTHER_SID}/Messages.json"),
                Some("default"),
                false,
            ),
            (
                format!("{API}/2010-04-01/Accounts/{SID}%2F..%2F/x.json"),
                Some("default"),
                false,
            ),
            (
                format!("{API}/v2/PhoneNumbers/+1555"),
                Some("default"),
                false,
            ),
            (
                format!("http://api.twilio.com/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                false,
            ),
            (
                format!("https://api.twilio.com:8443/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                false,
            ),
            (
                format!("https://evil.example/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                false,
            ),
            (
                format!("{API}/2010-04-01/Accounts/{SID}.json"),
                Some("work"),
                false,
            ),
            (format!("{API}/2010-04-01/Accounts/{SID}.json"), None, false),
        ];
        for (url, account, allowed) in cases {
            let result = decide(&url, account);
            assert_eq!(result.is_ok(), allowed, "{url} as {account:?}: {result:?}");
        }
    }

    #[test]
    fn each_refusal_says_why() {
        let foreign = decide(
            &format!("{API}/2010-04-01/Accounts/{OTHER_SID}.json"),
            Some("default"),
        );
        assert_eq!(
            foreign.unwrap_err().to_string(),
            format!("account \"default\" may not act on \"{OTHER_SID}\"")
        );
        let unknown = decide(
            &format!("{API}/2010-04-01/Accounts/{SID}.json"),
            Some("work"),
        );
        assert_eq!(
            unknown.unwrap_err().to_string(),
            "account \"work\" is not configured for tenant \"acme\"; its accounts are default"
        );
        let elsewhere = decide("https://evil.example/x", Some("default")).unwrap_err();
        assert_eq!(
            elsewhere.to_string(),
            "https://evil.example is not one of account \"default\"'s Twilio endpoints \
             (https://api.twilio.com, https://lookups.twilio.com)"
        );
        let mut two = HeaderMap::new();
        two.append(ACCOUNT_HEADER, "default".parse().unwrap());
        two.append(ACCOUNT_HEADER, "work".parse().unwrap());
        let uri = format!("{API}/2010-04-01/Accounts/{SID}.json")
            .parse()
            .unwrap();
        assert_eq!(
            policy().decide(&uri, &two).unwrap_err(),
            Denial::SeveralAccounts
        );
    }

    #[test]
    fn the_grant_carries_the_accounts_own_credential() {
        let policy = policy();
        let mut headers = HeaderMap::new();
        headers.insert(ACCOUNT_HEADER, "default".parse().unwrap());
        let uri = format!("{API}/2010-04-01/Accounts/{SID}.json")
            .parse()
            .unwrap();
        let grant = policy.decide(&uri, &headers).unwrap();
        let expected = Credential::AuthToken(Secret::new("token".into()))
            .authorization(&AccountSid::parse(SID).unwrap());
        assert_eq!(grant.authorization, &expected);
        assert!(grant.authorization.is_sensitive());
        assert_eq!(policy.secrets().collect::<Vec<_>>(), [b"token".as_slice()]);
    }
}
