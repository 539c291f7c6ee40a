//! Data-driven validation tests: `testdata/rules.json` (one failing manifest per rule, with
//! the expected codes and JSON Pointers) and the seed/conformance manifests, which must
//! validate without a single diagnostic.

use planton_plugin_k8s::KubernetesPlugin;
use planton_plugin_sdk::{Plugin, ValidateRequest};
use serde_json::Value;
use std::path::Path;

fn testdata(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

#[test]
fn every_rule_reports_its_code_and_path() {
    let failures =
        planton_plugin_sdk::testing::check_rules::<KubernetesPlugin>(&testdata("rules.json"));
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_kubernetes_deployment_rule_reports_its_code_and_path() {
    let failures = planton_plugin_sdk::testing::check_rules::<KubernetesPlugin>(&testdata(
        "rules-kubernetes-deployment.json",
    ));
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_and_conformance_manifests_validate_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let failures =
        planton_plugin_sdk::testing::golden::check_clean_manifests::<KubernetesPlugin>(&dir, 8);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seed_local_literal_secret_is_an_error_outside_local() {
    let manifest: Value = serde_json::from_str(&testdata("patches/seed-local-patch.json")).unwrap();
    let res = KubernetesPlugin::validate(ValidateRequest {
        manifest,
        overlay: "prod".into(),
        local: false,
    });
    let got: Vec<(&str, &str)> = res
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            // A patch alone is not a whole manifest: the version comes from the base.
            ("version-required", "/spec/version"),
            (
                "env-secret-literal",
                "/spec/container/app/env/secrets/DATABASE_PASSWORD"
            )
        ]
    );
}

#[test]
fn validation_never_panics_on_odd_input() {
    for manifest in [
        serde_json::json!(null),
        serde_json::json!([]),
        serde_json::json!("x"),
        serde_json::json!({"spec": {"container": {"app": {"ports": [null, 1, {"name": 5}], "env": {"secrets": 3}}}}}),
        serde_json::json!({"spec": {"availability": {"horizontalPodAutoscaling": "yes", "podDisruptionBudget": []}}}),
    ] {
        let res = KubernetesPlugin::validate(ValidateRequest {
            manifest,
            overlay: "x".into(),
            local: false,
        });
        assert!(!res.is_ok());
    }
}
