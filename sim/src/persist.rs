//! The simulator's accounts kept in a file, so that separate processes (one `twilio-host run`
//! after another, or several at once) see one simulated Twilio. Every request takes an
//! exclusive lock on `<file>.lock`, reloads the file when another process has replaced it since
//! this one last read or wrote it, and writes it back (a temporary file renamed over it) when
//! the request changed anything. A file that disappears (a reset) means a fresh state.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::SimAccount;
use crate::seed;
use crate::state::AccountData;
use crate::util::sid::hex32;

/// The format of the file; a file of another version is refused, not guessed at.
const VERSION: u32 = 1;

/// What the file holds, as read.
#[derive(Deserialize)]
struct Saved {
    version: u32,
    accounts: Vec<AccountData>,
}

/// What the file holds, as written (the accounts borrowed).
#[derive(Serialize)]
struct Saving<'a> {
    version: u32,
    accounts: &'a [AccountData],
}

/// Which version of the file a process last saw: a write by anyone replaces the file (rename),
/// which changes the inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    device: u64,
    inode: u64,
    len: u64,
    modified_ns: i64,
}

/// The lock on the state, held while one request reads and changes it (released on drop).
pub(crate) struct Held {
    _file: File,
}

/// A state file and what this process last read from or wrote to it.
pub(crate) struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
    /// The accounts the simulator was started with (seeded when the file lacks them).
    configured: Vec<SimAccount>,
    seen: Option<Stamp>,
    /// The bytes last read or written, so an unchanged state is not written again.
    saved: Vec<u8>,
}

impl StateFile {
    /// Opens (or creates) the state at `path` and returns it with the accounts to serve: those
    /// kept in the file, and the `configured` ones it lacks, freshly seeded.
    pub(crate) fn open(
        path: &Path,
        configured: &[SimAccount],
    ) -> anyhow::Result<(StateFile, Vec<AccountData>)> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        }
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let mut file = StateFile {
            path: path.to_owned(),
            lock_path: lock_path.into(),
            configured: configured.to_vec(),
            seen: None,
            saved: Vec::new(),
        };
        let held = file
            .lock()
            .with_context(|| format!("cannot lock {}", file.lock_path.display()))?;
        let accounts = file.read()?;
        file.save_or_fail(&accounts, &held)?;
        Ok((file, accounts))
    }

    /// Takes the lock and, when the file changed since this process last saw it, replaces
    /// `accounts` with what it holds now. `None` (after a warning) when the lock cannot be taken:
    /// the request then works on what this process has.
    pub(crate) fn refresh(&mut self, accounts: &mut Vec<AccountData>) -> Option<Held> {
        let held = match self.lock() {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(path = %self.lock_path.display(), %error, "cannot lock the simulator state");
                return None;
            }
        };
        if stamp(&self.path) != self.seen {
            match self.read() {
                Ok(latest) => *accounts = latest,
                Err(error) => {
                    tracing::warn!(%error, "keeping this process's simulator state");
                }
            }
        }
        Some(held)
    }

    /// Writes `accounts` when they differ from what the file holds (a failure is a warning: this
    /// process keeps serving what it has).
    pub(crate) fn save(&mut self, accounts: &[AccountData], held: Held) {
        if let Err(error) = self.save_or_fail(accounts, &held) {
            tracing::warn!(%error, "cannot save the simulator state");
        }
    }

    fn lock(&self) -> std::io::Result<Held> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&self.lock_path)?;
        file.lock()?;
        Ok(Held { _file: file })
    }

    /// The accounts to serve: the file's (all of them), then the configured ones it lacks.
    fn read(&mut self) -> anyhow::Result<Vec<AccountData>> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => Vec::new(),
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        let mut accounts = if bytes.is_empty() {
            Vec::new()
        } else {
            let saved: Saved = serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not a saved simulator state", self.path.display())
            })?;
            anyhow::ensure!(
                saved.version == VERSION,
                "{} is a simulator state of version {}, this simulator reads version {VERSION}",
                self.path.display(),
                saved.version
            );
            saved.accounts
        };
        for account in &self.configured {
            if !accounts
                .iter()
                .any(|data| data.account.account_sid == account.account_sid)
            {
                accounts.push(seed::seed_account(account.clone(), new_salt(account)));
            }
        }
        self.seen = stamp(&self.path);
        self.saved = bytes;
        Ok(accounts)
    }

    fn save_or_fail(&mut self, accounts: &[AccountData], _held: &Held) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(&Saving {
            version: VERSION,
            accounts,
        })?;
        if bytes == self.saved && stamp(&self.path) == self.seen {
            return Ok(());
        }
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        write_private(&temporary, &bytes)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        fs::rename(&temporary, &self.path)
            .with_context(|| format!("cannot replace {}", self.path.display()))?;
        self.seen = stamp(&self.path);
        self.saved = bytes;
        Ok(())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = fs::metadata(path).ok()?;
    Some(Stamp {
        device: metadata.dev(),
        inode: metadata.ino(),
        len: metadata.len(),
        modified_ns: metadata.mtime().saturating_mul(1_000_000_000) + metadata.mtime_nsec(),
    })
}

/// A salt no earlier state of this machine has used: the time in nanoseconds, the process and
/// the account, hashed.
fn new_salt(account: &SimAccount) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hex32(&[
        "sid-salt",
        &nanos.to_string(),
        &std::process::id().to_string(),
        &account.account_sid,
    ])
}
