//! A port of the parts of go-yaml v2's emitter (itself a port of libyaml) that
//! `yaml.Marshal` exercises for JSON-shaped values: block mappings with keys sorted in v2's
//! natural order, indentless sequences under mapping keys, `{}`/`[]` for empty collections,
//! and the scalar style rules (plain, single-quoted, double-quoted, literal) with line
//! wrapping at 80 columns.
//!
//! The state variables (`column`, `indent`, `whitespace`, `indention`) and the order of
//! writes follow the C/Go emitter so that wrapping and indentation decisions fall on the
//! same characters.

use super::resolve::{OutScalar, go_format_float, scalar_output, v2_plain_is_str};
use super::{Node, Out, OutputError, Value};
use std::cmp::Ordering;
use std::convert::Infallible;

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: i32 = 80;

/// Serialises one document exactly as go-yaml v2's `yaml.Marshal` does.
pub fn emit(value: &Out) -> String {
    let mut out = String::new();
    match emit_into(&mut out, value) {
        Ok(()) => out,
        Err(never) => match never {},
    }
}

/// Serialises documents joined by `---` lines, as kustomize prints a build.
pub fn emit_documents<'a>(docs: impl IntoIterator<Item = &'a Out>) -> String {
    let mut out = String::new();
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        match emit_into(&mut out, d) {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }
    out
}

/// Appends one node tree to `out` as [`emit`] prints `to_output(node)`, straight from the
/// tree (no [`Out`] copy is made). On an error, `out` holds a partial document.
pub(crate) fn emit_node_into(out: &mut String, node: &Node) -> Result<(), OutputError> {
    emit_into(out, node)
}

fn emit_into<T: Tree>(out: &mut String, value: &T) -> Result<(), T::Error> {
    let mut e = Emitter {
        out,
        column: 0,
        indent: -1,
        whitespace: true,
        indention: true,
    };
    e.node(
        value,
        Ctx {
            mapping: false,
            simple_key: false,
        },
    )?;
    // Document end: a final line break.
    e.write_indent();
    Ok(())
}

/// A tree the emitter can print: an [`Out`], or a [`Node`] read as `to_output` reads it.
trait Tree: Sized {
    type Error;
    fn shape(&self) -> Result<Shape<'_, Self>, Self::Error>;
}

enum Shape<'a, T> {
    Scalar(OutScalar<'a>),
    Seq(&'a [T]),
    /// Entries in their stored order (the emitter sorts them).
    Map(Vec<(&'a str, &'a T)>),
}

impl Tree for Out {
    type Error = Infallible;
    fn shape(&self) -> Result<Shape<'_, Out>, Infallible> {
        use std::borrow::Cow;
        Ok(match self {
            Out::Null => Shape::Scalar(OutScalar::Null),
            Out::Bool(b) => Shape::Scalar(OutScalar::Bool(*b)),
            Out::Int(i) => Shape::Scalar(OutScalar::Int(*i)),
            Out::Uint(u) => Shape::Scalar(OutScalar::Uint(*u)),
            Out::Float(f) => Shape::Scalar(OutScalar::Float(*f)),
            Out::Str(s) => Shape::Scalar(OutScalar::Str(Cow::Borrowed(s))),
            Out::Seq(items) => Shape::Seq(items),
            Out::Map(entries) => Shape::Map(entries.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        })
    }
}

impl Tree for Node {
    type Error = OutputError;
    fn shape(&self) -> Result<Shape<'_, Node>, OutputError> {
        Ok(match &self.value {
            Value::Scalar(s) => Shape::Scalar(scalar_output(s, &self.pos)?),
            Value::Seq(items) => Shape::Seq(items),
            Value::Map(m) => Shape::Map(
                m.entries
                    .iter()
                    .map(|(k, v)| (k.value.as_str(), v))
                    .collect(),
            ),
        })
    }
}

#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

struct Emitter<'o> {
    out: &'o mut String,
    column: i32,
    indent: i32,
    whitespace: bool,
    indention: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ScalarStyle {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Emitter<'_> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        ind: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn node<T: Tree>(&mut self, v: &T, ctx: Ctx) -> Result<(), T::Error> {
        match v.shape()? {
            Shape::Map(entries) if entries.is_empty() => self.empty_flow("{}"),
            Shape::Seq([]) => self.empty_flow("[]"),
            Shape::Map(entries) => self.block_mapping(entries)?,
            Shape::Seq(items) => self.block_sequence(items, ctx)?,
            Shape::Scalar(s) => self.out_scalar(&s, ctx),
        }
        Ok(())
    }

    fn out_scalar(&mut self, s: &OutScalar<'_>, ctx: Ctx) {
        match s {
            OutScalar::Null => self.scalar("null", ScalarStyle::Plain, ctx),
            OutScalar::Bool(b) => {
                self.scalar(if *b { "true" } else { "false" }, ScalarStyle::Plain, ctx)
            }
            OutScalar::Int(i) => self.scalar(&i.to_string(), ScalarStyle::Plain, ctx),
            OutScalar::Uint(u) => self.scalar(&u.to_string(), ScalarStyle::Plain, ctx),
            OutScalar::Float(f) => self.scalar(&go_format_float(*f), ScalarStyle::Plain, ctx),
            OutScalar::Str(s) => self.str_scalar(s, ctx),
        }
    }

    /// A string scalar in the style v2 picks for it.
    fn str_scalar(&mut self, s: &str, ctx: Ctx) {
        let style = if s.contains('\n') {
            ScalarStyle::Literal
        } else if v2_plain_is_str(s) {
            ScalarStyle::Plain
        } else {
            ScalarStyle::Double
        };
        self.scalar(s, style, ctx)
    }

    fn empty_flow(&mut self, text: &str) {
        let saved = self.indent;
        self.increase_indent(true, false);
        self.write_indicator(&text[..1], true, true, false);
        self.write_indicator(&text[1..], false, false, false);
        self.indent = saved;
    }

    fn block_mapping<T: Tree>(&mut self, mut entries: Vec<(&str, &T)>) -> Result<(), T::Error> {
        let saved = self.indent;
        self.increase_indent(false, false);
        sort_keys(&mut entries, |e| e.0);
        for (k, v) in entries {
            self.write_indent();
            if is_simple_key(k) {
                self.str_scalar(
                    k,
                    Ctx {
                        mapping: true,
                        simple_key: true,
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.str_scalar(
                    k,
                    Ctx {
                        mapping: true,
                        simple_key: false,
                    },
                );
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(
                v,
                Ctx {
                    mapping: true,
                    simple_key: false,
                },
            )?;
        }
        self.indent = saved;
        Ok(())
    }

    fn block_sequence<T: Tree>(&mut self, items: &[T], ctx: Ctx) -> Result<(), T::Error> {
        let saved = self.indent;
        self.increase_indent(false, ctx.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(
                item,
                Ctx {
                    mapping: false,
                    simple_key: false,
                },
            )?;
        }
        self.indent = saved;
        Ok(())
    }

    fn scalar(&mut self, value: &str, requested: ScalarStyle, ctx: Ctx) {
        // Fast path, same result: a plain scalar of only `[A-Za-z0-9_./-]` that does not
        // start with `-` or `.` has no indicators, breaks or spaces, so the analysis allows
        // plain style and there is nowhere to wrap.
        if requested == ScalarStyle::Plain
            && !value.is_empty()
            && !value.starts_with(['-', '.'])
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
        {
            if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(value);
            self.column += value.len() as i32;
            self.whitespace = false;
            self.indention = false;
            return;
        }
        self.scalar_analyzed(value, requested, ctx);
    }

    /// The general scalar path: libyaml's analysis and style selection.
    fn scalar_analyzed(&mut self, value: &str, requested: ScalarStyle, ctx: Ctx) {
        let a = analyze(value);
        let mut style = requested;
        if ctx.simple_key && a.multiline {
            style = ScalarStyle::Double;
        }
        if style == ScalarStyle::Plain
            && (!a.block_plain_allowed || (value.is_empty() && ctx.simple_key))
        {
            style = ScalarStyle::Single;
        }
        if style == ScalarStyle::Single && !a.single_quoted_allowed {
            style = ScalarStyle::Double;
        }
        if style == ScalarStyle::Literal && (!a.block_allowed || ctx.simple_key) {
            style = ScalarStyle::Double;
        }
        let saved = self.indent;
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            ScalarStyle::Plain => self.write_plain(value, allow_breaks),
            ScalarStyle::Single => self.write_single(value, allow_breaks),
            ScalarStyle::Double => self.write_double(value, allow_breaks),
            ScalarStyle::Literal => self.write_literal(value),
        }
        self.indent = saved;
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut it = value.chars().peekable();
        while let Some(c) = it.next() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && it.peek() != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < n
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let v = c as u32;
                let simple = match v {
                    0x00 => Some('0'),
                    0x07 => Some('a'),
                    0x08 => Some('b'),
                    0x09 => Some('t'),
                    0x0A => Some('n'),
                    0x0B => Some('v'),
                    0x0C => Some('f'),
                    0x0D => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match simple {
                    Some(s) => self.put(s),
                    None => {
                        let (ind, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(ind);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            self.put(
                                char::from_digit(digit, 16)
                                    .unwrap_or('0')
                                    .to_ascii_uppercase(),
                            );
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < n {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints.
        let first = value.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(prev)) if is_break(prev) => Some("+"),
            _ => None,
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml v2's `is_printable` (which treats every character beyond the BMP as unprintable).
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut it = value.chars().peekable();
    let mut i = 0usize;
    while let Some(c) = it.next() {
        let next = it.peek().copied();
        let last = next.is_none();
        let followed_by_whitespace = next.is_none_or(is_blank);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_whitespace => block_indicators = true,
                '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c);
        i += 1;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// libyaml's `check_simple_key` for a string key: single line and at most 128 bytes.
fn is_simple_key(k: &str) -> bool {
    k.len() <= 128 && !k.chars().any(is_break)
}

/// Puts map entries in go-yaml v2's natural key order, deterministically and without
/// panicking.
///
/// v2's `keyList.Less` is not transitive once keys hold digits (`v9 < v11 < v1beta1 < v9`),
/// and kustomize sorts the keys of a Go map, whose iteration order is random: for such a set
/// of keys kustomize prints a different order from run to run.
/// So the entries are first put in byte order, which makes the result a function of the set of
/// keys alone, and then merge-sorted with v2's comparison, which never panics on an
/// inconsistent order. Whenever v2's order is transitive on the set (always, when no key holds
/// an ASCII digit), that yields the one order kustomize prints.
pub(crate) fn sort_keys<T: Copy>(items: &mut [T], key: impl Fn(&T) -> &str) {
    if items.len() < 2 {
        return;
    }
    if items
        .iter()
        .any(|t| key(t).bytes().any(|b| b.is_ascii_digit()))
    {
        items.sort_unstable_by(|a, b| key(a).cmp(key(b)));
    }
    let less = |a: &T, b: &T| natural_cmp(key(a), key(b)) == Ordering::Less;
    // Short maps (most of them) are insertion-sorted in place: no scratch buffer.
    let mut scratch = if items.len() > 16 {
        items.to_vec()
    } else {
        Vec::new()
    };
    merge_sort(items, &mut scratch, &less);
}

/// A stable top-down merge sort (insertion sort on short runs) that only asks `less` and so
/// terminates, without panicking, whatever `less` answers.
fn merge_sort<T: Copy>(items: &mut [T], scratch: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = items.len();
    if n <= 16 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && less(&items[j], &items[j - 1]) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mid = n / 2;
    {
        let (lo, hi) = items.split_at_mut(mid);
        let (slo, shi) = scratch.split_at_mut(mid);
        merge_sort(lo, slo, less);
        merge_sort(hi, shi, less);
    }
    scratch[..n].copy_from_slice(items);
    let (mut i, mut j) = (0, mid);
    for slot in items.iter_mut() {
        let take_right = j < n && (i >= mid || less(&scratch[j], &scratch[i]));
        if take_right {
            *slot = scratch[j];
            j += 1;
        } else {
            *slot = scratch[i];
            i += 1;
        }
    }
}

/// go-yaml v2's `keyList.Less`: natural order for map keys (not transitive: see [`sort_keys`]).
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        // The common case, on bytes: no allocation.
        return cmp_by_less(a.as_bytes(), b.as_bytes());
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    cmp_by_less(&ar, &br)
}

fn cmp_by_less<T: Copy + Into<char>>(a: &[T], b: &[T]) -> Ordering {
    if natural_less(a, b) {
        Ordering::Less
    } else if natural_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn natural_less<T: Copy + Into<char>>(a: &[T], b: &[T]) -> bool {
    let at = |i: usize| -> char { a[i].into() };
    let bt = |i: usize| -> char { b[i].into() };
    let digit = |c: char| c.is_ascii_digit();
    let mut i = 0;
    while i < a.len() && i < b.len() {
        let (ac, bc) = (at(i), bt(i));
        if ac == bc {
            i += 1;
            continue;
        }
        let al = ac.is_alphabetic();
        let bl = bc.is_alphabetic();
        if al && bl {
            return ac < bc;
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ac == '0' || bc == '0' {
            let mut j = i;
            while j > 0 && digit(at(j - 1)) {
                j -= 1;
                if at(j) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < a.len() && digit(at(ai)) {
            an = an.wrapping_mul(10).wrapping_add(at(ai) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < b.len() && digit(bt(bi)) {
            bn = bn.wrapping_mul(10).wrapping_add(bt(bi) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ac < bc;
    }
    a.len() < b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn s(v: &str) -> Out {
        Out::Str(v.into())
    }

    /// The plain fast path writes exactly what the full analysis writes.
    #[test]
    fn fast_plain_path_agrees_with_the_analysis() {
        let alphabet = ['a', 'Z', '0', '9', '_', '.', '/', '-'];
        let mut seed: u64 = 7;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 12) as usize;
            let v: String = (0..len)
                .map(|i| alphabet[((seed >> (i * 3)) % 8) as usize])
                .collect();
            for ctx in [
                Ctx {
                    mapping: true,
                    simple_key: true,
                },
                Ctx {
                    mapping: true,
                    simple_key: false,
                },
            ] {
                let (mut fast_out, mut slow_out) = (String::new(), String::new());
                let mut fast = Emitter {
                    out: &mut fast_out,
                    column: 3,
                    indent: 2,
                    whitespace: false,
                    indention: false,
                };
                let mut slow = Emitter {
                    out: &mut slow_out,
                    column: 3,
                    indent: 2,
                    whitespace: false,
                    indention: false,
                };
                fast.scalar(&v, ScalarStyle::Plain, ctx);
                slow.scalar_analyzed(&v, ScalarStyle::Plain, ctx);
                let (fast_column, slow_column) = (fast.column, slow.column);
                assert_eq!((&fast_out, fast_column), (&slow_out, slow_column), "{v:?}");
            }
        }
    }

    #[test]
    fn natural_key_order() {
        let mut keys = vec![
            "item10", "item9", "b", "B", "a1", "_x", "007", "07", "10", "9",
        ];
        keys.sort_by(|a, b| natural_cmp(a, b));
        // Checked against kubectl kustomize v5.5.0.
        assert_eq!(
            keys,
            [
                "_x", "07", "007", "9", "10", "B", "a1", "b", "item9", "item10"
            ]
        );
    }

    fn order_of(keys: &[String]) -> Vec<String> {
        let mut refs: Vec<&String> = keys.iter().collect();
        sort_keys(&mut refs, |k| k.as_str());
        refs.into_iter().cloned().collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// The order of a set of keys does not depend on the order they come in, and it
        /// agrees with v2's comparison on every pair wherever that comparison is transitive
        /// on the set (then it is the one order kustomize prints).
        #[test]
        fn key_order_is_a_function_of_the_set(
            keys in proptest::collection::btree_set("[a-c0-2._]{0,4}|v[0-9]{1,2}(beta|alpha)?[0-9]?", 0..40),
            rotate in 0usize..40,
        ) {
            let keys: Vec<String> = keys.into_iter().collect();
            let mut other: Vec<String> = keys.iter().rev().cloned().collect();
            if !other.is_empty() {
                let n = rotate % other.len();
                other.rotate_left(n);
            }
            let sorted = order_of(&keys);
            proptest::prop_assert_eq!(&sorted, &order_of(&other));
            let less = |a: &String, b: &String| natural_cmp(a, b) == Ordering::Less;
            let transitive = keys.iter().all(|a| keys.iter().all(|b| keys.iter().all(|c| {
                !(less(a, b) && less(b, c)) || less(a, c)
            })));
            if transitive {
                for (i, a) in sorted.iter().enumerate() {
                    for b in &sorted[i + 1..] {
                        proptest::prop_assert!(less(a, b), "{a:?} before {b:?}");
                    }
                }
            }
        }

        /// Without ASCII digits, v2's comparison itself is a total order: antisymmetric and
        /// transitive on every triple.
        #[test]
        fn natural_order_without_digits_is_total(
            a in "[a-cA-C._/é-]{0,5}", b in "[a-cA-C._/é-]{0,5}", c in "[a-cA-C._/é-]{0,5}",
        ) {
            proptest::prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            proptest::prop_assert_eq!(natural_cmp(&a, &b) == Ordering::Equal, a == b);
            if natural_cmp(&a, &b) == Ordering::Less && natural_cmp(&b, &c) == Ordering::Less {
                proptest::prop_assert_eq!(natural_cmp(&a, &c), Ordering::Less);
            }
        }

        /// Emitted output parses back to the same value (through the same output conversion).
        #[test]
        fn emitted_output_reads_back(
            entries in proptest::collection::btree_map(
                "[a-z0-9 ._:#-]{0,6}",
                proptest::prop_oneof![
                    proptest::prelude::any::<i64>().prop_map(Out::Int),
                    proptest::prelude::any::<bool>().prop_map(Out::Bool),
                    "[ -~\n\t]{0,40}".prop_map(Out::Str),
                    proptest::collection::vec("[ -~]{0,10}".prop_map(Out::Str), 0..4).prop_map(Out::Seq),
                ],
                0..8,
            ),
        ) {
            let value = Out::Map(entries.into_iter().collect());
            let text = emit(&value);
            let docs = crate::yaml::parse_stream(&text, "emitted.yaml")
                .map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text}")))?;
            let back = match docs.first() {
                Some(d) => crate::yaml::to_output(d)
                    .map_err(|e| proptest::test_runner::TestCaseError::fail(e.message))?,
                None => Out::Null,
            };
            proptest::prop_assert_eq!(emit(&back), text);
        }
    }

    #[test]
    fn scalar_styles() {
        let cases = [
            ("8080", "v: \"8080\"\n"),
            ("- dash", "v: '- dash'\n"),
            ("@at", "v: '@at'\n"),
            ("key: colon", "v: 'key: colon'\n"),
            ("x  ", "v: 'x  '\n"),
            ("a\tb", "v: \"a\\tb\"\n"),
            ("\u{1F680} go", "v: \"\\U0001F680 go\"\n"),
            ("line1\nline2\n", "v: |\n  line1\n  line2\n"),
            ("line1\nline2", "v: |-\n  line1\n  line2\n"),
            ("", "v: \"\"\n"),
            ("it's", "v: it's\n"),
        ];
        for (value, want) in cases {
            let out = Out::Map(vec![("v".into(), s(value))]);
            assert_eq!(emit(&out), want, "{value:?}");
        }
    }

    #[test]
    fn nesting_and_wrapping() {
        let long = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss";
        let doc = Out::Map(vec![
            (
                "data".into(),
                Out::Map(vec![
                    ("long".into(), s(long)),
                    ("e".into(), Out::Map(vec![])),
                ]),
            ),
            (
                "list".into(),
                Out::Seq(vec![
                    Out::Map(vec![
                        ("a".into(), Out::Int(1)),
                        ("b".into(), Out::Seq(vec![s("x")])),
                    ]),
                    Out::Seq(vec![s("y"), s("z")]),
                ]),
            ),
        ]);
        let want = "data:\n  e: {}\n  long: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo\n    pppp qqqq rrrr ssss\nlist:\n- a: 1\n  b:\n  - x\n- - \"y\"\n  - z\n";
        assert_eq!(emit(&doc), want);
    }
}
