//! The host library API: build a [`Host`] from a configuration once, then run scripts for
//! tenants, each in a brand-new store and component instance with the tenant's accounts and
//! limits. Runs are independent: one may trap, time out or exhaust its memory while others go
//! on.

mod plans;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::admission::{MemoryBudget, TenantTurns};
use crate::audit::{AuditQuery, AuditRecord, AuditSettings, AuditTrail};
use crate::bindings::{Plugin, PluginPre};
use crate::code_cache::{default_cache_dir, load_component};
use crate::config::server::DEFAULT_MAX_CONCURRENT_RUNS;
use crate::config::{HostConfig, Quotas, ServerSettings, TenantConfig, TokenHash};
use crate::egress::{Egress, EgressClient, TenantPolicy};
use crate::engine::{
    EPOCH_TICK, EpochTicker, PoolOccupancy, PoolSize, build_engine, pool_occupancy,
};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::plan::gate::{Mode, PlanGate};
use crate::plugin::PLUGIN_COMPONENT;
use crate::plugin_ctx::{PluginCtx, add_to_linker_async};
use crate::preinit::pre_initialise;
use crate::report::{ErrorKind, RunReport, ScriptError};
use crate::run_state::RunState;
use crate::state::{self, StateStore, StoreError};
pub use plans::PlanError;

/// Options for building a [`Host`] beyond the tenant configuration.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Runs that may be alive at once; more wait for a slot.
    pub max_concurrent_runs: u32,
    /// Where compiled machine code is cached; `None` compiles at every start.
    pub cache_dir: Option<PathBuf>,
    /// The component to run instead of the embedded plugin: another build of
    /// `twilio_plugin.wasm`, or any component of the `twilio:lua/plugin` world (the tests run
    /// a hostile one). `None`: [`PLUGIN_COMPONENT`].
    pub component: Option<Vec<u8>>,
}

impl Default for HostOptions {
    fn default() -> HostOptions {
        HostOptions {
            max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
            cache_dir: default_cache_dir(),
            component: None,
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
    /// The tenant has as many runs running and waiting as its limits allow; nothing ran.
    #[error(
        "tenant {tenant:?} already has {running} runs running and {waiting} waiting, as many as its limits allow (max_concurrent_runs, max_queued_runs); try again when one has finished"
    )]
    TenantBusy {
        /// The tenant.
        tenant: String,
        /// Its `max_concurrent_runs`.
        running: u32,
        /// Its `max_queued_runs`.
        waiting: u32,
    },
}

/// A ready host: the compiled plugin, the tenants, and the epoch ticker.
pub struct Host {
    engine: Engine,
    /// How the engine's instance pool is sized.
    pool: PoolSize,
    pre: PluginPre<RunState>,
    tenants: BTreeMap<String, Tenant>,
    /// One permit per instance slot of the pool: runs beyond it wait instead of failing.
    slots: Semaphore,
    /// The guest memory all runs at once may reserve.
    memory: MemoryBudget,
    /// The client of calls that are not tenant runs (pre-initialisation, the reference).
    idle_client: EgressClient,
    /// How a sidecar serving this host treats its connections.
    server: ServerSettings,
    /// Where quota counts and audit records are kept.
    store: Arc<dyn StateStore>,
    /// How the audit keeps records.
    audit: AuditSettings,
    /// What the host has done, for `/metrics`.
    metrics: Arc<Metrics>,
    _ticker: EpochTicker,
}

/// A tenant as the host runs it: its configuration, its egress policy (built once), and the
/// client its requests go through (shared by every tenant with the same `http_timeout`, so
/// connections are pooled across runs).
struct Tenant {
    config: TenantConfig,
    turns: TenantTurns,
    policy: Arc<TenantPolicy>,
    client: EgressClient,
}

/// The epoch deadline of a call that is not a script run (pre-initialisation, the reference):
/// ten minutes of ticks, counted from the epoch at the call (a deadline of `u64::MAX` would
/// overflow once the ticker has advanced the epoch).
const IDLE_CALL_TICKS: u64 = 60_000;

/// What a run holds while it runs: its tenant's turn, its memory, an instance slot.
struct Admitted<'h> {
    tenant: &'h Tenant,
    _turn: SemaphorePermit<'h>,
    _memory: SemaphorePermit<'h>,
    _slot: SemaphorePermit<'h>,
}

/// Marker error raised from the epoch callback when a run's CPU budget is spent.
#[derive(Debug, thiserror::Error)]
#[error("CPU budget used up")]
struct CpuBudgetSpent;

impl Host {
    /// Compiles (or loads from cache) the embedded plugin and prepares its instantiation.
    pub fn new(config: HostConfig, options: HostOptions) -> anyhow::Result<Host> {
        let pool = PoolSize::for_config(&config, options.max_concurrent_runs);
        let engine =
            build_engine(pool).map_err(|e| anyhow::anyhow!("configuring wasmtime: {e}"))?;
        let mut linker = Linker::<RunState>::new(&engine);
        add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
        let idle_client = EgressClient::new(Limits::default().http_timeout);
        let component = load_component(
            &engine,
            options.component.as_deref().unwrap_or(PLUGIN_COMPONENT),
            options.cache_dir.as_deref(),
            |bytes| {
                let mut store = Store::new(&engine, idle_state(&idle_client));
                store.set_epoch_deadline(IDLE_CALL_TICKS);
                pre_initialise(&engine, &linker, store, bytes)
            },
        )
        .map_err(|e| anyhow::anyhow!("compiling the plugin: {e}"))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow::anyhow!("linking the plugin: {e}"))?;
        let pre = PluginPre::new(instance_pre).map_err(|e| anyhow::anyhow!("{e}"))?;
        if config
            .tenants
            .values()
            .flat_map(|t| &t.accounts)
            .any(|a| !a.rules.allowed_countries.is_empty())
        {
            crate::egress::rules::load_numbering_plans_ahead();
        }
        let mut clients = BTreeMap::new();
        let server = config.server;
        if let Some(tenant) = config
            .tenants
            .values()
            .find(|t| t.limits.memory_bytes > server.memory_budget)
        {
            anyhow::bail!(
                "tenant {:?} has memory_mb = {}, more than the host's whole memory budget of {} MiB ([server] memory_budget_mb), so its runs could never start",
                tenant.name,
                tenant.limits.memory_bytes >> 20,
                server.memory_budget >> 20
            );
        }
        let store = state::open(&config.state)
            .map_err(|e| anyhow::anyhow!("opening the quota counts and audit trail: {e}"))?;
        let tenants = config
            .tenants
            .into_iter()
            .map(|(name, config)| {
                let timeout = config.limits.http_timeout;
                let client = clients
                    .entry(timeout)
                    .or_insert_with(|| EgressClient::new(timeout))
                    .clone();
                let policy = Arc::new(TenantPolicy::new(&config));
                let tenant = Tenant {
                    turns: TenantTurns::new(&config.limits),
                    config,
                    policy,
                    client,
                };
                (name, tenant)
            })
            .collect();
        let ticker = EpochTicker::start(&engine);
        Ok(Host {
            slots: Semaphore::new(options.max_concurrent_runs as usize),
            memory: MemoryBudget::new(server.memory_budget),
            idle_client,
            engine,
            pool,
            pre,
            tenants,
            server,
            store,
            audit: config.audit,
            metrics: Arc::new(Metrics::new()),
            _ticker: ticker,
        })
    }

    /// The `[server]` settings of the configuration this host was made from.
    pub fn server_settings(&self) -> &ServerSettings {
        &self.server
    }

    /// How the instance pool is sized (and so what it may keep resident after a burst).
    pub fn pool_size(&self) -> PoolSize {
        self.pool
    }

    /// What the instance pool holds now: live runs, warm slots, bytes they keep resident.
    pub fn pool_occupancy(&self) -> PoolOccupancy {
        pool_occupancy(&self.engine)
    }

    /// Every metric in the Prometheus text format (what the sidecar's `/metrics` serves).
    pub fn metrics_text(&self) -> String {
        self.metrics.render(self.pool_occupancy())
    }

    /// The audit records `query` asks for, the oldest first.
    pub async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.store.read_audit(query).await
    }

    /// The configured tenant names.
    pub fn tenant_names(&self) -> Vec<String> {
        self.tenants.keys().cloned().collect()
    }

    /// Each tenant's name with the hash of its sidecar token (`None`: it has none).
    pub fn tenant_tokens(&self) -> impl Iterator<Item = (&str, Option<&TokenHash>)> {
        self.tenants
            .iter()
            .map(|(name, tenant)| (name.as_str(), tenant.config.api_token_sha256.as_ref()))
    }

    /// A tenant's configuration.
    pub fn tenant(&self, name: &str) -> Result<&TenantConfig, HostError> {
        self.runtime(name).map(|tenant| &tenant.config)
    }

    fn runtime(&self, name: &str) -> Result<&Tenant, HostError> {
        self.tenants
            .get(name)
            .ok_or_else(|| HostError::UnknownTenant {
                tenant: name.to_string(),
                known: self.tenant_names(),
            })
    }

    /// Runs `script` for `tenant` in a fresh sandbox and reports what happened. The run waits
    /// for one of the tenant's run slots (`max_concurrent_runs`), then for its `memory_mb` to
    /// fit in the host's memory budget. Failures of the script (errors, limits, traps) are in
    /// the report; an unknown tenant, or one whose queue is full, is an `Err`. A tenant whose
    /// policy has `approval` gets a plan instead of those side effects
    /// ([`RunReport::plan`]: the run needs approval).
    pub async fn run(&self, tenant: &str, script: &str) -> Result<RunReport, HostError> {
        let admitted = self.admit(tenant).await?;
        let functions = &admitted.tenant.config.approval.functions;
        if functions.is_empty() {
            return Ok(self.execute(admitted, script, Mode::Live, None).await.0);
        }
        let functions = functions.clone();
        Ok(self.planning_run(admitted, script, functions).await)
    }

    /// Waits for the tenant's turn, its memory and an instance slot.
    async fn admit(&self, name: &str) -> Result<Admitted<'_>, HostError> {
        let tenant = self.runtime(name)?;
        let waiting = self.metrics.waiting(name);
        // The tenant's own line first, so that its flood waits there and takes nothing shared.
        let turn = match tenant.turns.take().await {
            Ok(turn) => turn,
            Err(full) => {
                self.metrics.turned_away(name);
                return Err(HostError::TenantBusy {
                    tenant: name.to_string(),
                    running: full.running,
                    waiting: full.waiting,
                });
            }
        };
        let memory = self.memory.reserve(tenant.config.limits.memory_bytes).await;
        let slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        drop(waiting);
        Ok(Admitted {
            tenant,
            _turn: turn,
            _memory: memory,
            _slot: slot,
        })
    }

    /// Runs `script` in a fresh sandbox with its side effects decided by `mode`, its audit
    /// records marked with `plan_id`.
    async fn execute(
        &self,
        admitted: Admitted<'_>,
        script: &str,
        mode: Mode,
        plan_id: Option<&str>,
    ) -> (RunReport, Arc<PlanGate>) {
        let tenant = admitted.tenant;
        let name = tenant.config.name.as_str();
        let started = Instant::now();
        let limits = tenant.config.limits;
        let cpu_ticks = (limits.cpu.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let run_id = uuid::Uuid::now_v7().to_string();
        let mut trail = AuditTrail::new(run_id.clone(), name.to_string(), self.audit)
            .storing_in(Arc::clone(&self.store))
            .measured_by(Arc::clone(&self.metrics));
        if let Some(plan_id) = plan_id {
            trail = trail.for_plan(plan_id);
        }
        let gate = Arc::new(PlanGate::new(mode));
        let egress = Egress::new(Arc::clone(&tenant.policy), limits, tenant.client.clone())
            .counting_in(Arc::clone(&self.store))
            .audited_by(trail)
            .gated_by(Arc::clone(&gate));
        let plugin = PluginCtx::new(&tenant.config, egress);
        let state = RunState::new(plugin, limits.memory_bytes, cpu_ticks);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            if state.cpu_ticks_left == 0 {
                return Err(CpuBudgetSpent.into());
            }
            state.cpu_ticks_left -= 1;
            // tokio's own yield: the run goes to the back of the worker's queue, so that the
            // other tasks (another tenant's run, a request handler) get the CPU between two of
            // its ticks. (A plain wake-and-pending would put it in the worker's next-task slot
            // and run it again at once: a flood of CPU-bound runs then starved other tasks for
            // 600 ms at the 99th percentile.)
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        let options = limits.run_options();
        let call = async {
            let plugin: Plugin = self.pre.instantiate_async(&mut store).await?;
            plugin
                .twilio_lua_runner()
                .call_run(&mut store, script, options)
                .await
        };
        let outcome = tokio::time::timeout(limits.wall, call).await;
        // The records the egress wrote in the background: the report never runs ahead of
        // the audit.
        let trail = store.data().plugin.egress.trail();
        trail.flush().await;
        let requests = store.data().plugin.egress.requests_made();
        let outcome = match outcome {
            Err(_elapsed) => Err(ScriptError::new(
                ErrorKind::Timeout,
                format!(
                    "the run took longer than its wall-clock limit of {} ms",
                    limits.wall.as_millis()
                ),
            )),
            Ok(Err(error)) => Err(classify_trap(&error, store.data(), &limits)),
            Ok(Ok(result)) => result.map(parse_json).map_err(ScriptError::from),
        };
        let printed = store.data_mut().plugin.take_printed();
        let elapsed = started.elapsed();
        let kind = outcome.as_ref().map_or_else(|e| e.kind.as_str(), |_| "ok");
        self.metrics.ran(name, kind, elapsed);
        let report = RunReport {
            run_id,
            printed,
            outcome,
            requests,
            elapsed,
            plan: None,
            execution: None,
        };
        drop(admitted);
        (report, gate)
    }

    /// The agent reference as the plugin's `reference` export serves it: the whole text, or
    /// one function's section (`None` for an unknown function).
    pub async fn reference(&self, function: Option<&str>) -> anyhow::Result<Option<String>> {
        let mut store = Store::new(&self.engine, idle_state(&self.idle_client));
        store.set_epoch_deadline(IDLE_CALL_TICKS);
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

/// The state of a call that is not a script run: a tenant with no accounts, so nothing can be
/// sent, and no memory or CPU cap.
fn idle_state(client: &EgressClient) -> RunState {
    let nobody = TenantConfig {
        name: String::new(),
        accounts: Vec::new(),
        limits: Limits::default(),
        api_token_sha256: None,
        quotas: Quotas::default(),
        approval: Default::default(),
    };
    let egress = Egress::new(
        Arc::new(TenantPolicy::new(&nobody)),
        nobody.limits,
        client.clone(),
    );
    RunState::new(PluginCtx::new(&nobody, egress), u64::MAX, u64::MAX)
}

fn classify_trap(error: &wasmtime::Error, state: &RunState, limits: &Limits) -> ScriptError {
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
