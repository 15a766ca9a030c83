//! The host's metrics, in a Prometheus registry of its own (so that two hosts in one process
//! never share counts): runs by tenant and outcome, run duration and queue wait, Twilio
//! requests by function and status, refusals by rule, retries, audit write failures, and the
//! instance pool's occupancy. Every label value comes from a bounded set (configured tenant
//! names, the 15 function names, policy rule names, HTTP status codes), never a number or SID.

use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::engine::PoolOccupancy;

/// Upper bounds of the run-duration buckets, in seconds.
const RUN_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0,
];

/// Upper bounds of the queue-wait buckets, in seconds.
const WAIT_BUCKETS: [f64; 10] = [
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 2.0, 10.0,
];

/// The metrics of one host.
pub struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    run_seconds: HistogramVec,
    wait_seconds: HistogramVec,
    requests: IntCounterVec,
    refusals: IntCounterVec,
    retries: IntCounterVec,
    audit_failures: IntCounterVec,
    plans: IntCounterVec,
    waiting_runs: IntGauge,
    live_runs: IntGauge,
    warm_slots: IntGauge,
    retained_bytes: IntGauge,
}

impl Metrics {
    /// Every metric at zero.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels);
            registered(&registry, metric)
        };
        let runs = counter(
            "twilio_host_runs_total",
            "Script runs that finished, by tenant and outcome (ok, or the error kind).",
            &["tenant", "outcome"],
        );
        let requests = counter(
            "twilio_host_twilio_requests_total",
            "Requests sent to Twilio, by tenant, function and HTTP status (none: no answer).",
            &["tenant", "function", "status"],
        );
        let refusals = counter(
            "twilio_host_refusals_total",
            "Requests the host refused before sending, by tenant and rule.",
            &["tenant", "rule"],
        );
        let retries = counter(
            "twilio_host_retries_total",
            "Requests that repeated the run's previous, failed request, by tenant and function.",
            &["tenant", "function"],
        );
        let audit_failures = counter(
            "twilio_host_audit_write_failures_total",
            "Audit records that could not be written, by tenant.",
            &["tenant"],
        );
        let plans = counter(
            "twilio_host_plans_total",
            "Plans made, and what became of them (executed, stopped, rejected), by tenant.",
            &["tenant", "outcome"],
        );
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            let metric = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                &["tenant"],
            );
            registered(&registry, metric)
        };
        let run_seconds = histogram(
            "twilio_host_run_duration_seconds",
            "Wall time of a run once it had its sandbox, by tenant.",
            &RUN_BUCKETS,
        );
        let wait_seconds = histogram(
            "twilio_host_run_queue_wait_seconds",
            "How long a run waited for its tenant's turn, the memory budget and a sandbox.",
            &WAIT_BUCKETS,
        );
        let gauge = |name: &str, help: &str| registered(&registry, IntGauge::new(name, help));
        Metrics {
            runs,
            run_seconds,
            wait_seconds,
            requests,
            refusals,
            retries,
            audit_failures,
            plans,
            waiting_runs: gauge(
                "twilio_host_runs_waiting",
                "Runs waiting for their turn, memory or a sandbox now.",
            ),
            live_runs: gauge(
                "twilio_host_pool_live_instances",
                "Sandboxes (component instances) in use now.",
            ),
            warm_slots: gauge(
                "twilio_host_pool_warm_slots",
                "Idle sandbox memory slots that have served a run.",
            ),
            retained_bytes: gauge(
                "twilio_host_pool_retained_bytes",
                "Bytes the idle sandbox slots keep resident.",
            ),
            registry,
        }
    }

    /// A run of `tenant` ended with `outcome` after `duration` in its sandbox.
    pub fn ran(&self, tenant: &str, outcome: &str, duration: Duration) {
        self.runs.with_label_values(&[tenant, outcome]).inc();
        self.run_seconds
            .with_label_values(&[tenant])
            .observe(duration.as_secs_f64());
    }

    /// A run of `tenant` was turned away: its runs and queue were full.
    pub fn turned_away(&self, tenant: &str) {
        self.runs.with_label_values(&[tenant, "busy"]).inc();
    }

    /// A run of `tenant` starts waiting for its turn, memory and a sandbox; the guard it
    /// returns records the wait when dropped.
    pub fn waiting<'a>(&'a self, tenant: &'a str) -> Waiting<'a> {
        self.waiting_runs.inc();
        Waiting {
            metrics: self,
            tenant,
            since: std::time::Instant::now(),
        }
    }

    /// A request of `function` was answered with `status` (`None`: no answer).
    pub fn requested(&self, tenant: &str, function: &str, status: Option<u16>, retry: bool) {
        let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        self.requests
            .with_label_values(&[tenant, function, &status])
            .inc();
        if retry {
            self.retries.with_label_values(&[tenant, function]).inc();
        }
    }

    /// A request was refused by `rule`.
    pub fn refused(&self, tenant: &str, rule: &str) {
        self.refusals.with_label_values(&[tenant, rule]).inc();
    }

    /// An audit record could not be written.
    pub fn audit_write_failed(&self, tenant: &str) {
        self.audit_failures.with_label_values(&[tenant]).inc();
    }

    /// A plan of `tenant` was made, or `outcome` (`executed`, `stopped`, `rejected`) became of
    /// one.
    pub fn planned(&self, tenant: &str, outcome: &str) {
        self.plans.with_label_values(&[tenant, outcome]).inc();
    }

    /// Everything in the Prometheus text format, with the pool's `occupancy` now.
    pub fn render(&self, occupancy: PoolOccupancy) -> String {
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.live_runs.set(gauge(occupancy.live_runs));
        self.warm_slots.set(i64::from(occupancy.warm_memories));
        self.retained_bytes.set(gauge(occupancy.retained_bytes));
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("the text encoder writes to memory");
        String::from_utf8(text).expect("the text format is UTF-8")
    }
}

/// `metric` (a definition made from the constants above, so always valid), registered in
/// `registry`.
fn registered<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let metric = metric.expect("a valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// A run waiting (see [`Metrics::waiting`]).
pub struct Waiting<'a> {
    metrics: &'a Metrics,
    tenant: &'a str,
    since: std::time::Instant,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.metrics.waiting_runs.dec();
        self.metrics
            .wait_seconds
            .with_label_values(&[self.tenant])
            .observe(self.since.elapsed().as_secs_f64());
    }
}
