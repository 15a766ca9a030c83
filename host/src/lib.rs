//! `twilio-host`: runs the Twilio Lua plugin (a WASI component) in wasmtime, one fresh sandbox
//! per run, with Twilio credentials supplied as capabilities: the guest names an account, the
//! host's egress hook adds the secret on the way out.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use twilio_host::{Host, HostConfig, HostOptions, ProcessEnv};
//! let config = HostConfig::load("host.toml".as_ref(), &ProcessEnv).map_err(|e| anyhow::anyhow!("{e:?}"))?;
//! let host = Host::new(config, HostOptions::default())?;
//! let report = host.run("acme", r#"return app.integrations.twilio.twilio_get_account({}).status"#).await?;
//! println!("{:?}", report.outcome);
//! # Ok(()) }
//! ```

mod bindings;
mod code_cache;
pub mod config;
pub mod credential;
mod egress;
mod engine;
mod host;
pub mod limits;
mod plugin;
mod report;
mod run_state;
mod scrub;
pub mod secret;
pub mod simulated;

pub use config::{AccountConfig, ConfigError, HostConfig, ProcessEnv, SecretSource, TenantConfig};
pub use egress::ACCOUNT_HEADER;
pub use host::{Host, HostError, HostOptions};
pub use limits::Limits;
pub use plugin::PLUGIN_COMPONENT;
pub use report::{ErrorKind, RunReport, ScriptError};
