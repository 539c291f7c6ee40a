//! `planton deploy`, `diff`, `status` and `rollback` end to end against a real control plane
//! (the testenv, or `KUBECONFIG`): the `planton` binary deploys a copy of
//! `examples/order-api`, and the tests read the cluster back with kube-rs.
//!
//! The testenv's kubelets are kwok: no container runs, pods become Running and Ready by kwok's
//! stages, and failures are asked for by image name (`planton.test/image-pull-error`, see
//! `tests/testenv/stages/pod-failures.yaml`). On a real cluster those images fail to pull too.

use crate::cluster::{cluster, wait_until};
use crate::util::{
    copy_dir, expect_code, json_out, planton, temp_dir, text, workspace, write_tree,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The image of ordinary deploys (kwok never pulls it).
const IMAGE_A: &str = "registry.k8s.io/pause:3.10";
const IMAGE_B: &str = "registry.k8s.io/pause:3.9";
/// A secret value that must never leave the Secret it is written into.
const CANARY: &str = "canary-d3pl0y-5ecret-value-91f2";

/// A copy of the example service with a groups directory whose secrets are `canary`.
fn service(name: &str, canary: &str) -> PathBuf {
    let root = temp_dir(&format!("deploy-{name}")).join("order-api");
    copy_dir(&workspace().join("examples/order-api"), &root);
    write_groups(&root, canary);
    root
}

fn write_groups(root: &Path, canary: &str) {
    let secrets = |group: &str, entries: &[&str]| {
        let e: String = entries
            .iter()
            .map(|n| format!("    - name: {n}\n      value: \"{canary}\"\n"))
            .collect();
        format!(
            "apiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: {group}\nspec:\n  entries:\n{e}"
        )
    };
    write_tree(
        root,
        &[
            (
                "groups/postgres-secrets.yaml",
                &secrets("postgres", &["order-api-password"]),
            ),
            (
                "groups/stripe.yaml",
                &secrets("stripe", &["test-key", "live-key"]),
            ),
            (
                "groups/postgres-vars.yaml",
                "apiVersion: service-hub.planton.ai/v1\nkind: VariablesGroup\nmetadata:\n  name: postgres\nspec:\n  entries:\n    - name: host\n      value: db.internal\n",
            ),
        ],
    );
}

fn run_planton(args: &[&str], ns: &str) -> Output {
    let kubeconfig = cluster().kubeconfig().to_string_lossy().into_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--kubeconfig", &kubeconfig, "--namespace", ns]);
    Command::new(planton())
        .args(&all)
        .stdin(Stdio::null())
        .output()
        .expect("run planton")
}

fn deploy(svc: &Path, ns: &str, extra: &[&str]) -> Output {
    let s = svc.to_string_lossy();
    let mut args = vec!["deploy", &*s, "--env", "staging", "-o", "json"];
    if !extra.contains(&"--timeout") {
        args.extend(["--timeout", "90s"]);
    }
    args.extend(extra);
    run_planton(&args, ns)
}

/// Every object of one kind (its plural and API group, version `v1`) in `ns`, as JSON text.
async fn dump_objects(client: &kube::Client, ns: &str, group: &str, plural: &str) -> String {
    let ar = kube::discovery::ApiResource {
        group: group.into(),
        version: "v1".into(),
        api_version: if group.is_empty() {
            "v1".into()
        } else {
            format!("{group}/v1")
        },
        kind: String::new(),
        plural: plural.into(),
    };
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let list = api.list(&ListParams::default()).await.expect("list");
    serde_json::to_string(&list.items).expect("json")
}

async fn state(ns: &str) -> ConfigMap {
    let cms: Api<ConfigMap> = Api::namespaced(cluster().client().await, ns);
    cms.get("planton.state.order-api")
        .await
        .expect("state ConfigMap")
}

#[tokio::test]
async fn first_deploy_no_change_diff_and_image_rollout() {
    let ns = cluster().namespace("deploy").await;
    let svc = service("first", CANARY);
    let s = svc.to_string_lossy().into_owned();

    // Diff before anything exists: everything would be created; the Secret shows no value.
    let d = run_planton(
        &["diff", &s, "--env", "staging", "--image", IMAGE_A],
        ns.name(),
    );
    expect_code(&d, 1, "diff before the first deploy");
    let dt = text(&d.stdout);
    assert!(dt.contains("+kind: Deployment"), "{dt}");
    assert!(
        dt.contains(&format!(
            "Secret {}/order-api-secrets: will be created (values not shown)",
            ns.name()
        )),
        "{dt}"
    );

    let first = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&first, 0, "first deploy");
    let r = json_out(&first);
    assert_eq!(r["result"], "succeeded");
    assert_eq!(r["revision"], 1);
    assert_eq!(r["changed"], true);
    assert!(r["requests"]["writes"].as_u64().unwrap() > 0);
    let stderr = text(&first.stderr);
    assert!(
        stderr.contains("applied Deployment"),
        "progress lines: {stderr}"
    );

    let client = cluster().client().await;
    let deps: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let dep = deps.get("order-api").await.expect("deployment");
    let labels = dep.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("planton")
    );
    assert_eq!(
        labels.get("planton.dev/task").map(String::as_str),
        Some("staging")
    );
    let managers: Vec<String> = dep
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"planton".to_string()), "{managers:?}");
    let cm = state(ns.name()).await;
    let data = cm.data.unwrap_or_default();
    assert_eq!(
        data.get("format").map(String::as_str),
        Some("planton.dev/deploy-state/v1")
    );
    let entry: Value = serde_json::from_str(&data["staging"]).expect("state entry");
    assert_eq!(entry["revisions"][0]["result"], "succeeded");
    assert!(
        entry["revisions"][0]["manifest"]
            .as_str()
            .unwrap()
            .contains("$secrets-group/stripe/test-key")
    );

    // The same deploy again writes nothing.
    let again = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&again, 0, "no-change deploy");
    let r = json_out(&again);
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(r["requests"]["writes"], 0, "{r}");
    assert_eq!(r["revision"], 1);
    let d = run_planton(
        &["diff", &s, "--env", "staging", "--image", IMAGE_A],
        ns.name(),
    );
    expect_code(&d, 0, "diff after deploy");
    assert_eq!(text(&d.stdout), "");

    // A new image: diff shows it, deploy rolls it out.
    let d = run_planton(
        &["diff", &s, "--env", "staging", "--image", IMAGE_B],
        ns.name(),
    );
    expect_code(&d, 1, "diff with a new image");
    let dt = text(&d.stdout);
    assert!(
        dt.contains(&format!("-        image: {IMAGE_A}"))
            && dt.contains(&format!("+        image: {IMAGE_B}")),
        "{dt}"
    );
    let second = deploy(&svc, ns.name(), &["--image", IMAGE_B]);
    expect_code(&second, 0, "image change");
    assert_eq!(json_out(&second)["revision"], 2);
    let dep = deps.get("order-api").await.expect("deployment");
    let status = dep.status.expect("status");
    assert_eq!(status.updated_replicas, Some(2));
    assert_eq!(status.observed_generation, dep.metadata.generation);

    let st = run_planton(&["status", &s, "--env", "staging", "-o", "json"], ns.name());
    expect_code(&st, 0, "status");
    let st = json_out(&st);
    assert_eq!(st[0]["revision"]["revision"], 2);
    assert_eq!(st[0]["revision"]["image"], IMAGE_B);
}

#[tokio::test]
async fn failing_image_is_explained() {
    let ns = cluster().namespace("fail").await;
    let svc = service("fail", CANARY);
    let out = deploy(
        &svc,
        ns.name(),
        &[
            "--image",
            "planton.test/image-pull-error:1",
            "--timeout",
            "20s",
        ],
    );
    expect_code(&out, 1, "deploy of an image that cannot be pulled");
    let r = json_out(&out);
    assert_eq!(r["result"], "failed");
    let pods = r["explanation"]["pods"].as_array().expect("pod problems");
    assert!(
        pods.iter()
            .any(|p| p["reason"] == "ImagePullBackOff" || p["reason"] == "ErrImagePull"),
        "{r}"
    );
    let cm = state(ns.name()).await;
    let entry: Value =
        serde_json::from_str(&cm.data.unwrap_or_default()["staging"]).expect("entry");
    assert_eq!(entry["revisions"][0]["result"], "failed");
    assert!(
        text(&out.stderr).contains("ImagePullBackOff")
            || text(&out.stderr).contains("ErrImagePull")
    );
}

#[tokio::test]
async fn canary_secret_is_found_only_in_its_secret_and_rotation_rolls_pods() {
    let ns = cluster().namespace("canary").await;
    let svc = service("canary", CANARY);
    let s = svc.to_string_lossy().into_owned();
    let mut outputs = Vec::new();
    outputs.push(run_planton(
        &["diff", &s, "--env", "staging", "--image", IMAGE_A],
        ns.name(),
    ));
    let first = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&first, 0, "deploy");
    outputs.push(first);
    outputs.push(run_planton(
        &["deploy", &s, "--env", "staging", "--image", IMAGE_A],
        ns.name(),
    ));
    outputs.push(run_planton(&["status", &s, "--env", "staging"], ns.name()));
    outputs.push(run_planton(
        &["status", &s, "--env", "staging", "-o", "json"],
        ns.name(),
    ));
    let render = crate::util::run(&[
        "render",
        &format!("{s}/_kustomize/overlays/staging"),
        "--image",
        IMAGE_A,
    ]);
    assert!(render.status.success(), "{}", text(&render.stderr));
    outputs.push(render);
    for o in &outputs {
        assert!(!text(&o.stdout).contains(CANARY) && !text(&o.stderr).contains(CANARY));
    }
    let client = cluster().client().await;
    let b64 = {
        use base64_engine::encode;
        encode(CANARY)
    };
    // Only the one Secret holds it (base64, as every Secret does).
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let secret = secrets.get("order-api-secrets").await.expect("secret");
    let data = secret.data.clone().unwrap_or_default();
    assert_eq!(
        data.get("STRIPE_KEY").map(|b| b.0.as_slice()),
        Some(CANARY.as_bytes())
    );
    // Everything else in the namespace: objects, annotations, the state, events.
    for (plural, group) in [
        ("configmaps", ""),
        ("deployments", "apps"),
        ("replicasets", "apps"),
        ("pods", ""),
        ("services", ""),
        ("serviceaccounts", ""),
        ("ingresses", "networking.k8s.io"),
        ("events", ""),
        ("leases", "coordination.k8s.io"),
    ] {
        let dump = dump_objects(&client, ns.name(), group, plural).await;
        assert!(
            !dump.contains(CANARY) && !dump.contains(&b64),
            "canary found in {plural}"
        );
    }
    let ann = |d: &Deployment| {
        d.spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default()
            .get("planton.dev/secrets-digest")
            .cloned()
            .expect("digest annotation")
    };
    let deps: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let before = ann(&deps.get("order-api").await.expect("deployment"));
    assert!(before.starts_with("hmac-sha256:"));

    // Rotate the secret: the digest changes, so the pods roll.
    write_groups(&svc, "rotated-value-0001");
    let rotated = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&rotated, 0, "deploy after rotation");
    let r = json_out(&rotated);
    assert_eq!(r["revision"], 2, "{r}");
    let after = ann(&deps.get("order-api").await.expect("deployment"));
    assert_ne!(before, after);
    let secret = secrets.get("order-api-secrets").await.expect("secret");
    assert_eq!(
        secret.data.unwrap_or_default()["STRIPE_KEY"].0,
        b"rotated-value-0001"
    );
}

/// Tiny base64 encoder for the canary check (standard alphabet, padded).
mod base64_engine {
    pub fn encode(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[tokio::test]
async fn prune_and_rollback() {
    let ns = cluster().namespace("prune").await;
    let svc = service("prune", CANARY);
    let s = svc.to_string_lossy().into_owned();
    expect_code(&deploy(&svc, ns.name(), &["--image", IMAGE_A]), 0, "rev 1");
    // Turn the ingress off: the next deploy deletes the Ingress.
    let patch = svc.join("_kustomize/overlays/staging/service.yaml");
    let text_before = std::fs::read_to_string(&patch).expect("read");
    std::fs::write(
        &patch,
        text_before.replace("  ingress:\n", "  ingress:\n    enabled: false\n"),
    )
    .expect("write");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_B]);
    expect_code(&out, 0, "rev 2");
    let r = json_out(&out);
    let pruned: Vec<&Value> = r["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["action"] == "pruned")
        .collect();
    assert_eq!(pruned.len(), 1, "{r}");
    assert_eq!(pruned[0]["kind"], "Ingress");
    let client = cluster().client().await;
    let ings: Api<k8s_openapi::api::networking::v1::Ingress> =
        Api::namespaced(client.clone(), ns.name());
    assert!(ings.get_opt("order-api").await.expect("get").is_none());

    // Roll back to revision 1: image A and the Ingress again.
    let rb = run_planton(
        &[
            "rollback",
            &s,
            "--env",
            "staging",
            "--to-revision",
            "1",
            "-o",
            "json",
            "--timeout",
            "90s",
        ],
        ns.name(),
    );
    expect_code(&rb, 0, "rollback");
    let r = json_out(&rb);
    assert_eq!(r["revision"], 3);
    let deps: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let dep = deps.get("order-api").await.expect("deployment");
    let image = dep.spec.template.spec.unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some(IMAGE_A));
    assert!(ings.get_opt("order-api").await.expect("get").is_some());
    let cm = state(ns.name()).await;
    let entry: Value =
        serde_json::from_str(&cm.data.unwrap_or_default()["staging"]).expect("entry");
    assert_eq!(entry["revisions"][2]["source"], "rollback to 1");
}

#[tokio::test]
async fn lock_contention_waits_then_fails_and_stale_locks_are_taken_over() {
    let ns = cluster().namespace("lock").await;
    let svc = service("lock", CANARY);
    let client = cluster().client().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());
    let now = k8s_openapi::jiff::Timestamp::now();
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "planton.lock.order-api.staging"},
        "spec": {"holderIdentity": "someone@elsewhere:42", "leaseDurationSeconds": 3600,
                 "renewTime": now.to_string(), "acquireTime": now.to_string()}
    }))
    .expect("lease");
    leases
        .create(&PostParams::default(), &lease)
        .await
        .expect("create lease");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A, "--lock-wait", "2s"]);
    expect_code(&out, 2, "locked");
    let err = text(&out.stderr);
    assert!(err.contains("lock held by `someone@elsewhere:42`"), "{err}");
    assert!(
        json_out(&out)["error"]
            .as_str()
            .unwrap()
            .contains("someone@elsewhere:42")
    );

    // Make the lease stale (an hour old): the next deploy takes it over and says so.
    let mut l = leases
        .get("planton.lock.order-api.staging")
        .await
        .expect("lease");
    let old = k8s_openapi::jiff::Timestamp::from_second(now.as_second() - 7200).expect("time");
    let spec = l.spec.as_mut().expect("spec");
    spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        old,
    ));
    leases
        .replace("planton.lock.order-api.staging", &PostParams::default(), &l)
        .await
        .expect("age lease");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 0, "stale lock taken over");
    assert_eq!(json_out(&out)["tookOverLockFrom"], "someone@elsewhere:42");
    assert!(
        text(&out.stderr).contains("took over the expired deploy lock of someone@elsewhere:42")
    );
    // Released at the end.
    assert!(
        leases
            .get_opt("planton.lock.order-api.staging")
            .await
            .expect("get")
            .is_none()
    );
}

/// `planton deploy` of staging started in the background (stdout and stderr piped).
fn deploy_in_background(svc: &Path, ns: &str, extra: &[&str]) -> std::process::Child {
    let kubeconfig = cluster().kubeconfig().to_string_lossy().into_owned();
    let s = svc.to_string_lossy().into_owned();
    Command::new(planton())
        .args([
            "deploy",
            &s,
            "--env",
            "staging",
            "--kubeconfig",
            &kubeconfig,
            "--namespace",
            ns,
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// Waits until staging's state records a pending revision: the deploy holds its lock and
/// is applying objects.
async fn wait_for_pending_revision(ns: &str) {
    let cms: Api<ConfigMap> = Api::namespaced(cluster().client().await, ns);
    wait_until(
        &cms,
        "planton.state.order-api",
        "holding a pending revision",
        |cm| {
            cm.data
                .as_ref()
                .and_then(|d| d.get("staging"))
                .is_some_and(|e| e.contains("\"pending\""))
        },
    )
    .await;
}

#[tokio::test]
async fn kill_9_mid_deploy_then_rerun_converges() {
    let ns = cluster().namespace("kill").await;
    let svc = service("kill", CANARY);
    let mut child = deploy_in_background(&svc, ns.name(), &["--image", IMAGE_A]);
    // Kill it once the pending revision is recorded (objects are being applied).
    wait_for_pending_revision(ns.name()).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 0, "re-run after kill -9");
    let r = json_out(&out);
    assert_eq!(r["abandonedRevisions"], json!([1]), "{r}");
    assert_eq!(r["revision"], 2);
    let entry: Value =
        serde_json::from_str(&state(ns.name()).await.data.unwrap_or_default()["staging"])
            .expect("entry");
    let results: Vec<&str> = entry["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["failed", "succeeded"]);
    // Nothing duplicated: one Deployment, one ReplicaSet generation for one template.
    let deps: Api<Deployment> = Api::namespaced(cluster().client().await, ns.name());
    assert_eq!(
        deps.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    let again = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    assert_eq!(json_out(&again)["requests"]["writes"], 0);
}

/// Ctrl-C while a deploy holds its lock (here: waiting for an image that is never pulled)
/// stops it between two calls: it releases the Lease, says so, and exits 130; the next
/// deploy takes the lock at once (no wait, no take-over) and continues from the pending
/// revision as from a crashed run.
#[tokio::test]
async fn ctrl_c_mid_deploy_releases_the_lock_and_exits_130() {
    let ns = cluster().namespace("sigint").await;
    let svc = service("sigint", CANARY);
    let args = [
        "--image",
        "planton.test/image-pull-error:1",
        "--timeout",
        "300s",
        "--output",
        "json",
    ];
    let child = deploy_in_background(&svc, ns.name(), &args);
    wait_for_pending_revision(ns.name()).await;
    let leases: Api<Lease> = Api::namespaced(cluster().client().await, ns.name());
    let lease = "planton.lock.order-api.staging";
    assert!(
        leases.get_opt(lease).await.expect("get").is_some(),
        "the deploy holds the lock"
    );
    let pid = child.id().to_string();
    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    assert!(kill.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    expect_code(&out, 130, "deploy interrupted by Ctrl-C");
    assert!(
        text(&out.stderr).contains("interrupted; the deploy lock was released"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(json_out(&out)["exitCode"], 130);
    assert!(
        leases.get_opt(lease).await.expect("get").is_none(),
        "the Lease was released"
    );

    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A, "--lock-wait", "0s"]);
    expect_code(&out, 0, "the deploy after Ctrl-C");
    let r = json_out(&out);
    assert_eq!(r["tookOverLockFrom"], Value::Null, "{r}");
    assert_eq!(r["abandonedRevisions"], json!([1]), "{r}");
    assert_eq!(r["revision"], 2);
}

#[tokio::test]
async fn validation_errors_refuse_the_deploy() {
    let ns = cluster().namespace("invalid").await;
    let svc = service("invalid", CANARY);
    let patch = svc.join("_kustomize/overlays/staging/service.yaml");
    let t = std::fs::read_to_string(&patch).expect("read");
    std::fs::write(
        &patch,
        t.replace(
            "  availability:\n    minReplicas: 2",
            "  availability:\n    minReplicas: -2",
        ),
    )
    .expect("write");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 1, "invalid overlay");
    assert!(
        text(&out.stderr).contains("nothing deployed"),
        "{}",
        text(&out.stderr)
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster().client().await, ns.name());
    assert!(
        cms.get_opt("planton.state.order-api")
            .await
            .expect("get")
            .is_none()
    );

    // Each overlay is valid on its own, but staging now deploys to prod's environment:
    // validating the one overlay cannot see that, the plan's rule over every overlay does.
    let svc = service("shared-target", CANARY);
    let patch = svc.join("_kustomize/overlays/staging/service.yaml");
    let t = std::fs::read_to_string(&patch).expect("read");
    std::fs::write(&patch, t.replace("env: app-staging", "env: app-prod")).expect("write");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 1, "two overlays deploying one workload");
    let err = text(&out.stderr);
    assert!(
        err.contains("error[plan-duplicate-target]")
            && err.contains("deploys what another overlay deploys: nothing deployed"),
        "{err}"
    );
    assert!(
        cms.get_opt("planton.state.order-api")
            .await
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn forbidden_names_the_verb_resource_and_namespace() {
    let Some(restricted) = cluster().restricted_kubeconfig() else {
        eprintln!(
            "skipped: a real cluster's restricted identity is impersonation, which the CLI cannot take"
        );
        return;
    };
    let ns = cluster().namespace("forbid").await;
    let svc = service("forbid", CANARY);
    let s = svc.to_string_lossy().into_owned();
    let r = restricted.to_string_lossy().into_owned();
    let out = Command::new(planton())
        .args([
            "deploy",
            &s,
            "--env",
            "staging",
            "--image",
            IMAGE_A,
            "--kubeconfig",
            &r,
            "--namespace",
            ns.name(),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run planton");
    expect_code(&out, 2, "deploy without permissions");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "forbidden: cannot get configmaps `planton.state.order-api` in namespace `{}`",
            ns.name()
        )),
        "{err}"
    );
}

/// A loopback TCP proxy in front of the API server that resets the first `reset` connections
/// it accepts and forwards the rest. It works below TLS, so it injects connection failures
/// (what a flaky load balancer does); HTTP 429/5xx answers and hung servers are injected by
/// the TLS-terminating proxy of `tests/fault_proxy.rs`.
async fn fault_proxy(
    upstream: String,
    reset: usize,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let resets = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = resets.clone();
    tokio::spawn(async move {
        let mut seen = 0usize;
        loop {
            let Ok((mut down, _)) = listener.accept().await else {
                return;
            };
            seen += 1;
            if seen <= reset {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(down);
                continue;
            }
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                }
            });
        }
    });
    (port, resets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_faults_are_retried_with_backoff() {
    let ns = cluster().namespace("faults").await;
    let svc = service("faults", CANARY);
    let mut kc: Value = serde_json::to_value(
        kube::config::Kubeconfig::read_from(cluster().kubeconfig()).expect("kubeconfig"),
    )
    .expect("json");
    let server = kc["clusters"][0]["cluster"]["server"]
        .as_str()
        .expect("server")
        .to_string();
    let hostport = server.trim_start_matches("https://").to_string();
    let (port, resets) = fault_proxy(hostport, 3).await;
    kc["clusters"][0]["cluster"]["server"] = json!(format!("https://127.0.0.1:{port}"));
    let path = temp_dir("deploy-faults-kubeconfig").join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&kc).expect("json")).expect("write kubeconfig");
    let s = svc.to_string_lossy().into_owned();
    let p = path.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(planton())
            .args([
                "deploy",
                &s,
                "--env",
                "staging",
                "--image",
                IMAGE_A,
                "-o",
                "json",
                "--kubeconfig",
                &p,
                "--namespace",
            ])
            .arg(ns.name())
            .stdin(Stdio::null())
            .output()
            .map(|o| (o, ns))
    })
    .await
    .expect("join")
    .expect("run planton");
    let (out, _ns) = out;
    expect_code(&out, 0, "deploy through a proxy that resets connections");
    assert_eq!(resets.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(json_out(&out)["result"], "succeeded");
}

#[tokio::test]
async fn init_from_the_cluster_round_trips_the_stored_manifest() {
    let ns = cluster().namespace("init").await;
    let svc = service("init", CANARY);
    expect_code(&deploy(&svc, ns.name(), &["--image", IMAGE_A]), 0, "deploy");
    let cm = state(ns.name()).await;
    let entry: Value =
        serde_json::from_str(&cm.data.unwrap_or_default()["staging"]).expect("entry");
    let stored = entry["revisions"][0]["manifest"]
        .as_str()
        .expect("manifest")
        .to_string();

    let dir = temp_dir("deploy-init-out");
    let d = dir.to_string_lossy().into_owned();
    let kubeconfig = cluster().kubeconfig().to_string_lossy().into_owned();
    let id = format!("{}/order-api", ns.name());
    let args = [
        "service",
        "kustomize",
        "init",
        "MicroserviceKubernetes",
        &id,
        "--dir",
        &d,
        "--kubeconfig",
        &kubeconfig,
    ];
    let out = crate::util::run(&args);
    expect_code(&out, 0, "init from the cluster");
    let built = crate::util::run(&["build", &format!("{d}/_kustomize/overlays/staging")]);
    expect_code(&built, 0, "build of the initialised overlay");
    assert_eq!(text(&built.stdout), stored);
    let config = std::fs::read_to_string(dir.join("planton.yaml")).expect("planton.yaml");
    assert!(
        config.contains(&format!("namespace: {}", ns.name())),
        "{config}"
    );
    // Never overwrites without --force.
    let again = crate::util::run(&args);
    expect_code(&again, 1, "init over existing files");
    assert!(text(&again.stderr).contains("--force"));
}

#[tokio::test]
async fn field_manager_conflicts_are_named_and_force_conflicts_takes_them() {
    let ns = cluster().namespace("conflict").await;
    let svc = service("conflict", CANARY);
    expect_code(&deploy(&svc, ns.name(), &["--image", IMAGE_A]), 0, "deploy");
    // Someone else takes spec.replicas.
    let deps: Api<Deployment> = Api::namespaced(cluster().client().await, ns.name());
    let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "order-api"}, "spec": {"replicas": 5}});
    deps.patch(
        "order-api",
        &kube::api::PatchParams::apply("hand-edit").force(),
        &kube::api::Patch::Apply(&patch),
    )
    .await
    .expect("take replicas");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 1, "conflicting deploy");
    let err = text(&out.stderr);
    assert!(
        err.contains("conflict") && err.contains("hand-edit") && err.contains(".spec.replicas"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A, "--force-conflicts"]);
    expect_code(&out, 0, "deploy with --force-conflicts");
    let dep = deps.get("order-api").await.expect("deployment");
    assert_eq!(dep.spec.replicas, Some(2));
}

/// Renames the service in every manifest of a copy (so a test can look it up across all
/// namespaces without meeting the other tests' deploys).
fn rename_service(svc: &Path, name: &str) {
    for f in [
        "base/service.yaml",
        "overlays/staging/service.yaml",
        "overlays/prod/service.yaml",
        "overlays/local/service.yaml",
    ] {
        let p = svc.join("_kustomize").join(f);
        let t = std::fs::read_to_string(&p).expect("read");
        std::fs::write(
            &p,
            t.replace("name: order-api\n", &format!("name: {name}\n")),
        )
        .expect("write");
    }
}

#[tokio::test]
async fn staging_and_prod_deploy_to_their_namespaces_and_init_splits_them_back() {
    let staging = cluster().namespace("stg").await;
    let prod = cluster().namespace("prd").await;
    let svc = service("two-envs", CANARY);
    let name = format!("order-api-{}", std::process::id());
    rename_service(&svc, &name);
    let s = svc.to_string_lossy().into_owned();
    for (task, ns) in [("staging", staging.name()), ("prod", prod.name())] {
        let out = run_planton(
            &[
                "deploy",
                &s,
                "--env",
                task,
                "--image",
                IMAGE_A,
                "-o",
                "json",
                "--timeout",
                "90s",
            ],
            ns,
        );
        expect_code(&out, 0, task);
        assert_eq!(json_out(&out)["target"]["task"], task);
    }
    // prod renders an HPA; staging does not.
    let client = cluster().client().await;
    let hpas: Api<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler> =
        Api::namespaced(client.clone(), prod.name());
    assert!(hpas.get_opt(&name).await.expect("get").is_some());
    // A second environment into a namespace that holds one is refused before any write.
    let out = run_planton(
        &[
            "deploy", &s, "--env", "prod", "--image", IMAGE_A, "-o", "json",
        ],
        staging.name(),
    );
    expect_code(&out, 1, "prod into staging's namespace");
    assert!(
        text(&out.stderr).contains("already holds task `staging`"),
        "{}",
        text(&out.stderr)
    );

    let dir = temp_dir("deploy-init-two");
    let d = dir.to_string_lossy().into_owned();
    let kubeconfig = cluster().kubeconfig().to_string_lossy().into_owned();
    let out = crate::util::run(&[
        "service",
        "kustomize",
        "init",
        "MicroserviceKubernetes",
        &name,
        "--dir",
        &d,
        "--kubeconfig",
        &kubeconfig,
    ]);
    expect_code(&out, 0, "init from two namespaces");
    for (task, ns) in [("staging", staging.name()), ("prod", prod.name())] {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        let cm = cms
            .get(&format!("planton.state.{name}"))
            .await
            .expect("state");
        let entry: Value = serde_json::from_str(&cm.data.unwrap_or_default()[task]).expect("entry");
        let built = crate::util::run(&["build", &format!("{d}/_kustomize/overlays/{task}")]);
        expect_code(&built, 0, "build");
        assert_eq!(
            text(&built.stdout),
            entry["revisions"][0]["manifest"]
                .as_str()
                .expect("manifest"),
            "{task}"
        );
    }
    // The common part went to the base: the image repo is in it, the replicas are not.
    let base = std::fs::read_to_string(dir.join("_kustomize/base/service.yaml")).expect("base");
    assert!(
        base.contains("repo: ghcr.io/acme-shop/order-api") && !base.contains("minReplicas"),
        "{base}"
    );
}

/// Creates (or replaces) a Secret `name` in `ns` with the given string keys.
async fn put_secret(ns: &str, name: &str, keys: &[(&str, &str)]) {
    let secrets: Api<Secret> = Api::namespaced(cluster().client().await, ns);
    let data: serde_json::Map<String, Value> = keys
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let s = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name}, "stringData": data});
    secrets
        .patch(
            name,
            &kube::api::PatchParams::apply("planton-test").force(),
            &kube::api::Patch::Apply(&s),
        )
        .await
        .expect("put secret");
}

/// `$secrets-group/<group>/<entry>` read from key `<entry>` of Secret `<group>` in the
/// `secretsNamespace` of planton.yaml. The groups directory keeps placeholder secret values:
/// they must never be used once a secrets namespace is configured (no silent fallback).
#[tokio::test]
async fn kubernetes_secrets_are_a_secret_source() {
    let ns = cluster().namespace("ksec").await;
    let src = cluster().namespace("ksrc").await;
    const PLACEHOLDER: &str = "placeholder-from-the-groups-dir";
    let svc = service("ksec", PLACEHOLDER);
    write_tree(
        &svc,
        &[(
            "planton.yaml",
            &format!(
                "apiVersion: planton.dev/v1\nkind: ServiceConfig\ngroups:\n  dir: groups\n  secretsNamespace: {}\n",
                src.name()
            ),
        )],
    );
    put_secret(src.name(), "postgres", &[("order-api-password", CANARY)]).await;

    // The Secret of group `stripe` does not exist: refused before anything is written.
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 1, "deploy with a missing Secret");
    let err = text(&out.stderr);
    assert!(
        err.contains("`$secrets-group/stripe/test-key`: no group `stripe`")
            && err.contains(&format!("Kubernetes Secrets in namespace `{}`", src.name())),
        "{err}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster().client().await, ns.name());
    assert!(
        cms.get_opt("planton.state.order-api")
            .await
            .expect("get")
            .is_none()
    );

    // The Secret exists but lacks the key.
    put_secret(src.name(), "stripe", &[("live-key", CANARY)]).await;
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 1, "deploy with a missing key");
    let err = text(&out.stderr);
    assert!(
        err.contains("group `stripe` has no entry `test-key`")
            && err.contains(&format!("namespace `{}`", src.name())),
        "{err}"
    );

    // Both present: the values come from the cluster, not from the placeholder files.
    put_secret(
        src.name(),
        "stripe",
        &[("live-key", CANARY), ("test-key", CANARY)],
    )
    .await;
    let s = svc.to_string_lossy().into_owned();
    let mut outputs = vec![run_planton(
        &["diff", &s, "--env", "staging", "--image", IMAGE_A],
        ns.name(),
    )];
    let out = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&out, 0, "deploy with Kubernetes Secrets");
    outputs.push(out);
    outputs.push(run_planton(
        &["status", &s, "--env", "staging", "-o", "json"],
        ns.name(),
    ));
    let client = cluster().client().await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let data = secrets
        .get("order-api-secrets")
        .await
        .expect("secret")
        .data
        .unwrap_or_default();
    assert_eq!(data["STRIPE_KEY"].0, CANARY.as_bytes());
    assert_eq!(data["DATABASE_PASSWORD"].0, CANARY.as_bytes());
    // The canary is on no output and in nothing else of the target namespace.
    for o in &outputs {
        assert!(!text(&o.stdout).contains(CANARY) && !text(&o.stderr).contains(CANARY));
        assert!(!text(&o.stdout).contains(PLACEHOLDER));
    }
    let b64 = base64_engine::encode(CANARY);
    for (plural, group) in [
        ("configmaps", ""),
        ("deployments", "apps"),
        ("events", ""),
        ("leases", "coordination.k8s.io"),
    ] {
        let dump = dump_objects(&client, ns.name(), group, plural).await;
        assert!(
            !dump.contains(CANARY) && !dump.contains(&b64),
            "canary found in {plural}"
        );
    }

    // An identity that may do everything in the target namespace but cannot read the
    // secrets namespace gets a Forbidden naming the verb, the Secret and its namespace.
    let Some(restricted) = cluster().restricted_kubeconfig() else {
        eprintln!(
            "skipped the Forbidden part: a real cluster's restricted identity is impersonation"
        );
        return;
    };
    let grant = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "all"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]});
    let bind = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "all"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "all"},
        "subjects": [{"kind": "User", "name": crate::cluster::RESTRICTED_USER,
            "apiGroup": "rbac.authorization.k8s.io"}]});
    let roles: Api<k8s_openapi::api::rbac::v1::Role> = Api::namespaced(client.clone(), ns.name());
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(grant).expect("role"),
        )
        .await
        .expect("role");
    let bindings: Api<k8s_openapi::api::rbac::v1::RoleBinding> =
        Api::namespaced(client.clone(), ns.name());
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(bind).expect("binding"),
        )
        .await
        .expect("binding");
    let out = Command::new(planton())
        .args([
            "deploy",
            &s,
            "--env",
            "staging",
            "--image",
            IMAGE_A,
            "--kubeconfig",
        ])
        .arg(restricted)
        .args(["--namespace", ns.name()])
        .stdin(Stdio::null())
        .output()
        .expect("run planton");
    expect_code(&out, 2, "deploy that cannot read the secrets namespace");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "forbidden: cannot get secrets `postgres` in namespace `{}`",
            src.name()
        )),
        "{err}"
    );
    assert!(!err.contains(CANARY));
}

/// 429 with `Retry-After` and 503 answers, injected by an HTTP-level proxy that terminates TLS
/// (`tests/fault_proxy.rs`), are retried by planton's retry policy (`planton-deploy-k8s`
/// `client.rs`) and the deploy succeeds; `Retry-After` is honoured. A server that never
/// answers gives, after the retries, an error naming the call and the request timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_and_503_are_retried_and_a_hung_server_times_out() {
    use crate::fault_proxy::{Fault, FaultProxy, Rule};
    let ns = cluster().namespace("http-faults").await;
    let svc = service("http-faults", CANARY);
    let dir = temp_dir("http-faults-proxy");
    let proxy = FaultProxy::start(
        cluster().kubeconfig(),
        &dir,
        vec![
            Rule {
                method: "GET",
                path: "configmaps/planton.state.order-api".into(),
                times: 2,
                fault: Fault::Status {
                    code: 429,
                    retry_after: Some(1),
                },
            },
            Rule {
                method: "PATCH",
                path: "/deployments/order-api".into(),
                times: 2,
                fault: Fault::Status {
                    code: 503,
                    retry_after: None,
                },
            },
        ],
    )
    .await;
    let run = |kubeconfig: PathBuf, extra: Vec<&'static str>| {
        let s = svc.to_string_lossy().into_owned();
        let ns = ns.name().to_string();
        tokio::task::spawn_blocking(move || {
            Command::new(planton())
                .args([
                    "deploy", &s, "--env", "staging", "--image", IMAGE_A, "-o", "json",
                ])
                .args(["--timeout", "90s", "--namespace", &ns, "--kubeconfig"])
                .arg(kubeconfig)
                .args(extra)
                .stdin(Stdio::null())
                .output()
                .expect("run planton")
        })
    };
    let out = run(proxy.kubeconfig().to_path_buf(), vec![])
        .await
        .expect("join");
    expect_code(&out, 0, "deploy through 429s and 503s");
    let r = json_out(&out);
    assert_eq!(r["result"], "succeeded");
    assert!(r["requests"]["retries"].as_u64().unwrap_or(0) >= 4, "{r}");
    let seen = proxy.seen();
    let state_reads: Vec<_> = seen
        .iter()
        .filter(|s| s.method == "GET" && s.path.contains("configmaps/planton.state.order-api"))
        .collect();
    assert!(state_reads.len() >= 3, "{state_reads:?}");
    assert!(state_reads[0].fault.is_some() && state_reads[1].fault.is_some());
    assert!(state_reads[2].fault.is_none());
    // Retry-After: 1 is honoured (the backoff alone would wait 200 ms, then 400 ms).
    for w in state_reads[..3].windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap >= std::time::Duration::from_millis(950), "{gap:?}");
    }
    let patches: Vec<_> = seen
        .iter()
        .filter(|s| s.method == "PATCH" && s.path.contains("/deployments/order-api"))
        .collect();
    assert!(
        patches.len() >= 3 && patches[2].fault.is_none(),
        "{patches:?}"
    );
    let deps: Api<Deployment> = Api::namespaced(cluster().client().await, ns.name());
    assert!(deps.get_opt("order-api").await.expect("get").is_some());

    // A server that accepts the request and never answers.
    let hung = FaultProxy::start(
        cluster().kubeconfig(),
        &dir.join("hung"),
        vec![Rule {
            method: "GET",
            path: "configmaps/planton.state.order-api".into(),
            times: usize::MAX,
            fault: Fault::Hang,
        }],
    )
    .await;
    let started = std::time::Instant::now();
    let out = run(
        hung.kubeconfig().to_path_buf(),
        vec!["--request-timeout", "2s"],
    )
    .await
    .expect("join");
    expect_code(&out, 2, "deploy against a hung server");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot get configmaps `planton.state.order-api` in namespace `{}`: the API server did not answer within 2 s, 6 attempt(s) (--request-timeout)",
            ns.name()
        )),
        "{err}"
    );
    let hung_reads = hung
        .seen()
        .iter()
        .filter(|s| s.fault == Some(Fault::Hang))
        .count();
    assert_eq!(hung_reads, 6, "one request and five retries");
    assert!(started.elapsed() < std::time::Duration::from_secs(80));
}

/// `environments.<task>.{namespace, context}` of planton.yaml: the kubeconfig's current context
/// points nowhere, staging's context reaches the API server directly and prod's through a
/// forwarding proxy, so the proxy's log shows which context each deploy used. `status` finds
/// each environment through its own context; `--context` wins over planton.yaml.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planton_yaml_contexts_and_namespaces_place_each_environment() {
    use crate::fault_proxy::FaultProxy;
    let staging = cluster().namespace("ctx-stg").await;
    let prod = cluster().namespace("ctx-prd").await;
    let svc = service("contexts", CANARY);
    let dir = temp_dir("contexts-kubeconfig");
    let proxy = FaultProxy::start(cluster().kubeconfig(), &dir, vec![]).await;
    let admin: Value = serde_json::to_value(
        kube::config::Kubeconfig::read_from(cluster().kubeconfig()).expect("kubeconfig"),
    )
    .expect("json");
    let via: Value = serde_json::to_value(
        kube::config::Kubeconfig::read_from(proxy.kubeconfig()).expect("kubeconfig"),
    )
    .expect("json");
    // The admin kubeconfig's current context (a real KUBECONFIG may hold several).
    let named = |list: &str, name: &Value| -> Value {
        admin[list]
            .as_array()
            .and_then(|l| l.iter().find(|e| &e["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {list} entry {name}"))
    };
    let current = named("contexts", &admin["current-context"]);
    let user = current["context"]["user"].clone();
    let direct = named("clusters", &current["context"]["cluster"])["cluster"].clone();
    let mut nowhere = direct.clone();
    nowhere["server"] = json!("https://127.0.0.1:1");
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [
            {"name": "direct", "cluster": direct},
            {"name": "proxied", "cluster": via["clusters"][0]["cluster"].clone()},
            {"name": "nowhere", "cluster": nowhere},
        ],
        "users": admin["users"].clone(),
        "contexts": [
            {"name": "ctx-a", "context": {"cluster": "direct", "user": user.clone()}},
            {"name": "ctx-b", "context": {"cluster": "proxied", "user": user.clone()}},
            {"name": "nowhere", "context": {"cluster": "nowhere", "user": user}},
        ],
        "current-context": "nowhere",
    });
    let kc_path = dir.join("two-contexts.kubeconfig");
    std::fs::write(&kc_path, kc.to_string()).expect("write kubeconfig");
    write_tree(
        &svc,
        &[(
            "planton.yaml",
            &format!(
                "apiVersion: planton.dev/v1\nkind: ServiceConfig\nenvironments:\n  staging: {{namespace: {}, context: ctx-a}}\n  prod: {{namespace: {}, context: ctx-b}}\n",
                staging.name(),
                prod.name()
            ),
        )],
    );
    let run = |args: Vec<String>| {
        let s = svc.to_string_lossy().into_owned();
        let kc = kc_path.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(planton())
                .arg(args[0].clone())
                .arg(&s)
                .args(&args[1..])
                .arg("--kubeconfig")
                .arg(kc)
                .stdin(Stdio::null())
                .output()
                .expect("run planton")
        })
    };
    let strs = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for task in ["staging", "prod"] {
        let out = run(strs(&[
            "deploy",
            "--env",
            task,
            "--image",
            IMAGE_A,
            "-o",
            "json",
            "--timeout",
            "90s",
        ]))
        .await
        .expect("join");
        expect_code(&out, 0, task);
    }
    let seen = proxy.seen();
    let through = |ns: &str| seen.iter().filter(|s| s.path.contains(ns)).count();
    assert!(through(prod.name()) > 0, "prod went through ctx-b's proxy");
    assert_eq!(through(staging.name()), 0, "staging went directly (ctx-a)");
    let client = cluster().client().await;
    for ns in [staging.name(), prod.name()] {
        let deps: Api<Deployment> = Api::namespaced(client.clone(), ns);
        assert!(
            deps.get_opt("order-api").await.expect("get").is_some(),
            "{ns}"
        );
    }
    // status reaches each environment through its context.
    let out = run(strs(&["status", "-o", "json"])).await.expect("join");
    expect_code(&out, 0, "status of both environments");
    let st = json_out(&out);
    for (task, ns) in [("staging", staging.name()), ("prod", prod.name())] {
        let t = st
            .as_array()
            .expect("array")
            .iter()
            .find(|t| t["task"] == task)
            .unwrap_or_else(|| panic!("{task} in {st}"));
        assert_eq!(t["namespace"], ns);
        assert_eq!(t["revision"]["revision"], 1, "{t}");
    }
    // --context wins over planton.yaml: the current context points nowhere.
    let out = run(strs(&[
        "deploy",
        "--env",
        "staging",
        "--image",
        IMAGE_A,
        "--context",
        "nowhere",
        "--request-timeout",
        "2s",
    ]))
    .await
    .expect("join");
    expect_code(&out, 2, "deploy through --context nowhere");
    assert!(
        text(&out.stderr).contains("attempt(s)"),
        "{}",
        text(&out.stderr)
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`) the deploy draws a progress bar
/// (indicatif); with stderr a pipe it prints plain lines only, without escape sequences.
#[tokio::test]
async fn progress_bar_on_a_terminal_plain_lines_otherwise() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to give the deploy a terminal");
        return;
    }
    let ns = cluster().namespace("bar").await;
    let svc = service("bar", CANARY);
    let plain = deploy(&svc, ns.name(), &["--image", IMAGE_A]);
    expect_code(&plain, 0, "deploy with stderr a pipe");
    let err = text(&plain.stderr);
    assert!(err.contains("applied Deployment"), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains("objects"), "{err}");

    let cmd = format!(
        "{} deploy {} --env staging --image {IMAGE_B} --timeout 90s --kubeconfig {} --namespace {}",
        planton().display(),
        svc.display(),
        cluster().kubeconfig().display(),
        ns.name()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    // `script` puts stdout and stderr on the terminal; its own stdout is the transcript.
    let transcript = text(&out.stdout);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains("objects") && transcript.contains('\u{1b}'),
        "no progress bar drawn:\n{transcript}"
    );
    assert!(transcript.contains("applied Deployment"), "{transcript}");
    assert!(
        transcript.contains("deployed"),
        "the result still reaches stdout:\n{transcript}"
    );
}

/// `status --watch` prints a snapshot, stays quiet while nothing changes, and prints again
/// when a deploy changes the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_watch_prints_changes() {
    use std::io::BufRead as _;
    let ns = cluster().namespace("watch").await;
    let svc = service("watch", CANARY);
    expect_code(&deploy(&svc, ns.name(), &["--image", IMAGE_A]), 0, "deploy");
    let kubeconfig = cluster().kubeconfig().to_path_buf();
    let mut child = Command::new(planton())
        .args(["status"])
        .arg(&svc)
        .args(["--env", "staging", "--watch", "-o", "json", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--namespace", ns.name()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn status --watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(l) = line else { return };
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    let revision = |l: &str| -> Value {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        v[0]["revision"].clone()
    };
    let first = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("a first snapshot");
    assert_eq!(revision(&first)["revision"], 1, "{first}");
    // Nothing changes: no new snapshot over several polls (every 2 s).
    assert!(
        rx.recv_timeout(std::time::Duration::from_secs(5)).is_err(),
        "a snapshot without a change"
    );
    expect_code(
        &deploy(&svc, ns.name(), &["--image", IMAGE_B]),
        0,
        "second deploy",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let l = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no snapshot with revision 2 succeeded; saw {seen:#?}"));
        let r = revision(&l);
        if r["revision"] == 2 && r["result"] == "succeeded" {
            assert_eq!(r["image"], IMAGE_B);
            break;
        }
        seen.push(l);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The failure explanation names the recent Warning events of the failing pods. kwok's
/// kubelets emit no events, so the test writes the Warning Event a kubelet would (an image
/// pull failure for the failing pod) through the API, plus one about an unrelated pod that
/// must not be shown; planton's code path is the one it runs on any cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_explanation_names_the_failing_pods_warning_events() {
    use k8s_openapi::api::core::v1::{Event, Pod};
    let ns = cluster().namespace("events").await;
    let svc = service("events", CANARY);
    let s = svc.to_string_lossy().into_owned();
    let n = ns.name().to_string();
    let run = tokio::task::spawn_blocking(move || {
        run_planton(
            &[
                "deploy",
                &s,
                "--env",
                "staging",
                "--image",
                "planton.test/image-pull-error:1",
                "--timeout",
                "25s",
                "-o",
                "json",
            ],
            &n,
        )
    });
    let client = cluster().client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let pod = loop {
        let list = pods.list(&ListParams::default()).await.expect("pods");
        if let Some(p) = list.items.into_iter().next() {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "no pod was created");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let pod_name = pod.metadata.name.clone().expect("pod name");
    let now = serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ))
    .expect("time");
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    for (name, involved, message) in [
        (
            format!("{pod_name}.pull"),
            json!({"kind": "Pod", "apiVersion": "v1", "namespace": ns.name(),
                "name": pod_name, "uid": pod.metadata.uid}),
            "Failed to pull image \"planton.test/image-pull-error:1\": not found",
        ),
        (
            "unrelated.pull".to_string(),
            json!({"kind": "Pod", "apiVersion": "v1", "namespace": ns.name(),
                "name": "unrelated-pod"}),
            "an event about another pod",
        ),
    ] {
        let e: Event = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns.name()},
            "involvedObject": involved, "reason": "Failed", "message": message,
            "type": "Warning", "count": 3, "source": {"component": "kubelet"},
            "firstTimestamp": now, "lastTimestamp": now,
        }))
        .expect("event");
        events
            .create(&PostParams::default(), &e)
            .await
            .expect("create event");
    }
    let out = run.await.expect("join");
    expect_code(&out, 1, "deploy of an image that cannot be pulled");
    let r = json_out(&out);
    let evs = r["explanation"]["events"].as_array().expect("events");
    assert!(
        evs.iter().any(|e| e["object"] == format!("Pod/{pod_name}")
            && e["reason"] == "Failed"
            && e["count"] == 3
            && e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Failed to pull image")),
        "{r}"
    );
    assert!(
        !evs.iter().any(|e| e["object"] == "Pod/unrelated-pod"),
        "an unrelated event is shown: {r}"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "event Pod/{pod_name} Failed (x3): Failed to pull image"
        )),
        "{err}"
    );
}
