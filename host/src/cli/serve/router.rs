//! The sidecar's routes.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use twilio_host::Host;

use super::handlers;

/// `GET /healthz` and `POST /v1/tenants/{tenant}/runs`, sharing one [`Host`].
pub fn router(host: Arc<Host>) -> Router {
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/v1/tenants/{tenant}/runs", post(handlers::create_run))
        .with_state(host)
}
