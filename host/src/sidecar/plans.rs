//! The sidecar's plan endpoints, each behind the tenant's bearer token: read a plan, approve
//! it (its run, once) or reject it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::Shared;
use super::handlers::{answer_report, host_error, problem, refusal, store_unavailable};
use crate::PlanError;
use crate::plan::NotPending;

/// `GET /v1/tenants/{tenant}/plans/{id}`: the plan (id, state, created_at, expires_at,
/// actions), 404 when the tenant has no such plan.
pub async fn show(
    State(shared): State<Arc<Shared>>,
    Path((tenant, id)): Path<(String, String)>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = refusal(&shared, &tenant, connection, &headers) {
        return response;
    }
    match shared.host.plan_of(&tenant, &id).await {
        Ok(plan) => Json(plan.summary()).into_response(),
        Err(error) => plan_error(&tenant, error),
    }
}

/// `POST /v1/tenants/{tenant}/plans/{id}/approve`: runs the plan once; 200 with the run's
/// report, whose `execution` says `executed` or `stopped` (and where). `.../reject`: the plan
/// never runs; 200 with the plan. Either: 404 for an unknown plan, 409 for one that is
/// expired, rejected or already executed (nothing runs).
pub async fn decide(
    State(shared): State<Arc<Shared>>,
    Path((tenant, id, decision)): Path<(String, String, String)>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = refusal(&shared, &tenant, connection, &headers) {
        return response;
    }
    let host = &shared.host;
    match decision.as_str() {
        "approve" => match host.approve(&tenant, &id).await {
            Ok(report) => answer_report(&tenant, &report),
            Err(error) => plan_error(&tenant, error),
        },
        "reject" => match host.reject(&tenant, &id).await {
            Ok(plan) => Json(plan.summary()).into_response(),
            Err(error) => plan_error(&tenant, error),
        },
        _ => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "a plan is decided with .../approve or .../reject".into(),
        ),
    }
}

/// 404 `plan_not_found`, 409 `plan_not_pending` (with the plan's `state`), 503
/// `store_unavailable`, or the tenant's error.
fn plan_error(tenant: &str, error: PlanError) -> Response {
    match error {
        PlanError::Host(error) => host_error(tenant, error),
        PlanError::NotPending(NotPending::Unknown) => problem(
            StatusCode::NOT_FOUND,
            "plan_not_found",
            NotPending::Unknown.to_string(),
        ),
        PlanError::NotPending(why) => {
            let body = serde_json::json!({
                "error": {"kind": "plan_not_pending", "message": why.to_string(), "state": why.as_str()}
            });
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
        PlanError::Store(error) => {
            tracing::error!(%tenant, %error, "the plans cannot be read or changed");
            store_unavailable("the plans cannot be read or changed")
        }
    }
}
