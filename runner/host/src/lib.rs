//! `planton-host`, the WebAssembly plugin host: loads target plugins and calls them in a sandbox.
//!
//! A plugin computes, the host acts: a plugin is a core WebAssembly module with no imports
//! that turns JSON requests into JSON results (the contract is `docs/plugin-contract.md`,
//! the guest side is `planton_plugin_sdk::abi`).
//! The main types are [`Host`] (one engine, a module cache, the loaded plugins),
//! [`HostConfig`], [`PluginSource`] and [`Plugin`] (`describe`, `validate`, `render`).
//! Every failure is an [`Error`]; those of a call name the plugin, the operation and the
//! manifest kind ([`CallSite`]), so callers can fail just the tasks of that kind.
//!
//! Layout: `engine` is the only place that configures wasmtime; `cache` keeps precompiled
//! modules on disk; `plugin` checks modules and runs calls; `preinit` snapshots a plugin after
//! its optional `planton_init`; `host` loads and looks up plugins; `builtin` embeds the
//! plugins shipped in the binary.
//!
//! Invariants:
//! - a module that imports anything, lacks a contract export, or reports an unsupported
//!   contract version is refused at load, before `describe` or any other call runs;
//! - every call runs in a fresh store with a memory limit, a wall-clock deadline (epoch
//!   interruption, re-armed before each guest call) and an output size cap; a plugin that
//!   broke one of these limits is not run again (its later calls fail with the same error);
//! - precompiled artifacts are deserialized only from the runner's own cache.
//!
//! What it is not: it never performs the operations a plugin renders, and it gives plugins
//! no capability at all (no imports, so no clock, IO, randomness or network).
//! The `planton` CLI re-exports this crate as `planton_runner::wasm`.
//!
//! ```
//! use planton_host::{Host, HostConfig, PluginSource};
//! let host = Host::new(HostConfig::default())?;
//! // A module that imports anything is refused before it runs.
//! let importing = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x02\x07\x01\x01m\x01f\0\0".to_vec();
//! let err = host.compile(PluginSource::Bytes { label: "importer".into(), bytes: importing }).unwrap_err();
//! assert!(err.to_string().contains("must not import anything"), "{err}");
//! # Ok::<(), planton_host::Error>(())
//! ```

mod builtin;
mod cache;
mod engine;
mod error;
mod host;
mod plugin;
mod preinit;

pub use builtin::names as builtin_names;
pub use cache::CacheOutcome;
pub use error::{BoxError, CallSite, Error, Op, Result};
pub use host::{Host, HostConfig, PluginSource};
pub use plugin::{Limits, Plugin};

/// The contract versions this host can run; a plugin reporting any other is refused.
pub const SUPPORTED_CONTRACT_VERSIONS: &[u32] = &[planton_plugin_sdk::CONTRACT_VERSION];
