//! The target plugins as the rest of the runner sees them: a set of backends, each serving
//! some kinds, and a [`planton_core::validate::KindChecker`] over them.
//!
//! A backend is a WebAssembly module hosted by [`crate::wasm`] (the built-in plugins ship
//! inside the binary as `.wasm`; external ones are files pinned by sha256 in
//! `planton.yaml`), or, for tests and benchmarks, a plugin crate linked natively. Both
//! speak the same contract types (`planton-plugin-sdk`).
//!
//! A plugin that fails to load, traps, overruns a limit or returns bad output fails only
//! the manifests of its own kinds: the error comes back per call, the rest of the run goes on.

use crate::wasm;
use planton_core::plugins::PluginFailure;
use planton_core::plugins::{CallError, Target, Targets};
use planton_core::service::PluginPin;
use planton_core::validate::{KindChecker, KindProblem};
use planton_plugin_sdk::{
    Describe, Plugin, RenderOutput, RenderRequest, ValidateRequest, ValidateResponse,
};
use std::path::Path;
use std::sync::Arc;

/// One plugin, whatever runs it: core's [`Target`] (the raw call) plus where it comes from.
pub trait Backend: Target {
    /// Where the plugin comes from (`built-in (native)`, a path, a digest).
    fn origin(&self) -> String;
}

/// A plugin crate linked into the binary.
pub struct Native<P: Plugin> {
    describe: Describe,
    _p: std::marker::PhantomData<P>,
}

impl<P: Plugin> Native<P> {
    /// Wraps a plugin type.
    pub fn new() -> Native<P> {
        Native {
            describe: P::describe(),
            _p: std::marker::PhantomData,
        }
    }
}

impl<P: Plugin> Default for Native<P> {
    fn default() -> Self {
        Native::new()
    }
}

impl<P: Plugin> Target for Native<P> {
    fn describe(&self) -> &Describe {
        &self.describe
    }
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError> {
        Ok(P::validate(req.clone()))
    }
    fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError> {
        P::render(req.clone()).map_err(|e| CallError::Refused(e.message))
    }
}

impl<P: Plugin> Backend for Native<P> {
    fn origin(&self) -> String {
        "built-in (native)".into()
    }
}

/// A plugin running in the wasmtime sandbox.
pub struct Wasm(pub Arc<wasm::Plugin>);

/// The host's error as core classifies it (the call site is named by core).
fn call_error(e: wasm::Error) -> CallError {
    match e {
        wasm::Error::Deadline { timeout, .. } => CallError::Limit(format!(
            "exceeded its deadline of {timeout:?} and was stopped"
        )),
        wasm::Error::MemoryLimit {
            limit, requested, ..
        } => CallError::Limit(format!(
            "exceeded its memory limit of {limit} bytes (asked for {requested} bytes)"
        )),
        wasm::Error::OutputTooLarge { size, limit, .. } => CallError::Limit(format!(
            "returned {size} bytes, more than the output limit of {limit} bytes"
        )),
        wasm::Error::Trap { message, .. } => CallError::Trap(message),
        wasm::Error::BadOutput { reason, .. } => CallError::BadOutput(reason),
        wasm::Error::Plugin { message, .. } => CallError::Refused(message),
        other => CallError::Host(other.to_string()),
    }
}

impl Target for Wasm {
    fn describe(&self) -> &Describe {
        self.0.describe()
    }
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError> {
        self.0.validate(req).map_err(call_error)
    }
    fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError> {
        self.0.render(req).map_err(call_error)
    }
}

impl Backend for Wasm {
    fn origin(&self) -> String {
        format!("{} (sha256:{})", self.0.source(), self.0.sha256())
    }
}

/// The plugins available to a run: core's [`Targets`] over the backends.
pub struct Plugins {
    targets: Targets<Box<dyn Backend>>,
    /// Plugins that could not be loaded, with why (reported, never fatal to the run).
    pub load_errors: Vec<String>,
    /// Keeps the engine (and its epoch ticker) alive as long as the plugins.
    _host: Option<wasm::Host>,
}

impl Plugins {
    /// The built-in plugins, linked natively (no sandbox; for tests and benchmarks).
    pub fn native() -> Plugins {
        Plugins {
            targets: Targets::new(vec![
                Box::new(Native::<planton_plugin_k8s::KubernetesPlugin>::new()),
                Box::new(Native::<planton_plugin_ecs::EcsPlugin>::new()),
            ]),
            load_errors: Vec::new(),
            _host: None,
        }
    }

    /// The built-in plugins as WebAssembly in the sandbox, plus the external plugins
    /// pinned in `planton.yaml` (paths relative to `service_root`). Precompiled modules
    /// are cached under the user's cache directory.
    pub fn sandboxed(pins: &[PluginPin], service_root: &Path) -> anyhow::Result<Plugins> {
        let mut config = wasm::HostConfig::default();
        if let Some(dir) = wasm::HostConfig::default_cache_dir() {
            config = config.with_cache_dir(dir);
        }
        let mut host = wasm::Host::new(config)?;
        let mut load_errors = Vec::new();
        for name in wasm::builtin_names() {
            if let Err(e) = host.load(wasm::PluginSource::Builtin(name.to_string())) {
                load_errors.push(format!("built-in plugin `{name}`: {e}"));
            }
        }
        for pin in pins {
            let path = service_root.join(&pin.path);
            if let Err(e) = host.load_file(&path, &pin.sha256) {
                load_errors.push(format!("plugin {}: {e}", path.display()));
            }
        }
        let backends = host
            .plugins()
            .iter()
            .map(|p| Box::new(Wasm(p.clone())) as Box<dyn Backend>)
            .collect();
        Ok(Plugins {
            targets: Targets::new(backends),
            load_errors,
            _host: Some(host),
        })
    }

    /// The built-in plugins in the sandbox (no external plugins).
    pub fn builtin() -> Plugins {
        Plugins::sandboxed(&[], Path::new(".")).unwrap_or_else(|e| {
            let mut p = Plugins::native();
            p.load_errors.push(format!(
                "the WebAssembly host could not start ({e}); using the built-in plugins natively"
            ));
            p
        })
    }

    /// Adds a backend.
    pub fn push(&mut self, b: Box<dyn Backend>) {
        self.targets.push(b);
    }

    /// Every backend.
    pub fn all(&self) -> &[Box<dyn Backend>] {
        self.targets.all()
    }

    /// Kind routing and the render loop (core's composition).
    pub fn targets(&self) -> &Targets<Box<dyn Backend>> {
        &self.targets
    }
}

impl KindChecker for Plugins {
    fn known_kinds(&self) -> Vec<String> {
        self.targets.known_kinds()
    }

    fn check(
        &self,
        api_version: &str,
        kind: &str,
        manifest: &serde_json::Value,
        overlay: &str,
        local: bool,
    ) -> Option<Result<Vec<KindProblem>, PluginFailure>> {
        self.targets
            .check(api_version, kind, manifest, overlay, local)
    }
}
