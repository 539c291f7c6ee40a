//! What the server needs from a pipeline state store: read runs, decisions and logs, and
//! append a decision.
//!
//! A narrow, synchronous trait so that any store serves (the embedded SQLite one and the
//! in-cluster one of `planton-pipeline`, through the adapter in `planton serve`); the
//! server calls it on tokio's blocking pool. The data model is core's
//! ([`planton_core::pipeline`]); the API's JSON is its own ([`crate::views`]).

use planton_core::pipeline::{Decision, Run};

/// A store failure, shown to the client as a 500 with its message.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// A piece of a task's stack-job log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogChunk {
    /// The text from the requested offset.
    pub text: String,
    /// The offset to ask from next time (bytes from the log's start).
    pub next: u64,
}

/// Read and decide access to a pipeline state store.
pub trait Backend: Send + Sync + 'static {
    /// The latest runs, newest first, of one service or of all; at most `limit`.
    fn runs(&self, service: Option<&str>, limit: usize) -> Result<Vec<Run>, BackendError>;
    /// One run, if it exists.
    fn run(&self, id: &str) -> Result<Option<Run>, BackendError>;
    /// The decisions recorded for a run, oldest first.
    fn decisions(&self, run: &str) -> Result<Vec<Decision>, BackendError>;
    /// A task's log from byte `offset` on.
    fn log(&self, run: &str, task: &str, offset: u64) -> Result<LogChunk, BackendError>;
    /// Appends a decision (the server has checked who decides and what is pending).
    fn decide(&self, decision: &Decision) -> Result<(), BackendError>;
}
