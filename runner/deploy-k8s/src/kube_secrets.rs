//! Secret values from Kubernetes Secrets: `$secrets-group/<group>/<entry>` is key `<entry>`
//! of the Secret named `<group>` in a configured namespace (`secretsNamespace` in
//! `planton.yaml`) of the cluster being deployed to.
//!
//! [`fetch`] reads, before anything is resolved, exactly the Secrets the render refers to (one
//! GET each, through the retrying [`Cluster::call`]); the result is a plain [`Lookup`], so
//! resolving stays pure. A missing Secret is a missing group, a missing key a missing entry
//! (both reported by [`crate::secrets::materialize`] with the reference and the namespace); a
//! Secret the identity may not read is [`Error::Forbidden`] naming `get secrets `<group>` in
//! namespace `<ns>``. No value is ever put into an error or a `Debug` output.

use crate::client::Cluster;
use crate::error::{Action, Error, Result};
use crate::secrets::Lookup;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use planton_core::refs::{self, RefKind, Reference, SecretValue};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The Secrets of one namespace that a render refers to.
#[derive(Clone, Debug)]
pub struct KubeSecrets {
    namespace: String,
    /// Group (Secret name) to its keys; a group absent here has no Secret.
    groups: BTreeMap<String, BTreeMap<String, SecretValue>>,
}

impl KubeSecrets {
    /// A source from Secrets already read (tests, and [`fetch`]).
    pub fn new(
        namespace: impl Into<String>,
        groups: BTreeMap<String, BTreeMap<String, SecretValue>>,
    ) -> KubeSecrets {
        KubeSecrets {
            namespace: namespace.into(),
            groups,
        }
    }

    /// The namespace read.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl Lookup for KubeSecrets {
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved> {
        if r.kind != RefKind::Secrets {
            return Err(refs::Unresolved::MissingGroup);
        }
        let group = self
            .groups
            .get(&r.group)
            .ok_or(refs::Unresolved::MissingGroup)?;
        group
            .get(&r.entry)
            .cloned()
            .ok_or(refs::Unresolved::MissingEntry)
    }
    fn describe(&self) -> String {
        format!(
            "Kubernetes Secrets in namespace `{}` (Secret `<group>`, key `<entry>`)",
            self.namespace
        )
    }
}

/// The groups of every `$secrets-group` reference in the rendered objects (pure).
pub fn secret_groups(objects: &[Value]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                if let Some(Ok(r)) = refs::parse(s)
                    && r.kind == RefKind::Secrets
                {
                    out.insert(r.group);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(m) => m.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    objects.iter().for_each(|o| walk(o, &mut out));
    out
}

/// Reads the Secret of every group in `groups` from `namespace`. A Secret that does not exist
/// is left out (it is reported as a missing group when resolving, with every other problem);
/// a key whose value is not UTF-8 text is an error naming the Secret and the key.
pub async fn fetch(
    cluster: &Cluster,
    namespace: &str,
    groups: &BTreeSet<String>,
) -> Result<KubeSecrets> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let mut out = BTreeMap::new();
    for group in groups {
        let action = || Action {
            verb: "get",
            resource: "secrets".into(),
            namespace: Some(namespace.to_string()),
            name: Some(group.clone()),
        };
        let Some(secret) = cluster.call(action, || api.get_opt(group)).await? else {
            continue;
        };
        let mut entries = BTreeMap::new();
        for (key, bytes) in secret.data.unwrap_or_default() {
            let text = String::from_utf8(bytes.0).map_err(|_| Error::SecretSource {
                message: format!(
                    "key `{key}` of Secret `{group}` in namespace `{namespace}` is not UTF-8 text"
                ),
            })?;
            entries.insert(key, SecretValue::new(text));
        }
        out.insert(group.clone(), entries);
    }
    Ok(KubeSecrets::new(namespace, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_of_secret_references_only() {
        let objs = vec![
            json!({"kind": "Secret", "stringData": {"A": "$secrets-group/stripe/live-key",
                "B": "$secrets-group/postgres/password", "C": "plain"}}),
            json!({"kind": "Deployment", "spec": {"x": ["$variables-group/postgres/host",
                "$secrets-group/stripe/test-key"]}}),
        ];
        let g: Vec<String> = secret_groups(&objs).into_iter().collect();
        assert_eq!(g, ["postgres", "stripe"]);
    }

    #[test]
    fn missing_secret_is_a_missing_group_and_missing_key_a_missing_entry() {
        let mut keys = BTreeMap::new();
        keys.insert("live-key".to_string(), SecretValue::new("v"));
        let mut groups = BTreeMap::new();
        groups.insert("stripe".to_string(), keys);
        let src = KubeSecrets::new("shop-secrets", groups);
        let r = |s: &str| refs::parse(s).unwrap().unwrap();
        assert_eq!(
            src.lookup(&r("$secrets-group/stripe/live-key"))
                .unwrap()
                .expose(),
            "v"
        );
        assert_eq!(
            src.lookup(&r("$secrets-group/stripe/nope")).unwrap_err(),
            refs::Unresolved::MissingEntry
        );
        assert_eq!(
            src.lookup(&r("$secrets-group/vault/x")).unwrap_err(),
            refs::Unresolved::MissingGroup
        );
        // Variables never come from Secrets.
        assert_eq!(
            src.lookup(&r("$variables-group/stripe/live-key"))
                .unwrap_err(),
            refs::Unresolved::MissingGroup
        );
        assert!(src.describe().contains("namespace `shop-secrets`"));
        assert!(!format!("{src:?}").contains("\"v\""));
    }
}
