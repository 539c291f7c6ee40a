//! Splitting deployed service manifests (one per environment, from the state ConfigMap) into
//! a kustomize base and one patch per environment: the base holds what every environment has
//! in common, each patch what differs (`service kustomize init <kind> <id>`).
//!
//! Pure. Lists are compared whole, as kustomize merges lists of a custom kind (no merge keys):
//! a list that differs anywhere goes whole into the patch. Building an overlay (the base with
//! its patch applied by strategic merge) gives back exactly the stored manifest.

use serde_json::{Map, Value};

/// What every value has in common: objects key by key (keys present in all), anything else
/// only when equal everywhere.
fn common(values: &[&Value]) -> Option<Value> {
    let first = values.first()?;
    if let Some(obj) = first.as_object()
        && values.iter().all(|v| v.is_object())
    {
        let mut out = Map::new();
        for k in obj.keys() {
            let children: Option<Vec<&Value>> = values.iter().map(|o| o.get(k)).collect();
            if let Some(c) = children.and_then(|c| common(&c)) {
                out.insert(k.clone(), c);
            }
        }
        return Some(Value::Object(out));
    }
    values.iter().all(|v| v == first).then(|| (*first).clone())
}

/// What `full` has beyond `base` (None when nothing).
fn patch(full: &Value, base: &Value) -> Option<Value> {
    match (full, base) {
        (Value::Object(f), Value::Object(b)) => {
            let mut out = Map::new();
            for (k, v) in f {
                match b.get(k) {
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                    Some(bv) => {
                        if let Some(p) = patch(v, bv) {
                            out.insert(k.clone(), p);
                        }
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ => (full != base).then(|| full.clone()),
    }
}

/// The base and, per environment, its patch (always naming `apiVersion`, `kind` and
/// `metadata.name`, so kustomize can find the target).
pub fn split(manifests: &[(String, Value)]) -> (Value, Vec<(String, Value)>) {
    let all: Vec<&Value> = manifests.iter().map(|(_, v)| v).collect();
    let base = common(&all).unwrap_or(Value::Object(Map::new()));
    let patches = manifests
        .iter()
        .map(|(name, full)| {
            let mut p = patch(full, &base).unwrap_or(Value::Object(Map::new()));
            if let Some(o) = p.as_object_mut() {
                for k in ["apiVersion", "kind"] {
                    if let Some(v) = full.get(k) {
                        o.insert(k.to_string(), v.clone());
                    }
                }
                let meta = o
                    .entry("metadata")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(m), Some(n)) = (meta.as_object_mut(), full.pointer("/metadata/name")) {
                    m.insert("name".into(), n.clone());
                }
            }
            (name.clone(), p)
        })
        .collect();
    (base, patches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strategic merge of a custom kind: objects merge, everything else replaces.
    fn merge(base: &Value, patch: &Value) -> Value {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                let mut out = b.clone();
                for (k, v) in p {
                    let merged = match b.get(k) {
                        Some(bv) => merge(bv, v),
                        None => v.clone(),
                    };
                    out.insert(k.clone(), merged);
                }
                Value::Object(out)
            }
            _ => patch.clone(),
        }
    }

    #[test]
    fn base_is_the_common_part_and_patches_restore_each_manifest() {
        let staging = json!({"apiVersion": "k/v1", "kind": "M", "metadata": {"name": "api", "env": "s"},
            "spec": {"replicas": 2, "image": {"repo": "r"}, "ports": [{"name": "http"}], "vars": {"A": "1", "B": "2"}}});
        let prod = json!({"apiVersion": "k/v1", "kind": "M", "metadata": {"name": "api", "env": "p"},
            "spec": {"replicas": 3, "image": {"repo": "r"}, "ports": [{"name": "http"}, {"name": "m"}], "vars": {"A": "1", "C": "3"}}});
        let (base, patches) = split(&[
            ("staging".into(), staging.clone()),
            ("prod".into(), prod.clone()),
        ]);
        assert_eq!(
            base,
            json!({"apiVersion": "k/v1", "kind": "M", "metadata": {"name": "api"},
            "spec": {"image": {"repo": "r"}, "vars": {"A": "1"}}})
        );
        assert_eq!(
            patches[0].1,
            json!({"apiVersion": "k/v1", "kind": "M", "metadata": {"name": "api", "env": "s"},
            "spec": {"replicas": 2, "ports": [{"name": "http"}], "vars": {"B": "2"}}})
        );
        assert_eq!(merge(&base, &patches[0].1), staging);
        assert_eq!(merge(&base, &patches[1].1), prod);
    }

    #[test]
    fn one_environment_gets_the_whole_manifest_as_base() {
        let m = json!({"apiVersion": "k/v1", "kind": "M", "metadata": {"name": "api"}, "spec": {"x": [1]}});
        let (base, patches) = split(&[("prod".into(), m.clone())]);
        assert_eq!(base, m);
        assert_eq!(
            patches[0].1,
            json!({"apiVersion": "k/v1", "kind": "M", "metadata": {"name": "api"}})
        );
    }
}
