//! `planton validate` and `planton plan` end to end on the example service and broken
//! copies of it: exit codes, text lines, JSON shape, SARIF checked against the official
//! SARIF 2.1.0 schema (python `jsonschema`), JUnit read back by `junitparser`.

use crate::util::{copy_dir, run, temp_dir, workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of examples/order-api with `edits` applied (file, from, to).
fn broken_example(name: &str, edits: &[(&str, &str, &str)]) -> PathBuf {
    let dir = temp_dir(name);
    copy_dir(&workspace().join("examples/order-api"), &dir);
    for (file, from, to) in edits {
        let p = dir.join(file);
        let text = std::fs::read_to_string(&p).expect("read example file");
        assert!(text.contains(from), "{file} lacks {from:?}");
        std::fs::write(&p, text.replacen(from, to, 1)).expect("write");
    }
    dir
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_example_validates_and_plans_as_the_seed_says() {
    let example = workspace().join("examples/order-api");
    let out = run(&["validate", example.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["summary"]["errors"], 0, "{v}");
    let out = run(&["plan", example.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let tasks: Vec<(&str, &str)> = p["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["env"].as_str().unwrap()))
        .collect();
    // planton.yaml's promotionOrder: staging before prod, which has a manual gate.
    assert_eq!(tasks, [("staging", "app-staging"), ("prod", "app-prod")]);
    assert_eq!(p["tasks"][1]["requiresManualGate"], true);
    assert_eq!(p["tasks"][0]["requiresManualGate"], false);
    assert_eq!(p["skipped"][0]["name"], "local");
    for key in [
        "name",
        "env",
        "kind",
        "resourceName",
        "requiresManualGate",
        "manifestDigest",
    ] {
        assert!(p["tasks"][0].get(key).is_some(), "task lacks {key}");
    }
}

#[test]
fn errors_exit_1_with_file_line_column_lines() {
    let dir = broken_example(
        "validate-broken",
        &[
            (
                "_kustomize/overlays/prod/service.yaml",
                "maxReplicas: 10",
                "maxReplica: 10",
            ),
            (
                "_kustomize/base/service.yaml",
                "- name: metrics",
                "- name: Metrics_Port",
            ),
        ],
    );
    let out = run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("_kustomize/overlays/prod/service.yaml:28:7: error[schema-unknown-field]: unknown field `maxReplica`: did you mean `maxReplicas`?"),
        "{text}"
    );
    assert!(
        text.contains("_kustomize/base/service.yaml:37:17: error[port-name-invalid]"),
        "{text}"
    );
    // One overlay only.
    let out = run(&[
        "validate",
        dir.join("_kustomize/overlays/staging").to_str().unwrap(),
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(
        !diags.is_empty() && diags.iter().all(|d| d["overlay"] == "staging"),
        "{v}"
    );
    assert_eq!(v["summary"]["errors"].as_u64(), Some(diags.len() as u64));
}

#[test]
fn validation_that_cannot_run_exits_2() {
    let dir = temp_dir("validate-nothing");
    let out = run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no _kustomize/ folder"));
}

#[test]
fn sarif_output_validates_against_the_sarif_schema() {
    let schema = workspace().join("target/test-tools/sarif-2.1.0.json");
    assert!(
        schema.is_file(),
        "SARIF schema missing: run scripts/setup.sh (cargo xtask setup)"
    );
    let dir = broken_example(
        "validate-sarif",
        &[(
            "_kustomize/base/service.yaml",
            "- name: metrics",
            "- name: Metrics_Port",
        )],
    );
    let out = run(&["validate", dir.to_str().unwrap(), "--output", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let report = dir.join("report.sarif");
    std::fs::write(&report, &out.stdout).expect("write sarif");
    let check = Command::new("python3")
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); r=json.load(open(sys.argv[1]))['runs'][0]['results']; print(len(r), r[0]['locations'][0]['physicalLocation']['region']['startLine'])"])
        .arg(&report)
        .arg(&schema)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "SARIF does not validate: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        stdout(&check).trim(),
        "3 37",
        "three overlays report the base's line 37"
    );
}

#[test]
fn junit_output_is_read_by_junitparser() {
    let dir = broken_example(
        "validate-junit",
        &[(
            "_kustomize/overlays/prod/service.yaml",
            "maxReplicas: 10",
            "maxReplica: 10",
        )],
    );
    let out = run(&["validate", dir.to_str().unwrap(), "--output", "junit"]);
    let report = dir.join("report.xml");
    std::fs::write(&report, &out.stdout).expect("write junit");
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys; from junitparser import JUnitXml, Failure\nx=JUnitXml.fromfile(sys.argv[1])\nfor s in x:\n  for c in s:\n    print(c.name, 'FAIL' if any(isinstance(r, Failure) for r in c.result) else 'ok')",
        ])
        .arg(&report)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "junitparser: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let lines = stdout(&check);
    assert!(lines.contains("overlay prod FAIL"), "{lines}");
    assert!(
        lines.contains("overlay staging ok") && lines.contains("overlay local ok"),
        "{lines}"
    );
}

#[test]
fn kubernetes_deployment_schema_and_upstream_spellings_on_the_command_line() {
    let out = run(&["schema", "--kind", "KubernetesDeployment"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        schema["properties"]["kind"]["enum"],
        serde_json::json!(["KubernetesDeployment"])
    );
    assert!(schema["definitions"]["spec"]["properties"]["configMaps"].is_object());

    // The example validates clean; a proto field name is a warning (exit 0) naming the
    // camelCase spelling, at the line that wrote it.
    let dir = temp_dir("kd-snake-case");
    copy_dir(&workspace().join("examples/order-api-deployment"), &dir);
    let out = run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let patch = dir.join("_kustomize/overlays/prod/service.yaml");
    let text = std::fs::read_to_string(&patch).expect("read");
    // A field the base does not set (over a base field, the patch would add a second
    // spelling of it: `schema-duplicate-field`).
    std::fs::write(
        &patch,
        text.replacen("minAvailable: \"2\"", "min_available: \"2\"", 1),
    )
    .expect("write");
    let line = text
        .lines()
        .position(|l| l.contains("minAvailable: \"2\""))
        .expect("minAvailable in the prod patch")
        + 1;
    let out = run(&["validate", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let want = format!(
        "_kustomize/overlays/prod/service.yaml:{line}:7: warning[schema-proto-field-name]: `min_available` is the proto name of `minAvailable`"
    );
    assert!(text.contains(&want), "no {want:?} in:\n{text}");
}

#[test]
fn a_proto_name_in_a_patch_over_the_camel_case_base_field_is_one_error_at_the_patch() {
    let dir = temp_dir("kd-both-spellings");
    copy_dir(&workspace().join("examples/order-api-deployment"), &dir);
    let patch = dir.join("_kustomize/overlays/prod/service.yaml");
    let text = std::fs::read_to_string(&patch).expect("read");
    std::fs::write(
        &patch,
        text.replacen("minReplicas: 3", "min_replicas: 3", 1),
    )
    .expect("write");
    let out = run(&["validate", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("_kustomize/overlays/prod/service.yaml:19:5: error[schema-duplicate-field]: `min_replicas` and `minReplicas` are one field"),
        "{text}"
    );
}

/// A build error names its files as the user knows them: `planton build` relative to the
/// working directory (absolute outside it), `planton validate` relative to the service root;
/// core keeps the paths apart from the text, so no front end rewrites the message.
#[test]
fn build_errors_name_paths_as_the_user_knows_them() {
    let dir = broken_example(
        "build-error-paths",
        &[(
            "_kustomize/base/kustomization.yaml",
            "  - service.yaml",
            "  - service.yaml\n  - missing.yaml",
        )],
    );
    let build_in = |cwd: &Path, overlay: &Path| {
        Command::new(crate::util::planton())
            .arg("build")
            .arg(overlay)
            .current_dir(cwd)
            .output()
            .expect("run planton build")
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let prod = dir.join("_kustomize/overlays/prod");

    let inside = build_in(&dir, Path::new("_kustomize/overlays/prod"));
    assert_eq!(inside.status.code(), Some(1), "{}", stderr(&inside));
    let text = stderr(&inside);
    assert!(
        text.starts_with("Error: _kustomize/base/kustomization.yaml:5:5: "),
        "{text}"
    );
    assert!(
        text.contains("'_kustomize/base/missing.yaml': no such file or directory"),
        "{text}"
    );
    assert!(!text.contains(dir.to_str().unwrap()), "{text}");

    // From a directory beside the base, the base's files are outside it: absolute paths.
    let beside = build_in(&prod, Path::new("."));
    let text = stderr(&beside);
    let missing = dir.join("_kustomize/base/missing.yaml");
    assert!(
        text.contains(&format!(
            "'{}': no such file or directory",
            missing.display()
        )),
        "{text}"
    );

    let out = run(&["validate", dir.to_str().unwrap(), "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let build = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "build" && d["overlay"] == "prod")
        .unwrap_or_else(|| panic!("no build diagnostic for prod: {v}"));
    assert_eq!(
        build["file"], "_kustomize/base/kustomization.yaml",
        "{build}"
    );
    let message = build["message"].as_str().unwrap();
    assert!(
        message.contains("'_kustomize/base/missing.yaml': no such file or directory"),
        "{message}"
    );
}
