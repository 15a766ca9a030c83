//! The sidecar's request handlers: health, and running a script for a tenant.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;

use crate::Host;

use super::auth;

/// The largest script the sidecar accepts, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;
/// The largest request body read (a 1 MiB script grows when JSON-escaped).
const MAX_BODY_BYTES: usize = 8 * MAX_SCRIPT_BYTES;

/// `POST /v1/tenants/{tenant}/runs` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    script: String,
}

/// `GET /healthz`: `ok` while the server accepts requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `POST /v1/tenants/{tenant}/runs`: authenticates the tenant's bearer token, then runs the
/// script in a fresh sandbox and answers the run as JSON (200 whether the script succeeded or
/// failed).
pub async fn create_run(
    State(host): State<Arc<Host>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(config) = host.tenant(&tenant) else {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_tenant",
            format!("no tenant named {tenant:?}"),
        );
    };
    let Some(expected) = &config.api_token_sha256 else {
        tracing::warn!(target: "twilio_host::audit", %tenant, "sidecar run refused: the tenant has no api_token_sha256");
        return problem(
            StatusCode::FORBIDDEN,
            "no_token_configured",
            format!(
                "tenant {tenant:?} has no api_token_sha256 in the configuration, so it cannot use the sidecar"
            ),
        );
    };
    if !auth::authorized(&headers, expected) {
        tracing::warn!(target: "twilio_host::audit", %tenant, "sidecar run refused: missing or wrong bearer token");
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with this tenant's token".into(),
        );
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("static header"));
        return response;
    }
    let script = match read_script(body).await {
        Ok(script) => script,
        Err(response) => return response,
    };
    match host.run(&tenant, &script).await {
        Ok(report) => {
            let outcome = match &report.outcome {
                Ok(_) => "ok",
                Err(error) => error.kind.as_str(),
            };
            tracing::info!(%tenant, %outcome, requests = report.requests, elapsed_ms = report.elapsed.as_millis() as u64, "sidecar run finished");
            Json(&report).into_response()
        }
        Err(error) => problem(StatusCode::NOT_FOUND, "unknown_tenant", error.to_string()),
    }
}

/// Reads and checks the JSON body; the error is the response to send.
async fn read_script(body: Body) -> Result<String, Response> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("scripts may be at most {MAX_SCRIPT_BYTES} bytes"),
        )
    };
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(too_large()),
        Err(error) => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot read the request body: {error}"),
            ));
        }
    };
    let request: RunRequest = serde_json::from_slice(&bytes).map_err(|error| {
        problem(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body must be JSON like {{\"script\": \"return 1\"}}: {error}"),
        )
    })?;
    if request.script.len() > MAX_SCRIPT_BYTES {
        return Err(too_large());
    }
    Ok(request.script)
}

/// A non-200 answer: `{"error": {"kind": ..., "message": ...}}`.
fn problem(status: StatusCode, kind: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": { "kind": kind, "message": message } });
    (status, Json(body)).into_response()
}
