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
//! `stall_mid_body` (with `ms`), `trickle_body` (with `ms`), `malformed_json`, `truncated_body`, `huge_body` (with `bytes`),
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

/// The JSON form of a [`Fault`]: the fields every fault has, and the rest of the object as the
/// [`KindSpec`] (parsed apart, because serde's `flatten` would accept unknown fields).
struct FaultSpec {
    common: CommonSpec,
    kind: KindSpec,
}

/// The fields every fault has.
#[derive(Deserialize)]
struct CommonSpec {
    method: Option<String>,
    #[serde(default)]
    path_contains: String,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    fn parse(body: &[u8]) -> Result<FaultSpec, serde_json::Error> {
        let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)?;
        let common: serde_json::Map<String, serde_json::Value> =
            ["method", "path_contains", "times"]
                .into_iter()
                .filter_map(|key| object.remove(key).map(|value| (key.to_string(), value)))
                .collect();
        Ok(FaultSpec {
            common: serde_json::from_value(common.into())?,
            kind: serde_json::from_value(object.into())?,
        })
    }
}

/// The JSON form of a [`FaultKind`], tagged by `kind`; delays are in milliseconds. Variants
/// without fields are written `{}` so that unknown fields are refused for them too.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum KindSpec {
    Status {
        status: HttpStatus,
        body: String,
        retry_after: Option<u32>,
    },
    ResetConnection {},
    StallBeforeResponse {
        ms: u64,
    },
    StallMidBody {
        ms: u64,
    },
    TrickleBody {
        ms: u64,
    },
    MalformedJson {},
    TruncatedBody {},
    HugeBody {
        bytes: usize,
    },
    WrongContentType {},
    NonTwilioErrorBody {
        status: HttpStatus,
    },
    ProcessThenStatus {
        status: HttpStatus,
    },
}

/// An HTTP status code, 100 to 999.
#[derive(Deserialize)]
#[serde(try_from = "u16")]
struct HttpStatus(u16);

impl TryFrom<u16> for HttpStatus {
    type Error = String;

    fn try_from(status: u16) -> Result<HttpStatus, String> {
        if (100..=999).contains(&status) {
            Ok(HttpStatus(status))
        } else {
            Err(format!("status {status} is not an HTTP status (100-999)"))
        }
    }
}

impl From<FaultSpec> for Fault {
    fn from(spec: FaultSpec) -> Fault {
        let kind = match spec.kind {
            KindSpec::Status {
                status,
                body,
                retry_after,
            } => FaultKind::Status {
                status: status.0,
                body,
                retry_after,
            },
            KindSpec::ResetConnection {} => FaultKind::ResetConnection,
            KindSpec::StallBeforeResponse { ms } => {
                FaultKind::StallBeforeResponse(Duration::from_millis(ms))
            }
            KindSpec::StallMidBody { ms } => FaultKind::StallMidBody(Duration::from_millis(ms)),
            KindSpec::TrickleBody { ms } => FaultKind::TrickleBody(Duration::from_millis(ms)),
            KindSpec::MalformedJson {} => FaultKind::MalformedJson,
            KindSpec::TruncatedBody {} => FaultKind::TruncatedBody,
            KindSpec::HugeBody { bytes } => FaultKind::HugeBody { bytes },
            KindSpec::WrongContentType {} => FaultKind::WrongContentType,
            KindSpec::NonTwilioErrorBody { status } => {
                FaultKind::NonTwilioErrorBody { status: status.0 }
            }
            KindSpec::ProcessThenStatus { status } => {
                FaultKind::ProcessThenStatus { status: status.0 }
            }
        };
        Fault {
            method: spec.common.method,
            path_contains: spec.common.path_contains,
            times: spec.common.times,
            kind,
        }
    }
}

/// Answers an admin request.
pub(crate) fn handle(shared: &Shared, request: &SimRequest, body: &[u8]) -> Reply {
    let route = request.path.strip_prefix(PREFIX).unwrap_or("");
    let result = match (request.method.as_str(), route) {
        ("POST", "faults") => FaultSpec::parse(body)
            .map_err(|e| ApiError::invalid(format!("invalid fault JSON: {e}")))
            .map(Fault::from)
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
