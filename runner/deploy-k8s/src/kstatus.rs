//! Readiness by the kstatus rules (sigs.k8s.io/cli-utils `pkg/kstatus/status`, as Flux and
//! Helm's watcher use them), ported as pure functions over the object's JSON:
//!
//! 1. `metadata.deletionTimestamp` set: Terminating.
//! 2. `metadata.generation` and `status.observedGeneration` both present and different:
//!    InProgress (the controller has not seen the latest spec yet). This gate comes before
//!    any condition or replica check, so a Deployment that just changed is never reported
//!    ready on the previous rollout's status.
//! 3. Condition `Reconciling=True`: InProgress; `Stalled=True`: Failed.
//! 4. Kind rules: Deployment, StatefulSet, DaemonSet, ReplicaSet, Service, Pod, Job, PVC,
//!    PodDisruptionBudget; ConfigMap, Secret, ServiceAccount and the like are Current at once.
//! 5. Other kinds: condition `Ready` True is Current, False/Unknown InProgress, absent Current.
//!
//! Not here: Ingress and LoadBalancer address checks (kstatus does not wait for them either).

use serde_json::Value;

/// The computed status and its reason: the API types of `planton_core::api`, so what the
/// driver computes is what `planton status` prints and the server serves.
pub use planton_core::api::{ObjectHealth as Health, ObjectStatus as Status};

fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

fn cond_status<'a>(obj: &'a Value, ty: &str) -> Option<&'a str> {
    condition(obj, ty)?.get("status")?.as_str()
}

fn cond_reason<'a>(obj: &'a Value, ty: &str) -> Option<&'a str> {
    condition(obj, ty)?.get("reason")?.as_str()
}

fn int(obj: &Value, ptr: &str) -> Option<i64> {
    obj.pointer(ptr).and_then(Value::as_i64)
}

/// The kstatus of an object (`None` = not found).
pub fn compute(obj: Option<&Value>) -> Health {
    let Some(obj) = obj else {
        return Health::new(Status::NotFound, "not found");
    };
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return Health::new(Status::Terminating, "being deleted");
    }
    if let (Some(g), Some(og)) = (
        int(obj, "/metadata/generation"),
        int(obj, "/status/observedGeneration"),
    ) && g != og
    {
        return Health::new(
            Status::InProgress,
            format!("generation {g} not yet observed (observed {og})"),
        );
    }
    if cond_status(obj, "Reconciling") == Some("True") {
        return Health::new(Status::InProgress, "Reconciling");
    }
    if cond_status(obj, "Stalled") == Some("True") {
        return Health::new(Status::Failed, "Stalled");
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "Deployment" => deployment(obj),
        "StatefulSet" => statefulset(obj),
        "DaemonSet" => daemonset(obj),
        "ReplicaSet" => replicaset(obj),
        "Service" => service(obj),
        "Pod" => pod(obj),
        "Job" => job(obj),
        "PersistentVolumeClaim" => pvc(obj),
        "PodDisruptionBudget" => pdb(obj),
        "ConfigMap" | "Secret" | "ServiceAccount" | "Namespace" | "Role" | "RoleBinding"
        | "ClusterRole" | "ClusterRoleBinding" | "CronJob" => {
            Health::new(Status::Current, "exists")
        }
        _ => ready_condition(obj),
    }
}

fn ready_condition(obj: &Value) -> Health {
    match cond_status(obj, "Ready") {
        Some("True") | None => Health::new(Status::Current, "ready"),
        Some(_) => Health::new(Status::InProgress, "Ready condition is not True"),
    }
}

/// Whether the controller has reported status for this generation at all. kstatus treats a
/// workload without `status.observedGeneration` as not yet observed when it has a spec.
fn unobserved(obj: &Value) -> Option<Health> {
    (int(obj, "/metadata/generation").is_some() && int(obj, "/status/observedGeneration").is_none())
        .then(|| Health::new(Status::InProgress, "not yet observed by its controller"))
}

fn deployment(obj: &Value) -> Health {
    if cond_reason(obj, "Progressing") == Some("ProgressDeadlineExceeded") {
        return Health::new(
            Status::Failed,
            "progress deadline exceeded (ProgressDeadlineExceeded)",
        );
    }
    if let Some(h) = unobserved(obj) {
        return h;
    }
    let spec = int(obj, "/spec/replicas").unwrap_or(1);
    let replicas = int(obj, "/status/replicas").unwrap_or(0);
    let updated = int(obj, "/status/updatedReplicas").unwrap_or(0);
    let ready = int(obj, "/status/readyReplicas").unwrap_or(0);
    let available = int(obj, "/status/availableReplicas").unwrap_or(0);
    if spec > replicas {
        return Health::new(Status::InProgress, format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return Health::new(Status::InProgress, format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return Health::new(
            Status::InProgress,
            format!("Pending termination: {}", replicas - spec),
        );
    }
    if updated > available {
        return Health::new(
            Status::InProgress,
            format!("Available: {available}/{updated}"),
        );
    }
    if spec > ready {
        return Health::new(Status::InProgress, format!("Ready: {ready}/{spec}"));
    }
    let progressing_ok = cond_status(obj, "Progressing") == Some("True")
        && cond_reason(obj, "Progressing") == Some("NewReplicaSetAvailable");
    if obj.pointer("/spec/progressDeadlineSeconds").is_some() && !progressing_ok {
        return Health::new(Status::InProgress, "ReplicaSet not available");
    }
    if cond_status(obj, "Available") != Some("True") && spec > 0 {
        return Health::new(Status::InProgress, "Deployment not Available");
    }
    Health::new(
        Status::Current,
        format!("Deployment is available. Replicas: {replicas}"),
    )
}

fn statefulset(obj: &Value) -> Health {
    if let Some(h) = unobserved(obj) {
        return h;
    }
    let strategy = obj
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate");
    let spec = int(obj, "/spec/replicas").unwrap_or(1);
    let ready = int(obj, "/status/readyReplicas").unwrap_or(0);
    let current = int(obj, "/status/currentReplicas").unwrap_or(0);
    let replicas = int(obj, "/status/replicas").unwrap_or(0);
    if spec > replicas {
        return Health::new(Status::InProgress, format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return Health::new(Status::InProgress, format!("Ready: {ready}/{spec}"));
    }
    if strategy == "RollingUpdate" {
        let cr = obj.pointer("/status/currentRevision");
        let ur = obj.pointer("/status/updateRevision");
        if spec > current || cr != ur {
            return Health::new(Status::InProgress, "rolling update in progress");
        }
    }
    Health::new(
        Status::Current,
        format!("All replicas scheduled and ready: {ready}"),
    )
}

fn daemonset(obj: &Value) -> Health {
    if let Some(h) = unobserved(obj) {
        return h;
    }
    let desired = int(obj, "/status/desiredNumberScheduled").unwrap_or(0);
    let updated = int(obj, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int(obj, "/status/numberAvailable").unwrap_or(0);
    let ready = int(obj, "/status/numberReady").unwrap_or(0);
    if desired > updated {
        return Health::new(Status::InProgress, format!("Updated: {updated}/{desired}"));
    }
    if desired > available {
        return Health::new(
            Status::InProgress,
            format!("Available: {available}/{desired}"),
        );
    }
    if desired > ready {
        return Health::new(Status::InProgress, format!("Ready: {ready}/{desired}"));
    }
    Health::new(
        Status::Current,
        format!("All replicas scheduled: {desired}"),
    )
}

fn replicaset(obj: &Value) -> Health {
    if let Some(h) = unobserved(obj) {
        return h;
    }
    if cond_status(obj, "ReplicaFailure") == Some("True") {
        return Health::new(Status::InProgress, "ReplicaFailure");
    }
    let spec = int(obj, "/spec/replicas").unwrap_or(1);
    let available = int(obj, "/status/availableReplicas").unwrap_or(0);
    let ready = int(obj, "/status/readyReplicas").unwrap_or(0);
    if spec > ready {
        return Health::new(Status::InProgress, format!("Ready: {ready}/{spec}"));
    }
    if spec > available {
        return Health::new(Status::InProgress, format!("Available: {available}/{spec}"));
    }
    Health::new(
        Status::Current,
        format!("ReplicaSet is available. Replicas: {spec}"),
    )
}

fn service(obj: &Value) -> Health {
    let ty = obj.pointer("/spec/type").and_then(Value::as_str);
    let ip = obj
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ty == Some("LoadBalancer") && ip.is_empty() {
        return Health::new(Status::InProgress, "ClusterIP not set");
    }
    Health::new(Status::Current, "Service is ready")
}

fn pod(obj: &Value) -> Health {
    let phase = obj.pointer("/status/phase").and_then(Value::as_str);
    match phase {
        Some("Succeeded") => return Health::new(Status::Current, "Pod has completed successfully"),
        Some("Failed") => {
            return Health::new(Status::Current, "Pod has completed, but not successfully");
        }
        Some("Running") => {
            if cond_status(obj, "Ready") == Some("True") {
                return Health::new(Status::Current, "Pod is Ready");
            }
            let crash = obj
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    c.pointer("/state/waiting/reason").and_then(Value::as_str)
                        == Some("CrashLoopBackOff")
                });
            if crash {
                return Health::new(Status::Failed, "Pod is in CrashLoopBackOff");
            }
            return Health::new(Status::InProgress, "Pod is running but not Ready");
        }
        _ => {}
    }
    if cond_status(obj, "PodScheduled") == Some("False")
        && cond_reason(obj, "PodScheduled") == Some("Unschedulable")
    {
        return Health::new(Status::InProgress, "Pod could not be scheduled");
    }
    Health::new(Status::InProgress, "Pod is not yet running")
}

fn job(obj: &Value) -> Health {
    if cond_status(obj, "Complete") == Some("True") {
        return Health::new(Status::Current, "Job Completed");
    }
    if cond_status(obj, "Failed") == Some("True") {
        return Health::new(Status::Failed, "Job Failed");
    }
    if cond_status(obj, "Suspended") == Some("True")
        && obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
    {
        return Health::new(Status::Current, "Job is suspended");
    }
    if obj.pointer("/status/startTime").is_none() {
        return Health::new(Status::InProgress, "Job not started");
    }
    Health::new(Status::Current, "Job in progress")
}

fn pvc(obj: &Value) -> Health {
    if obj.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") {
        return Health::new(Status::InProgress, "PVC is not Bound");
    }
    Health::new(Status::Current, "PVC is Bound")
}

fn pdb(obj: &Value) -> Health {
    if let Some(h) = unobserved(obj) {
        return h;
    }
    if cond_status(obj, "DisruptionAllowed").is_none() && obj.pointer("/status").is_none() {
        return Health::new(Status::InProgress, "PodDisruptionBudget not yet observed");
    }
    Health::new(Status::Current, "PodDisruptionBudget is up to date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(status: Value) -> Value {
        json!({"kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 3, "progressDeadlineSeconds": 600}, "status": status})
    }

    fn check(obj: Value, status: Status, message: &str) {
        let h = compute(Some(&obj));
        assert_eq!((h.status, h.message.as_str()), (status, message), "{obj}");
    }

    #[test]
    fn generation_gate_comes_before_a_ready_looking_status() {
        // The previous rollout's status looks complete, but the new spec is not observed yet.
        check(
            deploy(
                json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [{"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}),
            ),
            Status::InProgress,
            "generation 2 not yet observed (observed 1)",
        );
    }

    #[test]
    fn deployment_rules_in_kstatus_order() {
        let complete = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3,
            "conditions": [{"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
        check(
            deploy(complete.clone()),
            Status::Current,
            "Deployment is available. Replicas: 3",
        );
        let mut s = complete.clone();
        s["replicas"] = json!(1);
        check(deploy(s), Status::InProgress, "Replicas: 1/3");
        let mut s = complete.clone();
        s["updatedReplicas"] = json!(2);
        check(deploy(s), Status::InProgress, "Updated: 2/3");
        let mut s = complete.clone();
        s["replicas"] = json!(4);
        check(deploy(s), Status::InProgress, "Pending termination: 1");
        let mut s = complete.clone();
        s["availableReplicas"] = json!(2);
        check(deploy(s), Status::InProgress, "Available: 2/3");
        let mut s = complete.clone();
        s["readyReplicas"] = json!(2);
        check(deploy(s), Status::InProgress, "Ready: 2/3");
        let mut s = complete.clone();
        s["conditions"][1]["reason"] = json!("ReplicaSetUpdated");
        check(deploy(s), Status::InProgress, "ReplicaSet not available");
        let mut s = complete.clone();
        s["conditions"][1]["reason"] = json!("ProgressDeadlineExceeded");
        s["conditions"][1]["status"] = json!("False");
        check(
            deploy(s),
            Status::Failed,
            "progress deadline exceeded (ProgressDeadlineExceeded)",
        );
        let mut s = complete;
        s["conditions"][0]["status"] = json!("False");
        check(deploy(s), Status::InProgress, "Deployment not Available");
    }

    #[test]
    fn generic_rules() {
        assert_eq!(compute(None).status, Status::NotFound);
        check(
            json!({"kind": "Secret", "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
            Status::Terminating,
            "being deleted",
        );
        check(json!({"kind": "ConfigMap"}), Status::Current, "exists");
        check(
            json!({"kind": "Widget", "status": {"conditions": [{"type": "Stalled", "status": "True"}]}}),
            Status::Failed,
            "Stalled",
        );
        check(
            json!({"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            Status::InProgress,
            "Ready condition is not True",
        );
        check(json!({"kind": "Widget"}), Status::Current, "ready");
        check(
            json!({"kind": "Service", "spec": {"type": "LoadBalancer"}}),
            Status::InProgress,
            "ClusterIP not set",
        );
        check(
            json!({"kind": "Service", "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1"}}),
            Status::Current,
            "Service is ready",
        );
    }

    #[test]
    fn pods_and_jobs() {
        check(
            json!({"kind": "Pod", "status": {"phase": "Running", "containerStatuses": [
                {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
            Status::Failed,
            "Pod is in CrashLoopBackOff",
        );
        check(
            json!({"kind": "Pod", "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}),
            Status::InProgress,
            "Pod could not be scheduled",
        );
        check(
            json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True"}]}}),
            Status::Failed,
            "Job Failed",
        );
        check(
            json!({"kind": "Job", "status": {}}),
            Status::InProgress,
            "Job not started",
        );
    }
}
