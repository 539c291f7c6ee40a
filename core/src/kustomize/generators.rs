//! ConfigMap and Secret generators, generator options, behaviors and hash suffixes.
//!
//! This follows kustomize v5.5's `api/internal/generators` and `api/kv`:
//! key/value pairs come from env files first, then literals, then files; a repeated key is
//! an error; ConfigMap values are strings, Secret values base64 (wrapped into 70-character
//! lines, each ending in a newline, once the encoding reaches 70 characters).
//! `generatorOptions` merges into each generator's `options` (local labels/annotations
//! win; a global `disableNameSuffixHash: true` or `immutable: true` cannot be undone).
//! `behavior: merge|replace` combines with an object that already exists under any of its
//! ids (kustomize's `appendReplaceOrMerge`).
//!
//! The hash suffix (kustomize's `hasher`) is the sha256 of a small JSON document
//! (`{"data":...,"kind":"ConfigMap","name":""}`; kustomize looks up the name with a path
//! that never matches, so the name is always empty) whose first ten hex digits are mapped
//! `0→g 1→h 3→k a→m e→t`.

use super::error::{BuildError, Result};
use super::resource::{Behavior, Generated, ResId};
use super::{Kustomization, Loader, Resource};
use crate::yaml::{Map, Node, Resolved, Value};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Which generator an entry belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum GenKind {
    ConfigMap,
    Secret,
}

impl GenKind {
    fn kind(self) -> &'static str {
        match self {
            GenKind::ConfigMap => "ConfigMap",
            GenKind::Secret => "Secret",
        }
    }
    fn field(self) -> &'static str {
        match self {
            GenKind::ConfigMap => "configMapGenerator",
            GenKind::Secret => "secretGenerator",
        }
    }
}

/// `GeneratorOptions` after merging the global options into the local ones.
#[derive(Clone, Debug, Default, PartialEq)]
struct Options {
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    disable_hash: bool,
    immutable: bool,
}

const OPTION_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "disableNameSuffixHash",
    "immutable",
];
const ARG_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "options",
    "type",
];

/// Runs `configMapGenerator` and `secretGenerator` of `k`, merging into `ra`.
pub(super) fn run(loader: &Loader<'_>, k: &Kustomization, ra: &mut Vec<Resource>) -> Result<()> {
    let global = match k.field("generatorOptions") {
        Some(n) => Some(read_options(n)?),
        None => None,
    };
    for gk in [GenKind::ConfigMap, GenKind::Secret] {
        let Some(list) = k.field(gk.field()) else {
            continue;
        };
        let Some(items) = list.as_seq() else {
            return Err(BuildError::at(
                &list.pos,
                format!("invalid Kustomization: {} must be a list", gk.field()),
            ));
        };
        for item in items {
            let (res, behavior) = generate(loader, k, gk, item, global.as_ref())?;
            absorb(ra, res, behavior).map_err(|e| {
                e.context("merging from generator &{0xPTR <nil>}")
                    .or_at(&k.path, &item.pos)
            })?;
        }
    }
    Ok(())
}

fn bool_field(map: &Map, key: &str) -> Result<bool> {
    match map.get(key) {
        None => Ok(false),
        Some(n) if n.is_null() => Ok(false),
        Some(n) => match n.as_scalar().map(|s| s.resolve()) {
            Some(Resolved::Bool(b)) => Ok(b),
            _ => Err(BuildError::at(
                &n.pos,
                format!("invalid Kustomization: {key} must be true or false"),
            )),
        },
    }
}

fn string_map(node: Option<&Node>, what: &str) -> Result<Vec<(String, String)>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(map) = node.as_map() else {
        return Err(BuildError::at(
            &node.pos,
            format!("invalid Kustomization: {what} must be a map of strings"),
        ));
    };
    map.iter()
        .map(|(k, v)| match &v.value {
            Value::Scalar(s) => Ok((
                k.to_string(),
                if s.is_null() {
                    String::new()
                } else {
                    s.value.clone()
                },
            )),
            _ => Err(BuildError::at(
                &v.pos,
                format!("invalid Kustomization: {what} values must be strings"),
            )),
        })
        .collect()
}

fn read_options(node: &Node) -> Result<Options> {
    if node.is_null() {
        return Ok(Options::default());
    }
    let Some(map) = node.as_map() else {
        return Err(BuildError::at(
            &node.pos,
            "invalid Kustomization: generator options must be a mapping",
        ));
    };
    for (key, _) in &map.entries {
        if !OPTION_FIELDS.contains(&key.value.as_str()) {
            return Err(BuildError::at(
                &key.pos,
                format!(
                    "invalid Kustomization: json: unknown field \"{}\"",
                    key.value
                ),
            ));
        }
    }
    Ok(Options {
        labels: string_map(map.get("labels"), "labels")?,
        annotations: string_map(map.get("annotations"), "annotations")?,
        disable_hash: bool_field(map, "disableNameSuffixHash")?,
        immutable: bool_field(map, "immutable")?,
    })
}

/// kustomize's `MergeGlobalOptionsIntoLocal`.
fn merge_options(local: Option<Options>, global: Option<&Options>) -> Option<Options> {
    let Some(global) = global else { return local };
    let mut local = local.unwrap_or_default();
    for (k, v) in &global.labels {
        if !local.labels.iter().any(|(lk, _)| lk == k) {
            local.labels.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in &global.annotations {
        if !local.annotations.iter().any(|(lk, _)| lk == k) {
            local.annotations.push((k.clone(), v.clone()));
        }
    }
    local.disable_hash |= global.disable_hash;
    local.immutable |= global.immutable;
    Some(local)
}

fn str_list(map: &Map, key: &str) -> Result<Vec<String>> {
    let Some(node) = map.get(key).filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(items) = node.as_seq() else {
        return Err(BuildError::at(
            &node.pos,
            format!("invalid Kustomization: {key} must be a list of strings"),
        ));
    };
    items
        .iter()
        .map(|i| match &i.value {
            Value::Scalar(s) => Ok(if s.is_null() {
                String::new()
            } else {
                s.value.clone()
            }),
            _ => Err(BuildError::at(
                &i.pos,
                format!("invalid Kustomization: {key} entries must be strings"),
            )),
        })
        .collect()
}

/// Builds the object one generator entry describes.
fn generate(
    loader: &Loader<'_>,
    k: &Kustomization,
    gk: GenKind,
    item: &Node,
    global: Option<&Options>,
) -> Result<(Resource, Behavior)> {
    let Some(map) = item.as_map() else {
        return Err(BuildError::at(
            &item.pos,
            format!(
                "invalid Kustomization: a {} entry must be a mapping",
                gk.field()
            ),
        ));
    };
    for (key, _) in &map.entries {
        let known = ARG_FIELDS.contains(&key.value.as_str())
            && (key.value != "type" || gk == GenKind::Secret);
        if !known {
            return Err(BuildError::at(
                &key.pos,
                format!(
                    "invalid Kustomization: json: unknown field \"{}\"",
                    key.value
                ),
            ));
        }
    }
    let text = |key: &str| {
        map.get(key)
            .and_then(Node::scalar_text)
            .unwrap_or("")
            .to_string()
    };
    let (name, namespace) = (text("name"), text("namespace"));
    let behavior = match text("behavior").as_str() {
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Create,
    };
    let local = match map.get("options").filter(|n| !n.is_null()) {
        Some(n) => Some(read_options(n)?),
        None => None,
    };
    let options = merge_options(local, global);

    let mut envs = str_list(map, "envs")?;
    if let Some(env) = map
        .get("env")
        .and_then(Node::scalar_text)
        .filter(|s| !s.is_empty())
    {
        envs.push(env.to_string());
    }
    let pairs = load_pairs(
        loader,
        &envs,
        &str_list(map, "literals")?,
        &str_list(map, "files")?,
    )
    .map_err(|e| e.or_file(&k.path))?;
    let mut data: Vec<(String, String)> = Vec::new();
    // Files that are not UTF-8 (a ConfigMap's `binaryData`), base64-encoded.
    let mut binary: Vec<(String, String)> = Vec::new();
    for (key, value) in pairs {
        if data.iter().chain(&binary).any(|(k, _)| *k == key) {
            return Err(BuildError::at(
                &item.pos,
                format!("configmap {name} illegally repeats the key `{key}`"),
            ));
        }
        match (value, gk) {
            (Payload::Text(t), GenKind::ConfigMap) => data.push((key, t)),
            (Payload::Text(t), GenKind::Secret) => data.push((key, encode_base64(t.as_bytes()))),
            (Payload::Bytes(b), GenKind::ConfigMap) => binary.push((key, encode_base64(&b))),
            (Payload::Bytes(b), GenKind::Secret) => data.push((key, encode_base64(&b))),
        }
    }
    data.sort_by(|a, b| a.0.cmp(&b.0));
    binary.sort_by(|a, b| a.0.cmp(&b.0));

    let mut obj = Map::new();
    obj.insert("apiVersion", Node::string("v1"));
    obj.insert("kind", Node::string(gk.kind()));
    let mut meta = Map::new();
    meta.insert("name", Node::string(name.as_str()));
    if !namespace.is_empty() {
        meta.insert("namespace", Node::string(namespace.as_str()));
    }
    if let Some(o) = &options {
        let mut labels = o.labels.clone();
        labels.sort();
        let mut annotations = o.annotations.clone();
        annotations.sort();
        if !labels.is_empty() {
            meta.insert("labels", string_map_node(&labels));
        }
        if !annotations.is_empty() {
            meta.insert("annotations", string_map_node(&annotations));
        }
    }
    obj.insert("metadata", Node::new(Value::Map(meta), item.pos.clone()));
    match gk {
        GenKind::ConfigMap => {
            if !data.is_empty() {
                obj.insert("data", string_map_node(&data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData", string_map_node(&binary));
            }
        }
        GenKind::Secret => {
            let t = text("type");
            obj.insert(
                "type",
                Node::string(if t.is_empty() { "Opaque" } else { t.as_str() }),
            );
            obj.insert("data", string_map_node(&data));
        }
    }
    if options.as_ref().is_some_and(|o| o.immutable) {
        obj.insert("immutable", Node::plain("true"));
    }
    let node = Node::new(Value::Map(obj), item.pos.clone());
    let mut res = Resource::new(node, Arc::from(k.path.as_str()));
    res.generated = Some(Generated {
        needs_hash: !options.as_ref().is_some_and(|o| o.disable_hash),
        behavior,
    });
    Ok((res, behavior))
}

fn string_map_node(pairs: &[(String, String)]) -> Node {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.as_str(), Node::string(v.as_str()));
    }
    Node::new(Value::Map(m), crate::yaml::Pos::synthetic())
}

/// kustomize's `kv.loader.Load`: env files, then literals, then files. Keys are not
/// validated (kustomize v5.5 accepts `a b` or `1BAD`).
fn load_pairs(
    loader: &Loader<'_>,
    envs: &[String],
    literals: &[String],
    files: &[String],
) -> Result<Vec<(String, Payload)>> {
    let ctx =
        |what: &str, list: &[String]| format!("loading KV pairs: {what} [{}]", list.join(" "));
    let mut out = Vec::new();
    for path in envs {
        let (_, text) = loader
            .read(path)
            .map_err(|e| e.context(ctx("env source files:", envs)))?;
        out.extend(
            env_pairs(&text)
                .into_iter()
                .map(|(k, v)| (k, Payload::Text(v))),
        );
    }
    for lit in literals {
        let (k, v) = parse_literal(lit).map_err(|e| e.context(ctx("literal sources", literals)))?;
        out.push((k, Payload::Text(v)));
    }
    for src in files {
        let (key, path) =
            parse_file_source(src).map_err(|e| e.context(ctx("file sources:", files)))?;
        let (path, text) = loader
            .read(&path)
            .map_err(|e| e.context(ctx("file sources:", files)))?;
        // kustomize keeps a file that is not valid UTF-8 as bytes.
        let value = match loader.tree.read_bytes(&path) {
            Some(bytes) if std::str::from_utf8(&bytes).is_err() => Payload::Bytes(bytes),
            _ => Payload::Text(text.to_string()),
        };
        out.push((key, value));
    }
    Ok(out)
}

/// A generator value: text, or the bytes of a file that is not UTF-8.
enum Payload {
    Text(String),
    Bytes(Arc<[u8]>),
}

fn parse_literal(source: &str) -> Result<(String, String)> {
    match source.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), remove_quotes(v).to_string())),
        _ => Err(BuildError::msg(format!(
            "invalid literal source {source}, expected key=value"
        ))),
    }
}

/// Strips one pair of matching surrounding quotes.
fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn parse_file_source(source: &str) -> Result<(String, String)> {
    let n = source.matches('=').count();
    if n == 0 {
        let base = source
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(source);
        return Ok((base.to_string(), source.to_string()));
    }
    if n == 1 && source.starts_with('=') {
        return Err(BuildError::msg(format!(
            "missing key name for file path \"{}\" in source \"{source}\"",
            &source[1..]
        )));
    }
    if n == 1 && source.ends_with('=') {
        return Err(BuildError::msg(format!(
            "missing file path for key name \"{}\" in source \"{source}\"",
            &source[..source.len() - 1]
        )));
    }
    if n > 1 {
        return Err(BuildError::msg(format!(
            "source \"{source}\" key name or file path contains '='"
        )));
    }
    let (k, p) = source.split_once('=').unwrap_or((source, ""));
    Ok((k.to_string(), p.to_string()))
}

/// kustomize's env-file reader: one `KEY=value` per line, `#` comments and blank lines
/// skipped, leading whitespace trimmed, the value kept verbatim (quotes included).
fn env_pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let mut line = raw.strip_suffix('\r').unwrap_or(raw);
        if i == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, v),
            // No `=`: kustomize reads the variable from its environment; a pure build has none.
            None => (line, ""),
        };
        out.push((key.to_string(), value.to_string()));
    }
    out
}

/// Base64 as kustomize writes Secret data: 70-character lines, each ending in a newline,
/// once the encoding is at least 70 characters long.
fn encode_base64(bytes: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

fn id_equal(a: &ResId, b: &ResId) -> bool {
    a.group == b.group
        && a.version == b.version
        && a.kind == b.kind
        && a.name == b.name
        && ResId::ns_equal(&a.namespace, &b.namespace)
}

/// `%#v` of a kustomize `resid.ResId`.
fn go_id(id: &ResId) -> String {
    format!(
        "resid.ResId{{Gvk:resid.Gvk{{Group:{:?}, Version:{:?}, Kind:{:?}, isClusterScoped:false}}, Name:{:?}, Namespace:{:?}}}",
        id.group, id.version, id.kind, id.name, id.namespace
    )
}

/// kustomize's `appendReplaceOrMerge`.
fn absorb(ra: &mut Vec<Resource>, mut res: Resource, behavior: Behavior) -> Result<()> {
    let id = res.id();
    let matches: Vec<usize> = ra
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let cur = r.id();
            r.all_names().iter().any(|(n, ns)| {
                let other = ResId {
                    name: n.clone(),
                    namespace: ns.clone(),
                    ..cur.clone()
                };
                id_equal(&other, &id)
            })
        })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [] => match behavior {
            Behavior::Merge | Behavior::Replace => Err(BuildError::msg(format!(
                "id {} does not exist; cannot merge or replace",
                go_id(&id)
            ))),
            Behavior::Create => {
                ra.push(res);
                Ok(())
            }
        },
        [i] => {
            let old = &ra[*i];
            match behavior {
                Behavior::Create => {
                    return Err(BuildError::msg(format!(
                        "id {} exists; behavior must be merge or replace",
                        go_id(&id)
                    )));
                }
                Behavior::Replace => copy_merge_meta(&mut res, old),
                Behavior::Merge => {
                    copy_merge_meta(&mut res, old);
                    for field in ["data", "binaryData"] {
                        merge_data(&mut res, old, field);
                    }
                }
            }
            ra[*i] = res;
            Ok(())
        }
        _ => Err(BuildError::msg(format!(
            "found multiple objects {} that could accept merge of {id}",
            matches
                .iter()
                .map(|i| ra[*i].id().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// kustomize's `CopyMergeMetaDataFieldsFrom`: labels and annotations merged (the new
/// object's win), name, namespace and build bookkeeping taken from the old object, except
/// the hash suffix, which needs both objects to want it.
fn copy_merge_meta(res: &mut Resource, old: &Resource) {
    for field in ["labels", "annotations"] {
        let mut merged = pairs_at(&old.node, field);
        for (k, v) in pairs_at(&res.node, field) {
            match merged.iter_mut().find(|(mk, _)| *mk == k) {
                Some(slot) => slot.1 = v,
                None => merged.push((k, v)),
            }
        }
        merged.sort();
        if let Some(meta) = res
            .node
            .ensure_map_path(&["metadata"])
            .and_then(Node::as_map_mut)
        {
            if merged.is_empty() {
                meta.remove(field);
            } else {
                meta.insert(field, string_map_node(&merged));
            }
        }
    }
    if let Some(meta) = res
        .node
        .ensure_map_path(&["metadata"])
        .and_then(Node::as_map_mut)
    {
        meta.insert("name", Node::string(old.name()));
        let ns = old.namespace();
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace", Node::string(ns));
        }
    }
    res.previous = old.previous.clone();
    // The hash marker is a build annotation: taken from the old object, and dropped when
    // the new generator's options (merged with its own kustomization's generatorOptions)
    // disable the hash. So the name gets a hash only when both want one.
    let old_hash = old.generated.as_ref().is_some_and(|g| g.needs_hash);
    if let Some(g) = res.generated.as_mut() {
        g.needs_hash &= old_hash;
    }
    res.vars = old.vars.clone();
    res.prefixes = old.prefixes.clone();
    res.suffixes = old.suffixes.clone();
}

fn pairs_at(node: &Node, field: &str) -> Vec<(String, String)> {
    node.get_path(&["metadata", field])
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

/// kustomize's `MergeDataMapFrom`: the old object's entries, overridden by the new ones.
fn merge_data(res: &mut Resource, old: &Resource, field: &str) {
    let old_pairs: Vec<(String, String)> = old
        .node
        .get(field)
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
        .unwrap_or_default();
    let new_pairs: Vec<(String, String)> = res
        .node
        .get(field)
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
        .unwrap_or_default();
    if old_pairs.is_empty() && new_pairs.is_empty() {
        return;
    }
    let mut merged = old_pairs;
    for (k, v) in new_pairs {
        match merged.iter_mut().find(|(mk, _)| *mk == k) {
            Some(slot) => slot.1 = v,
            None => merged.push((k, v)),
        }
    }
    merged.sort();
    if let Some(m) = res.node.as_map_mut() {
        m.insert(field, string_map_node(&merged));
    }
}

/// Appends content-hash suffixes to generated names (end of the build).
pub(super) fn add_hashes(ra: &mut [Resource]) -> Result<()> {
    for r in ra.iter_mut() {
        if !r.generated.as_ref().is_some_and(|g| g.needs_hash) {
            continue;
        }
        let h = hash(&r.node);
        let name = format!("{}-{h}", r.name());
        r.set_name(&name);
    }
    Ok(())
}

/// kustomize's `hasher.Hash` for a ConfigMap, Secret or any other object.
pub(crate) fn hash(node: &Node) -> String {
    let kind = node
        .get("kind")
        .and_then(Node::scalar_text)
        .unwrap_or_default();
    let field = |name: &str| -> String {
        match node.get(name) {
            None => "\"\"".to_string(),
            Some(n) => match &n.value {
                Value::Scalar(s) => json_string(&s.value),
                _ => {
                    let mut out = String::new();
                    json(n, &mut out);
                    out
                }
            },
        }
    };
    let is_map = |name: &str| node.get(name).is_some_and(|n| n.as_map().is_some());
    let encoded = match kind {
        "ConfigMap" => {
            let mut s = String::from("{");
            if is_map("binaryData") {
                s.push_str(&format!("\"binaryData\":{},", field("binaryData")));
            }
            s.push_str(&format!(
                "\"data\":{},\"kind\":\"ConfigMap\",\"name\":\"\"}}",
                field("data")
            ));
            s
        }
        "Secret" => {
            let mut s = format!(
                "{{\"data\":{},\"kind\":\"Secret\",\"name\":\"\",",
                field("data")
            );
            if is_map("stringData") {
                s.push_str(&format!("\"stringData\":{},", field("stringData")));
            }
            s.push_str(&format!("\"type\":{}}}", field("type")));
            s
        }
        _ => {
            let mut out = String::new();
            json(node, &mut out);
            out
        }
    };
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go `encoding/json` of a decoded YAML value (maps with sorted keys, HTML-safe escaping).
fn json(node: &Node, out: &mut String) {
    match &node.value {
        Value::Scalar(s) => match s.resolve() {
            Resolved::Null => out.push_str("null"),
            Resolved::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Resolved::Int(i) => out.push_str(&json_float(i as f64)),
            Resolved::Uint(u) => out.push_str(&json_float(u as f64)),
            Resolved::Float(f) => out.push_str(&json_float(f)),
            Resolved::Str => out.push_str(&json_string(&s.value)),
            Resolved::Timestamp(t) | Resolved::Binary(t) => out.push_str(&json_string(&t)),
        },
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let mut entries: Vec<(&str, &Node)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_string(k));
                out.push(':');
                json(v, out);
            }
            out.push('}');
        }
    }
}

/// Go's JSON formatting of a float64 (numbers round-trip through `interface{}`).
fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: 'e' format, exponent without leading zero padding beyond two digits.
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    if f.fract() == 0.0 && abs < 1e21 {
        return format!("{f:.0}");
    }
    format!("{f}")
}

/// Go `encoding/json` string escaping.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::{FileTree, build};

    fn run_build(files: &[(&str, &str)]) -> String {
        let mut tree = FileTree::new();
        for (p, c) in files {
            tree.insert(p, *c);
        }
        match build(&tree, "").and_then(|b| b.to_yaml()) {
            Ok(s) => s,
            Err(e) => format!("ERROR: {e}"),
        }
    }

    /// Expected outputs come from `kubectl kustomize` v1.32 (kustomize v5.5.0).
    #[test]
    fn empty_generators_and_literal_quotes() {
        let got = run_build(&[(
            "kustomization.yaml",
            "configMapGenerator:\n- name: empty\n- name: lit\n  literals: [\"Q='single'\", 'R=\"dbl\"', \"S=\\\"x\", \"T=a=b\"]\nsecretGenerator:\n- name: esec\n",
        )]);
        let want = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: empty-6ct58987ht\n---\napiVersion: v1\ndata:\n  Q: single\n  R: dbl\n  S: '\"x'\n  T: a=b\nkind: ConfigMap\nmetadata:\n  name: lit-k7mm4m7kc6\n---\napiVersion: v1\ndata: {}\nkind: Secret\nmetadata:\n  name: esec-46f8b28mk5\ntype: Opaque\n";
        assert_eq!(got, want);
    }

    #[test]
    fn base64_wraps_at_70() {
        assert_eq!(encode_base64(&[b'a'; 51]).len(), 68);
        let long = encode_base64(&[b'a'; 52]);
        assert_eq!(long.lines().next().map(str::len), Some(70));
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn env_files_keep_quotes() {
        let pairs = env_pairs("# c\nA=1\n\n  B=\"x\"\r\nD=x=y\n");
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"x\"".into()),
                ("D".into(), "x=y".into())
            ]
        );
    }
}
