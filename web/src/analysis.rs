//! One run of the checks over the open service: discover the layout, load `planton.yaml`,
//! then core's `check::check_service` (groups, every overlay built and validated, the
//! plan), the very function `planton validate` calls.
//!
//! Nothing here decides what is valid: every diagnostic comes from core or a plugin.
//! The module only keeps what the views need (built YAML, rendered objects, the plan).

use planton_core::check::check_service;
use planton_core::diag::Diagnostic;
use planton_core::kustomize::FileTree;
use planton_core::plan::Plan;
use planton_core::plugins::{Target, Targets};
use planton_core::service::{Layout, LayoutError, ServiceConfig};
use planton_core::validate::{KindChecker, OverlayBuild};
use planton_plugin_sdk::DeployContext;
use serde_json::Value;
use std::rc::Rc;

/// The directory the open service lives in inside the in-memory tree.
/// Diagnostics are reported relative to it, as the CLI reports them relative to the
/// directory it was given.
pub const ROOT: &str = "service";

/// The tree path of a service-relative path.
pub fn tree_path(rel: &str) -> String {
    format!("{ROOT}/{rel}")
}

/// The service-relative path of a tree path.
pub fn service_path(tree_path: &str) -> &str {
    tree_path
        .strip_prefix(ROOT)
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(tree_path)
}

/// Everything one run found.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Overlay directory names, sorted (empty when the layout was not found).
    pub overlays: Vec<String>,
    /// Exactly what `planton validate` reports: config, groups, builds, kinds, references,
    /// planning problems.
    pub diagnostics: Vec<Diagnostic>,
    /// Why the service could not be checked at all (no `_kustomize/` folder).
    pub fatal: Option<String>,
    /// The plan (`planton plan`), when the layout was found.
    pub plan: Option<Plan>,
    /// Problems only the plan finds (missing `metadata.env`, duplicate targets).
    pub plan_diagnostics: Vec<Diagnostic>,
    /// The builds, shared with the views.
    pub builds: Rc<Vec<OverlayBuild>>,
    /// Milliseconds spent producing `diagnostics` (layout, config, builds, validation, plan).
    pub validate_ms: f64,
    /// Milliseconds for the whole run, with the views (built YAML, rendered objects) of the
    /// selected overlays; set by the caller.
    pub total_ms: f64,
}

/// Runs every check over `tree` (service files under [`ROOT`]). `now` is a millisecond clock.
pub fn analyze(tree: &FileTree, checker: &dyn KindChecker, now: &dyn Fn() -> f64) -> Analysis {
    let start = now();
    let layout = match Layout::discover(tree, ROOT) {
        Ok((layout, _)) => layout,
        Err(e) => {
            return Analysis {
                fatal: Some(match e {
                    LayoutError::NoKustomize { .. } => {
                        "no _kustomize/ folder in the opened folder: open the service root, its _kustomize folder, or one overlay".to_string()
                    }
                    other => other.to_string(),
                }),
                validate_ms: now() - start,
                total_ms: now() - start,
                ..Analysis::default()
            };
        }
    };
    let (config, mut diagnostics) = ServiceConfig::load(tree, &layout);
    // The same composition as `planton validate` (core's `check_service`).
    let check = check_service(tree, &layout, None, &config, checker, None);
    diagnostics.extend(check.diagnostics);
    for d in &mut diagnostics {
        d.message = relative_message(&d.message);
    }
    let (plan, mut plan_diagnostics, report) = (check.plan, check.plan_diagnostics, check.report);
    for d in &mut plan_diagnostics {
        d.message = relative_message(&d.message);
    }
    let validate_ms = now() - start;
    Analysis {
        overlays: layout.overlays.clone(),
        diagnostics,
        fatal: None,
        plan: Some(plan),
        plan_diagnostics,
        builds: Rc::new(report.overlays),
        validate_ms,
        total_ms: now() - start,
    }
}

/// `message` with the tree root dropped from the paths it names (core's build errors name
/// tree paths such as `'service/_kustomize/base/x.yaml'`; the CLI's name its own root the
/// same way, and the browser tests drop that one).
pub fn relative_message(message: &str) -> String {
    let needle = format!("{ROOT}/");
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(&needle) {
        let boundary = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || "-_./".contains(c)));
        out.push_str(&rest[..i]);
        if !boundary {
            out.push_str(&needle);
        }
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// One overlay as the views show it.
#[derive(Clone, Debug, PartialEq)]
pub struct OverlayView {
    /// The overlay's name.
    pub name: String,
    /// The built manifest, exactly as `planton build` prints it, or the build error.
    pub yaml: Result<String, String>,
    /// The plugins' rendered objects (core's render loop, as `planton render` runs it), or
    /// why there are none (a kind no plugin serves is an error, as in the CLI).
    pub rendered: Result<Vec<Value>, String>,
}

/// The view of overlay `name`: its built YAML and its rendered objects (`image`: the
/// build's `REPO:TAG` for the render, as a deploy would pass it).
pub fn overlay_view<T: Target>(
    analysis: &Analysis,
    name: &str,
    plugins: &Targets<T>,
    image: Option<&str>,
) -> Option<OverlayView> {
    let ob = analysis.builds.iter().find(|b| b.name == name)?;
    let build = match &ob.build {
        Ok(b) => b,
        Err(e) => {
            let msg = format!(
                "{}:{}:{}: {}",
                e.file.as_deref().map(service_path).unwrap_or(""),
                e.line,
                e.col,
                relative_message(&e.message)
            );
            return Some(OverlayView {
                name: name.to_string(),
                yaml: Err(msg.clone()),
                rendered: Err(msg),
            });
        }
    };
    let yaml = build.to_yaml().map_err(|e| e.message);
    let context = DeployContext {
        image: image.map(str::to_string),
        ..DeployContext::default()
    };
    let rendered = plugins
        .render(build, &context)
        .map(|output| output.into_items())
        .map_err(|e| relative_message(&e.to_string()));
    Some(OverlayView {
        name: name.to_string(),
        yaml,
        rendered,
    })
}
