//! Smoke tests of the test control plane with kube-rs: the API behaviours planton's deploys rely
//! on (server-side apply, dry-run, field-manager conflicts, RBAC, watches, the Deployment and Job
//! controllers) and the kwok failure stages (`tests/testenv/stages/pod-failures.yaml`).
//!
//! They run against `KUBECONFIG` when it is set, else against the testenv (see `cluster.rs`).
//! The failure-stage tests need kwok's stages, so on a real cluster they check nothing and say so.

use crate::cluster::{RESTRICTED_USER, cluster, wait_until};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

/// An image for ordinary pods: the testenv never pulls it; a real cluster can.
const IMAGE: &str = "registry.k8s.io/pause:3.10";

fn obj<K: serde::de::DeserializeOwned>(value: serde_json::Value) -> K {
    serde_json::from_value(value).expect("a valid object")
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error status, got {other}"),
    }
}

fn pod_condition(pod: &Pod, type_: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

#[tokio::test]
async fn apply_deployment_becomes_available_with_ready_pods() {
    let cluster = cluster();
    let ns = cluster.namespace("deploy").await;
    let client = cluster.client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let deployment: Deployment = obj(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{ "name": "web", "image": IMAGE }] }
            }
        }
    }));
    let applied = deployments
        .patch(
            "web",
            &PatchParams::apply("planton-test"),
            &Patch::Apply(&deployment),
        )
        .await
        .expect("server-side apply of a Deployment");
    let generation = applied.metadata.generation.expect("a generation");

    let available = wait_until(
        &deployments,
        "web",
        "Available with 2 ready replicas",
        |d| {
            let Some(s) = &d.status else { return false };
            s.observed_generation == Some(generation)
                && s.ready_replicas == Some(2)
                && s.available_replicas == Some(2)
                && s.conditions.iter().flatten().any(|c| {
                    c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")
                })
        },
    )
    .await;
    assert_eq!(available.status.and_then(|s| s.updated_replicas), Some(2));

    let pods: Api<Pod> = Api::namespaced(client, ns.name());
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list the Deployment's pods");
    assert_eq!(list.items.len(), 2, "two pods for two replicas");
    for pod in &list.items {
        assert!(
            pod.spec
                .as_ref()
                .and_then(|s| s.node_name.as_ref())
                .is_some(),
            "scheduled"
        );
        assert_eq!(pod_condition(pod, "Ready").as_deref(), Some("True"));
        assert_eq!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Running")
        );
    }
}

#[tokio::test]
async fn job_completes() {
    let cluster = cluster();
    let ns = cluster.namespace("job").await;
    let jobs: Api<Job> = Api::namespaced(cluster.client().await, ns.name());
    let job: Job = obj(json!({
        "metadata": { "name": "migrate" },
        "spec": {
            "completions": 2,
            "backoffLimit": 0,
            "template": { "spec": {
                "restartPolicy": "Never",
                "containers": [{ "name": "migrate", "image": IMAGE }]
            } }
        }
    }));
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create a Job");
    let done = wait_until(&jobs, "migrate", "Complete", |j| {
        j.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Complete" && c.status == "True")
            })
    })
    .await;
    let status = done.status.expect("status");
    assert_eq!(status.succeeded, Some(2));
    assert_eq!(status.failed.unwrap_or(0), 0);
}

#[tokio::test]
async fn server_side_dry_run_changes_nothing() {
    let cluster = cluster();
    let ns = cluster.namespace("dryrun").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client().await, ns.name());
    let cm = |value: &str| -> ConfigMap {
        obj(json!({ "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "settings" }, "data": { "mode": value } }))
    };
    let apply = PatchParams::apply("planton-test");

    // A dry-run create returns the object as it would be, and creates nothing.
    let would_be = cms
        .patch(
            "settings",
            &apply.clone().dry_run(),
            &Patch::Apply(&cm("a")),
        )
        .await
        .expect("dry-run create");
    assert_eq!(would_be.data.unwrap_or_default()["mode"], "a");
    assert!(cms.get_opt("settings").await.expect("get").is_none());

    let live = cms
        .patch("settings", &apply, &Patch::Apply(&cm("a")))
        .await
        .expect("apply");
    // A dry-run change shows the new value (defaulted by the server) and changes nothing.
    let would_be = cms
        .patch(
            "settings",
            &apply.clone().dry_run(),
            &Patch::Apply(&cm("b")),
        )
        .await
        .expect("dry-run update");
    assert_eq!(would_be.data.unwrap_or_default()["mode"], "b");
    let after = cms.get("settings").await.expect("get");
    assert_eq!(after.data.unwrap_or_default()["mode"], "a");
    assert_eq!(
        after.metadata.resource_version, live.metadata.resource_version,
        "a dry-run must not write"
    );
}

#[tokio::test]
async fn two_field_managers_conflict_until_forced() {
    let cluster = cluster();
    let ns = cluster.namespace("conflict").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client().await, ns.name());
    let cm = |value: &str| -> ConfigMap {
        obj(json!({ "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "owned" }, "data": { "key": value } }))
    };
    cms.patch(
        "owned",
        &PatchParams::apply("manager-a"),
        &Patch::Apply(&cm("a")),
    )
    .await
    .expect("manager-a applies");

    let err = cms
        .patch(
            "owned",
            &PatchParams::apply("manager-b"),
            &Patch::Apply(&cm("b")),
        )
        .await
        .expect_err("manager-b must conflict with manager-a");
    let status = api_error(err);
    assert_eq!(status.code, 409, "{status:?}");
    assert_eq!(status.reason, "Conflict", "{status:?}");
    assert!(status.message.contains("manager-a"), "{}", status.message);

    let forced = cms
        .patch(
            "owned",
            &PatchParams::apply("manager-b").force(),
            &Patch::Apply(&cm("b")),
        )
        .await
        .expect("a forced apply takes the field over");
    assert_eq!(forced.data.unwrap_or_default()["key"], "b");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"manager-b".to_owned()), "{managers:?}");
}

#[tokio::test]
async fn restricted_user_is_forbidden_beyond_its_grant() {
    let cluster = cluster();
    let ns = cluster.namespace("rbac").await;
    let admin = cluster.client().await;
    let restricted = cluster.restricted_client().await;
    let mine: Api<ConfigMap> = Api::namespaced(restricted.clone(), ns.name());

    // Nothing granted: even reading is refused.
    let status = api_error(
        mine.list(&ListParams::default())
            .await
            .expect_err("no grant, no list"),
    );
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert!(
        status.message.contains(RESTRICTED_USER),
        "{}",
        status.message
    );

    // Granted the built-in `view` role in this namespace: reading works, writing does not, and
    // nothing outside the namespace opens up.
    let binding: RoleBinding = obj(json!({
        "metadata": { "name": "restricted-view" },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view" },
        "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": RESTRICTED_USER }]
    }));
    Api::<RoleBinding>::namespaced(admin, ns.name())
        .create(&PostParams::default(), &binding)
        .await
        .expect("grant view");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Err(e) = mine.list(&ListParams::default()).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the view grant never took effect: {e}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let cm: ConfigMap = obj(json!({ "metadata": { "name": "nope" } }));
    let status = api_error(
        mine.create(&PostParams::default(), &cm)
            .await
            .expect_err("view cannot create"),
    );
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    let status = api_error(
        Api::<Node>::all(restricted)
            .list(&ListParams::default())
            .await
            .expect_err("a namespace grant gives no cluster-wide reads"),
    );
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
}

#[tokio::test]
async fn watch_sees_a_change() {
    let cluster = cluster();
    let ns = cluster.namespace("watch").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client().await, ns.name());
    let created = cms
        .create(
            &PostParams::default(),
            &obj(json!({ "metadata": { "name": "watched" }, "data": { "v": "1" } })),
        )
        .await
        .expect("create");
    let version = created
        .metadata
        .resource_version
        .expect("a resourceVersion");
    let mut events = cms
        .watch(
            &WatchParams::default()
                .fields("metadata.name=watched")
                .timeout(60),
            &version,
        )
        .await
        .expect("start a watch")
        .boxed();
    cms.patch(
        "watched",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "v": "2" } })),
    )
    .await
    .expect("change it");
    let seen = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(event) = events.try_next().await.expect("watch stream") {
            if let WatchEvent::Modified(cm) = event {
                return Some(cm);
            }
        }
        None
    })
    .await
    .expect("a watch event within 30 s")
    .expect("the watch saw the change before it ended");
    assert_eq!(seen.data.unwrap_or_default()["v"], "2");
}

/// One pod whose only container uses `image`, waited on until `expected` holds.
async fn failing_pod(label: &str, image: &str, what: &str, expected: impl Fn(&Pod) -> bool) {
    let cluster = cluster();
    if !cluster.is_testenv() {
        eprintln!(
            "skipped: the kwok failure stages exist only in the testenv, not in KUBECONFIG's cluster"
        );
        return;
    }
    let ns = cluster.namespace(label).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client().await, ns.name());
    let pod: Pod = obj(json!({
        "metadata": { "name": "app" },
        "spec": {
            "restartPolicy": if image.contains("exit-1") { "Never" } else { "Always" },
            "containers": [
                { "name": "app", "image": image },
                { "name": "sidecar", "image": IMAGE }
            ]
        }
    }));
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create a pod");
    let pod = wait_until(&pods, "app", what, expected).await;
    assert_eq!(pod_condition(&pod, "Ready").as_deref(), Some("False"));
}

fn container<'a>(
    pod: &'a Pod,
    name: &str,
) -> Option<&'a k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

#[tokio::test]
async fn failure_stage_image_pull_error() {
    failing_pod(
        "pull",
        "planton.test/image-pull-error:v1",
        "Pending in ImagePullBackOff",
        |p| {
            let waiting = container(p, "app").and_then(|c| c.state.as_ref()?.waiting.as_ref());
            phase(p) == Some("Pending")
                && waiting.and_then(|w| w.reason.as_deref()) == Some("ImagePullBackOff")
                && waiting
                    .and_then(|w| w.message.as_deref())
                    .is_some_and(|m| m.contains("planton.test/image-pull-error:v1"))
        },
    )
    .await;
}

#[tokio::test]
async fn failure_stage_crash_loop() {
    failing_pod(
        "crash",
        "planton.test/crash-loop",
        "in CrashLoopBackOff",
        |p| {
            let Some(app) = container(p, "app") else {
                return false;
            };
            let waiting = app.state.as_ref().and_then(|s| s.waiting.as_ref());
            let last = app.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            phase(p) == Some("Running")
                && waiting.and_then(|w| w.reason.as_deref()) == Some("CrashLoopBackOff")
                && last.map(|t| t.exit_code) == Some(1)
                && app.restart_count > 0
                && !app.ready
                && container(p, "sidecar").is_some_and(|s| s.ready)
        },
    )
    .await;
}

#[tokio::test]
async fn failure_stage_never_ready() {
    failing_pod(
        "unready",
        "planton.test/never-ready:2",
        "running but not ready",
        |p| {
            let Some(app) = container(p, "app") else {
                return false;
            };
            phase(p) == Some("Running")
                && app
                    .state
                    .as_ref()
                    .and_then(|s| s.running.as_ref())
                    .is_some()
                && !app.ready
                && container(p, "sidecar").is_some_and(|s| s.ready)
        },
    )
    .await;
}

#[tokio::test]
async fn failure_stage_exit_1() {
    failing_pod(
        "exit",
        "planton.test/exit-1",
        "Failed with exit code 1",
        |p| {
            let terminated =
                container(p, "app").and_then(|c| c.state.as_ref()?.terminated.as_ref());
            phase(p) == Some("Failed")
                && terminated.map(|t| t.exit_code) == Some(1)
                && terminated.and_then(|t| t.reason.as_deref()) == Some("Error")
        },
    )
    .await;
}
