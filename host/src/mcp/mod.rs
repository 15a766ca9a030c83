//! The MCP server (feature `mcp`): an agent in any Model Context Protocol client writes one Lua
//! script against `app.integrations.twilio` and the host runs it, with the tenant's accounts,
//! limits and policy, exactly as [`Host::run`] does. Four tools ([`tools`]) and the reference
//! as resources; the secrets stay in the host.
//!
//! Over stdio (`twilio-host mcp`) the server runs as one tenant, fixed at start. Over Streamable
//! HTTP (`/mcp` on the sidecar, [`http`]) each request runs as the tenant whose bearer token it
//! carries; nothing about the tenant is kept in the MCP session.
//!
//! ```no_run
//! # async fn demo(host: std::sync::Arc<twilio_host::Host>) -> anyhow::Result<()> {
//! use rmcp::ServiceExt;
//! let server = twilio_host::mcp::McpServer::for_tenant(host, "default")?;
//! server.serve(rmcp::transport::stdio()).await?.waiting().await?;
//! # Ok(()) }
//! ```

mod handler;
#[cfg(feature = "sidecar")]
pub mod http;
mod reference;
mod tools;

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::handler::server::router::tool::ToolRouter;
use tokio::sync::OnceCell;

use crate::{Host, HostError};
pub use reference::Reference;

/// The tenant an authenticated HTTP request runs as, put in the request's extensions by the
/// sidecar's authentication before the MCP service sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedTenant(pub String);

/// Whose accounts a tool call uses.
#[derive(Debug, Clone)]
enum TenantOf {
    /// Every call runs as this tenant (stdio).
    Fixed(Arc<str>),
    /// Each call runs as its HTTP request's [`AuthenticatedTenant`].
    Request,
}

/// The MCP server: the host, whose tenant a call runs as, the reference (read from the plugin
/// on first use), and the tools. Cloning is cheap; clones share the reference.
#[derive(Clone)]
pub struct McpServer {
    host: Arc<Host>,
    tenant: TenantOf,
    reference: Arc<OnceCell<Reference>>,
    tool_router: ToolRouter<McpServer>,
}

impl McpServer {
    /// A server whose every call runs as `tenant` (an error when the host has no such tenant).
    pub fn for_tenant(host: Arc<Host>, tenant: &str) -> Result<McpServer, HostError> {
        host.tenant(tenant)?;
        Ok(McpServer::new(host, TenantOf::Fixed(tenant.into())))
    }

    /// A server whose calls run as the [`AuthenticatedTenant`] of their HTTP request.
    pub fn per_request(host: Arc<Host>) -> McpServer {
        McpServer::new(host, TenantOf::Request)
    }

    fn new(host: Arc<Host>, tenant: TenantOf) -> McpServer {
        McpServer {
            host,
            tenant,
            reference: Arc::new(OnceCell::new()),
            tool_router: McpServer::tool_router(),
        }
    }

    /// The reference, read from the plugin the first time it is needed.
    async fn reference(&self) -> Result<&Reference, ErrorData> {
        self.reference
            .get_or_try_init(|| async {
                match self.host.reference(None).await {
                    Ok(Some(text)) => Ok(Reference::new(text)),
                    Ok(None) => Err(ErrorData::internal_error(
                        "the plugin served no reference",
                        None,
                    )),
                    Err(error) => Err(ErrorData::internal_error(
                        format!("the plugin could not serve the reference: {error}"),
                        None,
                    )),
                }
            })
            .await
    }
}
