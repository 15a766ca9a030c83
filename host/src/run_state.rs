//! What one run's store holds: an empty WASI context (no environment, files, sockets or
//! stdio), the HTTP context whose hooks are this run's egress, the plugin's context, the memory
//! cap and the CPU budget.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::plugin_ctx::{PluginCtx, PluginView};

/// The data of one run's `Store`.
pub struct RunState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    /// The accounts, the egress and the printed output of this run.
    pub plugin: PluginCtx,
    /// The guest memory cap.
    pub memory: MemoryCap,
    /// Epoch ticks of execution left before the run is stopped.
    pub cpu_ticks_left: u64,
}

impl RunState {
    /// A fresh state for a run with `plugin`'s context, `memory_bytes` of guest memory and
    /// `cpu_ticks` of CPU.
    pub fn new(plugin: PluginCtx, memory_bytes: u64, cpu_ticks: u64) -> RunState {
        RunState {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            plugin,
            memory: MemoryCap::new(memory_bytes),
            cpu_ticks_left: cpu_ticks,
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
            hooks: &mut self.plugin.egress,
        }
    }
}

impl PluginView for RunState {
    fn plugin(&mut self) -> &mut PluginCtx {
        &mut self.plugin
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
