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
    let objects = KubernetesPlugin::render(req).unwrap().into_items();
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
    .into_items();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Namespace", "ServiceAccount", "Deployment"]);
    assert_eq!(objects[0]["metadata"]["name"], "jobs");
    assert_eq!(objects[2]["metadata"]["namespace"], "jobs");
}

fn kubernetes_deployment() -> RenderRequest {
    request(&json!({"manifest": "kubernetes-deployment-prod", "context": {"image": "r/x:1"}}))
}

fn kinds(objects: &[Value]) -> Vec<&str> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn kubernetes_deployment_namespace_comes_from_the_spec_and_is_created_only_when_asked() {
    let req = kubernetes_deployment();
    let objects = KubernetesPlugin::render(req.clone()).unwrap().into_items();
    assert_eq!(objects[0]["kind"], "Namespace");
    assert_eq!(objects[0]["metadata"]["name"], "orders");
    assert!(
        objects[1..]
            .iter()
            .all(|o| o["metadata"]["namespace"] == "orders")
    );
    let mut req2 = req.clone();
    req2.manifest["spec"]["createNamespace"] = json!(false);
    req2.manifest["spec"]["namespace"] = json!("orders-2");
    let objects = KubernetesPlugin::render(req2).unwrap().into_items();
    assert!(!kinds(&objects).contains(&"Namespace"));
    assert_eq!(objects[0]["metadata"]["namespace"], "orders-2");
    // The host's namespace, when it decides one, wins (as for MicroserviceKubernetes).
    let mut req3 = req;
    req3.context.namespace = Some("pinned".into());
    let objects = KubernetesPlugin::render(req3).unwrap().into_items();
    assert_eq!(objects[0]["metadata"]["name"], "pinned");
}

#[test]
fn kubernetes_deployment_config_maps_ingress_and_secret_refs() {
    let objects = KubernetesPlugin::render(kubernetes_deployment())
        .unwrap()
        .into_items();
    let cm = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["metadata"]["name"], "order-api-app");
    assert_eq!(cm["data"]["app"], "listen: 8080\nregion: eu-west-1\n");
    let ingress = objects.iter().find(|o| o["kind"] == "Ingress").unwrap();
    assert_eq!(ingress["spec"]["rules"][0]["host"], "orders.example.com");
    let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
    assert_eq!(
        secret["stringData"],
        json!({"DATABASE_PASSWORD": "$secrets-group/database/password"})
    );
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    let stripe = env
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "STRIPE_KEY")
        .unwrap();
    assert_eq!(
        stripe["valueFrom"]["secretKeyRef"],
        json!({"name": "stripe", "key": "api-key"})
    );
}

#[test]
fn kubernetes_deployment_value_from_stops_the_render_naming_the_field() {
    let mut req = kubernetes_deployment();
    req.manifest["spec"]["container"]["app"]["env"]["variables"]["DB_HOST"] = json!({"valueFrom": {"kind": "PostgresKubernetes", "name": "orders-db", "fieldPath": "status.outputs.service"}});
    let err = KubernetesPlugin::render(req.clone()).unwrap_err();
    assert!(
        err.message.starts_with(
            "unresolved reference at /spec/container/app/env/variables/DB_HOST: valueFrom PostgresKubernetes/orders-db status.outputs.service"
        ),
        "{err}"
    );
    req.manifest["spec"]["container"]["app"]["env"]["variables"]
        .as_object_mut()
        .unwrap()
        .shift_remove("DB_HOST");
    req.manifest["spec"]["namespace"] = json!({"valueFrom": {"name": "orders-ns"}});
    let err = KubernetesPlugin::render(req).unwrap_err();
    assert!(
        err.message
            .starts_with("unresolved reference at /spec/namespace"),
        "{err}"
    );
}

#[test]
fn proto_field_names_render_as_their_camel_case_twins() {
    let req = kubernetes_deployment();
    let want = KubernetesPlugin::render(req.clone()).unwrap();
    let mut snake = req;
    let spec = snake.manifest["spec"].as_object_mut().unwrap();
    let cms = spec.shift_remove("configMaps").unwrap();
    spec.insert("config_maps".into(), cms);
    let ports = snake.manifest["spec"]["container"]["app"]["ports"][0]
        .as_object_mut()
        .unwrap();
    let sp = ports.shift_remove("servicePort").unwrap();
    ports.insert("service_port".into(), sp);
    let ip = ports.shift_remove("isIngressPort").unwrap();
    ports.insert("is_ingress_port".into(), ip);
    assert_eq!(KubernetesPlugin::render(snake).unwrap(), want);
}

#[test]
fn the_last_of_two_ingress_ports_is_used() {
    let mut req = request(&json!({"manifest": "conformance-prod", "context": {"image": "r/x:1"}}));
    let ports = req.manifest["spec"]["container"]["app"]["ports"]
        .as_array_mut()
        .unwrap();
    assert!(ports.len() >= 2, "fixture needs two ports");
    for p in ports.iter_mut() {
        p["isIngressPort"] = json!(true);
    }
    let last = ports.last().unwrap()["servicePort"].clone();
    let objects = KubernetesPlugin::render(req).unwrap().into_items();
    let ingress = objects.iter().find(|o| o["kind"] == "Ingress").unwrap();
    assert_eq!(
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"],
        last
    );
}
