//! Golden render tests: each `testdata/render/<case>.input.json` (a manifest, inline or by
//! fixture name under `testdata/manifests/`, plus a deploy context) renders to exactly
//! `<case>.golden.json`. Refresh with `UPDATE_GOLDEN=1 cargo test`, then review the diff.
//! `scripts/check_rendered.py` validates the golden files against the botocore service models.

use planton_plugin_ecs::EcsPlugin;
use planton_plugin_sdk::target::AwsOperation;
use planton_plugin_sdk::{Plugin, RenderRequest, Target};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn request(input: &Value) -> RenderRequest {
    planton_plugin_sdk::testing::golden::request(&dir(), input).unwrap()
}

#[test]
fn renders_match_golden_files() {
    let failures = planton_plugin_sdk::testing::golden::check::<EcsPlugin>(&dir());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn task_definition(req: RenderRequest) -> Value {
    let out = EcsPlugin::render(req).unwrap();
    assert_eq!(out.target(), Target::Aws);
    out.into_items()
        .into_iter()
        .find(|o| o["op"] == "taskDefinition")
        .unwrap()
}

#[test]
fn secrets_become_value_from_never_environment() {
    let req = request(&json!({"manifest": "conformance-prod", "context": {}}));
    let td = task_definition(req);
    let c = &td["containers"][0];
    assert_eq!(
        c["secrets"]["DB_PASSWORD"],
        json!({"arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:checkout-db"})
    );
    assert!(c["environment"].get("DB_PASSWORD").is_none());
    assert_eq!(c["name"], "checkout");
    assert_eq!(c["essential"], true);
}

#[test]
fn a_group_reference_becomes_a_secret_operation_and_a_typed_value_from() {
    let mut req = request(&json!({"manifest": "conformance-prod", "context": {}}));
    req.manifest["spec"]["container"]["env"]["secrets"]["DB_PASSWORD"] =
        json!("$secrets-group/postgres/prod.password");
    let ops = EcsPlugin::render(req.clone()).unwrap().into_items();
    assert!(
        ops.contains(&json!({"op": "secret", "group": "postgres", "entry": "prod.password"})),
        "{ops:?}"
    );
    assert_eq!(
        task_definition(req)["containers"][0]["secrets"]["DB_PASSWORD"],
        json!({"secret": {"group": "postgres", "entry": "prod.password"}})
    );
    // The host reads every operation back as the typed contract.
    assert!(AwsOperation::parse_all(&ops).is_ok());
}

#[test]
fn render_refuses_invalid_manifests_and_missing_images() {
    let mut req = request(&json!({"manifest": "conformance-prod", "context": {}}));
    req.manifest["spec"]["container"]["image"]["tag"] = json!(null);
    let err = EcsPlugin::render(req.clone()).unwrap_err();
    assert!(err.message.contains("image tag"), "{err}");
    req.context.image = Some("r/x:1".into());
    req.manifest["spec"]["container"]["cpu"] = json!(300);
    let err = EcsPlugin::render(req).unwrap_err();
    assert!(err.message.contains("fargate-cpu-memory-invalid"), "{err}");
}

#[test]
fn value_from_references_stop_the_render_naming_the_field() {
    let mut req = request(&json!({"manifest": "conformance-prod", "context": {}}));
    req.manifest["spec"]["network"]["subnets"][1] = json!({"valueFrom": {"kind": "AwsVpc", "name": "main", "fieldPath": "status.outputs.private_subnets.1.id"}});
    let err = EcsPlugin::render(req).unwrap_err();
    assert!(
        err.message
            .starts_with("unresolved reference at /spec/network/subnets/1: valueFrom AwsVpc/main status.outputs.private_subnets.1.id"),
        "{err}"
    );
}

#[test]
fn proto_field_names_render_as_their_camel_case_twins() {
    let req = request(&json!({"manifest": "conformance-prod", "context": {}}));
    let want = EcsPlugin::render(req.clone()).unwrap();
    let mut snake = req;
    let spec = snake.manifest["spec"].as_object_mut().unwrap();
    let grace = spec.shift_remove("healthCheckGracePeriodSeconds");
    let cluster = spec.shift_remove("clusterArn").unwrap();
    spec.insert("cluster_arn".into(), cluster);
    if let Some(g) = grace {
        spec.insert("health_check_grace_period_seconds".into(), g);
    }
    assert_eq!(EcsPlugin::render(snake).unwrap(), want);
}
