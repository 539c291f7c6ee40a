//! `vars:` (deprecated, still common): `$(NAME)` substitution from a field of an object.
//!
//! As in kustomize v5.5 (`api/internal/accumulator`, `api/filters/refvar`):
//! after each level's transformers, every var of that level is tied to the one
//! accumulated object its `objref` names (by current or any previous name; by namespace
//! too when the objref gives one); a var name defined twice anywhere in the build is an
//! error. After the whole build (hash suffixes added, name references fixed) each var
//! takes the value of its `fieldref.fieldPath` (default `metadata.name`) and `$(NAME)` is
//! replaced in the built-in `varReference` fields (container `command`, `args`,
//! `env[].value`, volume mount paths, labels, annotations, ...) and in those that
//! `configurations:` add. `$$` is an escaped `$`; an unknown `$(X)` stays as written; a
//! field that is exactly `$(NAME)` takes the value's type (an int stays an int).

use super::configurations::beyond;
use super::error::{BuildError, Result};
use super::transformers::{Create, FieldSpec, split_path, walk};
use super::{Kustomization, ResId, Resource};
use crate::yaml::{Map, Node, Resolved, Scalar, Value};

/// One `vars` entry, defaulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Var {
    pub name: String,
    group: String,
    version: String,
    kind: String,
    obj_name: String,
    namespace: String,
    field_path: String,
}

impl Var {
    /// kustomize prints a var with Go's `%v`: `{NAME Kind.version.group {fieldPath}}`.
    fn describe(&self) -> String {
        let id = ResId {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
            ..ResId::default()
        };
        format!(
            "{{{} {} {{{}}}}}",
            self.name,
            id.gvk_string(),
            self.field_path
        )
    }
}

/// The built-in `varReference` field specs (kustomize's `varReferenceFieldSpecs`).
fn default_specs() -> Vec<FieldSpec> {
    const POD: &[&str] = &[
        "containers/args",
        "containers/command",
        "containers/env/value",
        "containers/volumeMounts/mountPath",
        "initContainers/args",
        "initContainers/command",
        "initContainers/env/value",
        "initContainers/volumeMounts/mountPath",
    ];
    let mut v = Vec::new();
    let mut pod_host = |kind: &str, prefix: &str, nfs: &str| {
        for p in POD {
            v.push(FieldSpec::new("", "", kind, &format!("{prefix}{p}"), false));
        }
        v.push(FieldSpec::new("", "", kind, nfs, false));
    };
    pod_host(
        "CronJob",
        "spec/jobTemplate/spec/template/spec/",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
    );
    pod_host(
        "DaemonSet",
        "spec/template/spec/",
        "spec/template/spec/volumes/nfs/server",
    );
    pod_host(
        "Deployment",
        "spec/template/spec/",
        "spec/template/spec/volumes/nfs/server",
    );
    v.push(FieldSpec::new(
        "",
        "",
        "Deployment",
        "spec/template/metadata/annotations",
        false,
    ));
    v.push(FieldSpec::new("", "", "Ingress", "spec/rules/host", false));
    v.push(FieldSpec::new("", "", "Ingress", "spec/tls/hosts", false));
    v.push(FieldSpec::new(
        "",
        "",
        "Ingress",
        "spec/tls/secretName",
        false,
    ));
    let mut pod_host = |kind: &str, prefix: &str, nfs: &str| {
        for p in POD {
            v.push(FieldSpec::new("", "", kind, &format!("{prefix}{p}"), false));
        }
        v.push(FieldSpec::new("", "", kind, nfs, false));
    };
    pod_host(
        "Job",
        "spec/template/spec/",
        "spec/template/spec/volumes/nfs/server",
    );
    pod_host("Pod", "spec/", "spec/volumes/nfs/server");
    pod_host(
        "ReplicaSet",
        "spec/template/spec/",
        "spec/template/spec/volumes/nfs/server",
    );
    v.push(FieldSpec::new("", "", "Service", "spec/ports/port", false));
    v.push(FieldSpec::new(
        "",
        "",
        "Service",
        "spec/ports/targetPort",
        false,
    ));
    for p in POD {
        v.push(FieldSpec::new(
            "",
            "",
            "StatefulSet",
            &format!("spec/template/spec/{p}"),
            false,
        ));
    }
    v.push(FieldSpec::new(
        "",
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates/spec/nfs/server",
        false,
    ));
    v.push(FieldSpec::new(
        "",
        "",
        "PersistentVolume",
        "spec/nfs/server",
        false,
    ));
    v.push(FieldSpec::new("", "", "", "metadata/labels", false));
    v.push(FieldSpec::new("", "", "", "metadata/annotations", false));
    v
}

/// A map field looked up case-insensitively (Go's `encoding/json` matches field names so).
fn get_ci<'a>(map: &'a Map, key: &str) -> Option<&'a Node> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn strict<'a>(node: &'a Node, known: &[&str], go_type: &str) -> Result<&'a Map> {
    let Some(map) = node.as_map() else {
        return Err(BuildError::at(
            &node.pos,
            format!(
                "invalid Kustomization: json: cannot unmarshal into Go value of type {go_type}"
            ),
        ));
    };
    for (key, _) in &map.entries {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(&key.value)) {
            return Err(BuildError::at(
                &key.pos,
                format!(
                    "invalid Kustomization: json: unknown field \"{}\"",
                    key.value
                ),
            ));
        }
    }
    Ok(map)
}

fn text(map: &Map, key: &str) -> String {
    get_ci(map, key)
        .and_then(Node::scalar_text)
        .unwrap_or_default()
        .to_string()
}

/// Reads (and defaults) the `vars` of a kustomization.
pub(crate) fn parse(k: &Kustomization) -> Result<Vec<Var>> {
    let Some(list) = k.field("vars") else {
        return Ok(Vec::new());
    };
    let Some(items) = list.as_seq() else {
        return Err(BuildError::at(
            &list.pos,
            "invalid Kustomization: json: cannot unmarshal into Go struct field Kustomization.vars of type []types.Var",
        ));
    };
    let mut out = Vec::new();
    for item in items {
        let map = strict(item, &["name", "objref", "fieldref"], "types.Var")?;
        let obj = match get_ci(map, "objref").filter(|n| !n.is_null()) {
            Some(n) => strict(
                n,
                &[
                    "apiVersion",
                    "group",
                    "version",
                    "kind",
                    "name",
                    "namespace",
                ],
                "types.Target",
            )?
            .clone(),
            None => Map::new(),
        };
        let field_path = match get_ci(map, "fieldref").filter(|n| !n.is_null()) {
            Some(n) => text(
                strict(n, &["fieldPath"], "types.FieldSelector")?,
                "fieldPath",
            ),
            None => String::new(),
        };
        let (mut group, mut version) = (text(&obj, "group"), text(&obj, "version"));
        let api_version = text(&obj, "apiVersion");
        if !api_version.is_empty() {
            let parts: Vec<&str> = api_version.split('/').collect();
            match parts.as_slice() {
                [g, v] => (group, version) = (g.to_string(), v.to_string()),
                [v] => version = v.to_string(),
                _ => {}
            }
        }
        out.push(Var {
            name: text(map, "name"),
            group,
            version,
            kind: text(&obj, "kind"),
            obj_name: text(&obj, "name"),
            namespace: text(&obj, "namespace"),
            field_path: if field_path.is_empty() {
                "metadata.name".into()
            } else {
                field_path
            },
        });
    }
    Ok(out)
}

/// Adds vars to a set, refusing a name that is already there (kustomize's `VarSet.Merge`).
pub(crate) fn merge_set(set: &mut Vec<Var>, incoming: &[Var]) -> Result<()> {
    for v in incoming {
        if set.iter().any(|o| o.name == v.name) {
            return Err(BuildError::msg(format!(
                "var '{}' already encountered",
                v.name
            )));
        }
        set.push(v.clone());
    }
    Ok(())
}

/// kustomize's `ResAccumulator.MergeVars`: ties each var of this level to the object it
/// names and adds it to the set.
pub(crate) fn merge_level(
    k: &Kustomization,
    ra: &mut [Resource],
    set: &mut Vec<Var>,
) -> Result<()> {
    let vars = parse(k)?;
    for v in &vars {
        let cluster = super::transformers::cluster_scoped(&v.group, &v.kind);
        let with_ns = !v.namespace.is_empty() || cluster;
        let matched: Vec<usize> = ra
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let (g, ver) = r.group_version();
                if g != v.group || ver != v.version || r.kind() != v.kind {
                    return false;
                }
                r.all_names().iter().any(|(name, ns)| {
                    *name == v.obj_name
                        && (!with_ns
                            || effective_ns(&g, &r.kind(), ns)
                                == effective_ns(&v.group, &v.kind, &v.namespace))
                })
            })
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(BuildError::msg(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                matched.len(),
                v.describe()
            )));
        }
        if let Some(&i) = matched.first() {
            ra[i].vars.push(v.name.clone());
        }
    }
    merge_set(set, &vars).map_err(|e| {
        let list: Vec<String> = vars.iter().map(Var::describe).collect();
        e.context(format!("merging vars [{}]", list.join(" ")))
    })
}

fn effective_ns(group: &str, kind: &str, ns: &str) -> String {
    if super::transformers::cluster_scoped(group, kind) {
        "_non_namespaceable_".into()
    } else if ns.is_empty() {
        "default".into()
    } else {
        ns.into()
    }
}

/// A var's value: a string or a typed scalar (`None` for a map or list, which kustomize
/// cannot substitute and leaves as `$(NAME)`).
#[derive(Clone, Debug)]
enum VarValue {
    Str(String),
    Int(String),
    Float(String),
    Bool(bool),
    Opaque,
}

impl VarValue {
    /// Go's `fmt.Sprintf("%v", value)`.
    fn display(&self) -> String {
        match self {
            VarValue::Str(s) | VarValue::Int(s) | VarValue::Float(s) => s.clone(),
            VarValue::Bool(b) => b.to_string(),
            VarValue::Opaque => String::new(),
        }
    }
}

/// kyaml's `GetFieldValue` for a dotted path (`spec.ports[0].port`, `a.[k=v].b`).
fn field_value(node: &Node, path: &str) -> Option<VarValue> {
    let mut cur = node;
    for part in super::replacements::split_path(path) {
        let parts: Vec<String> = match part.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
            Some((head, idx)) if !idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()) => {
                let mut v = Vec::new();
                if !head.is_empty() {
                    v.push(head.to_string());
                }
                v.push(idx.to_string());
                v
            }
            _ => vec![part],
        };
        for p in parts {
            cur = match &cur.value {
                Value::Map(m) => m.get(&p)?,
                Value::Seq(items) => {
                    if let Some(inner) = p.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                        let (k, want) = inner.split_once('=')?;
                        items
                            .iter()
                            .find(|i| i.get(k).and_then(Node::scalar_text) == Some(want))?
                    } else {
                        items.get(p.parse::<usize>().ok()?)?
                    }
                }
                Value::Scalar(_) => return None,
            };
        }
    }
    Some(match &cur.value {
        Value::Scalar(s) => match s.resolve() {
            Resolved::Int(_) | Resolved::Uint(_) => VarValue::Int(s.value.clone()),
            Resolved::Float(f) => VarValue::Float(go_float(f)),
            Resolved::Bool(b) => VarValue::Bool(b),
            Resolved::Null => VarValue::Str(s.value.clone()),
            _ => VarValue::Str(s.value.clone()),
        },
        _ => VarValue::Opaque,
    })
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` (Rust's shortest round-trip form).
fn go_float(f: f64) -> String {
    format!("{f}")
}

/// Replaces `$(NAME)` in `input` (kustomize's `DoReplacements`). Returns the typed value
/// when the whole input is one reference.
fn expand(input: &str, values: &[(String, VarValue)], used: &mut [bool]) -> VarValue {
    let lookup = |name: &str, used: &mut [bool]| -> Option<VarValue> {
        let i = values.iter().position(|(n, _)| n == name)?;
        match &values[i].1 {
            VarValue::Opaque => None,
            v => {
                used[i] = true;
                Some(v.clone())
            }
        }
    };
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest[1..].find(')') {
                    Some(end) => {
                        let name = &rest[1..1 + end];
                        match lookup(name, used) {
                            Some(v) if input.len() == name.len() + 3 => return v,
                            Some(v) => out.push_str(&v.display()),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        end + 2
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    // The operator and the next character (a whole UTF-8 character).
                    let c = rest.chars().next().map_or(1, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..c]);
                    c
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    VarValue::Str(out)
}

/// Whether a scalar is a string for kyaml (`IsYNodeString`).
fn is_string(s: &Scalar) -> bool {
    match &s.tag {
        Some(t) => t == "!!str" || t == "tag:yaml.org,2002:str",
        None => matches!(s.resolve(), Resolved::Str),
    }
}

fn set_value(node: &mut Node, v: VarValue) {
    let pos = node.pos.clone();
    *node = match v {
        VarValue::Str(s) => Node::string(s),
        VarValue::Int(s) | VarValue::Float(s) => Node::plain(s),
        VarValue::Bool(b) => Node::plain(b.to_string()),
        VarValue::Opaque => return,
    };
    node.pos = pos;
}

fn replace_scalar(
    node: &mut Node,
    values: &[(String, VarValue)],
    used: &mut [bool],
) -> std::result::Result<(), String> {
    let Value::Scalar(s) = &node.value else {
        return Ok(());
    };
    if !is_string(s) || !s.value.contains('$') {
        return Ok(());
    }
    // An unknown reference stays as written.
    let v = expand(&s.value.clone(), values, used);
    set_value(node, v);
    Ok(())
}

fn set_node(
    node: &mut Node,
    values: &[(String, VarValue)],
    used: &mut [bool],
) -> std::result::Result<(), String> {
    match &mut node.value {
        Value::Scalar(s) if s.is_null() => Ok(()),
        Value::Scalar(_) => replace_scalar(node, values, used),
        Value::Map(m) => {
            for (_, v) in m.entries.iter_mut() {
                if matches!(&v.value, Value::Scalar(s) if is_string(s)) {
                    replace_scalar(v, values, used)?;
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            for item in items.iter_mut() {
                match &item.value {
                    Value::Scalar(s) if is_string(s) => replace_scalar(item, values, used)?,
                    _ => return Err("invalid value type expect a string".into()),
                }
            }
            Ok(())
        }
    }
}

/// kustomize's `ResolveVars`: computes every var's value and substitutes it. Returns the
/// names of vars that were never used (kustomize logs them).
pub(crate) fn resolve(
    ra: &mut [Resource],
    vars: &[Var],
    extra_specs: &[FieldSpec],
) -> Result<Vec<String>> {
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values: Vec<(String, VarValue)> = Vec::new();
    for v in sorted {
        let Some(r) = ra.iter().find(|r| r.vars.contains(&v.name)) else {
            return Err(BuildError::msg(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.describe()
            )));
        };
        let Some(value) = field_value(&r.node, &v.field_path) else {
            return Err(BuildError::msg(format!(
                "field specified in var '{}' not found in corresponding resource",
                v.describe()
            )));
        };
        values.push((v.name.clone(), value));
    }
    let defaults = default_specs();
    let mut specs = defaults.clone();
    specs.extend(beyond(&defaults, extra_specs));
    let mut used = vec![false; values.len()];
    for r in ra.iter_mut() {
        for fs in &specs {
            if !fs.matches(&r.node) {
                continue;
            }
            let path = split_path(&fs.path);
            let id: ResId = r.id();
            walk(&mut r.node, &path, Create::No, &mut |n| {
                set_node(n, &values, &mut used).map_err(|m| BuildError::at(&n.pos, m))
            })
            .map_err(|e| e.context(format!("considering field '{}' of object {id}", fs.path)))?;
        }
    }
    let mut unused: Vec<String> = values
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((n, _), _)| n.clone())
        .collect();
    unused.sort();
    Ok(unused)
}
