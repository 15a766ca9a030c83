//! The egress policy: a pure decision on one request, made from a tenant's configuration that
//! was turned into parsed origins, allowed SIDs and ready `Authorization` headers once, when
//! the host was built. No I/O happens here; `Egress` in the parent module applies the decision.

use http::header::HeaderMap;
use http::{HeaderValue, Method, Uri};

use std::sync::Arc;

use super::operations::{self, Api, Operation};
use super::rules::PolicyRefusal;
use crate::config::{AccountSid, BaseUrl, Quotas, Rules, TenantConfig};
use crate::secret::Secret;

/// The largest request body the egress reads to check its form parameters, in bytes: far above
/// what the 15 functions send (a 1,600-character body, 4,000 characters of TwiML, URLs), even
/// percent-encoded.
pub const MAX_FORM_BYTES: usize = 128 << 10;

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
    /// A method and path that none of the 15 functions sends.
    #[error("{method} {path} is not a request any of the 15 functions makes")]
    NotAnOperation {
        /// The method as sent.
        method: String,
        /// The path as sent.
        path: String,
    },
    /// A query or form parameter the operation's function does not send.
    #[error("parameter {parameter:?} is not one that {function} sends")]
    UnexpectedParameter {
        /// The function whose request it is.
        function: &'static str,
        /// The parameter's name.
        parameter: String,
    },
    /// A parameter given more than once that its function sends once.
    #[error("parameter {parameter:?} is given more than once; {function} sends it once")]
    RepeatedParameter {
        /// The function whose request it is.
        function: &'static str,
        /// The parameter's name.
        parameter: String,
    },
    /// A form body larger than [`MAX_FORM_BYTES`].
    #[error(
        "the request body is larger than the {MAX_FORM_BYTES} bytes any of the 15 functions sends"
    )]
    BodyTooLarge,
    /// A core-API path about an account this credential may not act on.
    #[error("account {account:?} may not act on {sid:?}")]
    ForeignAccount {
        /// The account the guest named.
        account: String,
        /// The SID in the path.
        sid: String,
    },
    /// The tenant's policy (its rules or quotas) refused it.
    #[error("{}", .0.message)]
    Policy(PolicyRefusal),
    /// A request that counts against a quota, when the counts cannot be kept.
    #[error("nothing that counts against a quota is sent: {0}")]
    Uncounted(String),
    /// A side effect whose audit record could not be written.
    #[error("nothing is sent that the audit trail cannot record: {0}")]
    Unaudited(String),
    /// A side effect of an approved plan's run that is not the plan's next action (and every
    /// request after it).
    #[error("{0}")]
    Plan(String),
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

impl Denial {
    /// The policy rule that refused, for a refusal by the tenant's policy.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            Denial::Policy(refusal) => Some(refusal.rule),
            _ => None,
        }
    }

    /// The name the audit and the metrics give the refusal: the policy rule, else
    /// `state_store` (the quota counts could not be kept), `audit` (its record could not be
    /// written), `plan` (not the approved plan's next action) or `egress` (not a request of the 15 functions to the account's endpoints).
    pub fn audit_rule(&self) -> &'static str {
        self.rule().unwrap_or(match self {
            Denial::Uncounted(_) => "state_store",
            Denial::Unaudited(_) => "audit",
            Denial::Plan(_) => "plan",
            _ => "egress",
        })
    }

    /// The script's parameter a policy refusal is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            Denial::Policy(refusal) => refusal.field.as_deref(),
            _ => None,
        }
    }
}

/// What an allowed request is, and what it is sent as.
#[derive(Debug)]
pub struct Grant<'a> {
    /// The account's name.
    pub account: &'a str,
    /// The `Authorization` header to send (marked sensitive).
    pub authorization: &'a HeaderValue,
    /// The operation the request is; a POST's form parameters are still to be checked
    /// ([`check_parameters`]) once its body is read.
    pub operation: &'static Operation,
    /// The account's rules, to apply to the request's parameters.
    pub rules: &'a Arc<Rules>,
    /// The query's parameters, decoded.
    pub query: Vec<(String, String)>,
}

/// One tenant's egress policy.
pub struct TenantPolicy {
    tenant: String,
    accounts: Vec<AccountPolicy>,
    /// Every configured secret of the tenant, so responses can be scrubbed of them.
    secrets: Vec<Secret>,
    quotas: Quotas,
}

/// What one account may reach, and how it authenticates.
struct AccountPolicy {
    name: String,
    api: BaseUrl,
    lookups: BaseUrl,
    /// The account's own SID, then its subaccounts'.
    sids: Vec<AccountSid>,
    authorization: HeaderValue,
    rules: Arc<Rules>,
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
                rules: Arc::new(account.rules.clone()),
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
            quotas: tenant.quotas,
        }
    }

    /// The tenant's quotas.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// The tenant's name.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The tenant's secrets, to scrub from responses.
    pub fn secrets(&self) -> impl Iterator<Item = &[u8]> {
        self.secrets.iter().map(|s| s.expose().as_bytes())
    }

    /// Decides a request from its method, URI and headers: it must name one configured
    /// account, go to one of that account's two endpoints (scheme, host and port), be one of
    /// the 15 functions' operations with only that function's query parameters, and on the core
    /// API be about the account or one of its subaccounts.
    pub fn decide(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Grant<'_>, Denial> {
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
        let operation = account.operation(method, uri)?;
        let query = uri.query().unwrap_or_default();
        let query = check_parameters(operation, query.as_bytes())?;
        Ok(Grant {
            query,
            account: &account.name,
            authorization: &account.authorization,
            operation,
            rules: &account.rules,
        })
    }
}

/// The query or form parameters of `encoded` (`a=1&b=2`), if each is one `operation` sends.
pub fn check_parameters(
    operation: &Operation,
    encoded: &[u8],
) -> Result<Vec<(String, String)>, Denial> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(encoded).into_owned().collect();
    if let Some(parameter) =
        operations::unexpected_param(operation, pairs.iter().map(|(name, _)| name.as_str()))
    {
        return Err(Denial::UnexpectedParameter {
            function: operation.function,
            parameter: parameter.to_string(),
        });
    }
    // A parameter given twice could show the rules one value and Twilio another.
    let repeated = pairs.iter().enumerate().find(|(index, (name, _))| {
        !REPEATABLE_PARAMS.contains(&name.as_str())
            && pairs[..*index].iter().any(|(earlier, _)| earlier == name)
    });
    if let Some((_, (parameter, _))) = repeated {
        return Err(Denial::RepeatedParameter {
            function: operation.function,
            parameter: parameter.clone(),
        });
    }
    Ok(pairs)
}

/// The only parameter a function sends more than once (one per media file).
const REPEATABLE_PARAMS: [&str; 1] = ["MediaUrl"];

impl AccountPolicy {
    /// The operation `method` at `uri` is for this account, or why it is none.
    fn operation(&self, method: &Method, uri: &Uri) -> Result<&'static Operation, Denial> {
        let path = uri.path();
        if has_traversal(path) {
            return Err(Denial::NotPlainPath { path: path.into() });
        }
        let api = self.api_of(uri)?;
        let operation =
            operations::find(method, api, path).ok_or_else(|| Denial::NotAnOperation {
                method: method.to_string(),
                path: path.into(),
            })?;
        if api == Api::Core {
            // Every core operation's path starts with the account it is about.
            let sid = path
                .strip_prefix("/2010-04-01/Accounts/")
                .and_then(|rest| rest.split(['/', '.']).next())
                .unwrap_or_default();
            if !self.sids.iter().any(|allowed| allowed == sid) {
                return Err(Denial::ForeignAccount {
                    account: self.name.clone(),
                    sid: sid.into(),
                });
            }
        }
        Ok(operation)
    }

    /// Which of the account's endpoints `uri` goes to.
    fn api_of(&self, uri: &Uri) -> Result<Api, Denial> {
        if self.api.is_origin_of(uri) {
            return Ok(Api::Core);
        }
        if self.lookups.is_origin_of(uri) {
            return Ok(Api::Lookups);
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
                rules: crate::config::Rules::default(),
            }],
            limits: Limits::default(),
            api_token_sha256: None,
            quotas: crate::config::Quotas::default(),
            approval: Default::default(),
        })
    }

    fn decide(url: &str, account: Option<&str>) -> Result<String, Denial> {
        let mut headers = HeaderMap::new();
        if let Some(account) = account {
            headers.insert(ACCOUNT_HEADER, account.parse().unwrap());
        }
        decide_as(Method::GET, url, &headers)
    }

    fn decide_as(method: Method, url: &str, headers: &HeaderMap) -> Result<String, Denial> {
        let policy = policy();
        policy
            .decide(&method, &url.parse().unwrap(), headers)
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
            policy().decide(&Method::GET, &uri, &two).unwrap_err(),
            Denial::SeveralAccounts
        );
    }

    #[test]
    fn only_the_fifteen_functions_requests_pass() {
        let mut headers = HeaderMap::new();
        headers.insert(ACCOUNT_HEADER, "default".parse().unwrap());
        let base = format!("{API}/2010-04-01/Accounts/{SID}");
        let keys = decide_as(Method::POST, &format!("{base}/Keys.json"), &headers).unwrap_err();
        assert_eq!(
            keys.to_string(),
            format!(
                "POST /2010-04-01/Accounts/{SID}/Keys.json is not a request any of the 15 functions makes"
            )
        );
        for (method, url) in [
            (Method::POST, format!("{base}.json")),
            (Method::POST, format!("{base}/IncomingPhoneNumbers.json")),
            (
                Method::DELETE,
                format!("{base}/Messages/SM{}.json", &SID[2..]),
            ),
            (Method::GET, format!("{base}/Messages")),
        ] {
            let denial = decide_as(method.clone(), &url, &headers).unwrap_err();
            assert!(
                matches!(denial, Denial::NotAnOperation { .. }),
                "{method} {url}: {denial}"
            );
        }
        let query = decide_as(
            Method::GET,
            &format!("{base}/Messages.json?PageSize=5&Body=x"),
            &headers,
        );
        assert_eq!(
            query.unwrap_err().to_string(),
            "parameter \"Body\" is not one that twilio_list_messages sends"
        );
        assert!(
            decide_as(
                Method::GET,
                &format!("{base}/Messages.json?To=%2B1555&PageSize=5"),
                &headers
            )
            .is_ok()
        );
        let send = operations::find(
            &Method::POST,
            Api::Core,
            &format!("/2010-04-01/Accounts/{SID}/Messages.json"),
        )
        .unwrap();
        assert_eq!(
            check_parameters(send, b"To=%2B15551234567&Body=hi"),
            Ok(vec![
                ("To".to_string(), "+15551234567".to_string()),
                ("Body".to_string(), "hi".to_string())
            ])
        );
        assert_eq!(
            check_parameters(send, b"To=%2B14155550123&To=%2B447700900123"),
            Err(Denial::RepeatedParameter {
                function: "twilio_send_sms",
                parameter: "To".into()
            })
        );
        assert!(check_parameters(send, b"MediaUrl=a&MediaUrl=b").is_ok());
        assert_eq!(
            check_parameters(send, b"To=%2B15551234567&SmsUrl=https%3A%2F%2Fevil.example"),
            Err(Denial::UnexpectedParameter {
                function: "twilio_send_sms",
                parameter: "SmsUrl".into()
            })
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
        let grant = policy.decide(&Method::GET, &uri, &headers).unwrap();
        assert_eq!(grant.operation.function, "twilio_get_account");
        let expected = Credential::AuthToken(Secret::new("token".into()))
            .authorization(&AccountSid::parse(SID).unwrap());
        assert_eq!(grant.authorization, &expected);
        assert!(grant.authorization.is_sensitive());
        assert_eq!(policy.secrets().collect::<Vec<_>>(), [b"token".as_slice()]);
    }
}
