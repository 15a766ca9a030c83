//! One run's audit trail: makes the run's records, writes them to the state store, and tells
//! the host's metrics and the log (`twilio_host::audit`, shown with `-v`) the same. A side
//! effect's first write ([`AuditTrail::begin`]) is made before its request leaves; every other
//! write goes on in the background, so no answer waits for it, and [`AuditTrail::flush`] (the
//! host calls it before the run's report) waits for them all.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

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
    /// The run's records still being written.
    writing: Mutex<Vec<tokio::task::JoinHandle<()>>>,
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
            writing: Mutex::default(),
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
    pub fn refused(
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
        self.write(record);
    }

    /// Keeps `record` as a side effect recorded in the run's plan instead of sent.
    pub fn planned(&self, mut record: AuditRecord) {
        record.outcome = Outcome::Planned;
        let AuditRecord {
            method,
            path,
            function,
            ..
        } = &record;
        let function = function.as_deref().unwrap_or("");
        tracing::info!(target: TARGET, tenant = %self.tenant, run_id = %self.run_id, %method, path, function, "side effect planned, not sent");
        self.write(record);
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
            write_failed(&self.tenant, self.metrics.as_deref(), &record.id, error);
        }
        written
    }

    /// Keeps `record` with its outcome (a read's only write, a side effect's second).
    pub fn finish(&self, record: AuditRecord) {
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
        self.write(record);
    }

    /// Writes `record` in the background: the request's answer does not wait for it, and
    /// [`AuditTrail::flush`] waits for every such write.
    fn write(&self, record: AuditRecord) {
        let Some(store) = &self.store else { return };
        let store = Arc::clone(store);
        let (tenant, metrics) = (self.tenant.clone(), self.metrics.clone());
        let oldest_kept_ms = self.settings.oldest_kept_ms();
        let write = tokio::spawn(async move {
            let id = record.id.clone();
            if let Err(error) = store.write_audit(record, oldest_kept_ms).await {
                write_failed(&tenant, metrics.as_deref(), &id, &error);
            }
        });
        lock(&self.writing).push(write);
    }

    /// Waits until every record of the run so far is written (the host calls it before the
    /// run's report, so that the audit shows what the report says).
    pub async fn flush(&self) {
        let writes = std::mem::take(&mut *lock(&self.writing));
        for write in writes {
            let _ = write.await;
        }
    }
}

/// Counts and logs a record of `tenant` that could not be written.
fn write_failed(tenant: &str, metrics: Option<&Metrics>, id: &str, error: &StoreError) {
    if let Some(metrics) = metrics {
        metrics.audit_write_failed(tenant);
    }
    tracing::error!(target: TARGET, %tenant, %id, %error, "the audit record could not be written");
}

/// The slot, even if a thread panicked while holding it (it holds only task handles).
fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
