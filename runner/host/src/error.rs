//! The errors of the plugin host: one enum, every variant naming what failed and why.
//!
//! Errors from a call carry a [`CallSite`] (plugin, operation, manifest kind), so a caller
//! can fail only the tasks of that plugin's kind and keep going with the rest.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The result type of the plugin host.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed cause, for errors from wasmtime (whose error type is not a `std` error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One of the contract's calls into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Instantiating the module, before any call.
    Instantiate,
    /// Reading the contract version.
    ContractVersion,
    /// The optional `planton_init`, run once at load before the snapshot.
    Init,
    /// `describe`.
    Describe,
    /// `validate`.
    Validate,
    /// `render`.
    Render,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Instantiate => "instantiate",
            Op::ContractVersion => "contract version",
            Op::Init => "init",
            Op::Describe => "describe",
            Op::Validate => "validate",
            Op::Render => "render",
        })
    }
}

/// Where a call failed: which plugin, which operation, and for which manifest kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// The plugin's name (from `describe`), or its source while loading.
    pub plugin: String,
    /// The operation.
    pub op: Op,
    /// The manifest's `kind`, for `validate` and `render` of a manifest that has one.
    pub kind: Option<String>,
}

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin `{}`: {}", self.plugin, self.op)?;
        if let Some(kind) = &self.kind {
            write!(f, " of {kind}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong loading or calling a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The wasmtime engine could not be configured.
    #[error("cannot create the WebAssembly engine")]
    Engine {
        /// Wasmtime's reason.
        #[source]
        source: BoxError,
    },
    /// A plugin file could not be read.
    #[error("cannot read plugin {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A pinned digest is not a sha256 hex string.
    #[error(
        "invalid sha256 pin `{digest}` for plugin {plugin}: expected 64 hex digits, optionally prefixed `sha256:`"
    )]
    InvalidDigest {
        /// The plugin's source.
        plugin: String,
        /// The pin as given.
        digest: String,
    },
    /// A plugin file's content does not match its pinned digest.
    #[error(
        "plugin {plugin} does not match its pinned digest: expected sha256 {expected}, found {actual}"
    )]
    DigestMismatch {
        /// The plugin's source.
        plugin: String,
        /// The pinned digest (lower-case hex).
        expected: String,
        /// The file's digest (lower-case hex).
        actual: String,
    },
    /// A built-in plugin was not compiled into this binary.
    #[error(
        "built-in plugin `{name}` is not in this binary (it was built with PLANTON_SKIP_PLUGIN_BUILD set)"
    )]
    BuiltinMissing {
        /// The built-in's name.
        name: String,
    },
    /// No built-in plugin has this name.
    #[error("there is no built-in plugin `{name}`")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
    },
    /// The module is not valid WebAssembly or could not be compiled.
    #[error("cannot compile plugin {plugin}")]
    Compile {
        /// The plugin's source.
        plugin: String,
        /// Wasmtime's reason.
        #[source]
        source: BoxError,
    },
    /// The module imports something; plugins must be import-free.
    #[error("plugin {plugin} imports {imports:?}: plugins must not import anything")]
    Imports {
        /// The plugin's source.
        plugin: String,
        /// The imports, as `module::name`.
        imports: Vec<String>,
    },
    /// The module lacks an export of the contract, or has it with the wrong type.
    #[error("plugin {plugin} does not export `{export}` as {expected}")]
    MissingExport {
        /// The plugin's source.
        plugin: String,
        /// The export's name.
        export: String,
        /// The expected type, e.g. `func (i32, i32) -> i64`.
        expected: String,
    },
    /// The plugin was built for a contract version this host does not support.
    #[error(
        "plugin {plugin} uses contract version {found}, this planton supports {supported:?}; {}",
        upgrade_hint(*.found)
    )]
    UnsupportedContract {
        /// The plugin's source.
        plugin: String,
        /// The version the plugin reported.
        found: u32,
        /// The versions this host supports.
        supported: Vec<u32>,
    },
    /// `describe` reports another contract version than the exported one.
    #[error(
        "plugin {plugin} exports contract version {exported} but describes itself as version {described}"
    )]
    ContractMismatch {
        /// The plugin's source.
        plugin: String,
        /// The version from the export.
        exported: u32,
        /// The version from `describe`.
        described: u32,
    },
    /// Two loaded plugins claim the same kind.
    #[error("kind {api_version}/{kind} is claimed by both plugin `{first}` and plugin `{second}`")]
    DuplicateKind {
        /// The kind's `apiVersion`.
        api_version: String,
        /// The kind.
        kind: String,
        /// The plugin loaded first.
        first: String,
        /// The plugin that was refused.
        second: String,
    },
    /// The call ran past its wall-clock deadline and was interrupted.
    #[error("{site}: exceeded its deadline of {timeout:?} and was stopped")]
    Deadline {
        /// Where.
        site: CallSite,
        /// The deadline.
        timeout: Duration,
    },
    /// The plugin asked for more linear memory than allowed.
    #[error("{site}: exceeded its memory limit of {limit} bytes (asked for {requested} bytes)")]
    MemoryLimit {
        /// Where.
        site: CallSite,
        /// The limit.
        limit: usize,
        /// The memory size the plugin asked for.
        requested: usize,
    },
    /// The plugin returned more bytes than allowed.
    #[error("{site}: returned {size} bytes, more than the output limit of {limit} bytes")]
    OutputTooLarge {
        /// Where.
        site: CallSite,
        /// The size the plugin returned.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access, a stack overflow…).
    #[error("{site}: trapped: {message}")]
    Trap {
        /// Where.
        site: CallSite,
        /// The trap, as wasmtime describes it.
        message: String,
        /// Wasmtime's error, with the guest backtrace when there is one.
        #[source]
        source: BoxError,
    },
    /// The plugin's result is not what the contract says (bad pointer, not JSON, wrong shape).
    #[error("{site}: returned a malformed result: {reason}")]
    BadOutput {
        /// Where.
        site: CallSite,
        /// What is wrong with it.
        reason: String,
    },
    /// The plugin ran fine and refused the request (for example, an invalid manifest).
    #[error("{site}: {message}")]
    Plugin {
        /// Where.
        site: CallSite,
        /// The plugin's message.
        message: String,
    },
}

impl Error {
    /// The call that failed, for errors raised while calling a plugin.
    pub fn site(&self) -> Option<&CallSite> {
        match self {
            Error::Deadline { site, .. }
            | Error::MemoryLimit { site, .. }
            | Error::OutputTooLarge { site, .. }
            | Error::Trap { site, .. }
            | Error::BadOutput { site, .. }
            | Error::Plugin { site, .. } => Some(site),
            _ => None,
        }
    }

    /// A copy of a deadline, memory-limit or output-limit error (the limits that stop a
    /// plugin for the rest of the run); `None` for every other error.
    pub(crate) fn limit_copy(&self) -> Option<Error> {
        match self {
            Error::Deadline { site, timeout } => Some(Error::Deadline {
                site: site.clone(),
                timeout: *timeout,
            }),
            Error::MemoryLimit {
                site,
                limit,
                requested,
            } => Some(Error::MemoryLimit {
                site: site.clone(),
                limit: *limit,
                requested: *requested,
            }),
            Error::OutputTooLarge { site, size, limit } => Some(Error::OutputTooLarge {
                site: site.clone(),
                size: *size,
                limit: *limit,
            }),
            _ => None,
        }
    }

    /// True when the plugin broke a sandbox limit or the contract, rather than refusing a
    /// request with its own message ([`Error::Plugin`]).
    pub fn is_sandbox_failure(&self) -> bool {
        self.site().is_some() && !matches!(self, Error::Plugin { .. })
    }
}

/// Converts a wasmtime error into a boxed `std` error, keeping its message chain.
pub(crate) fn boxed(error: wasmtime::Error) -> BoxError {
    error.into_boxed_dyn_error()
}

/// What to change in a plugin of contract version `found` to run on this host.
fn upgrade_hint(found: u32) -> &'static str {
    match found {
        1 => {
            "to move it to version 2, declare each kind's `target` (\"kubernetes\" or \"aws\") in describe and return a render tagged with its target (`{\"target\": \"kubernetes\", \"objects\": [...]}`, or `{\"target\": \"aws\", \"operations\": [...]}` of typed AWS operations) instead of `{\"objects\": [...]}`; with planton-plugin-sdk: set `KindInfo::target`, return `RenderOutput` from `Plugin::render` (`RenderResponse { objects }.into()`), and rebuild (see docs/plugin-contract.md)"
        }
        _ => "rebuild the plugin against a supported planton-plugin-sdk",
    }
}
