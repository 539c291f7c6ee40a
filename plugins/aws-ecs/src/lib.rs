//! The `AwsEcsService` target plugin (`aws.project-planton.org/v1`).
//!
//! [`EcsPlugin`] implements [`Plugin`]: it describes the kind with its structural JSON Schema
//! (`schema/aws-ecs-service.schema.json`, compiled in), validates built manifests
//! ([`validate`]) and renders them into typed AWS operations ([`render`], contract version 2).
//! It is pure computation: no IO, no clock, no randomness, no credentials; it compiles for
//! `wasm32-unknown-unknown` and is tested natively. Carrying the operations out is the host's job.
//!
//! # Validation codes
//!
//! Schema rules (the generic `schema-*` codes of [`planton_plugin_sdk::schema`] plus):
//! `api-version-invalid`, `kind-invalid`, `name-invalid`, `launch-type-invalid`
//! (`FARGATE`/`EC2`), `port-number-invalid`, `replicas-invalid`, `cpu-invalid`,
//! `memory-invalid`, `subnets-required` (non-empty), `env-name-invalid`, `s3-file-invalid`,
//! `s3-files-duplicate`, `alb-routing-type-invalid` (`path`/`hostname`),
//! `alb-listener-priority-invalid`, `grace-period-invalid`, `autoscaling-min-tasks-invalid`
//! (≥ 1), `autoscaling-max-tasks-invalid`, `autoscaling-target-invalid` (1..100),
//! `health-check-protocol-invalid`, `health-check-path-invalid`, `health-check-port-invalid`,
//! `health-check-interval-invalid`, `health-check-timeout-invalid`,
//! `health-check-threshold-invalid`.
//!
//! Cross-field rules: `cluster-arn-invalid`, `fargate-cpu-memory-invalid`,
//! `alb-arn-required`, `alb-arn-invalid`, `alb-routing-incomplete`, `alb-without-port`
//! (warning), `health-check-duplicate`, `health-check-timeout-exceeds-interval`,
//! `health-check-tcp-unsupported`, `health-check-protocol-required`,
//! `alb-routing-type-required`, `alb-listener-port-required` (on an enabled ALB),
//! `autoscaling-min-tasks-required`, `autoscaling-max-tasks-required` (on every
//! `autoscaling` block, enabled or not, as upstream's buf.validate rules do),
//! `autoscaling-max-below-min`, and the reference rules of
//! [`planton_plugin_sdk::refs::check_env`] (`env-variable-is-secret`, `env-secret-literal`,
//! `env-reference-malformed`, `env-secret-from-variables`, `env-name-duplicate`,
//! `env-reference-unsupported`); here a Secrets Manager or SSM Parameter Store ARN counts as
//! a secret reference.
//!
//! As upstream, fields may be written under their proto names (`container_port`: warning
//! `schema-proto-field-name`), every "string value or reference" field (`clusterArn`,
//! `alb.arn`, the IAM role ARNs, `network.subnets[]`, `network.securityGroups[]`) takes a
//! plain string, `{value}` or `{valueFrom: {kind, env, name, fieldPath}}`, and a number as
//! the health check `port` is accepted with a warning (`schema-number-for-string`).
//! A `valueFrom` is not resolved by planton: `render` stops with an "unresolved reference"
//! error naming the field, before any request is made.
//!
//! Beyond the product spec the kind accepts the upstream `spec.ecsServiceName` and the target
//! group health check at `spec.healthCheck` as well as `spec.alb.healthCheck`, because the
//! conformance overlays use it.
//!
//! ```
//! use planton_plugin_ecs::EcsPlugin;
//! use planton_plugin_ecs::sdk::{Plugin, ValidateRequest};
//! let manifest = serde_json::json!({
//!     "apiVersion": "aws.project-planton.org/v1",
//!     "kind": "AwsEcsService",
//!     "metadata": { "name": "checkout" },
//!     "spec": {
//!         "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/shared",
//!         "container": { "cpu": 256, "memory": 4096 },
//!         "network": { "subnets": ["subnet-1"] }
//!     }
//! });
//! let res = EcsPlugin::validate(ValidateRequest { manifest, overlay: "prod".into(), local: false });
//! assert_eq!(res.diagnostics[0].code, "fargate-cpu-memory-invalid");
//! assert_eq!(res.diagnostics[0].path, "/spec/container/memory");
//! ```

/// The plugin SDK this crate is built on (so callers and doc examples name the same
/// `Plugin` trait and request types as the plugin, whatever features the SDK was built with).
pub use planton_plugin_sdk as sdk;

pub mod render;
pub mod validate;

use planton_plugin_sdk::{
    CONTRACT_VERSION, Describe, KindInfo, Plugin, PluginError, RenderOutput, RenderRequest, Target,
    ValidateRequest, ValidateResponse,
};
use serde_json::Value;
use std::sync::OnceLock;

/// The kind's `apiVersion`.
pub const API_VERSION: &str = "aws.project-planton.org/v1";
/// The kind's `kind`.
pub const KIND: &str = "AwsEcsService";

const SCHEMA_JSON: &str = include_str!("../schema/aws-ecs-service.schema.json");

/// The kind's structural JSON Schema (parsed once; a test guarantees it parses).
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_JSON).unwrap_or(Value::Null))
}

/// The `AwsEcsService` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct EcsPlugin;

impl Plugin for EcsPlugin {
    fn describe() -> Describe {
        Describe {
            name: "aws-ecs".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            contract_version: CONTRACT_VERSION,
            kinds: vec![KindInfo {
                api_version: API_VERSION.to_string(),
                kind: KIND.to_string(),
                target: Target::Aws,
                schema: schema().clone(),
            }],
        }
    }

    fn validate(req: ValidateRequest) -> ValidateResponse {
        ValidateResponse {
            diagnostics: validate::validate(&req),
        }
    }

    /// Validates first (as a deployable, non-local overlay) and refuses invalid manifests.
    fn render(req: RenderRequest) -> Result<RenderOutput, PluginError> {
        let diagnostics = validate::validate(&ValidateRequest {
            manifest: req.manifest.clone(),
            overlay: String::new(),
            local: false,
        });
        if diagnostics.iter().any(|d| d.is_error()) {
            return Err(PluginError::from_diagnostics(&diagnostics));
        }
        let manifest =
            planton_plugin_sdk::protojson::normalize_field_names(schema(), &req.manifest).value;
        render::render(&RenderRequest { manifest, ..req })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parses() {
        assert!(serde_json::from_str::<Value>(SCHEMA_JSON).is_ok());
        assert!(schema().is_object());
        assert_eq!(EcsPlugin::describe().kinds[0].api_version, API_VERSION);
    }

    #[test]
    fn fargate_pairs() {
        use validate::fargate_pair_ok;
        assert!(
            fargate_pair_ok(256, 512) && fargate_pair_ok(256, 2048) && !fargate_pair_ok(256, 3072)
        );
        assert!(fargate_pair_ok(512, 4096) && !fargate_pair_ok(512, 512));
        assert!(
            fargate_pair_ok(1024, 2048)
                && fargate_pair_ok(4096, 30720)
                && !fargate_pair_ok(4096, 31744)
        );
        assert!(fargate_pair_ok(8192, 20480) && !fargate_pair_ok(8192, 17408));
        assert!(!fargate_pair_ok(300, 1024));
    }
}

// The WebAssembly exports of the plugin contract (only on wasm32; see docs/plugin-contract.md).
planton_plugin_sdk::export_plugin!(EcsPlugin);
