//! kustomize's "legacy" resource order.

use super::resource::Resource;

const FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const LAST: &[&str] = &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

fn kind_rank(kind: &str) -> i32 {
    if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        return i as i32 - FIRST.len() as i32;
    }
    if let Some(i) = LAST.iter().position(|k| *k == kind) {
        return i as i32 + 1;
    }
    0
}

/// kustomize's `Gvk.String()`: `group_version_kind` with `~G`/`~V`/`~K` for empty parts.
fn gvk_string(group: &str, version: &str, kind: &str) -> String {
    let or = |s: &str, d: &str| if s.is_empty() { d.to_string() } else { s.to_string() };
    format!("{}_{}_{}", or(group, "~G"), or(version, "~V"), or(kind, "~K"))
}

/// Sorts resources in kustomize's legacy order (stable).
pub(super) fn legacy(ra: &mut [Resource]) {
    let mut keyed: Vec<((i32, String, String), usize)> = ra
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r.id();
            let gvk = gvk_string(&id.group, &id.version, &id.kind);
            let ns = if id.namespace.is_empty() { "~X".to_string() } else { id.namespace.clone() };
            let tie = format!("{gvk}|{ns}|{}", id.name);
            ((kind_rank(&id.kind), gvk, tie), i)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut taken: Vec<Option<Resource>> = ra.iter().cloned().map(Some).collect();
    for (slot, i) in order.into_iter().enumerate() {
        if let Some(r) = taken[i].take() {
            ra[slot] = r;
        }
    }
}
