//! Diagnostics: one problem, with severity, stable code, message, and where it is
//! (file, 1-based line and column, JSON Pointer field path, overlay).

use serde::Serialize;
use std::fmt;

/// How bad a problem is: the SDK's severity, the one both plugins and core report with.
pub use planton_plugin_sdk::Severity;

/// The codes core reports (plugins add their own, such as `port-name-invalid`). The CLI, the
/// web editor and the tests match on these constants, never on spelled-out strings.
pub mod code {
    /// An overlay (or a value in it) does not build.
    pub const BUILD: &str = "build";
    /// No overlay directories.
    pub const NO_OVERLAYS: &str = "no-overlays";
    /// An overlay builds to nothing.
    pub const NO_MANIFEST: &str = "no-manifest";
    /// No plugin serves the manifest's kind.
    pub const UNKNOWN_KIND: &str = "unknown-kind";
    /// A plugin failed (trap, limit, bad output).
    pub const PLUGIN_FAILED: &str = "plugin-failed";
    /// A plugin could not be loaded.
    pub const PLUGIN_LOAD_FAILED: &str = "plugin-load-failed";
    /// A value looks like a reference but is not one.
    pub const REF_MALFORMED: &str = "ref-malformed";
    /// A reference names a group that does not exist.
    pub const REF_MISSING_GROUP: &str = "ref-missing-group";
    /// A reference names an entry its group does not have.
    pub const REF_MISSING_ENTRY: &str = "ref-missing-entry";
    /// A group manifest is invalid.
    pub const GROUP_INVALID: &str = "group-invalid";
    /// The prefix of every planning problem.
    pub const PLAN_PREFIX: &str = "plan-";
    /// An overlay to plan does not build (validation reports the build error itself).
    pub const PLAN_BUILD: &str = "plan-build";
    /// An overlay to plan builds to nothing.
    pub const PLAN_EMPTY: &str = "plan-empty";
    /// A deployable overlay's manifest has no `metadata.env`.
    pub const PLAN_MISSING_ENV: &str = "plan-missing-env";
    /// Two overlays deploy the same thing to the same environment.
    pub const PLAN_DUPLICATE_TARGET: &str = "plan-duplicate-target";
    /// `deploymentEnvironments` names an overlay that does not exist.
    pub const PLAN_UNKNOWN_ENV: &str = "plan-unknown-env";
    /// `environments.<overlay>` in `planton.yaml` sets a field that does not apply to the
    /// overlay's kind (`namespace` for an `AwsEcsService`, `profile` for a Kubernetes kind).
    pub const PLAN_ENVIRONMENT_FIELD: &str = "plan-environment-field";
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

    /// Whether this is a planning problem (a `plan-*` code).
    pub fn is_plan(&self) -> bool {
        self.code.starts_with(code::PLAN_PREFIX)
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
