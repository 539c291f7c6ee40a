//! A schema `pattern`, compiled for fast matching: a dense DFA where that gives exactly
//! regex-lite's answer, else regex-lite itself.
//!
//! Matching a string against a `pattern` with regex-lite (a PikeVM) was about a tenth of a
//! warm render call; a dense DFA (`regex-automata`) answers with one table step per byte.
//! The DFA is built when the pattern is compiled, which a plugin does in `planton_init`
//! ([`precompile_patterns`](crate::schema::precompile_patterns)), so a host that snapshots
//! the instance after it starts every call with the tables built.
//!
//! Invariants: [`Pattern::is_match`] answers as `regex_lite::Regex::is_match` does for every
//! pattern and every string. A DFA is used only for patterns made of what both engines read
//! alike: literals, `.`, bracketed classes of literals, ranges and ASCII classes (`[:alpha:]`),
//! groups without flags, repetitions, alternations, and the anchors `^`, `$`, `\A`, `\z`.
//! Perl classes (`\d`, `\w`, `\s`: ASCII in regex-lite, Unicode in regex-automata), Unicode
//! classes, flags, word boundaries and class set operations are left to regex-lite, as is a
//! pattern whose DFA would be large. A pattern regex-lite refuses is refused with its error.
//!
//! What it is not: it does not decide what a `pattern` means beyond regex-lite's syntax
//! (JSON Schema says ECMA-262; the SDK has always read it as regex-lite does).

use std::sync::Arc;

use regex_automata::dfa::{Automaton, dense};
use regex_automata::nfa::thompson;
use regex_automata::{Input, util::syntax};
use regex_syntax::ast::{self, Ast, ClassSetItem, Visitor};

/// The most memory a pattern's DFA (and its construction) may take; a larger one falls back
/// to regex-lite.
const DFA_LIMIT: usize = 1 << 20;

/// A compiled `pattern`.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Dfa(Arc<dense::DFA<Vec<u32>>>),
    Lite(regex_lite::Regex),
}

impl Pattern {
    /// Compiles `p`; the error is regex-lite's.
    pub(crate) fn new(p: &str) -> Result<Pattern, String> {
        let lite = regex_lite::Regex::new(p).map_err(|e| e.to_string())?;
        let matcher = match dfa(p) {
            Some(dfa) => Matcher::Dfa(Arc::new(dfa)),
            None => Matcher::Lite(lite),
        };
        Ok(Pattern { matcher })
    }

    /// True when `s` contains a match (an unanchored search, as `Regex::is_match`).
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.matcher {
            // A DFA built from these patterns has no quit bytes and no Unicode word
            // boundaries, so the search cannot fail.
            Matcher::Dfa(dfa) => dfa
                .try_search_fwd(&Input::new(s).earliest(true))
                .is_ok_and(|m| m.is_some()),
            Matcher::Lite(re) => re.is_match(s),
        }
    }

    /// Whether matching goes through a DFA (for tests).
    #[cfg(test)]
    fn is_dfa(&self) -> bool {
        matches!(self.matcher, Matcher::Dfa(_))
    }
}

/// The DFA of `p` when both engines read it alike and it is small enough.
fn dfa(p: &str) -> Option<dense::DFA<Vec<u32>>> {
    let parsed = ast::parse::Parser::new().parse(p).ok()?;
    ast::visit(&parsed, Portable).ok()?;
    let hir = regex_syntax::hir::translate::Translator::new()
        .translate(p, &parsed)
        .ok()?;
    let nfa = thompson::Compiler::new()
        .syntax(syntax::Config::new())
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(DFA_LIMIT))
                .shrink(true),
        )
        .build_from_hir(&hir)
        .ok()?;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(regex_automata::dfa::StartKind::Unanchored)
                .dfa_size_limit(Some(DFA_LIMIT))
                .determinize_size_limit(Some(DFA_LIMIT)),
        )
        .build_from_nfa(&nfa)
        .ok()
}

/// Accepts only the syntax that regex-lite and regex-automata read alike (see the module
/// documentation).
struct Portable;

impl Visitor for Portable {
    type Output = ();
    type Err = ();

    fn finish(self) -> Result<(), ()> {
        Ok(())
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), ()> {
        use ast::AssertionKind::{EndLine, EndText, StartLine, StartText};
        match ast {
            Ast::Empty(_)
            | Ast::Literal(_)
            | Ast::Dot(_)
            | Ast::ClassBracketed(_)
            | Ast::Repetition(_)
            | Ast::Alternation(_)
            | Ast::Concat(_) => Ok(()),
            Ast::Assertion(a) if matches!(a.kind, StartLine | EndLine | StartText | EndText) => {
                Ok(())
            }
            Ast::Group(g) => match &g.kind {
                ast::GroupKind::CaptureIndex(_) | ast::GroupKind::CaptureName { .. } => Ok(()),
                ast::GroupKind::NonCapturing(flags) if flags.items.is_empty() => Ok(()),
                ast::GroupKind::NonCapturing(_) => Err(()),
            },
            Ast::Assertion(_) | Ast::Flags(_) | Ast::ClassUnicode(_) | Ast::ClassPerl(_) => Err(()),
        }
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
        match item {
            ClassSetItem::Empty(_)
            | ClassSetItem::Literal(_)
            | ClassSetItem::Range(_)
            | ClassSetItem::Ascii(_)
            | ClassSetItem::Bracketed(_)
            | ClassSetItem::Union(_) => Ok(()),
            ClassSetItem::Unicode(_) | ClassSetItem::Perl(_) => Err(()),
        }
    }

    fn visit_class_set_binary_op_pre(&mut self, _op: &ast::ClassSetBinaryOp) -> Result<(), ()> {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `pattern` of the built-in plugins' schemas.
    fn shipped_patterns() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut out = Vec::new();
        for dir in ["kubernetes/schema", "aws-ecs/schema"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for f in files {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
                collect(&v, &mut out);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match x.as_str() {
                        Some(p) if k == "pattern" => out.push(p.to_string()),
                        _ => collect(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }

    /// Strings to match: every string of up to three characters over an alphabet holding
    /// each kind of character the patterns distinguish, plus longer ones a rule meets.
    fn subjects() -> Vec<String> {
        let alphabet = [
            "", "a", "z", "A", "Z", "0", "9", "-", ".", "_", "/", "%", "+", ":", "@", " ", "\n",
            "é", "Ω", "i", "k", "m", "E", "e",
        ];
        let mut out = Vec::new();
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    out.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in [
            "main",
            "review-42",
            "my-service",
            "my-service-",
            "-x",
            "a.b.c",
            "a..b",
            "api.example.com",
            "API.example.com",
            "100m",
            "1.5Gi",
            "+1e3",
            ".5",
            "1.",
            "25%",
            "25%%",
            "/health",
            "health",
            "s3://my-bucket/env/prod.env",
            "arn:aws:s3:::my-bucket/file.env",
            "arn:aws-cn:s3:::b/x",
            "s3://ab/x",
            "traffic-port",
            "65535",
            "123456",
            "MY_VAR",
            "1VAR",
            "VAR\n",
            "x\ny",
        ] {
            out.push(s.to_string());
        }
        out
    }

    #[test]
    fn shipped_patterns_use_a_dfa_and_match_as_regex_lite() {
        let patterns = shipped_patterns();
        assert!(patterns.len() >= 10, "{patterns:?}");
        let subjects = subjects();
        for p in &patterns {
            let ours = Pattern::new(p).unwrap();
            assert!(ours.is_dfa(), "{p} should be matched by a DFA");
            let lite = regex_lite::Regex::new(p).unwrap();
            for s in &subjects {
                assert_eq!(ours.is_match(s), lite.is_match(s), "pattern {p:?} on {s:?}");
            }
        }
    }

    #[test]
    fn syntax_read_differently_falls_back_to_regex_lite() {
        let subjects = subjects();
        for p in [
            r"^\d+$",
            r"^[\w-]+$",
            r"\s",
            r"(?i)^abc$",
            r"^(?i:a)b$",
            r"\bword\b",
            r"(?m)^x$",
        ] {
            let ours = Pattern::new(p).unwrap();
            assert!(!ours.is_dfa(), "{p} must be left to regex-lite");
            let lite = regex_lite::Regex::new(p).unwrap();
            for s in &subjects {
                assert_eq!(ours.is_match(s), lite.is_match(s), "pattern {p:?} on {s:?}");
            }
        }
        // ASCII classes, unanchored searches and negated classes read alike.
        for p in [r"[[:alpha:]]", "b", r"[^a-z]", "a|^z$", r"^.$"] {
            let ours = Pattern::new(p).unwrap();
            assert!(ours.is_dfa(), "{p}");
            let lite = regex_lite::Regex::new(p).unwrap();
            for s in &subjects {
                assert_eq!(ours.is_match(s), lite.is_match(s), "pattern {p:?} on {s:?}");
            }
        }
    }

    #[test]
    fn bad_and_huge_patterns() {
        for bad in ["(", r"^\p{L}+$", r"^[a-z&&[^aeiou]]+$"] {
            let err = Pattern::new(bad).unwrap_err();
            assert_eq!(err, regex_lite::Regex::new(bad).unwrap_err().to_string());
        }
        // A DFA that would blow up falls back (and still answers).
        let huge = Pattern::new("(a|b)*a(a|b){24}").unwrap();
        assert!(!huge.is_dfa());
        assert!(huge.is_match(&format!("a{}", "b".repeat(24))));
    }
}
