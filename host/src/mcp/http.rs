//! The MCP server over Streamable HTTP: the rmcp service the sidecar mounts at `/mcp` (behind
//! its bearer-token authentication, which tells each request's tenant). Requests must name a
//! loopback host or one of `[server] mcp_allowed_hosts`, and carry no `Origin` (a browser
//! page's request always does): a web page cannot drive a local server, by DNS rebinding or
//! otherwise.

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::McpServer;
use crate::Host;

/// The `Host` names every `/mcp` request may carry, whatever the configuration adds.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The service: one [`McpServer::per_request`] per MCP session, sessions kept in memory.
pub fn service(host: Arc<Host>) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let allowed_hosts: Vec<String> = LOOPBACK_HOSTS
        .iter()
        .map(|name| name.to_string())
        .chain(host.server_settings().mcp_allowed_hosts.iter().cloned())
        .collect();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed_hosts)
        .enforce_origin_validation();
    let server = McpServer::per_request(host);
    StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
