//! Data-driven validation tests: `testdata/rules.json` (one failing manifest per rule, with
//! the expected codes and JSON Pointers) and the seed/conformance manifests, which must
//! validate without a single diagnostic.

use planton_plugin_ecs::EcsPlugin;
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
    let failures = planton_plugin_sdk::testing::check_rules::<EcsPlugin>(&testdata("rules.json"));
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_and_conformance_manifests_validate_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/manifests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 3, "fixtures missing: {names:?}");
    for name in names {
        let manifest: Value =
            serde_json::from_str(&testdata(&format!("manifests/{name}"))).unwrap();
        let local = name.contains("local");
        let overlay = if local { "local" } else { "prod" };
        let res = EcsPlugin::validate(ValidateRequest {
            manifest,
            overlay: overlay.into(),
            local,
        });
        assert!(res.diagnostics.is_empty(), "{name}: {:#?}", res.diagnostics);
    }
}

#[test]
fn validation_never_panics_on_odd_input() {
    for manifest in [
        serde_json::json!(null),
        serde_json::json!([]),
        serde_json::json!("x"),
        serde_json::json!({"spec": {"container": {"app": {"ports": [null, 1, {"name": 5}], "env": {"secrets": 3}}}}}),
        serde_json::json!({"spec": {"alb": {"enabled": true, "arn": 5}, "autoscaling": {"enabled": true, "maxTasks": "x"}, "clusterArn": {"value": 3}}}),
    ] {
        let res = EcsPlugin::validate(ValidateRequest {
            manifest,
            overlay: "x".into(),
            local: false,
        });
        assert!(!res.is_ok());
    }
}
