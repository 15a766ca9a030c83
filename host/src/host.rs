//! The host library API: build a [`Host`] from a configuration once, then run scripts for
//! tenants, each in a brand-new store and component instance with the tenant's accounts and
//! limits. Runs are independent: one may trap, time out or exhaust its memory while others go
//! on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::bindings::exports::twilio::lua::runner::{self, ErrorKind as WitKind};
use crate::bindings::{Plugin, PluginPre};
use crate::code_cache::{default_cache_dir, load_component};
use crate::config::{HostConfig, TenantConfig};
use crate::egress::EgressClient;
use crate::engine::{EPOCH_TICK, EpochTicker, PoolSize, build_engine};
use crate::plugin::PLUGIN_COMPONENT;
use crate::report::{ErrorKind, RunReport, ScriptError};
use crate::run_state::RunState;

/// Options for building a [`Host`] beyond the tenant configuration.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Runs that may be alive at once; more wait for a slot.
    pub max_concurrent_runs: u32,
    /// Where compiled machine code is cached; `None` compiles at every start.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HostOptions {
    fn default() -> HostOptions {
        HostOptions {
            max_concurrent_runs: 1000,
            cache_dir: default_cache_dir(),
        }
    }
}

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// No tenant of that name is configured.
    #[error("unknown tenant {tenant:?}; configured tenants: {}", known.join(", "))]
    UnknownTenant {
        /// The name asked for.
        tenant: String,
        /// The names that exist.
        known: Vec<String>,
    },
}

/// A ready host: the compiled plugin, the tenants, and the epoch ticker.
pub struct Host {
    engine: Engine,
    pre: PluginPre<RunState>,
    tenants: BTreeMap<String, Arc<TenantConfig>>,
    /// One permit per instance slot of the pool: runs beyond it wait instead of failing.
    slots: Semaphore,
    /// The HTTP(S) client of every run: one connection pool for the host.
    http: EgressClient,
    _ticker: EpochTicker,
}

/// Marker error raised from the epoch callback when a run's CPU budget is spent.
#[derive(Debug, thiserror::Error)]
#[error("CPU budget used up")]
struct CpuBudgetSpent;

impl Host {
    /// Compiles (or loads from cache) the embedded plugin and prepares its instantiation.
    pub fn new(config: HostConfig, options: HostOptions) -> anyhow::Result<Host> {
        let max_memory_bytes = config
            .tenants
            .values()
            .map(|t| t.limits.memory_bytes)
            .max()
            .unwrap_or(64 << 20);
        let engine = build_engine(PoolSize {
            max_concurrent_runs: options.max_concurrent_runs,
            max_memory_bytes,
        })
        .map_err(|e| anyhow::anyhow!("configuring wasmtime: {e}"))?;
        let mut linker = Linker::<RunState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::bindings::twilio::lua::accounts::add_to_linker::<RunState, HasSelf<RunState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::bindings::twilio::lua::output::add_to_linker::<RunState, HasSelf<RunState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let http = EgressClient::new();
        let component = load_component(
            &engine,
            PLUGIN_COMPONENT,
            options.cache_dir.as_deref(),
            |bytes| pre_initialise(&engine, &linker, &http, bytes),
        )
        .map_err(|e| anyhow::anyhow!("compiling the plugin: {e}"))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow::anyhow!("linking the plugin: {e}"))?;
        let pre = PluginPre::new(instance_pre).map_err(|e| anyhow::anyhow!("{e}"))?;
        let tenants = config
            .tenants
            .into_iter()
            .map(|(name, tenant)| (name, Arc::new(tenant)))
            .collect();
        let ticker = EpochTicker::start(&engine);
        Ok(Host {
            slots: Semaphore::new(options.max_concurrent_runs as usize),
            http,
            engine,
            pre,
            tenants,
            _ticker: ticker,
        })
    }

    /// The configured tenant names.
    pub fn tenant_names(&self) -> Vec<String> {
        self.tenants.keys().cloned().collect()
    }

    /// A tenant's configuration.
    pub fn tenant(&self, name: &str) -> Result<&Arc<TenantConfig>, HostError> {
        self.tenants
            .get(name)
            .ok_or_else(|| HostError::UnknownTenant {
                tenant: name.to_string(),
                known: self.tenant_names(),
            })
    }

    /// Runs `script` for `tenant` in a fresh sandbox and reports what happened. Failures of the
    /// script (errors, limits, traps) are in the report; only an unknown tenant is an `Err`.
    pub async fn run(&self, tenant: &str, script: &str) -> Result<RunReport, HostError> {
        let tenant = Arc::clone(self.tenant(tenant)?);
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let started = Instant::now();
        let limits = tenant.limits;
        let cpu_ticks = (limits.cpu.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let state = RunState::new(Arc::clone(&tenant), cpu_ticks, self.http.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            if state.cpu_ticks_left == 0 {
                return Err(CpuBudgetSpent.into());
            }
            state.cpu_ticks_left -= 1;
            Ok(UpdateDeadline::Yield(1))
        });
        let options = runner::RunOptions {
            memory_bytes: limits.lua_memory_bytes(),
            instructions: limits.lua_instructions,
            retry: runner::RetryPolicy {
                max_retries: limits.max_retries,
                base_delay_ms: u32::try_from(limits.retry_base.as_millis()).unwrap_or(u32::MAX),
                max_delay_ms: u32::try_from(limits.retry_cap.as_millis()).unwrap_or(u32::MAX),
            },
        };
        let call = async {
            let plugin: Plugin = self.pre.instantiate_async(&mut store).await?;
            plugin
                .twilio_lua_runner()
                .call_run(&mut store, script, options)
                .await
        };
        let outcome = tokio::time::timeout(limits.wall, call).await;
        let requests = store.data().egress.requests_made();
        let outcome = match outcome {
            Err(_elapsed) => Err(ScriptError::new(
                ErrorKind::Timeout,
                format!(
                    "the run took longer than its wall-clock limit of {} ms",
                    limits.wall.as_millis()
                ),
            )),
            Ok(Err(error)) => Err(classify_trap(&error, store.data(), &limits)),
            Ok(Ok(result)) => result.map(parse_json).map_err(script_error),
        };
        let printed = std::mem::take(&mut store.data_mut().printed);
        Ok(RunReport {
            printed,
            outcome,
            requests,
            elapsed: started.elapsed(),
        })
    }

    /// The agent reference as the plugin's `reference` export serves it: the whole text, or
    /// one function's section (`None` for an unknown function).
    pub async fn reference(&self, function: Option<&str>) -> anyhow::Result<Option<String>> {
        let state = RunState::new(no_tenant(), u64::MAX, self.http.clone());
        let mut store = Store::new(&self.engine, state);
        store.set_epoch_deadline(u64::MAX);
        let plugin = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        plugin
            .twilio_lua_runner()
            .call_reference(&mut store, function)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// A tenant with no accounts, for calls that are not script runs.
fn no_tenant() -> Arc<TenantConfig> {
    Arc::new(TenantConfig {
        name: String::new(),
        accounts: Vec::new(),
        limits: Default::default(),
        api_token_sha256: None,
    })
}

/// The plugin's pre-initialisation export (`runner.prepare` in `wit/twilio.wit`).
const PREPARE_EXPORT: &str = "twilio:lua/runner.prepare@0.1.0";

/// Pre-initialises the component with wizer: instantiates it once, lets it build its Lua
/// sandbox (standard library, hardening, `print`), and snapshots the instance, so every fresh
/// instance starts with that state mapped copy-on-write instead of building it. What differs
/// per run (limits, the random seed, the clock, the tenant's accounts) is set by each run.
fn pre_initialise(
    engine: &Engine,
    linker: &Linker<RunState>,
    http: &EgressClient,
    bytes: &[u8],
) -> wasmtime::Result<Vec<u8>> {
    // `Host::new` may be called from inside an async runtime: run the async snapshot on a
    // thread of its own.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let state = RunState::new(no_tenant(), u64::MAX, http.clone());
                    let mut store = Store::new(engine, state);
                    store.set_epoch_deadline(u64::MAX);
                    let mut wizer = wasmtime_wizer::Wizer::new();
                    wizer.init_func(PREPARE_EXPORT).keep_init_func(true);
                    let (snapshot, _) = wizer
                        .run_component(&mut store, bytes, async |store, component| {
                            linker.instantiate_async(store, component).await
                        })
                        .await?;
                    Ok(snapshot)
                })
            })
            .join()
            .unwrap_or_else(|_| Err(wasmtime::format_err!("pre-initialisation panicked")))
    })
}

fn classify_trap(
    error: &wasmtime::Error,
    state: &RunState,
    limits: &crate::limits::Limits,
) -> ScriptError {
    tracing::debug!(error = ?error, memory_cap_hit = state.memory.hit, "run ended by the host");
    if error.downcast_ref::<CpuBudgetSpent>().is_some() {
        return ScriptError::new(
            ErrorKind::CpuLimit,
            format!(
                "the script used up its CPU budget of {} ms",
                limits.cpu.as_millis()
            ),
        );
    }
    if state.memory.hit {
        return ScriptError::new(
            ErrorKind::MemoryLimit,
            format!(
                "the script used up its memory limit of {} MiB",
                limits.memory_bytes >> 20
            ),
        );
    }
    match error.downcast_ref::<Trap>() {
        Some(trap) => ScriptError::new(ErrorKind::Trap, format!("the plugin trapped: {trap}")),
        None => ScriptError::new(ErrorKind::Internal, format!("the run failed: {error}")),
    }
}

fn parse_json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

fn script_error(error: runner::RunError) -> ScriptError {
    ScriptError {
        kind: match error.kind {
            WitKind::Syntax => ErrorKind::Syntax,
            WitKind::Runtime => ErrorKind::Runtime,
            WitKind::InstructionLimit => ErrorKind::InstructionLimit,
            WitKind::MemoryLimit => ErrorKind::MemoryLimit,
            WitKind::Internal => ErrorKind::Internal,
        },
        message: error.message,
        traceback: error.traceback,
        value: error
            .value_json
            .and_then(|text| serde_json::from_str(&text).ok()),
    }
}
