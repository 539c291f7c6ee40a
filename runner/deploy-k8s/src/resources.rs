//! Addressing objects: the REST resource (plural) and scope of a kind. Well-known kinds are
//! answered from a table (no discovery request); others through kube's discovery of one
//! group version.

use crate::client::Cluster;
use crate::error::{Action, Error, Result};
use crate::object::ObjectRef;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::discovery::{Scope, pinned_kind};

/// `(group, kind, plural, namespaced)` of the kinds planton renders or is likely to meet.
const KNOWN: &[(&str, &str, &str, bool)] = &[
    ("", "Namespace", "namespaces", false),
    ("", "ServiceAccount", "serviceaccounts", true),
    ("", "Secret", "secrets", true),
    ("", "ConfigMap", "configmaps", true),
    ("", "Service", "services", true),
    ("", "Pod", "pods", true),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims", true),
    ("", "PersistentVolume", "persistentvolumes", false),
    ("", "ResourceQuota", "resourcequotas", true),
    ("", "LimitRange", "limitranges", true),
    ("apps", "Deployment", "deployments", true),
    ("apps", "StatefulSet", "statefulsets", true),
    ("apps", "DaemonSet", "daemonsets", true),
    ("apps", "ReplicaSet", "replicasets", true),
    ("batch", "Job", "jobs", true),
    ("batch", "CronJob", "cronjobs", true),
    (
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    (
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    ("networking.k8s.io", "Ingress", "ingresses", true),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("networking.k8s.io", "IngressClass", "ingressclasses", false),
    ("rbac.authorization.k8s.io", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    ("coordination.k8s.io", "Lease", "leases", true),
];

/// A resolved kind.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// For kube's dynamic API.
    pub resource: ApiResource,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

impl Resolved {
    /// `deployments.apps`, `secrets`: how kubectl and RBAC name the resource.
    pub fn resource_name(&self) -> String {
        if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        }
    }
}

/// Resolves a kind without any request when it is well known.
pub fn known(r: &ObjectRef) -> Option<Resolved> {
    KNOWN
        .iter()
        .find(|(g, k, _, _)| *g == r.group && *k == r.kind)
        .map(|(g, k, plural, namespaced)| Resolved {
            resource: ApiResource {
                group: g.to_string(),
                version: r.version.clone(),
                api_version: r.api_version(),
                kind: k.to_string(),
                plural: plural.to_string(),
            },
            namespaced: *namespaced,
        })
}

/// Resolves a kind: from the table, else by discovery of its group version.
pub async fn resolve(cluster: &Cluster, r: &ObjectRef) -> Result<Resolved> {
    if let Some(k) = known(r) {
        return Ok(k);
    }
    let gvk = kube::api::GroupVersionKind::gvk(&r.group, &r.version, &r.kind);
    let (resource, caps) = cluster
        .call(
            || Action {
                verb: "get",
                resource: format!("discovery of {}", r.api_version()),
                namespace: None,
                name: None,
            },
            || pinned_kind(&cluster.client, &gvk),
        )
        .await
        .map_err(|e| Error::UnknownKind {
            kind: r.kind.clone(),
            api_version: r.api_version(),
            message: e.to_string(),
        })?;
    Ok(Resolved {
        resource,
        namespaced: caps.scope == Scope::Namespaced,
    })
}

/// The dynamic API for an object.
pub fn api(cluster: &Cluster, res: &Resolved, namespace: Option<&str>) -> Api<DynamicObject> {
    match (res.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(cluster.client.clone(), ns, &res.resource),
        _ => Api::all_with(cluster.client.clone(), &res.resource),
    }
}

/// The live object `r` (None when it does not exist), read through the cluster's retries.
pub async fn get(
    cluster: &Cluster,
    res: &Resolved,
    r: &ObjectRef,
) -> Result<Option<DynamicObject>> {
    let api = api(cluster, res, r.namespace.as_deref());
    cluster
        .call(|| action("get", res, r), || api.get_opt(&r.name))
        .await
}

/// The [`Action`] of a call on an object.
pub fn action(verb: &'static str, res: &Resolved, r: &ObjectRef) -> Action {
    Action {
        verb,
        resource: res.resource_name(),
        namespace: if res.namespaced {
            r.namespace.clone()
        } else {
            None
        },
        name: Some(r.name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_kinds_need_no_discovery() {
        let r = ObjectRef {
            group: "autoscaling".into(),
            version: "v2".into(),
            kind: "HorizontalPodAutoscaler".into(),
            namespace: Some("n".into()),
            name: "x".into(),
        };
        let k = known(&r).unwrap();
        assert_eq!(k.resource.api_version, "autoscaling/v2");
        assert_eq!(k.resource_name(), "horizontalpodautoscalers.autoscaling");
        let a = action("patch", &k, &r);
        assert_eq!(
            a.to_string(),
            "patch horizontalpodautoscalers.autoscaling `x` in namespace `n`"
        );
    }
}
