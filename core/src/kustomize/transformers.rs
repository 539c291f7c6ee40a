//! Built-in metadata transformers: namespace, name prefix/suffix, labels, annotations.
//!
//! Each follows its kustomize v5.5 plugin and the built-in field specs
//! (`api/internal/konfig/builtinpluginconsts`): a field spec is a `/`-separated path
//! (`\/` escapes a slash inside a key, a `[]` suffix marks a list) restricted to a group,
//! version and kind, optionally creating what is missing. Paths step through every item of
//! a list they meet.

use super::configurations::{Config, beyond};
use super::error::{BuildError, Result};
use super::resource::is_cluster_scoped;
use super::{Kustomization, Resource};
use crate::yaml::{Map, Node, Value};

/// Whether kustomize treats an object as cluster-scoped: a built-in cluster-scoped kind
/// *in its own API group* (a custom `example.com/v1` `Namespace` is namespaced).
pub(super) fn cluster_scoped(group: &str, kind: &str) -> bool {
    let want = match kind {
        "Namespace" | "PersistentVolume" | "ComponentStatus" | "Node" => "",
        "ClusterRole" | "ClusterRoleBinding" => "rbac.authorization.k8s.io",
        "CustomResourceDefinition" => "apiextensions.k8s.io",
        "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment" => "storage.k8s.io",
        "PriorityClass" => "scheduling.k8s.io",
        "MutatingWebhookConfiguration"
        | "ValidatingWebhookConfiguration"
        | "ValidatingAdmissionPolicy"
        | "ValidatingAdmissionPolicyBinding" => "admissionregistration.k8s.io",
        "APIService" => "apiregistration.k8s.io",
        "CertificateSigningRequest" => "certificates.k8s.io",
        "IngressClass" => "networking.k8s.io",
        "PodSecurityPolicy" => return group == "policy" || group == "extensions",
        "RuntimeClass" => "node.k8s.io",
        "TokenReview" => "authentication.k8s.io",
        "SelfSubjectAccessReview" | "SelfSubjectRulesReview" | "SubjectAccessReview" => {
            "authorization.k8s.io"
        }
        "FlowSchema" | "PriorityLevelConfiguration" => "flowcontrol.apiserver.k8s.io",
        _ => return false,
    };
    group == want && is_cluster_scoped(kind)
}

/// A kustomize `FieldSpec`: where a transformer writes, and in which objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FieldSpec {
    /// API group the object must have (empty: any).
    pub group: String,
    /// API version the object must have (empty: any).
    pub version: String,
    /// Kind the object must have (empty: any).
    pub kind: String,
    /// The path, `/`-separated.
    pub path: String,
    /// Whether missing fields are created.
    pub create: bool,
}

impl FieldSpec {
    /// A spec from `(group, version, kind, path, create)`.
    pub fn new(group: &str, version: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            path: path.into(),
            create,
        }
    }

    /// kustomize's `isMatchGVK`: does this spec apply to an object (by its current GVK)?
    pub fn matches(&self, node: &Node) -> bool {
        let kind = node
            .get("kind")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let av = node
            .get("apiVersion")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
    }
}

/// What to create at the end of a path when it is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Create {
    /// Never create.
    No,
    /// Create a mapping (labels, annotations).
    Map,
    /// Create a scalar (namespace).
    Scalar,
}

/// kustomize's `PathSplitter`: splits on `/` except `\/`.
pub(super) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            cur.push('/');
            chars.next();
        } else if c == '/' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Walks `path` from `node` the way kustomize's `fieldspec.Filter` does and calls `set` on
/// every node the path reaches (a path through a list reaches each item).
/// With `create` other than [`Create::No`], missing (or null) mappings on the way are
/// created, and the final field is created as the given kind (a null placeholder for
/// scalars, for `set` to fill).
pub(super) fn walk(
    node: &mut Node,
    path: &[String],
    create: Create,
    set: &mut dyn FnMut(&mut Node) -> Result<()>,
) -> Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return set(node);
    };
    if node.is_null() {
        return Ok(());
    }
    match &mut node.value {
        Value::Seq(items) => {
            for item in items {
                walk(item, path, create, set)?;
            }
            Ok(())
        }
        Value::Map(map) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first.as_str(), false),
            };
            let creating = create != Create::No && !is_seq;
            if map.get(name).is_none() {
                if !creating {
                    return Ok(());
                }
                let fresh = if rest.is_empty() && create == Create::Scalar {
                    Node::null()
                } else {
                    Node::map()
                };
                map.insert(name, fresh);
            }
            let Some(field) = map.get_mut(name) else {
                return Ok(());
            };
            if field.is_null() && creating && !(rest.is_empty() && create == Create::Scalar) {
                *field = Node::new(Value::Map(Map::new()), field.pos.clone());
            }
            walk(field, rest, create, set)
        }
        Value::Scalar(_) => Err(BuildError::at(
            &node.pos,
            "expected sequence or mapping node",
        )),
    }
}

/// Applies field specs to one object: for each spec that matches, walk and set.
fn apply_specs(
    node: &mut Node,
    specs: &[FieldSpec],
    create_kind: Create,
    set: &mut dyn FnMut(&mut Node) -> Result<()>,
) -> Result<()> {
    for fs in specs {
        if !fs.matches(node) {
            continue;
        }
        let path = split_path(&fs.path);
        let create = if fs.create { create_kind } else { Create::No };
        walk(node, &path, create, set)
            .map_err(|e| e.context(format!("considering field '{}' of object", fs.path)))?;
    }
    Ok(())
}

/// Sets `key: value` (a string) in a mapping node.
fn set_entry(node: &mut Node, key: &str, value: &str) -> Result<()> {
    if node.is_null() {
        *node = Node::new(Value::Map(Map::new()), node.pos.clone());
    }
    match node.as_map_mut() {
        Some(m) => {
            m.insert(key, Node::string(value));
            Ok(())
        }
        None => Err(BuildError::at(
            &node.pos,
            format!("wrong node kind: expected MappingNode to set '{key}'"),
        )),
    }
}

/// Sets a scalar node to a string value.
fn set_scalar(node: &mut Node, value: &str) -> Result<()> {
    if node.as_map().is_some() || node.as_seq().is_some() {
        return Err(BuildError::at(
            &node.pos,
            "namespace field specs must target scalar nodes",
        ));
    }
    let pos = node.pos.clone();
    *node = Node::string(value);
    node.pos = pos;
    Ok(())
}

/// Which RoleBinding subjects get the namespace (kustomize's `setRoleBindingSubjects`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Subjects {
    /// Subjects named `default` (the default).
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// None.
    No,
}

/// kustomize's built-in namespace field specs (besides `metadata/namespace`, which the
/// transformer always sets on namespaced objects).
fn namespace_specs() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new("", "", "Namespace", "metadata/name", true),
        FieldSpec::new(
            "apiregistration.k8s.io",
            "",
            "APIService",
            "spec/service/namespace",
            true,
        ),
        FieldSpec::new(
            "apiextensions.k8s.io",
            "",
            "CustomResourceDefinition",
            "spec/conversion/webhook/clientConfig/service/namespace",
            false,
        ),
    ]
}

/// Sets the namespace of every namespaced resource (kustomize's NamespaceTransformer
/// with the built-in field specs plus those `configurations:` add, and its default
/// `setRoleBindingSubjects: defaultOnly`).
pub(super) fn namespace(ns: &str, ra: &mut [Resource], extra: &[FieldSpec]) -> Result<()> {
    let mut specs = namespace_specs();
    let mut defaults = specs.clone();
    defaults.push(FieldSpec::new("", "", "", "metadata/namespace", true));
    specs.extend(beyond(&defaults, extra));
    namespace_with(ns, ra, &specs, false, Subjects::DefaultOnly)
}

/// kustomize's namespace filter with explicit field specs (a builtin
/// `NamespaceTransformer` configuration): `metadata/namespace` of every namespaced
/// object, `metadata/name` specs only on `v1` objects, RoleBinding subjects per `subjects`;
/// with `unset_only`, fields that already have a value are left alone.
pub(super) fn namespace_with(
    ns: &str,
    ra: &mut [Resource],
    specs: &[FieldSpec],
    unset_only: bool,
    subjects: Subjects,
) -> Result<()> {
    if ns.is_empty() {
        return Ok(());
    }
    let mut set = |n: &mut Node| {
        let has_value = n.scalar_text().is_some_and(|t| !t.is_empty());
        if unset_only && has_value {
            return Ok(());
        }
        set_scalar(n, ns)
    };
    for i in 0..ra.len() {
        let r = &mut ra[i];
        if r.node.as_map().is_none_or(|m| m.is_empty()) {
            continue;
        }
        r.previous.push((r.name(), r.namespace()));
        let kind = r.kind();
        let (group, version) = r.group_version();
        if !cluster_scoped(&group, &kind)
            && let Some(meta) = r
                .node
                .ensure_map_path(&["metadata"])
                .and_then(Node::as_map_mut)
        {
            if meta.get("namespace").is_none() {
                meta.insert("namespace", Node::null());
            }
            if let Some(n) = meta.get_mut("namespace") {
                set(n)?;
            }
        }
        let is_binding = kind == "RoleBinding" || kind == "ClusterRoleBinding";
        if is_binding
            && subjects != Subjects::No
            && let Some(items) = r.node.get_mut("subjects").and_then(Node::as_seq_mut)
        {
            for s in items.iter_mut() {
                let field = if subjects == Subjects::DefaultOnly {
                    ("name", "default")
                } else {
                    ("kind", "ServiceAccount")
                };
                let selected = s.get(field.0).and_then(Node::scalar_text) == Some(field.1);
                if selected && let Some(m) = s.as_map_mut() {
                    if m.get("namespace").is_none() {
                        m.insert("namespace", Node::null());
                    }
                    if let Some(n) = m.get_mut("namespace") {
                        set(n)?;
                    }
                }
            }
        }
        let api_version = if group.is_empty() {
            version.clone()
        } else {
            format!("{group}/{version}")
        };
        let specs: Vec<FieldSpec> = specs
            .iter()
            .filter(|fs| fs.path != "metadata/namespace")
            .filter(|fs| api_version == "v1" || fs.path != "metadata/name")
            .filter(|fs| {
                !(is_binding
                    && (fs.kind == "RoleBinding" || fs.kind == "ClusterRoleBinding")
                    && fs.path == "subjects")
            })
            .cloned()
            .collect();
        apply_specs(&mut r.node, &specs, Create::Scalar, &mut set)
            .map_err(|e| e.context("namespace transformation failed"))?;
        let id = ra[i].id();
        let same = ra
            .iter()
            .filter(|o| {
                let oid = o.id();
                oid.group == id.group
                    && oid.version == id.version
                    && oid.kind == id.kind
                    && oid.name == id.name
                    && super::ResId::ns_equal(&oid.namespace, &id.namespace)
            })
            .count();
        if same != 1 {
            return Err(BuildError::at(
                ra[i].pos(),
                format!("namespace transformation produces ID conflict: {id}"),
            ));
        }
    }
    Ok(())
}

/// Kinds the prefix and suffix transformers leave alone (kustomize's
/// `prefixSuffixFieldSpecsToSkip`), judged by the original id.
fn skip_rename(r: &Resource) -> bool {
    let kind = r.kind();
    let (group, _) = r.group_version();
    kind == "CustomResourceDefinition"
        || kind == "Namespace"
        || (kind == "APIService" && group == "apiregistration.k8s.io")
}

/// Adds a name prefix and suffix to every resource (prefix transformer, then suffix
/// transformer, each only when set), remembering the previous names.
pub(super) fn prefix_suffix(
    prefix: &str,
    suffix: &str,
    ra: &mut [Resource],
    config: &Config,
) -> Result<()> {
    let name = [FieldSpec::new("", "", "", "metadata/name", false)];
    let extra_prefix = beyond(&name, &config.name_prefix);
    let extra_suffix = beyond(&name, &config.name_suffix);
    if !prefix.is_empty() {
        for r in ra.iter_mut().filter(|r| !skip_rename(r)) {
            r.prefixes.push(prefix.to_string());
            let (name, ns) = (r.name(), r.namespace());
            r.previous.push((name.clone(), ns));
            set_name_raw(r, &format!("{prefix}{name}"));
        }
    }
    if !suffix.is_empty() {
        for r in ra.iter_mut().filter(|r| !skip_rename(r)) {
            r.suffixes.push(suffix.to_string());
            let (name, ns) = (r.name(), r.namespace());
            r.previous.push((name.clone(), ns));
            set_name_raw(r, &format!("{name}{suffix}"));
        }
    }
    for (affix, specs, is_prefix) in [
        (prefix, &extra_prefix, true),
        (suffix, &extra_suffix, false),
    ] {
        if affix.is_empty() || specs.is_empty() {
            continue;
        }
        for r in ra.iter_mut().filter(|r| !skip_rename(r)) {
            apply_specs(&mut r.node, specs, Create::Scalar, &mut |n| {
                let old = n.scalar_text().unwrap_or_default();
                let new = if is_prefix {
                    format!("{affix}{old}")
                } else {
                    format!("{old}{affix}")
                };
                set_scalar(n, &new)
            })?;
        }
    }
    Ok(())
}

fn set_name_raw(r: &mut Resource, name: &str) {
    if let Some(meta) = r
        .node
        .ensure_map_path(&["metadata"])
        .and_then(Node::as_map_mut)
    {
        meta.insert("name", Node::string(name));
    }
}

/// Pod template paths of built-in workloads, `(group, version, kind, path)`.
const TEMPLATE_METADATA: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "ReplicationController", "spec/template/metadata"),
    ("", "", "Deployment", "spec/template/metadata"),
    ("", "", "ReplicaSet", "spec/template/metadata"),
    ("", "", "DaemonSet", "spec/template/metadata"),
    ("apps", "", "StatefulSet", "spec/template/metadata"),
    ("batch", "", "Job", "spec/template/metadata"),
    ("batch", "", "CronJob", "spec/jobTemplate/metadata"),
    (
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata",
    ),
];

/// kustomize's `metadataLabelsFieldSpecs` (also its template labels).
fn metadata_label_specs() -> Vec<FieldSpec> {
    let mut v = vec![FieldSpec::new("", "", "", "metadata/labels", true)];
    for (i, (g, ver, k, p)) in TEMPLATE_METADATA.iter().enumerate() {
        v.push(FieldSpec::new(g, ver, k, &format!("{p}/labels"), true));
        if i == 4 {
            v.push(FieldSpec::new(
                "apps",
                "",
                "StatefulSet",
                "spec/volumeClaimTemplates[]/metadata/labels",
                true,
            ));
        }
    }
    v
}

/// kustomize's `commonLabelFieldSpecs`: selectors plus the metadata label specs.
fn common_label_specs() -> Vec<FieldSpec> {
    let mut v = vec![
        FieldSpec::new("", "v1", "Service", "spec/selector", true),
        FieldSpec::new("", "v1", "ReplicationController", "spec/selector", true),
        FieldSpec::new("", "", "Deployment", "spec/selector/matchLabels", true),
    ];
    const AFFINITY: &[&str] = &[
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
    ];
    for p in AFFINITY {
        v.push(FieldSpec::new("apps", "", "Deployment", p, false));
    }
    v.push(FieldSpec::new(
        "",
        "",
        "ReplicaSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "",
        "",
        "DaemonSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "apps",
        "",
        "StatefulSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "apps",
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ));
    for p in AFFINITY {
        v.push(FieldSpec::new("apps", "", "StatefulSet", p, false));
    }
    v.push(FieldSpec::new(
        "batch",
        "",
        "Job",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "policy",
        "",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ));
    v.extend(metadata_label_specs());
    v
}

/// kustomize's `commonAnnotationFieldSpecs`.
fn common_annotation_specs() -> Vec<FieldSpec> {
    let mut v = vec![FieldSpec::new("", "", "", "metadata/annotations", true)];
    for (g, ver, k, p) in TEMPLATE_METADATA {
        // kustomize's annotation specs put no group on StatefulSet.
        let g = if *k == "StatefulSet" { "" } else { g };
        v.push(FieldSpec::new(g, ver, k, &format!("{p}/annotations"), true));
    }
    v
}

/// Reads a `map[string]string` field of the kustomization.
pub(super) fn string_pairs(node: &Node, what: &str) -> Result<Vec<(String, String)>> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let Some(map) = node.as_map() else {
        return Err(BuildError::at(
            &node.pos,
            format!("invalid Kustomization: {what} must be a map of strings"),
        ));
    };
    let mut out: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                if v.is_null() {
                    String::new()
                } else {
                    v.scalar_text().unwrap_or_default().to_string()
                },
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

fn read_bool(node: Option<&Node>) -> bool {
    node.and_then(Node::scalar_text)
        .is_some_and(|s| s == "true")
}

/// Reads a list of user field specs (`labels[].fields`).
fn read_field_specs(node: &Node) -> Result<Vec<FieldSpec>> {
    let Some(items) = node.as_seq() else {
        return Err(BuildError::at(
            &node.pos,
            "invalid Kustomization: fields must be a list",
        ));
    };
    let mut out = Vec::new();
    for item in items {
        let Some(map) = item.as_map() else {
            return Err(BuildError::at(
                &item.pos,
                "invalid Kustomization: a field spec must be a mapping",
            ));
        };
        for (key, _) in &map.entries {
            if !["path", "group", "version", "kind", "create"].contains(&key.value.as_str()) {
                return Err(BuildError::at(
                    &key.pos,
                    format!(
                        "invalid Kustomization: json: unknown field \"{}\"",
                        key.value
                    ),
                ));
            }
        }
        let s = |k: &str| map.get(k).and_then(Node::scalar_text).unwrap_or_default();
        out.push(FieldSpec::new(
            s("group"),
            s("version"),
            s("kind"),
            s("path"),
            read_bool(map.get("create")),
        ));
    }
    Ok(out)
}

fn merge_specs(mut a: Vec<FieldSpec>, b: Vec<FieldSpec>) -> Vec<FieldSpec> {
    for fs in b {
        let dup = a.iter().any(|x| {
            x.group == fs.group && x.version == fs.version && x.kind == fs.kind && x.path == fs.path
        });
        if !dup {
            a.push(fs);
        }
    }
    a
}

pub(super) fn apply_pairs(
    ra: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in ra.iter_mut() {
        for (k, v) in pairs {
            apply_specs(&mut r.node, specs, Create::Map, &mut |n| set_entry(n, k, v))?;
        }
    }
    Ok(())
}

/// Applies `labels` entries, then `commonLabels`.
pub(super) fn labels(k: &Kustomization, ra: &mut [Resource], config: &Config) -> Result<()> {
    let common_specs = merge_specs(common_label_specs(), config.common_labels.clone());
    if let Some(list) = k.field("labels") {
        let Some(items) = list.as_seq() else {
            return Err(BuildError::at(
                &list.pos,
                "invalid Kustomization: labels must be a list",
            ));
        };
        for item in items {
            let Some(map) = item.as_map() else {
                return Err(BuildError::at(
                    &item.pos,
                    "invalid Kustomization: a labels entry must be a mapping",
                ));
            };
            for (key, _) in &map.entries {
                if !["pairs", "includeSelectors", "includeTemplates", "fields"]
                    .contains(&key.value.as_str())
                {
                    return Err(BuildError::at(
                        &key.pos,
                        format!(
                            "invalid Kustomization: json: unknown field \"{}\"",
                            key.value
                        ),
                    ));
                }
            }
            let pairs = match map.get("pairs") {
                Some(p) => string_pairs(p, "labels pairs")?,
                None => Vec::new(),
            };
            let mut specs = match map.get("fields").filter(|n| !n.is_null()) {
                Some(f) => read_field_specs(f)?,
                None => Vec::new(),
            };
            if read_bool(map.get("includeSelectors")) {
                specs = merge_specs(specs, common_specs.clone());
            } else {
                specs = merge_specs(
                    specs,
                    vec![FieldSpec::new("", "", "", "metadata/labels", true)],
                );
                if read_bool(map.get("includeTemplates")) {
                    specs = merge_specs(specs, metadata_label_specs());
                    specs = merge_specs(specs, config.template_labels.clone());
                }
            }
            apply_pairs(ra, &pairs, &specs)?;
        }
    }
    if let Some(common) = k.field("commonLabels") {
        let pairs = string_pairs(common, "commonLabels")?;
        apply_pairs(ra, &pairs, &common_specs)?;
    }
    Ok(())
}

/// Applies `commonAnnotations`.
pub(super) fn annotations(
    k: &Kustomization,
    ra: &mut [Resource],
    extra: &[FieldSpec],
) -> Result<()> {
    if let Some(common) = k.field("commonAnnotations") {
        let pairs = string_pairs(common, "commonAnnotations")?;
        let specs = merge_specs(common_annotation_specs(), extra.to_vec());
        apply_pairs(ra, &pairs, &specs)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_splitting() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
        assert_eq!(
            split_path("spec/volumeClaimTemplates[]/metadata"),
            vec!["spec", "volumeClaimTemplates[]", "metadata"]
        );
    }

    /// Input and expected output from `kubectl kustomize` v1.32 (kustomize v5.5.0).
    #[test]
    fn namespace_prefix_labels_annotations_match_kubectl() {
        let mut tree = crate::kustomize::FileTree::new();
        tree.insert("kustomization.yaml", "resources: [r.yaml]\nnamespace: prod\nnamePrefix: p-\nlabels:\n- pairs: {t: \"1\"}\n  includeTemplates: true\ncommonLabels: {app: x}\ncommonAnnotations: {note: \"yes\"}\n");
        tree.insert("r.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: i}]}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: example.com/v1\nkind: Namespace\nmetadata: {name: w}\n");
        let got = crate::kustomize::build(&tree, "")
            .and_then(|b| b.to_yaml())
            .unwrap();
        assert_eq!(
            got,
            "apiVersion: example.com/v1\nkind: Namespace\nmetadata:\n  annotations:\n    note: \"yes\"\n  labels:\n    app: x\n    t: \"1\"\n  name: w\n  namespace: prod\n---\napiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    note: \"yes\"\n  labels:\n    app: x\n    t: \"1\"\n  name: p-s\n  namespace: prod\nspec:\n  selector:\n    app: x\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    note: \"yes\"\n  labels:\n    app: x\n    t: \"1\"\n  name: p-d\n  namespace: prod\nspec:\n  selector:\n    matchLabels:\n      app: x\n  template:\n    metadata:\n      annotations:\n        note: \"yes\"\n      labels:\n        app: x\n        t: \"1\"\n    spec:\n      containers:\n      - image: i\n        name: c\n"
        );
    }
}
