//! RFC 6902 JSON patches applied to a node tree, with the behaviour (and the messages) of
//! `gopkg.in/evanphx/json-patch.v4`, the library kustomize v5.5 uses.
//!
//! Quirks copied on purpose, each checked against `kubectl kustomize`:
//! - `replace` of a missing *map key* adds it (only array indexes must exist);
//! - `add`/`remove`/`replace` accept negative array indexes (`-1` is the last element; for
//!   `add`, `-1` appends), and leading zeros (`01` is index 1);
//! - a path without a leading `/` addresses the root (`spec/x` sets the key `x`);
//! - a missing or null intermediate value is "doc is missing path";
//! - `copy` from a missing key copies a null;
//! - `test` compares JSON values: `2`, `2.0` and `2e0` are equal, `"2"` is not, maps compare
//!   without regard to key order; a missing or null target equals `value: null`.
//!
//! kustomize reads the patch through go-yaml v2 (YAML 1.1), so plain `yes`, `on`, `y` in a
//! patch value are booleans and a plain date stays a string; [`apply`] re-types inserted values
//! accordingly. Inserted values keep the positions they had in the patch file.

use super::CopyBudget;
use crate::yaml::{
    Extent, MAX_DEPTH, Node, Out, Resolved, Style, Value, extent, resolve_plain, to_output,
};

/// Applies the operations in `ops` (a sequence of `{op, path, value, from}` maps) to `target`.
///
/// Errors are worded as kustomize words them, e.g.
/// `testing value /spec/container/cpu failed: test failed`.
///
/// Every value put into the tree must fit in [`MAX_DEPTH`] where it lands, and the nodes that
/// `copy` duplicates are spent from `budget` (json-patch's accumulated copy size limit, here
/// for the whole build), so that operations that double a value refuse instead of taking all
/// memory.
pub fn apply(target: &mut Node, ops: &Node, budget: &CopyBudget) -> Result<(), String> {
    let Some(items) = ops.as_seq() else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            json_kind(ops)
        ));
    };
    for op in items {
        apply_one(target, op, budget)?;
    }
    through_float64(target);
    Ok(())
}

/// kustomize applies the patch to the resource's JSON and decodes the result into Go
/// `interface{}` values, so every number becomes a float64: integers beyond 2^53 lose
/// precision (`12345678901234567890` comes out as `12345678901234567000`).
fn through_float64(node: &mut Node) {
    const EXACT: u64 = 1 << 53;
    match &mut node.value {
        Value::Scalar(s) => {
            let f = match s.resolve() {
                Resolved::Int(i) if i.unsigned_abs() > EXACT => i as f64,
                Resolved::Uint(u) if u > EXACT => u as f64,
                _ => return,
            };
            // Rust's shortest round-trip Display, like Go's 'f' formatting below 1e21.
            s.value = format!("{f}");
            s.style = Style::Plain;
            s.tag = None;
        }
        Value::Seq(items) => items.iter_mut().for_each(through_float64),
        Value::Map(m) => m.entries.iter_mut().for_each(|(_, v)| through_float64(v)),
    }
}

/// Applies one operation.
fn apply_one(doc: &mut Node, op: &Node, budget: &CopyBudget) -> Result<(), String> {
    if op.as_map().is_none() {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            json_kind(op)
        ));
    }
    let kind = match op.get("op") {
        Some(n) if !n.is_null() => n.as_str().unwrap_or("unknown"),
        _ => "unknown",
    };
    match kind {
        "add" => {
            let path =
                field(op, "path").ok_or("add operation failed to decode path: missing value")?;
            let (con, key) = find_object(doc, &path).ok_or_else(|| {
                format!(
                    "add operation does not apply: doc is missing path: \"{path}\": missing value"
                )
            })?;
            let value = patch_value(op);
            fits(&path, &value)?;
            add(con, &key, value).map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        "remove" => {
            let path =
                field(op, "path").ok_or("remove operation failed to decode path: missing value")?;
            let (con, key) = find_object(doc, &path)
                .ok_or_else(|| format!("remove operation does not apply: doc is missing path: \"{path}\": missing value"))?;
            remove(con, &key)
                .map(drop)
                .map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "replace" => {
            let path = field(op, "path")
                .ok_or("replace operation failed to decode path: operation missing path field: missing value")?;
            if path.is_empty() {
                return replace_root(doc, op);
            }
            let (con, key) = find_object(doc, &path).ok_or_else(|| {
                format!(
                    "replace operation does not apply: doc is missing path: {path}: missing value"
                )
            })?;
            if get(con, &key).is_err() {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {path}: missing value"
                ));
            }
            let value = patch_value(op);
            fits(&path, &value)?;
            set(con, &key, value).map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "move" => {
            let from = field(op, "from")
                .ok_or("move operation failed to decode from: operation, missing from field: missing value")?;
            let (con, key) = find_object(doc, &from).ok_or_else(|| {
                format!(
                    "move operation does not apply: doc is missing from path: {from}: missing value"
                )
            })?;
            get(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let moved =
                remove(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let path = field(op, "path").ok_or(
                "move operation failed to decode path: operation missing path field: missing value",
            )?;
            fits(&path, &moved)?;
            let (con, key) = find_object(doc, &path).ok_or_else(|| {
                format!("move operation does not apply: doc is missing destination path: {path}: missing value")
            })?;
            add(con, &key, moved).map_err(|e| format!("error in move for path: '{path}': {e}"))
        }
        "copy" => {
            let from = field(op, "from")
                .ok_or("copy operation failed to decode from: operation, missing from field: missing value")?;
            let (con, key) = find_object(doc, &from).ok_or_else(|| {
                format!(
                    "copy operation does not apply: doc is missing from path: {from}: missing value"
                )
            })?;
            let copied = get(con, &key)
                .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                .cloned()
                .unwrap_or_else(Node::null);
            let path =
                field(op, "path").ok_or("copy operation failed to decode path: missing value")?;
            let size = fits(&path, &copied)?;
            budget
                .spend(size.nodes)
                .map_err(|e| format!("error in copy for path: '{path}': {e}"))?;
            let (con, key) = find_object(doc, &path).ok_or_else(|| {
                format!("copy operation does not apply: doc is missing destination path: {path}: missing value")
            })?;
            add(con, &key, copied).map_err(|e| format!("error while adding value during copy: {e}"))
        }
        "test" => {
            let path = field(op, "path").ok_or(
                "test operation failed to decode path: operation missing path field: missing value",
            )?;
            let failed = || format!("testing value {path} failed: test failed");
            let want = op.get("value").map(v2_typed);
            if path.is_empty() {
                return match want {
                    Some(w) if json_equal(doc, &w) => Ok(()),
                    _ => Err(failed()),
                };
            }
            let (con, key) = find_object(doc, &path).ok_or_else(|| {
                format!("test operation does not apply: is missing path: {path}: missing value")
            })?;
            let got =
                get(con, &key).map_err(|e| format!("error in test for path: '{path}': {e}"))?;
            match (got, want) {
                // A missing or null target equals an explicit null.
                (None, Some(w)) if w.is_null() => Ok(()),
                (Some(g), Some(w)) if !w.is_null() && json_equal(g, &w) => Ok(()),
                _ => Err(failed()),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

/// Refuses a value that would nest deeper than [`MAX_DEPTH`] at `path` (each pointer segment
/// is one collection above it); returns the value's size.
fn fits(path: &str, value: &Node) -> Result<Extent, String> {
    let size = extent(value);
    let above = path.matches('/').count();
    if above + size.depth > MAX_DEPTH {
        return Err(format!(
            "cannot put a value {} levels deep at path '{path}': exceeded max depth of {MAX_DEPTH}",
            size.depth
        ));
    }
    Ok(size)
}

/// `replace` at the root: an object or array value replaces the document; anything else is
/// silently ignored (json-patch wraps a nil error there).
fn replace_root(doc: &mut Node, op: &Node) -> Result<(), String> {
    let Some(value) = op.get("value") else {
        return Ok(());
    };
    match &value.value {
        Value::Map(_) => {
            *doc = v2_typed(value);
            Ok(())
        }
        Value::Seq(_) => {
            Err("json: cannot unmarshal array into Go value of type map[string]interface {}".into())
        }
        Value::Scalar(_) => Ok(()),
    }
}

/// A string field of an operation (`path`, `from`); `None` when missing, null or not a string.
fn field(op: &Node, key: &str) -> Option<String> {
    op.get(key)
        .filter(|n| !n.is_null())
        .and_then(Node::as_str)
        .map(str::to_string)
}

/// The operation's `value`, typed as kustomize reads it; a missing value is null.
fn patch_value(op: &Node) -> Node {
    op.get("value").map(v2_typed).unwrap_or_else(Node::null)
}

/// JSON's name for a node's type, for unmarshal errors.
fn json_kind(n: &Node) -> &'static str {
    match &n.value {
        Value::Map(_) => "object",
        Value::Seq(_) => "array",
        Value::Scalar(s) => match s.resolve() {
            Resolved::Null => "null",
            Resolved::Bool(_) => "bool",
            Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => "number",
            _ => "string",
        },
    }
}

/// RFC 6901 unescaping, left to right without rescanning (`~01` is `~1`).
fn decode_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut chars = k.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('1') => {
                    chars.next();
                    out.push('/');
                    continue;
                }
                Some('0') => {
                    chars.next();
                    out.push('~');
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// json-patch's `findObject`: the container holding the last path segment, and that segment.
/// `None` when the path has no `/`, or an intermediate value is missing, null or a scalar.
fn find_object<'a>(doc: &'a mut Node, path: &str) -> Option<(&'a mut Node, String)> {
    let split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return None;
    }
    let key = decode_key(split[split.len() - 1]);
    let mut cur = doc;
    for part in &split[1..split.len() - 1] {
        let part = decode_key(part);
        let node = cur;
        let next = match &mut node.value {
            Value::Map(m) => m.get_mut(&part)?,
            Value::Seq(items) => {
                let i = seq_index(&part, items.len()).ok()?;
                items.get_mut(i)?
            }
            Value::Scalar(_) => return None,
        };
        if !matches!(next.value, Value::Map(_) | Value::Seq(_)) {
            return None;
        }
        cur = next;
    }
    Some((cur, key))
}

/// Go's `strconv.Atoi`, with its error text.
fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

fn invalid_index(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// An existing element's index (json-patch's `partialArray.get`): negative counts from the end.
fn seq_index(key: &str, len: usize) -> Result<usize, String> {
    let len = len as i64;
    let mut idx = go_atoi(key)?;
    if idx < 0 {
        if idx < -len {
            return Err(invalid_index(idx));
        }
        idx += len;
    }
    if idx >= len {
        return Err(invalid_index(idx));
    }
    Ok(idx as usize)
}

/// The value at `key` of a container; `Ok(None)` for a missing map key or a null.
fn get<'a>(con: &'a Node, key: &str) -> Result<Option<&'a Node>, String> {
    let found = match &con.value {
        Value::Map(m) => m.get(key),
        Value::Seq(items) => items.get(seq_index(key, items.len())?),
        Value::Scalar(_) => None,
    };
    Ok(found.filter(|n| !n.is_null()))
}

/// json-patch's `add` on a container.
fn add(con: &mut Node, key: &str, val: Node) -> Result<(), String> {
    match &mut con.value {
        Value::Map(m) => {
            m.insert(key, val);
            Ok(())
        }
        Value::Seq(items) => {
            if key == "-" {
                items.push(val);
                return Ok(());
            }
            let mut idx = go_atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            let size = items.len() as i64 + 1;
            if idx >= size {
                return Err(invalid_index(idx));
            }
            if idx < 0 {
                if idx < -size {
                    return Err(invalid_index(idx));
                }
                idx += size;
            }
            items.insert(idx as usize, val);
            Ok(())
        }
        Value::Scalar(_) => Err("value is not a container".into()),
    }
}

/// json-patch's `remove` on a container; returns the removed value.
fn remove(con: &mut Node, key: &str) -> Result<Node, String> {
    match &mut con.value {
        Value::Map(m) => m
            .remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: missing value")),
        Value::Seq(items) => {
            let len = items.len() as i64;
            let mut idx = go_atoi(key)?;
            if idx >= len {
                return Err(invalid_index(idx));
            }
            if idx < 0 {
                if idx < -len {
                    return Err(invalid_index(idx));
                }
                idx += len;
            }
            Ok(items.remove(idx as usize))
        }
        Value::Scalar(_) => Err("value is not a container".into()),
    }
}

/// json-patch's `set` (used by `replace` after the key was checked).
fn set(con: &mut Node, key: &str, val: Node) -> Result<(), String> {
    match &mut con.value {
        Value::Map(m) => {
            m.insert(key, val);
            Ok(())
        }
        Value::Seq(items) => {
            let i = seq_index(key, items.len())?;
            items[i] = val;
            Ok(())
        }
        Value::Scalar(_) => Err("value is not a container".into()),
    }
}

/// A patch value as kustomize sees it after reading the patch with go-yaml v2 and converting
/// it to JSON: YAML 1.1 booleans (`yes`, `on`, `y`, ...) are booleans and plain timestamps
/// stay strings. Positions are kept.
fn v2_typed(node: &Node) -> Node {
    let mut out = node.clone();
    retype(&mut out);
    out
}

fn retype(node: &mut Node) {
    match &mut node.value {
        Value::Scalar(s) => {
            if s.tag.is_some() || s.style != Style::Plain {
                return;
            }
            match s.value.as_str() {
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => s.value = "true".into(),
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => s.value = "false".into(),
                _ => {
                    if matches!(resolve_plain(&s.value), Resolved::Timestamp(_)) {
                        s.style = Style::DoubleQuoted;
                    }
                }
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(retype),
        Value::Map(m) => m.entries.iter_mut().for_each(|(_, v)| retype(v)),
    }
}

/// JSON equality of two values, as json-patch's `test` decides it.
fn json_equal(a: &Node, b: &Node) -> bool {
    match (to_output(a), to_output(b)) {
        (Ok(a), Ok(b)) => out_equal(&a, &b),
        _ => false,
    }
}

fn out_equal(a: &Out, b: &Out) -> bool {
    match (a, b) {
        (Out::Null, Out::Null) => true,
        (Out::Bool(x), Out::Bool(y)) => x == y,
        (Out::Str(x), Out::Str(y)) => x == y,
        (Out::Seq(x), Out::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| out_equal(p, q))
        }
        (Out::Map(x), Out::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .find(|(k2, _)| k2 == k)
                        .is_some_and(|(_, v2)| out_equal(v, v2))
                })
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// A number as the text Go's `encoding/json` writes for it (what json-patch compares).
fn number(v: &Out) -> Option<String> {
    match v {
        Out::Int(i) => Some(i.to_string()),
        Out::Uint(u) => Some(u.to_string()),
        // Integral floats below 1e21 print without exponent; Rust's shortest Display matches.
        Out::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => Some(format!("{f}")),
        Out::Float(f) => Some(format!("{f:e}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::apply;
    use crate::yaml::{emit, parse_stream, to_output};

    /// The resource every case starts from (the one the expectations were produced with).
    const DOC: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: {a: \"1\"}
spec:
  replicas: 2
  list: [a, b, c]
  objs: [{name: x, v: 1}, {name: y, v: \"2\"}]
  m: {k: v, n: 5, f: 1.50, s: \"5\", t: true, z: null}
";

    /// Applies `ops` to [`DOC`] and returns the YAML of `spec` (or of the whole doc when
    /// `spec` is gone), or the error.
    fn run(ops: &str) -> String {
        let mut doc = parse_stream(DOC, "r.yaml").unwrap().remove(0);
        let ops = parse_stream(ops, "p.yaml").unwrap().remove(0);
        match apply(&mut doc, &ops, &super::super::CopyBudget::default()) {
            Ok(()) => emit(&to_output(&doc).unwrap()),
            Err(e) => format!("ERR {e}"),
        }
    }

    /// `want` must occur in the output (outputs were taken from `kubectl kustomize` v5.5.0).
    fn check(ops: &str, want: &str) {
        let got = run(ops);
        assert!(
            got.contains(want),
            "ops {ops}\nwant (substring): {want}\ngot:\n{got}"
        );
    }

    fn check_not(ops: &str, unwanted: &str) {
        let got = run(ops);
        assert!(
            !got.contains(unwanted),
            "ops {ops}\nunwanted: {unwanted}\ngot:\n{got}"
        );
    }

    #[test]
    fn add() {
        check(
            "- {op: add, path: /spec/list/3, value: q}",
            "  - c\n  - q\n",
        );
        check(
            "- {op: add, path: /spec/list/-, value: q}",
            "  - c\n  - q\n",
        );
        check(
            "- {op: add, path: /spec/list/-1, value: q}",
            "  - c\n  - q\n",
        );
        check(
            "- {op: add, path: /spec/list/-2, value: q}",
            "  - b\n  - q\n  - c\n",
        );
        check(
            "- {op: add, path: /spec/list/-4, value: q}",
            "  list:\n  - q\n  - a\n",
        );
        check(
            "- {op: add, path: /spec/list/01, value: q}",
            "  - a\n  - q\n  - b\n",
        );
        check("- {op: add, path: /foo, value: {a: 1}}", "foo:\n  a: 1\n");
        check("- {op: add, path: spec/new, value: 1}", "\nnew: 1\n");
        check("- {op: add, path: /spec/new}", "  new: null\n");
        check("- {op: add, path: /spec/m/-, value: q}", "    '-': q\n");
        check("- {op: add, path: /spec/m/0, value: q}", "    \"0\": q\n");
        check("- {op: add, path: /spec/m/, value: q}", "    \"\": q\n");
        check(
            "- {op: add, path: /metadata/labels/a~1b~0c, value: q}",
            "    a/b~c: q\n",
        );
        check(
            "- {op: add, path: /spec/new, value: {name: x, v: 1}}",
            "  new:\n    name: x\n    v: 1\n",
        );
    }

    #[test]
    fn add_errors() {
        check(
            "- {op: add, path: /spec/nope/x, value: 1}",
            "ERR add operation does not apply: doc is missing path: \"/spec/nope/x\": missing value",
        );
        check(
            "- {op: add, path: /spec/list/5, value: q}",
            "ERR error in add for path: '/spec/list/5': Unable to access invalid index: 5: invalid index referenced",
        );
        check(
            "- {op: add, path: /spec/list/-5, value: q}",
            "ERR error in add for path: '/spec/list/-5': Unable to access invalid index: -5: invalid index referenced",
        );
        check(
            "- {op: add, path: /spec/replicas/x, value: 1}",
            "ERR add operation does not apply: doc is missing path: \"/spec/replicas/x\": missing value",
        );
        check(
            "- {op: add, path: /spec/m/z/x, value: q}",
            "ERR add operation does not apply: doc is missing path: \"/spec/m/z/x\": missing value",
        );
        check(
            "- {op: add, path: /spec/list/-/x, value: 1}",
            "ERR add operation does not apply: doc is missing path: \"/spec/list/-/x\": missing value",
        );
        check(
            "- {op: add, value: 1}",
            "ERR add operation failed to decode path: missing value",
        );
        check(
            "- {op: add, path: \"\", value: {kind: ConfigMap}}",
            "ERR add operation does not apply: doc is missing path: \"\": missing value",
        );
        check(
            "- {op: frob, path: /spec/replicas}",
            "ERR Unexpected kind: frob",
        );
    }

    #[test]
    fn v2_typing_of_values() {
        check(
            "- {op: add, path: /spec/new, value: [yes, on, y, n, off, No, \"yes\", 0x10, 017, 1_000, 2024-01-01, ~, 1e3, +12, 1.0, 0b11, 1.50, -0, .5, 0.1e2, True, 0o17]}",
            "  new:\n  - true\n  - true\n  - true\n  - false\n  - false\n  - false\n  - \"yes\"\n  - 16\n  - 15\n  - 1000\n  - \"2024-01-01\"\n  - null\n  - 1000\n  - 12\n  - 1\n  - 3\n  - 1.5\n  - 0\n  - 0.5\n  - 10\n  - true\n  - 15\n",
        );
    }

    #[test]
    fn remove_and_replace() {
        check(
            "- {op: remove, path: /spec/list/-1}",
            "  list:\n  - a\n  - b\n  m:",
        );
        check(
            "- {op: remove, path: /spec/list/-3}",
            "  list:\n  - b\n  - c\n  m:",
        );
        check(
            "- {op: remove, path: /spec/nope}",
            "ERR error in remove for path: '/spec/nope': Unable to remove nonexistent key: nope: missing value",
        );
        check(
            "- {op: remove, path: /spec/list/-4}",
            "ERR error in remove for path: '/spec/list/-4': Unable to access invalid index: -4: invalid index referenced",
        );
        check(
            "- {op: remove, path: /spec/list/3}",
            "ERR error in remove for path: '/spec/list/3': Unable to access invalid index: 3: invalid index referenced",
        );
        check(
            "- {op: remove, path: \"\"}",
            "ERR remove operation does not apply: doc is missing path: \"\": missing value",
        );
        check("- {op: replace, path: /spec/nope, value: 1}", "  nope: 1\n");
        check(
            "- {op: replace, path: /spec/list/-1, value: q}",
            "  - b\n  - q\n  m:",
        );
        check(
            "- {op: replace, path: /spec/list/01, value: q}",
            "  - a\n  - q\n  - c\n",
        );
        check(
            "- {op: replace, path: /spec/replicas}",
            "  replicas: null\n",
        );
        check(
            "- {op: replace, path: /spec/list/3, value: 1}",
            "ERR replace operation does not apply: doc is missing key: /spec/list/3: missing value",
        );
        check(
            "- {op: replace, path: /spec/m/z/x, value: q}",
            "ERR replace operation does not apply: doc is missing path: /spec/m/z/x: missing value",
        );
        check(
            "- {op: replace, path: \"\", value: {apiVersion: v1, kind: ConfigMap, metadata: {name: zz}}}",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz\n",
        );
    }

    #[test]
    fn move_and_copy() {
        check(
            "- {op: move, from: /spec/list/0, path: /spec/list/2}",
            "  list:\n  - b\n  - c\n  - a\n",
        );
        check(
            "- {op: copy, from: /spec/list/0, path: /spec/list/-}",
            "  - c\n  - a\n  m:",
        );
        check(
            "- {op: copy, from: /spec/nope, path: /spec/x}",
            "  x: null\n",
        );
        check(
            "- {op: move, from: /spec/nope, path: /spec/x}",
            "ERR error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
        );
        check(
            "- {op: move, from: /spec/m, path: /spec/m/k2}",
            "ERR move operation does not apply: doc is missing destination path: /spec/m/k2: missing value",
        );
        check_not("- {op: move, from: /spec/m/k, path: /spec/k}", "    k: v");
    }

    #[test]
    fn numbers_go_through_float64() {
        let mut doc = parse_stream(
            "big: 12345678901234567890\nmid: 9007199254740993\nneg: -9007199254740993\nsmall: 9007199254740992\nf: 1e300\n",
            "r.yaml",
        )
        .unwrap()
        .remove(0);
        let ops = parse_stream("[{op: add, path: /x, value: 1}]", "p.yaml")
            .unwrap()
            .remove(0);
        apply(&mut doc, &ops, &super::super::CopyBudget::default()).unwrap();
        assert_eq!(
            emit(&to_output(&doc).unwrap()),
            "big: 12345678901234567000\nf: 1e+300\nmid: 9007199254740992\nneg: -9007199254740992\nsmall: 9007199254740992\nx: 1\n"
        );
    }

    #[test]
    fn test_op() {
        let ok = "  replicas: 2\n";
        check("- {op: test, path: /spec/replicas, value: 2}", ok);
        check("- {op: test, path: /spec/replicas, value: 2.0}", ok);
        check("- {op: test, path: /spec/m/f, value: 1.5}", ok);
        check("- {op: test, path: /spec/m/z, value: null}", ok);
        check("- {op: test, path: /spec/m/missing, value: null}", ok);
        check("- {op: test, path: /spec/list, value: [a, b, c]}", ok);
        check(
            "- {op: test, path: /spec/objs/1, value: {v: \"2\", name: \"y\"}}",
            ok,
        );
        check(
            "- {op: test, path: /spec/replicas, value: 3}",
            "ERR testing value /spec/replicas failed: test failed",
        );
        check(
            "- {op: test, path: /spec/m/s, value: 5}",
            "ERR testing value /spec/m/s failed: test failed",
        );
        check(
            "- {op: test, path: /spec/m/n, value: \"5\"}",
            "ERR testing value /spec/m/n failed: test failed",
        );
        check(
            "- {op: test, path: /spec/m/t, value: \"true\"}",
            "ERR testing value /spec/m/t failed: test failed",
        );
        check(
            "- {op: test, path: /spec/m/missing, value: 1}",
            "ERR testing value /spec/m/missing failed: test failed",
        );
        // `y` is a YAML 1.1 boolean in a patch, so this compares true with "y".
        check(
            "- {op: test, path: /spec/objs/1, value: {v: \"2\", name: y}}",
            "ERR testing value /spec/objs/1 failed: test failed",
        );
    }
}
