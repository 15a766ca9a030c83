//! A host configuration pointed at the built-in Twilio simulator: one tenant and one account,
//! both named `default`, authenticating with the simulator's test credentials.

use std::path::{Path, PathBuf};

use twilio_sim::{SimAccount, SimConfig, Simulator};

use crate::config::{
    AccountConfig, AccountSid, BaseUrl, HostConfig, SecretSource, TenantConfig, default_state_dir,
};
use crate::credential::Credential;
use crate::limits::Limits;
use crate::secret::Secret;

/// Where the built-in simulator of the CLI keeps its data between runs: `simulator.json` in
/// the state directory ([`default_state_dir`]).
pub fn state_file(env: &dyn SecretSource) -> PathBuf {
    default_state_dir(env).join("simulator.json")
}

/// Starts a simulator on 127.0.0.1 (free ports) and returns a configuration that uses it. With
/// `state_file` its data is kept there (see [`SimConfig::state_file`]); without, it lives in
/// memory with deterministic SIDs.
pub async fn start(state_file: Option<&Path>) -> anyhow::Result<(HostConfig, Simulator)> {
    let simulator = Simulator::start(SimConfig {
        state_file: state_file.map(Path::to_owned),
        ..SimConfig::default()
    })
    .await?;
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
        approval: Default::default(),
    }
}
