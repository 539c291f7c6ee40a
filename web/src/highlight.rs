//! YAML syntax highlighting for the editor, one line at a time: comments, keys, strings,
//! numbers and booleans, `$variables-group/…`/`$secrets-group/…` references, punctuation.
//!
//! A view helper only: it never decides whether YAML is valid (core's parser does).

/// What a piece of a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Anything else.
    Plain,
    /// A `# comment`.
    Comment,
    /// A mapping key.
    Key,
    /// A quoted string.
    Str,
    /// A number, boolean or null.
    Literal,
    /// A value that starts with `$` (a group reference).
    Reference,
    /// `-`, `:`, `---` and the like.
    Punct,
}

impl Class {
    /// The CSS class.
    pub fn css(self) -> &'static str {
        match self {
            Class::Plain => "t-plain",
            Class::Comment => "t-comment",
            Class::Key => "t-key",
            Class::Str => "t-str",
            Class::Literal => "t-lit",
            Class::Reference => "t-ref",
            Class::Punct => "t-punct",
        }
    }
}

fn comment_start(s: &str) -> Option<usize> {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single && !double && (prev == ' ' || prev == '\t' || i == 0) => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

fn scalar(s: &str, out: &mut Vec<(Class, String)>) {
    let t = s.trim();
    if t.is_empty() {
        out.push((Class::Plain, s.to_string()));
        return;
    }
    let lead = &s[..s.len() - s.trim_start().len()];
    let trail = &s[s.trim_end().len()..];
    let class = if t.starts_with('"') || t.starts_with('\'') {
        Class::Str
    } else if t.starts_with('$') {
        Class::Reference
    } else if t.parse::<f64>().is_ok()
        || matches!(
            t,
            "true" | "false" | "null" | "~" | "True" | "False" | "yes" | "no"
        )
    {
        Class::Literal
    } else if t.starts_with('|')
        || t.starts_with('>')
        || t.starts_with('&')
        || t.starts_with('*')
        || t.starts_with('[')
        || t.starts_with('{')
    {
        Class::Punct
    } else {
        Class::Plain
    };
    if !lead.is_empty() {
        out.push((Class::Plain, lead.to_string()));
    }
    out.push((class, t.to_string()));
    if !trail.is_empty() {
        out.push((Class::Plain, trail.to_string()));
    }
}

/// The classed pieces of one line; their texts concatenate back to `line`.
pub fn line(line: &str) -> Vec<(Class, String)> {
    let mut out = Vec::new();
    let (body, comment) = match comment_start(line) {
        Some(i) => (&line[..i], Some(&line[i..])),
        None => (line, None),
    };
    let trimmed = body.trim_start();
    if trimmed.starts_with("---") || trimmed.starts_with("...") {
        out.push((Class::Punct, body.to_string()));
    } else {
        let indent = body.len() - trimmed.len();
        out.push((Class::Plain, body[..indent].to_string()));
        let mut rest = trimmed;
        while let Some(r) = rest
            .strip_prefix("- ")
            .or_else(|| (rest == "-").then_some(""))
        {
            out.push((Class::Punct, "-".to_string()));
            let after = &rest[1..];
            let spaces = after.len() - after.trim_start().len();
            out.push((Class::Plain, after[..spaces].to_string()));
            rest = r.trim_start();
        }
        let key_end = if rest.starts_with('"') || rest.starts_with('\'') {
            None
        } else {
            rest.find(": ")
                .or_else(|| rest.strip_suffix(':').map(|k| k.len()))
        };
        match key_end {
            Some(k) => {
                out.push((Class::Key, rest[..k].to_string()));
                out.push((Class::Punct, ":".to_string()));
                scalar(&rest[k + 1..], &mut out);
            }
            None => scalar(rest, &mut out),
        }
    }
    if let Some(c) = comment {
        out.push((Class::Comment, c.to_string()));
    }
    out.retain(|(_, t)| !t.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_back() {
        for l in [
            "  - name: http  # the port",
            "key: \"a # b\"",
            "---",
            "  value: $secrets-group/x/y",
            "- - a",
            "plain",
        ] {
            let joined: String = line(l).into_iter().map(|(_, t)| t).collect();
            assert_eq!(joined, l);
        }
        assert_eq!(line("a: 1")[0], (Class::Key, "a".to_string()));
    }
}
