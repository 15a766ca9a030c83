//! Support for the end-to-end tests: a real simulator on 127.0.0.1 and a real host running the
//! real plugin component, wired together.

use std::collections::BTreeMap;

use twilio_host::config::StateUrl;
use twilio_host::simulated::tenant_for;
use twilio_host::{Host, HostConfig, HostOptions, Limits, RunReport, TenantConfig};
use twilio_sim::{SimAccount, SimConfig, Simulator};

pub mod hostile;

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
        let host = start_host(HostConfig::of(tenants.into_values()));
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
    start_host_running(config, None)
}

/// [`start_host`] running `component` instead of the embedded plugin, when one is given. A
/// configuration with the process's default state location gets this test process's own state
/// file instead, so tests never write quota counts or audit records into the user's state
/// directory (configurations from [`TestHost::from_toml`] default to that file already).
pub fn start_host_running(mut config: HostConfig, component: Option<Vec<u8>>) -> Host {
    if config.state == StateUrl::default() {
        config.state = StateUrl::Sqlite(test_state_file());
    }
    Host::new(
        config,
        HostOptions {
            max_concurrent_runs: TEST_POOL_SIZE,
            component,
            ..HostOptions::default()
        },
    )
    .expect("host starts")
}

/// The state file of this test process (under the system's temporary directory).
pub fn test_state_file() -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("twilio-e2e-{}", std::process::id()))
        .join("state.db")
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

/// The agent reference the plugin embeds (`docs/lua-api.md`), read from disk at test time.
pub fn reference_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/lua-api.md");
    std::fs::read_to_string(path).expect("docs/lua-api.md is readable")
}

/// The example of every `## twilio_*` section of the reference, in its order, as
/// `(function name, the code of its first lua block)`, verbatim.
pub fn reference_examples() -> Vec<(String, String)> {
    let text = reference_text();
    let mut examples = Vec::new();
    for section in text.split("\n## ").skip(1) {
        let (heading, body) = section.split_once('\n').unwrap_or((section, ""));
        if !heading.starts_with("twilio_") {
            continue;
        }
        let code = body
            .split_once("```lua\n")
            .and_then(|(_, rest)| rest.split_once("\n```"))
            .map(|(code, _)| code.to_string())
            .unwrap_or_else(|| panic!("section {heading} has no lua example"));
        examples.push((heading.trim().to_string(), code));
    }
    examples
}

impl TestHost {
    /// One tenant, `default`, whose one account, `default`, is `account` on a fresh simulator,
    /// authenticating with `credential` (say, an API key or a wrong token) instead of its token.
    pub async fn with_credential(
        account: SimAccount,
        credential: twilio_host::credential::Credential,
    ) -> TestHost {
        let sim = Simulator::start(SimConfig {
            accounts: vec![account.clone()],
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let mut tenant = tenant_for(&sim, "default", &[account], &["default"], Limits::default());
        tenant.accounts[0].credential = credential;
        let host = start_host(HostConfig::of([tenant]));
        TestHost { sim, host }
    }

    /// A host configured from TOML `text`, as a user writes it, on a fresh simulator knowing the
    /// default test account: `[endpoints]` pointing at the simulator goes first, `$SID` in
    /// `text` stands for the account's SID, and `auth_token_env = "SIM_TOKEN"` finds its token.
    pub async fn from_toml(text: &str) -> TestHost {
        TestHost::from_toml_running(text, None).await
    }

    /// [`TestHost::from_toml`] running `component` instead of the embedded plugin.
    pub async fn from_toml_running(text: &str, component: Option<Vec<u8>>) -> TestHost {
        let account = SimAccount::test_default();
        let sim = Simulator::start(SimConfig {
            accounts: vec![account.clone()],
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let text = format!(
            "[endpoints]\napi = \"{}\"\nlookups = \"{}\"\n{}",
            sim.api_url(),
            sim.lookups_url(),
            text.replace("$SID", &account.account_sid)
        );
        // The default state location of this environment is the test process's own file.
        let state_dir = test_state_file()
            .parent()
            .expect("the state file is in a directory")
            .display()
            .to_string();
        let env = std::collections::HashMap::from([
            ("SIM_TOKEN".to_string(), account.auth_token),
            ("TWILIO_HOST_STATE_DIR".to_string(), state_dir),
        ]);
        let config = HostConfig::parse(&text, "test.toml", &env)
            .unwrap_or_else(|errors| panic!("the test config is valid:\n{errors}"));
        let host = start_host_running(config, component);
        TestHost { sim, host }
    }

    /// Forgets earlier requests, runs `script` as tenant `default`, and returns the report with
    /// the requests the simulator received meanwhile.
    pub async fn run_recorded(
        &self,
        script: &str,
    ) -> (RunReport, Vec<twilio_sim::RecordedRequest>) {
        self.sim.clear_requests();
        let report = self.run(script).await;
        (report, self.sim.requests())
    }

    /// The SIDs seeded for the simulator's default test account.
    pub fn seeded(&self) -> twilio_sim::SeededIds {
        self.sim
            .state()
            .seeded(&self.account_sid())
            .expect("the default account is seeded")
    }
}

/// The value of header `name` (lower case) of a recorded request.
pub fn header<'a>(request: &'a twilio_sim::RecordedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

pub use twilio_sim::is_sid;

/// `GET target` (a path with its query) on `base_url` with Basic auth `user:password`, straight
/// to the simulator (not through the host); the JSON body of the answer.
pub async fn sim_get(
    base_url: &str,
    target: &str,
    user: &str,
    password: &str,
) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(format!("{base_url}{target}"))
        .basic_auth(user, Some(password))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("simulator reachable");
    assert_eq!(response.status(), 200, "GET {target}");
    response.json().await.expect("a JSON body")
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`; 0 where there is
/// no such file).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Samples [`rss_kib`] every millisecond on a thread, to catch a peak a before-and-after
/// comparison would miss.
pub struct PeakRss {
    baseline: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: std::thread::JoinHandle<u64>,
}

impl PeakRss {
    /// Starts sampling from the current RSS.
    pub fn start() -> PeakRss {
        let baseline = rss_kib();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib());
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            peak
        });
        PeakRss {
            baseline,
            stop,
            sampler,
        }
    }

    /// Stops sampling and returns how far the peak rose above the baseline, in KiB.
    pub fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let peak = self.sampler.join().unwrap_or(0);
        peak.saturating_sub(self.baseline)
    }
}

/// The message of the error `report` ended with, after checking that it is a `validation`
/// error table about `function` (or a namespace's path) and `field`.
pub fn validation_error<'a>(report: &'a RunReport, function: &str, field: &str) -> &'a str {
    let failure = error(report);
    assert_eq!(failure.kind, twilio_host::ErrorKind::Runtime, "{failure:?}");
    let table = failure.value.as_ref().expect("an error table");
    assert_eq!(table["kind"], "validation", "{table}");
    assert_eq!(table["function"], function, "{table}");
    assert_eq!(table["field"], field, "{table}");
    let message = table["message"].as_str().expect("a message");
    assert_eq!(failure.message, message, "the report carries the message");
    message
}

pub mod fault_cases;
pub mod load;
