//! Resources, their identities, and the ordered set a build accumulates.

use crate::yaml::{Node, Pos};
use std::fmt;
use std::sync::Arc;

/// Group, version, kind, name and namespace: what kustomize calls a `ResId`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ResId {
    /// API group; empty for the core group.
    pub group: String,
    /// API version without the group.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; empty when unset.
    pub namespace: String,
}

impl ResId {
    /// Whether two namespaces are the same for matching purposes (`""` equals `default`).
    pub fn ns_equal(a: &str, b: &str) -> bool {
        fn norm(s: &str) -> &str {
            if s.is_empty() { "default" } else { s }
        }
        norm(a) == norm(b)
    }

    /// `Kind.version.group` as kustomize prints a GVK.
    pub fn gvk_string(&self) -> String {
        format!(
            "{}.{}.{}",
            self.kind,
            if self.version.is_empty() {
                "[noVer]"
            } else {
                &self.version
            },
            if self.group.is_empty() {
                "[noGrp]"
            } else {
                &self.group
            }
        )
    }
}

impl fmt::Display for ResId {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}.{}",
            self.gvk_string(),
            self.name,
            if self.namespace.is_empty() {
                "[noNs]"
            } else {
                &self.namespace
            }
        )
    }
}

/// How a generated object combines with an existing one of the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Must not exist yet.
    #[default]
    Create,
    /// Replaces the existing object.
    Replace,
    /// Merges data into the existing object.
    Merge,
}

/// What a generator records about the object it made.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Generated {
    /// Whether the name gets a content-hash suffix at the end of the build.
    pub needs_hash: bool,
    /// The behavior the generator asked for.
    pub behavior: Behavior,
}

/// One resource during a build.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The object itself.
    pub node: Node,
    /// The file the resource was read from (tree-relative), or the generating kustomization.
    pub source: Arc<str>,
    /// Names and namespaces this resource had before renames, oldest first
    /// (kustomize's `previousNames`/`previousNamespaces`), used to fix references.
    pub previous: Vec<(String, String)>,
    /// Set for ConfigMaps/Secrets made by a generator.
    pub generated: Option<Generated>,
    /// Name prefixes applied by `namePrefix`, innermost kustomization first (kustomize's
    /// prefixes build annotation; used to pick between same-named reference targets).
    pub prefixes: Vec<String>,
    /// Name suffixes applied by `nameSuffix`, innermost first.
    pub suffixes: Vec<String>,
    /// Names of the `vars` whose `objref` names this resource (kustomize's refVarNames).
    pub vars: Vec<String>,
}

impl Resource {
    /// Wraps a parsed object.
    pub fn new(node: Node, source: Arc<str>) -> Resource {
        Resource {
            node,
            source,
            previous: Vec::new(),
            generated: None,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// A top-level or metadata string field without allocating (`""` when absent).
    fn field_str<'a>(&'a self, path: &[&str]) -> &'a str {
        self.node
            .get_path(path)
            .and_then(Node::scalar_text)
            .unwrap_or_default()
    }

    /// `apiVersion`, borrowed.
    pub fn api_version_str(&self) -> &str {
        self.field_str(&["apiVersion"])
    }

    /// `kind`, borrowed.
    pub fn kind_str(&self) -> &str {
        self.field_str(&["kind"])
    }

    /// `metadata.name`, borrowed.
    pub fn name_str(&self) -> &str {
        self.field_str(&["metadata", "name"])
    }

    /// `metadata.namespace`, borrowed (`""` when unset).
    pub fn namespace_str(&self) -> &str {
        self.field_str(&["metadata", "namespace"])
    }

    /// Whether this resource currently has the same id as `other` (namespaces `""` and
    /// `default` are equal), without allocating.
    pub fn same_id(&self, other: &Resource) -> bool {
        // Name first: it is what usually differs.
        self.name_str() == other.name_str()
            && self.kind_str() == other.kind_str()
            && self.api_version_str() == other.api_version_str()
            && ResId::ns_equal(self.namespace_str(), other.namespace_str())
    }

    fn meta_str(&self, key: &str) -> String {
        self.node
            .get_path(&["metadata", key])
            .and_then(Node::scalar_text)
            .unwrap_or_default()
            .to_string()
    }

    /// `apiVersion` split into group and version.
    pub fn group_version(&self) -> (String, String) {
        let av = self
            .node
            .get("apiVersion")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        match av.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), av.to_string()),
        }
    }

    /// `kind`.
    pub fn kind(&self) -> String {
        self.node
            .get("kind")
            .and_then(Node::scalar_text)
            .unwrap_or_default()
            .to_string()
    }

    /// `metadata.name`.
    pub fn name(&self) -> String {
        self.meta_str("name")
    }

    /// `metadata.namespace` (empty when unset).
    pub fn namespace(&self) -> String {
        self.meta_str("namespace")
    }

    /// The current id.
    pub fn id(&self) -> ResId {
        let (group, version) = self.group_version();
        ResId {
            group,
            version,
            kind: self.kind(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }

    /// The id the resource was first loaded with (before prefixes, suffixes, namespaces).
    pub fn original_id(&self) -> ResId {
        let mut id = self.id();
        if let Some((name, ns)) = self.previous.first() {
            id.name = name.clone();
            id.namespace = ns.clone();
        }
        id
    }

    /// Every (name, namespace) the resource has had, oldest first, ending with the current.
    pub fn all_names(&self) -> Vec<(String, String)> {
        let mut v = self.previous.clone();
        v.push((self.name(), self.namespace()));
        v
    }

    /// Renames the resource, remembering the old name for reference fixing.
    pub fn set_name(&mut self, name: &str) {
        let (old_name, old_ns) = (self.name(), self.namespace());
        if old_name == name {
            return;
        }
        self.previous.push((old_name, old_ns));
        if let Some(m) = self
            .node
            .ensure_map_path(&["metadata"])
            .and_then(Node::as_map_mut)
        {
            m.insert("name", Node::string(name));
        }
    }

    /// Moves the resource to a namespace, remembering the old one for reference fixing.
    pub fn set_namespace(&mut self, ns: &str) {
        let (old_name, old_ns) = (self.name(), self.namespace());
        if old_ns == ns {
            return;
        }
        self.previous.push((old_name, old_ns));
        if let Some(m) = self
            .node
            .ensure_map_path(&["metadata"])
            .and_then(Node::as_map_mut)
        {
            m.insert("namespace", Node::string(ns));
        }
    }

    /// The position of the object (its first line).
    pub fn pos(&self) -> &Pos {
        &self.node.pos
    }

    /// `metadata.labels` as pairs (string values only).
    pub fn labels(&self) -> Vec<(String, String)> {
        self.string_map(&["metadata", "labels"])
    }

    /// `metadata.annotations` as pairs (string values only).
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.string_map(&["metadata", "annotations"])
    }

    fn string_map(&self, path: &[&str]) -> Vec<(String, String)> {
        self.node
            .get_path(path)
            .and_then(Node::as_map)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            v.scalar_text().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Kinds that are not namespaced (kustomize's built-in list, abridged to what matters).
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "PriorityClass"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "APIService"
            | "ComponentStatus"
            | "CSIDriver"
            | "CSINode"
            | "CertificateSigningRequest"
            | "IngressClass"
            | "Node"
            | "PodSecurityPolicy"
            | "RuntimeClass"
            | "VolumeAttachment"
            | "TokenReview"
            | "SelfSubjectAccessReview"
            | "SelfSubjectRulesReview"
            | "SubjectAccessReview"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
    )
}
