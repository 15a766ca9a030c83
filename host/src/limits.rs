//! Per-run resource limits: defaults for every tenant, overridable per tenant.

use std::time::Duration;

use serde::Deserialize;

use crate::bindings::exports::twilio::lua::runner::{RetryPolicy, RunOptions};

/// The limits one run of a tenant's script gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on the guest's linear memory, in bytes (the Lua heap cap is set a little below it).
    pub memory_bytes: u64,
    /// CPU time the guest may spend executing.
    pub cpu: Duration,
    /// Wall-clock time for the whole run, waiting on Twilio included.
    pub wall: Duration,
    /// Outbound requests per run.
    pub max_requests: u32,
    /// Per request: connect, first byte, and between bytes.
    pub http_timeout: Duration,
    /// Largest response body handed to the guest, in bytes.
    pub max_response_bytes: u64,
    /// Lua VM instructions per run.
    pub lua_instructions: u64,
    /// Retries of a failed Twilio request (429 always; 5xx and connection failures for GET and
    /// DELETE only).
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; it doubles with each retry.
    pub retry_base: Duration,
    /// The longest wait between retries.
    pub retry_cap: Duration,
    /// Runs of the tenant at once (on every host process on its own); more wait in its queue.
    pub max_concurrent_runs: u32,
    /// Runs of the tenant waiting for one of its run slots; more are refused at once
    /// ([`crate::HostError::TenantBusy`]; the sidecar answers 429).
    pub max_queued_runs: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_bytes: 128 << 20,
            cpu: Duration::from_millis(5_000),
            wall: Duration::from_millis(30_000),
            max_requests: 100,
            http_timeout: Duration::from_millis(10_000),
            max_response_bytes: 4096 << 10,
            lua_instructions: 500_000_000,
            max_retries: 3,
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_millis(3_000),
            max_concurrent_runs: 64,
            max_queued_runs: 256,
        }
    }
}

/// Limits as written in the config file; every field optional, so a tenant can override a few.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Guest linear memory cap in MiB.
    pub memory_mb: Option<u64>,
    /// CPU budget in milliseconds.
    pub cpu_ms: Option<u64>,
    /// Whole-run wall time in milliseconds.
    pub wall_ms: Option<u64>,
    /// Outbound requests per run.
    pub max_requests: Option<u32>,
    /// Per-request timeout in milliseconds.
    pub http_timeout_ms: Option<u64>,
    /// Largest response body in KiB.
    pub max_response_kb: Option<u64>,
    /// Lua VM instruction budget.
    pub lua_instructions: Option<u64>,
    /// Retries of a failed Twilio request.
    pub max_retries: Option<u32>,
    /// First retry's backoff ceiling in milliseconds.
    pub retry_base_ms: Option<u64>,
    /// Longest wait between retries in milliseconds.
    pub retry_cap_ms: Option<u64>,
    /// Runs of the tenant at once.
    pub max_concurrent_runs: Option<u32>,
    /// Runs of the tenant waiting for a slot.
    pub max_queued_runs: Option<u32>,
}

impl LimitsFile {
    /// `base` with the fields this file sets replaced.
    pub fn apply_to(&self, base: Limits) -> Limits {
        Limits {
            memory_bytes: self.memory_mb.map_or(base.memory_bytes, |mb| mb << 20),
            cpu: self.cpu_ms.map_or(base.cpu, Duration::from_millis),
            wall: self.wall_ms.map_or(base.wall, Duration::from_millis),
            max_requests: self.max_requests.unwrap_or(base.max_requests),
            http_timeout: self
                .http_timeout_ms
                .map_or(base.http_timeout, Duration::from_millis),
            max_response_bytes: self
                .max_response_kb
                .map_or(base.max_response_bytes, |kb| kb << 10),
            lua_instructions: self.lua_instructions.unwrap_or(base.lua_instructions),
            max_retries: self.max_retries.unwrap_or(base.max_retries),
            retry_base: self
                .retry_base_ms
                .map_or(base.retry_base, Duration::from_millis),
            retry_cap: self
                .retry_cap_ms
                .map_or(base.retry_cap, Duration::from_millis),
            max_concurrent_runs: self.max_concurrent_runs.unwrap_or(base.max_concurrent_runs),
            max_queued_runs: self.max_queued_runs.unwrap_or(base.max_queued_runs),
        }
    }
}

/// The smallest guest memory that can still start a Lua state with the Twilio namespace.
pub const MIN_MEMORY_BYTES: u64 = 8 << 20;

impl Limits {
    /// A problem with these limits, phrased for a config error, or `None` when they are usable.
    pub fn problem(&self) -> Option<String> {
        if self.memory_bytes < MIN_MEMORY_BYTES {
            return Some(format!(
                "memory_mb must be at least {}",
                MIN_MEMORY_BYTES >> 20
            ));
        }
        if self.memory_bytes > 4 << 30 {
            return Some("memory_mb must be at most 4096 (wasm32 address space)".into());
        }
        for (name, value) in [
            ("cpu_ms", self.cpu),
            ("wall_ms", self.wall),
            ("http_timeout_ms", self.http_timeout),
        ] {
            if value.is_zero() {
                return Some(format!("{name} must be greater than 0"));
            }
        }
        if self.max_concurrent_runs == 0 {
            return Some("max_concurrent_runs must be at least 1".into());
        }
        if self.max_retries > 10 {
            return Some("max_retries must be at most 10".into());
        }
        if self.retry_cap > Duration::from_secs(60) || self.retry_base > self.retry_cap {
            return Some(
                "retry_base_ms must be at most retry_cap_ms, and retry_cap_ms at most 60000".into(),
            );
        }
        None
    }

    /// The Lua heap cap: half the guest memory. A growing table or stack is reallocated by
    /// doubling, which briefly needs the old and the new block plus the holes earlier doublings
    /// left; with half the memory in reserve Lua reports "not enough memory" itself (catchable)
    /// before the guest's allocator runs dry.
    pub fn lua_memory_bytes(&self) -> u64 {
        self.memory_bytes / 2
    }

    /// The `run-options` a run under these limits passes to the plugin's `runner.run`: the Lua
    /// heap cap, the instruction budget, the retry policy and the wall-clock limit.
    pub fn run_options(&self) -> RunOptions {
        let millis = |duration: Duration| u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
        RunOptions {
            memory_bytes: self.lua_memory_bytes(),
            instructions: self.lua_instructions,
            retry: RetryPolicy {
                max_retries: self.max_retries,
                base_delay_ms: millis(self.retry_base),
                max_delay_ms: millis(self.retry_cap),
            },
            wall_ms: u64::try_from(self.wall.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
