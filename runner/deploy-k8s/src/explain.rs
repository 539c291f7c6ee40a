//! Why a rollout is not ready: the pods of a workload (container states with image pull
//! failures, crash loops with the last exit reason, unschedulable pods) and the recent Warning
//! events about the workload, its ReplicaSets and those pods. Shown in text and in JSON when a
//! deploy fails.

use crate::client::Cluster;
use crate::error::{Action, Result};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::Value;

/// One pod-level problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PodProblem {
    /// The pod.
    pub pod: String,
    /// The container, when the problem is one container's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `ImagePullBackOff`, `CrashLoopBackOff`, `Unschedulable`, ...
    pub reason: String,
    /// The message (image pull error, scheduler message, last exit).
    pub message: String,
}

/// One Warning event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventLine {
    /// `Pod/web-abc`.
    pub object: String,
    /// `Failed`, `BackOff`, `FailedScheduling`, ...
    pub reason: String,
    /// The message.
    pub message: String,
    /// How many times it happened.
    pub count: i32,
}

/// Why a workload is not ready.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Pod problems.
    pub pods: Vec<PodProblem>,
    /// Recent Warning events.
    pub events: Vec<EventLine>,
}

impl Explanation {
    /// Text lines, indented.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.pods {
            let c = p
                .container
                .as_ref()
                .map(|c| format!(" container {c}"))
                .unwrap_or_default();
            out.push(format!("  pod {}{c}: {}: {}", p.pod, p.reason, p.message));
        }
        for e in &self.events {
            out.push(format!(
                "  event {} {} (x{}): {}",
                e.object, e.reason, e.count, e.message
            ));
        }
        out
    }
}

/// Pod problems from a pod's status (pure).
pub fn pod_problems(pod: &Value) -> Vec<PodProblem> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut out = Vec::new();
    let s = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    if let Some(conds) = pod.pointer("/status/conditions").and_then(Value::as_array) {
        for c in conds {
            if s(c, "/type").as_deref() == Some("PodScheduled")
                && s(c, "/status").as_deref() == Some("False")
            {
                out.push(PodProblem {
                    pod: name.clone(),
                    container: None,
                    reason: s(c, "/reason").unwrap_or_else(|| "Unschedulable".into()),
                    message: s(c, "/message").unwrap_or_default(),
                });
            }
        }
    }
    for list in ["/status/initContainerStatuses", "/status/containerStatuses"] {
        for c in pod
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cname = s(c, "/name");
            if let Some(reason) = s(c, "/state/waiting/reason") {
                let mut message = s(c, "/state/waiting/message").unwrap_or_default();
                if let Some(last) = c.pointer("/lastState/terminated") {
                    let code = last.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
                    let r = s(last, "/reason").unwrap_or_default();
                    let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
                    message = format!(
                        "{message}{}last exit: {r} (exit code {code}), {restarts} restart(s)",
                        if message.is_empty() { "" } else { "; " }
                    );
                }
                out.push(PodProblem {
                    pod: name.clone(),
                    container: cname.clone(),
                    reason,
                    message,
                });
            } else if let Some(t) = c.pointer("/state/terminated") {
                let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
                if code != 0 {
                    out.push(PodProblem {
                        pod: name.clone(),
                        container: cname.clone(),
                        reason: s(t, "/reason").unwrap_or_else(|| "Error".into()),
                        message: format!("exit code {code}"),
                    });
                }
            } else if c.get("ready").and_then(Value::as_bool) == Some(false)
                && c.pointer("/state/running").is_some()
            {
                out.push(PodProblem {
                    pod: name.clone(),
                    container: cname.clone(),
                    reason: "NotReady".into(),
                    message: "running but not ready (readiness probe failing)".into(),
                });
            }
        }
    }
    out
}

/// Whether a Warning event is about the workload: the workload itself, one of its pods, or a
/// ReplicaSet named after it (pure).
pub fn concerns(
    kind: &str,
    name: &str,
    workload_kind: &str,
    workload: &str,
    pods: &[String],
) -> bool {
    (kind == workload_kind && name == workload)
        || (kind == "Pod" && pods.iter().any(|p| p == name))
        || (kind == "ReplicaSet"
            && name
                .strip_prefix(workload)
                .is_some_and(|rest| rest.starts_with('-')))
}

/// Looks at the pods selected by a workload and the Warning events about them.
pub async fn explain(cluster: &Cluster, namespace: &str, workload: &Value) -> Result<Explanation> {
    let mut ex = Explanation::default();
    let selector: Vec<String> = workload
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    let act = |verb, resource: &str| Action {
        verb,
        resource: resource.to_string(),
        namespace: Some(namespace.to_string()),
        name: None,
    };
    let mut pod_names = Vec::new();
    if !selector.is_empty() {
        let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
        let lp = ListParams::default().labels(&selector.join(","));
        let list = cluster
            .call(|| act("list", "pods"), || pods.list(&lp))
            .await?;
        for p in list.items {
            pod_names.extend(p.metadata.name.clone());
            if let Ok(v) = serde_json::to_value(&p) {
                ex.pods.extend(pod_problems(&v));
            }
        }
    }
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    let lp = ListParams::default().fields("type=Warning");
    let list = cluster
        .call(|| act("list", "events"), || events.list(&lp))
        .await?;
    let s = |p: &str| {
        workload
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (wkind, wname) = (s("/kind"), s("/metadata/name"));
    let mut items: Vec<Event> = list
        .items
        .into_iter()
        .filter(|e| {
            let o = &e.involved_object;
            concerns(
                o.kind.as_deref().unwrap_or_default(),
                o.name.as_deref().unwrap_or_default(),
                wkind,
                wname,
                &pod_names,
            )
        })
        .collect();
    items.sort_by_key(|e| {
        e.metadata
            .resource_version
            .clone()
            .and_then(|r| r.parse::<u64>().ok())
    });
    for e in items.iter().rev().take(10).rev() {
        ex.events.push(EventLine {
            object: format!(
                "{}/{}",
                e.involved_object.kind.clone().unwrap_or_default(),
                e.involved_object.name.clone().unwrap_or_default()
            ),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
        });
    }
    Ok(ex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_about_the_workload_its_replicasets_and_pods() {
        let pods = vec!["api-7d9f-abcde".to_string()];
        let c = |k, n| concerns(k, n, "Deployment", "api", &pods);
        assert!(c("Pod", "api-7d9f-abcde"));
        assert!(c("ReplicaSet", "api-7d9f"));
        assert!(c("Deployment", "api"));
        assert!(!c("Pod", "other-1"));
        assert!(!c("ReplicaSet", "apiserver-1"));
        assert!(!c("Deployment", "api2"));
    }

    #[test]
    fn container_states_become_problems() {
        let pod = json!({"metadata": {"name": "web-1"}, "status": {
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [
                {"name": "app", "ready": false, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                 "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}},
                {"name": "side", "ready": false,
                 "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}},
                {"name": "ok", "ready": true, "state": {"running": {}}}]}});
        let p = pod_problems(&pod);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].reason, "CrashLoopBackOff");
        assert_eq!(
            p[0].message,
            "back-off 40s; last exit: Error (exit code 1), 4 restart(s)"
        );
        assert_eq!(p[1].reason, "ImagePullBackOff");
        let unsched = json!({"metadata": {"name": "web-2"}, "status": {"conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/2 nodes are available: 2 Insufficient cpu."}]}});
        let p = pod_problems(&unsched);
        assert_eq!(p[0].reason, "Unschedulable");
        assert!(
            Explanation {
                pods: p,
                events: vec![]
            }
            .lines()[0]
                .contains("Insufficient cpu")
        );
    }
}
