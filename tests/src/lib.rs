//! Support for the end-to-end tests: a real simulator on 127.0.0.1 and a real host running the
//! real plugin component, wired together.

use std::collections::BTreeMap;

use twilio_host::simulated::tenant_for;
use twilio_host::{Host, HostConfig, HostOptions, Limits, RunReport, TenantConfig};
use twilio_sim::{SimAccount, SimConfig, Simulator};

pub use twilio_host;
pub use twilio_sim;

/// Runs at once that a test host allows; small, so that many test hosts fit in one process.
const TEST_POOL_SIZE: u32 = 64;

/// A simulator and a host whose tenants use it.
pub struct TestHost {
    /// The simulator every tenant's accounts point at.
    pub sim: Simulator,
    /// The host under test.
    pub host: Host,
}

/// One tenant to configure: its name, and its accounts as (account name, simulator account).
pub struct TenantSpec {
    /// Tenant name.
    pub name: String,
    /// (name scripts use, simulator account)
    pub accounts: Vec<(String, SimAccount)>,
    /// The tenant's limits.
    pub limits: Limits,
}

impl TenantSpec {
    /// A tenant with one account, `default`, on the simulator's default test account.
    pub fn new(name: &str) -> TenantSpec {
        TenantSpec {
            name: name.into(),
            accounts: vec![("default".into(), SimAccount::test_default())],
            limits: Limits::default(),
        }
    }

    /// Replaces the accounts.
    pub fn accounts(mut self, accounts: Vec<(&str, SimAccount)>) -> TenantSpec {
        self.accounts = accounts
            .into_iter()
            .map(|(name, account)| (name.to_string(), account))
            .collect();
        self
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> TenantSpec {
        self.limits = limits;
        self
    }
}

impl TestHost {
    /// One tenant, `default`, with one account, `default`, on the simulator's test account.
    pub async fn start() -> TestHost {
        TestHost::with_tenants(vec![TenantSpec::new("default")]).await
    }

    /// The given tenants; the simulator knows every account they use.
    pub async fn with_tenants(tenants: Vec<TenantSpec>) -> TestHost {
        let mut sim_accounts: Vec<SimAccount> = Vec::new();
        for account in tenants
            .iter()
            .flat_map(|t| t.accounts.iter().map(|(_, a)| a))
        {
            if !sim_accounts
                .iter()
                .any(|known| known.account_sid == account.account_sid)
            {
                sim_accounts.push(account.clone());
            }
        }
        let sim = Simulator::start(SimConfig {
            accounts: sim_accounts,
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let tenants = tenants
            .iter()
            .map(|spec| {
                let accounts: Vec<SimAccount> =
                    spec.accounts.iter().map(|(_, a)| a.clone()).collect();
                let names: Vec<&str> = spec.accounts.iter().map(|(n, _)| n.as_str()).collect();
                (
                    spec.name.clone(),
                    tenant_for(&sim, &spec.name, &accounts, &names, spec.limits),
                )
            })
            .collect::<BTreeMap<String, TenantConfig>>();
        let host = start_host(HostConfig { tenants });
        TestHost { sim, host }
    }

    /// Runs `script` as tenant `default`.
    pub async fn run(&self, script: &str) -> RunReport {
        self.run_as("default", script).await
    }

    /// Runs `script` as `tenant`.
    pub async fn run_as(&self, tenant: &str, script: &str) -> RunReport {
        self.host.run(tenant, script).await.expect("tenant exists")
    }

    /// The SID of the simulator's default test account.
    pub fn account_sid(&self) -> String {
        self.sim.accounts()[0].account_sid.clone()
    }
}

/// A host for `config` with a small instance pool and the shared compiled-code cache.
pub fn start_host(config: HostConfig) -> Host {
    Host::new(
        config,
        HostOptions {
            max_concurrent_runs: TEST_POOL_SIZE,
            ..HostOptions::default()
        },
    )
    .expect("host starts")
}

/// Limits small enough that runaway scripts end quickly in tests.
pub fn quick_limits() -> Limits {
    Limits {
        cpu: std::time::Duration::from_millis(500),
        wall: std::time::Duration::from_secs(5),
        lua_instructions: 20_000_000,
        ..Limits::default()
    }
}

/// The value a successful run returned; panics with the error otherwise.
pub fn value(report: &RunReport) -> &serde_json::Value {
    match &report.outcome {
        Ok(value) => value,
        Err(error) => panic!("run failed: {error:?}\nprinted: {}", report.printed),
    }
}

/// The error a failed run ended with; panics if it succeeded.
pub fn error(report: &RunReport) -> &twilio_host::ScriptError {
    match &report.outcome {
        Ok(value) => panic!(
            "run succeeded with {value} but should have failed\nprinted: {}",
            report.printed
        ),
        Err(error) => error,
    }
}
