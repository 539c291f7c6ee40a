//! The replacements transformer (`replacements:`), as kustomize v5.5 runs it.
//!
//! Each entry (inline, or loaded from a `path:` file holding one entry or a list) copies one
//! value from a source resource into fields of target resources, in list order, each entry
//! seeing the effect of the previous ones.
//!
//! - The source must select exactly one resource by group/version/kind/name/namespace (exact
//!   values, any of its past or current names); its `fieldPath` (default `metadata.name`) is
//!   looked up with exact `[key=value]` list matching, and must not be missing, null or empty.
//! - Targets are selected the same way, plus label/annotation selectors, minus `reject`
//!   entries (a reject matches any past or current id). Their `fieldPaths` use kyaml's
//!   `PathMatcher`: `[key=value]` is an *unanchored regular expression* (`[name=api]` also
//!   matches `api-v2`), `*` visits every list item, a number indexes a list. With
//!   `options.create` missing maps, list items and `[key=value]` items are created.
//! - A scalar target keeps its type: only the text is replaced (`replicas: 1` receiving `"8080"`
//!   becomes the int `8080`; a string receiving `42` becomes `"42"`); text that cannot have the
//!   target's type is kustomize's decode error. A created scalar is typed from its text. A
//!   map or list target is replaced by a copy of the source value.
//! - `options.delimiter`/`index` pick a part of the source, or replace (negative index:
//!   prepend; past the end: append) a part of the target.
//!
//! Replacements run before generated names get their hash suffix, so copying
//! `metadata.name` of a generated ConfigMap gives the un-hashed name, as in kustomize.

use super::error::{BuildError, Result};
use super::images::{flow, json_type, string_value, type_error, wrong_kind};
use super::patch::LabelSelector;
use super::resource::is_cluster_scoped;
use super::{CopyBudget, Kustomization, Loader, Resource};
use crate::yaml::{MAX_DEPTH, Node, Resolved, Scalar, Style, Value, extent, resolve_plain};

/// The field path used when none is given.
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// A resource id selector (`group`, `version`, `kind`, `name`, `namespace`; empty = any).
#[derive(Debug, Default, Clone)]
struct IdSel {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
}

/// A target `select`/`reject` entry: an id selector plus label and annotation selectors.
#[derive(Debug, Default, Clone)]
struct Selector {
    id: IdSel,
    labels: String,
    annotations: String,
}

/// `options:` of a source or target.
#[derive(Debug, Default, Clone)]
struct Options {
    delimiter: String,
    index: i64,
    create: bool,
}

#[derive(Debug, Default)]
struct Source {
    id: IdSel,
    field_path: String,
    options: Options,
}

#[derive(Debug, Default)]
struct Target {
    select: Option<Selector>,
    reject: Vec<Selector>,
    field_paths: Vec<String>,
    options: Options,
}

#[derive(Debug, Default)]
struct Replacement {
    source: Option<Source>,
    targets: Option<Vec<Target>>,
    pos: crate::yaml::Pos,
}

/// Applies `replacements:`.
pub(super) fn apply(loader: &Loader<'_>, k: &Kustomization, ra: &mut [Resource]) -> Result<()> {
    let Some(list) = k.field("replacements") else {
        return Ok(());
    };
    let mut reps = Vec::new();
    for item in super::images::entries(list, "replacements", "[]types.ReplacementField")? {
        let path = item.get("path").filter(|p| !p.is_null());
        let Some(path) = path else {
            reps.push(parse_replacement(item, true)?);
            continue;
        };
        if item.get("source").is_some() || item.get("targets").is_some() {
            return Err(BuildError::at(
                &item.pos,
                "cannot specify both path and inline replacement",
            ));
        }
        let path = string_value(path, "ReplacementField.replacements.path")?;
        let (file, docs) = loader.read_yaml(&path)?;
        match docs.first().map(|d| &d.value) {
            Some(Value::Seq(items)) => {
                for i in items {
                    reps.push(parse_replacement(i, false)?);
                }
            }
            Some(Value::Map(_)) => reps.push(parse_replacement(&docs[0], false)?),
            other => {
                let kind = match other {
                    None => "invalid",
                    Some(Value::Scalar(s)) if s.is_null() => "invalid",
                    Some(_) => "string",
                };
                return Err(BuildError::in_file(
                    &file,
                    format!(
                        "unsupported replacement type encountered within replacement path: {kind}"
                    ),
                ));
            }
        }
    }
    for rep in &reps {
        run(rep, ra, loader.budget).map_err(|e| BuildError::at(&rep.pos, e))?;
    }
    Ok(())
}

/// Runs one replacement over the resources.
fn run(
    rep: &Replacement,
    ra: &mut [Resource],
    budget: &CopyBudget,
) -> std::result::Result<(), String> {
    let (Some(source), Some(targets)) = (&rep.source, &rep.targets) else {
        return Err("replacements must specify a source and at least one target".into());
    };
    let value = source_value(source, ra)?;
    for target in targets {
        let Some(select) = &target.select else {
            return Err("target must specify resources to select".into());
        };
        let select_labels = parse_selector(&select.labels)?;
        let select_annos = parse_selector(&select.annotations)?;
        let mut reject_selectors = Vec::new();
        for r in &target.reject {
            if !r.labels.is_empty() || !r.annotations.is_empty() {
                reject_selectors
                    .push((parse_selector(&r.labels)?, parse_selector(&r.annotations)?));
            }
        }
        let default_paths = [DEFAULT_FIELD_PATH.to_string()];
        let field_paths = if target.field_paths.is_empty() {
            &default_paths[..]
        } else {
            &target.field_paths[..]
        };
        for r in ra.iter_mut() {
            let (labels, annos) = (r.labels(), r.annotations());
            let sel_ok = |ls: &Option<LabelSelector>, l: &[(String, String)]| {
                ls.as_ref().is_none_or(|s| s.matches(l))
            };
            if !(sel_ok(&select_labels, &labels) && sel_ok(&select_annos, &annos)) {
                continue;
            }
            if reject_selectors
                .iter()
                .any(|(l, a)| sel_ok(l, &labels) && sel_ok(a, &annos))
            {
                continue;
            }
            let rejected = target
                .reject
                .iter()
                .any(|rj| !rj.id.is_empty() && selected_by(r, &rj.id));
            if !selected_by(r, &select.id) || rejected {
                continue;
            }
            for fp in field_paths {
                copy_to_target(&mut r.node, &value, fp, &target.options, budget)?;
            }
        }
    }
    Ok(())
}

fn parse_selector(s: &str) -> std::result::Result<Option<LabelSelector>, String> {
    if s.is_empty() {
        Ok(None)
    } else {
        LabelSelector::parse(s).map(Some)
    }
}

/// The source value (after `options.delimiter`/`index`).
fn source_value(source: &Source, ra: &[Resource]) -> std::result::Result<Node, String> {
    let mut matches = ra.iter().filter(|r| selected_by(r, &source.id));
    let Some(found) = matches.next() else {
        return Err(format!("nothing selected by {}", source.id));
    };
    if matches.next().is_some() {
        return Err(format!("multiple matches for selector {}", source.id));
    }
    let fp = if source.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &source.field_path
    };
    let value = lookup(&found.node, &split_path(fp))
        .map_err(|e| format!("error looking up replacement source: {e}"))?;
    let Some(value) = value.filter(|v| !nil_or_empty(v)) else {
        return Err(format!(
            "fieldPath `{fp}` is missing for replacement source {}",
            source.id
        ));
    };
    let opts = &source.options;
    if opts.delimiter.is_empty() {
        return Ok(value.clone());
    }
    let Value::Scalar(s) = &value.value else {
        return Err("delimiter option can only be used with scalar nodes".into());
    };
    let parts: Vec<&str> = s.value.split(opts.delimiter.as_str()).collect();
    if opts.index < 0 || opts.index >= parts.len() as i64 {
        return Err(format!(
            "options.index {} is out of bounds for value {}",
            opts.index, s.value
        ));
    }
    let mut out = value.clone();
    retext(&mut out, parts[opts.index as usize]);
    Ok(out)
}

/// Replaces a scalar's text, keeping it a string if it was one.
fn retext(node: &mut Node, text: &str) {
    if let Value::Scalar(s) = &mut node.value {
        let was_str = s.resolve().is_str();
        s.value = text.to_string();
        if was_str && s.tag.is_none() && s.style == Style::Plain && !resolve_plain(text).is_str() {
            s.style = Style::DoubleQuoted;
        }
    }
}

/// kyaml's `IsNilOrEmpty`: null, `{}` or `[]`.
fn nil_or_empty(n: &Node) -> bool {
    match &n.value {
        Value::Scalar(s) => s.is_null(),
        Value::Seq(items) => items.is_empty(),
        Value::Map(m) => m.is_empty(),
    }
}

impl IdSel {
    fn is_empty(&self) -> bool {
        self.group.is_empty()
            && self.version.is_empty()
            && self.kind.is_empty()
            && self.name.is_empty()
            && self.namespace.is_empty()
    }
}

impl std::fmt::Display for IdSel {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

/// kustomize's `ResId.IsSelectedBy` over every id the resource has had.
fn selected_by(r: &Resource, sel: &IdSel) -> bool {
    let (group, version) = r.group_version();
    let kind = r.kind();
    let gvk_ok = (sel.group.is_empty() || sel.group == group)
        && (sel.version.is_empty() || sel.version == version)
        && (sel.kind.is_empty() || sel.kind == kind);
    if !gvk_ok {
        return false;
    }
    let effective = |kind: &str, ns: &str| -> String {
        if is_cluster_scoped(kind) {
            "~X".into()
        } else if ns.is_empty() {
            "default".into()
        } else {
            ns.into()
        }
    };
    r.all_names().iter().any(|(name, ns)| {
        (sel.name.is_empty() || sel.name == *name)
            && (sel.namespace.is_empty()
                || effective(&sel.kind, &sel.namespace) == effective(&kind, ns))
    })
}

/// kustomize's `SmarterPathSplitter(path, ".")`: `\.` escapes a dot, a leading dot is
/// ignored, `[a=b.c]` stays one part and `[a.b]` becomes the key `a.b`.
pub(super) fn split_path(path: &str) -> Vec<String> {
    let mut ps: Vec<&str> = path.split('.').collect();
    if ps.len() > 1 && ps[0].is_empty() {
        ps.remove(0);
    }
    let mut res: Vec<String> = Vec::new();
    for p in ps {
        match res.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(p);
            }
            _ => res.push(p.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < res.len() {
        let elem = &res[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut bracketed = vec![elem.clone()];
            while i < res.len() - 1 {
                i += 1;
                bracketed.push(res[i].clone());
                if res[i].ends_with(']') {
                    break;
                }
            }
            let joined = bracketed.join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(|c| c == '[' || c == ']').to_string());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

fn is_list_index(p: &str) -> bool {
    p.starts_with('[') && p.ends_with(']')
}

/// kyaml's `IsIdxNumber`: a non-negative Go `Atoi` number.
fn idx_number(p: &str) -> Option<usize> {
    let digits = p.strip_prefix('+').unwrap_or(p);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()
}

fn split_index(p: &str) -> std::result::Result<(String, String), String> {
    let inner = p.strip_prefix('[').unwrap_or(p);
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    match inner.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => {
            Err("list path element must contain fieldName=fieldValue for element to match".into())
        }
    }
}

/// kyaml's `PathGetter` lookup (no create) used for sources: `[k=v]` matches exactly.
fn lookup<'a>(node: &'a Node, path: &[String]) -> std::result::Result<Option<&'a Node>, String> {
    let mut cur = node;
    for part in path {
        if cur.is_null() {
            return Ok(None);
        }
        let next = if is_list_index(part) {
            let (key, value) = split_index(part)?;
            let Some(items) = cur.as_seq() else {
                return Err(wrong_kind("SequenceNode", cur));
            };
            items.iter().find(|item| {
                if key.is_empty() {
                    item.as_scalar().is_some_and(|s| s.value == value)
                } else {
                    item.get(&key)
                        .and_then(Node::as_scalar)
                        .is_some_and(|s| s.value == value)
                }
            })
        } else if let Some(i) = idx_number(part) {
            let Some(items) = cur.as_seq() else {
                return Err(wrong_kind("SequenceNode", cur));
            };
            items.get(i)
        } else {
            let Some(map) = cur.as_map() else {
                return Err(wrong_kind("MappingNode", cur));
            };
            map.get(part)
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// The kind of node to create.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Scalar,
    Map,
    Seq,
}

fn kind_of(n: &Node) -> Kind {
    match n.value {
        Value::Scalar(_) => Kind::Scalar,
        Value::Map(_) => Kind::Map,
        Value::Seq(_) => Kind::Seq,
    }
}

fn new_node(kind: Kind) -> Node {
    match kind {
        Kind::Scalar => Node::plain(""),
        Kind::Map => Node::map(),
        Kind::Seq => Node::seq(Vec::new()),
    }
}

/// kyaml's `getPathPartKind`.
fn part_kind(next: Option<&String>, leaf: Kind) -> Kind {
    match next {
        None => leaf,
        Some(p) if is_list_index(p) || idx_number(p).is_some() => Kind::Seq,
        Some(_) => Kind::Map,
    }
}

#[derive(Clone)]
enum Step {
    Key(String),
    Idx(usize),
}

/// One field found (or created) by the path matcher.
struct Hit {
    /// Where it is; `None` when kyaml "created" it inside a null, where it is invisible.
    path: Option<Vec<Step>>,
    /// Whether the leaf was created just now (an untyped scalar takes the type of its text).
    fresh: bool,
}

/// The text kyaml's `RNode.String()` gives a list item's field, for `[k=v]` matching.
fn match_text(n: &Node) -> String {
    match &n.value {
        Value::Scalar(s) => match s.style {
            Style::DoubleQuoted => format!("\"{}\"", s.value),
            Style::SingleQuoted => format!("'{}'", s.value),
            _ => {
                if s.value.is_empty() && s.is_null() {
                    "null".into()
                } else {
                    s.value.trim().to_string()
                }
            }
        },
        _ => flow(n),
    }
}

/// kyaml's `PathMatcher` (with optional create), collecting hits under `here`.
fn matcher(
    node: &mut Node,
    path: &[String],
    create: Option<Kind>,
    here: &mut Vec<Step>,
    fresh: bool,
    out: &mut Vec<Hit>,
) -> std::result::Result<(), String> {
    let Some(part) = path.first() else {
        out.push(Hit {
            path: Some(here.clone()),
            fresh,
        });
        return Ok(());
    };
    let rest = &path[1..];
    let child_kind = |leaf: Kind| part_kind(rest.first(), leaf);
    if let Some(idx) = idx_number(part) {
        if node.is_null() {
            if create.is_some() && idx == 0 {
                out.push(Hit {
                    path: None,
                    fresh: true,
                });
                return Ok(());
            }
            return Err(format!("index {idx} specified but only 0 elements found"));
        }
        // The message (which prints the node) only when it is needed.
        if node.as_seq().is_none() {
            return Err(wrong_kind("SequenceNode", node));
        }
        let Some(items) = node.as_seq_mut() else {
            return Ok(());
        };
        let mut created = false;
        if let Some(leaf) = create
            && items.len() == idx
        {
            items.push(new_node(child_kind(leaf)));
            created = true;
        }
        let len = items.len();
        let Some(item) = items.get_mut(idx) else {
            return Err(format!(
                "index {idx} specified but only {len} elements found"
            ));
        };
        here.push(Step::Idx(idx));
        let r = matcher(item, rest, create, here, created, out);
        here.pop();
        return r;
    }
    if is_list_index(part) {
        let (key, value) = split_index(part)?;
        return match_seq(node, &key, &value, rest, create, here, out, None);
    }
    if part == "*" {
        if node.is_null() {
            return Ok(());
        }
        // The message (which prints the node) only when it is needed.
        if node.as_seq().is_none() {
            return Err(wrong_kind("SequenceNode", node));
        }
        let Some(items) = node.as_seq_mut() else {
            return Ok(());
        };
        for (i, item) in items.iter_mut().enumerate() {
            here.push(Step::Idx(i));
            let r = matcher(item, rest, create, here, false, out);
            here.pop();
            r?;
        }
        return Ok(());
    }
    if node.is_null() {
        if create.is_some() {
            out.push(Hit {
                path: None,
                fresh: true,
            });
        }
        return Ok(());
    }
    // The message (which prints the node) only when it is needed.
    if node.as_map().is_none() {
        return Err(wrong_kind("MappingNode", node));
    }
    let Some(map) = node.as_map_mut() else {
        return Ok(());
    };
    let mut created = false;
    if !map.contains_key(part) {
        let Some(leaf) = create else { return Ok(()) };
        map.insert(part.as_str(), new_node(child_kind(leaf)));
        created = true;
    }
    let Some(child) = map.get_mut(part) else {
        return Ok(());
    };
    here.push(Step::Key(part.clone()));
    let r = matcher(child, rest, create, here, created, out);
    here.pop();
    r
}

/// `[key=regex]` over a list (kyaml's `doSeq`), creating the item when nothing matches.
#[allow(clippy::too_many_arguments)]
fn match_seq(
    node: &mut Node,
    key: &str,
    value: &str,
    rest: &[String],
    create: Option<Kind>,
    here: &mut Vec<Step>,
    out: &mut Vec<Hit>,
    fresh_item: Option<usize>,
) -> std::result::Result<(), String> {
    if node.is_null() {
        if create.is_some() {
            out.push(Hit {
                path: None,
                fresh: true,
            });
        }
        return Ok(());
    }
    // The message (which prints the node) only when it is needed.
    if node.as_seq().is_none() {
        return Err(wrong_kind("SequenceNode", node));
    }
    let Some(items) = node.as_seq_mut() else {
        return Ok(());
    };
    let before = out.len();
    if !items.is_empty() {
        let re = regex_lite::Regex::new(value).map_err(|e| format!("error parsing regexp: {e}"))?;
        for (i, item) in items.iter_mut().enumerate() {
            if key.is_empty() {
                if item.as_scalar().is_some() && re.is_match(&match_text(item)) {
                    here.push(Step::Idx(i));
                    out.push(Hit {
                        path: Some(here.clone()),
                        fresh: fresh_item == Some(i),
                    });
                    here.pop();
                }
                continue;
            }
            let text = match item.get(key) {
                Some(v) => match_text(v),
                None => continue,
            };
            if !re.is_match(&text) {
                continue;
            }
            here.push(Step::Idx(i));
            let r = matcher(item, rest, create, here, fresh_item == Some(i), out);
            here.pop();
            r?;
        }
    }
    if out.len() > before || create.is_none() || fresh_item.is_some() {
        return Ok(());
    }
    let made = if key.is_empty() {
        Node::plain(value)
    } else {
        let mut m = Node::map();
        if let Some(map) = m.as_map_mut() {
            map.insert(key, Node::plain(value));
        }
        m
    };
    items.push(made);
    let idx = items.len() - 1;
    match_seq(node, key, value, rest, create, here, out, Some(idx))
}

fn node_at<'a>(root: &'a mut Node, path: &[Step]) -> Option<&'a mut Node> {
    let mut cur = root;
    for step in path {
        cur = match step {
            Step::Key(k) => cur.get_mut(k)?,
            Step::Idx(i) => cur.as_seq_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Copies `value` into every field `fp` finds in `target` (kustomize's `copyValueToTarget`).
fn copy_to_target(
    target: &mut Node,
    value: &Node,
    fp: &str,
    opts: &Options,
    budget: &CopyBudget,
) -> std::result::Result<(), String> {
    let create = opts.create.then(|| kind_of(value));
    let path = split_path(fp);
    let size = extent(value);
    // Each segment may create one level: refused before anything is created (the matcher
    // recurses once per segment). kustomize fails later, printing the whole resource.
    if path.len() + size.depth > MAX_DEPTH {
        return Err(format!(
            "fieldPath {:?} has {} segments: exceeded max depth of {MAX_DEPTH}",
            fp.chars().take(80).collect::<String>(),
            path.len()
        ));
    }
    let prefix = if create.is_some() {
        format!("unable to find or create field {fp:?} in replacement target")
    } else {
        format!("unable to find field {fp:?} in replacement target")
    };
    let mut hits = Vec::new();
    matcher(target, &path, create, &mut Vec::new(), false, &mut hits)
        .map_err(|e| format!("{prefix}: {e}"))?;
    if hits.is_empty() {
        return Err(prefix);
    }
    for hit in hits {
        let Some(path) = hit.path else { continue };
        let Some(field) = node_at(target, &path) else {
            continue;
        };
        if !matches!(value.value, Value::Scalar(_)) {
            budget.spend(size.nodes)?;
        }
        set_field(field, value, opts, hit.fresh)?;
    }
    Ok(())
}

fn scalar_text(n: &Node) -> &str {
    match &n.value {
        Value::Scalar(s) if !s.is_null() => &s.value,
        _ => "",
    }
}

/// kustomize's `setFieldValue`.
fn set_field(
    field: &mut Node,
    value: &Node,
    opts: &Options,
    fresh: bool,
) -> std::result::Result<(), String> {
    let mut text = scalar_text(value).to_string();
    if !opts.delimiter.is_empty() {
        let Value::Scalar(s) = &field.value else {
            return Err("delimiter option can only be used with scalar nodes".into());
        };
        let mut parts: Vec<String> = s
            .value
            .split(opts.delimiter.as_str())
            .map(str::to_string)
            .collect();
        if opts.index < 0 {
            parts.insert(0, text);
        } else if opts.index as usize >= parts.len() {
            parts.push(text);
        } else {
            parts[opts.index as usize] = text;
        }
        text = parts.join(&opts.delimiter);
    }
    let Value::Scalar(s) = &mut field.value else {
        *field = value.clone();
        return Ok(());
    };
    if fresh {
        *s = Scalar::plain(text);
        return Ok(());
    }
    set_typed(s, text)
}

fn tag_name(r: &Resolved) -> &'static str {
    match r {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Str => "!!str",
        Resolved::Timestamp(_) => "!!timestamp",
        Resolved::Binary(_) => "!!binary",
    }
}

/// Replaces a scalar's text keeping its (resolved) type, or fails like go-yaml decoding it.
fn set_typed(s: &mut Scalar, text: String) -> std::result::Result<(), String> {
    let target = s.resolve();
    let mut got = resolve_plain(&text);
    if matches!(got, Resolved::Timestamp(_)) && !matches!(target, Resolved::Timestamp(_)) {
        got = Resolved::Str;
    }
    let ok = match &target {
        Resolved::Str | Resolved::Binary(_) => true,
        Resolved::Int(_) | Resolved::Uint(_) => matches!(got, Resolved::Int(_) | Resolved::Uint(_)),
        Resolved::Float(_) => matches!(
            got,
            Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_)
        ),
        Resolved::Bool(_) => matches!(got, Resolved::Bool(_)),
        Resolved::Null => matches!(got, Resolved::Null),
        Resolved::Timestamp(_) => matches!(got, Resolved::Timestamp(_)),
    };
    if !ok {
        return Err(format!(
            "map[string]interface {{}}(nil): yaml: cannot decode {} `{text}` as a {}",
            tag_name(&got),
            tag_name(&target)
        ));
    }
    let quote = target.is_str()
        && s.tag.is_none()
        && s.style == Style::Plain
        && !resolve_plain(&text).is_str();
    s.value = text;
    if quote {
        s.style = Style::DoubleQuoted;
    }
    Ok(())
}

// ---- decoding the kustomization entries ----

/// Checks a mapping's keys; unknown keys are an error only when `strict` (inline entries;
/// kustomize reads `path:` files leniently).
fn fields<'a>(
    node: &'a Node,
    known: &[&str],
    strict: bool,
    what: &str,
) -> Result<&'a crate::yaml::Map> {
    let Some(map) = node.as_map() else {
        return Err(BuildError::at(
            &node.pos,
            format!(
                "json: cannot unmarshal {} into Go value of type {what}",
                json_type(node)
            ),
        ));
    };
    if strict
        && let Some((key, _)) = map
            .entries
            .iter()
            .find(|(k, _)| !known.contains(&k.value.as_str()))
    {
        return Err(BuildError::at(
            &key.pos,
            format!(
                "invalid Kustomization: json: unknown field \"{}\"",
                key.value
            ),
        ));
    }
    Ok(map)
}

fn str_field(map: &crate::yaml::Map, key: &str, go: &str) -> Result<String> {
    match map.get(key) {
        Some(n) => string_value(n, &format!("{go}.{key}")),
        None => Ok(String::new()),
    }
}

fn id_sel(map: &crate::yaml::Map, go: &str) -> Result<IdSel> {
    Ok(IdSel {
        group: str_field(map, "group", go)?,
        version: str_field(map, "version", go)?,
        kind: str_field(map, "kind", go)?,
        name: str_field(map, "name", go)?,
        namespace: str_field(map, "namespace", go)?,
    })
}

fn parse_options(node: Option<&Node>, strict: bool) -> Result<Options> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Options::default());
    };
    let map = fields(
        node,
        &["delimiter", "index", "create", "encoding"],
        strict,
        "types.FieldOptions",
    )?;
    let mut o = Options {
        delimiter: str_field(map, "delimiter", "FieldOptions")?,
        ..Options::default()
    };
    if let Some(n) = map.get("index").filter(|n| !n.is_null()) {
        o.index = match n.as_scalar().map(Scalar::resolve) {
            Some(Resolved::Int(i)) => i,
            _ => return Err(type_error(n, "FieldOptions.index", "int")),
        };
    }
    if let Some(n) = map.get("create").filter(|n| !n.is_null()) {
        o.create = match n.as_scalar().map(Scalar::resolve) {
            Some(Resolved::Bool(b)) => b,
            _ => return Err(type_error(n, "FieldOptions.create", "bool")),
        };
    }
    Ok(o)
}

fn parse_selector_entry(node: &Node, strict: bool) -> Result<Selector> {
    let known = [
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "labelSelector",
        "annotationSelector",
    ];
    let map = fields(node, &known, strict, "types.Selector")?;
    Ok(Selector {
        id: id_sel(map, "Selector")?,
        labels: str_field(map, "labelSelector", "Selector")?,
        annotations: str_field(map, "annotationSelector", "Selector")?,
    })
}

fn parse_replacement(node: &Node, strict: bool) -> Result<Replacement> {
    let map = fields(
        node,
        &["source", "targets", "path"],
        strict,
        "types.Replacement",
    )?;
    let mut rep = Replacement {
        pos: node.pos.clone(),
        ..Replacement::default()
    };
    if let Some(src) = map.get("source").filter(|n| !n.is_null()) {
        let known = [
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "fieldPath",
            "options",
        ];
        let sm = fields(src, &known, strict, "types.SourceSelector")?;
        rep.source = Some(Source {
            id: id_sel(sm, "SourceSelector")?,
            field_path: str_field(sm, "fieldPath", "SourceSelector")?,
            options: parse_options(sm.get("options"), strict)?,
        });
    }
    if let Some(targets) = map.get("targets").filter(|n| !n.is_null()) {
        let Some(items) = targets.as_seq() else {
            return Err(BuildError::at(
                &targets.pos,
                format!(
                    "json: cannot unmarshal {} into Go struct field Replacement.targets of type []*types.TargetSelector",
                    json_type(targets)
                ),
            ));
        };
        let mut out = Vec::new();
        for t in items {
            let tm = fields(
                t,
                &["select", "reject", "fieldPaths", "options"],
                strict,
                "types.TargetSelector",
            )?;
            let mut target = Target {
                select: match tm.get("select").filter(|n| !n.is_null()) {
                    Some(s) => Some(parse_selector_entry(s, strict)?),
                    None => None,
                },
                options: parse_options(tm.get("options"), strict)?,
                ..Target::default()
            };
            if let Some(rj) = tm.get("reject").and_then(Node::as_seq) {
                for r in rj {
                    target.reject.push(parse_selector_entry(r, strict)?);
                }
            }
            if let Some(fps) = tm.get("fieldPaths").filter(|n| !n.is_null()) {
                let Some(fps) = fps.as_seq() else {
                    return Err(type_error(fps, "TargetSelector.fieldPaths", "[]string"));
                };
                for fp in fps {
                    target
                        .field_paths
                        .push(string_value(fp, "TargetSelector.fieldPaths")?);
                }
            }
            out.push(target);
        }
        rep.targets = Some(out);
    }
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::split_path;
    use crate::kustomize::{FileTree, build};

    /// Sources and targets shared by most cases.
    const RES: &str = "apiVersion: v1
kind: ConfigMap
metadata: {name: src, labels: {role: src}}
data: {s: \"8080\", host: a.b.c, str: hello, t: \"true\", f: \"1.5\", d: \"2024-01-01\"}
m: {k: v, l: [1, 2]}
e: \"\"
z: null
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app: api}}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: api, image: \"reg/api:1.0\", port: 80, env: [{name: A, value: x}]}
      - {name: api-v2, image: \"reg/api2:1.0\", port: 81}
      - {name: side, image: \"side:1\", port: \"82\"}
---
apiVersion: v1
kind: Pod
metadata: {name: tgt, annotations: {a.b/c: old}}
spec: {str: x, nul: null, b: true, fl: 1.5, i: 3, list: [a, b], map: {k: v, \"0\": zero}, objs: [{name: a, v: 1}, {name: b, v: 2}], prims: [x, y], date: 2024-01-01, tagged: !!str 5}
";

    /// Builds [`RES`] (plus `files`) with `replacements`; returns the output or the error.
    /// Every expectation below was produced by `kubectl kustomize` v5.5.0.
    fn run(replacements: &str, files: &[(&str, &str)]) -> String {
        let mut tree = FileTree::new();
        tree.insert(
            "kustomization.yaml",
            format!("resources: [r.yaml]\nreplacements:\n{replacements}\n"),
        );
        tree.insert("r.yaml", RES);
        for (path, text) in files {
            tree.insert(path, *text);
        }
        match build(&tree, "").and_then(|b| b.to_yaml()) {
            Ok(out) => out,
            Err(e) => format!("ERR {e}"),
        }
    }

    fn check(replacements: &str, want: &str) {
        let got = run(replacements, &[]);
        assert!(
            got.contains(want),
            "{replacements}\nwant (substring):\n{want}\ngot:\n{got}"
        );
    }

    /// Copies `data.<key>` of the ConfigMap into `<fieldPath>` of the Pod.
    fn pod(key: &str, field_path: &str, want: &str) {
        check(
            &format!(
                "- source: {{kind: ConfigMap, fieldPath: data.{key}}}\n  targets:\n  - select: {{kind: Pod}}\n    fieldPaths: ['{field_path}']"
            ),
            want,
        );
    }

    fn pod_create(key: &str, field_path: &str, want: &str) {
        check(
            &format!(
                "- source: {{kind: ConfigMap, fieldPath: data.{key}}}\n  targets:\n  - select: {{kind: Pod}}\n    options: {{create: true}}\n    fieldPaths: ['{field_path}']"
            ),
            want,
        );
    }

    #[test]
    fn path_splitting() {
        assert_eq!(split_path("a.b.c"), ["a", "b", "c"]);
        assert_eq!(split_path(".spec.x"), ["spec", "x"]);
        assert_eq!(
            split_path("metadata.annotations.[a.b/c]"),
            ["metadata", "annotations", "a.b/c"]
        );
        assert_eq!(
            split_path("metadata.annotations.a\\.b/c"),
            ["metadata", "annotations", "a.b/c"]
        );
        assert_eq!(
            split_path("spec.c.[name=com.foo.app].image"),
            ["spec", "c", "[name=com.foo.app]", "image"]
        );
    }

    #[test]
    fn list_matching_is_an_unanchored_regex_and_types_are_kept() {
        check(
            "- source: {kind: ConfigMap, fieldPath: data.s}
  targets:
  - select: {name: api}
    fieldPaths:
    - spec.replicas
    - spec.template.spec.containers.[name=api].image
    - spec.template.spec.containers.*.port",
            "spec:
  replicas: 8080
  template:
    spec:
      containers:
      - env:
        - name: A
          value: x
        image: \"8080\"
        name: api
        port: 8080
      - image: \"8080\"
        name: api-v2
        port: 8080
      - image: side:1
        name: side
        port: \"8080\"
",
        );
    }

    #[test]
    fn scalar_targets_keep_their_type() {
        pod("s", "spec.str", "  str: \"8080\"\n");
        pod("s", "spec.fl", "  fl: 8080\n");
        pod("s", "spec.i", "  i: 8080\n");
        pod("s", "spec.tagged", "  tagged: \"8080\"\n");
        pod("s", "spec.list", "  list: \"8080\"\n");
        pod("str", "spec.map", "  map: hello\n");
        pod("t", "spec.b", "  b: true\n");
        pod("f", "spec.fl", "  fl: 1.5\n");
        pod("d", "spec.date", "  date: \"2024-01-01T00:00:00Z\"\n");
        pod("d", "spec.str", "  str: \"2024-01-01\"\n");
        let err = "ERR kustomization.yaml:3:3: map[string]interface {}(nil): yaml: cannot decode";
        pod("s", "spec.nul", &format!("{err} !!int `8080` as a !!null"));
        pod("s", "spec.b", &format!("{err} !!int `8080` as a !!bool"));
        pod(
            "s",
            "spec.date",
            &format!("{err} !!int `8080` as a !!timestamp"),
        );
        pod("str", "spec.i", &format!("{err} !!str `hello` as a !!int"));
        pod("t", "spec.fl", &format!("{err} !!bool `true` as a !!float"));
        pod("f", "spec.i", &format!("{err} !!float `1.5` as a !!int"));
        pod(
            "d",
            "spec.i",
            &format!("{err} !!str `2024-01-01` as a !!int"),
        );
    }

    #[test]
    fn field_paths() {
        pod("s", ".spec.str", "  str: \"8080\"\n");
        pod("s", "metadata.annotations.[a.b/c]", "    a.b/c: \"8080\"\n");
        pod("s", "metadata.annotations.a\\.b/c", "    a.b/c: \"8080\"\n");
        pod(
            "s",
            "spec.objs.[name=]",
            "  objs:\n  - \"8080\"\n  - \"8080\"\n",
        );
        pod(
            "s",
            "spec.objs.[v=1]",
            "  objs:\n  - \"8080\"\n  - name: b\n",
        );
        pod(
            "s",
            "spec.prims.[=x]",
            "  prims:\n  - \"8080\"\n  - \"y\"\n",
        );
        pod(
            "s",
            "spec.objs.[name=^a$].v",
            "  - name: a\n    v: 8080\n  - name: b\n    v: 2\n",
        );
    }

    #[test]
    fn field_path_errors() {
        pod(
            "s",
            "spec.nope",
            "unable to find field \"spec.nope\" in replacement target",
        );
        pod(
            "s",
            "spec.nul.foo",
            "unable to find field \"spec.nul.foo\" in replacement target",
        );
        pod(
            "s",
            "spec.list.5",
            "unable to find field \"spec.list.5\" in replacement target: index 5 specified but only 2 elements found",
        );
        pod(
            "s",
            "spec.objs.[nam]",
            "unable to find field \"spec.objs.[nam]\" in replacement target: list path element must contain fieldName=fieldValue for element to match",
        );
        pod(
            "s",
            "spec.objs.[name=(]",
            "unable to find field \"spec.objs.[name=(]\" in replacement target: error parsing regexp",
        );
        let wrong = |fp: &str, want: &str, got: &str| {
            pod(
                "s",
                fp,
                &format!(
                    "unable to find field {fp:?} in replacement target: wrong node kind: expected {want} but got {got}: node contents:"
                ),
            );
        };
        wrong("spec.map.*", "SequenceNode", "MappingNode");
        wrong("spec.map.0", "SequenceNode", "MappingNode");
        wrong("spec.str.foo", "MappingNode", "ScalarNode");
        wrong("spec.list.-1", "MappingNode", "SequenceNode");
        wrong("spec.list.*.x", "MappingNode", "ScalarNode");
    }

    #[test]
    fn create() {
        pod_create("s", "spec.new.deep", "  new:\n    deep: 8080\n");
        pod_create("s", "spec.list.2", "  list:\n  - a\n  - b\n  - 8080\n");
        pod_create("s", "spec.newlist.0", "  newlist:\n  - 8080\n");
        pod_create(
            "s",
            "spec.objs.[name=c].v",
            "  - name: b\n    v: 2\n  - name: c\n    v: 8080\n",
        );
        pod_create(
            "s",
            "spec.prims.[=z]",
            "  prims:\n  - x\n  - \"y\"\n  - 8080\n",
        );
        pod_create("s", "spec.nul.x.y", "  nul: null\n");
        pod_create(
            "s",
            "spec.list.3",
            "unable to find or create field \"spec.list.3\" in replacement target: index 3 specified but only 2 elements found",
        );
        pod_create(
            "s",
            "spec.list.-",
            "unable to find or create field \"spec.list.-\" in replacement target: wrong node kind: expected MappingNode but got SequenceNode",
        );
        check(
            "- source: {kind: ConfigMap, fieldPath: data.s}
  targets:
  - select: {name: api}
    options: {create: true}
    fieldPaths:
    - spec.template.spec.containers.[name=zzz].image
    - spec.template.spec.containers.*.port2",
            "      - image: 8080\n        name: zzz\n        port2: 8080\n",
        );
    }

    #[test]
    fn sources() {
        let one = |src: &str| {
            format!(
                "- source: {src}\n  targets:\n  - select: {{kind: Deployment}}\n    fieldPaths: [spec.replicas]"
            )
        };
        check(
            &one("{kind: ConfigMap, fieldPath: data.nope}"),
            "fieldPath `data.nope` is missing for replacement source ConfigMap.[noVer].[noGrp]/[noName].[noNs]",
        );
        check(
            &one("{kind: ConfigMap, fieldPath: z}"),
            "fieldPath `z` is missing for replacement source ConfigMap.[noVer].[noGrp]/[noName].[noNs]",
        );
        check(
            &one("{version: v1}"),
            "multiple matches for selector [noKind].v1.[noGrp]/[noName].[noNs]",
        );
        check(
            &one("{kind: Nope}"),
            "nothing selected by Nope.[noVer].[noGrp]/[noName].[noNs]",
        );
        check(
            &one("{kind: ConfigMap, fieldPath: m}"),
            "cannot decode !!null `` as a !!int",
        );
        check(
            &one("{kind: ConfigMap, fieldPath: e}"),
            "cannot decode !!null `` as a !!int",
        );
        check(
            &one("{kind: Pod, fieldPath: \"spec.objs.[name=b].v\"}"),
            "  replicas: 2\n",
        );
        check(
            &one("{kind: ConfigMap, fieldPath: data.host, options: {delimiter: ., index: 1}}"),
            "cannot decode !!str `b` as a !!int",
        );
        check(
            &one("{kind: ConfigMap, fieldPath: data.host, options: {delimiter: ., index: 3}}"),
            "options.index 3 is out of bounds for value a.b.c",
        );
        // A map source replaces a map target.
        check(
            "- source: {kind: ConfigMap, fieldPath: m}\n  targets:\n  - select: {kind: Pod}\n    fieldPaths: [spec.map]",
            "  map:\n    k: v\n    l:\n    - 1\n    - 2\n",
        );
    }

    #[test]
    fn delimiters_on_targets() {
        let rep = |index: i64| {
            format!(
                "- source: {{kind: ConfigMap, fieldPath: data.str}}\n  targets:\n  - select: {{kind: Deployment}}\n    fieldPaths: [spec.template.spec.containers.0.image]\n    options: {{delimiter: ':', index: {index}}}"
            )
        };
        check(&rep(1), "image: reg/api:hello\n");
        check(&rep(0), "image: hello:1.0\n");
        check(&rep(-1), "image: hello:reg/api:1.0\n");
        check(&rep(5), "image: reg/api:1.0:hello\n");
    }

    #[test]
    fn selection_and_entries() {
        check(
            "- source: {kind: ConfigMap, fieldPath: data.str}\n  targets:\n  - select: {labelSelector: app=api}\n    fieldPaths: [metadata.annotations.x]\n    options: {create: true}",
            "  annotations:\n    x: hello\n  labels:\n    app: api\n",
        );
        let got = run(
            "- source: {kind: ConfigMap, fieldPath: data.str}\n  targets:\n  - select: {kind: Deployment}\n    reject: [{name: api}]\n    fieldPaths: [spec.replicas]",
            &[],
        );
        assert!(got.contains("  replicas: 1\n"), "{got}");
        assert!(
            run("- source: {kind: ConfigMap}", &[])
                .contains("replacements must specify a source and at least one target")
        );
        assert!(
            run(
                "- source: {kind: ConfigMap}\n  targets:\n  - fieldPaths: [a]",
                &[]
            )
            .contains("target must specify resources to select")
        );
        assert!(
            run("- source: {kind: ConfigMap, foo: 1}\n  targets: []", &[])
                .contains("invalid Kustomization: json: unknown field \"foo\"")
        );
        let files = [
            (
                "rep.yaml",
                "source: {kind: ConfigMap, fieldPath: data.s, foo: 1}\ntargets:\n- select: {kind: Pod}\n  fieldPaths: [spec.str]\n",
            ),
            (
                "reps.yaml",
                "- source: {kind: Pod, fieldPath: spec.str}\n  targets:\n  - select: {kind: Pod}\n    fieldPaths: [spec.fl]\n",
            ),
        ];
        let got = run("- path: rep.yaml\n- path: reps.yaml", &files);
        assert!(
            got.contains("  fl: 8080\n") && got.contains("  str: \"8080\"\n"),
            "{got}"
        );
    }
}
