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
use planton_core::diag::Severity;
use planton_core::service::PluginPin;
use planton_core::validate::{KindChecker, KindProblem};
use planton_plugin_sdk::{
    Describe, Plugin, RenderRequest, RenderResponse, ValidateRequest, ValidateResponse,
};
use std::path::Path;
use std::sync::Arc;

/// One plugin, whatever runs it.
pub trait Backend {
    /// The plugin's description (name, version, contract version, kinds with schemas).
    fn describe(&self) -> &Describe;
    /// Validates a manifest.
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, String>;
    /// Renders a manifest into desired state.
    fn render(&self, req: &RenderRequest) -> Result<RenderResponse, String>;
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

impl<P: Plugin> Backend for Native<P> {
    fn describe(&self) -> &Describe {
        &self.describe
    }
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, String> {
        Ok(P::validate(req.clone()))
    }
    fn render(&self, req: &RenderRequest) -> Result<RenderResponse, String> {
        P::render(req.clone()).map_err(|e| e.message)
    }
    fn origin(&self) -> String {
        "built-in (native)".into()
    }
}

/// A plugin running in the wasmtime sandbox.
pub struct Wasm(pub Arc<wasm::Plugin>);

impl Backend for Wasm {
    fn describe(&self) -> &Describe {
        self.0.describe()
    }
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, String> {
        self.0.validate(req).map_err(|e| e.to_string())
    }
    fn render(&self, req: &RenderRequest) -> Result<RenderResponse, String> {
        self.0.render(req).map_err(|e| e.to_string())
    }
    fn origin(&self) -> String {
        format!("{} (sha256:{})", self.0.source(), self.0.sha256())
    }
}

/// The plugins available to a run.
pub struct Plugins {
    backends: Vec<Box<dyn Backend>>,
    /// Plugins that could not be loaded, with why (reported, never fatal to the run).
    pub load_errors: Vec<String>,
    /// Keeps the engine (and its epoch ticker) alive as long as the plugins.
    _host: Option<wasm::Host>,
}

impl Plugins {
    /// The built-in plugins, linked natively (no sandbox; for tests and benchmarks).
    pub fn native() -> Plugins {
        Plugins {
            backends: vec![
                Box::new(Native::<planton_plugin_k8s::KubernetesPlugin>::new()),
                Box::new(Native::<planton_plugin_ecs::EcsPlugin>::new()),
            ],
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
            backends,
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
        self.backends.push(b);
    }

    /// Every backend.
    pub fn all(&self) -> &[Box<dyn Backend>] {
        &self.backends
    }

    /// The backend serving `apiVersion`/`kind`.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<&dyn Backend> {
        self.backends
            .iter()
            .find(|b| {
                b.describe()
                    .kinds
                    .iter()
                    .any(|k| k.api_version == api_version && k.kind == kind)
            })
            .map(|b| b.as_ref())
    }
}

impl KindChecker for Plugins {
    fn known_kinds(&self) -> Vec<String> {
        self.backends
            .iter()
            .flat_map(|b| {
                b.describe()
                    .kinds
                    .iter()
                    .map(|k| format!("{}/{}", k.api_version, k.kind))
            })
            .collect()
    }

    fn check(
        &self,
        api_version: &str,
        kind: &str,
        manifest: &serde_json::Value,
        overlay: &str,
        local: bool,
    ) -> Option<Result<Vec<KindProblem>, String>> {
        // An exact match, else the plugin serving this kind name (wrong apiVersion) or this
        // apiVersion (wrong kind), so that the plugin itself explains what is wrong.
        let b = self.for_kind(api_version, kind).or_else(|| {
            let by = |f: &dyn Fn(&planton_plugin_sdk::KindInfo) -> bool| {
                self.backends
                    .iter()
                    .find(|b| b.describe().kinds.iter().any(f))
                    .map(|b| b.as_ref())
            };
            by(&|k| k.kind == kind).or_else(|| by(&|k| k.api_version == api_version))
        })?;
        let req = ValidateRequest {
            manifest: manifest.clone(),
            overlay: overlay.to_string(),
            local,
        };
        Some(
            b.validate(&req)
                .map(|resp| {
                    resp.diagnostics
                        .into_iter()
                        .map(|d| KindProblem {
                            severity: if d.is_error() {
                                Severity::Error
                            } else {
                                Severity::Warning
                            },
                            code: d.code,
                            message: d.message,
                            path: d.path,
                        })
                        .collect()
                })
                .map_err(|e| format!("plugin `{}` failed on {kind}: {e}", b.describe().name)),
        )
    }
}
