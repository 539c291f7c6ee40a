//! The editor's state and the actions that change it (`enum Action` + `impl Reducible`).
//!
//! `reduce` is where the page calls core: [`Action::Analyze`] runs [`analysis::analyze`]
//! (build, validate, plan, incrementally through the service's [`Session`]) over the edited
//! files, and overlay selection asks the plugins to render (views kept in [`Views`], and
//! made only for the tab that shows them).
//! An edit is checked at once when the checks have been idle at least as long as the last
//! one took; otherwise it only marks the state stale and the app checks on the next animation
//! frame. So a cheap check shows its result in the frame of the edit, and an expensive one
//! never takes more than about half of the time however fast the user types.
//!
//! The state holds no browser objects except the opaque plugin instances and folder handle
//! that `services` produced.

use crate::analysis::{Analysis, OverlayView, Views, analyze, service_path, tree_path};
use crate::services::clock;
use crate::services::fs::FolderHandle;
use crate::services::plugins::{PluginSet, WasmPlugin};
use planton_core::incremental::Session;
use planton_core::kustomize::FileTree;
use planton_core::plugins::Target;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use yew::Reducible;

/// The views of the lower pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Every diagnostic.
    Diagnostics,
    /// The built manifest of the selected overlay.
    Manifest,
    /// The plugin's rendered objects of the selected overlay.
    Rendered,
    /// The deployment plan.
    Plan,
    /// Side-by-side diff of two overlays' built manifests.
    Diff,
}

/// The open service.
#[derive(Clone, Debug)]
pub struct Service {
    /// The folder's name.
    pub name: String,
    /// The files, under [`analysis::ROOT`].
    pub tree: FileTree,
    /// Whether there are unsaved changes.
    pub dirty: bool,
    /// Service-relative paths deleted since the last save.
    pub deleted: BTreeSet<String>,
    /// Where to save back, when the browser gave a writable folder.
    pub handle: Option<FolderHandle>,
    /// The pinned plugins of `planton.yaml` that could not be loaded (`plugin <path>: why`).
    pub load_errors: Vec<String>,
}

impl Service {
    /// Service-relative paths of every file, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.tree
            .paths()
            .map(|p| service_path(p).to_string())
            .collect()
    }

    /// The text of a file.
    pub fn text(&self, rel: &str) -> Option<&str> {
        self.tree.read(&tree_path(rel)).map(|t| t.as_ref())
    }

    /// Every `(path, text)`, for saving.
    pub fn files(&self) -> Vec<(String, String)> {
        self.tree
            .paths()
            .filter_map(|p| Some((service_path(p).to_string(), self.tree.read(p)?.to_string())))
            .collect()
    }
}

/// A request to put the caret at a place in a file (from a diagnostic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jump {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Increments on every jump, so jumping twice to one place still moves the caret.
    pub seq: u64,
}

/// Everything the page shows.
#[derive(Clone, Default)]
pub struct State {
    /// The open service, if any.
    pub service: Option<Service>,
    /// The plugins (built-in, then dropped).
    pub plugins: PluginSet,
    /// Whether the built-in plugins have finished loading (successfully or not).
    pub plugins_ready: bool,
    /// Plugin load problems.
    pub plugin_errors: Vec<String>,
    /// The last analysis.
    pub analysis: Rc<Analysis>,
    /// Whether the files changed since the last analysis.
    pub stale: bool,
    /// How many analyses ran (tests and the benchmark wait on it).
    pub runs: u64,
    /// The file in the editor (service-relative).
    pub file: Option<String>,
    /// The selected overlay.
    pub overlay: Option<String>,
    /// The overlay the diff compares with.
    pub compare: Option<String>,
    /// The lower pane's view.
    pub tab: Option<Tab>,
    /// Where the editor's caret should go.
    pub jump: Option<Jump>,
    /// The selected overlay's built manifest and rendering.
    pub view: Option<Rc<OverlayView>>,
    /// The compared overlay's.
    pub compare_view: Option<Rc<OverlayView>>,
    /// A message for the status bar.
    pub notice: Option<String>,
    /// The build's image (`REPO:TAG`) the rendered view passes to the plugin.
    pub render_image: Option<String>,
    /// What the checks keep between edits of the open service.
    pub session: Rc<RefCell<Session>>,
    /// The views kept between edits.
    pub views: Rc<RefCell<Views>>,
    /// When the last check ended (`clock::now`), and how long it took (ms).
    pub last_check: (f64, f64),
}

/// Everything that can happen.
pub enum Action {
    /// A built-in or dropped plugin finished loading.
    PluginLoaded(Result<WasmPlugin, String>),
    /// The built-in plugins are all loaded (or failed).
    PluginsReady,
    /// A folder was opened.
    Open {
        /// Folder name.
        name: String,
        /// `(service-relative path, text)`.
        files: Vec<(String, String)>,
        /// Writable handle, if any.
        handle: Option<FolderHandle>,
        /// The plugins its `planton.yaml` pins, loaded.
        pinned: Vec<WasmPlugin>,
        /// The pinned plugins that could not be loaded, and why.
        load_errors: Vec<String>,
        /// What the page could not read for it (said in the status bar).
        notes: Vec<String>,
    },
    /// Open the bundled example.
    OpenExample,
    /// The text of a file changed.
    Edit {
        /// Service-relative path.
        path: String,
        /// The new text.
        text: String,
    },
    /// Run the checks (the app dispatches this at most once per animation frame).
    Analyze,
    /// Show a file in the editor.
    SelectFile(String),
    /// Select the overlay for the manifest, rendered and diff views.
    SelectOverlay(String),
    /// Select the overlay the diff compares with.
    SelectCompare(String),
    /// Switch the lower pane.
    SetTab(Tab),
    /// Set the image (`REPO:TAG`) used to render; empty for none.
    SetRenderImage(String),
    /// Go to a place (from a diagnostic).
    Jump {
        /// Service-relative path.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
    },
    /// Create an empty file (service-relative path).
    CreateFile(String),
    /// Create an overlay of the base.
    CreateOverlay(String),
    /// Rename a file or a folder (every file under it).
    Rename {
        /// Old service-relative path.
        from: String,
        /// New service-relative path.
        to: String,
    },
    /// Delete a file or a folder.
    Delete(String),
    /// Saving finished.
    Saved(Result<String, String>),
    /// Show a message.
    Notice(String),
    /// The page restarted after a trap: reopen the files, say what happened, and hold the
    /// checks until the next edit.
    Recovered(crate::services::recovery::Recovered),
}

/// The kustomization of a new overlay: the base, ready for patches.
const NEW_OVERLAY: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n";

fn valid_rel(path: &str) -> Option<String> {
    let p = planton_core::kustomize::fs::normalize(path.trim())?;
    (!p.is_empty()).then_some(p)
}

impl State {
    fn with_service<F: FnOnce(&mut Service) -> Result<(), String>>(&mut self, f: F) {
        if let Some(svc) = self.service.as_mut() {
            match f(svc) {
                Ok(()) => {
                    svc.dirty = true;
                    self.stale = true;
                    crate::services::recovery::snapshot(&svc.name, &svc.files());
                }
                Err(e) => self.notice = Some(e),
            }
        }
    }

    fn refresh_views(&mut self) {
        let overlays = &self.analysis.overlays;
        if self.overlay.as_ref().is_none_or(|o| !overlays.contains(o)) {
            self.overlay = overlays
                .iter()
                .find(|o| *o != "local")
                .or(overlays.first())
                .cloned();
        }
        if self.compare.as_ref().is_none_or(|o| !overlays.contains(o)) {
            self.compare = overlays
                .iter()
                .find(|o| Some(*o) != self.overlay.as_ref() && *o != "local")
                .or(overlays.first())
                .cloned();
        }
        // Only the views the shown tab needs are printed and rendered (the others when
        // their tab is chosen): an edit checked on the diagnostics tab prints nothing.
        let tab = self.tab.unwrap_or(Tab::Diagnostics);
        let (main, compared) = match tab {
            Tab::Manifest | Tab::Rendered => (true, false),
            Tab::Diff => (true, true),
            Tab::Diagnostics | Tab::Plan => (false, false),
        };
        let image = self.render_image.as_deref();
        let mut views = self.views.borrow_mut();
        let mut view = |name: &Option<String>, shown: bool| {
            name.as_ref()
                .filter(|_| shown)
                .and_then(|n| views.view(&self.analysis, n, self.plugins.targets(), image))
        };
        let (v, c) = (view(&self.overlay, main), view(&self.compare, compared));
        drop(views);
        self.view = v;
        self.compare_view = c;
    }

    /// The plugins changed: kind checks and renders are done again.
    fn plugins_changed(&mut self) {
        self.session.borrow_mut().checker_changed();
        self.views.borrow_mut().clear();
    }

    /// Runs the checks now (and the views).
    fn analyze_now(&mut self) {
        let Some(svc) = &self.service else { return };
        let start = clock::now();
        let analysis = analyze(
            &svc.tree,
            &mut self.session.borrow_mut(),
            self.plugins.targets(),
            &svc.load_errors,
            &clock::now,
        );
        // The previous analysis (and the builds only it still holds) is freed after the
        // page shows this one.
        clock::drop_later(std::mem::replace(&mut self.analysis, Rc::new(analysis)));
        self.stale = false;
        self.runs += 1;
        self.refresh_views();
        let end = clock::now();
        Rc::make_mut(&mut self.analysis).total_ms = end - start;
        self.last_check = (end, end - start);
    }

    fn open(&mut self, name: String, files: Vec<(String, String)>, handle: Option<FolderHandle>) {
        let mut tree = FileTree::new();
        for (p, t) in &files {
            tree.insert(&tree_path(p), t.as_str());
        }
        let svc = Service {
            name,
            tree,
            dirty: false,
            deleted: BTreeSet::new(),
            handle,
            load_errors: Vec::new(),
        };
        crate::services::recovery::snapshot(&svc.name, &svc.files());
        self.session = Rc::default();
        self.views = Rc::default();
        let paths = svc.paths();
        self.file = paths
            .iter()
            .find(|p| {
                p.starts_with("_kustomize/overlays/prod/") && !p.ends_with("kustomization.yaml")
            })
            .or_else(|| paths.iter().find(|p| p.ends_with("service.yaml")))
            .or(paths.first())
            .cloned();
        self.notice = Some(format!("opened {} ({} files)", svc.name, paths.len()));
        self.service = Some(svc);
        self.overlay = None;
        self.compare = None;
        self.jump = None;
        self.stale = true;
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::PluginLoaded(Ok(p)) => {
                s.notice = Some(format!(
                    "plugin {} {} loaded ({})",
                    p.describe().name,
                    p.describe().version,
                    p.origin()
                ));
                s.plugins = s.plugins.with(p);
                s.plugins_changed();
                s.stale = s.service.is_some();
            }
            Action::PluginLoaded(Err(e)) => {
                s.notice = Some(e.clone());
                s.plugin_errors.push(e);
            }
            Action::PluginsReady => {
                s.plugins_ready = true;
                s.stale = s.service.is_some();
            }
            Action::Open {
                name,
                files,
                handle,
                pinned,
                load_errors,
                notes,
            } => {
                let n = pinned.len();
                s.plugins = s.plugins.with_pinned(pinned);
                s.open(name, files, handle);
                if let Some(svc) = s.service.as_mut() {
                    svc.load_errors = load_errors;
                }
                if n > 0 {
                    s.notice = Some(format!(
                        "{}, {n} pinned plugin(s)",
                        s.notice.take().unwrap_or_default()
                    ));
                }
                if !notes.is_empty() {
                    s.notice = Some(notes.join("; "));
                }
            }
            Action::OpenExample => {
                let files = crate::example::FILES
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect();
                // The example pins no plugin: drop those the previous service pinned.
                s.plugins = s.plugins.with_pinned(Vec::new());
                s.open(crate::example::NAME.to_string(), files, None);
            }
            Action::Edit { path, text } => {
                crate::services::recovery::snapshot_file(&path, &text);
                if let Some(svc) = s.service.as_mut() {
                    svc.tree.insert(&tree_path(&path), text);
                    svc.dirty = true;
                    s.stale = true;
                }
                // Check at once when idle for at least as long as the last check took.
                let (end, cost) = s.last_check;
                if s.plugins_ready && clock::now() - end >= cost {
                    s.analyze_now();
                }
            }
            Action::Analyze => {
                if !s.stale || !s.plugins_ready || s.service.is_none() {
                    return self;
                }
                s.analyze_now();
            }
            Action::Recovered(r) => {
                if let Some((name, files)) = r.files {
                    s.open(name, files, None);
                    s.stale = false;
                }
                s.notice = Some(format!(
                    "the checks crashed ({}); the editor restarted with the files as they were, and checks again at your next edit",
                    r.message
                ));
            }
            Action::SelectFile(f) => s.file = Some(f),
            Action::SelectOverlay(o) => {
                s.overlay = Some(o);
                s.refresh_views();
            }
            Action::SelectCompare(o) => {
                s.compare = Some(o);
                s.refresh_views();
            }
            Action::SetTab(t) => {
                s.tab = Some(t);
                s.refresh_views();
            }
            Action::SetRenderImage(image) => {
                let image = image.trim();
                s.render_image = (!image.is_empty()).then(|| image.to_string());
                s.refresh_views();
            }
            Action::Jump { file, line, column } => {
                if s.service
                    .as_ref()
                    .is_some_and(|svc| svc.text(&file).is_some())
                {
                    s.file = Some(file);
                    let seq = s.jump.as_ref().map_or(1, |j| j.seq + 1);
                    s.jump = Some(Jump { line, column, seq });
                }
            }
            Action::CreateFile(path) => {
                let Some(p) = valid_rel(&path) else {
                    s.notice = Some(format!("not a valid path: {path}"));
                    return Rc::new(s);
                };
                s.with_service(|svc| {
                    if svc.text(&p).is_some() || svc.tree.is_dir(&tree_path(&p)) {
                        return Err(format!("{p} already exists"));
                    }
                    svc.tree.insert(&tree_path(&p), "");
                    svc.deleted.remove(&p);
                    Ok(())
                });
                s.file = Some(p);
            }
            Action::CreateOverlay(name) => {
                let name = name.trim().to_string();
                if name.is_empty() || name.contains('/') || name.starts_with('.') {
                    s.notice = Some(format!("not a valid overlay name: {name}"));
                    return Rc::new(s);
                }
                let path = format!("_kustomize/overlays/{name}/kustomization.yaml");
                s.with_service(|svc| {
                    if svc
                        .tree
                        .is_dir(&tree_path(&format!("_kustomize/overlays/{name}")))
                    {
                        return Err(format!("overlay {name} already exists"));
                    }
                    svc.tree.insert(&tree_path(&path), NEW_OVERLAY);
                    svc.deleted.remove(&path);
                    Ok(())
                });
                s.file = Some(path);
            }
            Action::Rename { from, to } => {
                let Some(to) = valid_rel(&to) else {
                    s.notice = Some(format!("not a valid path: {to}"));
                    return Rc::new(s);
                };
                let mut moved_file = None;
                s.with_service(|svc| {
                    let moves: Vec<(String, String)> = svc
                        .paths()
                        .into_iter()
                        .filter_map(|p| {
                            if p == from {
                                Some((p, to.clone()))
                            } else {
                                p.strip_prefix(&format!("{from}/"))
                                    .map(|rest| (p.clone(), format!("{to}/{rest}")))
                            }
                        })
                        .collect();
                    if moves.is_empty() {
                        return Err(format!("{from} does not exist"));
                    }
                    if moves.iter().any(|(_, n)| svc.text(n).is_some()) {
                        return Err(format!("{to} already exists"));
                    }
                    for (old, new) in moves {
                        if let Some(text) = svc.tree.remove(&tree_path(&old)) {
                            svc.tree.insert(&tree_path(&new), text);
                        }
                        svc.deleted.insert(old.clone());
                        svc.deleted.remove(&new);
                        moved_file.get_or_insert((old, new));
                    }
                    Ok(())
                });
                if let (Some(cur), Some(_)) = (s.file.clone(), moved_file) {
                    if cur == from {
                        s.file = Some(to.clone());
                    } else if let Some(rest) = cur.strip_prefix(&format!("{from}/")) {
                        s.file = Some(format!("{to}/{rest}"));
                    }
                }
            }
            Action::Delete(path) => {
                s.with_service(|svc| {
                    let doomed: Vec<String> = svc
                        .paths()
                        .into_iter()
                        .filter(|p| *p == path || p.starts_with(&format!("{path}/")))
                        .collect();
                    if doomed.is_empty() {
                        return Err(format!("{path} does not exist"));
                    }
                    for p in doomed {
                        svc.tree.remove(&tree_path(&p));
                        svc.deleted.insert(p);
                    }
                    Ok(())
                });
                if s.file
                    .as_ref()
                    .is_some_and(|f| *f == path || f.starts_with(&format!("{path}/")))
                {
                    s.file = s
                        .service
                        .as_ref()
                        .and_then(|svc| svc.paths().into_iter().next());
                }
            }
            Action::Saved(Ok(msg)) => {
                if let Some(svc) = s.service.as_mut() {
                    svc.dirty = false;
                    svc.deleted.clear();
                }
                s.notice = Some(msg);
            }
            Action::Saved(Err(e)) => s.notice = Some(format!("not saved: {e}")),
            Action::Notice(n) => s.notice = Some(n),
        }
        Rc::new(s)
    }
}
