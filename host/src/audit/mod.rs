//! The audit trail: one [`AuditRecord`] per request a run's egress handled (sent or refused),
//! kept in the state store (SQLite or Redis, the tenant policy's) for the configured
//! retention. A side-effecting request's record is written before the request leaves the
//! host and completed after, so a host that dies in between leaves a record whose outcome is
//! [`Outcome::Unknown`]; when that first write fails, the request is not sent.
//!
//! A record never holds a secret, a message body (its length and segment count instead) or a
//! query string; phone numbers (the destination, a Lookup path) are masked to the country code
//! and the last four digits unless `[audit] destinations = "full"`.

mod mask;
mod trail;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use mask::{mask_number, mask_path};
pub use trail::AuditTrail;

/// What happened to an audited request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Twilio answered 2xx: the read was answered, the side effect done.
    Ok,
    /// Twilio answered with an error status (4xx, or 5xx for a read); nothing was done.
    Error,
    /// No answer, and nothing can have reached Twilio (the connection was never made), or a
    /// read that failed.
    Failed,
    /// The host refused the request; nothing left the host.
    Refused,
    /// A side effect that left (or may have left) the host and whose result is not known: the
    /// host died before the answer, the answer never came (a timeout, a connection cut), or
    /// Twilio answered 5xx. The one case to reconcile with Twilio.
    Unknown,
    /// A side effect recorded in a plan instead of sent (`plan_id` says which).
    Planned,
}

impl Outcome {
    /// The name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Unknown => "unknown",
            Outcome::Planned => "planned",
        }
    }
}

/// One request of one run, as the audit keeps it. Optional fields are `null` in JSON when
/// they do not apply (no account for a request refused before one was named, no status
/// without an answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unique: the run id and the request's number in the run.
    pub id: String,
    /// When the request reached the egress, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The same instant in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The run ([`crate::RunReport::run_id`]).
    pub run_id: String,
    /// The plan the run made (a planning run) or carried out (an approved plan's run).
    #[serde(default)]
    pub plan_id: Option<String>,
    /// The tenant.
    pub tenant: String,
    /// The account the script named, once the policy knew it.
    pub account: Option<String>,
    /// The function whose request it was, once the request matched one.
    pub function: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The URL path (never the query), phone numbers masked.
    pub path: String,
    /// The destination (`To`) of a send or call, masked.
    pub to: Option<String>,
    /// The length of a message's body in characters (the body itself is never kept).
    pub body_length: Option<u32>,
    /// The SMS segments a message body takes.
    pub segments: Option<u32>,
    /// Whether the request repeats the run's previous request, which had failed (a retry).
    pub retry: bool,
    /// The HTTP status Twilio answered.
    pub status: Option<u16>,
    /// The SID of what the request created (or deleted).
    pub sid: Option<String>,
    /// Twilio's error code, for an error answer.
    pub error_code: Option<i64>,
    /// Why an exchange failed without an answer (a timeout, a connection error).
    pub error: Option<String>,
    /// How long the exchange took, in milliseconds.
    pub elapsed_ms: Option<u64>,
    /// What happened.
    pub outcome: Outcome,
    /// For a refusal: the tenant-policy rule (`allowed_countries`, `messages_per_day`, ...),
    /// or `max_requests`, `egress` (not a request the 15 functions make, or not to the
    /// account's endpoints), `state_store` (the quota counts could not be kept) or `audit`
    /// (this record could not be written).
    pub rule: Option<String>,
}

/// `[audit]`: how long records are kept and how destinations are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    /// Records older than this are deleted (as the tenant's new records are written).
    pub retention: Duration,
    /// Whether phone numbers are kept whole instead of masked.
    pub full_destinations: bool,
}

impl Default for AuditSettings {
    /// 90 days, numbers masked.
    fn default() -> AuditSettings {
        AuditSettings {
            retention: Duration::from_secs(90 * 86_400),
            full_destinations: false,
        }
    }
}

impl AuditSettings {
    /// The `time_ms` of the oldest record to keep now: older ones are past the retention.
    pub fn oldest_kept_ms(&self) -> u64 {
        now_ms().saturating_sub(u64::try_from(self.retention.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Which records to read: one tenant's, since an instant, optionally of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The tenant.
    pub tenant: String,
    /// The earliest `time_ms`.
    pub since_ms: u64,
    /// Only this run's records.
    pub run_id: Option<String>,
    /// At most this many records (the oldest first).
    pub limit: usize,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `time_ms` as RFC 3339 in UTC with milliseconds (`2026-12-01T23:45:01.123Z`).
pub fn rfc3339(time_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(time_ms)).to_string()
}

/// The `time_ms` a `--since` or `?since=` value means: a duration back from now (`90m`,
/// `1h`, `7d`), or an RFC 3339 instant (`2026-12-01T10:00:00Z`).
pub fn parse_since(text: &str) -> Result<u64, String> {
    if let Ok(back) = humantime::parse_duration(text) {
        let back = u64::try_from(back.as_millis()).unwrap_or(u64::MAX);
        return Ok(now_ms().saturating_sub(back));
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|instant| instant.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .ok_or_else(|| {
            format!(
                "{text:?} is neither a duration back from now (90m, 1h, 7d) nor an RFC 3339 time (2026-12-01T10:00:00Z)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_duration_or_an_instant() {
        let hour_ago = parse_since("1h").unwrap();
        assert!(now_ms() - hour_ago >= 3_600_000);
        assert_eq!(
            parse_since("2026-12-01T10:00:00Z").unwrap(),
            1_796_119_200_000
        );
        assert_eq!(rfc3339(1_796_119_200_123), "2026-12-01T10:00:00.123Z");
        let error = parse_since("yesterday").unwrap_err();
        assert!(
            error.contains("1h") && error.contains("RFC 3339"),
            "{error}"
        );
    }

    #[test]
    fn outcomes_serialise_as_their_names() {
        for outcome in [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Failed,
            Outcome::Refused,
            Outcome::Unknown,
            Outcome::Planned,
        ] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
    }
}
