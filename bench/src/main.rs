//! `twilio-bench`: the benchmark suite behind `scripts/bench.sh`.
//!
//! Measures, in one run on one machine: process cold start (real `twilio-host` binary, with and
//! without the compiled-code cache), the cost of one fresh sandbox per run through `Host::run`
//! against a native `mlua::Lua`, `twilio_send_sms` end to end against the loopback simulator
//! next to a native keep-alive hyper client sending the identical request, the host's resident
//! memory with 1, 100 and 1000 runs parked in a stalled request and after those runs have
//! ended (what the instance pool keeps), planning and approving three messages next to
//! sending them ([`plans`]), and the component's size.
//!
//! Prints a table and one `BENCH <name> <value> <unit>` line per figure, and writes the same to
//! `--out`. `twilio-bench park ...` is the child process of the memory measurement.

mod interfaces;
mod peers;
mod plans;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use twilio_host::config::{AccountSid, BaseUrl};
use twilio_host::config::{Quotas, Rules, StateUrl};
use twilio_host::simulated::tenant_for;
use twilio_host::{Host, HostConfig, HostOptions, Limits};
use twilio_sim::{Fault, FaultKind, SimAccount, SimConfig, Simulator};

const SMS_SCRIPT: &str = r#"return app.integrations.twilio.twilio_send_sms({
  to = "+14155550123", from = "+15559876543", body = "Benchmark message",
}).sid"#;
const PARK_SCRIPT: &str = "return app.integrations.twilio.twilio_get_account({}).status";
const STALL: Duration = Duration::from_secs(600);
const RSS_SIZES: [usize; 3] = [1, 100, 1000];
/// The parked runs whose end is measured too: what the pool keeps after they are gone.
const BURST_SIZE: usize = 1000;

/// Iteration counts; `--quick` divides them for a smoke run.
#[derive(Clone, Copy)]
struct Plan {
    cold_runs: usize,
    cold_nocache_runs: usize,
    run_iterations: usize,
    sms_c1: usize,
    sms_c16_per_task: usize,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            cold_runs: 20,
            cold_nocache_runs: 3,
            run_iterations: 5000,
            sms_c1: 1000,
            sms_c16_per_task: 150,
        }
    }

    fn quick() -> Plan {
        Plan {
            cold_runs: 3,
            cold_nocache_runs: 1,
            run_iterations: 300,
            sms_c1: 100,
            sms_c16_per_task: 10,
        }
    }
}

/// The figures, in the order they were measured.
#[derive(Default)]
struct Figures(Vec<(String, f64, &'static str)>);

impl Figures {
    fn add(&mut self, name: &str, value: f64, unit: &'static str) {
        eprintln!("  {name} = {value:.2} {unit}");
        self.0.push((name.to_string(), value, unit));
    }
}

/// The benchmark suite of twilio-lua-wasm (run by `scripts/bench.sh`).
#[derive(Debug, clap::Parser)]
#[command(name = "twilio-bench")]
struct Cli {
    /// The `twilio-host` binary to measure cold start with; default: next to this one.
    #[arg(long, value_name = "PATH")]
    host_bin: Option<PathBuf>,
    /// Where the report is written.
    #[arg(long, value_name = "PATH", default_value = "target/bench/latest.txt")]
    out: PathBuf,
    /// Where `scripts/bench.sh` installed the peers (twilio-node, twilio-python).
    #[arg(long, value_name = "DIR", default_value = "target/bench/peers")]
    peers: PathBuf,
    /// A short smoke run instead of the full measurement.
    #[arg(long)]
    quick: bool,
    #[command(subcommand)]
    helper: Option<Helper>,
}

/// Helpers the suite runs as child processes, or a person runs to profile.
#[derive(Debug, clap::Subcommand)]
enum Helper {
    /// The child of the memory measurement: a host with N runs, each parked in a request the
    /// simulator stalls; the auth token comes from `TWILIO_BENCH_PARK_TOKEN`. Runs until killed.
    Park {
        /// The simulator's core API URL.
        api: String,
        /// The simulator's Lookup URL.
        lookups: String,
        /// The account SID.
        account_sid: String,
        /// How many runs to park.
        runs: usize,
    },
    /// N runs through `Host::run` and nothing else, to profile (`perf record`,
    /// `valgrind --tool=callgrind`).
    Loop {
        /// How many runs.
        #[arg(default_value_t = 10_000)]
        runs: usize,
        /// The script each run runs.
        #[arg(default_value = "return 1")]
        script: String,
    },
}

/// The variable the `park` child reads the account's auth token from (never argv).
const PARK_TOKEN_VAR: &str = "TWILIO_BENCH_PARK_TOKEN";

fn main() -> anyhow::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    match cli.helper {
        Some(Helper::Park {
            api,
            lookups,
            account_sid,
            runs,
        }) => return park(&api, &lookups, &account_sid, runs),
        Some(Helper::Loop { runs, script }) => return run_loop(runs, &script),
        None => {}
    }
    let host_bin = cli.host_bin;
    let out = cli.out;
    let plan = if cli.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let host_bin = match host_bin {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("twilio-host"),
    };
    ensure!(
        host_bin.exists(),
        "{} not found: build it with the same profile (scripts/bench.sh does)",
        host_bin.display()
    );
    let work = out
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut figures = Figures::default();
    let started = Instant::now();
    runtime.block_on(suite(&host_bin, &work, &cli.peers, plan, &mut figures))?;
    let report = render(&figures, started.elapsed());
    print!("{report}");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &report).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("written to {}", out.display());
    Ok(())
}

async fn suite(
    host_bin: &Path,
    work: &Path,
    peers_dir: &Path,
    plan: Plan,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let cache = work.join("cache");
    eprintln!("cold start (process spawn to result)...");
    cold_start(host_bin, work, &cache, plan, figures)?;

    let sim = Simulator::start(SimConfig::default()).await?;
    let account = sim.accounts()[0].clone();
    let config = with_flood_tenant(with_policed_tenant(
        host_config(&sim, &account, Limits::default()),
        work,
    ));
    let host = Arc::new(Host::new(
        config.clone(),
        HostOptions {
            max_concurrent_runs: 1000,
            cache_dir: Some(cache.clone()),
            component: None,
        },
    )?);

    eprintln!("cold start of a run that sends one SMS...");
    cold_send(host_bin, work, &cache, &sim, &account, plan, figures)?;

    eprintln!("fresh sandbox per run vs native Lua...");
    per_run(&host, plan, figures).await?;

    eprintln!("twilio_send_sms end to end...");
    sms(&host, &sim, &account, plan, figures).await?;

    eprintln!("the sidecar, its MCP endpoint, and Twilio's SDKs, sending the same message...");
    let sidecar = interfaces::Sidecar::start(host_bin, work, &cache, &sim, &account)?;
    let measured = interfaces::sidecar(&sidecar, plan, figures).await?;
    interfaces::mcp(&sidecar, plan, figures).await?;
    drop(sidecar);
    peers::peers(peers_dir, &sim, &account, plan, measured, figures)?;

    eprintln!("twilio_send_sms with a tenant policy and quotas...");
    policy_decision(&config, figures).await?;
    policy_cost(&host, plan, figures).await?;

    eprintln!("plan and approve three messages, next to sending them...");
    plans::plan_and_approve(&host, plan.sms_c1 / 10, figures).await?;

    eprintln!("another tenant's runs while one floods the host with CPU-bound runs...");
    fairness(&host, plan, figures).await?;

    eprintln!("resident memory with parked runs...");
    drop(host);
    rss(&sim, &account, &cache, figures).await?;

    figures.add(
        "component_kb",
        twilio_host::PLUGIN_COMPONENT.len() as f64 / 1024.0,
        "KiB",
    );
    Ok(())
}

fn host_config(sim: &Simulator, account: &SimAccount, limits: Limits) -> HostConfig {
    let tenant = tenant_for(
        sim,
        "default",
        std::slice::from_ref(account),
        &["default"],
        limits,
    );
    HostConfig::of([tenant])
}

/// `config` and tenant `policed`: its `default` tenant with a policy a cautious platform would
/// set (countries, senders, callback hosts, and quotas per run, hour and day, never reached,
/// counted in an SQLite file in `work`). One host runs both, so the comparison shares the
/// engine, its pool and the connections.
fn with_policed_tenant(mut config: HostConfig, work: &Path) -> HostConfig {
    let mut tenant = config.tenants["default"].clone();
    tenant.name = "policed".into();
    tenant.accounts[0].rules = Rules {
        allowed_countries: vec!["US".into(), "CA".into()],
        allowed_from: vec!["+15559876543".into()],
        callback_hosts: vec!["hooks.example.com".into()],
        lookup_fields: Some(vec!["line_type_intelligence".into()]),
        ..Rules::default()
    };
    tenant.quotas = Quotas {
        messages_per_run: Some(10),
        messages_per_hour: Some(u32::MAX),
        messages_per_day: Some(u32::MAX),
        segments_per_day: Some(u32::MAX),
        ..Quotas::default()
    };
    config.tenants.insert(tenant.name.clone(), tenant);
    config.state = StateUrl::Sqlite(work.join("state.db"));
    config
}

// ---- cold start -------------------------------------------------------------------------------

fn cold_start(
    host_bin: &Path,
    work: &Path,
    cache: &Path,
    plan: Plan,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    // A config file, so no simulator is started: endpoints that are never contacted.
    let account = SimAccount::test_default();
    let nowhere = "http://127.0.0.1:9";
    let config = run_config(work, "cold.toml", nowhere, nowhere, &account)?;
    let once =
        |cache_dir: &Path| time_run(host_bin, work, &config, &account, "return 1", cache_dir);
    // The first run fills the cache.
    once(cache)?;
    let mut warm = Vec::new();
    for _ in 0..plan.cold_runs {
        warm.push(once(cache)?);
    }
    let mut cold = Vec::new();
    for index in 0..plan.cold_nocache_runs {
        let empty = work.join(format!("empty-cache-{index}"));
        std::fs::create_dir_all(&empty)?;
        cold.push(once(&empty)?);
    }
    figures.add("cold_start_ms", percentile(&mut warm, 50.0), "ms");
    figures.add("cold_start_nocache_ms", percentile(&mut cold, 50.0), "ms");
    Ok(())
}

/// `work/NAME`: a config with tenant `default` whose account `account` is at `api` and
/// `lookups`, its auth token in `BENCH_TWILIO_TOKEN`.
fn run_config(
    work: &Path,
    name: &str,
    api: &str,
    lookups: &str,
    account: &SimAccount,
) -> anyhow::Result<PathBuf> {
    let config = work.join(name);
    std::fs::write(
        &config,
        format!(
            "[endpoints]\napi = \"{api}\"\nlookups = \"{lookups}\"\n\n\
             [tenants.default.accounts.default]\naccount_sid = \"{}\"\nauth_token_env = \"BENCH_TWILIO_TOKEN\"\n",
            account.account_sid
        ),
    )?;
    Ok(config)
}

/// Milliseconds from spawning `twilio-host run --config CONFIG -e SCRIPT` (the compiled code
/// from `cache_dir`, `account`'s token) to its exit; its output must be a value.
fn time_run(
    host_bin: &Path,
    work: &Path,
    config: &Path,
    account: &SimAccount,
    script: &str,
    cache_dir: &Path,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let output = Command::new(host_bin)
        .args(["run", "--config"])
        .arg(config)
        .args(["-e", script])
        .env("TWILIO_HOST_CACHE_DIR", cache_dir)
        .env("TWILIO_HOST_STATE_DIR", work.join("state"))
        .env("BENCH_TWILIO_TOKEN", &account.auth_token)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    ensure!(
        output.status.success() && !output.stdout.is_empty(),
        "twilio-host run failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(elapsed)
}

/// `cold_send_ms`: [`time_run`] of the SMS script against `sim` as `account`: what a CLI
/// user, or an MCP client over stdio, waits for one send.
fn cold_send(
    host_bin: &Path,
    work: &Path,
    cache: &Path,
    sim: &Simulator,
    account: &SimAccount,
    plan: Plan,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let (api, lookups) = (sim.api_url(), sim.lookups_url());
    let config = run_config(work, "cold-send.toml", &api, &lookups, account)?;
    let mut times = Vec::new();
    for _ in 0..plan.cold_runs {
        times.push(time_run(
            host_bin, work, &config, account, SMS_SCRIPT, cache,
        )?);
    }
    figures.add("cold_send_ms", percentile(&mut times, 50.0), "ms");
    Ok(())
}

// ---- per run ----------------------------------------------------------------------------------

async fn per_run(host: &Host, plan: Plan, figures: &mut Figures) -> anyhow::Result<()> {
    for _ in 0..plan.run_iterations / 10 {
        expect_ok(host.run("default", "return 1").await?)?;
    }
    let mut times = Vec::with_capacity(plan.run_iterations);
    for _ in 0..plan.run_iterations {
        let started = Instant::now();
        let report = host.run("default", "return 1").await?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
        expect_ok(report)?;
    }
    let run_p50 = percentile(&mut times, 50.0);
    figures.add("run_p50_us", run_p50, "us");
    figures.add("run_p99_us", percentile(&mut times, 99.0), "us");

    let native = time_each(plan.run_iterations, || {
        let lua = mlua::Lua::new();
        let value: i64 = lua.load("return 1").eval().expect("native Lua runs");
        assert_eq!(value, 1);
    });
    let native_p50 = percentile(&mut native.clone(), 50.0);
    figures.add("native_lua_p50_us", native_p50, "us");
    figures.add("run_vs_native", run_p50 / native_p50, "x");

    // For the profile: the plugin's own work (restricted sandbox + Twilio namespace + run +
    // JSON result) compiled natively, without wasm.
    let sandbox = time_each(plan.run_iterations, || {
        let outcome = twilio_plugin::run_collecting_output(
            "return 1",
            twilio_plugin::Limits {
                memory_bytes: 64 << 20,
                instructions: 500_000_000,
            },
            |lua| {
                twilio_plugin::bind(
                    lua,
                    vec![twilio_plugin::Account {
                        name: "default".into(),
                        account_sid: "AC00000000000000000000000000000000".into(),
                        api_base_url: "http://127.0.0.1:9".into(),
                        lookups_base_url: "http://127.0.0.1:9".into(),
                    }],
                    Rc::new(NoTransport),
                    twilio_plugin::RetryPolicy::standard(),
                )
            },
        );
        assert_eq!(outcome.outcome.as_deref(), Ok("1"));
    });
    figures.add(
        "native_sandbox_p50_us",
        percentile(&mut sandbox.clone(), 50.0),
        "us",
    );
    Ok(())
}

struct NoTransport;

impl twilio_plugin::Transport for NoTransport {
    fn send(
        &self,
        _request: &twilio_plugin::HttpRequest,
    ) -> Result<twilio_plugin::HttpResponse, twilio_plugin::TransportError> {
        Err(twilio_plugin::TransportError::Other(
            "no network in this benchmark".into(),
        ))
    }
}

fn time_each(iterations: usize, mut body: impl FnMut()) -> Vec<f64> {
    for _ in 0..iterations / 10 {
        body();
    }
    (0..iterations)
        .map(|_| {
            let started = Instant::now();
            body();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

fn expect_ok(report: twilio_host::RunReport) -> anyhow::Result<serde_json::Value> {
    match report.outcome {
        Ok(value) => Ok(value),
        Err(error) => bail!("the benchmark script failed: {error:?}"),
    }
}

// ---- SMS end to end ---------------------------------------------------------------------------

/// What [`drive`] measured: latency percentiles (us) and throughput.
#[derive(Debug, Clone, Copy)]
struct Measured {
    p50: f64,
    p99: f64,
    rps: f64,
}

/// Latencies (us) and requests per second of `per_task` operations by each of `concurrency`
/// tasks.
async fn drive<F, Fut>(concurrency: usize, per_task: usize, op: F) -> anyhow::Result<Measured>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    // Warm up (connections, caches) outside the measurement.
    for _ in 0..concurrency.max(10) {
        op().await?;
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let begun = Instant::now();
                    op().await?;
                    times.push(begun.elapsed().as_secs_f64() * 1e6);
                }
                anyhow::Ok(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Measured {
        rps: times.len() as f64 / elapsed,
        p50: percentile(&mut times, 50.0),
        p99: percentile(&mut times, 99.0),
    })
}

async fn sms(
    host: &Arc<Host>,
    sim: &Simulator,
    account: &SimAccount,
    plan: Plan,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    // The request the plugin sends, as the simulator saw it: the native client sends the same.
    sim.clear_requests();
    let sid = expect_ok(host.run("default", SMS_SCRIPT).await?)?;
    ensure!(
        sid.as_str().is_some_and(|s| s.starts_with("SM")),
        "unexpected: {sid}"
    );
    let recorded = sim
        .requests()
        .pop()
        .context("the simulator saw the request")?;
    ensure!(recorded.status == 201, "status {}", recorded.status);
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (key, value) in &recorded.form {
        body.append_pair(key, value);
    }
    let body = Bytes::from(body.finish());
    let url: http::Uri = format!("{}{}", sim.api_url(), recorded.path).parse()?;
    let mut headers = http::HeaderMap::new();
    for (name, value) in &recorded.headers {
        if matches!(name.as_str(), "host" | "content-length") {
            continue;
        }
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes())?,
            http::HeaderValue::from_str(value)?,
        );
    }
    ensure!(
        headers.contains_key(http::header::AUTHORIZATION),
        "the recorded request carries Basic auth"
    );
    let _ = account;
    let client = keep_alive_client();
    let native = {
        let client = client.clone();
        move || {
            let client = client.clone();
            let mut request = http::Request::post(url.clone())
                .body(Full::new(body.clone()))
                .expect("valid request");
            *request.headers_mut() = headers.clone();
            async move {
                let response = client.request(request).await?;
                let status = response.status();
                let bytes = response.into_body().collect().await?.to_bytes();
                ensure!(status.as_u16() == 201, "native status {status}");
                let json: serde_json::Value = serde_json::from_slice(&bytes)?;
                ensure!(json["sid"].as_str().is_some_and(|s| s.starts_with("SM")));
                Ok(())
            }
        }
    };
    let plugin = sending(host, "default");
    for (concurrency, per_task) in [(1, plan.sms_c1), (16, plan.sms_c16_per_task)] {
        let Measured { p50, rps, .. } = drive(concurrency, per_task, plugin.clone()).await?;
        let bare = drive(concurrency, per_task, native.clone()).await?;
        let (native_p50, native_rps) = (bare.p50, bare.rps);
        figures.add(&format!("sms_e2e_p50_us_c{concurrency}"), p50, "us");
        figures.add(&format!("sms_e2e_rps_c{concurrency}"), rps, "req/s");
        figures.add(
            &format!("native_sms_e2e_p50_us_c{concurrency}"),
            native_p50,
            "us",
        );
        figures.add(
            &format!("native_sms_e2e_rps_c{concurrency}"),
            native_rps,
            "req/s",
        );
        // Time per request: latency at c1, 1/throughput at c16 (all cores busy, so latency is
        // queueing and throughput is what counts).
        let ratio = if concurrency == 1 {
            p50 / native_p50
        } else {
            native_rps / rps
        };
        figures.add(&format!("sms_e2e_ratio_c{concurrency}"), ratio, "x");
    }
    sim.clear_requests();
    Ok(())
}

/// A keep-alive HTTP client without Nagle's delay (the native sender and the sidecar's
/// clients).
fn keep_alive_client() -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// An operation that runs the SMS script on `host` as `tenant`.
fn sending(
    host: &Arc<Host>,
    tenant: &'static str,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let host = Arc::clone(host);
    move || {
        let host = Arc::clone(&host);
        Box::pin(async move {
            expect_ok(host.run(tenant, SMS_SCRIPT).await?)?;
            Ok(())
        })
    }
}

/// `config` and tenant `flood`: its `default` tenant with at most [`FLOOD_CAP`] runs at once.
fn with_flood_tenant(mut config: HostConfig) -> HostConfig {
    let mut tenant = config.tenants["default"].clone();
    tenant.name = "flood".into();
    tenant.limits.max_concurrent_runs = FLOOD_CAP;
    tenant.limits.max_queued_runs = 1000;
    config.tenants.insert(tenant.name.clone(), tenant);
    config
}

/// Runs of tenant `flood` at once.
const FLOOD_CAP: u32 = 2;

/// Tasks that keep starting `flood` runs (more than its cap: the rest wait in its queue).
const FLOOD_TASKS: usize = 8;

/// A `flood` run: 50 ms of CPU.
const SPIN_SCRIPT: &str = "local t = os.clock() while os.clock() - t < 0.05 do end return 1";

/// Tenant `default`'s `return 1`, one at a time, alone and while [`FLOOD_TASKS`] tasks keep
/// tenant `flood` at its cap of [`FLOOD_CAP`] CPU-bound runs: p50 and p99 of each, and how
/// much the flood multiplies them.
async fn fairness(host: &Arc<Host>, plan: Plan, figures: &mut Figures) -> anyhow::Result<()> {
    let runs = plan.sms_c1 / 2;
    // On the runtime's workers, like a sidecar's handlers (not on the thread that blocks on
    // the suite, which the OS would time-slice against them).
    let measure = || {
        let host = Arc::clone(host);
        async move {
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(runs);
                for _ in 0..runs {
                    let begun = Instant::now();
                    let report = host.run("default", "return 1").await?;
                    anyhow::ensure!(report.outcome.is_ok(), "{:?}", report.outcome);
                    times.push(begun.elapsed().as_secs_f64() * 1e6);
                }
                anyhow::Ok([percentile(&mut times, 50.0), percentile(&mut times, 99.0)])
            })
            .await?
        }
    };
    let [idle_p50, idle_p99] = measure().await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood: Vec<_> = (0..FLOOD_TASKS)
        .map(|_| {
            let (host, stop) = (Arc::clone(host), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    host.run("flood", SPIN_SCRIPT).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let flooded = measure().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in flood {
        task.await??;
    }
    let [flood_p50, flood_p99] = flooded?;
    figures.add("fair_b_p50_us_idle", idle_p50, "us");
    figures.add("fair_b_p99_us_idle", idle_p99, "us");
    figures.add("fair_b_p50_us_flood", flood_p50, "us");
    figures.add("fair_b_p99_us_flood", flood_p99, "us");
    figures.add("fair_b_p50_ratio", flood_p50 / idle_p50, "x");
    figures.add("fair_b_p99_ratio", flood_p99 / idle_p99, "x");
    Ok(())
}

/// The egress's policy work for one SMS of tenant `policed`, alone: its rules on the form
/// (the country from the numbering plans included) and its quotas reserved in the SQLite file.
/// Every SMS goes to a number not seen before, so the country is never one the egress
/// remembers (the end-to-end benchmark texts one number, which it does remember).
async fn policy_decision(config: &HostConfig, figures: &mut Figures) -> anyhow::Result<()> {
    use twilio_host::egress::{operations, quota, rules};
    let tenant = &config.tenants["policed"];
    let store = twilio_host::state::open(&config.state)?;
    let send = operations::OPERATIONS
        .iter()
        .find(|op| op.function == "twilio_send_sms")
        .context("the send operation")?;
    let (mut times, mut rule_times, mut quota_times) = (Vec::new(), Vec::new(), Vec::new());
    for iteration in 0..2100 {
        let form: Vec<(String, String)> = [
            ("To", format!("+1415666{iteration:04}")),
            ("From", "+15559876543".into()),
            ("Body", "Benchmark message".into()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec();
        let begun = Instant::now();
        let action = rules::check(&tenant.accounts[0].rules, send, &form)
            .map_err(|refusal| anyhow::anyhow!(refusal.message))?;
        let checked = Instant::now();
        let run = Arc::new(quota::RunCounts::default());
        quota::take(&tenant.quotas, &tenant.name, &action, &run, Some(&store))
            .await
            .map_err(|denial| anyhow::anyhow!("{denial}"))?;
        if iteration >= 100 {
            times.push(begun.elapsed().as_secs_f64() * 1e6);
            rule_times.push((checked - begun).as_secs_f64() * 1e6);
            quota_times.push(checked.elapsed().as_secs_f64() * 1e6);
        }
    }
    figures.add("policy_decision_p50_us", percentile(&mut times, 50.0), "us");
    figures.add("policy_decision_p99_us", percentile(&mut times, 99.0), "us");
    figures.add(
        "policy_rules_p50_us",
        percentile(&mut rule_times, 50.0),
        "us",
    );
    figures.add(
        "policy_quotas_p50_us",
        percentile(&mut quota_times, 50.0),
        "us",
    );
    Ok(())
}

/// How many pairs of short measurements [`policy_cost`] takes.
const POLICY_PAIRS: usize = 30;

/// What a tenant policy with quotas costs the SMS benchmark: throughput of tenant `default`
/// (no policy) and `policed` on one host, in [`POLICY_PAIRS`] short pairs in the order AB BA
/// AB ... so that neither profits from going second (warmer caches) and both arms of a pair
/// see the same machine (a noisy machine drifts over seconds); the median of the pairs'
/// ratios, and the best throughput of `policed`.
async fn policy_cost(host: &Arc<Host>, plan: Plan, figures: &mut Figures) -> anyhow::Result<()> {
    let arms = [(1, plan.sms_c1 / 5), (16, plan.sms_c16_per_task / 4)];
    for (concurrency, per_task) in arms {
        let mut ratios = Vec::new();
        let mut best_policed = 0f64;
        let mut p50s = [Vec::new(), Vec::new()];
        for round in 0..POLICY_PAIRS {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut rps = [0f64; 2];
            for arm in order {
                let tenant = ["default", "policed"][arm];
                let measured = drive(concurrency, per_task, sending(host, tenant)).await?;
                rps[arm] = measured.rps;
                p50s[arm].push(measured.p50);
            }
            best_policed = best_policed.max(rps[1]);
            ratios.push(rps[0] / rps[1]);
        }
        let [open, policed] = p50s.map(|mut p| percentile(&mut p, 50.0));
        figures.add(&format!("sms_open_p50_us_c{concurrency}"), open, "us");
        figures.add(&format!("sms_policy_p50_us_c{concurrency}"), policed, "us");
        figures.add(
            &format!("sms_policy_rps_c{concurrency}"),
            best_policed,
            "req/s",
        );
        figures.add(
            &format!("sms_policy_cost_c{concurrency}"),
            percentile(&mut ratios, 50.0),
            "x",
        );
    }
    Ok(())
}

// ---- resident memory --------------------------------------------------------------------------

/// The parked runs are a child process's, with the compiled code from `cache` (the suite's,
/// filled by the cold start: a child that compiled the plugin itself would count the
/// compiler's memory as the runs').
async fn rss(
    sim: &Simulator,
    account: &SimAccount,
    cache: &Path,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let mut rss = BTreeMap::new();
    for n in RSS_SIZES {
        sim.clear_faults();
        sim.inject(Fault {
            method: Some("GET".into()),
            path_contains: format!("/Accounts/{}.json", account.account_sid),
            times: u32::try_from(n)?,
            kind: FaultKind::StallBeforeResponse(STALL),
        });
        let before = sim.connection_count();
        let mut child = Command::new(&me)
            .arg("park")
            .args([
                sim.api_url(),
                sim.lookups_url(),
                account.account_sid.clone(),
                n.to_string(),
            ])
            .env(PARK_TOKEN_VAR, &account.auth_token)
            .env("TWILIO_HOST_CACHE_DIR", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let parked = loop {
            if sim.connection_count() >= before + n as u64 {
                break true;
            }
            if Instant::now() > deadline || child.try_wait()?.is_some() {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // Let every run reach its wait, then read the host's resident set; then end the runs
        // and read what is left.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let parked_kb = vm_rss_kb(child.id());
        let after_kb = tokio::task::block_in_place(|| end_parked_runs(&mut child));
        let _ = child.kill();
        let _ = child.wait();
        ensure!(parked, "{n} runs did not all reach the simulator");
        let (parked_kb, after_kb) = (parked_kb?, after_kb?);
        rss.insert(n, parked_kb);
        figures.add(&format!("rss_mb_idle_{n}"), parked_kb / 1024.0, "MiB");
        if n == BURST_SIZE {
            figures.add(&format!("rss_mb_after_{n}"), after_kb / 1024.0, "MiB");
            figures.add(
                &format!("retained_kb_per_run_{n}"),
                (after_kb - rss[&1]) / (n - 1) as f64,
                "KiB",
            );
        }
    }
    sim.clear_faults();
    figures.add("per_run_kb", (rss[&1000] - rss[&1]) / 999.0, "KiB");
    Ok(())
}

/// Tells a `park` child to end its runs, waits until it has, and reads its resident set.
fn end_parked_runs(child: &mut std::process::Child) -> anyhow::Result<f64> {
    use std::io::{BufRead, Write};
    let mut stdin = child.stdin.take().context("the child's stdin")?;
    writeln!(stdin, "end")?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    ensure!(line.trim() == "ended", "the park child answered {line:?}");
    // A moment for the child's released pages to leave its resident set.
    std::thread::sleep(Duration::from_millis(300));
    vm_rss_kb(child.id())
}

fn vm_rss_kb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

/// The child of the memory measurement: a host with `n` runs, each parked in a request the
/// simulator stalls. When a line arrives on stdin it ends the runs (dropping them, as a
/// sidecar does when a client goes away), prints `ended`, and waits to be killed.
fn park(api: &str, lookups: &str, sid: &str, n: usize) -> anyhow::Result<()> {
    let token =
        std::env::var(PARK_TOKEN_VAR).with_context(|| format!("{PARK_TOKEN_VAR} is not set"))?;
    let limits = Limits {
        http_timeout: Duration::from_secs(300),
        wall: Duration::from_secs(600),
        max_retries: 0,
        max_concurrent_runs: n as u32,
        ..Limits::default()
    };
    let parse_url = |url: &str| BaseUrl::parse(url).map_err(anyhow::Error::msg);
    let tenant = twilio_host::TenantConfig {
        name: "default".into(),
        accounts: vec![twilio_host::AccountConfig {
            name: "default".into(),
            account_sid: AccountSid::parse(sid).map_err(anyhow::Error::msg)?,
            subaccounts: Vec::new(),
            credential: twilio_host::credential::Credential::AuthToken(
                twilio_host::secret::Secret::new(token),
            ),
            api_base_url: parse_url(api)?,
            lookups_base_url: parse_url(lookups)?,
            rules: Rules::default(),
        }],
        limits,
        api_token_sha256: None,
        quotas: Quotas::default(),
        approval: Default::default(),
    };
    let mut config = HostConfig::of([tenant]);
    // What is measured is the memory parked runs really use, not the budget their caps
    // reserve (1,000 caps of 128 MiB are more than this machine has).
    config.server.memory_budget = n as u64 * limits.memory_bytes;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let host = Arc::new(Host::new(
            config,
            HostOptions {
                max_concurrent_runs: 1000,
                ..HostOptions::default()
            },
        )?);
        let runs: Vec<_> = (0..n)
            .map(|_| {
                let host = Arc::clone(&host);
                tokio::spawn(async move { host.run("default", PARK_SCRIPT).await })
            })
            .collect();
        tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
        for run in &runs {
            run.abort();
        }
        for run in runs {
            let _ = run.await;
        }
        println!("ended");
        std::io::Write::flush(&mut std::io::stdout())?;
        std::future::pending::<()>().await;
        anyhow::Ok(())
    })
}

/// `twilio-bench loop N [SCRIPT]`: N runs through `Host::run` and nothing else, to profile
/// (`perf record`, `valgrind --tool=callgrind`).
fn run_loop(n: usize, script: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let sim = Simulator::start(SimConfig::default()).await?;
        let account = sim.accounts()[0].clone();
        let mut config = host_config(&sim, &account, Limits::default());
        let state = std::env::temp_dir().join(format!("twilio-bench-{}", std::process::id()));
        config.state = StateUrl::Sqlite(state.join("state.db"));
        let host = Host::new(config, HostOptions::default())?;
        let started = Instant::now();
        for _ in 0..n {
            expect_ok(host.run("default", script).await?)?;
        }
        eprintln!(
            "{n} runs, {:.1} us each",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        anyhow::Ok(())
    })
}

// ---- output -----------------------------------------------------------------------------------

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// The issue's targets: figure and upper bound.
const TARGETS: [(&str, f64); 9] = [
    ("run_vs_native", 1.0),
    ("run_p99_us", 150.0),
    ("cold_start_ms", 20.0),
    ("sms_e2e_ratio_c16", 1.15),
    ("sms_policy_cost_c1", 1.10),
    ("sms_policy_cost_c16", 1.10),
    ("per_run_kb", 1024.0),
    // What one slot may keep after its run by the pool's formula (`twilio_host::engine`).
    (
        "retained_kb_per_run_1000",
        twilio_host::engine::SLOT_RETAINED_BYTES as f64 / 1024.0,
    ),
    ("component_kb", 1024.0),
];

fn render(figures: &Figures, took: Duration) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "twilio-bench: {cores} cores, {cpu}; suite took {:.0} s",
        took.as_secs_f64()
    );
    let _ = writeln!(
        text,
        "{:<28} {:>12}  {:<6} target",
        "figure", "value", "unit"
    );
    for (name, value, unit) in &figures.0 {
        let target = TARGETS
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, bound)| {
                let met = *value <= *bound;
                format!("<= {bound} {}", if met { "met" } else { "MISSED" })
            })
            .unwrap_or_default();
        let _ = writeln!(text, "{name:<28} {value:>12.2}  {unit:<6} {target}");
    }
    for (name, value, unit) in &figures.0 {
        let _ = writeln!(text, "BENCH {name} {value:.2} {unit}");
    }
    let _ = writeln!(
        text,
        "BENCH machine_cores {cores} count\nBENCH_MACHINE {cpu}; nproc {cores}"
    );
    text
}
