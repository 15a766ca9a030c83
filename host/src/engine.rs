//! The wasmtime engine every run shares: async, epoch interruption for CPU limits, wasm
//! exceptions (Lua's error handling needs them), and the pooling allocator with copy-on-write
//! memory images so a fresh instance per run is cheap. A ticker thread advances the epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; CPU budgets are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizing of the engine's instance pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    /// Runs that may be alive at once (each holds one component instance).
    pub max_concurrent_runs: u32,
    /// The largest guest memory any tenant may have, in bytes.
    pub max_memory_bytes: u64,
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
    let runs = pool.max_concurrent_runs;
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(runs)
        .total_core_instances(runs.saturating_mul(8))
        .total_memories(runs.saturating_mul(2))
        .total_tables(runs.saturating_mul(8))
        .total_stacks(runs)
        .total_gc_heaps(runs)
        .max_memory_size(usize::try_from(pool.max_memory_bytes).unwrap_or(usize::MAX))
        // Reset the first pages of a slot's memory and tables with a memset and keep them
        // mapped, rather than unmapping them and taking page faults on the next run (measured:
        // `run_p50_us` 112 -> 72, no change in idle RSS; 1 MiB does not cover the heap).
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(1 << 20);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config)
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
