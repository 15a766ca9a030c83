//! The embedded store: one SQLite file (WAL journal), shared by every process on the machine.
//! A reservation is one `BEGIN IMMEDIATE` transaction, so writers queue on the file's lock
//! (waiting up to [`BUSY_TIMEOUT`]) and never interleave.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Counter, Reserved, StateStore, StoreError, StoreFuture};

/// How long a reservation waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An SQLite state file.
pub struct SqliteStore {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
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
        let connection = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| {
                connection.execute_batch(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     CREATE TABLE IF NOT EXISTS counters (
                         key TEXT PRIMARY KEY,
                         value INTEGER NOT NULL,
                         expires_at INTEGER NOT NULL
                     );",
                )
            })
            .and_then(|()| {
                connection.execute("DELETE FROM counters WHERE expires_at <= ?1", [now()])
            })
            .map_err(|e| fail(e.to_string()))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` on the connection on a blocking thread.
    fn with_connection<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let connection = Arc::clone(&self.connection);
        let location = self.path.display().to_string();
        Box::pin(async move {
            let fail = |message: String| StoreError {
                location: location.clone(),
                message,
            };
            tokio::task::spawn_blocking(move || {
                let mut connection = connection
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                work(&mut connection)
            })
            .await
            .map_err(|e| fail(e.to_string()))?
            .map_err(|e| fail(e.to_string()))
        })
    }
}

impl StateStore for SqliteStore {
    fn reserve(&self, counters: Vec<Counter>) -> StoreFuture<'_, Reserved> {
        self.with_connection(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now();
            for (index, counter) in counters.iter().enumerate() {
                let current: i64 = transaction
                    .query_row(
                        "SELECT value FROM counters WHERE key = ?1 AND expires_at > ?2",
                        params![counter.key, now],
                        |row| row.get(0),
                    )
                    .optional()?
                    .unwrap_or(0);
                if current + i64::from(counter.amount) > i64::from(counter.limit) {
                    return Ok(Reserved::Exceeded(index));
                }
            }
            for counter in &counters {
                transaction.execute(
                    "INSERT INTO counters (key, value, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                    params![
                        counter.key,
                        counter.amount,
                        now + counter.ttl.as_secs() as i64
                    ],
                )?;
            }
            transaction.commit()?;
            Ok(Reserved::Granted)
        })
    }

    fn release(&self, counters: Vec<Counter>) -> StoreFuture<'_, ()> {
        self.with_connection(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for counter in &counters {
                transaction.execute(
                    "UPDATE counters SET value = MAX(value - ?2, 0) WHERE key = ?1",
                    params![counter.key, counter.amount],
                )?;
            }
            transaction.commit()
        })
    }

    fn value(&self, key: String) -> StoreFuture<'_, u64> {
        self.with_connection(move |connection| {
            let value: Option<i64> = connection
                .query_row(
                    "SELECT value FROM counters WHERE key = ?1 AND expires_at > ?2",
                    params![key, now()],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(value.unwrap_or(0).max(0) as u64)
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
