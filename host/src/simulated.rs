//! A host configuration pointed at the built-in Twilio simulator: one tenant and one account,
//! both named `default`, authenticating with the simulator's test credentials.

use twilio_sim::{SimAccount, SimConfig, Simulator};

use crate::config::{AccountConfig, AccountSid, BaseUrl, HostConfig, TenantConfig};
use crate::credential::Credential;
use crate::limits::Limits;
use crate::secret::Secret;

/// Starts a simulator on 127.0.0.1 (free ports) and returns a configuration that uses it.
pub async fn start() -> anyhow::Result<(HostConfig, Simulator)> {
    let simulator = Simulator::start(SimConfig::default()).await?;
    let config = config_for(&simulator, &simulator.accounts()[..1], &["default"]);
    Ok((config, simulator))
}

/// A configuration with one tenant, `default`, whose accounts are `accounts` of `simulator`
/// under `names` (pairwise), authenticated with their auth tokens.
pub fn config_for(simulator: &Simulator, accounts: &[SimAccount], names: &[&str]) -> HostConfig {
    let tenant = tenant_for(simulator, "default", accounts, names, Limits::default());
    HostConfig::of([tenant])
}

/// One tenant named `tenant` whose accounts are `accounts` of `simulator` under `names`.
pub fn tenant_for(
    simulator: &Simulator,
    tenant: &str,
    accounts: &[SimAccount],
    names: &[&str],
    limits: Limits,
) -> TenantConfig {
    TenantConfig {
        name: tenant.to_string(),
        accounts: accounts
            .iter()
            .zip(names)
            .map(|(account, name)| AccountConfig {
                name: name.to_string(),
                account_sid: AccountSid::parse(&account.account_sid)
                    .expect("the simulator makes valid account SIDs"),
                subaccounts: Vec::new(),
                credential: Credential::AuthToken(Secret::new(account.auth_token.clone())),
                api_base_url: BaseUrl::parse(&simulator.api_url())
                    .expect("the simulator's URL is a base URL"),
                lookups_base_url: BaseUrl::parse(&simulator.lookups_url())
                    .expect("the simulator's URL is a base URL"),
                rules: crate::config::Rules::default(),
            })
            .collect(),
        limits,
        api_token_sha256: None,
        quotas: crate::config::Quotas::default(),
    }
}
