//! The order objects are applied in (and, reversed, deleted in): Namespaces first, then
//! what workloads use (ServiceAccounts, Secrets, ConfigMaps, storage, RBAC), Services,
//! the workloads, then what refers to workloads (autoscalers, disruption budgets, Ingress).
//! Kinds not listed go last, in the order they were rendered.
//!
//! The list follows Helm's install order (`pkg/release/util/kind_sorter.go`), trimmed to the
//! kinds planton renders or is likely to meet.

use crate::object::ObjectRef;

/// Kinds in apply order.
pub const APPLY_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "IngressClass",
    "Ingress",
];

/// The rank of a kind: its index in [`APPLY_ORDER`], or past the end for unknown kinds.
pub fn kind_rank(kind: &str) -> usize {
    APPLY_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(APPLY_ORDER.len())
}

/// Sorts items into apply order by their kind; the sort is stable, so objects of one kind
/// (and unknown kinds) keep the order they were rendered in.
pub fn sort_for_apply<T>(items: &mut [T], kind: impl Fn(&T) -> &str) {
    items.sort_by_key(|t| kind_rank(kind(t)));
}

/// The objects to delete, in delete order (the reverse of apply order).
pub fn sort_for_delete(items: &mut [ObjectRef]) {
    items.sort_by(|a, b| {
        kind_rank(&b.kind)
            .cmp(&kind_rank(&a.kind))
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_order_is_fixed_and_stable() {
        let mut kinds = vec![
            "Ingress",
            "Deployment",
            "Widget",
            "Secret",
            "Service",
            "HorizontalPodAutoscaler",
            "Gadget",
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
        ];
        sort_for_apply(&mut kinds, |k| k);
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "Secret",
                "ConfigMap",
                "Service",
                "Deployment",
                "HorizontalPodAutoscaler",
                "Ingress",
                "Widget",
                "Gadget"
            ]
        );
    }

    #[test]
    fn delete_order_is_the_reverse() {
        let r = |kind: &str, name: &str| ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        };
        let mut v = vec![r("Secret", "s"), r("Ingress", "i"), r("Deployment", "d")];
        sort_for_delete(&mut v);
        let kinds: Vec<&str> = v.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["Ingress", "Deployment", "Secret"]);
    }
}
