//! Fixing references (configMapRef, secretKeyRef, serviceAccountName, ...) to renamed objects.
//!
//! A port of kustomize v5.5's name-reference transformer (`api/filters/nameref`) with its
//! built-in table (`namereference.go`): for every field that can name another object
//! (the *referrer* field), find the object it named before the build renamed things and
//! write that object's current name (and, for `{name, namespace}` mappings such as RBAC
//! subjects, its namespace).
//!
//! Only fields in the table are touched: name-like strings inside custom kinds are never
//! rewritten. A candidate target must once have had the referenced name (a *previous*
//! name: objects never renamed need no fixing), have the right kind, and live where the
//! referrer can see it (same namespace, cluster-scoped, or a ServiceAccount). When several
//! remain, the one with the same prefixes/suffixes as the referrer wins.

use super::Resource;
use super::configurations::NameRef;
use super::error::{BuildError, Result};
use super::transformers::{Create, cluster_scoped, split_path, walk};
use crate::yaml::{Node, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// A group/version/kind selector (empty parts match anything).
#[derive(Clone, Debug)]
struct Gvk {
    group: Cow<'static, str>,
    version: Cow<'static, str>,
    kind: Cow<'static, str>,
}

const fn gvk(group: &'static str, version: &'static str, kind: &'static str) -> Gvk {
    Gvk {
        group: Cow::Borrowed(group),
        version: Cow::Borrowed(version),
        kind: Cow::Borrowed(kind),
    }
}

fn owned_gvk(group: &str, version: &str, kind: &str) -> Gvk {
    Gvk {
        group: Cow::Owned(group.to_string()),
        version: Cow::Owned(version.to_string()),
        kind: Cow::Owned(kind.to_string()),
    }
}

impl Gvk {
    fn selects(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
            && (self.kind.is_empty() || self.kind == kind)
    }
}

/// One entry of the table: objects of `target` kind are referred to from these fields.
struct BackRef {
    target: Gvk,
    referrers: Vec<(Gvk, String)>,
}

/// Pod spec locations in each built-in workload: `(referrer, prefix before "spec/...")`.
const POD_HOSTS: &[(Gvk, &str)] = &[
    (gvk("", "v1", "Pod"), ""),
    (gvk("", "", "PodTemplate"), "template/"),
    (gvk("", "", "Deployment"), "spec/template/"),
    (gvk("", "", "ReplicaSet"), "spec/template/"),
    (gvk("", "", "DaemonSet"), "spec/template/"),
    (gvk("", "", "StatefulSet"), "spec/template/"),
    (gvk("", "", "Job"), "spec/template/"),
    (gvk("", "", "CronJob"), "spec/jobTemplate/spec/template/"),
];

const POD_CONFIGMAP: &[&str] = &[
    "spec/volumes/configMap/name",
    "spec/containers/env/valueFrom/configMapKeyRef/name",
    "spec/initContainers/env/valueFrom/configMapKeyRef/name",
    "spec/containers/envFrom/configMapRef/name",
    "spec/initContainers/envFrom/configMapRef/name",
    "spec/volumes/projected/sources/configMap/name",
];

const POD_SECRET: &[&str] = &[
    "spec/volumes/secret/secretName",
    "spec/containers/env/valueFrom/secretKeyRef/name",
    "spec/initContainers/env/valueFrom/secretKeyRef/name",
    "spec/containers/envFrom/secretRef/name",
    "spec/initContainers/envFrom/secretRef/name",
    "spec/imagePullSecrets/name",
    "spec/volumes/projected/sources/secret/name",
];

/// Workloads (without Pod/PodTemplate/ReplicaSet) for serviceAccountName, claimName and
/// priorityClassName: `(kind, prefix)`.
const WORKLOADS: &[(&str, &str)] = &[
    ("StatefulSet", "spec/template/"),
    ("Deployment", "spec/template/"),
    ("ReplicationController", "spec/template/"),
    ("CronJob", "spec/jobTemplate/spec/template/"),
    ("Job", "spec/template/"),
    ("DaemonSet", "spec/template/"),
];

fn pod_refs(paths: &[&str]) -> Vec<(Gvk, String)> {
    let mut v = Vec::new();
    for (host, prefix) in POD_HOSTS {
        for p in paths {
            v.push((host.clone(), format!("{prefix}{p}")));
        }
    }
    v
}

fn workload_refs(path: &str) -> Vec<(Gvk, String)> {
    let mut v = vec![(gvk("", "", "Pod"), format!("spec/{path}"))];
    for (kind, prefix) in WORKLOADS {
        v.push((gvk("", "", kind), format!("{prefix}spec/{path}")));
    }
    v
}

fn r(g: &'static str, v: &'static str, k: &'static str, path: &str) -> (Gvk, String) {
    (gvk(g, v, k), path.to_string())
}

/// kustomize's built-in `nameReference` configuration.
fn table() -> Vec<BackRef> {
    let hpa = |kind: &'static str| BackRef {
        target: gvk("", "", kind),
        referrers: vec![r(
            "",
            "",
            "HorizontalPodAutoscaler",
            "spec/scaleTargetRef/name",
        )],
    };
    let mut configmap = pod_refs(POD_CONFIGMAP);
    configmap.extend([
        r("", "", "Node", "spec/configSource/configMap"),
        r("", "", "Role", "rules/resourceNames"),
        r("", "", "ClusterRole", "rules/resourceNames"),
        r(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        ),
    ]);
    let mut secret = pod_refs(POD_SECRET);
    secret.extend([
        r("", "", "Ingress", "spec/tls/secretName"),
        r(
            "",
            "",
            "Ingress",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
        ),
        r(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
        ),
        r(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
        ),
        r("", "", "ServiceAccount", "imagePullSecrets/name"),
        r("", "", "StorageClass", "parameters/secretName"),
        r("", "", "StorageClass", "parameters/adminSecretName"),
        r("", "", "StorageClass", "parameters/userSecretName"),
        r("", "", "StorageClass", "parameters/secretRef"),
        r("", "", "Role", "rules/resourceNames"),
        r("", "", "ClusterRole", "rules/resourceNames"),
        r(
            "serving.knative.dev",
            "v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        ),
        r("", "", "PersistentVolume", "spec/azureFile/secretName"),
    ]);
    let mut service_account = vec![
        r("rbac.authorization.k8s.io", "", "RoleBinding", "subjects"),
        r(
            "rbac.authorization.k8s.io",
            "",
            "ClusterRoleBinding",
            "subjects",
        ),
    ];
    service_account.extend(workload_refs("serviceAccountName"));
    vec![
        hpa("Deployment"),
        hpa("ReplicationController"),
        hpa("ReplicaSet"),
        hpa("StatefulSet"),
        BackRef {
            target: gvk("", "v1", "ConfigMap"),
            referrers: configmap,
        },
        BackRef {
            target: gvk("", "v1", "Secret"),
            referrers: secret,
        },
        BackRef {
            target: gvk("", "v1", "Service"),
            referrers: vec![
                r("apps", "", "StatefulSet", "spec/serviceName"),
                r(
                    "",
                    "",
                    "Ingress",
                    "spec/rules/http/paths/backend/serviceName",
                ),
                r("", "", "Ingress", "spec/backend/serviceName"),
                r(
                    "",
                    "",
                    "Ingress",
                    "spec/rules/http/paths/backend/service/name",
                ),
                r("", "", "Ingress", "spec/defaultBackend/service/name"),
                r(
                    "apiregistration.k8s.io",
                    "",
                    "APIService",
                    "spec/service/name",
                ),
                r(
                    "admissionregistration.k8s.io",
                    "",
                    "ValidatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
                r(
                    "admissionregistration.k8s.io",
                    "",
                    "MutatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
            ],
        },
        BackRef {
            target: gvk("rbac.authorization.k8s.io", "", "Role"),
            referrers: vec![r(
                "rbac.authorization.k8s.io",
                "",
                "RoleBinding",
                "roleRef/name",
            )],
        },
        BackRef {
            target: gvk("rbac.authorization.k8s.io", "", "ClusterRole"),
            referrers: vec![
                r(
                    "rbac.authorization.k8s.io",
                    "",
                    "RoleBinding",
                    "roleRef/name",
                ),
                r(
                    "rbac.authorization.k8s.io",
                    "",
                    "ClusterRoleBinding",
                    "roleRef/name",
                ),
            ],
        },
        BackRef {
            target: gvk("", "v1", "ServiceAccount"),
            referrers: service_account,
        },
        BackRef {
            target: gvk("", "v1", "PersistentVolumeClaim"),
            referrers: workload_refs("volumes/persistentVolumeClaim/claimName"),
        },
        BackRef {
            target: gvk("", "v1", "PersistentVolume"),
            referrers: vec![
                r("", "", "PersistentVolumeClaim", "spec/volumeName"),
                r("", "", "ClusterRole", "rules/resourceNames"),
            ],
        },
        BackRef {
            target: gvk("storage.k8s.io", "v1", "StorageClass"),
            referrers: vec![
                r("", "", "PersistentVolume", "spec/storageClassName"),
                r("", "", "PersistentVolumeClaim", "spec/storageClassName"),
                r(
                    "",
                    "",
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName",
                ),
            ],
        },
        BackRef {
            target: gvk("scheduling.k8s.io", "v1", "PriorityClass"),
            referrers: workload_refs("priorityClassName"),
        },
        BackRef {
            // kustomize spells the group "networking.k8s.io/v1", so this never matches.
            target: gvk("networking.k8s.io/v1", "v1", "IngressClass"),
            referrers: vec![r("", "", "Ingress", "spec/ingressClassName")],
        },
    ]
}

/// What the filter needs to know about a possible target (names don't change while
/// references are fixed, so this is taken once, with the namespaces the filters compare).
struct Cand {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    /// Previous (name, namespace) pairs, oldest first.
    previous: Vec<(String, String)>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Whether the kind is cluster-scoped.
    cluster: bool,
    /// kustomize's `EffectiveNamespace` of the current id.
    effective_ns: String,
    /// The same of the original id.
    original_effective_ns: String,
}

impl Cand {
    fn of(r: &Resource) -> Cand {
        let (group, version) = r.group_version();
        let kind = r.kind();
        let namespace = r.namespace();
        let effective = effective_ns(&group, &kind, &namespace);
        let original = match r.previous.first() {
            Some((_, ns)) => effective_ns(&group, &kind, ns),
            None => effective.clone(),
        };
        Cand {
            cluster: cluster_scoped(&group, &kind),
            group,
            version,
            kind,
            name: r.name(),
            namespace,
            previous: r.previous.clone(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            effective_ns: effective,
            original_effective_ns: original,
        }
    }
}

fn effective_ns(group: &str, kind: &str, ns: &str) -> String {
    if cluster_scoped(group, kind) {
        "_non_namespaceable_".into()
    } else if ns.is_empty() || ns == "default" {
        "default".into()
    } else {
        ns.into()
    }
}

/// kustomize's `SameEndingSubSlice`.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() > b.len() { (b, a) } else { (a, b) };
    let diff = long.len() - short.len();
    if short.is_empty() {
        return diff == 0;
    }
    short.iter().enumerate().all(|(i, s)| long[i + diff] == *s)
}

/// The referrer's side of one filter run.
struct Referrer<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: &'a str,
    prefixes: &'a [String],
    suffixes: &'a [String],
    /// `roleRef` group and kind, when this is a `roleRef/name` field and both are set.
    role_ref: Option<(String, String)>,
}

impl Referrer<'_> {
    fn cluster_scoped(&self) -> bool {
        cluster_scoped(self.group, self.kind)
    }
}

/// kustomize's `selectReferral`.
fn select<'c>(
    old_name: &str,
    cands: &[&'c Cand],
    target: &Gvk,
    referrer: &Referrer<'_>,
    with_namespace: bool,
) -> Result<Option<&'c Cand>> {
    let mut c: Vec<&Cand> = cands
        .iter()
        .copied()
        .filter(|c| c.previous.iter().any(|(n, _)| n == old_name))
        .filter(|c| !c.previous.is_empty() && target.selects(&c.group, &c.version, &c.kind))
        .filter(|c| match &referrer.role_ref {
            Some((g, k)) => (g.is_empty() || *g == c.group) && (k.is_empty() || *k == c.kind),
            None => true,
        })
        .filter(|c| {
            referrer.cluster_scoped()
                || c.cluster
                || c.kind == "ServiceAccount"
                || effective_ns(referrer.group, referrer.kind, referrer.namespace) == c.effective_ns
        })
        .collect();
    if c.len() == 1 {
        return Ok(c.pop());
    }
    c.retain(|c| {
        same_ending(&c.prefixes, referrer.prefixes) && same_ending(&c.suffixes, referrer.suffixes)
    });
    if c.len() == 1 {
        return Ok(c.pop());
    }
    let Some(first) = c.first() else {
        return Ok(None);
    };
    let identical = c
        .iter()
        .all(|o| o.name == first.name && (!with_namespace || o.namespace == first.namespace));
    if identical {
        return Ok(Some(first));
    }
    let ids: Vec<String> = c
        .iter()
        .map(|o| {
            let id = super::ResId {
                group: o.group.clone(),
                version: o.version.clone(),
                kind: o.kind.clone(),
                name: o.name.clone(),
                namespace: o.namespace.clone(),
            };
            id.to_string()
        })
        .collect();
    Err(BuildError::msg(format!(
        " found multiple possible referrals: {}",
        ids.join(", ")
    )))
}

/// Rewrites references to objects whose names changed during the build.
pub(super) fn fix_back_references(ra: &mut [Resource], extra: &[NameRef]) -> Result<()> {
    let owned: Vec<Spec>;
    let specs: &[Spec] = if extra.is_empty() {
        builtin_specs()
    } else {
        owned = specs_of(&with_extra(extra));
        &owned
    };
    fix_with(ra, specs)
}

/// One field of the table: objects of `target` kind are named at `path` of `referrer`s.
struct Spec {
    referrer: Gvk,
    target: Gvk,
    path: String,
    /// `path`, split once.
    segments: Vec<String>,
}

fn specs_of(table: &[BackRef]) -> Vec<Spec> {
    table
        .iter()
        .flat_map(|b| {
            b.referrers.iter().map(|(g, p)| Spec {
                referrer: g.clone(),
                target: b.target.clone(),
                path: p.clone(),
                segments: split_path(p),
            })
        })
        .collect()
}

/// The built-in table's fields (a constant: made on first use).
fn builtin_specs() -> &'static [Spec] {
    static SPECS: std::sync::OnceLock<Vec<Spec>> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| specs_of(&table()))
}

/// The built-in table with the `nameReference` entries of `configurations:` added.
fn with_extra(extra: &[NameRef]) -> Vec<BackRef> {
    let mut table = table();
    for nr in extra {
        let referrers = nr
            .referrers
            .iter()
            .map(|fs| (owned_gvk(&fs.group, &fs.version, &fs.kind), fs.path.clone()));
        let existing = table.iter_mut().find(|b| {
            b.target.group == nr.group.as_str()
                && b.target.version == nr.version.as_str()
                && b.target.kind == nr.kind.as_str()
        });
        match existing {
            Some(b) => {
                for (g, p) in referrers {
                    let dup = b.referrers.iter().any(|(og, op)| {
                        *op == p
                            && og.group == g.group
                            && og.version == g.version
                            && og.kind == g.kind
                    });
                    if !dup {
                        b.referrers.push((g, p));
                    }
                }
            }
            None => table.push(BackRef {
                target: owned_gvk(&nr.group, &nr.version, &nr.kind),
                referrers: referrers.collect(),
            }),
        }
    }
    table
}

/// [`fix_back_references`] with the table's fields.
fn fix_with(ra: &mut [Resource], specs: &[Spec]) -> Result<()> {
    // The specs that select each referrer kind, found once per kind.
    let mut by_gvk: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
    let cands: Vec<Cand> = ra.iter().map(Cand::of).collect();
    for i in 0..ra.len() {
        // Referrers are selected by their original GVK (kinds only change by patch).
        let (group, version) = ra[i].group_version();
        let kind = ra[i].kind();
        let filters = by_gvk
            .entry((group, version, kind))
            .or_insert_with_key(|(g, v, k)| {
                specs
                    .iter()
                    .enumerate()
                    .filter(|(_, spec)| spec.referrer.selects(g, v, k))
                    .map(|(j, _)| j)
                    .collect()
            });
        if filters.is_empty() {
            continue;
        }
        // The objects this one could refer to, found on the first reference reached (from
        // the object as it was before any of its references were fixed).
        let rb_namespaces = role_binding_namespaces(&ra[i], &cands[i].kind);
        let mut subset: Option<Vec<&Cand>> = None;
        let me = &cands[i];
        let mut id: Option<String> = None;
        for &j in filters.iter() {
            let Some(Spec {
                target,
                path,
                segments,
                ..
            }) = specs.get(j)
            else {
                continue;
            };
            let role_ref = if path.ends_with("roleRef/name") {
                let rr = ra[i].node.get("roleRef");
                let g = rr.and_then(|n| n.get("apiGroup")).filter(|n| !n.is_null());
                let k = rr.and_then(|n| n.get("kind")).filter(|n| !n.is_null());
                match (g, k) {
                    (Some(g), Some(k)) => Some((
                        g.scalar_text().unwrap_or_default().to_string(),
                        k.scalar_text().unwrap_or_default().to_string(),
                    )),
                    _ => None,
                }
            } else {
                None
            };
            let referrer = Referrer {
                group: &me.group,
                kind: &me.kind,
                namespace: &me.namespace,
                prefixes: &me.prefixes,
                suffixes: &me.suffixes,
                role_ref,
            };
            let mut set = |node: &mut Node| {
                let subset =
                    subset.get_or_insert_with(|| could_be_referenced(me, &rb_namespaces, &cands));
                set_node(node, subset, target, &referrer)
            };
            if let Err(e) = walk(&mut ra[i].node, segments, Create::No, &mut set) {
                let id = id.get_or_insert_with(|| ra[i].id().to_string());
                return Err(e.context(format!(
                    "updating name reference in '{path}' field of '{id}'"
                )));
            }
        }
    }
    Ok(())
}

/// The namespaces of a RoleBinding's ServiceAccount subjects (which it may refer into).
fn role_binding_namespaces(referrer: &Resource, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    if kind == "RoleBinding" {
        for s in referrer
            .node
            .get("subjects")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            let is_sa = s.get("kind").and_then(Node::scalar_text) == Some("ServiceAccount");
            if let (true, Some(ns)) = (is_sa, s.get("namespace").and_then(Node::scalar_text)) {
                out.push(ns.to_string());
            }
        }
    }
    out
}

/// kustomize's `SubsetThatCouldBeReferencedByResource` (`rb_namespaces`: see
/// [`role_binding_namespaces`]).
fn could_be_referenced<'c>(
    referrer: &Cand,
    rb_namespaces: &[String],
    cands: &'c [Cand],
) -> Vec<&'c Cand> {
    if referrer.cluster {
        return cands.iter().collect();
    }
    let my_ns = &referrer.effective_ns;
    cands
        .iter()
        .filter(|c| c.cluster || c.effective_ns == *my_ns || rb_namespaces.contains(&c.namespace))
        .collect()
}

fn set_node(node: &mut Node, cands: &[&Cand], target: &Gvk, referrer: &Referrer<'_>) -> Result<()> {
    if node.is_null() {
        return Ok(());
    }
    match &mut node.value {
        Value::Scalar(_) => set_scalar(node, cands, target, referrer),
        Value::Map(_) => set_mapping(node, cands, target, referrer),
        Value::Seq(items) => {
            for item in items.iter_mut() {
                match &item.value {
                    Value::Scalar(_) => set_scalar(item, cands, target, referrer)?,
                    Value::Map(_) => set_mapping(item, cands, target, referrer)?,
                    Value::Seq(_) => {
                        return Err(BuildError::at(
                            &item.pos,
                            "a name reference list item must be a string or a mapping",
                        ));
                    }
                }
            }
            Ok(())
        }
    }
}

fn set_scalar(
    node: &mut Node,
    cands: &[&Cand],
    target: &Gvk,
    referrer: &Referrer<'_>,
) -> Result<()> {
    let Some(old) = node.scalar_text().map(str::to_string) else {
        return Ok(());
    };
    let Some(found) = select(&old, cands, target, referrer, false)? else {
        return Ok(());
    };
    if found.name != old {
        let pos = node.pos.clone();
        *node = Node::string(found.name.as_str());
        node.pos = pos;
    }
    Ok(())
}

fn set_mapping(
    node: &mut Node,
    cands: &[&Cand],
    target: &Gvk,
    referrer: &Referrer<'_>,
) -> Result<()> {
    let Some(map) = node.as_map_mut() else {
        return Ok(());
    };
    let Some(name_node) = map.get("name") else {
        return Err(BuildError::at(
            &node.pos,
            "path config error; no 'name' field in node",
        ));
    };
    let old = name_node.scalar_text().unwrap_or_default().to_string();
    let filtered: Vec<&Cand>;
    let pool: &[&Cand] = match map.get("namespace") {
        None => cands,
        Some(ns_node) => {
            let ns = ns_node.scalar_text().unwrap_or_default();
            let by_original: Vec<&Cand> = cands
                .iter()
                .copied()
                .filter(|c| !c.cluster && c.original_effective_ns == ns)
                .collect();
            filtered = if by_original.is_empty() {
                cands
                    .iter()
                    .copied()
                    .filter(|c| !c.cluster && c.effective_ns == ns)
                    .collect()
            } else {
                by_original
            };
            &filtered
        }
    };
    let Some(found) = select(&old, pool, target, referrer, true)? else {
        return Ok(());
    };
    if found.name == old && found.namespace.is_empty() {
        return Ok(());
    }
    map.insert("name", Node::string(found.name.as_str()));
    if !found.namespace.is_empty() {
        map.insert("namespace", Node::string(found.namespace.as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_subslices() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a-", "b-"]), &s(&["b-"])));
        assert!(!same_ending(&s(&["a-"]), &s(&["b-"])));
        assert!(!same_ending(&s(&[]), &s(&["b-"])));
        assert!(same_ending(&s(&[]), &s(&[])));
    }

    /// Two bases with the same ConfigMap name: each Pod gets its own base's ConfigMap
    /// (picked by prefixes). Expected output from `kubectl kustomize` v1.32.
    #[test]
    fn same_named_targets_resolved_by_prefix() {
        let mut tree = crate::kustomize::FileTree::new();
        tree.insert("a/kustomization.yaml", "namePrefix: a-\nresources: [r.yaml]\nconfigMapGenerator:\n- name: cfg\n  literals: [K=a]\n");
        tree.insert("a/r.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, envFrom: [{configMapRef: {name: cfg}}]}]\n");
        tree.insert("b/kustomization.yaml", "namePrefix: b-\nresources: [r.yaml]\nconfigMapGenerator:\n- name: cfg\n  literals: [K=b]\n");
        tree.insert("b/r.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, envFrom: [{configMapRef: {name: cfg}}]}]\n");
        tree.insert(
            "o/kustomization.yaml",
            "resources: [../a, ../b]\nnameSuffix: -s\n",
        );
        let got = crate::kustomize::build(&tree, "o")
            .and_then(|b| b.to_yaml())
            .unwrap();
        assert_eq!(
            got,
            "apiVersion: v1\ndata:\n  K: a\nkind: ConfigMap\nmetadata:\n  name: a-cfg-s-26949fdd5h\n---\napiVersion: v1\ndata:\n  K: b\nkind: ConfigMap\nmetadata:\n  name: b-cfg-s-579g488cg6\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a-p-s\nspec:\n  containers:\n  - envFrom:\n    - configMapRef:\n        name: a-cfg-s-26949fdd5h\n    image: i\n    name: c\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b-p-s\nspec:\n  containers:\n  - envFrom:\n    - configMapRef:\n        name: b-cfg-s-579g488cg6\n    image: i\n    name: c\n"
        );
    }
}
