//! The plugin host: configuration, plugin sources, loading, and lookup by kind.
//!
//! Invariants: one [`Host`] owns one engine (built in the `engine` module); every plugin
//! is loaded through [`Host::load`], which checks a file's pinned sha256 before compiling it;
//! no two loaded plugins claim the same kind.
//!
//! What it is not: it does not read the service configuration (which plugins to load, with
//! which pins); callers build [`PluginSource`]s from it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::builtin;
use crate::cache::{ModuleCache, compile, sha256_hex};
use crate::engine::Runtime;
use crate::error::{Error, Result};
use crate::plugin::{Limits, Plugin};
use crate::preinit;

/// How a [`Host`] runs plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Where precompiled modules are cached; `None` compiles in memory on every load.
    pub cache_dir: Option<PathBuf>,
    /// The limits of every call.
    pub limits: Limits,
    /// The epoch tick: how often the deadline is checked. Keep it well below
    /// [`Limits::timeout`]; the deadline is accurate to about one tick.
    pub epoch_tick: Duration,
    /// Run a plugin's `planton_init` once at load and start calls from the snapshot (the
    /// default); `false` starts every call from the module as shipped (for comparison).
    pub preinit: bool,
}

impl Default for HostConfig {
    /// No disk cache, default [`Limits`], a 10 ms tick, snapshots after `planton_init`.
    fn default() -> HostConfig {
        HostConfig {
            cache_dir: None,
            limits: Limits::default(),
            epoch_tick: Duration::from_millis(10),
            preinit: true,
        }
    }
}

impl HostConfig {
    /// The platform's user cache directory plus `planton/plugins` (from `directories`):
    /// `$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS,
    /// `%LOCALAPPDATA%` on Windows; `None` when the platform names no home directory.
    pub fn default_cache_dir() -> Option<PathBuf> {
        let base = directories::BaseDirs::new()?;
        Some(base.cache_dir().join("planton").join("plugins"))
    }

    /// This configuration with the given cache directory.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> HostConfig {
        self.cache_dir = Some(dir.into());
        self
    }

    /// This configuration with the given limits.
    pub fn with_limits(mut self, limits: Limits) -> HostConfig {
        self.limits = limits;
        self
    }
}

/// Where a plugin's `.wasm` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A plugin built into this binary, by name (see [`builtin_names`](crate::builtin_names)).
    Builtin(String),
    /// A file, pinned by the sha256 of its content (hex, optionally prefixed `sha256:`).
    File {
        /// The `.wasm` file.
        path: PathBuf,
        /// The expected sha256; a file with another digest is refused.
        sha256: String,
    },
    /// Bytes already in memory (tests, the web editor's uploads); not pinned.
    Bytes {
        /// A label for messages.
        label: String,
        /// The module.
        bytes: Vec<u8>,
    },
}

/// The plugin host: one engine, a module cache, and the loaded plugins.
///
/// ```no_run
/// use planton_host::{Host, HostConfig};
/// let mut host = Host::new(HostConfig::default())?;
/// host.load_builtin()?;
/// let plugin = host.plugin_for_kind("kubernetes.project-planton.org/v1", "MicroserviceKubernetes");
/// # Ok::<(), planton_host::Error>(())
/// ```
pub struct Host {
    runtime: Arc<Runtime>,
    cache: ModuleCache,
    limits: Limits,
    preinit: bool,
    plugins: Vec<Arc<Plugin>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(config: HostConfig) -> Result<Host> {
        let runtime = Runtime::new(config.epoch_tick, config.limits.memory_bytes)?;
        let cache = ModuleCache::new(&runtime.engine, config.cache_dir);
        Ok(Host {
            runtime,
            cache,
            limits: config.limits,
            preinit: config.preinit,
            plugins: Vec::new(),
        })
    }

    /// Loads, checks and registers a plugin; refuses one that claims an already-claimed kind.
    pub fn load(&mut self, source: PluginSource) -> Result<Arc<Plugin>> {
        let plugin = Arc::new(self.compile(source)?);
        for kind in &plugin.describe().kinds {
            if let Some(other) = self.plugin_for_kind(&kind.api_version, &kind.kind) {
                return Err(Error::DuplicateKind {
                    api_version: kind.api_version.clone(),
                    kind: kind.kind.clone(),
                    first: other.name().to_string(),
                    second: plugin.name().to_string(),
                });
            }
        }
        self.plugins.push(Arc::clone(&plugin));
        Ok(plugin)
    }

    /// Loads, checks and returns a plugin without registering it.
    ///
    /// A module that exports `planton_init` is run once and snapshotted (see the `preinit`
    /// module): its calls start from the state `planton_init` left.
    pub fn compile(&self, source: PluginSource) -> Result<Plugin> {
        let (label, bytes) = match source {
            PluginSource::Builtin(name) => {
                (format!("builtin:{name}"), builtin::bytes(&name)?.to_vec())
            }
            PluginSource::File { path, sha256 } => {
                let label = path.display().to_string();
                let expected = normalize_digest(&label, &sha256)?;
                let bytes = std::fs::read(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                let actual = sha256_hex(&bytes);
                if actual != expected {
                    return Err(Error::DigestMismatch {
                        plugin: label,
                        expected,
                        actual,
                    });
                }
                (label, bytes)
            }
            PluginSource::Bytes { label, bytes } => (label, bytes),
        };
        let sha256 = sha256_hex(&bytes);
        let engine = &self.runtime.engine;
        let (module, outcome) = if self.preinit && preinit::exports_init(&bytes) {
            self.cache.module(engine, &sha256, "init", || {
                preinit::preinitialize(&self.runtime, self.limits, &label, &bytes)
            })?
        } else {
            self.cache
                .module(engine, &sha256, "", || compile(engine, &label, &bytes))?
        };
        Plugin::load(
            Arc::clone(&self.runtime),
            module,
            self.limits,
            label,
            sha256,
            outcome,
        )
    }

    /// Loads every plugin built into this binary.
    pub fn load_builtin(&mut self) -> Result<Vec<Arc<Plugin>>> {
        builtin::names()
            .iter()
            .map(|name| self.load(PluginSource::Builtin((*name).to_string())))
            .collect()
    }

    /// Loads a plugin file pinned by its sha256.
    pub fn load_file(&mut self, path: impl Into<PathBuf>, sha256: &str) -> Result<Arc<Plugin>> {
        self.load(PluginSource::File {
            path: path.into(),
            sha256: sha256.to_string(),
        })
    }

    /// The loaded plugin that handles `api_version`/`kind`.
    pub fn plugin_for_kind(&self, api_version: &str, kind: &str) -> Option<&Arc<Plugin>> {
        self.plugins.iter().find(|p| p.handles(api_version, kind))
    }

    /// Every loaded plugin, in load order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }
}

/// A pin as 64 lower-case hex digits.
fn normalize_digest(label: &str, digest: &str) -> Result<String> {
    let hex = digest
        .trim()
        .strip_prefix("sha256:")
        .unwrap_or(digest.trim())
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(Error::InvalidDigest {
            plugin: label.to_string(),
            digest: digest.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_normalized_or_refused() {
        let hex = "AB".repeat(32);
        assert_eq!(
            normalize_digest("p", &format!("sha256:{hex}")).unwrap(),
            "ab".repeat(32)
        );
        assert_eq!(
            normalize_digest("p", &format!(" {hex} ")).unwrap(),
            "ab".repeat(32)
        );
        assert!(matches!(
            normalize_digest("p", "sha256:xyz"),
            Err(Error::InvalidDigest { .. })
        ));
        assert!(matches!(
            normalize_digest("p", &"g".repeat(64)),
            Err(Error::InvalidDigest { .. })
        ));
    }

    #[test]
    fn default_cache_dir_is_under_the_user_cache() {
        let dir = HostConfig::default_cache_dir().expect("this machine has a home directory");
        assert!(dir.ends_with("planton/plugins"), "{}", dir.display());
        // On Linux the XDG variable wins over `~/.cache`, as before the switch to
        // `directories`.
        #[cfg(target_os = "linux")]
        if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            assert!(dir.starts_with(xdg), "{}", dir.display());
        } else if let Some(home) = std::env::var_os("HOME") {
            assert!(
                dir.starts_with(std::path::Path::new(&home).join(".cache")),
                "{}",
                dir.display()
            );
        }
    }
}
