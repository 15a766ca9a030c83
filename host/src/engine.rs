//! The wasmtime engine every run shares: async, epoch interruption for CPU limits, wasm
//! exceptions (Lua's error handling needs them), and the pooling allocator with copy-on-write
//! memory images so a fresh instance per run is cheap. A ticker thread advances the epoch.
//!
//! # Memory after a burst
//!
//! A pooled slot that has served a run stays mapped for the next one and keeps a bounded part
//! of what the run touched resident, so what idle slots hold after any burst is bounded by the
//! pool settings below, not by the number of runs served:
//!
//! ```text
//! retained <= min(pool size, slots used) * SLOT_RETAINED_BYTES
//! slots used <= shards * peak_runs + MAX_UNUSED_WARM_SLOTS
//! ```
//!
//! `peak_runs` is the most runs alive at once; `shards` is how wasmtime 48 splits a pool of at
//! least 128 slots between threads (one per core, at most 16; 1 for a smaller pool). Slots are
//! reused most recently used first, so a fresh slot is only taken when the warm ones are busy:
//! measured, a burst leaves about `peak_runs` slots warm. On Linux 6.7 and later
//! (`PAGEMAP_SCAN`) a slot keeps only the pages its run wrote, up to the caps; elsewhere it
//! keeps the first bytes up to the caps.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; CPU budgets are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of a linear memory an idle slot keeps resident (reset in place instead of unmapped, so
/// the next run takes no page faults there). A run of a one-call script leaves about 260 KiB
/// written in its two memories together (the benchmark's `retained_kb_per_run_1000`); a run
/// that filled its heap gives the rest back.
pub const MEMORY_KEEP_RESIDENT: usize = 256 << 10;

/// Bytes of a table an idle slot keeps resident (the plugin's tables are about 4 KiB).
pub const TABLE_KEEP_RESIDENT: usize = 16 << 10;

/// Bytes at the top of an async stack an idle slot keeps resident (zeroed in place, as a run
/// of the send script uses about 23 KiB); the rest of a stack a deep run used is released
/// when the run ends. All of it is zeroed, whichever way.
pub const STACK_KEEP_RESIDENT: usize = 16 << 10;

/// Idle linear-memory slots that a run may leave warm beyond the ones later runs reuse: a
/// memory with no copy-on-write image (the GC heap's) takes a fresh slot only while fewer than
/// this many slots are idle, and a warm one otherwise.
pub const MAX_UNUSED_WARM_SLOTS: u32 = 16;

/// Linear memories of one run of the plugin: the Lua module's and the GC heap's.
pub const MEMORIES_PER_RUN: usize = 2;

/// Tables of one run of the plugin's component, at most (the pool reserves this many).
pub const TABLES_PER_RUN: usize = 8;

/// Upper bound of what one slot that served a run keeps resident while idle.
pub const SLOT_RETAINED_BYTES: usize = MEMORIES_PER_RUN * MEMORY_KEEP_RESIDENT
    + TABLES_PER_RUN * TABLE_KEEP_RESIDENT
    + STACK_KEEP_RESIDENT;

/// Sizing of the engine's instance pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    /// Runs that may be alive at once (each holds one component instance).
    pub max_concurrent_runs: u32,
    /// The largest guest memory any tenant may have, in bytes.
    pub max_memory_bytes: u64,
}

impl PoolSize {
    /// The pool for `config`'s tenants with `max_concurrent_runs` slots: each slot as large as
    /// the largest tenant's guest memory (64 MiB without tenants).
    pub fn for_config(config: &crate::HostConfig, max_concurrent_runs: u32) -> PoolSize {
        let max_memory_bytes = config
            .tenants
            .values()
            .map(|t| t.limits.memory_bytes)
            .max()
            .unwrap_or(64 << 20);
        PoolSize {
            max_concurrent_runs,
            max_memory_bytes,
        }
    }

    /// The most that idle slots may keep resident after bursts of at most `peak_runs` runs
    /// alive at once (the formula of the module documentation).
    pub fn retained_bytes_after(&self, peak_runs: u32) -> u64 {
        let pool = u64::from(self.max_concurrent_runs);
        let shards = if pool >= 128 {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(16)) as u64
        } else {
            1
        };
        let slots = (shards * u64::from(peak_runs) + u64::from(MAX_UNUSED_WARM_SLOTS)).min(pool);
        slots * SLOT_RETAINED_BYTES as u64
    }
}

/// Builds the engine.
pub fn build_engine(pool: PoolSize) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_exceptions(true);
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    config.memory_reservation(pool.max_memory_bytes);
    config.memory_guard_size(64 << 10);
    config.memory_reservation_for_growth(0);
    // Stacks are reset when a run ends, so a deep run's stack pages are not kept.
    config.async_stack_zeroing(true);
    let runs = pool.max_concurrent_runs;
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(runs)
        .total_core_instances(runs.saturating_mul(8))
        .total_memories(runs.saturating_mul(MEMORIES_PER_RUN as u32))
        .total_tables(runs.saturating_mul(TABLES_PER_RUN as u32))
        .total_stacks(runs)
        .total_gc_heaps(runs)
        .max_memory_size(usize::try_from(pool.max_memory_bytes).unwrap_or(usize::MAX))
        // Reset what a run wrote in place and keep it mapped, rather than unmapping it and
        // taking page faults on the next run (measured: `run_p50_us` 112 -> 72). Bounded, so
        // that what idle slots hold stays within the formula above.
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .async_stack_keep_resident(STACK_KEEP_RESIDENT)
        // Only the pages a run wrote are reset and kept (Linux 6.7+); without it the first
        // `MEMORY_KEEP_RESIDENT` bytes of every used slot were rewritten and kept, and the load
        // test's RSS grew with every slot ever used (158 MB after 10,000 runs; 46 MB with it).
        .pagemap_scan(Enabled::Auto)
        .max_unused_warm_slots(MAX_UNUSED_WARM_SLOTS);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config)
}

/// What the engine's instance pool holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolOccupancy {
    /// Runs alive now (component instances in use).
    pub live_runs: u64,
    /// Linear-memory slots that have served a run and are idle now.
    pub warm_memories: u32,
    /// Bytes that idle memory, table and stack slots keep resident (at most
    /// [`PoolSize::retained_bytes_after`] of the peak).
    pub retained_bytes: u64,
}

/// Reads `engine`'s pool occupancy (all zero for an engine without the pooling allocator).
pub fn pool_occupancy(engine: &Engine) -> PoolOccupancy {
    let Some(metrics) = engine.pooling_allocator_metrics() else {
        return PoolOccupancy::default();
    };
    let retained = metrics.unused_memory_bytes_resident()
        + metrics.unused_table_bytes_resident()
        + metrics.unused_stack_bytes_resident().unwrap_or(0);
    PoolOccupancy {
        live_runs: metrics.component_instances(),
        warm_memories: metrics.unused_warm_memories(),
        retained_bytes: retained as u64,
    }
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    /// Dropped to stop the thread: its wait for the next tick ends at once (a sleep would
    /// hold up the host's drop, and so a one-shot `run`'s exit, by up to a tick).
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub fn start(engine: &Engine) -> EpochTicker {
        let (stop, stopped) = mpsc::channel::<()>();
        let weak = engine.weak();
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .ok();
        EpochTicker {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
