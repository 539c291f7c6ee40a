//! One module per subcommand. Each turns arguments into work on `planton-core` and prints.

pub mod build;
pub mod deploy;
pub mod deploy_ecs;
pub mod health;
pub mod pipeline;
pub mod render;
pub mod schema;
pub mod serve;
pub mod service;
pub mod validate;

/// A command's outcome, mapped to the process exit status by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the input has problems (build error, validation errors).
    Failed,
    /// Exit 2: the command could not run (bad usage, unreadable files).
    CouldNotRun,
    /// A command's own documented status (`pipeline run`: 3 when stopped at a gate).
    Code(i32),
}

impl Outcome {
    /// The process exit status.
    pub fn code(self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::CouldNotRun => 2,
            Outcome::Code(c) => c,
        }
    }
}
