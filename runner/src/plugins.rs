//! The target plugins as the rest of the runner sees them: a set of backends, each serving
//! some kinds, and a [`planton_core::validate::KindChecker`] over them.
//!
//! A backend is either a plugin crate linked natively or a WebAssembly module hosted by
//! [`crate::wasm`]; both speak the same contract types (`planton-plugin-sdk`).

use planton_core::validate::{KindChecker, KindProblem};
use planton_core::diag::Severity;
use planton_plugin_sdk::{Describe, Plugin, RenderRequest, RenderResponse, ValidateRequest, ValidateResponse};

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
        Native { describe: P::describe(), _p: std::marker::PhantomData }
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

/// The plugins available to a run.
pub struct Plugins {
    backends: Vec<Box<dyn Backend>>,
}

impl Plugins {
    /// The built-in plugins (Kubernetes, AWS ECS).
    pub fn builtin() -> Plugins {
        Plugins {
            backends: vec![
                Box::new(Native::<planton_plugin_k8s::KubernetesPlugin>::new()),
                Box::new(Native::<planton_plugin_ecs::EcsPlugin>::new()),
            ],
        }
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
            .find(|b| b.describe().kinds.iter().any(|k| k.api_version == api_version && k.kind == kind))
            .map(|b| b.as_ref())
    }
}

impl KindChecker for Plugins {
    fn known_kinds(&self) -> Vec<String> {
        self.backends.iter().flat_map(|b| b.describe().kinds.iter().map(|k| format!("{}/{}", k.api_version, k.kind))).collect()
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
                self.backends.iter().find(|b| b.describe().kinds.iter().any(f)).map(|b| b.as_ref())
            };
            by(&|k| k.kind == kind).or_else(|| by(&|k| k.api_version == api_version))
        })?;
        let req = ValidateRequest { manifest: manifest.clone(), overlay: overlay.to_string(), local };
        Some(b.validate(&req).map(|resp| {
            resp.diagnostics
                .into_iter()
                .map(|d| KindProblem {
                    severity: if d.is_error() { Severity::Error } else { Severity::Warning },
                    code: d.code,
                    message: d.message,
                    path: d.path,
                })
                .collect()
        }).map_err(|e| format!("plugin `{}` failed on {kind}: {e}", b.describe().name)))
    }
}
