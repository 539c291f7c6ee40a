//! Golden render tests: each `testdata/render/<case>.input.json` (a manifest, inline or by
//! fixture name under `testdata/manifests/`, plus a deploy context) renders to exactly
//! `<case>.golden.json`. Refresh with `UPDATE_GOLDEN=1 cargo test`, then review the diff.
//! `scripts/check_rendered.py` validates the golden files against the Kubernetes schemas.

use planton_plugin_k8s::KubernetesPlugin;
use planton_plugin_sdk::{DeployContext, Plugin, RenderRequest};
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
    let failures = planton_plugin_sdk::testing::golden::check::<KubernetesPlugin>(&dir());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_are_references_into_one_secret() {
    let req = request(&json!({"manifest": "seed-prod-built", "context": {"image": "r/x:1"}}));
    let objects = KubernetesPlugin::render(req).unwrap().objects;
    let secrets: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Secret").collect();
    assert_eq!(secrets.len(), 1);
    let secret_name = secrets[0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        secrets[0]["stringData"]["DATABASE_PASSWORD"],
        "$secrets-group/database/password"
    );
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = env.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for e in env.iter().filter(|e| e.get("valueFrom").is_some()) {
        assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], secret_name);
    }
}

#[test]
fn render_refuses_invalid_manifests_and_missing_images() {
    let mut req = request(&json!({"manifest": "seed-base", "context": {}}));
    let err = KubernetesPlugin::render(req.clone()).unwrap_err();
    assert!(err.message.contains("image"), "{err}");
    req.manifest["spec"]["version"] = json!("Bad-");
    req.context.image = Some("r/x:1".into());
    let err = KubernetesPlugin::render(req).unwrap_err();
    assert!(err.message.contains("version-invalid"), "{err}");
}

#[test]
fn no_ports_means_no_service_and_namespace_label_wins() {
    let manifest = json!({
        "apiVersion": "kubernetes.project-planton.org/v1", "kind": "MicroserviceKubernetes",
        "metadata": {"name": "worker", "labels": {"kubernetes.project-planton.org/namespace": "jobs"}},
        "spec": {"version": "main", "container": {"app": {"image": {"repo": "r/worker", "tag": "1"}}}}
    });
    let objects = KubernetesPlugin::render(RenderRequest {
        manifest,
        context: DeployContext::default(),
    })
    .unwrap()
    .objects;
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Namespace", "ServiceAccount", "Deployment"]);
    assert_eq!(objects[0]["metadata"]["name"], "jobs");
    assert_eq!(objects[2]["metadata"]["namespace"], "jobs");
}
