//! The Kubernetes target plugin (`kubernetes.project-planton.org/v1`): `MicroserviceKubernetes`
//! and its upstream successor `KubernetesDeployment`.
//!
//! [`KubernetesPlugin`] implements [`Plugin`]: it describes both kinds with their structural
//! JSON Schemas (`schema/microservice-kubernetes.schema.json`,
//! `schema/kubernetes-deployment.schema.json`, compiled in), validates built manifests
//! ([`validate`]) and renders them into Kubernetes objects ([`render`]).
//! It is pure computation: no IO, no clock, no randomness; it compiles for
//! `wasm32-unknown-unknown` and is tested natively. Applying the objects is the host's job.
//!
//! # Validation codes
//!
//! Schema rules (the generic `schema-*` codes of [`planton_plugin_sdk::schema`] plus):
//! `api-version-invalid`, `kind-invalid`, `name-invalid` (metadata.name, sidecar and volume
//! names: DNS-1123 labels), `version-invalid` (1..30 of `[a-z0-9-]`, not ending in `-`),
//! `port-name-invalid`, `port-number-invalid` (1..65535), `port-protocol-invalid`
//! (`TCP`/`UDP`/`SCTP`), `port-app-protocol-invalid` (non-empty), `quantity-invalid`,
//! `env-name-invalid`, `replicas-invalid` (minReplicas ≥ 0), `hpa-max-replicas-invalid`,
//! `hpa-cpu-target-invalid` (1..100), `int-or-percent-invalid`, `dns-domain-invalid`,
//! `probe-threshold-invalid` (periodSeconds, timeoutSeconds, successThreshold,
//! failureThreshold > 0; initialDelaySeconds ≥ 0), `probe-scheme-invalid`,
//! `probe-exec-command-empty`, `volume-mount-path-invalid`, `sidecar-image-invalid`.
//!
//! Cross-field rules: `resources-request-exceeds-limit`, `port-name-duplicate`,
//! `port-container-port-duplicate`, `port-service-port-duplicate`, `ingress-port-multiple`,
//! `ingress-dns-domain-required`, `ingress-port-required`, `hpa-max-below-min`,
//! `hpa-min-replicas-zero`, `hpa-cpu-target-duplicate`,
//! `pdb-min-available-and-max-unavailable`, `deployment-strategy-zero`,
//! `probe-handler-count`, `probe-port-invalid`, `probe-port-name-unknown`,
//! `probe-success-threshold-not-one`, `volume-name-duplicate`, `volume-mount-path-duplicate`,
//! `sidecar-name-duplicate`, `metadata-label-value-invalid`, `namespace-label-invalid`, and the
//! reference rules of [`planton_plugin_sdk::refs::check_env`] (`env-variable-is-secret`,
//! `env-secret-literal`, `env-reference-malformed`, `env-secret-from-variables`,
//! `env-name-duplicate`).
//!
//! As upstream, fields may be written under their proto names (`container_port`; warning
//! `schema-proto-field-name` naming the camelCase spelling) and the rollout and disruption
//! budget values, strings upstream, may be bare numbers (warning `schema-number-for-string`).
//! Two ports marked as the ingress port is a warning (`ingress-port-multiple`): as upstream,
//! the last one is used.
//!
//! `KubernetesDeployment` differs from `MicroserviceKubernetes` as upstream's schema does:
//! `spec.namespace` (required; a string, `{value}` or `{valueFrom}`), `createNamespace`,
//! `targetCluster` (checked, not used: planton deploys to the context's cluster),
//! `configMaps`, `ingress {enabled, hostname}`, env values as objects (`{value}`,
//! `{valueFrom}` for variables, `{secretRef: {name, key}}` for secrets), `volumeMounts`
//! with typed sources, `command` and `args`. Its extra codes: `namespace-invalid`,
//! `cluster-kind-invalid`, `config-map-name-invalid`, `ingress-hostname-required`,
//! `secret-ref-namespace-mismatch`, `volume-source-multiple`, `volume-key-invalid`,
//! `volume-default-mode-invalid`, `host-path-type-invalid`, `empty-dir-medium-invalid`,
//! `value-from-name-required`. A `valueFrom` is not resolved by planton: `render` stops with
//! an "unresolved reference" error naming the field.
//!
//! Beyond the product spec the kind accepts `container.app.volumes[] {name, mountPath,
//! readOnly, subPath, spec}` and `targetCpuUtilizationPercentage` as an alias of
//! `targetCpuUtilizationPercent`, because the seed's overlays use them.
//!
//! ```
//! use planton_plugin_k8s::KubernetesPlugin;
//! use planton_plugin_k8s::sdk::{Plugin, ValidateRequest};
//! let manifest = serde_json::json!({
//!     "apiVersion": "kubernetes.project-planton.org/v1",
//!     "kind": "MicroserviceKubernetes",
//!     "metadata": { "name": "my-service" },
//!     "spec": { "version": "main", "container": { "app": {} }, "availability": { "maxReplica": 3 } }
//! });
//! let res = KubernetesPlugin::validate(ValidateRequest { manifest, overlay: "prod".into(), local: false });
//! assert_eq!(res.diagnostics[0].code, "schema-unknown-field");
//! assert_eq!(res.diagnostics[0].path, "/spec/availability/maxReplica");
//! ```

/// The plugin SDK this crate is built on (so callers and doc examples name the same
/// `Plugin` trait and request types as the plugin, whatever features the SDK was built with).
pub use planton_plugin_sdk as sdk;

pub mod quantity;
pub mod render;
pub mod validate;

use planton_plugin_sdk::{
    CONTRACT_VERSION, Describe, KindInfo, Plugin, PluginError, RenderOutput, RenderRequest, Target,
    ValidateRequest, ValidateResponse,
};
use serde_json::Value;
use std::sync::OnceLock;

/// The kind's `apiVersion`.
pub const API_VERSION: &str = "kubernetes.project-planton.org/v1";
/// The kind's `kind`.
pub const KIND: &str = "MicroserviceKubernetes";
/// The metadata label that overrides the target namespace.
pub const NAMESPACE_LABEL: &str = "kubernetes.project-planton.org/namespace";

/// The upstream successor kind's `kind` (same `apiVersion`).
pub const DEPLOYMENT_KIND: &str = "KubernetesDeployment";

const SCHEMA_JSON: &str = include_str!("../schema/microservice-kubernetes.schema.json");
const DEPLOYMENT_SCHEMA_JSON: &str = include_str!("../schema/kubernetes-deployment.schema.json");

/// The `MicroserviceKubernetes` structural JSON Schema (parsed once; a test guarantees it parses).
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_JSON).unwrap_or(Value::Null))
}

/// The `KubernetesDeployment` structural JSON Schema (parsed once; a test guarantees it parses).
pub fn deployment_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(DEPLOYMENT_SCHEMA_JSON).unwrap_or(Value::Null))
}

/// Whether a manifest is checked as a `KubernetesDeployment`: its kind is that or a near miss
/// of it (`KubernetesDeploy`); anything else is checked as a `MicroserviceKubernetes`, whose
/// schema names a wrong kind.
pub fn is_deployment_kind(manifest: &Value) -> bool {
    match manifest.get("kind").and_then(Value::as_str) {
        Some(DEPLOYMENT_KIND) => true,
        Some(KIND) | None => false,
        Some(other) => {
            planton_plugin_sdk::schema::did_you_mean(other, [KIND, DEPLOYMENT_KIND])
                == Some(DEPLOYMENT_KIND)
        }
    }
}

/// The schema a manifest is checked against, by its `kind`.
pub fn schema_for(manifest: &Value) -> &'static Value {
    if is_deployment_kind(manifest) {
        deployment_schema()
    } else {
        schema()
    }
}

/// The `MicroserviceKubernetes` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct KubernetesPlugin;

impl Plugin for KubernetesPlugin {
    fn describe() -> Describe {
        Describe {
            name: "kubernetes".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            contract_version: CONTRACT_VERSION,
            kinds: vec![
                KindInfo {
                    api_version: API_VERSION.to_string(),
                    kind: KIND.to_string(),
                    target: Target::Kubernetes,
                    schema: schema().clone(),
                },
                KindInfo {
                    api_version: API_VERSION.to_string(),
                    kind: DEPLOYMENT_KIND.to_string(),
                    target: Target::Kubernetes,
                    schema: deployment_schema().clone(),
                },
            ],
        }
    }

    fn validate(req: ValidateRequest) -> ValidateResponse {
        ValidateResponse {
            diagnostics: validate::validate(&req),
        }
    }

    /// Validates first (as a deployable, non-local overlay) and refuses invalid manifests;
    /// renders the camelCase manifest the validation read.
    fn render(req: RenderRequest) -> Result<RenderOutput, PluginError> {
        let (diagnostics, normalized) = validate::validate_manifest(&req.manifest, false);
        if diagnostics.iter().any(|d| d.is_error()) {
            return Err(PluginError::from_diagnostics(&diagnostics));
        }
        match normalized {
            Some(manifest) => render::render(&RenderRequest { manifest, ..req }),
            None => render::render(&req),
        }
        .map(RenderOutput::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parses() {
        assert!(serde_json::from_str::<Value>(SCHEMA_JSON).is_ok());
        assert!(serde_json::from_str::<Value>(DEPLOYMENT_SCHEMA_JSON).is_ok());
        assert!(schema().is_object());
        assert!(deployment_schema().is_object());
        let d = KubernetesPlugin::describe();
        assert_eq!(d.kinds[0].kind, KIND);
        assert_eq!(d.kinds[1].kind, DEPLOYMENT_KIND);
        assert_eq!(d.contract_version, CONTRACT_VERSION);
    }
}

// The WebAssembly exports of the plugin contract (only on wasm32; see docs/plugin-contract.md).
planton_plugin_sdk::export_plugin!(KubernetesPlugin);
