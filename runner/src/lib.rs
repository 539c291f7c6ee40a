//! The `planton` runner: the only crate that touches files, the network, clusters or AWS.
//!
//! It reads a service repository from disk ([`files::DiskFiles`]), runs `planton-core` on it,
//! hosts the target plugins, and prints or writes results.
//! `main.rs` only parses arguments ([`cli`]) and maps errors to exit codes.

pub mod cli;
pub mod commands;
pub mod files;
pub mod output;
pub mod plugins;
pub mod report;
pub mod signals;

/// The plugin host, a crate of its own (`runner/host`), under the name the runner has always used.
pub use planton_host as wasm;
