//! An example planton target plugin: the toy kind `ConfigMapKubernetes`.
//!
//! A `ConfigMapKubernetes` manifest names a ConfigMap and lists its data:
//!
//! ```yaml
//! apiVersion: example.planton.dev/v1
//! kind: ConfigMapKubernetes
//! metadata:
//!   name: greeting
//!   env: prod
//! spec:
//!   namespace: web        # optional; defaults to metadata.name
//!   data:
//!     GREETING: hello
//! ```
//!
//! The plugin validates it (schema first, then one rule of its own: data keys must be valid
//! ConfigMap keys) and renders exactly one `v1/ConfigMap`.
//! It is the complete example of `docs/writing-a-plugin.md`: the logic is three plain
//! functions tested natively with `cargo test`, and one line, [`export_plugin!`], makes the
//! `.wasm` exports.
//!
//! What it is not: a real target. It never reads secrets and has no deploy side; the host
//! applies what it renders.
//!
//! ```
//! use planton_example_plugin_configmap::ConfigMapPlugin;
//! use planton_plugin_sdk::{Plugin, RenderRequest, DeployContext};
//! let manifest = serde_json::json!({
//!     "apiVersion": "example.planton.dev/v1",
//!     "kind": "ConfigMapKubernetes",
//!     "metadata": { "name": "greeting" },
//!     "spec": { "data": { "GREETING": "hello" } }
//! });
//! let out = ConfigMapPlugin::render(RenderRequest { manifest, context: DeployContext::default() }).unwrap();
//! assert_eq!(out.target(), planton_plugin_sdk::Target::Kubernetes);
//! assert_eq!(out.items()[0]["kind"], "ConfigMap");
//! assert_eq!(out.items()[0]["data"]["GREETING"], "hello");
//! ```

use planton_plugin_sdk::{
    CONTRACT_VERSION, Describe, Diagnostic, KindInfo, Plugin, PluginError, RenderOutput,
    RenderRequest, Target, ValidateRequest, ValidateResponse, export_plugin, schema,
};
use serde_json::{Value, json};

/// The `apiVersion` of the toy kind.
pub const API_VERSION: &str = "example.planton.dev/v1";
/// The `kind` of the toy kind.
pub const KIND: &str = "ConfigMapKubernetes";

/// The plugin: a unit struct, all state lives in the requests.
pub struct ConfigMapPlugin;

export_plugin!(ConfigMapPlugin);

impl Plugin for ConfigMapPlugin {
    fn describe() -> Describe {
        Describe {
            name: "configmap-example".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION,
            kinds: vec![KindInfo {
                api_version: API_VERSION.into(),
                kind: KIND.into(),
                // What the kind deploys to: the host picks the driver by it.
                target: Target::Kubernetes,
                schema: manifest_schema(),
            }],
        }
    }

    fn validate(req: ValidateRequest) -> ValidateResponse {
        ValidateResponse {
            diagnostics: check(&req.manifest),
        }
    }

    fn render(req: RenderRequest) -> Result<RenderOutput, PluginError> {
        let diagnostics = check(&req.manifest);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(PluginError::from_diagnostics(&diagnostics));
        }
        let m = &req.manifest;
        let name = m["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = req
            .context
            .namespace
            .as_deref()
            .or_else(|| m["spec"]["namespace"].as_str())
            .unwrap_or(name);
        let mut labels = serde_json::Map::new();
        labels.insert("app.kubernetes.io/name".into(), json!(name));
        labels.insert("app.kubernetes.io/managed-by".into(), json!("planton"));
        if let Some(env) = m["metadata"]["env"].as_str().or(req.context.env.as_deref()) {
            labels.insert("planton.ai/environment".into(), json!(env));
        }
        let data = m["spec"]["data"].clone();
        let config_map = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": name, "namespace": namespace, "labels": labels },
            "data": if data.is_null() { json!({}) } else { data },
        });
        // Tagged with the target: Kubernetes objects, in apply order.
        Ok(RenderOutput::Kubernetes {
            objects: vec![config_map],
        })
    }
}

/// The structural schema of a `ConfigMapKubernetes` manifest.
fn manifest_schema() -> Value {
    json!({
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": { "type": "string", "enum": [API_VERSION] },
            "kind": { "type": "string", "enum": [KIND] },
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": { "type": "string", "minLength": 1 },
                    "env": { "type": "string" },
                    "labels": { "type": "object", "additionalProperties": { "type": "string" } }
                }
            },
            "spec": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "namespace": { "type": "string" },
                    "data": { "type": "object", "additionalProperties": { "type": "string" } }
                }
            }
        }
    })
}

/// Every problem of a manifest: the schema's, then the plugin's own rules.
fn check(manifest: &Value) -> Vec<Diagnostic> {
    let mut diagnostics = schema::check(&manifest_schema(), manifest);
    if let Some(data) = manifest["spec"]["data"].as_object() {
        for key in data.keys() {
            if !is_config_map_key(key) {
                diagnostics.push(Diagnostic::error(
                    "data-key-invalid",
                    format!("/spec/data/{}", planton_plugin_sdk::pointer::escape(key)),
                    format!("`{key}` is not a valid ConfigMap key (letters, digits, `-`, `_` and `.`, at most 253)"),
                ));
            }
        }
    }
    diagnostics
}

/// A ConfigMap data key: `[-._a-zA-Z0-9]+`, at most 253 bytes.
fn is_config_map_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use planton_plugin_sdk::DeployContext;

    fn manifest(spec: Value) -> Value {
        json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": { "name": "greeting", "env": "prod" },
            "spec": spec,
        })
    }

    fn validate(spec: Value) -> Vec<String> {
        let req = ValidateRequest {
            manifest: manifest(spec),
            overlay: "prod".into(),
            local: false,
        };
        ConfigMapPlugin::validate(req)
            .diagnostics
            .into_iter()
            .map(|d| format!("{} {}", d.path, d.code))
            .collect()
    }

    #[test]
    fn describes_one_kind() {
        let d = ConfigMapPlugin::describe();
        assert_eq!(d.contract_version, CONTRACT_VERSION);
        assert_eq!(
            (d.kinds[0].api_version.as_str(), d.kinds[0].kind.as_str()),
            (API_VERSION, KIND)
        );
    }

    #[test]
    fn valid_manifest_has_no_diagnostics() {
        assert_eq!(
            validate(json!({ "data": { "GREETING": "hello", "app.yaml": "x: 1" } })),
            Vec::<String>::new()
        );
    }

    #[test]
    fn bad_key_and_unknown_field_are_both_reported() {
        let got = validate(json!({ "data": { "no spaces": "x" }, "replicas": 2 }));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got.iter()
                .any(|d| d == "/spec/data/no spaces data-key-invalid"),
            "{got:?}"
        );
        assert!(
            got.iter().any(|d| d.starts_with("/spec/replicas")),
            "{got:?}"
        );
    }

    #[test]
    fn renders_one_config_map() {
        let req = RenderRequest {
            manifest: manifest(json!({ "data": { "A": "1" } })),
            context: DeployContext::default(),
        };
        let out = ConfigMapPlugin::render(req).unwrap();
        assert_eq!(
            out,
            RenderOutput::Kubernetes {
                objects: vec![json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "greeting",
                        "namespace": "greeting",
                        "labels": {
                            "app.kubernetes.io/name": "greeting",
                            "app.kubernetes.io/managed-by": "planton",
                            "planton.ai/environment": "prod"
                        }
                    },
                    "data": { "A": "1" }
                })]
            }
        );
    }

    #[test]
    fn context_namespace_wins() {
        let context = DeployContext {
            namespace: Some("ops".into()),
            ..DeployContext::default()
        };
        let req = RenderRequest {
            manifest: manifest(json!({ "namespace": "web" })),
            context,
        };
        let out = ConfigMapPlugin::render(req).unwrap();
        assert_eq!(out.items()[0]["metadata"]["namespace"], "ops");
        assert_eq!(out.items()[0]["data"], json!({}));
    }

    #[test]
    fn invalid_manifest_does_not_render() {
        let req = RenderRequest {
            manifest: manifest(json!({ "data": { "bad key": "x" } })),
            context: DeployContext::default(),
        };
        let err = ConfigMapPlugin::render(req).unwrap_err();
        assert!(err.message.contains("data-key-invalid"), "{}", err.message);
    }
}
