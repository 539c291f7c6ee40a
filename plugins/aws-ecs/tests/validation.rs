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

/// Sets `ptr` to `value`, creating missing objects (and appending at index == len).
fn set(doc: &mut Value, ptr: &str, value: Value) {
    let tokens: Vec<String> = ptr
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut cur = doc;
    for (i, t) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        if cur.is_array() {
            let arr = cur.as_array_mut().unwrap();
            let idx: usize = t.parse().unwrap();
            if idx == arr.len() {
                arr.push(Value::Null);
            }
            if last {
                arr[idx] = value;
                return;
            }
            cur = &mut arr[idx];
        } else {
            if !cur.is_object() {
                *cur = Value::Object(Default::default());
            }
            let obj = cur.as_object_mut().unwrap();
            if last {
                obj.insert(t.clone(), value);
                return;
            }
            cur = obj.entry(t.clone()).or_insert(Value::Null);
        }
    }
}

fn remove(doc: &mut Value, ptr: &str) {
    let (parent, last) = ptr.rsplit_once('/').unwrap();
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(o)) => {
            o.shift_remove(&last);
        }
        Some(Value::Array(a)) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => panic!("cannot remove {ptr}"),
    }
}

#[test]
fn every_rule_reports_its_code_and_path() {
    let rules: Value = serde_json::from_str(&testdata("rules.json")).unwrap();
    let mut failures = Vec::new();
    for case in rules["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut manifest = rules["base"].clone();
        for ptr in case
            .get("remove")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            remove(&mut manifest, ptr.as_str().unwrap());
        }
        for (ptr, v) in case
            .get("set")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            set(&mut manifest, ptr, v.clone());
        }
        let local = case.get("local").and_then(Value::as_bool).unwrap_or(false);
        let res = EcsPlugin::validate(ValidateRequest {
            manifest,
            overlay: "test".into(),
            local,
        });
        let got: Vec<(String, String)> = res
            .diagnostics
            .iter()
            .map(|d| (d.code.clone(), d.path.clone()))
            .collect();
        let want: Vec<(String, String)> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if got != want {
            failures.push(format!(
                "{name}:\n  want {want:?}\n  got  {got:?}\n  {:#?}",
                res.diagnostics
            ));
        }
    }
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
