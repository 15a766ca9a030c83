//! `twilio-host serve`: an HTTP sidecar that runs scripts for tenants, each authenticated by its
//! own bearer token, with the same [`Host`] (and so the same isolation and limits) as `run`.

mod auth;
mod handlers;
mod router;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use twilio_host::{HostConfig, HostOptions};

use super::hash_token::sha256_hex;
use super::setup::{self, Setup};
use super::{ConfigArgs, EXIT_SCRIPT_FAILED, EXIT_USAGE, shutdown};

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
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Serves until Ctrl-C or SIGTERM, then lets running scripts finish; returns the exit code.
pub async fn serve(args: ServeArgs) -> u8 {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        eprintln!(
            "twilio-host: refusing to listen on {}, which is not a loopback address; the sidecar \
             speaks plain HTTP. Pass --allow-remote if a TLS proxy or a private network protects it.",
            args.listen
        );
        return EXIT_USAGE;
    }
    let Setup {
        mut config,
        simulator,
    } = match setup::resolve(&args.config).await {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    if simulator.is_some()
        && let Err(code) = issue_simulator_token(&mut config)
    {
        return code;
    }
    if let Err(message) = check_tokens(&config) {
        eprintln!("twilio-host: {message}");
        return EXIT_USAGE;
    }
    let host = match twilio_host::Host::new(config, HostOptions::default()) {
        Ok(host) => Arc::new(host),
        Err(error) => {
            eprintln!("twilio-host: {error:#}");
            return EXIT_USAGE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("twilio-host: cannot listen on {}: {error}", args.listen);
            return EXIT_USAGE;
        }
    };
    let address = listener.local_addr().unwrap_or(args.listen);
    println!("listening on http://{address}");
    let _ = std::io::stdout().flush();
    tracing::info!(%address, tenants = ?host.tenant_names(), "sidecar started");
    let served = axum::serve(listener, router::router(host))
        .with_graceful_shutdown(shutdown::requested())
        .await;
    drop(simulator);
    match served {
        Ok(()) => {
            tracing::info!("sidecar stopped");
            0
        }
        Err(error) => {
            eprintln!("twilio-host: the server failed: {error}");
            EXIT_SCRIPT_FAILED
        }
    }
}

/// Gives the simulator's `default` tenant a fresh random token and prints it once on stderr.
fn issue_simulator_token(config: &mut HostConfig) -> Result<(), u8> {
    let mut bytes = [0u8; 32];
    if let Err(error) = getrandom::fill(&mut bytes) {
        eprintln!("twilio-host: cannot make a random token: {error}");
        return Err(EXIT_USAGE);
    }
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    for tenant in config.tenants.values_mut() {
        tenant.api_token_sha256 = Some(sha256_hex(&token));
        eprintln!(
            "twilio-host: bearer token for tenant {:?} (shown only now): {token}",
            tenant.name
        );
    }
    Ok(())
}

/// At least one tenant must have a token; the others are named on stderr.
fn check_tokens(config: &HostConfig) -> Result<(), String> {
    let without: Vec<&str> = config
        .tenants
        .values()
        .filter(|t| t.api_token_sha256.is_none())
        .map(|t| t.name.as_str())
        .collect();
    if without.len() == config.tenants.len() {
        return Err(
            "no tenant has api_token_sha256, so no one could use the sidecar; add \
             `api_token_sha256 = \"...\"` under [tenants.NAME] (make it with `twilio-host hash-token`)"
                .into(),
        );
    }
    if !without.is_empty() {
        eprintln!(
            "twilio-host: tenants without api_token_sha256 cannot use the sidecar: {}",
            without.join(", ")
        );
    }
    Ok(())
}
