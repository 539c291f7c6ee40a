//! One run of the checks over the open service: discover the layout, load `planton.yaml`,
//! then core's incremental `check_service` ([`Session::check`]: groups, every overlay built
//! and validated, the plan), which reports what `planton validate` reports while rebuilding
//! only the overlays an edit can affect; and the views of the selected overlays
//! ([`Views`], kept while their build is).
//!
//! Nothing here decides what is valid: every diagnostic comes from core or a plugin.
//! The module only keeps what the views need (built YAML, rendered objects, the plan).

use planton_core::diag::{Diagnostic, code};
use planton_core::incremental::Session;
use planton_core::kustomize::FileTree;
use planton_core::plan::Plan;
use planton_core::plugins::{RenderError, Target, Targets};
use planton_core::service::{CONFIG_FILE, Layout, LayoutError, ServiceConfig};
use planton_core::validate::{KindChecker, OverlayBuild};
use planton_plugin_sdk::DeployContext;
use serde_json::Value;
use std::collections::HashMap;
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

/// How the page names a tree path in a message: relative to the opened folder (the folder
/// itself is `.`), as the CLI names paths relative to its working directory.
fn shown_path(tree_path: &str) -> String {
    match tree_path {
        ROOT => ".".to_string(),
        p => service_path(p).to_string(),
    }
}

/// A render error with its file shown as the page shows paths.
fn render_error_text(e: &RenderError) -> String {
    match e {
        RenderError::Manifest { pos, message } => format!(
            "{}:{}:{}: {message}",
            shown_path(&pos.file),
            pos.line,
            pos.col
        ),
        other => other.to_string(),
    }
}

/// Everything one run found.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Overlay directory names, sorted (empty when the layout was not found).
    pub overlays: Vec<String>,
    /// Exactly what `planton validate` reports: config, plugins, groups, builds, kinds,
    /// references, planning problems.
    pub diagnostics: Rc<Vec<Diagnostic>>,
    /// Why the service could not be checked at all (no `_kustomize/` folder).
    pub fatal: Option<String>,
    /// The plan (`planton plan`), when the layout was found.
    pub plan: Option<Plan>,
    /// Problems only the plan finds (missing `metadata.env`, duplicate targets).
    pub plan_diagnostics: Vec<Diagnostic>,
    /// The builds, shared with the session and the views.
    pub builds: Vec<Rc<OverlayBuild>>,
    /// The overlays built again by this run (the others were unchanged).
    pub rebuilt: Vec<String>,
    /// The builds the session let go of in this run, freed with this analysis (the page
    /// frees a replaced analysis after showing the new one).
    pub retired: Vec<Rc<OverlayBuild>>,
    /// Milliseconds spent producing `diagnostics` (layout, config, builds, validation, plan).
    pub validate_ms: f64,
    /// Milliseconds for the whole run, with the views (built YAML, rendered objects) of the
    /// selected overlays; set by the caller.
    pub total_ms: f64,
}

/// Runs every check over `tree` (service files under [`ROOT`]) through `session` (which
/// keeps what did not change since its last run). `load_errors` are the pinned plugins that
/// could not be loaded (reported as `planton validate` reports them). `now` is a
/// millisecond clock.
pub fn analyze(
    tree: &FileTree,
    session: &mut Session,
    checker: &dyn KindChecker,
    load_errors: &[String],
    now: &dyn Fn() -> f64,
) -> Analysis {
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
    for e in load_errors {
        diagnostics.push(Diagnostic::error(code::PLUGIN_LOAD_FAILED, e.clone()).at(
            CONFIG_FILE,
            0,
            0,
        ));
    }
    // The same composition as `planton validate` (core's `check_service`), incrementally.
    let check = session.check(tree, &layout, None, &config, checker, None);
    diagnostics.extend(check.diagnostics);
    let plan_diagnostics = check.plan_diagnostics;
    let validate_ms = now() - start;
    Analysis {
        overlays: layout.overlays.clone(),
        diagnostics: Rc::new(diagnostics),
        fatal: None,
        plan: Some(check.plan),
        plan_diagnostics,
        builds: check.overlays,
        rebuilt: check.rebuilt,
        retired: check.retired,
        validate_ms,
        total_ms: now() - start,
    }
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

/// A view, with the build and image it shows.
type KeptView = (Rc<OverlayBuild>, Option<String>, Rc<OverlayView>);

/// The views of overlays, kept while their build, the image and the plugins stay the same
/// (an edit elsewhere does not print or render an overlay again).
#[derive(Default)]
pub struct Views {
    kept: HashMap<String, KeptView>,
}

impl Views {
    /// Forgets every view (the plugins changed).
    pub fn clear(&mut self) {
        self.kept.clear();
    }

    /// The view of overlay `name`: its built YAML and its rendered objects (`image`: the
    /// build's `REPO:TAG` for the render, as a deploy would pass it).
    pub fn view<T: Target>(
        &mut self,
        analysis: &Analysis,
        name: &str,
        plugins: &Targets<T>,
        image: Option<&str>,
    ) -> Option<Rc<OverlayView>> {
        let ob = analysis.builds.iter().find(|b| b.name == name)?;
        if let Some((b, i, v)) = self.kept.get(name)
            && Rc::ptr_eq(b, ob)
            && i.as_deref() == image
        {
            return Some(v.clone());
        }
        let v = Rc::new(overlay_view(ob, plugins, image));
        self.kept.insert(
            name.to_string(),
            (ob.clone(), image.map(str::to_string), v.clone()),
        );
        self.kept.retain(|n, (b, _, _)| {
            analysis
                .builds
                .iter()
                .any(|o| o.name == *n && Rc::ptr_eq(o, b))
        });
        Some(v)
    }
}

/// The view of one overlay's build.
fn overlay_view<T: Target>(
    ob: &OverlayBuild,
    plugins: &Targets<T>,
    image: Option<&str>,
) -> OverlayView {
    let name = ob.name.clone();
    let build = match &ob.build {
        Ok(b) => b,
        Err(e) => {
            let msg = e.display_with(&shown_path).to_string();
            return OverlayView {
                name,
                yaml: Err(msg.clone()),
                rendered: Err(msg),
            };
        }
    };
    let yaml = match ob.yaml() {
        Some(Ok(y)) => Ok(y.to_string()),
        Some(Err(e)) => Err(e.display_with(&shown_path).to_string()),
        None => Err(String::new()),
    };
    let context = DeployContext {
        image: image.map(str::to_string),
        ..DeployContext::default()
    };
    let rendered = plugins
        .render(build, &context)
        .map(|output| output.into_items())
        .map_err(|e| render_error_text(&e));
    OverlayView {
        name,
        yaml,
        rendered,
    }
}
