//! The state store interface: where runs, tasks, gate decisions, logs and locks live.
//!
//! One trait, two implementations that pass the same tests: [`crate::sqlite::SqliteStore`]
//! (embedded, in the service's `.planton/` folder, for one machine) and the in-cluster store
//! (Kubernetes objects in a namespace, for teams). The trait is async (through
//! `async_trait`, so `Arc<dyn StateStore>` works) because the cluster store talks to the
//! API server; the SQLite store does its short, local work inline.
//!
//! Concurrency contract, which both stores keep:
//! - A run (with its tasks) is written whole by [`StateStore::save_run`], only by the runner
//!   that holds the run's lock ([`run_lock_key`]); readers always see a whole run.
//! - Gate decisions are append-only records ([`StateStore::add_decision`]); `approve` and
//!   `reject` never write the run, so they cannot race the runner.
//! - Locks are compare-and-swap: [`StateStore::acquire_lock`] replaces a held lock only when
//!   the caller names exactly the lock it found stale.
//! - Logs are append-only per task; [`StateStore::log`] reads from a byte offset, so a
//!   follower polls with the `next` it got.

use crate::error::Result;
use async_trait::async_trait;
use planton_core::pipeline::{Decision, Lock, Run, Task};

/// The lock a runner holds on a run while it drives it.
pub fn run_lock_key(run_id: &str) -> String {
    format!("run/{run_id}")
}

/// The answer to [`StateStore::acquire_lock`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockOutcome {
    /// The caller holds the lock now. `took_over` is the stale lock it replaced.
    Acquired {
        /// The stale lock that was replaced, to be reported.
        took_over: Option<Lock>,
    },
    /// Someone else holds it.
    Held(Lock),
}

/// A piece of a task's log ([`StateStore::log`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogChunk {
    /// The text from the offset asked for to the end of what is stored.
    pub text: String,
    /// The offset to ask from next time.
    pub next: u64,
}

/// Which runs [`StateStore::runs`] lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this service's runs.
    pub service: Option<String>,
    /// At most this many (0: all), newest first.
    pub limit: usize,
}

/// Where pipeline state lives. See the module doc for the concurrency contract.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Where the store is, for messages (`sqlite:<path>`, `kubernetes:<namespace>`).
    fn describe(&self) -> String;

    /// Stores a new run and gives it its id (`run.id` is ignored); returns the stored run.
    async fn create_run(&self, run: Run) -> Result<Run>;

    /// Replaces a stored run (tasks included) atomically.
    async fn save_run(&self, run: &Run) -> Result<()>;

    /// The run with this id, if any.
    async fn run(&self, id: &str) -> Result<Option<Run>>;

    /// Runs, newest first.
    async fn runs(&self, filter: &RunFilter) -> Result<Vec<Run>>;

    /// Appends a gate decision.
    async fn add_decision(&self, decision: &Decision) -> Result<()>;

    /// Every decision recorded for a run, oldest first.
    async fn decisions(&self, run_id: &str) -> Result<Vec<Decision>>;

    /// Appends text to a task's log.
    async fn append_log(&self, run_id: &str, task: &str, text: &str) -> Result<()>;

    /// A task's log from byte offset `from`.
    async fn log(&self, run_id: &str, task: &str, from: u64) -> Result<LogChunk>;

    /// Takes `lock.key` for `lock.owner`: when it is free, when the owner already holds it
    /// (renewed to `lock.expires_at`), or when the current holder equals `replace` (a lock
    /// the caller judged stale). Otherwise returns the holder.
    async fn acquire_lock(&self, lock: &Lock, replace: Option<&Lock>) -> Result<LockOutcome>;

    /// Moves the expiry of a lock the owner holds; false when it does not hold it any more.
    async fn renew_lock(&self, key: &str, owner: &str, expires_at: i64) -> Result<bool>;

    /// Gives up a lock the owner holds (nothing when it does not).
    async fn release_lock(&self, key: &str, owner: &str) -> Result<()>;

    /// Every lock held (stale ones too).
    async fn locks(&self) -> Result<Vec<Lock>>;

    /// Who is deciding `task` of `run`, as this store establishes it, or
    /// [`crate::Error::Forbidden`]. The embedded store trusts the name it is given (anyone
    /// who can write its file can do anything with it); the cluster store asks the API server
    /// who the credentials belong to and whether RBAC lets them approve.
    async fn decider(&self, claimed: &str, run: &Run, task: &Task) -> Result<String> {
        let _ = (run, task);
        Ok(claimed.to_string())
    }
}
