//! The on-disk cache of precompiled plugin modules.
//!
//! An artifact is named `<sha256 of the .wasm>-<engine key>.cwasm` (the module as shipped) or
//! `<sha256 of the .wasm>-init-<engine key>.cwasm` (its snapshot after `planton_init`, see
//! the `preinit` module), where the engine key
//! hashes wasmtime's own compatibility hash (its version and every setting that affects
//! code generation), so a new planton or a changed engine setting never loads a stale
//! artifact: it compiles and writes a new one next to it.
//!
//! Invariants: the runner only deserializes files it wrote itself into this directory;
//! files are written to a temporary name and renamed into place, so a reader never sees a
//! partial artifact; an unreadable or rejected artifact is recompiled and replaced, and a
//! failure to write the cache never fails a load.
//!
//! What it is not: a general-purpose cache (no eviction; artifacts are a few MB and keyed by
//! content, so stale ones are harmless and can be deleted at any time).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::error::{Error, Result, boxed};

/// How a plugin's compiled code was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// No cache directory is configured: compiled in memory.
    Disabled,
    /// Loaded from a precompiled artifact.
    Hit,
    /// Compiled and written to the cache.
    Stored,
    /// Compiled; writing the artifact failed (the reason is kept, the load went on).
    WriteFailed(String),
}

/// The cache directory and the engine key that names its artifacts.
pub(crate) struct ModuleCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ModuleCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> ModuleCache {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let digest = hasher.0.finalize();
        ModuleCache {
            dir,
            engine_key: hex(&digest[..8]),
        }
    }

    /// The compiled module of a plugin whose `.wasm` has the digest `sha256`, from the cache
    /// if possible, else from `build` (stored for the next time).
    ///
    /// `variant` names what `build` makes of the `.wasm`: `""` for the module itself,
    /// `"init"` for its snapshot after `planton_init`.
    pub(crate) fn module(
        &self,
        engine: &Engine,
        sha256: &str,
        variant: &str,
        build: impl FnOnce() -> Result<Module>,
    ) -> Result<(Module, CacheOutcome)> {
        let Some(dir) = &self.dir else {
            return Ok((build()?, CacheOutcome::Disabled));
        };
        let path = if variant.is_empty() {
            dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
        } else {
            dir.join(format!("{sha256}-{variant}-{}.cwasm", self.engine_key))
        };
        if path.is_file() {
            // SAFETY: `deserialize_file` trusts the file to be an artifact that
            // `Module::serialize` produced for a compatible engine; a crafted file could run
            // arbitrary native code. This directory is the runner's own cache: every file in
            // it named like this was written by `store` below (from `Module::serialize` of
            // an engine with the same compatibility key, which wasmtime re-checks on load),
            // atomically, so it is never partial. Anyone able to write crafted files there
            // already runs code as this user.
            #[allow(unsafe_code)]
            let cached = unsafe { Module::deserialize_file(engine, &path) };
            if let Ok(module) = cached {
                return Ok((module, CacheOutcome::Hit));
            }
        }
        let module = build()?;
        let outcome = match store(dir, &path, &module) {
            Ok(()) => CacheOutcome::Stored,
            Err(reason) => CacheOutcome::WriteFailed(reason),
        };
        Ok((module, outcome))
    }
}

/// Compiles a module with Cranelift.
pub(crate) fn compile(engine: &Engine, label: &str, bytes: &[u8]) -> Result<Module> {
    Module::from_binary(engine, bytes).map_err(|e| Error::Compile {
        plugin: label.to_string(),
        source: boxed(e),
    })
}

/// Writes `module`'s artifact to `path` through a temporary file in the same directory.
fn store(dir: &Path, path: &Path, module: &Module) -> Result<(), String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bytes = module
        .serialize()
        .map_err(|e| format!("cannot serialize the module: {e}"))?;
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Feeds `Hash` impls into sha256, so the key is stable across processes (unlike
/// `DefaultHasher`, whose algorithm is unspecified).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The sha256 of `bytes` as lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
