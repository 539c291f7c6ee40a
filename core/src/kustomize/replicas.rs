//! The replicas transformer (`replicas: [{name, count}]`).
//!
//! As in kustomize v5.5: each entry sets `spec.replicas` (creating it) on every Deployment,
//! StatefulSet, ReplicaSet or ReplicationController (any group) that has, or ever had during
//! the build, the entry's name. An entry that matches none of those is an error, so naming a
//! custom kind is refused. An existing quoted `"1"` keeps its quotes (`"3"`).

use super::error::{BuildError, Result};
use super::images::{entries, strict_map, string_value, type_error, wrong_kind};
use super::{Kustomization, Resource};
use crate::yaml::{Node, Resolved, Scalar, Value};

/// The kinds `replicas` applies to, in the order kustomize lists them in its error.
const KINDS: [&str; 4] = [
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
];

/// Applies `replicas:`.
pub(super) fn apply(k: &Kustomization, ra: &mut [Resource]) -> Result<()> {
    let Some(list) = k.field("replicas") else {
        return Ok(());
    };
    for item in entries(list, "replicas", "[]types.Replica")? {
        let map = strict_map(item, &["name", "count"])?;
        let name = match map.get("name") {
            Some(n) => string_value(n, "Replica.replicas.name")?,
            None => String::new(),
        };
        let count = match map.get("count") {
            Some(n) => int_value(n, "Replica.replicas.count")?,
            None => 0,
        };
        let mut found = false;
        for r in ra.iter_mut() {
            if !KINDS.contains(&r.kind().as_str()) || !r.all_names().iter().any(|(n, _)| *n == name)
            {
                continue;
            }
            found = true;
            let id = r.id();
            set_replicas(&mut r.node, count).map_err(|e| {
                BuildError::at(
                    &item.pos,
                    format!("considering field 'spec/replicas' of object {id}: {e}"),
                )
            })?;
        }
        if !found {
            let gvks: Vec<String> = KINDS
                .iter()
                .map(|k| format!("{k}.[noVer].[noGrp]"))
                .collect();
            return Err(BuildError::at(
                &item.pos,
                format!(
                    "resource with name {name} does not match a config with the following GVK [{}]",
                    gvks.join(" ")
                ),
            ));
        }
    }
    Ok(())
}

/// An `int64` field of a kustomization entry.
fn int_value(node: &Node, go_field: &str) -> Result<i64> {
    match &node.value {
        Value::Scalar(s) => match s.resolve() {
            Resolved::Null => Ok(0),
            Resolved::Int(i) => Ok(i),
            _ => Err(type_error(node, go_field, "int64")),
        },
        _ => Err(type_error(node, go_field, "int64")),
    }
}

/// Sets `spec.replicas`, creating `spec` and the field; an existing scalar keeps its style.
fn set_replicas(node: &mut Node, count: i64) -> std::result::Result<(), String> {
    let Some(root) = node.as_map_mut() else {
        return Err("the object is not a mapping".into());
    };
    if root.get("spec").is_none_or(Node::is_null) {
        root.insert("spec", Node::map());
    }
    let Some(spec_node) = root.get_mut("spec") else {
        return Ok(());
    };
    let spec_err = wrong_kind("MappingNode", spec_node);
    let Some(spec) = spec_node.as_map_mut() else {
        return Err(spec_err);
    };
    let value = count.to_string();
    match spec.get_mut("replicas") {
        Some(existing) => match &mut existing.value {
            Value::Scalar(s) => {
                *s = Scalar {
                    value,
                    style: s.style,
                    tag: None,
                    flow_empty: false,
                }
            }
            _ => return Err(wrong_kind("ScalarNode", existing)),
        },
        None => spec.insert("replicas", Node::plain(value)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::kustomize::{FileTree, build};

    const WORKLOADS: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: \"1\"
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 1}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {replicas: {a: 1}}
---
apiVersion: x/v1
kind: Foo
metadata: {name: web}
";

    /// Builds [`WORKLOADS`] with extra kustomization lines; returns the `replicas:` lines in
    /// output order, or the error. Expectations come from `kubectl kustomize` v5.5.0.
    fn run(kustomization: &str) -> String {
        let mut tree = FileTree::new();
        tree.insert(
            "kustomization.yaml",
            format!("resources: [r.yaml]\n{kustomization}\n"),
        );
        tree.insert("r.yaml", WORKLOADS);
        match build(&tree, "").and_then(|b| b.to_yaml()) {
            Ok(out) => out
                .lines()
                .filter(|l| l.starts_with("  replicas: "))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn check(kustomization: &str, want: &str) {
        let got = run(kustomization);
        assert!(
            got.contains(want),
            "{kustomization}\nwant: {want}\ngot: {got}"
        );
    }

    #[test]
    fn sets_and_creates() {
        check(
            "replicas: [{name: web, count: 3}, {name: db, count: 2}]",
            "replicas: \"3\", replicas: 3, replicas: 2",
        );
        check("replicas: [{name: db}]", "replicas: 0");
        check("replicas: [{name: db, count: -2}]", "replicas: -2");
        check(
            "replicas: [{name: web, count: 3}, {name: web, count: 4}]",
            "replicas: \"4\", replicas: 4",
        );
    }

    #[test]
    fn refusals() {
        let gvks = "[Deployment.[noVer].[noGrp] StatefulSet.[noVer].[noGrp] ReplicaSet.[noVer].[noGrp] ReplicationController.[noVer].[noGrp]]";
        check(
            "replicas: [{name: nope, count: 3}]",
            &format!(
                "resource with name nope does not match a config with the following GVK {gvks}"
            ),
        );
        check(
            "replicas: [{count: 3}]",
            &format!("resource with name  does not match a config with the following GVK {gvks}"),
        );
        check(
            "replicas: [{name: rc, count: 3}]",
            "considering field 'spec/replicas' of object ReplicationController.v1.[noGrp]/rc.[noNs]: wrong node kind: expected ScalarNode but got MappingNode",
        );
        check(
            "replicas: [{name: db, count: \"3\"}]",
            "json: cannot unmarshal string into Go struct field Replica.replicas.count of type int64",
        );
        check(
            "replicas: [{name: db, count: 2.5}]",
            "json: cannot unmarshal number 2.5 into Go struct field Replica.replicas.count of type int64",
        );
        check(
            "replicas: [{name: db, count: 2, foo: 1}]",
            "json: unknown field \"foo\"",
        );
    }
}
