//! The YAML layer: a node tree that remembers where every value came from, a parser that
//! reads YAML the way go-yaml v3 (kustomize's reader) does, and an emitter that writes
//! exactly what kustomize prints.
//!
//! This module is deliberately not a general YAML library.
//! It knows only what a kustomize build needs:
//! scalars keep their source text, style and tag, so that typing decisions are made late,
//! the way kyaml makes them (a patched scalar takes the style of the value it replaces);
//! anchors, aliases and `<<` merge keys are expanded at parse time;
//! comments are dropped.
//!
//! Output goes through [`to_output`] and [`emit`]: kustomize serialises every resource by
//! decoding it (go-yaml v3), encoding it as JSON and re-encoding the JSON with go-yaml v2.
//! [`Out`] is the value after that round trip, and [`emit`] is a port of the v2 emitter.
//!
//! Invariant: nothing here panics on any input; malformed YAML is a [`YamlError`] with a
//! 1-based line and column.

mod emit;
mod parse;
mod resolve;

use std::fmt;
use std::sync::Arc;

pub(crate) use emit::emit_node_into;
pub use emit::{emit, emit_documents};
pub use parse::{YamlError, parse_stream};
pub use resolve::{Out, OutputError, Resolved, resolve_plain, to_output};

/// The deepest nesting of collections that core reads, builds or prints, counted after alias
/// expansion; deeper input is refused with go-yaml's words, "exceeded max depth of N".
///
/// go-yaml (and so kustomize) allows 10,000. core allows less because its tree walks
/// (copy, merge, conversion, emission) recurse, and in the browser WebAssembly runs on the
/// JavaScript engine's stack, about 1 MB: `tests/robustness.rs` runs the deepest shapes in V8
/// (node) to show they fit. No real resource comes near this depth.
pub const MAX_DEPTH: usize = 512;

/// The size of a node tree: how many nodes, and how deeply collections nest (0 for a scalar).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// Every node, collections and scalars (mapping keys not counted).
    pub nodes: usize,
    /// Collections nested in the deepest path, the root included.
    pub depth: usize,
}

/// Measures a tree without recursion, so any depth is safe to measure.
pub fn extent(node: &Node) -> Extent {
    let mut out = Extent::default();
    let mut stack: Vec<(&Node, usize)> = vec![(node, 0)];
    while let Some((n, d)) = stack.pop() {
        out.nodes += 1;
        match &n.value {
            Value::Scalar(_) => out.depth = out.depth.max(d),
            Value::Seq(items) => {
                out.depth = out.depth.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Map(m) => {
                out.depth = out.depth.max(d + 1);
                stack.extend(m.entries.iter().map(|(_, v)| (v, d + 1)));
            }
        }
    }
    out
}

/// Where a value was written: file (as given to the parser), 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    /// The file the value was read from, as the caller named it (kustomize-root relative).
    /// Empty for values synthesised by the build (generators, transformers).
    pub file: Arc<str>,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub col: u32,
}

impl Pos {
    /// A position for a value that the build made up rather than read from a file.
    pub fn synthetic() -> Pos {
        Pos::default()
    }

    /// Whether this position points into a real file.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How a scalar was written in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// `value`
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|`
    Literal,
    /// `>`
    Folded,
}

impl Style {
    /// Quoted and block styles always mean "string" when no tag says otherwise.
    pub fn is_plain(self) -> bool {
        self == Style::Plain
    }
}

/// A YAML scalar as written: its text, its style and its explicit tag, if any.
///
/// The type (string, int, bool, ...) is decided late by [`Scalar::resolve`], because kyaml
/// decides it late: a patch value `200` that replaces a quoted `"50"` takes the quoted style
/// and stays a string.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The scalar's value after unescaping/folding (not the raw source text).
    pub value: String,
    /// How it was written.
    pub style: Style,
    /// An explicit tag in short form (`!!str`, `!!int`, `!custom`), if the source had one.
    pub tag: Option<String>,
    /// An empty plain value written inside a flow collection (`{a: , k}`): null to every
    /// reader (a strategic merge drops it), yet kustomize prints it as `""`. Its output
    /// re-encodes the resource with go-yaml v3, which keeps the collection in flow style and
    /// quotes an empty scalar there (`{a: '', k: ''}`), then reads that text back.
    pub flow_empty: bool,
}

impl Scalar {
    /// A plain (untagged) scalar; its type is resolved from its text.
    pub fn plain(value: impl Into<String>) -> Scalar {
        Scalar {
            value: value.into(),
            style: Style::Plain,
            tag: None,
            flow_empty: false,
        }
    }

    /// A scalar that is a string whatever its text (`"8080"` stays a string).
    pub fn string(value: impl Into<String>) -> Scalar {
        let value = value.into();
        let style = if resolve_plain(&value).is_str() {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        Scalar {
            value,
            style,
            tag: None,
            flow_empty: false,
        }
    }

    /// The value's type and content as go-yaml v3 decodes it.
    pub fn resolve(&self) -> Resolved {
        resolve::resolve_scalar(self)
    }

    /// Whether this scalar decodes to null (`~`, `null`, empty plain, `!!null`).
    pub fn is_null(&self) -> bool {
        if self.tag.is_none() {
            // What `resolve` answers for an untagged scalar, without typing other text.
            return self.style.is_plain()
                && matches!(self.value.as_str(), "" | "~" | "null" | "Null" | "NULL");
        }
        matches!(self.resolve(), Resolved::Null)
    }

    /// The value if it decodes to a string.
    pub fn as_str(&self) -> Option<&str> {
        match self.resolve() {
            Resolved::Str => Some(&self.value),
            _ => None,
        }
    }
}

/// One YAML value with the position it was written at.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value starts in its file.
    pub pos: Pos,
}

/// The three kinds of YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar, including null.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order (output re-sorts keys; order matters only for patches).
    Map(Map),
}

/// A mapping key: always a scalar, kept with its position for diagnostics.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub value: String,
    /// Where the key is written.
    pub pos: Pos,
}

/// A YAML mapping with string keys, in insertion order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Map {
    /// Entries in order; keys are unique.
    pub entries: Vec<(Key, Node)>,
}

impl Map {
    /// An empty mapping.
    pub fn new() -> Map {
        Map::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    /// The value under `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    /// The key entry (with its position) for `key`.
    pub fn get_key(&self, key: &str) -> Option<&Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(k, _)| k)
    }

    /// Sets `key` to `value`, replacing in place or appending.
    pub fn insert(&mut self, key: impl Into<String>, value: Node) {
        let key = key.into();
        if let Some(slot) = self.get_mut(&key) {
            *slot = value;
        } else {
            let pos = value.pos.clone();
            self.entries.push((Key { value: key, pos }, value));
        }
    }

    /// Sets `key` to `value` with an explicit key position.
    pub fn insert_key(&mut self, key: Key, value: Node) {
        if let Some(slot) = self.get_mut(&key.value) {
            *slot = value;
        } else {
            self.entries.push((key, value));
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let i = self.entries.iter().position(|(k, _)| k.value == key)?;
        Some(self.entries.remove(i).1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the mapping has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates `(key, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, v)| (k.value.as_str(), v))
    }
}

impl Node {
    /// A node at `pos`.
    pub fn new(value: Value, pos: Pos) -> Node {
        Node { value, pos }
    }

    /// A synthesised string scalar (quoted on output if it would otherwise re-type).
    pub fn string(s: impl Into<String>) -> Node {
        Node::new(Value::Scalar(Scalar::string(s)), Pos::synthetic())
    }

    /// A synthesised plain scalar, typed by its text (`3` is an int).
    pub fn plain(s: impl Into<String>) -> Node {
        Node::new(Value::Scalar(Scalar::plain(s)), Pos::synthetic())
    }

    /// A synthesised null.
    pub fn null() -> Node {
        Node::plain("null")
    }

    /// A synthesised empty mapping.
    pub fn map() -> Node {
        Node::new(Value::Map(Map::new()), Pos::synthetic())
    }

    /// A synthesised sequence.
    pub fn seq(items: Vec<Node>) -> Node {
        Node::new(Value::Seq(items), Pos::synthetic())
    }

    /// The mapping, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping, mutable, if this is one.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, if this is one.
    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The sequence, mutable, if this is one.
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text if this is a scalar that decodes to a string.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().and_then(Scalar::as_str)
    }

    /// The scalar's text whatever its type (`3` gives `"3"`); `None` for null and collections.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !s.is_null() => Some(&s.value),
            _ => None,
        }
    }

    /// Whether this is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.is_null())
    }

    /// Looks up a field of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key)
    }

    /// Looks up a field of a mapping, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?.get_mut(key)
    }

    /// Follows a path of mapping keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self;
        for key in path {
            node = node.get(key)?;
        }
        Some(node)
    }

    /// Follows a path of mapping keys, mutable.
    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Node> {
        let mut node = self;
        for key in path {
            node = node.get_mut(key)?;
        }
        Some(node)
    }

    /// Follows a path of mapping keys, creating empty mappings where missing (or null).
    /// Returns `None` if a non-map value is in the way.
    pub fn ensure_map_path(&mut self, path: &[&str]) -> Option<&mut Node> {
        let mut node = self;
        for key in path {
            if node.is_null() {
                *node = Node::new(Value::Map(Map::new()), node.pos.clone());
            }
            let map = node.as_map_mut()?;
            if map.get(key).is_none_or(Node::is_null) {
                map.insert(*key, Node::map());
            }
            node = map.get_mut(key)?;
        }
        Some(node)
    }
}
