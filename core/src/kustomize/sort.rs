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
const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

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
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(group, "~G"),
        or(version, "~V"),
        or(kind, "~K")
    )
}

/// Sorts resources in kustomize's legacy order (stable).
pub(super) fn legacy(ra: &mut [Resource]) {
    // Keys are computed once per resource; the resources themselves are moved, not cloned.
    ra.sort_by_cached_key(|r| {
        let id = r.id();
        let gvk = gvk_string(&id.group, &id.version, &id.kind);
        let ns = if id.namespace.is_empty() {
            "~X".to_string()
        } else {
            id.namespace.clone()
        };
        let tie = format!("{gvk}|{ns}|{}", id.name);
        (kind_rank(&id.kind), gvk, tie)
    });
}
