//! The embedded store: one SQLite file (WAL journal), shared by every process on the machine.
//! A reservation adds to every counter in one `BEGIN IMMEDIATE` transaction and rolls back if
//! one passes its limit, so writers queue on the file's lock and never interleave.
//!
//! An operation runs right on the caller's task when this process's connection is free and no
//! other process holds the file's lock (tens of microseconds). Otherwise it goes to the
//! store's own thread, which waits for the lock (up to [`BUSY_TIMEOUT`]) without holding up the
//! async runtime, and commits everything queued meanwhile in one transaction, each operation
//! in a savepoint of its own (a group commit: under load, one WAL write for many sends).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Counter, Reserved, StateStore, StoreError, StoreFuture};

/// How long an operation waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most operations one group commit takes.
const MAX_BATCH: usize = 256;

/// How often the store's thread moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// An SQLite state file.
pub struct SqliteStore {
    path: PathBuf,
    /// The connection; its busy timeout is 0 except while the store's thread holds it.
    connection: Arc<Mutex<Connection>>,
    /// Operations for the store's thread.
    queue: Mutex<mpsc::Sender<Job>>,
}

/// An operation for the store's thread: run inside a savepoint of the batch's transaction
/// (or told why there is none), it says whether to keep its changes and how to answer its
/// caller once the batch is committed.
type Job = Box<dyn FnOnce(Result<&Connection, String>) -> Outcome + Send>;

/// What a job did in its batch.
struct Outcome {
    /// Whether its changes are kept (a refused reservation's are not).
    keep: bool,
    /// Answers the caller with the batch's commit result (or the job's own error).
    answer: Box<dyn FnOnce(Result<(), String>) + Send>,
}

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
        let connection = Connection::open(path)
            .and_then(|connection| {
                connection.busy_timeout(BUSY_TIMEOUT)?;
                connection.execute_batch(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     CREATE TABLE IF NOT EXISTS counters (
                         key TEXT PRIMARY KEY,
                         value INTEGER NOT NULL,
                         expires_at INTEGER NOT NULL
                     ) WITHOUT ROWID;",
                )?;
                connection.execute("DELETE FROM counters WHERE expires_at <= ?1", [now()])?;
                connection.busy_timeout(Duration::ZERO)?;
                // Checkpoints (which fsync) run on the store's thread, not in a request.
                connection.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
                Ok(connection)
            })
            .map_err(|e| fail(e.to_string()))?;
        let checkpoints = Connection::open(path)
            .and_then(|c| c.busy_timeout(BUSY_TIMEOUT).map(|()| c))
            .map_err(|e| fail(e.to_string()))?;
        let connection = Arc::new(Mutex::new(connection));
        let (queue, jobs) = mpsc::channel();
        let shared = Arc::clone(&connection);
        std::thread::Builder::new()
            .name("twilio-host-state".into())
            .spawn(move || serve_queue(&shared, &jobs, &checkpoints))
            .map_err(|e| fail(format!("starting the store's thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            connection,
            queue: Mutex::new(queue),
        })
    }

    /// Runs `work` in a transaction (right here, or on the store's thread when the
    /// connection or the file is busy); `work` says whether its changes are kept.
    fn run<T: Send + 'static>(
        &self,
        work: impl Fn(&Connection) -> rusqlite::Result<(T, bool)> + Send + Sync + 'static,
    ) -> StoreFuture<'_, T> {
        let location = self.path.display().to_string();
        let fail = move |message: String| StoreError {
            location: location.clone(),
            message,
        };
        if let Ok(mut connection) = self.connection.try_lock() {
            let done = in_transaction(&mut connection, &work);
            if !done.as_ref().is_err_and(is_busy) {
                return Box::pin(std::future::ready(done.map_err(|e| fail(e.to_string()))));
            }
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let done = connection
                .map_err(|e| e.to_string())
                .and_then(|connection| work(connection).map_err(|e| e.to_string()));
            match done {
                Ok((value, keep)) => Outcome {
                    keep,
                    answer: Box::new(move |committed| {
                        let _ = answer.send(committed.map(|()| value));
                    }),
                },
                Err(error) => Outcome {
                    keep: false,
                    answer: Box::new(move |_| {
                        let _ = answer.send(Err(error));
                    }),
                },
            }
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

/// Runs `work` in its own `BEGIN IMMEDIATE` transaction, committed when `work` keeps it.
fn in_transaction<T>(
    connection: &mut Connection,
    work: impl Fn(&Connection) -> rusqlite::Result<(T, bool)>,
) -> rusqlite::Result<T> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (value, keep) = work(&transaction)?;
    if keep {
        transaction.commit()?;
    }
    Ok(value)
}

/// The store's thread, until the store is dropped: takes every job queued, runs them in one
/// transaction (waiting for the file's lock), commits, answers each; and every
/// [`CHECKPOINT_EVERY`] checkpoints the write-ahead log through a connection of its own, so that
/// no request waits for the checkpoint's fsync.
fn serve_queue(
    connection: &Mutex<Connection>,
    jobs: &mpsc::Receiver<Job>,
    checkpoints: &Connection,
) {
    let mut checkpointed = Instant::now();
    loop {
        if checkpointed.elapsed() >= CHECKPOINT_EVERY {
            // PASSIVE: copies what no reader needs into the database, blocking no writer.
            if let Err(error) = checkpoints.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                tracing::debug!(%error, "state store checkpoint failed; the next one retries");
            }
            checkpointed = Instant::now();
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
            Err(error) => batch
                .into_iter()
                .map(|job| (job(Err(error.to_string())).answer, Err(error.to_string())))
                .collect(),
        };
        let _ = connection.busy_timeout(Duration::ZERO);
        drop(connection);
        for (answer, result) in answers {
            answer(result);
        }
    }
}

/// Runs `batch` in one transaction, each job in a savepoint; every job's answer with what to
/// tell it.
type Answers = Vec<(
    Box<dyn FnOnce(Result<(), String>) + Send>,
    Result<(), String>,
)>;

fn run_batch(connection: &mut Connection, batch: Vec<Job>) -> Answers {
    let mut transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate)
    {
        Ok(transaction) => transaction,
        Err(error) => {
            return batch
                .into_iter()
                .map(|job| (job(Err(error.to_string())).answer, Err(error.to_string())))
                .collect();
        }
    };
    let mut answers: Answers = Vec::with_capacity(batch.len());
    for job in batch {
        let (outcome, own) = match transaction.savepoint() {
            Ok(savepoint) => {
                let outcome = job(Ok(&savepoint));
                // A savepoint not committed rolls back when dropped.
                let kept = if outcome.keep {
                    savepoint.commit()
                } else {
                    Ok(())
                };
                (outcome, kept.map_err(|e| e.to_string()))
            }
            Err(error) => (job(Err(error.to_string())), Err(error.to_string())),
        };
        answers.push((outcome.answer, own));
    }
    let committed = transaction.commit().map_err(|e| e.to_string());
    answers
        .into_iter()
        .map(|(answer, own)| (answer, own.and(committed.clone())))
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

impl StateStore for SqliteStore {
    fn reserve(&self, counters: Vec<Counter>) -> StoreFuture<'_, Reserved> {
        self.run(move |connection| {
            let now = now();
            for (index, counter) in counters.iter().enumerate() {
                // Counters of past windows have other keys; an expired row is only purged.
                let value: i64 = connection
                    .prepare_cached(
                        "INSERT INTO counters (key, value, expires_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (key) DO UPDATE SET value = value + excluded.value
                         RETURNING value",
                    )?
                    .query_row(
                        params![
                            counter.key,
                            counter.amount,
                            now + counter.ttl.as_secs() as i64
                        ],
                        |row| row.get(0),
                    )?;
                if value > i64::from(counter.limit) {
                    // Not kept: every counter of this reservation rolls back.
                    return Ok((Reserved::Exceeded(index), false));
                }
            }
            Ok((Reserved::Granted, true))
        })
    }

    fn release(&self, counters: Vec<Counter>) -> StoreFuture<'_, ()> {
        self.run(move |connection| {
            for counter in &counters {
                connection
                    .prepare_cached(
                        "UPDATE counters SET value = MAX(value - ?2, 0) WHERE key = ?1",
                    )?
                    .execute(params![counter.key, counter.amount])?;
            }
            Ok(((), true))
        })
    }

    fn value(&self, key: String) -> StoreFuture<'_, u64> {
        self.run(move |connection| {
            let value: Option<i64> = connection
                .prepare_cached("SELECT value FROM counters WHERE key = ?1 AND expires_at > ?2")?
                .query_row(params![key, now()], |row| row.get(0))
                .optional()?;
            Ok((value.unwrap_or(0).max(0) as u64, false))
        })
    }
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Creates `dir` and its missing parents; a directory this call creates is owner-only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    //! The store's contract is tested against both backends in `host/tests/quotas.rs`.
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_directory_it_creates_is_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        SqliteStore::open(&dir.path().join("state/state.db")).unwrap();
        let mode = std::fs::metadata(dir.path().join("state"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
