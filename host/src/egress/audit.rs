//! The audit events of the egress: one per request, on the tracing target
//! `twilio_host::audit`, with the tenant, account, method, host, path, and the status or the
//! reason. Never a header, a body or a secret.

use std::time::Duration;

use http::{Method, Uri};

/// The target audit events are written to (`-v` shows them).
const TARGET: &str = "twilio_host::audit";

/// What identifies one request in its audit event.
pub struct AuditRecord {
    /// The tenant.
    pub tenant: String,
    /// The method as sent.
    pub method: Method,
    /// The URI as sent (only host and path are written).
    pub uri: Uri,
}

impl AuditRecord {
    fn host(&self) -> &str {
        self.uri.host().unwrap_or("")
    }

    /// The policy (or the budget) refused the request; nothing was sent. `rule` names the
    /// tenant-policy rule, for a refusal by the tenant's policy.
    pub fn refused(&self, reason: &dyn std::fmt::Display, rule: Option<&str>) {
        let (tenant, method, host, path) =
            (&self.tenant, &self.method, self.host(), self.uri.path());
        let rule = rule.unwrap_or("egress");
        tracing::warn!(target: TARGET, %tenant, %method, host, path, rule, %reason, "request refused");
    }

    /// Twilio (or whatever the endpoint is) answered with `status`.
    pub fn answered(&self, account: &str, status: u16, elapsed: Duration) {
        let (tenant, method, host, path) =
            (&self.tenant, &self.method, self.host(), self.uri.path());
        let elapsed_ms = elapsed.as_millis() as u64;
        tracing::info!(target: TARGET, %tenant, %account, %method, host, path, status, elapsed_ms, "twilio request");
    }

    /// The exchange failed without an answer (timeout, connection, size).
    pub fn failed(&self, account: &str, error: &dyn std::fmt::Display, elapsed: Duration) {
        let (tenant, method, host, path) =
            (&self.tenant, &self.method, self.host(), self.uri.path());
        let elapsed_ms = elapsed.as_millis() as u64;
        tracing::warn!(target: TARGET, %tenant, %account, %method, host, path, %error, elapsed_ms, "twilio request failed");
    }
}
