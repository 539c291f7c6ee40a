//! JSON Pointers (RFC 6901): building them segment by segment, and reading through them.
//!
//! Diagnostics name the offending place in a manifest with a JSON Pointer such as
//! `/spec/container/app/ports/0/name`; map keys containing `/` or `~` are escaped
//! (`planton.ai/name` becomes `planton.ai~1name`).

/// Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`.
pub fn escape(token: &str) -> String {
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
