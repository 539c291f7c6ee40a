//! Scalar typing, the way go-yaml decides it, and the JSON round trip kustomize applies on
//! output.
//!
//! Two resolvers live here because kustomize uses two YAML libraries:
//! go-yaml v3 reads the input (YAML 1.2 core schema plus legacy `0755` octals), and
//! go-yaml v2 writes the output (YAML 1.1: `yes`, `on`, `y` are booleans and get quoted).
//! Between them sits `encoding/json`, which decides how numbers look.

use super::{Node, Scalar, Value};

/// A scalar's type and decoded value, as go-yaml v3 decodes it into `interface{}`.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// `null`, `~`, empty.
    Null,
    /// `true` / `false` (YAML 1.2 spellings only).
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer that fits only `u64`.
    Uint(u64),
    /// A float (including `.inf` and `.nan`).
    Float(f64),
    /// A string; the text is the scalar's value.
    Str,
    /// A timestamp, already formatted as Go's RFC 3339 (nano) text.
    Timestamp(String),
    /// `!!binary`: the decoded bytes as (lossy) text.
    Binary(String),
}

impl Resolved {
    /// Whether this is a string.
    pub fn is_str(&self) -> bool {
        matches!(self, Resolved::Str)
    }
}

/// Resolves an untagged plain scalar with go-yaml v3's rules.
pub fn resolve_plain(s: &str) -> Resolved {
    resolve_v3(s, true)
}

pub(super) fn resolve_scalar(s: &Scalar) -> Resolved {
    match s.tag.as_deref() {
        None => {
            if s.style.is_plain() {
                resolve_plain(&s.value)
            } else {
                Resolved::Str
            }
        }
        Some("!!str") => Resolved::Str,
        Some("!!null") => Resolved::Null,
        Some("!!binary") => {
            use base64::Engine;
            let compact: String = s.value.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                Ok(bytes) => Resolved::Binary(String::from_utf8_lossy(&bytes).into_owned()),
                Err(_) => Resolved::Str,
            }
        }
        Some("!!float") => match resolve_v3(&s.value, false) {
            Resolved::Int(i) => Resolved::Float(i as f64),
            Resolved::Uint(u) => Resolved::Float(u as f64),
            r @ Resolved::Float(_) => r,
            _ => Resolved::Str,
        },
        Some("!!int") | Some("!!bool") | Some("!!timestamp") => {
            let r = resolve_v3(&s.value, s.tag.as_deref() == Some("!!timestamp"));
            let ok = matches!(
                (s.tag.as_deref(), &r),
                (Some("!!int"), Resolved::Int(_) | Resolved::Uint(_))
                    | (Some("!!bool"), Resolved::Bool(_))
                    | (Some("!!timestamp"), Resolved::Timestamp(_))
            );
            if ok { r } else { Resolved::Str }
        }
        // Unknown (custom) tags decode to the plain value.
        Some(_) => {
            if s.style.is_plain() {
                resolve_plain(&s.value)
            } else {
                Resolved::Str
            }
        }
    }
}

fn resolve_v3(s: &str, try_timestamp: bool) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match s {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match first {
        b'.' => match parse_dot_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if try_timestamp && let Some(t) = parse_timestamp(s) {
                return Resolved::Timestamp(t);
            }
            numeric(s, true).unwrap_or(Resolved::Str)
        }
        _ => Resolved::Str,
    }
}

/// The numeric part shared by v2 and v3: underscores dropped, Go `ParseInt(s, 0, 64)`, then
/// `ParseUint`, then the YAML float pattern, then `0b`/`0o` forms.
fn numeric(s: &str, v3: bool) -> Option<Resolved> {
    let plain: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.chars().filter(|&c| c != '_').collect::<String>().into()
    } else {
        s.into()
    };
    if let Some(i) = go_parse_int(&plain) {
        return Some(Resolved::Int(i));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Resolved::Uint(u));
    }
    if is_yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Some(Resolved::Float(f));
    }
    let _ = v3;
    None
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat` for text starting with `.` (`.5`, `.5e3`).
fn parse_dot_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 1;
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let es = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == es {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse().ok()
}

/// Splits sign and base prefix the way Go's `ParseInt(s, 0, 64)` does.
fn split_base(s: &str) -> Option<(bool, u32, &str)> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.as_bytes();
    let (radix, digits) = if lower.len() >= 2 && lower[0] == b'0' {
        match lower[1] {
            b'x' | b'X' => (16, &rest[2..]),
            b'o' | b'O' => (8, &rest[2..]),
            b'b' | b'B' => (2, &rest[2..]),
            _ => (8, &rest[1..]),
        }
    } else {
        (10, rest)
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    Some((neg, radix, digits))
}

fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, radix, digits) = split_base(s)?;
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(mag as i64)
    } else {
        None
    }
}

fn go_parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['-', '+']) {
        return None;
    }
    let (_, radix, digits) = split_base(s)?;
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml's timestamp recognition (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`, the
/// lower-case `t` form, and `2006-1-2 15:4:5.999999999`), returning Go's RFC 3339 nano text.
fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: i64 = s[..4].parse().ok()?;
    let mut rest = &s[5..];
    let month = getnum(&mut rest)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    rest = rest.strip_prefix('-')?;
    let day = getnum(&mut rest)?;
    if day < 1 || day > days_in(month, year) {
        return None;
    }
    if rest.is_empty() {
        return Some(format!("{year:04}-{month:02}-{day:02}T00:00:00Z"));
    }
    let with_zone = match rest.as_bytes()[0] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    rest = &rest[1..];
    let hour = getnum(&mut rest)?;
    rest = rest.strip_prefix(':')?;
    let min = getnum(&mut rest)?;
    rest = rest.strip_prefix(':')?;
    let sec = getnum(&mut rest)?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut frac = String::new();
    if rest.len() >= 2
        && (rest.starts_with('.') || rest.starts_with(','))
        && rest.as_bytes()[1].is_ascii_digit()
    {
        let digits: String = rest[1..].chars().take_while(char::is_ascii_digit).collect();
        rest = &rest[1 + digits.len()..];
        if digits.len() > 9 {
            return None;
        }
        frac = digits.trim_end_matches('0').to_string();
    }
    let zone = if with_zone {
        if let Some(r) = rest.strip_prefix('Z') {
            rest = r;
            "Z".to_string()
        } else {
            let z = rest.get(..6)?;
            let zb = z.as_bytes();
            if !(zb[0] == b'+' || zb[0] == b'-') || zb[3] != b':' {
                return None;
            }
            let hh: u32 = z[1..3].parse().ok()?;
            let mm: u32 = z[4..6].parse().ok()?;
            rest = &rest[6..];
            if hh == 0 && mm == 0 {
                "Z".to_string()
            } else {
                z.to_string()
            }
        }
    } else {
        "Z".to_string()
    };
    if !rest.is_empty() {
        return None;
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}{frac}{zone}"
    ))
}

/// Go's `getnum(value, false)`: one or two digits.
fn getnum(rest: &mut &str) -> Option<i64> {
    let b = rest.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    let n = if b.len() >= 2 && b[1].is_ascii_digit() {
        2
    } else {
        1
    };
    let v = rest[..n].parse().ok()?;
    *rest = &rest[n..];
    Some(v)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// go-yaml v2's resolver, used to decide whether an output string must be quoted.
/// Returns true when the plain text would read back as a string.
pub(super) fn v2_plain_is_str(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "~"
        | "null" | "Null" | "NULL" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
        | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | "<<" => return false,
        _ => {}
    }
    let typed = match first {
        b'.' => parse_dot_float(s).is_some(),
        b'+' | b'-' | b'0'..=b'9' => {
            parse_timestamp(s).is_some() || numeric(s, false).is_some() || {
                let plain: String = s.chars().filter(|&c| c != '_').collect();
                let (neg, body) = match plain.strip_prefix('-') {
                    Some(b) => (true, b),
                    None => (false, plain.as_str()),
                };
                let _ = neg;
                body.strip_prefix("0b")
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c == b'0' || c == b'1'))
            }
        }
        _ => false,
    };
    !typed && !is_base60_float(s)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    let mut i = 0;
    if b[i] == b'+' || b[i] == b'-' {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &b[start..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A value after kustomize's output round trip (v3 decode → JSON → v2 decode).
/// Map keys are strings; numbers are typed as go-yaml v2 reads the JSON text.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer that fits only `u64`.
    Uint(u64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Out>),
    /// A mapping (unsorted; the emitter sorts).
    Map(Vec<(String, Out)>),
}

/// A value that kustomize cannot serialise (`.inf`, `.nan`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputError {
    /// The message, worded as Go's `encoding/json` words it.
    pub message: String,
    /// Where the offending value was written.
    pub pos: super::Pos,
}

/// One scalar after kustomize's output round trip, borrowing the scalar's text where the
/// value is a string (the emitter writes straight from the node tree with it).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OutScalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(std::borrow::Cow<'a, str>),
}

impl OutScalar<'_> {
    fn into_out(self) -> Out {
        match self {
            OutScalar::Null => Out::Null,
            OutScalar::Bool(b) => Out::Bool(b),
            OutScalar::Int(i) => Out::Int(i),
            OutScalar::Uint(u) => Out::Uint(u),
            OutScalar::Float(f) => Out::Float(f),
            OutScalar::Str(s) => Out::Str(s.into_owned()),
        }
    }
}

/// What a scalar (written at `pos`) becomes on output.
pub(crate) fn scalar_output<'a>(
    s: &'a Scalar,
    pos: &super::Pos,
) -> Result<OutScalar<'a>, OutputError> {
    use std::borrow::Cow;
    Ok(match s.resolve() {
        Resolved::Null if s.flow_empty => OutScalar::Str(Cow::Borrowed("")),
        Resolved::Null => OutScalar::Null,
        Resolved::Bool(b) => OutScalar::Bool(b),
        Resolved::Int(i) => OutScalar::Int(i),
        Resolved::Uint(u) => OutScalar::Uint(u),
        Resolved::Float(f) => float_through_json(f).ok_or_else(|| OutputError {
            message: format!(
                "json: unsupported value: {}",
                if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                }
            ),
            pos: pos.clone(),
        })?,
        Resolved::Str => OutScalar::Str(Cow::Borrowed(&s.value)),
        Resolved::Timestamp(t) | Resolved::Binary(t) => OutScalar::Str(Cow::Owned(t)),
    })
}

/// Converts a node into the value kustomize's output round trip produces.
pub fn to_output(node: &Node) -> Result<Out, OutputError> {
    Ok(match &node.value {
        Value::Scalar(s) => scalar_output(s, &node.pos)?.into_out(),
        Value::Seq(items) => {
            // A plain loop: one stack frame per level, even in debug builds.
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(to_output(item)?);
            }
            Out::Seq(out)
        }
        Value::Map(m) => {
            let mut entries = Vec::with_capacity(m.entries.len());
            for (k, v) in &m.entries {
                entries.push((k.value.clone(), to_output(v)?));
            }
            Out::Map(entries)
        }
    })
}

/// Go's `json.Marshal(float64)` followed by go-yaml v2 reading the number back.
fn float_through_json(f: f64) -> Option<OutScalar<'static>> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    let exp_form = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    if !exp_form && f.fract() == 0.0 {
        // 'f' formatting of an integral value: v2 reads it as an int when it fits.
        if f >= i64::MIN as f64 && f < 9.223_372_036_854_776e18 {
            return Some(OutScalar::Int(f as i64));
        }
        if (0.0..1.8446744073709552e19).contains(&f) {
            return Some(OutScalar::Uint(f as u64));
        }
    }
    Some(OutScalar::Float(if f == 0.0 { 0.0 } else { f }))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` with go-yaml's `.inf`/`.nan` spellings.
pub(super) fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits and decimal exponent.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    let sign = if f < 0.0 { "-" } else { "" };
    // Go: for the shortest form, %e is used when exp < -4 || exp >= 6.
    let eprec = 6;
    let dp = exp + 1;
    if exp < -4 || exp >= eprec {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            s.push('0');
        }
        s.push_str(&a.to_string());
        s
    } else {
        let mut s = String::from(sign);
        if dp <= 0 {
            s.push_str("0.");
            for _ in 0..(-dp) {
                s.push('0');
            }
            s.push_str(&digits);
        } else if dp >= nd {
            s.push_str(&digits);
            for _ in 0..(dp - nd) {
                s.push('0');
            }
        } else {
            s.push_str(&digits[..dp as usize]);
            s.push('.');
            s.push_str(&digits[dp as usize..]);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_resolution_matches_go_yaml() {
        let cases: &[(&str, Resolved)] = &[
            ("", Resolved::Null),
            ("~", Resolved::Null),
            ("yes", Resolved::Str),
            ("True", Resolved::Bool(true)),
            ("0x1F", Resolved::Int(31)),
            ("0o17", Resolved::Int(15)),
            ("0755", Resolved::Int(493)),
            ("1_000", Resolved::Int(1000)),
            ("1.50", Resolved::Float(1.5)),
            ("1e3", Resolved::Float(1000.0)),
            ("08", Resolved::Float(8.0)),
            ("-", Resolved::Str),
            ("1.2.3", Resolved::Str),
            (
                "2024-02-29",
                Resolved::Timestamp("2024-02-29T00:00:00Z".into()),
            ),
            ("2023-02-29", Resolved::Str),
            (
                "2001-12-14t21:59:43.10-05:00",
                Resolved::Timestamp("2001-12-14T21:59:43.1-05:00".into()),
            ),
            ("18446744073709551615", Resolved::Uint(u64::MAX)),
        ];
        for (input, want) in cases {
            assert_eq!(&resolve_plain(input), want, "{input:?}");
        }
    }

    #[test]
    fn v2_quoting_decisions() {
        for s in [
            "yes",
            "on",
            "y",
            "N",
            "8080",
            "1e3",
            "1:20",
            "2024-02-29",
            "",
            "0b101",
            ".5",
            "true",
        ] {
            assert!(!v2_plain_is_str(s), "{s:?} must be quoted");
        }
        for s in ["hello", "1.2.3", "-", "value: x", "0b", "v1"] {
            assert!(v2_plain_is_str(s), "{s:?} reads back as a string");
        }
    }

    #[test]
    fn go_float_formatting() {
        let cases = [
            (1.5, "1.5"),
            (1e20, "1e+20"),
            (1e-7, "1e-07"),
            (1.2345678901234568e29, "1.2345678901234568e+29"),
            (123456.5, "123456.5"),
            (1234567.5, "1.2345675e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
        ];
        for (f, want) in cases {
            assert_eq!(go_format_float(f), want, "{f}");
        }
    }
}
