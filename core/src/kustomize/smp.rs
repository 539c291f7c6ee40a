//! Strategic merge patches, with Kubernetes merge keys for built-in kinds.
//!
//! This is a port of kyaml's `merge2` walker as kustomize v5.5 runs it (patch items are
//! prepended): the target ("dest") and the patch ("origin") are walked together.
//! - Maps merge field by field; `key: null` deletes; `$patch: delete|replace` on a map.
//! - Lists merge by key only when the schema gives them a `merge` patch strategy (built-in
//!   kinds, see [`super::merge_keys`], which is the Kubernetes 1.21 schema kustomize embeds);
//!   every other list is replaced wholesale by the patch's list, verbatim (so `$patch: delete`
//!   or `null` inside it stay literally).
//! - Merged lists put patch items first, in patch order, then the untouched target items;
//!   multi-key lists (container ports: `containerPort`+`protocol`) follow kyaml's
//!   element-setter dance, including its quirks (a patch port without `protocol` does not
//!   merge into a target port that spells `protocol: TCP` and is lost).
//! - A patch scalar that replaces a target scalar takes the target's style, so `200` over
//!   `"50"` stays a string; a quoted patch string over a plain scalar stays a string.
//!
//! Values that come from the patch keep the patch's positions; untouched values keep theirs.

use super::merge_keys::{GVKS, Shape, TYPES};
use crate::yaml::{Key, Map, Node, Scalar, Style, Value};

/// Merges `patch` into `target` (taken by value: the merge reuses its nodes, so a caller
/// patching a resource in place copies nothing but the patch). `api_version`/`kind` select
/// the schema: built-in kinds merge lists by merge key; unknown kinds merge maps and replace
/// lists. Returns `None` when the patch deletes the whole object (`$patch: delete`).
pub fn merge(
    target: Node,
    patch: &Node,
    api_version: &str,
    kind: &str,
) -> Result<Option<Node>, String> {
    let schema = lookup_gvk(api_version, kind);
    let out = walk(Some(target), Some(patch.clone()), schema, 0)?;
    Ok(out.node.filter(|n| !n.is_null()))
}

/// The schema at one point of the walk.
#[derive(Clone, Copy, Debug)]
enum Schema {
    /// No schema: a lookup by the node's own apiVersion/kind may still find one.
    None,
    /// A known field whose subtree holds no merge lists.
    Opaque,
    /// An object type (index into `TYPES`).
    Type(u16),
    /// A map of objects of a type.
    MapOf(u16),
    /// A list.
    List {
        strategy: Option<&'static str>,
        keys: &'static [&'static str],
        items: Option<u16>,
    },
}

impl Schema {
    fn from_shape(shape: Shape) -> Schema {
        match shape {
            Shape::Type(t) => Schema::Type(t),
            Shape::MapOf(t) => Schema::MapOf(t),
            Shape::List {
                strategy,
                keys,
                items,
            } => Schema::List {
                strategy,
                keys,
                items,
            },
        }
    }

    fn field(self, key: &str) -> Schema {
        match self {
            Schema::None => Schema::None,
            Schema::Opaque => Schema::Opaque,
            Schema::MapOf(t) => Schema::Type(t),
            Schema::List { .. } => Schema::None,
            Schema::Type(t) => {
                let Some((_, fields)) = TYPES.get(usize::from(t)) else {
                    return Schema::Opaque;
                };
                match fields.binary_search_by(|(name, _)| (*name).cmp(key)) {
                    Ok(i) => fields
                        .get(i)
                        .map_or(Schema::Opaque, |(_, s)| Schema::from_shape(*s)),
                    Err(_) => Schema::Opaque,
                }
            }
        }
    }

    fn elements(self) -> Schema {
        match self {
            Schema::List { items: Some(t), .. } => Schema::Type(t),
            Schema::List { items: None, .. } | Schema::Opaque => Schema::Opaque,
            _ => Schema::None,
        }
    }

    fn is_associative(self) -> bool {
        matches!(self, Schema::List { strategy: Some(s), .. } if s.split(',').any(|p| p == "merge"))
    }
}

fn lookup_gvk(api_version: &str, kind: &str) -> Schema {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    match GVKS
        .iter()
        .find(|(g, v, k, _)| *g == group && *v == version && *k == kind)
    {
        Some((_, _, _, Some(t))) => Schema::Type(*t),
        Some((_, _, _, None)) => Schema::Opaque,
        None => Schema::None,
    }
}

/// kyaml's `GetSchema`: without a schema, a map that names its own apiVersion and kind gets
/// that kind's schema.
fn schema_for(schema: Schema, dest: Option<&Node>, origin: Option<&Node>) -> Schema {
    if !matches!(schema, Schema::None) {
        return schema;
    }
    for n in [dest, origin].into_iter().flatten() {
        if n.is_null() {
            continue;
        }
        let text = |k: &str| n.get(k).and_then(Node::scalar_text).unwrap_or("");
        let (av, k) = (text("apiVersion"), text("kind"));
        if av.is_empty() || k.is_empty() {
            continue;
        }
        let s = lookup_gvk(av, k);
        if !matches!(s, Schema::None) {
            return s;
        }
    }
    Schema::None
}

/// What one walk step produced.
struct Out {
    /// The value; `None` clears the field/element.
    node: Option<Node>,
    /// Whether the value is the destination node merged in place (kyaml returns the same
    /// pointer; list merging depends on that identity).
    from_dest: bool,
    /// A null that must be kept (an explicit `null` in the target that the patch leaves alone).
    keep_null: bool,
}

impl Out {
    fn clear() -> Out {
        Out {
            node: None,
            from_dest: false,
            keep_null: false,
        }
    }
    fn of(node: Option<Node>, from_dest: bool) -> Out {
        Out {
            node,
            from_dest,
            keep_null: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NodeKind {
    Map,
    Seq,
    Scalar,
}

fn kind_of(n: &Node) -> NodeKind {
    match n.value {
        Value::Map(_) => NodeKind::Map,
        Value::Seq(_) => NodeKind::Seq,
        Value::Scalar(_) => NodeKind::Scalar,
    }
}

fn missing_or_null(n: &Option<Node>) -> bool {
    n.as_ref().is_none_or(Node::is_null)
}

fn kind_name(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Map => "MappingNode",
        NodeKind::Seq => "SequenceNode",
        NodeKind::Scalar => "ScalarNode",
    }
}

const MAX_DEPTH: usize = 200;

fn walk(
    dest: Option<Node>,
    origin: Option<Node>,
    schema: Schema,
    depth: usize,
) -> Result<Out, String> {
    if depth > MAX_DEPTH {
        return Err("strategic merge patch: documents are nested too deeply".into());
    }
    let schema = schema_for(schema, dest.as_ref(), origin.as_ref());
    let kind = [&dest, &origin]
        .into_iter()
        .flatten()
        .find(|n| !n.is_null())
        .map(kind_of);
    if let Some(k) = kind {
        for n in [&dest, &origin].into_iter().flatten() {
            if !n.is_null() && kind_of(n) != k {
                return Err(format!(
                    "wrong node kind: expected {} but got {} (at {})",
                    kind_name(k),
                    kind_name(kind_of(n)),
                    n.pos
                ));
            }
        }
    }
    match kind {
        Some(NodeKind::Map) | None => walk_map(dest, origin, schema, depth),
        Some(NodeKind::Seq) => {
            if schema.is_associative() {
                walk_associative(dest, origin, schema, depth)
            } else if origin.is_some() {
                Ok(Out::of(origin, false))
            } else {
                Ok(Out::of(dest, true))
            }
        }
        Some(NodeKind::Scalar) => Ok(visit_scalar(dest, origin)),
    }
}

fn visit_scalar(dest: Option<Node>, origin: Option<Node>) -> Out {
    let Some(mut o) = origin else {
        return Out::of(dest, true);
    };
    if let (Some(d), Value::Scalar(os)) = (dest.as_ref().and_then(Node::as_scalar), &mut o.value) {
        restyle(os, d.style);
    }
    Out::of(Some(o), false)
}

/// Gives a patch scalar the style of the scalar it replaces, keeping its type a string when
/// it was one (kyaml re-quotes a `!!str` that would otherwise re-type).
fn restyle(s: &mut Scalar, style: Style) {
    if s.style == style || s.is_null() {
        return;
    }
    let was_str = s.resolve().is_str();
    s.style = style;
    if was_str && !s.resolve().is_str() && s.tag.is_none() {
        s.tag = Some("!!str".into());
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn parse_directive(v: &str) -> Result<Directive, String> {
    match v {
        "merge" => Ok(Directive::Merge),
        "replace" => Ok(Directive::Replace),
        "delete" => Ok(Directive::Delete),
        other => Err(format!("unknown patch strategy '{other}'")),
    }
}

/// kyaml's `determineSmpDirective` on a map: reads and removes `$patch`.
fn map_directive(origin: &mut Option<Node>) -> Result<Directive, String> {
    let Some(map) = origin.as_mut().and_then(Node::as_map_mut) else {
        return Ok(Directive::Merge);
    };
    let Some(v) = map.get("$patch") else {
        return Ok(Directive::Merge);
    };
    let text = v.as_scalar().map(|s| s.value.clone()).unwrap_or_default();
    let d = parse_directive(&text)?;
    map.remove("$patch");
    Ok(d)
}

/// The same on a list: the first element that is a map with `$patch`; only a one-key element
/// is a list directive (it is removed).
fn seq_directive(origin: &mut Option<Node>) -> Result<Directive, String> {
    let Some(items) = origin.as_mut().and_then(Node::as_seq_mut) else {
        return Ok(Directive::Merge);
    };
    let Some(i) = items
        .iter()
        .position(|e| e.as_map().is_some_and(|m| m.contains_key("$patch")))
    else {
        return Ok(Directive::Merge);
    };
    let Some(m) = items.get(i).and_then(Node::as_map) else {
        return Ok(Directive::Merge);
    };
    if m.len() != 1 {
        return Ok(Directive::Merge);
    }
    let text = m
        .get("$patch")
        .and_then(Node::as_scalar)
        .map(|s| s.value.clone())
        .unwrap_or_default();
    let d = parse_directive(&text)?;
    // kyaml elides every element that is exactly this directive.
    items.retain(|e| {
        !e.as_map().is_some_and(|m| {
            m.len() == 1
                && m.get("$patch")
                    .and_then(Node::as_scalar)
                    .is_some_and(|s| s.value == text)
        })
    });
    Ok(d)
}

fn walk_map(
    dest: Option<Node>,
    mut origin: Option<Node>,
    schema: Schema,
    depth: usize,
) -> Result<Out, String> {
    // VisitMap
    let (new_dest, from_dest) = if missing_or_null(&dest) {
        let ps = if origin.as_ref().is_some_and(|o| o.as_map().is_some()) {
            map_directive(&mut origin)?
        } else {
            Directive::Merge
        };
        if ps == Directive::Delete {
            return Ok(Out::clear());
        }
        if origin.is_none()
            && let Some(d) = dest
                .as_ref()
                .and_then(Node::as_scalar)
                .filter(|s| !s.value.is_empty())
        {
            let kept = Node::new(
                Value::Scalar(Scalar::plain(d.value.clone())),
                dest.as_ref().map(|n| n.pos.clone()).unwrap_or_default(),
            );
            return Ok(Out {
                node: Some(kept),
                from_dest: false,
                keep_null: true,
            });
        }
        (origin.clone(), false)
    } else {
        if origin.as_ref().is_some_and(Node::is_null) {
            return Ok(Out::clear());
        }
        match map_directive(&mut origin)? {
            Directive::Delete => return Ok(Out::clear()),
            Directive::Replace => (origin.clone(), false),
            Directive::Merge => (dest, true),
        }
    };
    let Some(mut new_dest) = new_dest else {
        return Ok(Out::of(None, from_dest));
    };
    if new_dest.as_map().is_none() {
        return Ok(Out::of(Some(new_dest), from_dest));
    }
    // Walk the union of the fields.
    let mut names: Vec<String> = Vec::new();
    for m in [new_dest.as_map(), origin.as_ref().and_then(Node::as_map)]
        .into_iter()
        .flatten()
    {
        for (k, _) in &m.entries {
            if !names.contains(&k.value) {
                names.push(k.value.clone());
            }
        }
    }
    names.sort();
    for name in names {
        let in_origin = origin
            .as_ref()
            .and_then(Node::as_map)
            .is_some_and(|m| m.contains_key(&name));
        // A field only the destination has, whose walk would return it as it is, is left
        // in place (no walk, so no copy or rebuild of the subtree).
        if !in_origin
            && new_dest
                .get(&name)
                .is_some_and(|d| unchanged_alone(d, schema.field(&name), depth + 1))
        {
            continue;
        }
        // Each field is moved out of both sides for its walk (and its result put back or
        // removed below), so no subtree is copied on the way down.
        let dv = new_dest.get_mut(&name).map(take);
        let okey = origin
            .as_ref()
            .and_then(Node::as_map)
            .and_then(|m| m.get_key(&name))
            .cloned();
        let ov = origin.as_mut().and_then(|o| o.get_mut(&name)).map(take);
        let out = walk(dv, ov, schema.field(&name), depth + 1)?;
        let Some(map) = new_dest.as_map_mut() else {
            break;
        };
        match out.node {
            Some(v) if !v.is_null() || out.keep_null => set_field(map, &name, okey, v),
            _ => {
                map.remove(&name);
            }
        }
    }
    Ok(Out::of(Some(new_dest), from_dest))
}

/// Whether [`walk`] of destination `n` with no patch (at `depth`, under `schema`) returns `n`
/// unchanged, so the walk can be left out. Conservative: `false` wherever the walk could
/// change something or fail — a null (dropped, or re-printed plain), an associative list
/// (its elements are merged by key, empty and duplicate ones dropped), a subtree that would
/// pass the depth limit. Everything else the walk returns as it was: scalars and other lists
/// as they are, maps field by field.
fn unchanged_alone(n: &Node, schema: Schema, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let schema = schema_for(schema, Some(n), None);
    match &n.value {
        Value::Scalar(_) => !n.is_null(),
        Value::Seq(_) => !schema.is_associative(),
        Value::Map(m) => m
            .iter()
            .all(|(k, v)| unchanged_alone(v, schema.field(k), depth + 1)),
    }
}

/// Moves a field's value out for its walk, leaving a null that the walk's result replaces.
fn take(slot: &mut Node) -> Node {
    std::mem::replace(slot, Node::null())
}

fn set_field(map: &mut Map, name: &str, key: Option<Key>, value: Node) {
    if let Some(slot) = map.get_mut(name) {
        *slot = value;
    } else {
        let key = key.unwrap_or_else(|| Key {
            value: name.to_string(),
            pos: value.pos.clone(),
        });
        map.insert_key(key, value);
    }
}

fn walk_associative(
    dest: Option<Node>,
    mut origin: Option<Node>,
    schema: Schema,
    depth: usize,
) -> Result<Out, String> {
    // VisitList (associative)
    let (dest, from_dest) = if missing_or_null(&dest) {
        (origin.clone(), false)
    } else {
        if origin.as_ref().is_some_and(Node::is_null) {
            return Ok(Out::clear());
        }
        let ps = if origin.as_ref().is_some_and(|o| o.as_seq().is_some()) {
            seq_directive(&mut origin)?
        } else {
            Directive::Merge
        };
        match ps {
            Directive::Delete => return Ok(Out::clear()),
            Directive::Replace => (origin.clone(), false),
            Directive::Merge => (dest, true),
        }
    };
    let Some(dest) = dest else {
        return Ok(Out::of(None, from_dest));
    };
    let Value::Seq(dest_items) = dest.value else {
        return Ok(Out::of(Some(dest), from_dest));
    };
    let dest_pos = dest.pos;
    let origin_items: Vec<Node> = origin
        .as_ref()
        .and_then(Node::as_seq)
        .cloned()
        .unwrap_or_default();
    let keys: Vec<&str> = match schema {
        Schema::List { keys, .. } => keys.to_vec(),
        _ => Vec::new(),
    };
    let sources = [&origin_items, &dest_items];
    let values = element_values(&sources, &keys);
    let mut lists = Lists {
        dest: dest_items,
        origin: origin_items,
    };
    let result = if !values.is_empty() || !keys.is_empty() {
        set_elements(&mut lists, values, &keys, schema.elements(), depth)?
    } else {
        let prims = primitive_values(&[&lists.origin, &lists.dest]);
        set_elements(&mut lists, prims, &[""], schema.elements(), depth)?
    };
    Ok(Out::of(
        Some(Node::new(Value::Seq(result), dest_pos)),
        from_dest,
    ))
}

struct Lists {
    dest: Vec<Node>,
    origin: Vec<Node>,
}

/// The text kyaml compares merge-key values by (empty for null, missing and collections).
fn value_text(n: &Node) -> String {
    match &n.value {
        Value::Scalar(s) if !s.is_null() => s.value.clone(),
        _ => String::new(),
    }
}

fn element_values(sources: &[&Vec<Node>], keys: &[&str]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for src in sources {
        for elem in src.iter() {
            let vals: Vec<String> = keys
                .iter()
                .map(|k| {
                    elem.as_map()
                        .and_then(|m| m.get(k))
                        .map(value_text)
                        .unwrap_or_default()
                })
                .collect();
            if vals.is_empty() || out.contains(&vals) {
                continue;
            }
            out.push(vals);
        }
    }
    out
}

fn primitive_values(sources: &[&Vec<Node>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for src in sources {
        for elem in src.iter() {
            let v = vec![
                elem.as_scalar()
                    .map(|s| s.value.clone())
                    .unwrap_or_default(),
            ];
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// kyaml's `mergeValues`: tuples that agree except where one side is empty are unified.
fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        for j in 0..list.len() {
            if let Some(m) = match_values(&list[i], &list[j]) {
                list[i] = m.clone();
                list[j] = m;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut res = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            res.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            res.push(x.clone());
        } else {
            res.push(y.clone());
        }
    }
    common.then_some(res)
}

/// kyaml's `validateKeys`: keep the keys that have a value somewhere in the list.
fn validate_keys<'a>(
    all: &[Vec<String>],
    values: &[String],
    keys: &[&'a str],
) -> (Vec<&'a str>, Vec<String>) {
    let has = |i: usize| all.iter().any(|v| v.get(i).is_some_and(|s| !s.is_empty()));
    if !(0..keys.len()).any(has) {
        return (keys.to_vec(), values.to_vec());
    }
    let vk: Vec<&str> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| has(*i))
        .map(|(_, k)| *k)
        .collect();
    let vv: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || has(*i))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// kyaml's `ElementList`: index of the first element whose fields match all keys.
fn element_list(list: &[Node], keys: &[&str], values: &[String]) -> Option<usize> {
    let (keys, values) = validate_keys(&[values.to_vec()], values, keys);
    if keys.first().is_none_or(|k| k.is_empty()) {
        let v = values.first()?;
        return list.iter().position(|e| {
            e.as_scalar().is_some_and(|s| &s.value == v)
                || (e.as_scalar().is_none() && v.is_empty())
        });
    }
    if keys.len() != values.len() {
        return None;
    }
    list.iter().position(|e| {
        e.as_map().is_some_and(|m| {
            keys.iter()
                .zip(&values)
                .all(|(k, v)| m.get(k).is_some_and(|f| raw_str(f) == v))
        })
    })
}

/// A node's raw scalar text as kyaml compares it (`Value` of the yaml node).
fn raw_text(n: &Node) -> String {
    raw_str(n).to_string()
}

/// [`raw_text`], borrowed.
fn raw_str(n: &Node) -> &str {
    match &n.value {
        Value::Scalar(s) => &s.value,
        _ => "",
    }
}

fn is_empty_map(n: &Node) -> bool {
    n.as_map().is_some_and(Map::is_empty)
}

/// kyaml's `ElementSetter`: replaces (or deletes, when `element` is `None`) every element that
/// matches; appends `element` when nothing matched. Null and empty-map elements are dropped.
fn element_setter(
    list: &mut Vec<Node>,
    element: Option<Node>,
    keys: &[&str],
    values: &[String],
) -> Result<(), String> {
    let mut out = Vec::with_capacity(list.len() + 1);
    // Where `element` goes (every match): filled in after the loop, so that it is copied
    // only when more than one element matched.
    let mut slots = Vec::new();
    let primitive = keys.first().is_none_or(|k| k.is_empty());
    for elem in list.drain(..) {
        if elem.is_null() || is_empty_map(&elem) {
            continue;
        }
        if elem.as_map().is_none() && !primitive {
            out.push(elem);
            continue;
        }
        let mut matched = true;
        let mut last = true;
        for (j, key) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                last = field_matches(&elem, key, v)?;
            }
            if !last {
                matched = false;
                break;
            }
        }
        if !matched {
            if !values.is_empty() {
                out.push(elem);
            }
            continue;
        }
        if element.is_some() {
            slots.push(out.len());
            out.push(Node::null());
        }
    }
    *list = out;
    let Some(e) = element else {
        return Ok(());
    };
    match slots.split_last() {
        Some((last, rest)) => {
            for i in rest {
                if let Some(slot) = list.get_mut(*i) {
                    *slot = e.clone();
                }
            }
            if let Some(slot) = list.get_mut(*last) {
                *slot = e;
            }
        }
        None if !e.is_null() => list.push(e),
        None => {}
    }
    Ok(())
}

/// kyaml's `FieldMatcher`: an empty `value` matches any present field.
fn field_matches(elem: &Node, key: &str, value: &str) -> Result<bool, String> {
    if elem.is_null() {
        return Ok(false);
    }
    if key.is_empty() {
        let Some(s) = elem.as_scalar() else {
            return Err(format!(
                "wrong node kind: expected ScalarNode but got MappingNode (at {})",
                elem.pos
            ));
        };
        return Ok(value.is_empty() || s.value == value);
    }
    let Some(m) = elem.as_map() else {
        return Err(format!(
            "wrong node kind: expected MappingNode but got ScalarNode (at {})",
            elem.pos
        ));
    };
    Ok(m.get(key)
        .is_some_and(|f| value.is_empty() || raw_str(f) == value))
}

fn set_elements(
    lists: &mut Lists,
    mut values_list: Vec<Vec<String>>,
    keys: &[&str],
    elem_schema: Schema,
    depth: usize,
) -> Result<Vec<Node>, String> {
    let mut items: Vec<Node> = Vec::new();
    if keys.len() > 1 {
        merge_values(&mut values_list);
    }
    let mut valid_keys: Vec<&str> = Vec::new();
    for values in &values_list {
        if values.is_empty() {
            continue;
        }
        let (vk, vv) = validate_keys(&values_list, values, keys);
        valid_keys = vk.clone();
        let di = element_list(&lists.dest, &vk, &vv);
        let oi = element_list(&lists.origin, &vk, &vv);
        let dv = di.and_then(|i| lists.dest.get(i)).cloned();
        let ov = oi.and_then(|i| lists.origin.get(i)).cloned();
        let out = walk(dv, ov, elem_schema, depth + 1)?;
        let mut val = out.node;
        let gone = match &val {
            None => true,
            Some(v) => (v.is_null() && !out.keep_null) || is_empty_map(v),
        };
        if gone {
            element_setter(&mut lists.dest, None, &vk, &vv)?;
            continue;
        }
        if let Some(v) = val.as_mut() {
            for (i, key) in vk.iter().enumerate() {
                let want = vv.get(i).map(String::as_str).unwrap_or("");
                if want.is_empty() {
                    continue;
                }
                if key.is_empty() {
                    if let Value::Scalar(s) = &mut v.value {
                        *s = Scalar {
                            value: want.to_string(),
                            style: s.style,
                            tag: None,
                            flow_empty: false,
                        };
                    }
                } else if let Some(m) = v.as_map_mut()
                    && !m.contains_key(key)
                {
                    m.insert(*key, Node::plain(want));
                }
            }
        }
        if out.from_dest
            && let (Some(i), Some(v)) = (di, val.as_ref())
            && let Some(slot) = lists.dest.get_mut(i)
        {
            *slot = v.clone();
        }
        if let Some(v) = val {
            element_setter(&mut items, Some(v), &vk, &vv)?;
        }
    }
    if values_list.is_empty() {
        return Ok(std::mem::take(&mut lists.dest));
    }
    append_list(&mut items, std::mem::take(&mut lists.dest), &valid_keys)?;
    Ok(items)
}

/// kyaml's `appendListNode(dst, src, keys)`.
fn append_list(dst: &mut Vec<Node>, src: Vec<Node>, keys: &[&str]) -> Result<(), String> {
    let Some(first) = keys.first() else {
        return Ok(());
    };
    for elem in src {
        if first.is_empty() {
            let v = vec![
                elem.as_scalar()
                    .map(|s| s.value.clone())
                    .unwrap_or_default(),
            ];
            element_setter(dst, Some(elem.clone()), &[""], &v)?;
            continue;
        }
        let Some(m) = elem.as_map() else {
            return Err(format!(
                "wrong node kind: expected MappingNode but got {} (at {})",
                kind_name(kind_of(&elem)),
                elem.pos
            ));
        };
        let mut v = Vec::new();
        let mut missing = 0;
        for key in keys {
            match m.get(key) {
                None => missing += 1,
                Some(f) => v.push(raw_text(f)),
            }
        }
        for _ in 0..missing {
            dst.push(elem.clone());
        }
        if keys.len() > 1 {
            element_setter(dst, None, keys, &v)?;
        }
        element_setter(dst, Some(elem.clone()), keys, &v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::merge;
    use crate::yaml::{emit, parse_stream, to_output};

    /// Merges `patch` into `base` (both one-document YAML) and prints the result as kustomize
    /// does, or `<deleted>`.
    fn run(base: &str, patch: &str) -> String {
        let b = parse_stream(base, "base.yaml").unwrap().remove(0);
        let p = parse_stream(patch, "patch.yaml").unwrap().remove(0);
        let av = b
            .get("apiVersion")
            .and_then(|n| n.scalar_text())
            .unwrap_or("")
            .to_string();
        let kind = b
            .get("kind")
            .and_then(|n| n.scalar_text())
            .unwrap_or("")
            .to_string();
        match merge(b, &p, &av, &kind) {
            Ok(Some(n)) => emit(&to_output(&n).unwrap()),
            Ok(None) => "<deleted>".into(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[track_caller]
    fn check(base: &str, patch: &str, expected: &str) {
        assert_eq!(run(base, patch), expected);
    }

    #[track_caller]
    fn check_err(base: &str, patch: &str, message: &str) {
        let got = run(base, patch);
        assert!(got.starts_with("error: ") && got.contains(message), "{got}");
    }

    // Expected outputs below are `kubectl kustomize` (v5.5.0) runs of the same base/patch.

    #[test]
    fn containers_order() {
        check(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: a, image: a}, {name: b, image: b}]}}}\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: b, image: B}, {name: c, image: c}]}}}\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - image: B\n        name: b\n      - image: c\n        name: c\n      - image: a\n        name: a\n",
        );
    }

    #[test]
    fn env_valuefrom() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, env: [{name: E, value: v}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, env: [{name: E, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - env:\n    - name: E\n      value: v\n      valueFrom:\n        secretKeyRef:\n          key: k\n          name: s\n    name: a\n",
        );
    }

    #[test]
    fn last_label() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {a: b}}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {a: null}}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n  name: x\n",
        );
    }

    #[test]
    fn delete_item() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}, {name: b}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, $patch: delete}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: b\n",
        );
    }

    #[test]
    fn replace_list() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: a}, {name: b}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{$patch: replace}, {name: c}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n",
        );
    }

    #[test]
    fn replace_map() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x, labels: {a: '1', b: '2'}}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x, labels: {$patch: replace, c: '3'}}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    c: \"3\"\n  name: x\n",
        );
    }

    #[test]
    fn delete_map() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, resources: {limits: {cpu: 1}}}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, resources: {$patch: delete}}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n",
        );
    }

    #[test]
    fn delete_top() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {a: 1}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n$patch: delete\n",
            "<deleted>",
        );
    }

    #[test]
    fn null_new_map() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, annotations: {q: null, r: s}}\ndata: {a: null, c: null}\n",
            "apiVersion: v1\ndata: {}\nkind: ConfigMap\nmetadata:\n  annotations:\n    r: s\n  name: x\n",
        );
    }

    #[test]
    fn quoted() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: \"50\", b: plain, c: 'x'}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 200, b: \"60\", c: true}\n",
            "apiVersion: v1\ndata:\n  a: \"200\"\n  b: \"60\"\n  c: \"true\"\nkind: ConfigMap\nmetadata:\n  name: x\n",
        );
    }

    #[test]
    fn crd_list() {
        check(
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {items: [{name: a, v: 1}, {name: b}], m: {k: 1, j: 2}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {items: [{name: a, $patch: delete}, {name: c, p: null}], m: {k: null, l: 3}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata:\n  name: x\nspec:\n  items:\n  - $patch: delete\n    name: a\n  - name: c\n    p: null\n  m:\n    j: 2\n    l: 3\n",
        );
    }

    #[test]
    fn crd_replace() {
        check(
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {m: {k: 1, j: 2}, n: {a: 1}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {m: {$patch: replace, z: 1}, n: {$patch: delete}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata:\n  name: x\nspec:\n  m:\n    z: 1\n",
        );
    }

    #[test]
    fn svc_ports() {
        check(
            "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, protocol: TCP, targetPort: 8080}, {port: 53, protocol: UDP}]}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, protocol: TCP, targetPort: 9090}, {port: 53, protocol: TCP}, {port: 443}]}\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 53\n    protocol: TCP\n  - port: 443\n  - port: 80\n    protocol: TCP\n    targetPort: 9090\n  - port: 53\n    protocol: UDP\n",
        );
    }

    #[test]
    fn finalizers() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, finalizers: [a, b]}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, finalizers: [c, a]}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  finalizers:\n  - c\n  - a\n  - b\n  name: x\n",
        );
    }

    #[test]
    fn set_order() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {$setElementOrder/containers: [{name: a}], containers: [{name: a, image: i}], $retainKeys: [containers]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  $retainKeys:\n  - containers\n  $setElementOrder/containers:\n  - name: a\n  containers:\n  - image: i\n    name: a\n",
        );
    }

    #[test]
    fn empty_values() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: , b: ~, c: null, d: \"\"}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {e: f}\n",
            "apiVersion: v1\ndata:\n  b: null\n  c: null\n  d: \"\"\n  e: f\nkind: ConfigMap\nmetadata:\n  name: x\n",
        );
    }

    #[test]
    fn unknown_strategy() {
        check_err(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {$patch: foo}\n",
            "unknown patch strategy 'foo'",
        );
    }

    #[test]
    fn scalar_over_map() {
        check_err(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: 5\n",
            "wrong node kind: expected MappingNode but got ScalarNode",
        );
    }

    #[test]
    fn map_over_scalar() {
        check_err(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: {b: c}}\n",
            "wrong node kind: expected ScalarNode but got MappingNode",
        );
    }

    #[test]
    fn mounts() {
        check(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {template: {spec: {volumes: [{name: v1, emptyDir: {}}], containers: [{name: a, args: [x, y], volumeMounts: [{name: v1, mountPath: /a}]}]}}}\n",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {template: {spec: {volumes: [{name: v2, configMap: {name: c}}], containers: [{name: a, args: [z], volumeMounts: [{name: v2, mountPath: /b}, {name: v1x, mountPath: /a}]}]}}}\n",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - args:\n        - z\n        name: a\n        volumeMounts:\n        - mountPath: /b\n          name: v2\n        - mountPath: /a\n          name: v1x\n      volumes:\n      - configMap:\n          name: c\n        name: v2\n      - emptyDir: {}\n        name: v1\n",
        );
    }

    #[test]
    fn nested_kind() {
        check(
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {tpl: {apiVersion: v1, kind: Pod, spec: {containers: [{name: a, image: a}]}}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {tpl: {apiVersion: v1, kind: Pod, spec: {containers: [{name: b, image: b}]}}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata:\n  name: x\nspec:\n  tpl:\n    apiVersion: v1\n    kind: Pod\n    spec:\n      containers:\n      - image: b\n        name: b\n      - image: a\n        name: a\n",
        );
    }

    #[test]
    fn list_delete_directive() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{$patch: delete}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec: {}\n",
        );
    }

    #[test]
    fn add_list_with_replace() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, env: [{name: x, value: null}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - env:\n    - name: x\n    name: a\n",
        );
    }

    #[test]
    fn hpa_v2_metrics() {
        check(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\nspec: {metrics: [{type: Resource}], maxReplicas: 3}\n",
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\nspec: {metrics: [{type: Pods}]}\n",
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\nspec:\n  maxReplicas: 3\n  metrics:\n  - type: Pods\n",
        );
    }

    #[test]
    fn dup_keys() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: 1}, {name: a, image: 2}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: b}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: b\n  - image: 2\n    name: a\n",
        );
    }

    #[test]
    fn literal_over() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: \"x\", b: y}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: \"true\", b: \"0x10\"}\n",
            "apiVersion: v1\ndata:\n  a: \"true\"\n  b: \"0x10\"\nkind: ConfigMap\nmetadata:\n  name: x\n",
        );
    }

    #[test]
    fn int_key_env() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 80}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: \"80\", name: h}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: \"80\"\n      name: h\n",
        );
    }

    #[test]
    fn ports_protocol_lost() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1, protocol: TCP}, {containerPort: 3}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1, name: r}, {containerPort: 2}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 2\n    - containerPort: 1\n      protocol: TCP\n    - containerPort: 3\n",
        );
    }

    #[test]
    fn ports_no_protocols() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1}, {containerPort: 2}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 2, name: r}, {containerPort: 3}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 2\n      name: r\n    - containerPort: 3\n    - containerPort: 1\n",
        );
    }

    #[test]
    fn ports_same_port_two_protocols() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1, protocol: UDP}, {containerPort: 1, protocol: TCP}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1, protocol: TCP, name: r}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 1\n      protocol: UDP\n    - containerPort: 1\n      name: r\n      protocol: TCP\n",
        );
    }

    #[test]
    fn ports_delete_needs_protocol() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1, protocol: TCP}, {containerPort: 2, protocol: TCP}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 2, $patch: delete}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 1\n      protocol: TCP\n    - containerPort: 2\n      protocol: TCP\n",
        );
    }

    #[test]
    fn ports_patch_protocol_base_none() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 1}, {containerPort: 2}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, ports: [{containerPort: 2, name: r, protocol: TCP}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 1\n    - containerPort: 2\n",
        );
    }

    #[test]
    fn replace_and_delete_items() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}, {name: b}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, $patch: delete}, {$patch: replace}, {name: c}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n",
        );
    }

    #[test]
    fn new_map_directives() {
        check(
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {a: 1}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata: {name: x}\nspec: {b: {$patch: replace, c: {$patch: delete}, d: 1, e: null}}\n",
            "apiVersion: ex.com/v1\nkind: Foo\nmetadata:\n  name: x\nspec:\n  a: 1\n  b:\n    d: 1\n",
        );
    }

    #[test]
    fn scalar_over_null() {
        check(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: null, b: \"\"}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 5, b: 6}\n",
            "apiVersion: v1\ndata:\n  a: 5\n  b: \"6\"\nkind: ConfigMap\nmetadata:\n  name: x\n",
        );
    }

    #[test]
    fn list_null_deletes() {
        check(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, args: [x], env: [{name: e}]}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, args: null, env: null}]}\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n",
        );
    }

    #[test]
    fn patched_values_keep_patch_positions() {
        let b = parse_stream(
            "kind: ConfigMap\napiVersion: v1\ndata:\n  a: x\n  b: y\n",
            "base.yaml",
        )
        .unwrap()
        .remove(0);
        let p = parse_stream(
            "kind: ConfigMap\napiVersion: v1\ndata:\n  b: z\n",
            "patch.yaml",
        )
        .unwrap()
        .remove(0);
        let m = merge(b, &p, "v1", "ConfigMap").unwrap().unwrap();
        let a = m.get_path(&["data", "a"]).unwrap();
        let bb = m.get_path(&["data", "b"]).unwrap();
        assert_eq!((&*a.pos.file, a.pos.line), ("base.yaml", 4));
        assert_eq!((&*bb.pos.file, bb.pos.line), ("patch.yaml", 4));
    }
}
