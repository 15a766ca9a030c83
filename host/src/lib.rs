//! `twilio-host`: runs the Twilio Lua plugin (a WASI component) in wasmtime, one fresh sandbox
//! per run, with Twilio credentials supplied as capabilities: the guest names an account, the
//! host's egress adds the secret on the way out.
//!
//! Three ways in, from the most to the least done for you:
//!
//! 1. [`Host`]: build it once from a [`HostConfig`], then [`Host::run`] scripts for tenants.
//! 2. [`sidecar`] (feature `sidecar`): the HTTP API of `twilio-host serve` as an axum
//!    `Router`, to serve or to mount in an axum app of your own.
//! 3. [`plugin_ctx`]: for a platform with its own wasmtime `Engine`, `Linker` and `Store`:
//!    [`add_to_linker_async`] links the component's imports, with requests going through our
//!    egress policy ([`egress::Egress`] as the store's `WasiHttpHooks`).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use twilio_host::{Host, HostConfig, HostOptions, ProcessEnv};
//! let config = HostConfig::load("host.toml".as_ref(), &ProcessEnv)?;
//! let host = Host::new(config, HostOptions::default())?;
//! let report = host.run("acme", r#"return app.integrations.twilio.twilio_get_account({}).status"#).await?;
//! println!("{:?}", report.outcome);
//! # Ok(()) }
//! ```
//!
//! Features: `sidecar` (axum), `simulator` (configurations for the built-in Twilio simulator,
//! [`simulated`]), and `cli` (the `twilio-host` binary; on by default). With
//! `default-features = false` the library pulls in none of clap, axum, tracing-subscriber or
//! the simulator.

mod admission;
pub mod audit;
pub mod bindings;
mod code_cache;
pub mod config;
pub mod credential;
pub mod egress;
pub mod engine;
pub mod help;
mod host;
pub mod limits;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod metrics;
pub mod plan;
mod plugin;
pub mod plugin_ctx;
mod preinit;
mod private_fs;
mod report;
mod run_state;
pub mod secret;
#[cfg(feature = "sidecar")]
pub mod sidecar;
#[cfg(feature = "simulator")]
pub mod simulated;
pub mod state;

pub use config::{
    AccountConfig, ConfigError, ConfigErrors, HostConfig, ProcessEnv, SecretSource, TenantConfig,
};
pub use egress::ACCOUNT_HEADER;
pub use host::{Host, HostError, HostOptions, PlanError};
pub use limits::Limits;
pub use plugin::PLUGIN_COMPONENT;
pub use plugin_ctx::{PluginCtx, PluginView, add_to_linker_async};
pub use report::{ErrorKind, RunReport, ScriptError};
