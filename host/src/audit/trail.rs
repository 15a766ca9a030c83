//! One run's audit trail: makes the run's records, writes them to the state store, and tells
//! the host's metrics and the log (`twilio_host::audit`, shown with `-v`) the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use http::{Method, Uri};

use super::{AuditRecord, AuditSettings, Outcome, mask_number, mask_path, now_ms, rfc3339};
use crate::metrics::Metrics;
use crate::state::{StateStore, StoreError};

/// The log target of audit events.
const TARGET: &str = "twilio_host::audit";

/// Where one run's records go.
pub struct AuditTrail {
    run_id: String,
    tenant: String,
    settings: AuditSettings,
    store: Option<Arc<dyn StateStore>>,
    metrics: Option<Arc<Metrics>>,
    /// The plan the run makes or carries out.
    plan_id: Option<String>,
    /// The number of the run's next request.
    next: AtomicU32,
}

impl AuditTrail {
    /// The trail of run `run_id` of `tenant`, written only to the log until
    /// [`AuditTrail::storing_in`] gives it a store.
    pub fn new(run_id: String, tenant: String, settings: AuditSettings) -> AuditTrail {
        AuditTrail {
            run_id,
            tenant,
            settings,
            store: None,
            metrics: None,
            plan_id: None,
            next: AtomicU32::new(1),
        }
    }

    /// Keeps the records in `store`.
    pub fn storing_in(mut self, store: Arc<dyn StateStore>) -> AuditTrail {
        self.store = Some(store);
        self
    }

    /// Counts the requests and refusals in `metrics` too.
    pub fn measured_by(mut self, metrics: Arc<Metrics>) -> AuditTrail {
        self.metrics = Some(metrics);
        self
    }

    /// Marks every record as belonging to plan `plan_id` (made or carried out by the run).
    pub fn for_plan(mut self, plan_id: &str) -> AuditTrail {
        self.plan_id = Some(plan_id.to_string());
        self
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// A new record of a request with `method` to `uri`, its outcome not known yet.
    pub fn record(&self, method: &Method, uri: &Uri) -> AuditRecord {
        let time_ms = now_ms();
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        AuditRecord {
            id: format!("{}-{number:04}", self.run_id),
            time: rfc3339(time_ms),
            time_ms,
            run_id: self.run_id.clone(),
            plan_id: self.plan_id.clone(),
            tenant: self.tenant.clone(),
            account: None,
            function: None,
            method: method.to_string(),
            path: self.number_in(uri.path(), mask_path),
            to: None,
            body_length: None,
            segments: None,
            retry: false,
            status: None,
            sid: None,
            error_code: None,
            error: None,
            elapsed_ms: None,
            outcome: Outcome::Unknown,
            rule: None,
        }
    }

    /// `to` as the records keep destinations: masked, unless the settings keep them whole.
    pub fn destination(&self, to: &str) -> String {
        self.number_in(to, mask_number)
    }

    fn number_in(&self, text: &str, mask: fn(&str) -> String) -> String {
        if self.settings.full_destinations {
            text.to_string()
        } else {
            mask(text)
        }
    }

    /// Keeps `record` as refused by `rule` (`reason` goes to the log only: it may name a
    /// number). A refusal that cannot be written is logged; nothing was sent anyway.
    pub async fn refused(
        &self,
        mut record: AuditRecord,
        rule: &str,
        reason: &(dyn std::fmt::Display + Sync),
    ) {
        record.outcome = Outcome::Refused;
        record.rule = Some(rule.to_string());
        let AuditRecord { method, path, .. } = &record;
        tracing::warn!(target: TARGET, tenant = %self.tenant, run_id = %self.run_id, %method, path, rule, %reason, "request refused");
        if let Some(metrics) = &self.metrics {
            metrics.refused(&self.tenant, rule);
        }
        self.write(record).await;
    }

    /// Keeps `record` as a side effect recorded in the run's plan instead of sent.
    pub async fn planned(&self, mut record: AuditRecord) {
        record.outcome = Outcome::Planned;
        let AuditRecord {
            method,
            path,
            function,
            ..
        } = &record;
        let function = function.as_deref().unwrap_or("");
        tracing::info!(target: TARGET, tenant = %self.tenant, run_id = %self.run_id, %method, path, function, "side effect planned, not sent");
        self.write(record).await;
    }

    /// Writes `record` before its side-effecting request is sent (outcome `unknown` until
    /// [`AuditTrail::finish`]); the request must not be sent when this fails.
    pub async fn begin(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let written = store
            .write_audit(record.clone(), self.settings.oldest_kept_ms())
            .await;
        if let Err(error) = &written {
            self.write_failed(&record.id, error);
        }
        written
    }

    /// Keeps `record` with its outcome (a read's only write, a side effect's second).
    pub async fn finish(&self, record: AuditRecord) {
        let AuditRecord {
            method,
            path,
            status,
            elapsed_ms,
            outcome,
            ..
        } = &record;
        let (account, function) = (
            record.account.as_deref().unwrap_or(""),
            record.function.as_deref().unwrap_or(""),
        );
        let (tenant, run_id, outcome) = (&self.tenant, &self.run_id, outcome.as_str());
        match (status, &record.error) {
            (Some(status), _) => {
                tracing::info!(target: TARGET, %tenant, %run_id, %account, function, %method, path, status, elapsed_ms, outcome, "twilio request");
            }
            (None, error) => {
                let error = error.as_deref().unwrap_or("");
                tracing::warn!(target: TARGET, %tenant, %run_id, %account, function, %method, path, error, elapsed_ms, outcome, "twilio request failed");
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.requested(tenant, function, *status, record.retry);
        }
        self.write(record).await;
    }

    async fn write(&self, record: AuditRecord) {
        let Some(store) = &self.store else { return };
        let id = record.id.clone();
        if let Err(error) = store
            .write_audit(record, self.settings.oldest_kept_ms())
            .await
        {
            self.write_failed(&id, &error);
        }
    }

    fn write_failed(&self, id: &str, error: &StoreError) {
        if let Some(metrics) = &self.metrics {
            metrics.audit_write_failed(&self.tenant);
        }
        tracing::error!(target: TARGET, tenant = %self.tenant, %id, %error, "the audit record could not be written");
    }
}
