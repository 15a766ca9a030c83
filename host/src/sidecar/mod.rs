//! The HTTP sidecar (feature `sidecar`): any process runs scripts for a tenant over HTTP, with
//! the same [`Host`] (a fresh sandbox per run, the tenant's limits) as the library. Each tenant
//! authenticates with its own bearer token, whose SHA-256 is its `api_token_sha256`.
//!
//! `twilio-host serve` runs [`serve`]: [`router`] with the connection limits of the host's
//! `[server]` settings. An embedder can also mount the router in an axum app of its own (its
//! server's connection limits are then its own business):
//!
//! ```no_run
//! # async fn demo(host: twilio_host::Host) -> anyhow::Result<()> {
//! let app = axum::Router::new().nest("/twilio", twilio_host::sidecar::router(std::sync::Arc::new(host)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod auth;
mod handlers;
#[cfg(feature = "mcp")]
mod mcp;
mod plans;
mod server;
mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::Host;
pub use handlers::MAX_SCRIPT_BYTES;
pub use server::serve;
use throttle::Throttle;

/// What the handlers share: the host, and the counts of failed token checks.
struct Shared {
    host: Arc<Host>,
    throttle: Throttle,
}

/// `GET /healthz`, `POST /v1/tenants/{tenant}/runs`, `GET /v1/tenants/{tenant}/audit`,
/// `GET /v1/tenants/{tenant}/plans/{id}` with `POST .../approve` and `POST .../reject`,
/// `GET /metrics` and (feature `mcp`) the MCP endpoint `/mcp`, sharing one [`Host`]. Failed token
/// checks are throttled per client address when the server passes it
/// (`into_make_service_with_connect_info::<SocketAddr>()`, as `twilio-host serve` does) and
/// per tenant in any case.
pub fn router(host: Arc<Host>) -> Router {
    let shared = Arc::new(Shared {
        host,
        throttle: Throttle::default(),
    });
    let router = Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/v1/tenants/{tenant}/runs", post(handlers::create_run))
        .route("/v1/tenants/{tenant}/audit", get(handlers::tenant_audit))
        .route("/v1/tenants/{tenant}/plans/{id}", get(plans::show))
        .route(
            "/v1/tenants/{tenant}/plans/{id}/{decision}",
            post(plans::decide),
        )
        .route("/metrics", get(handlers::metrics))
        .with_state(Arc::clone(&shared));
    #[cfg(feature = "mcp")]
    let router = router.merge(mcp::routes(shared));
    router
}
