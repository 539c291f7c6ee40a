//! The plugin SDK: the contract between planton and its target plugins.
//!
//! A target plugin knows one or more manifest kinds (for example `MicroserviceKubernetes`).
//! It describes them ([`Describe`], with a structural JSON Schema per kind), validates built
//! manifests ([`ValidateRequest`] → [`ValidateResponse`] with every [`Diagnostic`] at once) and
//! renders them ([`RenderRequest`] → [`RenderOutput`]: Kubernetes objects, or typed AWS
//! operations, as the kind's declared [`Target`] says).
//! The [`Plugin`] trait ties the three together; a plugin is a unit struct implementing it.
//!
//! Besides the contract types the SDK ships the helpers every plugin author needs:
//! - [`schema`]: a strict, schema-driven checker that walks a manifest against a structural
//!   JSON Schema and reports problems as [`Diagnostic`]s with JSON Pointer paths, including
//!   "did you mean" suggestions for misspelt field names;
//! - [`refs`]: the `$variables-group/<g>/<k>` and `$secrets-group/<g>/<k>` reference syntax;
//! - [`pointer`]: building and escaping JSON Pointers;
//! - [`protojson`]: what the upstream loader accepts beyond camelCase (proto field names,
//!   `{value}`/`{valueFrom}` references);
//! - [`target`]: what a kind deploys to, and the typed AWS operations of an AWS render.
//!
//! What the SDK deliberately is not: it has no IO, no clock, no randomness and nothing
//! WebAssembly-specific, so plugins built on it run natively under `cargo test` and compile
//! unchanged for `wasm32-unknown-unknown`.
//! Secret *values* never pass through this contract: manifests carry references only.
//!
//! ```
//! use planton_plugin_sdk::{schema, Severity};
//! let schema = serde_json::json!({
//!     "type": "object",
//!     "additionalProperties": false,
//!     "properties": { "maxReplicas": { "type": "integer", "minimum": 1 } }
//! });
//! let manifest = serde_json::json!({ "maxReplica": 3 });
//! let diags = schema::check(&schema, &manifest);
//! assert_eq!(diags.len(), 1);
//! assert_eq!(diags[0].severity, Severity::Error);
//! assert_eq!(diags[0].path, "/maxReplica");
//! assert!(diags[0].message.contains("did you mean `maxReplicas`"));
//! ```

pub mod abi;
mod pattern;
pub mod pointer;
pub mod protojson;
pub mod refs;
pub mod schema;
pub mod suggest;
pub mod target;
pub mod testing;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version of the plugin contract this SDK implements.
///
/// The host refuses a plugin whose [`Describe::contract_version`] it does not support.
pub const CONTRACT_VERSION: u32 = 2;

pub use target::{RenderOutput, Target};

/// What a plugin is and which manifest kinds it handles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Describe {
    /// The plugin's name, e.g. `kubernetes`.
    pub name: String,
    /// The plugin's own version (its crate version).
    pub version: String,
    /// The contract version the plugin was built against; normally [`CONTRACT_VERSION`].
    pub contract_version: u32,
    /// The manifest kinds this plugin validates and renders.
    pub kinds: Vec<KindInfo>,
}

/// One manifest kind a plugin handles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindInfo {
    /// The manifest's `apiVersion`, e.g. `kubernetes.project-planton.org/v1`.
    pub api_version: String,
    /// The manifest's `kind`, e.g. `MicroserviceKubernetes`.
    pub kind: String,
    /// What manifests of this kind deploy to (contract version 2).
    pub target: Target,
    /// The whole manifest's structural JSON Schema (OpenAPI v3 subset, as a CRD's
    /// `openAPIV3Schema`), understood by [`schema::check`].
    pub schema: Value,
}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// The manifest cannot be deployed.
    Error,
    /// The manifest can be deployed but probably does not do what was meant.
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// How bad the problem is.
    pub severity: Severity,
    /// A stable, machine-matchable code, e.g. `port-name-invalid` or `schema-unknown-field`.
    pub code: String,
    /// A human-readable, lower-case sentence without a trailing period.
    pub message: String,
    /// A JSON Pointer (RFC 6901) into the manifest, e.g. `/spec/container/app/ports/0/name`.
    pub path: String,
}

impl Diagnostic {
    /// An error diagnostic.
    pub fn error(
        code: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            path: path.into(),
        }
    }

    /// A warning diagnostic.
    pub fn warning(
        code: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code: code.into(),
            message: message.into(),
            path: path.into(),
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Asks a plugin to validate one built manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateRequest {
    /// The built manifest (output of `kustomize build`), as JSON.
    pub manifest: Value,
    /// The overlay directory name the manifest was built from, e.g. `prod`.
    pub overlay: String,
    /// True for the `local` overlay, where literal secret values are allowed.
    pub local: bool,
}

/// Every problem a plugin found in a manifest; empty when the manifest is valid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResponse {
    /// All diagnostics, in a deterministic order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ValidateResponse {
    /// True when no diagnostic is an error.
    pub fn is_ok(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Asks a plugin to render one manifest into deployable objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderRequest {
    /// The built manifest, with `$secrets-group` references left unresolved.
    pub manifest: Value,
    /// Facts about this deployment that are not in the manifest.
    pub context: DeployContext,
}

/// Facts about one deployment that the host knows and the manifest does not.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployContext {
    /// `REPO:TAG` (or `REPO@DIGEST`) from the build; overrides or completes the spec image.
    /// A value without a tag or digest replaces only the repository.
    pub image: Option<String>,
    /// The target namespace, when the host decides it (Kubernetes only).
    pub namespace: Option<String>,
    /// The target environment, when the manifest's `metadata.env` is not set.
    pub env: Option<String>,
}

/// The Kubernetes objects of a render, in apply order: what a Kubernetes plugin's render
/// code builds, and what [`RenderOutput::Kubernetes`] carries (`.into()` converts).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderResponse {
    /// The objects, in the order the host must apply them.
    pub objects: Vec<Value>,
}

impl From<RenderResponse> for RenderOutput {
    fn from(r: RenderResponse) -> RenderOutput {
        RenderOutput::Kubernetes { objects: r.objects }
    }
}

/// Why a plugin could not render a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginError {
    /// What went wrong, lower-case without a trailing period.
    pub message: String,
}

impl PluginError {
    /// A plugin error with this message.
    pub fn new(message: impl Into<String>) -> PluginError {
        PluginError {
            message: message.into(),
        }
    }

    /// A plugin error that lists every error diagnostic, one per line.
    pub fn from_diagnostics(diagnostics: &[Diagnostic]) -> PluginError {
        let mut message = String::from("the manifest is invalid:");
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            message.push_str(&format!("\n  {} [{}] {}", d.path, d.code, d.message));
        }
        PluginError { message }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// A target plugin: describes, validates and renders the kinds it knows.
///
/// Implementations are unit structs; all state lives in the requests.
/// None of the methods may panic on any input.
pub trait Plugin {
    /// The plugin's name, version, contract version and kinds.
    fn describe() -> Describe;
    /// Every problem in a built manifest, reported at once.
    fn validate(req: ValidateRequest) -> ValidateResponse;
    /// What deploys the manifest, tagged with the kind's target, deterministic: Kubernetes
    /// objects in apply order, or typed AWS operations.
    fn render(req: RenderRequest) -> Result<RenderOutput, PluginError>;
}

/// The image reference to deploy: a spec's `repo`/`tag`, overridden or completed by the
/// build's image ([`DeployContext::image`]: `REPO:TAG`, `REPO@DIGEST`, or a bare `REPO`).
///
/// A registry port (`host:5000/app`) is not mistaken for a tag. Errors when no repository or
/// no tag is known.
pub fn resolve_image(
    repo: Option<&str>,
    tag: Option<&str>,
    build: Option<&str>,
) -> Result<String, PluginError> {
    let (mut repo, mut tag) = (
        repo.filter(|s| !s.is_empty()).map(str::to_string),
        tag.filter(|s| !s.is_empty()).map(str::to_string),
    );
    if let Some(b) = build.map(str::trim).filter(|s| !s.is_empty()) {
        if b.contains('@') {
            return Ok(b.to_string());
        }
        let last_slash = b.rfind('/').map_or(0, |i| i + 1);
        match b[last_slash..].rfind(':') {
            Some(i) => {
                repo = Some(b[..last_slash + i].to_string());
                tag = Some(b[last_slash + i + 1..].to_string());
            }
            None => repo = Some(b.to_string()),
        }
    }
    match (repo, tag) {
        (Some(r), Some(t)) if !t.is_empty() => Ok(format!("{r}:{t}")),
        (None, _) => Err(PluginError::new(
            "no image repository: set the spec's image repo or pass the build's image",
        )),
        (Some(_), _) => Err(PluginError::new(
            "no image tag: set the spec's image tag or pass the build's REPO:TAG",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contract_types_are_camel_case() {
        let req = ValidateRequest {
            manifest: json!({}),
            overlay: "prod".into(),
            local: false,
        };
        let v = serde_json::to_value(&req).unwrap_or_default();
        assert_eq!(
            v,
            json!({"manifest": {}, "overlay": "prod", "local": false})
        );
        let d = Describe {
            name: "x".into(),
            version: "1".into(),
            contract_version: CONTRACT_VERSION,
            kinds: vec![],
        };
        let v = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(v["contractVersion"], json!(2));
        let diag = Diagnostic::error("c", "/a", "m");
        assert_eq!(
            serde_json::to_value(&diag).unwrap_or_default()["severity"],
            json!("error")
        );
    }

    #[test]
    fn image_is_completed_or_overridden_by_the_build() {
        assert_eq!(
            resolve_image(Some("r/app"), None, Some("r/app:abc")),
            Ok("r/app:abc".into())
        );
        assert_eq!(
            resolve_image(Some("r/app"), Some("1"), None),
            Ok("r/app:1".into())
        );
        assert_eq!(
            resolve_image(Some("r/app"), Some("1"), Some("host:5000/app")),
            Ok("host:5000/app:1".into())
        );
        assert_eq!(
            resolve_image(None, None, Some("r/app@sha256:ff")),
            Ok("r/app@sha256:ff".into())
        );
        assert!(resolve_image(Some("r/app"), None, None).is_err());
        assert!(resolve_image(None, Some("1"), None).is_err());
    }
}
