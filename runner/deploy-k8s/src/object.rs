//! Object identity: group, version, kind, namespace and name of a rendered or live object,
//! and the inventory id planton stores for it (`<namespace>_<name>_<group>_<kind>`, the
//! shape Flux uses, so ids survive an apiVersion change).
//!
//! Pure: reads `serde_json::Value`s, never talks to a cluster.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The identity of one Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// API group (`""` for the core group).
    pub group: String,
    /// API version within the group (`v1`).
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

/// Why an object has no usable identity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("object #{index} of the render has no {field}")]
pub struct MissingField {
    /// Position of the object in the render (0-based).
    pub index: usize,
    /// `apiVersion`, `kind` or `metadata.name`.
    pub field: &'static str,
}

impl ObjectRef {
    /// The identity of a JSON object; `index` names it in the error.
    pub fn of(obj: &Value, index: usize) -> Result<ObjectRef, MissingField> {
        fn s(v: Option<&Value>) -> Option<&str> {
            v.and_then(Value::as_str).filter(|s| !s.is_empty())
        }
        let api_version = s(obj.get("apiVersion")).ok_or(MissingField {
            index,
            field: "apiVersion",
        })?;
        let kind = s(obj.get("kind")).ok_or(MissingField {
            index,
            field: "kind",
        })?;
        let meta = obj.get("metadata");
        let name = s(meta.and_then(|m| m.get("name"))).ok_or(MissingField {
            index,
            field: "metadata.name",
        })?;
        let namespace = s(meta.and_then(|m| m.get("namespace"))).map(str::to_string);
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Ok(ObjectRef {
            group,
            version,
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        })
    }

    /// `apiVersion` as written in a manifest.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The inventory id: `<namespace>_<name>_<group>_<kind>` (namespace empty when
    /// cluster-scoped), independent of the version.
    pub fn id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.namespace.as_deref().unwrap_or(""),
            self.name,
            self.group,
            self.kind
        )
    }

    /// Parses an inventory id plus its version back into a reference.
    pub fn from_id(id: &str, version: &str) -> Option<ObjectRef> {
        let mut parts = id.splitn(4, '_');
        let namespace = parts.next()?;
        let name = parts.next()?;
        let group = parts.next()?;
        let kind = parts.next()?;
        if name.is_empty() || kind.is_empty() {
            return None;
        }
        Some(ObjectRef {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for ObjectRef {
    /// `Deployment order-api/order-api` (`Namespace order-api` when cluster-scoped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_round_trip_and_ignore_the_version() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}});
        let r = ObjectRef::of(&d, 0).unwrap();
        assert_eq!(r.id(), "shop_web_apps_Deployment");
        assert_eq!(r.to_string(), "Deployment shop/web");
        assert_eq!(ObjectRef::from_id(&r.id(), "v1"), Some(r.clone()));
        let ns = ObjectRef::of(
            &json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "shop"}}),
            0,
        )
        .unwrap();
        assert_eq!(ns.id(), "_shop__Namespace");
        assert_eq!(ns.api_version(), "v1");
        assert_eq!(ObjectRef::from_id(&ns.id(), "v1"), Some(ns));
    }

    #[test]
    fn missing_fields_are_named() {
        let e = ObjectRef::of(&json!({"apiVersion": "v1", "metadata": {"name": "x"}}), 3);
        assert_eq!(
            e.unwrap_err().to_string(),
            "object #3 of the render has no kind"
        );
        let e = ObjectRef::of(&json!({"apiVersion": "v1", "kind": "Secret"}), 0);
        assert_eq!(e.unwrap_err().field, "metadata.name");
    }
}
