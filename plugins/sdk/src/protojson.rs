//! What the upstream project-planton loader accepts beyond camelCase JSON, made explicit.
//!
//! Upstream reads a manifest with the protobuf JSON loader, which accepts a field under its
//! original proto name (`container_port`) as well as its JSON name (`containerPort`).
//! [`normalize_field_names`] renames proto names to JSON names by walking the kind's schema
//! (so map keys such as env variable names are never touched), warns once per renamed field
//! (`schema-proto-field-name`, naming the camelCase spelling) and remembers every rename, so
//! that the diagnostics of the later checks, which see only camelCase, can be pointed back at
//! the field as written ([`Normalized::restore`]).
//!
//! [`value_or_ref`] reads upstream's `StringValueOrRef`: a plain string (a planton
//! convenience), `{value: "..."}`, or `{valueFrom: {kind, env, name, fieldPath}}`, a
//! reference to another resource's output that only a deployment can resolve.

use crate::Diagnostic;
use crate::pointer::{self, At};
use serde_json::{Map, Value};

/// A manifest with proto field names renamed to JSON names, and what was renamed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    /// The manifest with every known proto field name written in camelCase.
    pub value: Value,
    /// One warning per renamed field (and an error per field written both ways), at the
    /// field as written.
    pub diagnostics: Vec<Diagnostic>,
    /// Normalized pointer of each renamed member → its name as written.
    renames: Vec<(String, String)>,
}

impl Normalized {
    /// `path` (a pointer into [`Normalized::value`]) rewritten to the names as written.
    pub fn restore_path(&self, path: &str) -> String {
        if self.renames.is_empty() || path.is_empty() {
            return path.to_string();
        }
        let mut normalized = String::new();
        let mut original = String::new();
        for token in path.split('/').skip(1) {
            normalized.push('/');
            normalized.push_str(token);
            match self.renames.iter().find(|(p, _)| *p == normalized) {
                Some((_, written)) => {
                    original.push('/');
                    original.push_str(&pointer::escape(written));
                }
                None => {
                    original.push('/');
                    original.push_str(token);
                }
            }
        }
        original
    }

    /// The normalization diagnostics followed by `later` with their paths restored.
    pub fn restore(&self, later: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let mut out = self.diagnostics.clone();
        out.extend(later.into_iter().map(|mut d| {
            d.path = self.restore_path(&d.path);
            d
        }));
        out
    }
}

/// The JSON name protobuf derives from a proto field name: `container_port` → `containerPort`.
///
/// `None` when `name` is not a lower-case proto name with at least one underscore.
pub fn json_name(name: &str) -> Option<String> {
    if !is_proto_name(name) {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Whether `name` is a lower-case proto name with at least one underscore (one that
/// [`json_name`] renames).
fn is_proto_name(name: &str) -> bool {
    name.contains('_')
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// Whether any member name in `value` is a lower-case proto name (`container_port`): only
/// those can be renamed, so without one [`normalize_field_names`] returns `value` unchanged
/// with no diagnostics, and a plugin can check `value` as it is, without a copy.
pub fn has_proto_names(value: &Value) -> bool {
    any_proto_name(value, 0)
}

fn any_proto_name(value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| is_proto_name(k) || any_proto_name(v, depth + 1)),
        Value::Array(items) => items.iter().any(|v| any_proto_name(v, depth + 1)),
        _ => false,
    }
}

/// Renames proto field names (`container_port`) to JSON names (`containerPort`) wherever
/// `schema` knows the JSON name; see the module documentation.
///
/// Codes: `schema-proto-field-name` (warning: a proto name, accepted as upstream does),
/// `schema-duplicate-field` (error: the same field written under both names; the camelCase
/// one is kept, as the protobuf loader refuses the manifest).
pub fn normalize_field_names(schema: &Value, value: &Value) -> Normalized {
    let mut n = Normalized {
        value: Value::Null,
        diagnostics: Vec::new(),
        renames: Vec::new(),
    };
    // The common case, checked without reading the schema: nothing is written under a
    // proto name, so the walk below would rename nothing and report nothing.
    if !has_proto_names(value) {
        n.value = value.clone();
        return n;
    }
    let walker = Walker { root: schema };
    n.value = walker
        .walk(schema, value, At::Root, At::Root, &mut n, 0)
        .unwrap_or_else(|| value.clone());
    n
}

const MAX_DEPTH: usize = 64;

fn resolve<'s>(root: &'s Value, mut schema: &'s Value) -> &'s Value {
    for _ in 0..MAX_DEPTH {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| root.pointer(p))
        {
            Some(next) => schema = next,
            None => return schema,
        }
    }
    schema
}

/// The object schemas `schema` may stand for: itself and its `anyOf`/`oneOf` branches.
fn object_schemas<'s>(root: &'s Value, schema: &'s Value) -> impl Iterator<Item = &'s Value> {
    let s = resolve(root, schema);
    let branches = |key: &str| {
        s.get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    std::iter::once(s).chain(
        branches("anyOf")
            .iter()
            .chain(branches("oneOf"))
            .map(move |b| resolve(root, b)),
    )
}

struct Walker<'s> {
    root: &'s Value,
}

impl<'s> Walker<'s> {
    /// The normalized `value`, or `None` when it is unchanged (nothing renamed or dropped
    /// in it), so an unchanged document is never copied. Pointers are written out only for
    /// a field that is renamed or duplicated.
    fn walk(
        &self,
        schema: &'s Value,
        value: &Value,
        norm_at: At<'_>,
        orig_at: At<'_>,
        n: &mut Normalized,
        depth: usize,
    ) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        match value {
            Value::Object(map) => {
                let schemas: Vec<&Value> = object_schemas(self.root, schema).collect();
                let properties: Vec<&Map<String, Value>> = schemas
                    .iter()
                    .filter_map(|s| s.get("properties").and_then(Value::as_object))
                    .collect();
                let prop = |name: &str| properties.iter().find_map(|p| p.get(name));
                let additional = schemas
                    .iter()
                    .find_map(|s| s.get("additionalProperties").filter(|a| a.is_object()));
                // The members so far, once one of them has changed.
                let mut out: Option<Map<String, Value>> = None;
                for (i, (key, member)) in map.iter().enumerate() {
                    let orig_child = At::Key(&orig_at, key);
                    if let Some(ps) = prop(key) {
                        let norm_child = At::Key(&norm_at, key);
                        let v = self.walk(ps, member, norm_child, orig_child, n, depth + 1);
                        keep(&mut out, map, i, (key, member), v);
                        continue;
                    }
                    if let Some(camel) = json_name(key)
                        && let Some(ps) = prop(&camel)
                    {
                        start_copy(&mut out, map, i);
                        if map.contains_key(&camel) {
                            n.diagnostics.push(Diagnostic::error(
                                "schema-duplicate-field",
                                orig_child.pointer(),
                                format!("`{key}` and `{camel}` are one field (its proto and JSON names) and both are set; keep one spelling (a patch in one spelling over a base in the other adds the field instead of replacing it)"),
                            ));
                            continue;
                        }
                        let norm_child = At::Key(&norm_at, &camel);
                        n.diagnostics.push(Diagnostic::warning(
                            "schema-proto-field-name",
                            orig_child.pointer(),
                            format!("`{key}` is the proto name of `{camel}`; accepted as upstream does, but write `{camel}`"),
                        ));
                        n.renames.push((norm_child.pointer(), key.clone()));
                        let v = self
                            .walk(ps, member, norm_child, orig_child, n, depth + 1)
                            .unwrap_or_else(|| member.clone());
                        if let Some(out) = &mut out {
                            out.insert(camel, v);
                        }
                        continue;
                    }
                    let v = match additional {
                        Some(a) => {
                            let norm_child = At::Key(&norm_at, key);
                            self.walk(a, member, norm_child, orig_child, n, depth + 1)
                        }
                        None => None,
                    };
                    keep(&mut out, map, i, (key, member), v);
                }
                out.map(Value::Object)
            }
            Value::Array(items) => {
                let item_schema = object_schemas(self.root, schema).find_map(|s| s.get("items"))?;
                let mut out: Option<Vec<Value>> = None;
                for (i, item) in items.iter().enumerate() {
                    let v = self.walk(
                        item_schema,
                        item,
                        At::Index(&norm_at, i),
                        At::Index(&orig_at, i),
                        n,
                        depth + 1,
                    );
                    match v {
                        Some(v) => out.get_or_insert_with(|| items[..i].to_vec()).push(v),
                        None => {
                            if let Some(out) = &mut out {
                                out.push(item.clone());
                            }
                        }
                    }
                }
                out.map(Value::Array)
            }
            _ => None,
        }
    }
}

/// Starts the copy of `map` (its first `upto` members, unchanged) unless it has started.
fn start_copy(out: &mut Option<Map<String, Value>>, map: &Map<String, Value>, upto: usize) {
    out.get_or_insert_with(|| {
        map.iter()
            .take(upto)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });
}

/// Adds member `i` (`key`) of `map` to the copy being built: its normalized value `v`, or
/// itself when unchanged; starts the copy when `v` is the first change.
fn keep(
    out: &mut Option<Map<String, Value>>,
    map: &Map<String, Value>,
    i: usize,
    (key, member): (&str, &Value),
    v: Option<Value>,
) {
    if v.is_some() {
        start_copy(out, map, i);
    }
    if let Some(out) = out {
        let v = v.unwrap_or_else(|| member.clone());
        out.insert(key.to_string(), v);
    }
}

/// Upstream's `StringValueOrRef`, read leniently (a wrong shape reads as [`ValueOrRef::Absent`];
/// the schema reports it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueOrRef<'a> {
    /// No value, an empty string, or a shape the schema refuses.
    Absent,
    /// A literal: a plain string or `{value: "..."}`.
    Literal(&'a str),
    /// `{valueFrom: {...}}`: another resource's output, resolved only at deployment.
    From(&'a Map<String, Value>),
}

/// Reads a `StringValueOrRef` (see [`ValueOrRef`]).
pub fn value_or_ref(v: Option<&Value>) -> ValueOrRef<'_> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => ValueOrRef::Literal(s),
        Some(Value::Object(o)) => match (o.get("value"), o.get("valueFrom")) {
            (Some(Value::String(s)), _) if !s.is_empty() => ValueOrRef::Literal(s),
            (_, Some(Value::Object(f))) => ValueOrRef::From(f),
            _ => ValueOrRef::Absent,
        },
        _ => ValueOrRef::Absent,
    }
}

/// A `valueFrom` reference as one line: `AwsEcsCluster/prod-cluster (env prod) status.outputs.cluster_arn`.
pub fn describe_value_from(f: &Map<String, Value>) -> String {
    let s = |k: &str| match f.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let mut out = match s("kind") {
        k if k.is_empty() => s("name"),
        k => format!("{k}/{}", s("name")),
    };
    if !s("env").is_empty() {
        out.push_str(&format!(" (env {})", s("env")));
    }
    if !s("fieldPath").is_empty() {
        out.push_str(&format!(" {}", s("fieldPath")));
    }
    out
}

/// The error for a `valueFrom` reference planton cannot resolve, raised before any write.
pub fn unresolved_reference(path: &str, f: &Map<String, Value>) -> crate::PluginError {
    crate::PluginError::new(format!(
        "unresolved reference at {path}: valueFrom {}; planton does not read other resources' recorded outputs, so write the value itself (`value: ...`) for this deployment",
        describe_value_from(f)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": { "type": "object", "properties": {
                    "containerPort": { "type": "integer" },
                    "s3Files": { "type": "array" },
                    "env": { "type": "object", "additionalProperties": { "$ref": "#/definitions/ref" } },
                    "items": { "type": "array", "items": { "type": "object", "properties": { "isIngressPort": { "type": "boolean" } } } }
                } }
            },
            "definitions": {
                "ref": { "anyOf": [ { "type": "string" }, { "type": "object", "properties": {
                    "value": { "type": "string" },
                    "valueFrom": { "type": "object", "properties": { "fieldPath": { "type": "string" } } }
                } } ] }
            }
        })
    }

    #[test]
    fn json_names() {
        assert_eq!(
            json_name("container_port").as_deref(),
            Some("containerPort")
        );
        assert_eq!(json_name("s3_files").as_deref(), Some("s3Files"));
        assert_eq!(
            json_name("target_cpu_utilization_percent").as_deref(),
            Some("targetCpuUtilizationPercent")
        );
        assert_eq!(json_name("containerPort"), None);
        assert_eq!(json_name("MY_VAR"), None);
    }

    #[test]
    fn renames_known_proto_names_only_and_restores_paths() {
        let v = json!({"spec": {
            "container_port": 80, "s3_files": [],
            "env": {"MY_VAR": {"value_from": {"field_path": "a.b"}}, "lower_var": "x"},
            "items": [{"is_ingress_port": true}],
            "unknown_thing": 1
        }});
        let n = normalize_field_names(&schema(), &v);
        assert_eq!(
            n.value,
            json!({"spec": {
                "containerPort": 80, "s3Files": [],
                "env": {"MY_VAR": {"valueFrom": {"fieldPath": "a.b"}}, "lower_var": "x"},
                "items": [{"isIngressPort": true}],
                "unknown_thing": 1
            }})
        );
        let warned: Vec<&str> = n.diagnostics.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            warned,
            [
                "/spec/container_port",
                "/spec/s3_files",
                "/spec/env/MY_VAR/value_from",
                "/spec/env/MY_VAR/value_from/field_path",
                "/spec/items/0/is_ingress_port"
            ]
        );
        assert!(n.diagnostics[0].message.contains("`containerPort`"));
        assert_eq!(
            n.restore_path("/spec/env/MY_VAR/valueFrom/fieldPath"),
            "/spec/env/MY_VAR/value_from/field_path"
        );
        assert_eq!(n.restore_path("/spec/s3Files/0"), "/spec/s3_files/0");
        assert_eq!(n.restore_path("/spec/env/lower_var"), "/spec/env/lower_var");
    }

    #[test]
    fn only_lower_case_names_with_an_underscore_count_as_proto_names() {
        // Env variable names are map keys, upper case: never renamed, so no walk is needed.
        let plain = json!({"spec": {"env": {"LOG_LEVEL": "x"}, "ports": [{"containerPort": 1}]}});
        assert!(!has_proto_names(&plain));
        let n = normalize_field_names(&schema(), &plain);
        assert_eq!(n.value, plain);
        assert!(n.diagnostics.is_empty());
        assert!(has_proto_names(
            &json!({"spec": {"ports": [{"container_port": 1}]}})
        ));
        assert!(has_proto_names(&json!([{"a": {"x_1": null}}])));
        // Upper case is not a proto name, and values are not names.
        assert!(!has_proto_names(
            &json!({"Container_Port": 1, "value": "x_y"})
        ));
    }

    #[test]
    fn both_spellings_is_an_error_and_camel_case_wins() {
        let n = normalize_field_names(
            &schema(),
            &json!({"spec": {"containerPort": 80, "container_port": 81}}),
        );
        assert_eq!(n.value, json!({"spec": {"containerPort": 80}}));
        assert_eq!(n.diagnostics.len(), 1);
        assert_eq!(n.diagnostics[0].code, "schema-duplicate-field");
        assert!(n.diagnostics[0].is_error());
    }

    #[test]
    fn value_or_ref_forms() {
        assert_eq!(value_or_ref(Some(&json!("x"))), ValueOrRef::Literal("x"));
        assert_eq!(
            value_or_ref(Some(&json!({"value": "y"}))),
            ValueOrRef::Literal("y")
        );
        let r = json!({"valueFrom": {"kind": "AwsEcsCluster", "name": "shared", "fieldPath": "status.outputs.cluster_arn"}});
        match value_or_ref(Some(&r)) {
            ValueOrRef::From(f) => assert_eq!(
                describe_value_from(f),
                "AwsEcsCluster/shared status.outputs.cluster_arn"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(value_or_ref(Some(&json!(""))), ValueOrRef::Absent);
        assert_eq!(value_or_ref(None), ValueOrRef::Absent);
    }
}
