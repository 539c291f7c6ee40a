//! The build's error type: what kind of failure, a message whose file paths stay
//! structured, and where (file, line, column when known).
//!
//! Paths are tree paths (the [`Files`](super::Files) namespace). They are never baked into
//! the text: a front end shows them its own way with [`BuildError::display_with`] (the CLI
//! relative to the working directory, validation relative to the service root, the web
//! editor relative to the opened folder). `Display` shows them as they are in the tree,
//! which is what the conformance corpus and core's own tests read.

use crate::yaml::{Pos, YamlError};
use std::fmt;
use std::sync::Arc;

/// What kind of failure a [`BuildError`] is (front ends may match on it; messages carry the
/// detail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file is not valid YAML.
    Yaml,
    /// A file or directory the build names does not exist, or a directory holds no
    /// kustomization file.
    NotFound,
    /// A file where a directory is needed, or the reverse.
    WrongFileType,
    /// A path leads outside the kustomization root (kustomize's load restrictor).
    OutsideRoot,
    /// A kustomization or component includes itself.
    Cycle,
    /// Something planton refuses by design: remote resources, Helm charts, exec plugins.
    Unsupported,
    /// A bound that keeps the build safe on any input (nesting, copied nodes).
    Limit,
    /// Two resources with the same id.
    DuplicateId,
    /// Any other input kustomize refuses: a field of the wrong shape, a patch that does
    /// not apply, a reference to nothing, ...
    Invalid,
}

/// One piece of a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Plain text.
    Text(String),
    /// A tree path (a file or a directory; the empty path is the tree's root).
    Path(Arc<str>),
}

/// An error message: text with the tree paths it names kept apart, so that each front end
/// shows paths its own way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message(Vec<Part>);

impl Message {
    /// A message of plain text.
    pub fn text(text: impl Into<String>) -> Message {
        Message(vec![Part::Text(text.into())])
    }

    /// Appends plain text.
    pub fn then(mut self, text: impl Into<String>) -> Message {
        self.0.push(Part::Text(text.into()));
        self
    }

    /// Appends a tree path.
    pub fn path(mut self, path: &str) -> Message {
        self.0.push(Part::Path(Arc::from(path)));
        self
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.0
    }

    /// The message with each path shown by `show`.
    pub fn display_with<'a>(&'a self, show: &'a dyn Fn(&str) -> String) -> impl fmt::Display + 'a {
        ShowMessage { msg: self, show }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::text(text)
    }
}

/// A tree path as the tree names it; the root is `.`.
fn tree_path(path: &str) -> String {
    if path.is_empty() {
        ".".to_string()
    } else {
        path.to_string()
    }
}

struct ShowMessage<'a> {
    msg: &'a Message,
    show: &'a dyn Fn(&str) -> String,
}

impl fmt::Display for ShowMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.msg.0 {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Path(p) => f.write_str(&(self.show)(p))?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display_with(&tree_path).fmt(f)
    }
}

/// Why a build failed: its kind, a message, and where (kustomization file or resource
/// file, with line and column when known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, lower-case, no trailing period, paths kept apart.
    pub message: Message,
    /// The file at fault (a tree path), if known.
    pub file: Option<Arc<str>>,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub col: u32,
}

/// `Result` with [`BuildError`].
pub type Result<T, E = BuildError> = std::result::Result<T, E>;

impl BuildError {
    /// An error of `kind` with no location yet.
    pub fn new(kind: ErrorKind, message: impl Into<Message>) -> BuildError {
        BuildError {
            kind,
            message: message.into(),
            file: None,
            line: 0,
            col: 0,
        }
    }

    /// An [`ErrorKind::Invalid`] error with no location yet.
    pub fn msg(message: impl Into<Message>) -> BuildError {
        BuildError::new(ErrorKind::Invalid, message)
    }

    /// An [`ErrorKind::Invalid`] error pointing at a file (no line).
    pub fn in_file(file: &str, message: impl Into<Message>) -> BuildError {
        BuildError::msg(message).or_file(file)
    }

    /// An [`ErrorKind::Invalid`] error pointing at a position.
    pub fn at(pos: &Pos, message: impl Into<Message>) -> BuildError {
        BuildError {
            file: (!pos.file.is_empty()).then(|| pos.file.clone()),
            line: pos.line,
            col: pos.col,
            ..BuildError::msg(message)
        }
    }

    /// The same error with another kind.
    pub fn kind(mut self, kind: ErrorKind) -> BuildError {
        self.kind = kind;
        self
    }

    /// Adds a file when the error has none yet.
    pub fn or_file(mut self, file: &str) -> BuildError {
        if self.file.is_none() && !file.is_empty() {
            self.file = Some(Arc::from(file));
        }
        self
    }

    /// Points the error at `file`, line and column of `pos`, when it has no file yet.
    pub fn or_at(mut self, file: &str, pos: &Pos) -> BuildError {
        if self.file.is_none() {
            self.file = Some(Arc::from(file));
            self.line = pos.line;
            self.col = pos.col;
        }
        self
    }

    /// Prefixes the message with context, kustomize style (`context: message`).
    pub fn context(mut self, ctx: impl Into<Message>) -> BuildError {
        let mut parts = ctx.into().0;
        parts.push(Part::Text(": ".to_string()));
        parts.append(&mut self.message.0);
        self.message.0 = parts;
        self
    }

    /// The error (`file:line:col: message`) with every path, the file's included, shown
    /// by `show`.
    pub fn display_with<'a>(&'a self, show: &'a dyn Fn(&str) -> String) -> impl fmt::Display + 'a {
        ShowError { e: self, show }
    }
}

struct ShowError<'a> {
    e: &'a BuildError,
    show: &'a dyn Fn(&str) -> String,
}

impl fmt::Display for ShowError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.e;
        match (&e.file, e.line) {
            (Some(file), 0) => write!(f, "{}: ", (self.show)(file))?,
            (Some(file), line) => write!(f, "{}:{line}:{}: ", (self.show)(file), e.col)?,
            (None, _) => {}
        }
        e.message.display_with(self.show).fmt(f)
    }
}

impl From<YamlError> for BuildError {
    fn from(e: YamlError) -> BuildError {
        BuildError {
            kind: ErrorKind::Yaml,
            message: Message::text(format!("malformed YAML: {}", e.message)),
            file: Some(e.file),
            line: e.line,
            col: e.col,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display_with(&tree_path).fmt(f)
    }
}

impl std::error::Error for BuildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_by_the_front_end() {
        let e = BuildError::new(
            ErrorKind::OutsideRoot,
            Message::text("security; file '")
                .path("svc/x.yaml")
                .then("' is not in or below '")
                .path("svc/_kustomize")
                .then("'"),
        )
        .or_file("svc/_kustomize/kustomization.yaml")
        .context(
            Message::text("recursed merging from path '")
                .path("")
                .then("'"),
        );
        assert_eq!(
            e.to_string(),
            "svc/_kustomize/kustomization.yaml: recursed merging from path '.': security; \
             file 'svc/x.yaml' is not in or below 'svc/_kustomize'"
        );
        let show = |p: &str| match p.strip_prefix("svc/") {
            Some(rest) => rest.to_string(),
            None if p == "svc" => ".".to_string(),
            None => format!("/{p}"),
        };
        assert_eq!(
            e.display_with(&show).to_string(),
            "_kustomize/kustomization.yaml: recursed merging from path '/': security; \
             file 'x.yaml' is not in or below '_kustomize'"
        );
        assert_eq!(e.kind, ErrorKind::OutsideRoot);
    }

    #[test]
    fn a_position_is_kept_once_set() {
        let inner = Pos {
            file: Arc::from("a.yaml"),
            line: 3,
            col: 4,
        };
        let outer = Pos {
            file: Arc::from("k.yaml"),
            line: 1,
            col: 1,
        };
        let e = BuildError::at(&inner, "bad")
            .or_file("k.yaml")
            .or_at("k.yaml", &outer);
        assert_eq!(e.to_string(), "a.yaml:3:4: bad");
        let e = BuildError::msg("bad").or_at("k.yaml", &outer);
        assert_eq!(e.to_string(), "k.yaml:1:1: bad");
    }
}
