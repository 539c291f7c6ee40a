//! Reads a YAML stream into [`Node`]s with positions, on top of `saphyr-parser`'s events.
//!
//! Anchors and aliases are expanded (an alias is a copy of the anchored node, keeping the
//! anchored node's position), `<<` merge keys are applied the way go-yaml v3 applies them
//! (explicit keys win, earlier merge sources win over later ones), duplicate keys are an
//! error (as in go-yaml v3), and empty documents are dropped (as kustomize drops them).

use super::{Key, MAX_DEPTH, Map, Node, Pos, Scalar, Style, Value};
use saphyr_parser::input::{SkipTabs, is_blank_or_breakz};
use saphyr_parser::{Event, Input, Parser, ScalarStyle, Span, StrInput, Tag};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Malformed YAML, with the 1-based line and column where the parser gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// The file, as named by the caller.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What went wrong, in the parser's words.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for YamlError {}

/// go-yaml v3's `allowedAliasRatio`: the share of a document's decoded nodes that may come
/// from alias expansion, shrinking from 99% up to 400,000 nodes to 10% from 4,000,000 on.
fn allowed_alias_ratio(decoded: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decoded <= LOW {
        0.99
    } else if decoded >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

/// Parses every document of `text`; `file` names the source in positions and errors.
/// Documents that are empty or only `null` are dropped.
pub fn parse_stream(text: &str, file: &str) -> Result<Vec<Node>, YamlError> {
    let file: Arc<str> = Arc::from(file);
    // A byte-order mark is not content.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut b = Builder {
        file: file.clone(),
        anchors: HashMap::new(),
        stack: Vec::new(),
        items: Vec::new(),
        entries: Vec::new(),
        docs: Vec::new(),
        decoded: 0,
        aliased: 0,
        unterminated_end: text
            .rsplit('\n')
            .next()
            .is_some_and(|last| !last.trim().is_empty())
            .then(|| text.chars().count()),
    };
    let mut parser = Parser::new(GoYamlInput(StrInput::new(text)));
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                return Err(YamlError {
                    file,
                    line: e.marker().line() as u32,
                    col: e.marker().col() as u32 + 1,
                    message: e.info().to_string(),
                });
            }
            Some(Ok((event, span))) => b.event(event, span)?,
        }
    }
    Ok(b.docs)
}

/// saphyr's string input with go-yaml's rule for `:` inside a plain scalar: only `:` before
/// a space, a line break or the end ends it, in flow collections too. So `{d:}` is the key
/// `d:` and `[d:]` the string `d:`, as kustomize reads them, where YAML 1.2 (saphyr's
/// default) ends the scalar before a `:` that a flow indicator follows.
struct GoYamlInput<'a>(StrInput<'a>);

impl Input for GoYamlInput<'_> {
    fn next_can_be_plain_scalar(&self, in_flow: bool) -> bool {
        match self.0.peek() {
            ':' => !is_blank_or_breakz(self.0.peek_nth(1)),
            _ => self.0.next_can_be_plain_scalar(in_flow),
        }
    }

    // Everything else is saphyr's own string input.
    fn lookahead(&mut self, count: usize) {
        self.0.lookahead(count)
    }
    fn buflen(&self) -> usize {
        self.0.buflen()
    }
    fn bufmaxlen(&self) -> usize {
        self.0.bufmaxlen()
    }
    fn buf_is_empty(&self) -> bool {
        self.0.buf_is_empty()
    }
    fn raw_read_ch(&mut self) -> char {
        self.0.raw_read_ch()
    }
    fn raw_read_non_breakz_ch(&mut self) -> Option<char> {
        self.0.raw_read_non_breakz_ch()
    }
    fn skip(&mut self) {
        self.0.skip()
    }
    fn skip_n(&mut self, count: usize) {
        self.0.skip_n(count)
    }
    fn peek(&self) -> char {
        self.0.peek()
    }
    fn peek_nth(&self, n: usize) -> char {
        self.0.peek_nth(n)
    }
    fn peek_opt(&self) -> Option<char> {
        self.0.peek_opt()
    }
    fn look_ch(&mut self) -> char {
        self.0.look_ch()
    }
    fn next_char_is(&self, c: char) -> bool {
        self.0.next_char_is(c)
    }
    fn nth_char_is(&self, n: usize, c: char) -> bool {
        self.0.nth_char_is(n, c)
    }
    fn next_2_are(&self, c1: char, c2: char) -> bool {
        self.0.next_2_are(c1, c2)
    }
    fn next_3_are(&self, c1: char, c2: char, c3: char) -> bool {
        self.0.next_3_are(c1, c2, c3)
    }
    fn next_is_document_indicator(&self) -> bool {
        self.0.next_is_document_indicator()
    }
    fn next_is_document_start(&self) -> bool {
        self.0.next_is_document_start()
    }
    fn next_is_document_end(&self) -> bool {
        self.0.next_is_document_end()
    }
    fn skip_ws_to_eol(&mut self, skip_tabs: SkipTabs) -> (usize, Result<SkipTabs, &'static str>) {
        self.0.skip_ws_to_eol(skip_tabs)
    }
    fn next_is_blank_or_break(&self) -> bool {
        self.0.next_is_blank_or_break()
    }
    fn next_is_blank_or_breakz(&self) -> bool {
        self.0.next_is_blank_or_breakz()
    }
    fn next_is_blank(&self) -> bool {
        self.0.next_is_blank()
    }
    fn next_is_break(&self) -> bool {
        self.0.next_is_break()
    }
    fn next_is_breakz(&self) -> bool {
        self.0.next_is_breakz()
    }
    fn next_is_z(&self) -> bool {
        self.0.next_is_z()
    }
    fn next_is_flow(&self) -> bool {
        self.0.next_is_flow()
    }
    fn next_is_digit(&self) -> bool {
        self.0.next_is_digit()
    }
    fn next_is_alpha(&self) -> bool {
        self.0.next_is_alpha()
    }
    fn skip_while_non_breakz(&mut self) -> usize {
        self.0.skip_while_non_breakz()
    }
    fn skip_while_blank(&mut self) -> usize {
        self.0.skip_while_blank()
    }
    fn fetch_while_is_alpha(&mut self, out: &mut String) -> usize {
        self.0.fetch_while_is_alpha(out)
    }
    fn fetch_while_is_yaml_non_space(&mut self, out: &mut String) -> usize {
        self.0.fetch_while_is_yaml_non_space(out)
    }
}

/// A collection being read. Its children are not kept in the frame: they wait on the
/// builder's shared `items`/`entries` stacks from index `start` on, and move into a vector of
/// exactly their number when the collection ends (one allocation per collection, no
/// regrowth; a build's trees are mostly small mappings).
enum Frame {
    Seq {
        start: usize,
        pos: Pos,
        anchor: usize,
        size: Size,
        /// Written in flow style (`[...]`), or inside a flow collection.
        flow: bool,
    },
    Map {
        start: usize,
        pending_key: Option<Node>,
        merges: Vec<Node>,
        pos: Pos,
        anchor: usize,
        size: Size,
        /// Written in flow style (`{...}`), or inside a flow collection.
        flow: bool,
    },
}

impl Frame {
    fn flow(&self) -> bool {
        match self {
            Frame::Seq { flow, .. } | Frame::Map { flow, .. } => *flow,
        }
    }
}

/// The height (collections nested in it, counting itself; 0 for a scalar) and node count of a finished node, after alias expansion.
#[derive(Clone, Copy, Default)]
struct Size {
    height: usize,
    nodes: usize,
}

impl Size {
    const SCALAR: Size = Size {
        height: 0,
        nodes: 1,
    };

    /// Adds a child to a collection's running size.
    fn add(&mut self, child: Size) {
        self.height = self.height.max(child.height);
        self.nodes = self.nodes.saturating_add(child.nodes);
    }

    /// The size of a collection with these children.
    fn collection(self) -> Size {
        Size {
            height: self.height + 1,
            nodes: self.nodes.saturating_add(1),
        }
    }
}

struct Builder {
    file: Arc<str>,
    /// Anchored nodes with their sizes (aliases copy them).
    anchors: HashMap<usize, (Node, Size)>,
    stack: Vec<Frame>,
    /// The items of every open sequence, innermost last (see [`Frame`]).
    items: Vec<Node>,
    /// The entries of every open mapping, innermost last (see [`Frame`]).
    entries: Vec<(Key, Node)>,
    docs: Vec<Node>,
    /// Nodes of the current document, counting every copy an alias makes (go-yaml v3's
    /// `decodeCount`).
    decoded: usize,
    /// Of those, the nodes that alias expansion made (go-yaml v3's `aliasCount`).
    aliased: usize,
    /// The length of the text in characters when its last line has content but no line
    /// break: a block scalar that runs up to there has no final line break (go-yaml keeps
    /// none, whatever the chomping indicator says).
    unterminated_end: Option<usize>,
}

fn tag_name(tag: &Tag) -> String {
    if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

impl Builder {
    /// Whether a collection that starts at `span` is in flow style: its start event covers
    /// the `[` or `{` (a block collection's start is zero-width), or it sits inside a flow
    /// collection (a single-pair mapping in `[a: b]`).
    fn starts_flow(&self, span: &Span) -> bool {
        span.end.index() > span.start.index() || self.stack.last().is_some_and(Frame::flow)
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            file: self.file.clone(),
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
        }
    }

    fn error(&self, pos: &Pos, message: String) -> YamlError {
        YamlError {
            file: self.file.clone(),
            line: pos.line,
            col: pos.col,
            message,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.decoded = 0;
                self.aliased = 0;
                Ok(())
            }
            Event::Alias(id) => {
                let pos = self.pos(&span);
                let Some((anchored, size)) = self.anchors.get(&id) else {
                    return Err(self.error(&pos, "unknown anchor".into()));
                };
                let size = *size;
                // Refused before the copy is made: go-yaml v3's depth and aliasing limits.
                if self.stack.len() + size.height > MAX_DEPTH {
                    return Err(self.error(&pos, depth_message()));
                }
                self.decoded = self.decoded.saturating_add(size.nodes);
                self.aliased = self.aliased.saturating_add(size.nodes);
                if self.aliased > 100
                    && self.decoded > 1000
                    && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded)
                {
                    return Err(self.error(&pos, "document contains excessive aliasing".into()));
                }
                let node = anchored.clone();
                self.finish(node, 0, size)
            }
            Event::Scalar(value, style, anchor, tag) => {
                let pos = self.pos(&span);
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let tag = tag.map(|t| tag_name(&t)).filter(|t| t != "!");
                let mut value = value.into_owned();
                let block = matches!(style, Style::Literal | Style::Folded);
                if block
                    && self
                        .unterminated_end
                        .is_some_and(|end| span.end.index() >= end)
                    && value.ends_with('\n')
                {
                    value.pop();
                }
                // go-yaml's reading of an empty value in a flow collection (`{a: , k}`).
                let flow_empty = value.is_empty()
                    && style == Style::Plain
                    && tag.is_none()
                    && self.stack.last().is_some_and(Frame::flow);
                let node = Node {
                    value: Value::Scalar(Scalar {
                        value,
                        style,
                        tag,
                        flow_empty,
                    }),
                    pos,
                };
                self.decoded = self.decoded.saturating_add(1);
                self.finish(node, anchor, Size::SCALAR)
            }
            Event::SequenceStart(anchor, _) => {
                let pos = self.pos(&span);
                self.decoded = self.decoded.saturating_add(1);
                let flow = self.starts_flow(&span);
                let start = self.items.len();
                self.push(Frame::Seq {
                    start,
                    pos,
                    anchor,
                    size: Size::default(),
                    flow,
                })
            }
            Event::MappingStart(anchor, _) => {
                let pos = self.pos(&span);
                self.decoded = self.decoded.saturating_add(1);
                let flow = self.starts_flow(&span);
                let start = self.entries.len();
                self.push(Frame::Map {
                    start,
                    pending_key: None,
                    merges: Vec::new(),
                    pos,
                    anchor,
                    size: Size::default(),
                    flow,
                })
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    start,
                    pos,
                    anchor,
                    size,
                    ..
                }) => {
                    let items = take_from(&mut self.items, start);
                    self.finish(
                        Node {
                            value: Value::Seq(items),
                            pos,
                        },
                        anchor,
                        size.collection(),
                    )
                }
                _ => Ok(()),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    start,
                    merges,
                    pos,
                    anchor,
                    size,
                    ..
                }) => {
                    let mut map = Map {
                        entries: take_from(&mut self.entries, start),
                    };
                    apply_merges(&mut map, merges);
                    self.finish(
                        Node {
                            value: Value::Map(map),
                            pos,
                        },
                        anchor,
                        size.collection(),
                    )
                }
                _ => Ok(()),
            },
        }
    }

    fn push(&mut self, frame: Frame) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            let pos = match &frame {
                Frame::Seq { pos, .. } | Frame::Map { pos, .. } => pos.clone(),
            };
            return Err(self.error(&pos, depth_message()));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn finish(&mut self, node: Node, anchor: usize, size: Size) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                if !node.is_null() {
                    self.docs.push(node);
                }
                Ok(())
            }
            Some(Frame::Seq { size: s, .. }) => {
                s.add(size);
                self.items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                start,
                pending_key,
                merges,
                size: s,
                ..
            }) => match pending_key.take() {
                None => {
                    *pending_key = Some(node);
                    Ok(())
                }
                Some(key) => {
                    s.add(size);
                    let key_scalar = match key.value {
                        Value::Scalar(s) => s,
                        _ => {
                            return Err(self.error(
                                &key.pos,
                                "complex (non-scalar) mapping keys are not supported".into(),
                            ));
                        }
                    };
                    if key_scalar.value == "<<"
                        && key_scalar.style.is_plain()
                        && key_scalar.tag.is_none()
                    {
                        match &node.value {
                            Value::Map(_) => merges.push(node),
                            Value::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => {
                                merges.extend(items.iter().cloned())
                            }
                            _ => {
                                let pos = node.pos.clone();
                                return Err(self.error(
                                    &pos,
                                    "map merge requires map or sequence of maps as the value"
                                        .into(),
                                ));
                            }
                        }
                        return Ok(());
                    }
                    let open = self.entries.get(*start..).unwrap_or_default();
                    if let Some((prev, _)) = open.iter().find(|(k, _)| k.value == key_scalar.value)
                    {
                        let msg = format!(
                            "mapping key {:?} already defined at line {}",
                            key_scalar.value, prev.pos.line
                        );
                        return Err(self.error(&key.pos, msg));
                    }
                    self.entries.push((
                        Key {
                            value: key_scalar.value,
                            pos: key.pos,
                        },
                        node,
                    ));
                    Ok(())
                }
            },
        }
    }
}

/// Moves `v[start..]` into a vector of exactly that length (`split_off` would hand over the
/// whole scratch buffer when `start` is 0).
fn take_from<T>(v: &mut Vec<T>, start: usize) -> Vec<T> {
    let start = start.min(v.len());
    let mut out = Vec::with_capacity(v.len() - start);
    out.extend(v.drain(start..));
    out
}

/// go-yaml's words for a document nested deeper than [`MAX_DEPTH`].
fn depth_message() -> String {
    format!("exceeded max depth of {MAX_DEPTH}")
}

/// Merge keys: explicit keys win; among merge sources the first one that has a key wins.
fn apply_merges(map: &mut Map, merges: Vec<Node>) {
    for source in merges {
        if let Value::Map(m) = source.value {
            for (k, v) in m.entries {
                if !map.contains_key(&k.value) {
                    map.entries.push((k, v));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse_stream("a:\n  b: [1, 2]\n---\n---\nc: d\n", "f.yaml").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get_path(&["a", "b"]).unwrap();
        assert_eq!((b.pos.line, b.pos.col), (2, 6));
        let key = docs[1].as_map().unwrap().get_key("c").unwrap();
        assert_eq!((key.pos.line, key.pos.col), (5, 1));
    }

    #[test]
    fn anchors_and_merge_keys_expand() {
        let docs = parse_stream("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f").unwrap();
        let other = docs[0].get("other").unwrap().as_map().unwrap();
        assert_eq!(other.get("x").unwrap().scalar_text(), Some("1"));
        assert_eq!(other.get("y").unwrap().scalar_text(), Some("3"));
    }

    /// The scalar at `path` as (text, flow_empty), or `None` when it is not a scalar.
    fn scalar_at(doc: &Node, path: &[&str]) -> Option<(String, bool)> {
        match &doc.get_path(path)?.value {
            Value::Scalar(s) => Some((s.value.clone(), s.flow_empty)),
            _ => None,
        }
    }

    #[test]
    fn empty_values_in_flow_collections_are_marked() {
        let doc = &parse_stream(
            "f: {a: , k, n: null, q: \"\"}\nb:\nl: [{x: }]\nt: {y: !!str }\n",
            "f",
        )
        .unwrap()[0];
        assert_eq!(scalar_at(doc, &["f", "a"]), Some((String::new(), true)));
        assert_eq!(scalar_at(doc, &["f", "k"]), Some((String::new(), true)));
        assert_eq!(scalar_at(doc, &["f", "n"]), Some(("null".into(), false)));
        assert_eq!(scalar_at(doc, &["f", "q"]), Some((String::new(), false)));
        assert_eq!(scalar_at(doc, &["b"]), Some((String::new(), false)));
        assert_eq!(scalar_at(doc, &["t", "y"]), Some((String::new(), false)));
        let x = &doc.get("l").unwrap().as_seq().unwrap()[0];
        assert_eq!(scalar_at(x, &["x"]), Some((String::new(), true)));
        // Still null to every reader.
        assert!(doc.get_path(&["f", "a"]).is_some_and(Node::is_null));
    }

    #[test]
    fn a_colon_before_a_flow_indicator_belongs_to_the_scalar() {
        let doc = &parse_stream(
            "f: {c: , d:}\ng: {d:, e: 1}\ns: [d:, e]\nh: {\"q\":, r:x}\n",
            "f",
        )
        .unwrap()[0];
        let keys = |path: &[&str]| -> Vec<String> {
            doc.get_path(path)
                .and_then(Node::as_map)
                .map(|m| m.entries.iter().map(|(k, _)| k.value.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(&["f"]), ["c", "d:"]);
        assert_eq!(keys(&["g"]), ["d:", "e"]);
        assert_eq!(keys(&["h"]), ["q", "r:x"]);
        let s: Vec<_> = doc
            .get("s")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|n| n.scalar_text())
            .collect();
        assert_eq!(s, [Some("d:"), Some("e")]);
        // Block style is unchanged: `d:` at the end of a line is a key.
        let doc = &parse_stream("d:\ne: a:b\n", "f").unwrap()[0];
        assert_eq!(scalar_at(doc, &["e"]), Some(("a:b".into(), false)));
        assert!(doc.get("d").is_some_and(Node::is_null));
    }

    #[test]
    fn malformed_yaml_reports_line() {
        let err = parse_stream(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data:\n  key: value\n",
            "broken.yaml",
        )
        .unwrap_err();
        assert_eq!(err.line, 5, "{err}");
        let dup = parse_stream("a: 1\na: 2\n", "d.yaml").unwrap_err();
        assert!(dup.message.contains("already defined at line 1"), "{dup}");
    }
}
