//! Diagnostics: one problem, with severity, stable code, message, and where it is
//! (file, 1-based line and column, JSON Pointer field path, overlay).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks deployment.
    Error,
    /// Worth fixing; does not block.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a service's files.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code (`build`, `ref-malformed`, `K8S-PORT-NAME`, ...).
    pub code: String,
    /// What is wrong, and how to fix it where we know.
    pub message: String,
    /// File relative to the root the user gave; empty when no file applies.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
    /// JSON Pointer into the built manifest (`/spec/container/app/ports/0/name`), or empty.
    pub path: String,
    /// The overlay being checked (directory name), or empty for service-wide problems.
    pub overlay: String,
}

impl Diagnostic {
    /// A diagnostic with no location yet.
    pub fn new(severity: Severity, code: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            code: code.to_string(),
            message: message.into(),
            file: String::new(),
            line: 0,
            column: 0,
            path: String::new(),
            overlay: String::new(),
        }
    }

    /// An error.
    pub fn error(code: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message)
    }

    /// A warning.
    pub fn warning(code: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message)
    }

    /// Sets the location.
    pub fn at(mut self, file: &str, line: u32, column: u32) -> Diagnostic {
        self.file = file.to_string();
        self.line = line;
        self.column = column;
        self
    }

    /// Sets the overlay.
    pub fn in_overlay(mut self, overlay: &str) -> Diagnostic {
        self.overlay = overlay.to_string();
        self
    }

    /// Sets the field path.
    pub fn with_path(mut self, path: &str) -> Diagnostic {
        self.path = path.to_string();
        self
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: severity[code]: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.file.is_empty() {
            "<service>"
        } else {
            &self.file
        };
        write!(
            f,
            "{file}:{}:{}: {}[{}]: {}",
            self.line, self.column, self.severity, self.code, self.message
        )?;
        let mut extra = Vec::new();
        if !self.overlay.is_empty() {
            extra.push(format!("overlay {}", self.overlay));
        }
        if !self.path.is_empty() {
            extra.push(format!("at {}", self.path));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        Ok(())
    }
}

/// Counts by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
}

impl Summary {
    /// Counts a list.
    pub fn of(diags: &[Diagnostic]) -> Summary {
        Summary {
            errors: diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count(),
            warnings: diags
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count(),
        }
    }
}
