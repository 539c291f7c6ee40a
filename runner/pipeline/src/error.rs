//! The pipeline crate's error type: what a state store or the engine could not do.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Messages are lower-case and name the store, run and task involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQLite database could not be opened, read or written.
    #[error("state store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored record does not read back (written by another version, or damaged).
    #[error("state store {store}: stored {what} does not read: {source}")]
    Corrupt {
        /// The store.
        store: String,
        /// Which record.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// No run with this id.
    #[error("no run `{run}` in {store}")]
    NoRun {
        /// The run id asked for.
        run: String,
        /// The store.
        store: String,
    },
    /// The run has no task of this name.
    #[error("run `{run}` has no task `{task}` (its tasks: {known})")]
    NoTask {
        /// The run.
        run: String,
        /// The task asked for.
        task: String,
        /// The run's tasks, comma-separated.
        known: String,
    },
    /// Someone who may not decide a gate tried to.
    #[error("{who} may not approve or reject task `{task}` of run `{run}`: {why}")]
    Forbidden {
        /// The identity that tried.
        who: String,
        /// The run.
        run: String,
        /// The task.
        task: String,
        /// Who may, or what the store answered.
        why: String,
    },
    /// The task is not waiting at its gate.
    #[error("task `{task}` of run `{run}` is not awaiting approval (it is {state})")]
    NotAwaiting {
        /// The run.
        run: String,
        /// The task.
        task: String,
        /// Its state and result.
        state: String,
    },
    /// Another runner holds the lock.
    #[error(
        "{key} is locked by {owner} (run {run}) until {until}; retry later or pass --wait-lock"
    )]
    Locked {
        /// The lock key (service/environment, or run/<id>).
        key: String,
        /// Its holder.
        owner: String,
        /// The holder's run.
        run: String,
        /// When it lapses (RFC 3339).
        until: String,
    },
    /// A store backed by a remote service (the cluster) failed.
    #[error("state store {store}: {message}")]
    Remote {
        /// The store.
        store: String,
        /// What failed.
        message: String,
    },
    /// A transition the state machine refuses (a bug or a concurrent writer).
    #[error(transparent)]
    Transition(#[from] planton_core::pipeline::TransitionError),
    /// Preparing or running a stack job failed before it could report a result.
    #[error("stack job of task `{task}`: {message}")]
    Job {
        /// The task.
        task: String,
        /// What failed.
        message: String,
    },
    /// A file of the service or the store's folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
