//! The build's error type.

use crate::yaml::{Pos, YamlError};
use std::fmt;
use std::sync::Arc;

/// Why a build failed: a message, and where (kustomization file or resource file, with
/// line and column when known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    /// What went wrong, lower-case, no trailing period.
    pub message: String,
    /// The file at fault (tree-relative), if known.
    pub file: Option<Arc<str>>,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub col: u32,
}

/// `Result` with [`BuildError`].
pub type Result<T, E = BuildError> = std::result::Result<T, E>;

impl BuildError {
    /// An error with no location yet.
    pub fn msg(message: impl Into<String>) -> BuildError {
        BuildError {
            message: message.into(),
            file: None,
            line: 0,
            col: 0,
        }
    }

    /// An error pointing at a file (no line).
    pub fn in_file(file: &str, message: impl Into<String>) -> BuildError {
        BuildError {
            message: message.into(),
            file: Some(Arc::from(file)),
            line: 0,
            col: 0,
        }
    }

    /// An error pointing at a position.
    pub fn at(pos: &Pos, message: impl Into<String>) -> BuildError {
        let file = if pos.file.is_empty() {
            None
        } else {
            Some(pos.file.clone())
        };
        BuildError {
            message: message.into(),
            file,
            line: pos.line,
            col: pos.col,
        }
    }

    /// Adds a file when the error has none yet.
    pub fn or_file(mut self, file: &str) -> BuildError {
        if self.file.is_none() {
            self.file = Some(Arc::from(file));
        }
        self
    }

    /// Prefixes the message with context, kustomize style (`context: message`).
    pub fn context(mut self, ctx: impl fmt::Display) -> BuildError {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl From<YamlError> for BuildError {
    fn from(e: YamlError) -> BuildError {
        BuildError {
            message: format!("malformed YAML: {}", e.message),
            file: Some(e.file),
            line: e.line,
            col: e.col,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), 0) => write!(f, "{file}: {}", self.message),
            (Some(file), line) => write!(f, "{file}:{line}:{}: {}", self.col, self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BuildError {}
