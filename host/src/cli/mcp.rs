//! `twilio-host mcp`: the MCP server over stdio, for one tenant. Messages go on stdout, so
//! everything else (the simulator notice, logs) goes to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;
use twilio_host::mcp::McpServer;
use twilio_host::{Host, HostOptions};

use super::setup::{self, Setup};
use super::{CliError, ConfigArgs};

/// Runs at once that one MCP client may have (its tenant's own caps apply within it).
const MCP_POOL_SIZE: u32 = 16;

/// Arguments of `mcp`.
#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// The tenant whose accounts, limits and policy every run uses (see `twilio-host check`).
    #[arg(long, default_value = "default")]
    pub tenant: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Serves MCP on stdin/stdout until the client closes it.
pub async fn mcp(args: McpArgs) -> Result<(), CliError> {
    let Setup {
        config,
        simulator: _simulator,
    } = setup::resolve(&args.config).await?;
    let options = HostOptions {
        max_concurrent_runs: MCP_POOL_SIZE,
        ..HostOptions::default()
    };
    let host = Host::new(config, options)
        .map_err(|error| CliError::host("cannot load the plugin", error))?;
    let server = McpServer::for_tenant(Arc::new(host), &args.tenant)?;
    tracing::info!(tenant = %args.tenant, "MCP server on stdio");
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| CliError::host("the MCP client did not initialize", error))?;
    running
        .waiting()
        .await
        .map_err(|error| CliError::host("the MCP server failed", error))?;
    Ok(())
}
