//! The embedded store: one SQLite file (WAL journal), shared by every process on the machine.
//! Every operation is one SQL statement, atomic by itself: a reservation is one multi-row
//! upsert whose rows each carry their limit under `CHECK (value <= lim)`, so a counter that
//! would pass its limit aborts the whole statement and nothing is taken. Writers queue on the
//! file's lock and never interleave.
//!
//! An operation runs right on the caller's task when this process's connection is free and no
//! other process holds the file's lock (tens of microseconds). Otherwise it goes to the
//! store's own thread, which waits for the lock (up to [`BUSY_TIMEOUT`]) without holding up the
//! async runtime, and commits everything queued meanwhile in one transaction (a group commit:
//! under load, one WAL write for many sends).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Counter, Reserved, StateStore, StoreError, StoreFuture};
use crate::audit::{AuditQuery, AuditRecord, now_ms};
use crate::plan::{NotPending, Plan, PlanChange, PlanState};
use crate::private_fs::{create_private_dir, write_private_file};

/// How long an operation waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most operations one group commit takes.
const MAX_BATCH: usize = 256;

/// How often the store's thread moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How often the store's thread deletes counters whose window has passed.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// How often a tenant's audit records past their retention are deleted (by its next write).
const AUDIT_CLEANUP_EVERY_MS: u64 = 60_000;

/// How often a reservation is tried again when it failed on a limit yet no counter is over
/// its limit when looked at (another process gave back meanwhile).
const ATTEMPTS: usize = 3;

/// An SQLite state file.
pub struct SqliteStore {
    path: PathBuf,
    /// The connection; its busy timeout is 0 except while the store's thread holds it.
    connection: Arc<Mutex<Connection>>,
    /// Operations for the store's thread.
    queue: Mutex<mpsc::Sender<Job>>,
    /// When each tenant's audit records are next checked against the retention (ms).
    audit_cleanups: Mutex<HashMap<String, u64>>,
}

/// An operation for the store's thread: its statement run inside the batch's transaction (or
/// told why there is none), it gives back how to answer its caller once the batch is
/// committed.
type Job = Box<dyn FnOnce(Result<&Connection, String>) -> Answer + Send>;

/// Answers a job's caller with the batch's commit result (or the job's own error).
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

impl SqliteStore {
    /// Opens (creating when missing) the file at `path`, its directory owner-only.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let fail = |message: String| StoreError {
            location: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)
                .map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
        }
        // Created owner-only before SQLite opens it: its journal files take the same mode, and
        // the audit records in it are the operator's alone.
        match write_private_file(path, b"") {
            Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(fail(format!("creating the file: {error}")));
            }
            _ => {}
        }
        let connection = Connection::open(path)
            .and_then(|connection| {
                connection.busy_timeout(BUSY_TIMEOUT)?;
                connection.execute_batch(
                    // Small pages (set only when the file is new): each commit appends one
                    // page of a few counters to the write-ahead log, not 4 KiB.
                    "PRAGMA page_size = 1024;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     CREATE TABLE IF NOT EXISTS quota_counters (
                         key TEXT PRIMARY KEY,
                         value INTEGER NOT NULL,
                         lim INTEGER NOT NULL,
                         expires_at INTEGER NOT NULL,
                         CHECK (value <= lim)
                     ) WITHOUT ROWID;
                     CREATE TABLE IF NOT EXISTS audit_records (
                         id TEXT PRIMARY KEY,
                         tenant TEXT NOT NULL,
                         run_id TEXT NOT NULL,
                         time_ms INTEGER NOT NULL,
                         record TEXT NOT NULL
                     );
                     CREATE INDEX IF NOT EXISTS audit_by_time ON audit_records (tenant, time_ms);
                     CREATE TABLE IF NOT EXISTS plans (
                         id TEXT PRIMARY KEY,
                         tenant TEXT NOT NULL,
                         state TEXT NOT NULL,
                         expires_ms INTEGER NOT NULL,
                         plan TEXT NOT NULL
                     );
                     CREATE INDEX IF NOT EXISTS plans_by_expiry ON plans (tenant, expires_ms);",
                )?;
                purge(&connection)?;
                connection.busy_timeout(Duration::ZERO)?;
                // Checkpoints (which fsync) run on the store's thread, not in a request.
                connection.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
                Ok(connection)
            })
            .map_err(|e| fail(e.to_string()))?;
        let upkeep = Connection::open(path)
            .and_then(|c| c.busy_timeout(BUSY_TIMEOUT).map(|()| c))
            .map_err(|e| fail(e.to_string()))?;
        let connection = Arc::new(Mutex::new(connection));
        let (queue, jobs) = mpsc::channel();
        let shared = Arc::clone(&connection);
        std::thread::Builder::new()
            .name("twilio-host-state".into())
            .spawn(move || serve_queue(&shared, &jobs, &upkeep))
            .map_err(|e| fail(format!("starting the store's thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            connection,
            queue: Mutex::new(queue),
            audit_cleanups: Mutex::default(),
        })
    }

    /// Runs `work` (one statement, or statements that only read) right here, or on the
    /// store's thread when the connection or the file is busy.
    fn run<T: Send + 'static>(
        &self,
        work: impl Fn(&Connection) -> rusqlite::Result<T> + Send + Sync + 'static,
    ) -> StoreFuture<'_, T> {
        let location = self.path.display().to_string();
        let fail = move |message: String| StoreError {
            location: location.clone(),
            message,
        };
        if let Ok(connection) = self.connection.try_lock() {
            let done = work(&connection);
            if !done.as_ref().is_err_and(is_busy) {
                return Box::pin(std::future::ready(done.map_err(|e| fail(e.to_string()))));
            }
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let done = connection
                .map_err(|e| e.to_string())
                .and_then(|connection| work(connection).map_err(|e| e.to_string()));
            Box::new(move |committed| {
                let _ = answer.send(done.and_then(|value| committed.map(|()| value)));
            })
        });
        let queued = lock(&self.queue).send(job);
        Box::pin(async move {
            queued.map_err(|_| fail("the store's thread has stopped".into()))?;
            answered
                .await
                .map_err(|_| fail("the store's thread has stopped".into()))?
                .map_err(fail)
        })
    }
}

/// The store's thread, until the store is dropped: takes every job queued, runs them in one
/// transaction (waiting for the file's lock), commits, answers each. Through a connection of
/// its own (`upkeep`), every [`CHECKPOINT_EVERY`] it checkpoints the write-ahead log, so that
/// no request waits for the checkpoint's fsync, and every [`PURGE_EVERY`] it deletes counters
/// of past windows.
fn serve_queue(connection: &Mutex<Connection>, jobs: &mpsc::Receiver<Job>, upkeep: &Connection) {
    let mut checkpointed = Instant::now();
    let mut purged = Instant::now();
    loop {
        if checkpointed.elapsed() >= CHECKPOINT_EVERY {
            // PASSIVE: copies what no reader needs into the database, blocking no writer.
            if let Err(error) = upkeep.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                tracing::debug!(%error, "state store checkpoint failed; the next one retries");
            }
            checkpointed = Instant::now();
        }
        if purged.elapsed() >= PURGE_EVERY {
            if let Err(error) = purge(upkeep) {
                tracing::debug!(%error, "state store purge failed; the next one retries");
            }
            purged = Instant::now();
        }
        let first = match jobs.recv_timeout(CHECKPOINT_EVERY) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let batch: Vec<Job> = std::iter::once(first)
            .chain(jobs.try_iter().take(MAX_BATCH - 1))
            .collect();
        let mut connection = lock(connection);
        let answers = match connection.busy_timeout(BUSY_TIMEOUT) {
            Ok(()) => run_batch(&mut connection, batch),
            Err(error) => refuse_batch(batch, &error),
        };
        let _ = connection.busy_timeout(Duration::ZERO);
        drop(connection);
        for (answer, result) in answers {
            answer(result);
        }
    }
}

/// Every job's answer, with what to tell it.
type Answers = Vec<(Answer, Result<(), String>)>;

/// Runs `batch` in one transaction; a job whose statement fails leaves no change (a statement
/// is atomic) and the others go on.
fn run_batch(connection: &mut Connection, batch: Vec<Job>) -> Answers {
    let transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(transaction) => transaction,
        Err(error) => return refuse_batch(batch, &error),
    };
    let answers: Vec<Answer> = batch.into_iter().map(|job| job(Ok(&transaction))).collect();
    let committed = transaction.commit().map_err(|e| e.to_string());
    answers
        .into_iter()
        .map(|answer| (answer, committed.clone()))
        .collect()
}

/// Tells every job of `batch` that it could not run.
fn refuse_batch(batch: Vec<Job>, error: &rusqlite::Error) -> Answers {
    batch
        .into_iter()
        .map(|job| (job(Err(error.to_string())), Err(error.to_string())))
        .collect()
}

/// The value behind `mutex`, even if a thread panicked while holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether SQLite gave up because another connection holds the lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Whether a statement was aborted by the `CHECK (value <= lim)` of a counter.
fn is_over_limit(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_CHECK
    )
}

/// `(?, ?), (?, ?)`: `rows` rows of `width` parameters, for a `VALUES` list.
fn placeholders(rows: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

/// Deletes the counters whose window has passed.
fn purge(connection: &Connection) -> rusqlite::Result<usize> {
    connection.execute("DELETE FROM quota_counters WHERE expires_at <= ?1", [now()])
}

/// Writes (or replaces) one audit record, and deletes its tenant's records older than
/// `oldest_kept` (ms) when given.
fn write_audit(
    connection: &Connection,
    record: &AuditRecord,
    json: &str,
    oldest_kept: Option<u64>,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO audit_records (id, tenant, run_id, time_ms, record)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET record = excluded.record",
        )?
        .execute(params![
            record.id,
            record.tenant,
            record.run_id,
            millis(record.time_ms),
            json
        ])?;
    if let Some(oldest_kept) = oldest_kept {
        connection
            .prepare_cached("DELETE FROM audit_records WHERE tenant = ?1 AND time_ms < ?2")?
            .execute(params![record.tenant, millis(oldest_kept)])?;
    }
    Ok(())
}

/// The records `query` asks for, the oldest first (records that no longer parse are skipped).
fn read_audit(connection: &Connection, query: &AuditQuery) -> rusqlite::Result<Vec<AuditRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT record FROM audit_records
         WHERE tenant = ?1 AND time_ms >= ?2 AND (?3 IS NULL OR run_id = ?3)
         ORDER BY time_ms, id LIMIT ?4",
    )?;
    let rows = statement.query_map(
        params![
            query.tenant,
            millis(query.since_ms),
            query.run_id,
            i64::try_from(query.limit).unwrap_or(i64::MAX)
        ],
        |row| row.get::<_, String>(0),
    )?;
    let mut records = Vec::new();
    for json in rows {
        if let Ok(record) = serde_json::from_str(&json?) {
            records.push(record);
        }
    }
    Ok(records)
}

/// `value` as SQLite's integer.
fn millis(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Keeps `plan` (its JSON, with the state in its own column), and deletes its tenant's plans
/// that expired before `oldest_kept`.
fn save_plan(connection: &Connection, plan: &Plan, oldest_kept: u64) -> rusqlite::Result<()> {
    let json = serde_json::to_string(plan).expect("a plan serialises");
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO plans (id, tenant, state, expires_ms, plan)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            plan.id,
            plan.tenant,
            plan.state.as_str(),
            millis(plan.expires_ms),
            json
        ])?;
    connection
        .prepare_cached("DELETE FROM plans WHERE tenant = ?1 AND expires_ms < ?2")?
        .execute(params![plan.tenant, millis(oldest_kept)])?;
    Ok(())
}

/// `tenant`'s plan `id` with its stored state, as it reads at `now`.
fn load_plan(
    connection: &Connection,
    tenant: &str,
    id: &str,
    now: u64,
) -> rusqlite::Result<Option<Plan>> {
    let row: Option<(String, String)> = connection
        .prepare_cached("SELECT state, plan FROM plans WHERE tenant = ?1 AND id = ?2")?
        .query_row(params![tenant, id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(state, json)| {
        let plan: Plan = serde_json::from_str(&json).ok()?;
        Some(plan.in_state(PlanState::parse(&state)?, now))
    }))
}

/// Makes `change` in one statement (the state compared and set together), or says why not.
fn change_plan(
    connection: &Connection,
    change: &PlanChange,
) -> rusqlite::Result<Result<Plan, NotPending>> {
    let changed: Option<String> = connection
        .prepare_cached(
            "UPDATE plans SET state = ?4
             WHERE tenant = ?1 AND id = ?2 AND state = ?3 AND (?3 <> 'pending' OR expires_ms > ?5)
             RETURNING plan",
        )?
        .query_row(
            params![
                change.tenant,
                change.id,
                change.from.as_str(),
                change.to.as_str(),
                millis(change.now_ms)
            ],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(plan) = changed.and_then(|json| serde_json::from_str::<Plan>(&json).ok()) {
        return Ok(Ok(plan.in_state(change.to, change.now_ms)));
    }
    Ok(Err(
        match load_plan(connection, &change.tenant, &change.id, change.now_ms)? {
            Some(plan) => NotPending::In(plan.state),
            None => NotPending::Unknown,
        },
    ))
}

/// A counter's value, 0 when it does not exist or has expired.
fn current(connection: &Connection, key: &str) -> rusqlite::Result<i64> {
    let value: Option<i64> = connection
        .prepare_cached("SELECT value FROM quota_counters WHERE key = ?1 AND expires_at > ?2")?
        .query_row(params![key, now()], |row| row.get(0))
        .optional()?;
    Ok(value.unwrap_or(0).max(0))
}

/// Takes every counter's amount in one statement, or says which counter would pass its limit.
fn reserve(connection: &Connection, counters: &[Counter]) -> rusqlite::Result<Reserved> {
    let sql = format!(
        "INSERT INTO quota_counters (key, value, lim, expires_at) VALUES {}
         ON CONFLICT (key) DO UPDATE SET value = value + excluded.value, lim = excluded.lim",
        placeholders(counters.len(), 4)
    );
    let now = now();
    let expiries: Vec<i64> = counters
        .iter()
        .map(|c| now + c.ttl.as_secs() as i64)
        .collect();
    let values: Vec<&dyn ToSql> = counters
        .iter()
        .zip(&expiries)
        .flat_map(|(c, expires_at)| -> [&dyn ToSql; 4] {
            [&c.key, &c.amount, &c.limit, expires_at]
        })
        .collect();
    for _ in 0..ATTEMPTS {
        match connection.prepare_cached(&sql)?.execute(values.as_slice()) {
            Ok(_) => return Ok(Reserved::Granted),
            Err(error) if is_over_limit(&error) => {
                for (index, counter) in counters.iter().enumerate() {
                    let after = current(connection, &counter.key)? + i64::from(counter.amount);
                    if after > i64::from(counter.limit) {
                        return Ok(Reserved::Exceeded(index));
                    }
                }
            }
            Err(error) => return Err(error),
        }
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the counters kept changing during the reservation".into()),
    ))
}

/// Gives back every counter's amount in one statement (never below 0).
fn release(connection: &Connection, counters: &[Counter]) -> rusqlite::Result<()> {
    let sql = format!(
        "WITH given (key, amount) AS (VALUES {})
         UPDATE quota_counters
         SET value = MAX(value - (SELECT amount FROM given WHERE given.key = quota_counters.key), 0)
         WHERE key IN (SELECT key FROM given)",
        placeholders(counters.len(), 2)
    );
    let values: Vec<&dyn ToSql> = counters
        .iter()
        .flat_map(|c| -> [&dyn ToSql; 2] { [&c.key, &c.amount] })
        .collect();
    connection
        .prepare_cached(&sql)?
        .execute(values.as_slice())?;
    Ok(())
}

impl StateStore for SqliteStore {
    fn reserve(&self, counters: Vec<Counter>) -> StoreFuture<'_, Reserved> {
        self.run(move |connection| reserve(connection, &counters))
    }

    fn release(&self, counters: Vec<Counter>) -> StoreFuture<'_, ()> {
        self.run(move |connection| release(connection, &counters))
    }

    fn value(&self, key: String) -> StoreFuture<'_, u64> {
        self.run(move |connection| current(connection, &key).map(|value| value as u64))
    }

    fn write_audit(&self, record: AuditRecord, oldest_kept_ms: u64) -> StoreFuture<'_, ()> {
        let json = serde_json::to_string(&record).expect("a record serialises");
        let now = now_ms();
        let mut cleanups = lock(&self.audit_cleanups);
        let due = cleanups.get(&record.tenant).is_none_or(|&next| now >= next);
        if due {
            cleanups.insert(record.tenant.clone(), now + AUDIT_CLEANUP_EVERY_MS);
        }
        drop(cleanups);
        let oldest_kept = due.then_some(oldest_kept_ms);
        self.run(move |connection| write_audit(connection, &record, &json, oldest_kept))
    }

    fn read_audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditRecord>> {
        self.run(move |connection| read_audit(connection, &query))
    }

    fn save_plan(&self, plan: Plan, oldest_kept_ms: u64) -> StoreFuture<'_, ()> {
        self.run(move |connection| save_plan(connection, &plan, oldest_kept_ms))
    }

    fn load_plan(&self, tenant: String, id: String) -> StoreFuture<'_, Option<Plan>> {
        self.run(move |connection| load_plan(connection, &tenant, &id, now_ms()))
    }

    fn change_plan(&self, change: PlanChange) -> StoreFuture<'_, Result<Plan, NotPending>> {
        self.run(move |connection| change_plan(connection, &change))
    }
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    //! The store's contract is tested against both backends in `host/tests/quotas.rs`.
    use super::*;

    fn counter(key: &str, amount: u32, limit: u32) -> Counter {
        Counter {
            key: key.into(),
            amount,
            limit,
            ttl: Duration::from_secs(3600),
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_file_and_its_journal_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = SqliteStore::open(&path).unwrap();
        store.reserve(vec![counter("a", 1, 5)]).await.unwrap();
        for file in [path.clone(), dir.path().join("state.db-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }

    #[tokio::test]
    async fn a_first_take_over_its_limit_is_refused_and_leaves_no_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let counters = vec![counter("a", 1, 5), counter("b", 3, 2)];
        assert_eq!(store.reserve(counters).await, Ok(Reserved::Exceeded(1)));
        assert_eq!(store.value("a".into()).await, Ok(0));
    }

    #[tokio::test]
    async fn while_another_process_writes_a_reservation_waits_on_the_stores_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = SqliteStore::open(&path).unwrap();
        let mut other = Connection::open(&path).unwrap();
        let writing = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let waiting = store.reserve(vec![counter("a", 1, 1), counter("b", 1, 1)]);
        let refused = store.reserve(vec![counter("a", 1, 1)]);
        std::thread::sleep(Duration::from_millis(50));
        writing.commit().unwrap();
        assert_eq!(waiting.await, Ok(Reserved::Granted));
        assert_eq!(refused.await, Ok(Reserved::Exceeded(0)));
        assert_eq!(store.value("b".into()).await, Ok(1));
    }
}
