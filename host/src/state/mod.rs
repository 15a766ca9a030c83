//! Where what outlives a run lives: one trait, [`StateStore`], with an embedded SQLite
//! backend for one machine ([`sqlite`]) and a Redis backend for several ([`redis`]). A store
//! reserves a set of counters atomically (all or none, never past a limit), so two processes,
//! or two sidecar replicas, never both take the last unit of a quota; it keeps the audit
//! trail's records; and it keeps plans, whose state it changes atomically, so that a plan
//! runs at most once however many processes approve it at the same moment.

mod redis;
mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use crate::audit::AuditSettings;
use crate::audit::{AuditQuery, AuditRecord};
use crate::config::StateUrl;
use crate::plan::{NotPending, Plan, PlanChange};

/// One counter a request takes from: its key, how much it takes, the most it may reach, and
/// how long the counter must be kept (its window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The store key, unique per tenant, quota and window.
    pub key: String,
    /// How much the request takes.
    pub amount: u32,
    /// The highest value the counter may reach.
    pub limit: u32,
    /// How long the counter lives after it is first taken from.
    pub ttl: Duration,
}

/// The outcome of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Every counter was taken from.
    Granted,
    /// The counter at this index would pass its limit; nothing was taken.
    Exceeded(usize),
}

/// A store that cannot be reached or used; requests that need it are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the state store {location}: {message}")]
pub struct StoreError {
    /// Which store.
    pub location: String,
    /// What went wrong.
    pub message: String,
}

/// The future a store's operations return.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Counters shared by every process that opens the same store.
pub trait StateStore: Send + Sync {
    /// Takes every counter's amount if none would pass its limit; else takes nothing and says
    /// which would. Atomic across processes.
    fn reserve(&self, counters: Vec<Counter>) -> StoreFuture<'_, Reserved>;

    /// Gives back what [`StateStore::reserve`] took (a request Twilio refused was not sent).
    fn release(&self, counters: Vec<Counter>) -> StoreFuture<'_, ()>;

    /// The current value of a counter (0 when it does not exist or has expired).
    fn value(&self, key: String) -> StoreFuture<'_, u64>;

    /// Writes `record`, replacing the record with the same id (a side effect's record is
    /// written twice: before the request and after), and deletes the tenant's records older
    /// than `oldest_kept_ms` (see [`crate::audit::AuditSettings::oldest_kept_ms`]). Durable once it returns (as durable as the store: SQLite's WAL, Redis's
    /// persistence settings).
    fn write_audit(&self, record: AuditRecord, oldest_kept_ms: u64) -> StoreFuture<'_, ()>;

    /// The records `query` asks for, the oldest first.
    fn read_audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditRecord>>;

    /// Keeps `plan` (in its state, normally `pending`), and deletes the plans of its tenant
    /// that expired before `oldest_kept_ms` (the audit's retention).
    fn save_plan(&self, plan: Plan, oldest_kept_ms: u64) -> StoreFuture<'_, ()>;

    /// `tenant`'s plan `id` as it is now (`None`: no such plan).
    fn load_plan(&self, tenant: String, id: String) -> StoreFuture<'_, Option<Plan>>;

    /// Makes `change` if the plan is in its `from` state (and, from `pending`, not expired),
    /// atomically across processes: the plan as it is after, or why it did not change.
    fn change_plan(&self, change: PlanChange) -> StoreFuture<'_, Result<Plan, NotPending>>;
}

/// Opens the store at `url`: an SQLite file is created (with its directory, owner-only) when
/// missing; a Redis server is connected to on first use.
pub fn open(url: &StateUrl) -> Result<Arc<dyn StateStore>, StoreError> {
    Ok(match url {
        StateUrl::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path)?),
        StateUrl::Redis(url) => Arc::new(redis::RedisStore::new(url)?),
    })
}
