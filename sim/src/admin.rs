//! The unauthenticated admin endpoints under `/__sim/` on the core API listener, for test
//! drivers that are not written in Rust:
//!
//! - `POST /__sim/faults` queues a fault (JSON below) and answers 201.
//! - `DELETE /__sim/faults` removes pending faults (204).
//! - `GET /__sim/requests` lists recorded requests as JSON (admin requests are not recorded).
//! - `DELETE /__sim/requests` clears the record (204).
//! - `GET /__sim/accounts` lists the configured accounts with their credentials.
//!
//! Fault JSON: `{"method": "POST" (optional), "path_contains": "/Messages.json" (default ""),
//! "times": 1 (default 1), "kind": KIND, ...}` where KIND is one of `status` (with `status`,
//! `body`, optional `retry_after`), `reset_connection`, `stall_before_response` (with `ms`),
//! `stall_mid_body` (with `ms`), `malformed_json`, `truncated_body`, `huge_body` (with `bytes`),
//! `wrong_content_type`, `non_twilio_error_body` (with `status`), `process_then_status` (with
//! `status`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::errors::ApiError;
use crate::faults::{Fault, FaultKind};
use crate::reply::Reply;
use crate::request::SimRequest;
use crate::server::Shared;

/// The path prefix of the admin endpoints.
pub(crate) const PREFIX: &str = "/__sim/";

/// The JSON form of a [`Fault`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    method: Option<String>,
    #[serde(default)]
    path_contains: String,
    #[serde(default = "one")]
    times: u32,
    kind: String,
    status: Option<u16>,
    body: Option<String>,
    retry_after: Option<u32>,
    ms: Option<u64>,
    bytes: Option<usize>,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    fn into_fault(self) -> Result<Fault, ApiError> {
        let missing = |field: &str| ApiError::invalid(format!("kind {} needs {field}", self.kind));
        let status = || {
            self.status
                .filter(|s| (100..=999).contains(s))
                .ok_or_else(|| missing("status (100-999)"))
        };
        let delay = || {
            self.ms
                .map(Duration::from_millis)
                .ok_or_else(|| missing("ms"))
        };
        let kind = match self.kind.as_str() {
            "status" => FaultKind::Status {
                status: status()?,
                body: self.body.clone().ok_or_else(|| missing("body"))?,
                retry_after: self.retry_after,
            },
            "reset_connection" => FaultKind::ResetConnection,
            "stall_before_response" => FaultKind::StallBeforeResponse(delay()?),
            "stall_mid_body" => FaultKind::StallMidBody(delay()?),
            "malformed_json" => FaultKind::MalformedJson,
            "truncated_body" => FaultKind::TruncatedBody,
            "huge_body" => FaultKind::HugeBody {
                bytes: self.bytes.ok_or_else(|| missing("bytes"))?,
            },
            "wrong_content_type" => FaultKind::WrongContentType,
            "non_twilio_error_body" => FaultKind::NonTwilioErrorBody { status: status()? },
            "process_then_status" => FaultKind::ProcessThenStatus { status: status()? },
            other => return Err(ApiError::invalid(format!("unknown fault kind {other}"))),
        };
        Ok(Fault {
            method: self.method,
            path_contains: self.path_contains,
            times: self.times,
            kind,
        })
    }
}

/// Answers an admin request.
pub(crate) fn handle(shared: &Shared, request: &SimRequest, body: &[u8]) -> Reply {
    let route = request.path.strip_prefix(PREFIX).unwrap_or("");
    let result = match (request.method.as_str(), route) {
        ("POST", "faults") => serde_json::from_slice::<FaultSpec>(body)
            .map_err(|e| ApiError::invalid(format!("invalid fault JSON: {e}")))
            .and_then(FaultSpec::into_fault)
            .map(|fault| {
                let echo = json!({"queued": true, "kind": format!("{:?}", fault.kind)});
                shared.faults.push(fault);
                Reply::json(201, &echo)
            }),
        ("DELETE", "faults") => {
            shared.faults.clear();
            Ok(Reply::empty(204))
        }
        ("GET", "requests") => Ok(Reply::json(200, &json!(shared.requests()))),
        ("DELETE", "requests") => {
            shared.clear_requests();
            Ok(Reply::empty(204))
        }
        ("GET", "accounts") => Ok(Reply::json(200, &accounts_json(shared))),
        _ => Err(ApiError::not_found(&request.path)),
    };
    result.unwrap_or_else(ApiError::into_reply)
}

fn accounts_json(shared: &Shared) -> serde_json::Value {
    shared
        .accounts
        .iter()
        .map(|account| {
            json!({
                "account_sid": account.account_sid,
                "auth_token": account.auth_token,
                "friendly_name": account.friendly_name,
                "type": account.account_type,
                "api_keys": account.api_keys.iter()
                    .map(|key| json!({"sid": key.sid, "secret": key.secret}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}
