//! What one run's store holds: an empty WASI context (no environment, files, sockets or
//! stdio), the HTTP context with this run's egress policy, the memory cap and the CPU budget.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::twilio::lua::accounts::{self, Account};
use crate::bindings::twilio::lua::output;
use crate::config::TenantConfig;
use crate::egress::{Egress, EgressClient};

/// The data of one run's `Store`.
pub struct RunState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    /// The egress policy of this run.
    pub egress: Egress,
    /// The guest memory cap.
    pub memory: MemoryCap,
    /// Epoch ticks of execution left before the run is stopped.
    pub cpu_ticks_left: u64,
    /// What the script printed so far (kept host-side, so it survives any ending of the run).
    pub printed: String,
    accounts: Vec<Account>,
}

impl RunState {
    /// A fresh state for a run of `tenant`, sending requests through `client`.
    pub fn new(tenant: Arc<TenantConfig>, cpu_ticks: u64, client: EgressClient) -> RunState {
        let accounts = tenant
            .accounts
            .iter()
            .map(|a| Account {
                name: a.name.clone(),
                account_sid: a.account_sid.clone(),
                api_base_url: a.api_base_url.clone(),
                lookups_base_url: a.lookups_base_url.clone(),
            })
            .collect();
        let memory = MemoryCap::new(tenant.limits.memory_bytes);
        RunState {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            egress: Egress::new(tenant, client),
            memory,
            cpu_ticks_left: cpu_ticks,
            printed: String::new(),
            accounts,
        }
    }
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RunState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

impl accounts::Host for RunState {
    fn list_accounts(&mut self) -> Vec<Account> {
        self.accounts.clone()
    }
}

/// The most printed output a run keeps; the plugin caps it too, this guards the host.
const MAX_PRINTED_BYTES: usize = (1 << 20) + 4096;

impl output::Host for RunState {
    fn write(&mut self, text: String) {
        let room = MAX_PRINTED_BYTES.saturating_sub(self.printed.len());
        let mut cut = text.len().min(room);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.printed.push_str(&text[..cut]);
    }
}

/// Caps the guest's linear memory and remembers whether the cap was hit, so a trap that follows
/// a refused growth is reported as running out of memory.
pub struct MemoryCap {
    max_bytes: usize,
    /// Whether a growth was refused.
    pub hit: bool,
}

impl MemoryCap {
    fn new(max_bytes: u64) -> MemoryCap {
        MemoryCap {
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
