//! `[server]`: how the sidecar treats its connections, so that slow or idle clients cannot hold
//! it: how long a request's head and body may take to arrive, how many connections may be open
//! at once, and how long a shutdown waits for the runs in flight; and how many runs, and how
//! much guest memory, all tenants of the host may have at once.

use std::time::Duration;

use serde::Deserialize;

use super::values::TokenHash;

/// Runs of all tenants alive at once unless `[server] max_concurrent_runs` says otherwise.
pub const DEFAULT_MAX_CONCURRENT_RUNS: u32 = 1000;

/// The sidecar's connection limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// How long a connection waits for the whole head of its next request, counted from when
    /// it starts waiting: it bounds both a client that sends its headers slowly and a
    /// keep-alive connection that sits idle between requests.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive once its head has.
    pub body_read_timeout: Duration,
    /// Connections open at once; beyond it new ones wait in the listen queue until one
    /// closes (never refused by the process running out of descriptors).
    pub max_connections: usize,
    /// How long a shutdown (Ctrl-C, SIGTERM) lets the requests in flight finish before the
    /// remaining connections are dropped.
    pub shutdown_timeout: Duration,
    /// Guest memory, in bytes, that all runs at once may reserve: a run reserves its tenant's
    /// whole `memory_mb` before it starts, and waits while that does not fit.
    pub memory_budget: u64,
    /// Runs of all tenants alive at once: the size of the sidecar's instance pool (more wait
    /// for a slot), and so of what its idle slots may keep resident after a burst.
    pub max_concurrent_runs: u32,
    /// `Host` header values (`name` or `name:port`) that the `/mcp` endpoint answers besides
    /// the loopback names, for a sidecar reached by name (behind a TLS proxy): a request for
    /// any other host is refused, so a web page cannot reach a local server by DNS rebinding.
    pub mcp_allowed_hosts: Vec<String>,
    /// SHA-256 of the bearer token `/metrics` asks for; without it the sidecar serves no
    /// metrics (their labels name every tenant).
    pub metrics_token_sha256: Option<TokenHash>,
}

impl Default for ServerSettings {
    fn default() -> ServerSettings {
        ServerSettings {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(30),
            memory_budget: machine_memory().unwrap_or(16 << 30),
            max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
            mcp_allowed_hosts: Vec::new(),
            metrics_token_sha256: None,
        }
    }
}

/// The machine's physical memory (`MemTotal` of `/proc/meminfo`), when it can be read.
fn machine_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

/// `[server]` as written; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerDocument {
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    shutdown_timeout_ms: Option<u64>,
    memory_budget_mb: Option<u64>,
    max_concurrent_runs: Option<u32>,
    mcp_allowed_hosts: Option<Vec<String>>,
    metrics_token_sha256: Option<String>,
}

impl ServerDocument {
    /// The settings, or the key that is wrong and why.
    pub fn settings(&self) -> Result<ServerSettings, (&'static str, String)> {
        let defaults = ServerSettings::default();
        let millis = |key: &'static str, value: Option<u64>, default: Duration| match value {
            Some(0) => Err((key, "must be greater than 0".to_string())),
            Some(ms) => Ok(Duration::from_millis(ms)),
            None => Ok(default),
        };
        let max_connections = match self.max_connections {
            Some(0) => return Err(("max_connections", "must be at least 1".into())),
            Some(n) => n,
            None => defaults.max_connections,
        };
        Ok(ServerSettings {
            header_read_timeout: millis(
                "header_read_timeout_ms",
                self.header_read_timeout_ms,
                defaults.header_read_timeout,
            )?,
            body_read_timeout: millis(
                "body_read_timeout_ms",
                self.body_read_timeout_ms,
                defaults.body_read_timeout,
            )?,
            max_connections,
            shutdown_timeout: millis(
                "shutdown_timeout_ms",
                self.shutdown_timeout_ms,
                defaults.shutdown_timeout,
            )?,
            memory_budget: match self.memory_budget_mb {
                Some(mb) if mb < 8 => {
                    return Err(("memory_budget_mb", "must be at least 8".into()));
                }
                Some(mb) => mb << 20,
                None => defaults.memory_budget,
            },
            max_concurrent_runs: match self.max_concurrent_runs {
                Some(0) => return Err(("max_concurrent_runs", "must be at least 1".into())),
                Some(n) => n,
                None => defaults.max_concurrent_runs,
            },
            mcp_allowed_hosts: match &self.mcp_allowed_hosts {
                Some(hosts)
                    if hosts
                        .iter()
                        .any(|h| h.is_empty() || h.contains(['/', '@', ' '])) =>
                {
                    return Err((
                        "mcp_allowed_hosts",
                        "each entry is a host name or host:port, without scheme or path".into(),
                    ));
                }
                Some(hosts) => hosts.clone(),
                None => defaults.mcp_allowed_hosts,
            },
            metrics_token_sha256: match &self.metrics_token_sha256 {
                Some(hash) => Some(
                    TokenHash::parse(hash).map_err(|problem| ("metrics_token_sha256", problem))?,
                ),
                None => None,
            },
        })
    }
}
