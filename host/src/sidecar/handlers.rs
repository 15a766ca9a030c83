//! The sidecar's request handlers: health, running a script for a tenant, the tenant's audit
//! records, and the metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;

use super::{Shared, auth};
use crate::audit::{AuditQuery, parse_since};
use crate::{HostError, RunReport};

/// The largest script the sidecar accepts, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;
/// The largest request body read (a 1 MiB script grows when JSON-escaped).
const MAX_BODY_BYTES: usize = 8 * MAX_SCRIPT_BYTES;

/// The `Retry-After` of a 429 for a tenant whose runs and queue are full: about a run's time.
const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// `POST /v1/tenants/{tenant}/runs` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    script: String,
    #[serde(default)]
    mode: RunMode,
}

/// How a run treats its side effects.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum RunMode {
    /// Sends them (unless the tenant's policy needs approval for them).
    #[default]
    Run,
    /// Records them in a plan to approve.
    Plan,
}

/// `GET /healthz`: `ok` while the server accepts requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `POST /v1/tenants/{tenant}/runs`: authenticates the tenant's bearer token, then runs the
/// script in a fresh sandbox (with `"mode": "plan"`, in plan mode) and answers the run as JSON
/// (200 whether the script succeeded or failed; `needs_approval` and `plan` when it made one). An unknown tenant, a tenant without a token and a wrong token get the same 401, so
/// that tenant names cannot be found out; failures are throttled (429 with `Retry-After`).
pub async fn create_run(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let host = &shared.host;
    if let Some(response) = refusal(&shared, &tenant, connection, &headers) {
        return response;
    }
    let request = match read_script(body, host.server_settings().body_read_timeout).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let ran = match request.mode {
        RunMode::Run => host.run(&tenant, &request.script).await,
        RunMode::Plan => host.plan(&tenant, &request.script).await,
    };
    match ran {
        Ok(report) => answer_report(&tenant, &report),
        Err(error) => host_error(&tenant, error),
    }
}

/// 200 with the report as JSON, and a log line.
pub(super) fn answer_report(tenant: &str, report: &RunReport) -> Response {
    let outcome = match &report.outcome {
        Ok(_) => "ok",
        Err(error) => error.kind.as_str(),
    };
    tracing::info!(%tenant, %outcome, requests = report.requests, elapsed_ms = report.elapsed.as_millis() as u64, "sidecar run finished");
    Json(report).into_response()
}

/// 429 with `Retry-After` for a busy tenant; 404 for an unknown one.
pub(super) fn host_error(tenant: &str, error: HostError) -> Response {
    match error {
        HostError::TenantBusy { .. } => {
            tracing::warn!(target: "twilio_host::audit", %tenant, "sidecar run refused: the tenant's runs and queue are full");
            let mut response = problem(StatusCode::TOO_MANY_REQUESTS, "busy", error.to_string());
            response
                .headers_mut()
                .insert(RETRY_AFTER, BUSY_RETRY_AFTER_SECONDS.into());
            response
        }
        HostError::UnknownTenant { .. } => {
            problem(StatusCode::NOT_FOUND, "unknown_tenant", error.to_string())
        }
    }
}

/// Checks that `headers` carry `tenant`'s bearer token (throttling failures per client address
/// and per tenant): `None` when they do, else the refusal to answer with.
pub(super) fn refusal(
    shared: &Shared,
    tenant: &str,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> Option<Response> {
    let host = &shared.host;
    let address = connection.map(|Extension(ConnectInfo(peer))| peer.ip());
    if let Some(wait) = shared.throttle.wait(address, tenant) {
        tracing::warn!(target: "twilio_host::audit", %tenant, ?address, "sidecar request refused: too many failed token checks");
        return Some(throttled(wait));
    }
    let expected = host
        .tenant(tenant)
        .ok()
        .and_then(|config| config.api_token_sha256.as_ref());
    if auth::authorized(headers, expected) {
        return None;
    }
    let reason = match host.tenant(tenant) {
        Err(_) => "no such tenant",
        Ok(config) if config.api_token_sha256.is_none() => "the tenant has no api_token_sha256",
        Ok(_) => "missing or wrong bearer token",
    };
    tracing::warn!(target: "twilio_host::audit", %tenant, ?address, reason, "sidecar request refused");
    shared.throttle.failed(address, tenant);
    Some(unauthorized(
        "send `Authorization: Bearer <token>` with the token of the tenant in the path",
    ))
}

/// The query of `GET /v1/tenants/{tenant}/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// A duration back from now (`1h`) or an RFC 3339 time; default 24 hours.
    since: Option<String>,
    /// Only this run's records.
    run: Option<String>,
    /// At most this many records (default and most: [`MAX_AUDIT_RECORDS`]).
    limit: Option<usize>,
}

/// The most records one audit request answers.
pub const MAX_AUDIT_RECORDS: usize = 10_000;

/// `GET /v1/tenants/{tenant}/audit?since=1h&run=ID&limit=N`: the tenant's own audit records,
/// the oldest first, as `{"records": [...]}`; the tenant's bearer token is required, as for
/// runs.
pub async fn tenant_audit(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(params): Query<AuditParams>,
) -> Response {
    if let Some(response) = refusal(&shared, &tenant, connection, &headers) {
        return response;
    }
    let since_ms = match parse_since(params.since.as_deref().unwrap_or("24h")) {
        Ok(since) => since,
        Err(message) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("since: {message}"),
            );
        }
    };
    let query = AuditQuery {
        tenant,
        since_ms,
        run_id: params.run,
        limit: params
            .limit
            .unwrap_or(MAX_AUDIT_RECORDS)
            .min(MAX_AUDIT_RECORDS),
    };
    match shared.host.audit(query).await {
        Ok(records) => Json(serde_json::json!({ "records": records })).into_response(),
        Err(error) => {
            tracing::error!(target: "twilio_host::audit", %error, "the audit trail cannot be read");
            store_unavailable("the audit trail cannot be read")
        }
    }
}

/// `GET /metrics`: the host's metrics in the Prometheus text format, for the bearer token whose
/// SHA-256 is `[server] metrics_token_sha256`; 404 when that is not configured.
pub async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(expected) = shared.host.server_settings().metrics_token_sha256 else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "this sidecar serves no metrics: its configuration has no [server] metrics_token_sha256".into(),
        );
    };
    if !auth::authorized(&headers, Some(&expected)) {
        return unauthorized("send `Authorization: Bearer <token>` with the metrics token");
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        shared.host.metrics_text(),
    )
        .into_response()
}

/// 401 with `WWW-Authenticate: Bearer`, the same whatever was wrong with the token.
pub(super) fn unauthorized(message: &str) -> Response {
    let mut response = problem(StatusCode::UNAUTHORIZED, "unauthorized", message.into());
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("static header"));
    response
}

/// 429 for a client that must wait `wait` before its token is checked again.
pub(super) fn throttled(wait: Duration) -> Response {
    let seconds = wait.as_secs() + 1;
    let mut response = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        format!("too many failed token checks; try again in {seconds} s"),
    );
    response.headers_mut().insert(RETRY_AFTER, seconds.into());
    response
}

/// Reads (within `timeout`) and checks the JSON body; the error is the response to send.
async fn read_script(body: Body, timeout: Duration) -> Result<RunRequest, Response> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("scripts may be at most {MAX_SCRIPT_BYTES} bytes"),
        )
    };
    let read = tokio::time::timeout(timeout, Limited::new(body, MAX_BODY_BYTES).collect());
    let bytes = match read.await {
        Err(_elapsed) => {
            return Err(problem(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => return Err(too_large()),
        Ok(Err(error)) => {
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
            format!("the body must be JSON like {{\"script\": \"return 1\"}} (and \"mode\": \"run\" or \"plan\"): {error}"),
        )
    })?;
    if request.script.len() > MAX_SCRIPT_BYTES {
        return Err(too_large());
    }
    Ok(request)
}

/// 503 `store_unavailable`: `what` (the store's address and error stay in the log).
pub(super) fn store_unavailable(what: &str) -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        format!("{what} right now; try again later"),
    )
}

/// A non-200 answer: `{"error": {"kind": ..., "message": ...}}`.
pub(super) fn problem(status: StatusCode, kind: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": { "kind": kind, "message": message } });
    (status, Json(body)).into_response()
}
