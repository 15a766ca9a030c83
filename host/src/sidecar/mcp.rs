//! `/mcp` on the sidecar (features `sidecar` and `mcp`): the MCP server over Streamable HTTP
//! behind the same bearer tokens as the runs. The token alone says the tenant (no tenant in the
//! path): a request without a valid token gets the runs' 401 and never reaches the MCP
//! service; failures are throttled per client address (all of `/mcp` counts as one tenant).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;

use super::handlers::{throttled, unauthorized};
use super::{Shared, auth};
use crate::mcp::AuthenticatedTenant;

/// The throttle's tenant name for failed `/mcp` token checks.
const MCP_THROTTLE_KEY: &str = "/mcp";

/// The `/mcp` route, authenticated.
pub(super) fn routes(shared: Arc<Shared>) -> Router {
    let service = crate::mcp::http::service(Arc::clone(&shared.host));
    Router::new()
        .route_service("/mcp", service)
        .layer(middleware::from_fn_with_state(shared, authenticate))
}

/// Finds the tenant whose token the request carries and hands the request on with it as an
/// [`AuthenticatedTenant`]; 401 (or 429 after too many failures) otherwise.
async fn authenticate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Some(wait) = shared.throttle.wait(address, MCP_THROTTLE_KEY) {
        tracing::warn!(target: "twilio_host::audit", ?address, "MCP request refused: too many failed token checks");
        return throttled(wait);
    }
    let tenants = shared.host.tenant_tokens();
    let Some(tenant) = auth::tenant_with_token(request.headers(), tenants).map(str::to_owned)
    else {
        tracing::warn!(target: "twilio_host::audit", ?address, "MCP request refused: missing or unknown bearer token");
        shared.throttle.failed(address, MCP_THROTTLE_KEY);
        return unauthorized("send `Authorization: Bearer <token>` with your tenant's token");
    };
    request.extensions_mut().insert(AuthenticatedTenant(tenant));
    next.run(request).await
}
