//! JSON Pointers (RFC 6901): building them segment by segment, and reading through them.
//!
//! Diagnostics name the offending place in a manifest with a JSON Pointer such as
//! `/spec/container/app/ports/0/name`; map keys containing `/` or `~` are escaped
//! (`planton.ai/name` becomes `planton.ai~1name`).

/// Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`.
pub fn escape(token: &str) -> String {
    if !token.contains(['~', '/']) {
        return token.to_string();
    }
    token.replace('~', "~0").replace('/', "~1")
}

/// Appends one (unescaped) token to a pointer: `child("/spec", "a/b")` is `/spec/a~1b`.
pub fn child(base: &str, token: &str) -> String {
    format!("{base}/{}", escape(token))
}

/// Appends an array index to a pointer: `index("/spec/ports", 2)` is `/spec/ports/2`.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}/{i}")
}

/// Builds a pointer from unescaped tokens: `from(&["spec", "version"])` is `/spec/version`.
pub fn from(tokens: &[&str]) -> String {
    tokens.iter().fold(String::new(), |acc, t| child(&acc, t))
}

/// The value at a path of object keys: `get(v, &["spec", "version"])` is what
/// `v.pointer("/spec/version")` finds for keys without `/` or `~` (and a number token is a
/// key here, never an array index), without parsing and unescaping the pointer.
pub fn get<'a>(value: &'a serde_json::Value, keys: &[&str]) -> Option<&'a serde_json::Value> {
    keys.iter().try_fold(value, |v, k| v.as_object()?.get(*k))
}

/// A JSON Pointer under construction: a chain of tokens on the stack, written out as a
/// string only for a diagnostic that is reported.
#[derive(Clone, Copy)]
pub(crate) enum At<'a> {
    /// The whole document.
    Root,
    /// A member of the object at the parent.
    Key(&'a At<'a>, &'a str),
    /// An item of the array at the parent.
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    /// The pointer as a string (`""` at the root).
    pub(crate) fn pointer(&self) -> String {
        let mut tokens = Vec::new();
        let mut at = self;
        loop {
            match at {
                At::Root => break,
                At::Key(parent, key) => {
                    tokens.push(escape(key));
                    at = parent;
                }
                At::Index(parent, i) => {
                    tokens.push(i.to_string());
                    at = parent;
                }
            }
        }
        let mut out = String::new();
        for token in tokens.iter().rev() {
            out.push('/');
            out.push_str(token);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_slash_and_tilde() {
        assert_eq!(
            child("/metadata/labels", "planton.ai/name"),
            "/metadata/labels/planton.ai~1name"
        );
        assert_eq!(escape("a~b"), "a~0b");
        assert_eq!(from(&["spec", "container"]), "/spec/container");
        assert_eq!(index("/x", 3), "/x/3");
    }
}
