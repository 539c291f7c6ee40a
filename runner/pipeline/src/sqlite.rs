//! The embedded state store: one SQLite database (SQLite compiled in by rusqlite's `bundled`
//! feature), by default `<service>/.planton/state.db`.
//!
//! Crash safety: the database is in WAL mode with `synchronous=FULL`, and every change is
//! one transaction, so a runner killed at any point leaves the last committed state; a run
//! is stored whole (JSON of [`Run`]) in one row, so no reader sees half an update. Lock
//! changes run in `BEGIN IMMEDIATE` transactions, which makes them compare-and-swap across
//! processes. Several processes on one machine may use the database at once (SQLite's own
//! file locking, with a busy timeout); it is not meant for network file systems.
//!
//! Not here: identities. Whoever can write the file can do anything with it, so the approver
//! list of `planton.yaml` is the only check; teams use the in-cluster store.

use crate::error::{Error, Result};
use crate::store::{LockOutcome, LogChunk, RunFilter, StateStore};
use async_trait::async_trait;
use planton_core::pipeline::{Decision, Lock, Run};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The database's file name inside the `.planton/` folder.
pub const DB_FILE: &str = "state.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE,
    service TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_service ON runs(service, seq);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_run ON decisions(run_id, seq);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    task TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_task ON logs(run_id, task, seq);
CREATE TABLE IF NOT EXISTS locks (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
";

/// The embedded SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database of the service rooted at `service_root`:
    /// `<service_root>/.planton/state.db`.
    pub fn for_service(service_root: &Path) -> Result<SqliteStore> {
        let dir = service_root.join(".planton");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        SqliteStore::open(&dir.join(DB_FILE))
    }

    /// Opens (creating when missing) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let err = |source| Error::Sqlite {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        debug_assert!(mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory"));
        conn.execute_batch("PRAGMA synchronous=FULL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the guard leaves a connection whose last transaction SQLite
        // rolled back; it is safe to go on using it.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        |source| Error::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, what: &str, body: &str) -> Result<T> {
        serde_json::from_str(body).map_err(|source| Error::Corrupt {
            store: self.describe(),
            what: what.to_string(),
            source,
        })
    }
}

fn encode<T: serde::Serialize>(v: &T) -> String {
    // Serializing these plain data types cannot fail (string keys, no foreign types).
    serde_json::to_string(v).unwrap_or_default()
}

#[async_trait]
impl StateStore for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn create_run(&self, mut run: Run) -> Result<Run> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        tx.execute(
            "INSERT INTO runs (service, body) VALUES (?1, '{}')",
            params![run.service],
        )
        .map_err(self.err())?;
        run.id = tx.last_insert_rowid().to_string();
        tx.execute(
            "UPDATE runs SET id = ?1, body = ?2 WHERE seq = ?3",
            params![run.id, encode(&run), tx.last_insert_rowid()],
        )
        .map_err(self.err())?;
        tx.commit().map_err(self.err())?;
        Ok(run)
    }

    async fn save_run(&self, run: &Run) -> Result<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE runs SET body = ?1 WHERE id = ?2",
                params![encode(run), run.id],
            )
            .map_err(self.err())?;
        if n == 0 {
            return Err(Error::NoRun {
                run: run.id.clone(),
                store: self.describe(),
            });
        }
        Ok(())
    }

    async fn run(&self, id: &str) -> Result<Option<Run>> {
        let body: Option<String> = self
            .conn()
            .query_row("SELECT body FROM runs WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        body.map(|b| self.decode(&format!("run {id}"), &b))
            .transpose()
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        let limit = if filter.limit == 0 {
            -1
        } else {
            filter.limit as i64
        };
        let bodies: Vec<(String, String)> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(
                    "SELECT id, body FROM runs WHERE (?1 IS NULL OR service = ?1)
                     ORDER BY seq DESC LIMIT ?2",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![filter.service, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(self.err())?;
            rows.collect::<rusqlite::Result<_>>().map_err(self.err())?
        };
        bodies
            .iter()
            .map(|(id, b)| self.decode(&format!("run {id}"), b))
            .collect()
    }

    async fn add_decision(&self, decision: &Decision) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO decisions (run_id, body) VALUES (?1, ?2)",
                params![decision.run_id, encode(decision)],
            )
            .map_err(self.err())?;
        Ok(())
    }

    async fn decisions(&self, run_id: &str) -> Result<Vec<Decision>> {
        let bodies: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT body FROM decisions WHERE run_id = ?1 ORDER BY seq")
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![run_id], |r| r.get(0))
                .map_err(self.err())?;
            rows.collect::<rusqlite::Result<_>>().map_err(self.err())?
        };
        bodies
            .iter()
            .map(|b| self.decode(&format!("decision of run {run_id}"), b))
            .collect()
    }

    async fn append_log(&self, run_id: &str, task: &str, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.conn()
            .execute(
                "INSERT INTO logs (run_id, task, text) VALUES (?1, ?2, ?3)",
                params![run_id, task, text],
            )
            .map_err(self.err())?;
        Ok(())
    }

    async fn log(&self, run_id: &str, task: &str, from: u64) -> Result<LogChunk> {
        let chunks: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT text FROM logs WHERE run_id = ?1 AND task = ?2 ORDER BY seq")
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![run_id, task], |r| r.get(0))
                .map_err(self.err())?;
            rows.collect::<rusqlite::Result<_>>().map_err(self.err())?
        };
        Ok(slice_log(&chunks.concat(), from))
    }

    async fn acquire_lock(&self, lock: &Lock, replace: Option<&Lock>) -> Result<LockOutcome> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        let current: Option<String> = tx
            .query_row(
                "SELECT body FROM locks WHERE key = ?1",
                params![lock.key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        let current: Option<Lock> = current
            .map(|b| self.decode(&format!("lock {}", lock.key), &b))
            .transpose()?;
        let outcome = match current {
            None => LockOutcome::Acquired { took_over: None },
            Some(c) if c.owner == lock.owner => LockOutcome::Acquired { took_over: None },
            Some(c) if Some(&c) == replace => LockOutcome::Acquired { took_over: Some(c) },
            Some(c) => return Ok(LockOutcome::Held(c)),
        };
        tx.execute(
            "INSERT INTO locks (key, body) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET body = excluded.body",
            params![lock.key, encode(lock)],
        )
        .map_err(self.err())?;
        tx.commit().map_err(self.err())?;
        Ok(outcome)
    }

    async fn renew_lock(&self, key: &str, owner: &str, expires_at: i64) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        let current: Option<String> = tx
            .query_row("SELECT body FROM locks WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        let Some(mut l) = current
            .map(|b| self.decode::<Lock>(&format!("lock {key}"), &b))
            .transpose()?
        else {
            return Ok(false);
        };
        if l.owner != owner {
            return Ok(false);
        }
        l.expires_at = expires_at;
        tx.execute(
            "UPDATE locks SET body = ?1 WHERE key = ?2",
            params![encode(&l), key],
        )
        .map_err(self.err())?;
        tx.commit().map_err(self.err())?;
        Ok(true)
    }

    async fn release_lock(&self, key: &str, owner: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        let current: Option<String> = tx
            .query_row("SELECT body FROM locks WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        if let Some(b) = current {
            let l: Lock = self.decode(&format!("lock {key}"), &b)?;
            if l.owner == owner {
                tx.execute("DELETE FROM locks WHERE key = ?1", params![key])
                    .map_err(self.err())?;
            }
        }
        tx.commit().map_err(self.err())?;
        Ok(())
    }

    async fn locks(&self) -> Result<Vec<Lock>> {
        let bodies: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT body FROM locks ORDER BY key")
                .map_err(self.err())?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
            rows.collect::<rusqlite::Result<_>>().map_err(self.err())?
        };
        bodies.iter().map(|b| self.decode("lock", b)).collect()
    }
}

/// The part of `all` from byte `from` (moved back to a character boundary), and the next
/// offset.
pub(crate) fn slice_log(all: &str, from: u64) -> LogChunk {
    let mut start = usize::try_from(from).unwrap_or(usize::MAX).min(all.len());
    while !all.is_char_boundary(start) {
        start -= 1;
    }
    LogChunk {
        text: all[start..].to_string(),
        next: all.len() as u64,
    }
}
