//! `twilio-host serve`: the HTTP sidecar ([`twilio_host::sidecar`]) on its own listener, until
//! Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use twilio_host::config::TokenHash;
use twilio_host::{HostConfig, HostOptions, sidecar};

use super::setup::{self, Setup};
use super::{CliError, ConfigArgs, shutdown, token};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port; the first line on stdout says which.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Allow a non-loopback --listen address. The sidecar speaks plain HTTP: put TLS in front
    /// of it before exposing it beyond the machine.
    #[arg(long)]
    pub allow_remote: bool,
    /// Do not use the compiled-code cache: compile the plugin in memory at start (about 2 s),
    /// so that nothing on disk is executed.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Serves until Ctrl-C or SIGTERM, then lets running scripts finish.
pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(CliError::Usage(format!(
            "refusing to listen on {}, which is not a loopback address; the sidecar \
             speaks plain HTTP. Pass --allow-remote if a TLS proxy or a private network protects it.",
            args.listen
        )));
    }
    let Setup {
        mut config,
        simulator,
    } = setup::resolve(&args.config).await?;
    if simulator.is_some() {
        issue_simulator_token(&mut config)?;
    }
    check_tokens(&config)?;
    config.server.max_connections = usable_connections(config.server.max_connections);
    let mut options = HostOptions {
        max_concurrent_runs: config.server.max_concurrent_runs,
        ..HostOptions::default()
    };
    if args.no_cache {
        options.cache_dir = None;
    }
    let host = twilio_host::Host::new(config, options)
        .map_err(|error| CliError::host("cannot load the plugin", error))?;
    let host = Arc::new(host);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| CliError::host(&format!("cannot listen on {}", args.listen), error))?;
    let address = listener.local_addr().unwrap_or(args.listen);
    println!("listening on http://{address}");
    let _ = std::io::stdout().flush();
    tracing::info!(%address, tenants = ?host.tenant_names(), "sidecar started");
    let served = sidecar::serve(listener, host, shutdown::requested()).await;
    drop(simulator);
    served.map_err(|error| CliError::host("the server failed", error))?;
    tracing::info!("sidecar stopped");
    Ok(())
}

/// Descriptors kept for everything but client connections: the state store, the cache, the
/// connections to Twilio of the runs in flight.
const RESERVED_DESCRIPTORS: u64 = 1024;

/// How many client connections the process can hold: `wanted`, after raising the soft limit
/// on open files as far as the hard limit allows, less [`RESERVED_DESCRIPTORS`] (a warning
/// says so when that is fewer than `wanted`).
fn usable_connections(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        let soft = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return wanted;
            }
            let needed = (wanted as u64).saturating_add(RESERVED_DESCRIPTORS);
            if limit.rlim_cur < needed {
                let raised = libc::rlimit {
                    rlim_cur: needed.min(limit.rlim_max),
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
            limit.rlim_cur
        };
        let usable = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS).max(16))
            .unwrap_or(usize::MAX);
        if usable < wanted {
            tracing::warn!(
                wanted,
                usable,
                open_files_limit = soft,
                "the open-files limit allows fewer connections than server.max_connections"
            );
            return usable;
        }
    }
    wanted
}

/// Gives the simulator's `default` tenant a fresh random token and prints it once on stderr.
fn issue_simulator_token(config: &mut HostConfig) -> Result<(), CliError> {
    let token = token::random()?;
    for tenant in config.tenants.values_mut() {
        tenant.api_token_sha256 = Some(TokenHash::of(&token));
        eprintln!(
            "twilio-host: bearer token for tenant {:?} (shown only now): {token}",
            tenant.name
        );
    }
    Ok(())
}

/// At least one tenant must have a token; the others are named on stderr.
fn check_tokens(config: &HostConfig) -> Result<(), CliError> {
    let without: Vec<&str> = config
        .tenants
        .values()
        .filter(|t| t.api_token_sha256.is_none())
        .map(|t| t.name.as_str())
        .collect();
    if without.len() == config.tenants.len() {
        return Err(CliError::Usage(
            "no tenant has api_token_sha256, so no one could use the sidecar; add \
             `api_token_sha256 = \"...\"` under [tenants.NAME] (make a token and its hash with `twilio-host gen-token`)"
                .into(),
        ));
    }
    if !without.is_empty() {
        eprintln!(
            "twilio-host: tenants without api_token_sha256 cannot use the sidecar: {}",
            without.join(", ")
        );
    }
    Ok(())
}
