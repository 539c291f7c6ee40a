//! Validating a service: build every overlay, check each built service manifest with its
//! kind's rules (through [`KindChecker`], which the runner backs with the target plugins),
//! check reference syntax and (when a group source is configured) resolution, and point
//! every problem at the file, line and column that wrote the offending value.
//!
//! Positions survive the build: each value in a built manifest keeps the position where it
//! was written, so a bad value set by an overlay patch points at the patch, and one
//! inherited from the base points at the base.

use crate::diag::{Diagnostic, Severity, code};
use crate::kustomize::fs::join;
use crate::kustomize::kustomization::FILE_NAMES;
use crate::kustomize::memo::Docs;
use crate::kustomize::{Build, BuildError, Files, Resource, build};
use crate::plugins::PluginFailure;
use crate::refs::{self, GroupSource, RefKind, Unresolved};
use crate::service::Layout;
use crate::yaml::{Node, Out, Pos, Value, parse_stream, to_output};

/// A problem a kind's rules found, addressed by JSON Pointer into the manifest: the SDK's
/// diagnostic, exactly as the plugin returned it.
pub use planton_plugin_sdk::Diagnostic as KindProblem;

/// Checks manifests of the kinds it knows: [`crate::plugins::Targets`] over the target
/// plugins (however a front end calls them), or [`NoKinds`].
pub trait KindChecker {
    /// Problems in `manifest`, or `None` when no plugin serves this kind, or `Err` when the
    /// plugin failed (trap, deadline, bad output).
    fn check(
        &self,
        api_version: &str,
        kind: &str,
        manifest: &serde_json::Value,
        overlay: &str,
        local: bool,
    ) -> Option<Result<Vec<KindProblem>, PluginFailure>>;

    /// The kinds served (`apiVersion/kind`), for "unknown kind" errors. A checker that
    /// returns none (like [`NoKinds`]) turns that check off.
    fn known_kinds(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A checker that knows no kinds (schema-free validation: builds and references only).
pub struct NoKinds;

impl KindChecker for NoKinds {
    fn check(
        &self,
        _: &str,
        _: &str,
        _: &serde_json::Value,
        _: &str,
        _: bool,
    ) -> Option<Result<Vec<KindProblem>, PluginFailure>> {
        None
    }
}

/// One overlay's build.
#[derive(Clone, Debug)]
pub struct OverlayBuild {
    /// Directory name.
    pub name: String,
    /// The build, or why it failed.
    pub build: Result<Build, BuildError>,
    /// Where a value missing from this overlay's manifest is to be added.
    pub anchor: OverlayAnchor,
    /// The build's YAML, printed once on first use ([`OverlayBuild::yaml`]).
    yaml: std::sync::OnceLock<Result<String, BuildError>>,
}

/// Parses a file (path, text) into its documents, `None` when it is not valid YAML.
pub type ParseFn<'a> = dyn Fn(&str, &std::sync::Arc<str>) -> Option<Docs> + 'a;

/// Where the user adds a value that an overlay's manifest lacks: the overlay's own patch
/// file (the one patching the manifest's kind, else the first), else its kustomization.
#[derive(Clone, Debug, Default)]
pub struct OverlayAnchor {
    /// The overlay's kustomization file (core path), when it has one.
    pub kustomization: Option<String>,
    /// The overlay's patch files whose first document is a mapping, parsed (shared with
    /// the build's memo, when it has one).
    pub patches: Vec<Docs>,
}

impl PartialEq for OverlayAnchor {
    /// Equal files and equal first documents (documents shared by both compare at once).
    fn eq(&self, other: &OverlayAnchor) -> bool {
        self.kustomization == other.kustomization
            && self.patches.len() == other.patches.len()
            && self
                .patches
                .iter()
                .zip(&other.patches)
                .all(|(a, b)| std::rc::Rc::ptr_eq(a, b) || a.first() == b.first())
    }
}

impl OverlayAnchor {
    /// Reads the overlay's kustomization and patch files (what could not be read is left out:
    /// the build reports it).
    pub fn read(files: &dyn Files, dir: &str) -> OverlayAnchor {
        OverlayAnchor::read_with(files, dir, &|path, text| {
            parse_stream(text, path).ok().map(Docs::from)
        })
    }

    /// [`OverlayAnchor::read`] with files parsed by `parse` (path, text), which may keep
    /// documents parsed before ([`crate::kustomize::memo::BuildMemo::parse`]).
    pub fn read_with(files: &dyn Files, dir: &str, parse: &ParseFn<'_>) -> OverlayAnchor {
        let Some(kustomization) = FILE_NAMES
            .iter()
            .map(|n| format!("{dir}/{n}"))
            .find(|p| files.is_file(p))
        else {
            return OverlayAnchor::default();
        };
        let mut patches = Vec::new();
        let docs = files
            .read(&kustomization)
            .and_then(|t| parse(&kustomization, &t));
        let doc = docs.as_deref().and_then(<[Node]>::first);
        let paths = doc.iter().flat_map(|d| {
            let listed = |field: &str| -> Vec<String> {
                d.get(field)
                    .and_then(Node::as_seq)
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i.get("path").unwrap_or(i).scalar_text())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut all = listed("patches");
            all.extend(listed("patchesStrategicMerge"));
            all
        });
        for rel in paths {
            let Some(path) = join(dir, &rel) else {
                continue;
            };
            let docs = files.read(&path).and_then(|t| parse(&path, &t));
            patches.extend(docs.filter(|d| d.first().is_some_and(|n| n.as_map().is_some())));
        }
        OverlayAnchor {
            kustomization: Some(kustomization),
            patches,
        }
    }

    /// The position at which to add the value at `pointer` to a manifest of `kind`: in the
    /// patch, the deepest map on the way to it that the patch has; else line 1 of the
    /// kustomization. `None` when the overlay has no kustomization.
    pub fn missing_at(&self, kind: &str, pointer: &str) -> Option<Pos> {
        let mut firsts = self.patches.iter().filter_map(|d| d.first());
        let patch = firsts
            .clone()
            .find(|p| p.get("kind").and_then(Node::scalar_text) == Some(kind))
            .or_else(|| firsts.next());
        if let Some(p) = patch {
            let parent = pointer.rsplit_once('/').map_or("", |(parent, _)| parent);
            let key = locate_key(p, parent);
            return Some(key.unwrap_or_else(|| locate(p, parent).pos.clone()));
        }
        self.kustomization.as_ref().map(|k| Pos {
            file: k.as_str().into(),
            line: 1,
            col: 1,
        })
    }
}

/// Whether `pointer` addresses a value that exists in `root`.
pub fn exists(root: &Node, pointer: &str) -> bool {
    let mut node = root;
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        let next = match &node.value {
            Value::Map(m) => m.get(&seg),
            Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Scalar(_) => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

impl OverlayBuild {
    /// Builds overlay `name` of `layout`.
    pub fn build(files: &dyn Files, layout: &Layout, name: &str) -> OverlayBuild {
        let dir = layout.overlay_dir(name);
        OverlayBuild {
            name: name.to_string(),
            build: build(files, &dir),
            anchor: OverlayAnchor::read(files, &dir),
            yaml: std::sync::OnceLock::new(),
        }
    }

    /// An overlay's build from its parts.
    pub fn new(
        name: &str,
        build: Result<Build, BuildError>,
        anchor: OverlayAnchor,
    ) -> OverlayBuild {
        OverlayBuild {
            name: name.to_string(),
            build,
            anchor,
            yaml: std::sync::OnceLock::new(),
        }
    }

    /// The YAML `planton build` prints for this overlay ([`Build::to_yaml`], printed once and
    /// kept), or `None` when the overlay does not build.
    pub fn yaml(&self) -> Option<Result<&str, &BuildError>> {
        let b = self.build.as_ref().ok()?;
        Some(
            self.yaml
                .get_or_init(|| b.to_yaml())
                .as_ref()
                .map(String::as_str),
        )
    }

    /// Where a problem about the value at `pointer` of `node` (a resource of this build)
    /// belongs: where the value was written; for a value that is missing, where the overlay
    /// must add it ([`OverlayAnchor::missing_at`]), else where its nearest parent was written.
    pub fn position(&self, node: &Node, pointer: &str) -> Pos {
        if !exists(node, pointer) {
            let kind = node.get("kind").and_then(Node::scalar_text).unwrap_or("");
            if let Some(p) = self.anchor.missing_at(kind, pointer) {
                return p;
            }
        }
        locate(node, pointer).pos.clone()
    }

    /// The service manifest of the build: the one resource of a kind served by a plugin
    /// (`MicroserviceKubernetes`, `AwsEcsService`, ...), else the first resource.
    pub fn manifest(&self) -> Option<&Node> {
        let b = self.build.as_ref().ok()?;
        b.resources.first().map(|r| &r.node)
    }
}

/// Everything `validate` found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every problem, in overlay order.
    pub diagnostics: Vec<Diagnostic>,
    /// The builds, for planning.
    pub overlays: Vec<OverlayBuild>,
}

/// Converts an output value to JSON (what plugins receive).
pub fn out_to_json(o: &Out) -> serde_json::Value {
    use serde_json::Value as J;
    match o {
        Out::Null => J::Null,
        Out::Bool(b) => J::Bool(*b),
        Out::Int(i) => J::from(*i),
        Out::Uint(u) => J::from(*u),
        Out::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Out::Str(s) => J::String(s.clone()),
        Out::Seq(items) => J::Array(items.iter().map(out_to_json).collect()),
        Out::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), out_to_json(v)))
                .collect(),
        ),
    }
}

/// Converts JSON back to an output value (to print plugin results as kustomize-style YAML).
pub fn out_from_json(v: &serde_json::Value) -> Out {
    use serde_json::Value as J;
    match v {
        J::Null => Out::Null,
        J::Bool(b) => Out::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map(Out::Int)
            .or_else(|| n.as_u64().map(Out::Uint))
            .unwrap_or_else(|| Out::Float(n.as_f64().unwrap_or(0.0))),
        J::String(s) => Out::Str(s.clone()),
        J::Array(a) => Out::Seq(a.iter().map(out_from_json).collect()),
        J::Object(o) => Out::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), out_from_json(v)))
                .collect(),
        ),
    }
}

/// The node a JSON Pointer addresses, or its deepest existing ancestor. For a map entry the
/// value's position is returned (where the value was written).
pub fn locate<'a>(root: &'a Node, pointer: &str) -> &'a Node {
    let mut node = root;
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        let next = match &node.value {
            Value::Map(m) => m.get(&seg),
            Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Scalar(_) => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// The position of the mapping key a JSON Pointer ends in (for "unknown field" problems,
/// the key is what is wrong), if the pointer ends in an existing map entry.
pub fn locate_key(root: &Node, pointer: &str) -> Option<Pos> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let key = last.replace("~1", "/").replace("~0", "~");
    locate(root, parent)
        .as_map()?
        .get_key(&key)
        .map(|k| k.pos.clone())
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Builds and validates the overlays of `layout` (all, or just `only`).
pub fn validate(
    files: &dyn Files,
    layout: &Layout,
    only: Option<&str>,
    checker: &dyn KindChecker,
    groups: Option<&dyn GroupSource>,
) -> Report {
    let mut diagnostics = Vec::new();
    let mut overlays = Vec::new();
    for name in &layout.overlays {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let ob = OverlayBuild::build(files, layout, name);
        diagnostics.extend(check_overlay(&ob, layout, checker, groups));
        overlays.push(ob);
    }
    if layout.overlays.is_empty() {
        diagnostics.push(Diagnostic::error(
            code::NO_OVERLAYS,
            format!(
                "no overlays under {}/overlays: add at least one environment",
                layout.relative(&layout.kustomize_dir)
            ),
        ));
    }
    Report {
        diagnostics,
        overlays,
    }
}

fn diag_at(layout: &Layout, pos: &Pos, d: Diagnostic) -> Diagnostic {
    d.at(&layout.relative(&pos.file), pos.line, pos.col)
}

/// The checks for one built overlay.
pub fn check_overlay(
    ob: &OverlayBuild,
    layout: &Layout,
    checker: &dyn KindChecker,
    groups: Option<&dyn GroupSource>,
) -> Vec<Diagnostic> {
    check_overlay_with(ob, layout, checker, groups, &mut |_, _, check| {
        check(None).diagnostics
    })
}

/// What a [`KindChecker`] answered about one manifest.
pub type KindAnswer = Option<Result<Vec<KindProblem>, PluginFailure>>;

/// The checks of one resource.
#[derive(Clone, Debug)]
pub struct ResourceChecks {
    /// Its diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// What the kind checker answered (`None` when the manifest could not be converted for
    /// it): an equal manifest gets the same answer, whatever positions its values have.
    pub answer: Option<KindAnswer>,
}

/// Runs the checks of one resource; given the kind checker's answer about an equal
/// manifest, it places that answer's problems again instead of asking the checker.
pub type CheckResource<'a> = dyn FnMut(Option<&KindAnswer>) -> ResourceChecks + 'a;

/// Chooses, for resource `index` of a build, between running its checks (`check`) and an
/// answer kept from an earlier check of an equal resource ([`crate::incremental`]).
pub type EachResource<'a> =
    dyn FnMut(usize, &Resource, &mut CheckResource<'_>) -> Vec<Diagnostic> + 'a;

/// [`check_overlay`], with each resource's checks chosen by `each`.
pub fn check_overlay_with(
    ob: &OverlayBuild,
    layout: &Layout,
    checker: &dyn KindChecker,
    groups: Option<&dyn GroupSource>,
    each: &mut EachResource<'_>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let b = match &ob.build {
        Ok(b) => b,
        Err(e) => {
            let file = e
                .file
                .as_deref()
                .map(|f| layout.relative(f))
                .unwrap_or_default();
            // Paths inside the message are shown relative to the service root, like `file`.
            let show = |p: &str| layout.shown(p);
            let message = e.message.display_with(&show).to_string();
            out.push(
                Diagnostic::error(code::BUILD, message)
                    .at(&file, e.line, e.col)
                    .in_overlay(&ob.name),
            );
            return out;
        }
    };
    if b.resources.is_empty() {
        out.push(
            Diagnostic::error(
                code::NO_MANIFEST,
                "the overlay builds to nothing: it needs one service manifest",
            )
            .in_overlay(&ob.name),
        );
    }
    // The kinds served, asked once per overlay (for "unknown kind" errors).
    let mut known: Option<String> = None;
    for (i, r) in b.resources.iter().enumerate() {
        let mut check = |kept: Option<&KindAnswer>| {
            let mut diagnostics = Vec::new();
            let answer = check_resource(
                ob,
                r,
                layout,
                (checker, kept),
                groups,
                &mut known,
                &mut diagnostics,
            );
            ResourceChecks {
                diagnostics,
                answer,
            }
        };
        out.extend(each(i, r, &mut check));
    }
    out
}

/// The checks of resource `r` of `ob`'s build, into `out` (`known`: the kinds served,
/// asked on first need). The kind checker is asked unless `kept` is its answer about an
/// equal manifest. Returns the answer, `None` when the manifest cannot be converted.
fn check_resource(
    ob: &OverlayBuild,
    r: &Resource,
    layout: &Layout,
    (checker, kept): (&dyn KindChecker, Option<&KindAnswer>),
    groups: Option<&dyn GroupSource>,
    known: &mut Option<String>,
    out: &mut Vec<Diagnostic>,
) -> Option<KindAnswer> {
    let local = ob.name == "local";
    let (api_version, kind) = (
        r.node
            .get("apiVersion")
            .and_then(Node::scalar_text)
            .unwrap_or(""),
        r.kind(),
    );
    let answer = match kept {
        Some(a) => a.clone(),
        None => match to_output(&r.node) {
            Ok(o) => checker.check(api_version, &kind, &out_to_json(&o), &ob.name, local),
            Err(e) => {
                out.push(
                    diag_at(layout, &e.pos, Diagnostic::error(code::BUILD, e.message))
                        .in_overlay(&ob.name),
                );
                return None;
            }
        },
    };
    match &answer {
        None => {
            let known = known.get_or_insert_with(|| checker.known_kinds().join(", "));
            if !known.is_empty() {
                let pos = r
                    .node
                    .get("kind")
                    .map(|n| n.pos.clone())
                    .unwrap_or_else(|| r.pos().clone());
                out.push(
                    diag_at(
                        layout,
                        &pos,
                        Diagnostic::error(
                            code::UNKNOWN_KIND,
                            format!("no target plugin serves `{api_version}/{kind}`; known kinds: {known}"),
                        ),
                    )
                    .with_path("/kind")
                    .in_overlay(&ob.name),
                );
            }
        }
        Some(Err(e)) => out.push(
            diag_at(
                layout,
                r.pos(),
                Diagnostic::error(code::PLUGIN_FAILED, e.to_string()),
            )
            .in_overlay(&ob.name),
        ),
        Some(Ok(problems)) => {
            for p in problems {
                // Problems with a field's name point at the key, not its value.
                let key_pos = if p.code.ends_with("unknown-field")
                    || p.code == "schema-proto-field-name"
                    || p.code == "schema-duplicate-field"
                {
                    locate_key(&r.node, &p.path)
                } else {
                    None
                };
                let pos = key_pos.unwrap_or_else(|| ob.position(&r.node, &p.path));
                out.push(
                    diag_at(
                        layout,
                        &pos,
                        Diagnostic::new(p.severity, &p.code, p.message.clone()),
                    )
                    .with_path(&p.path)
                    .in_overlay(&ob.name),
                );
            }
        }
    }
    check_references(&r.node, &mut String::new(), layout, &ob.name, groups, out);
    Some(answer)
}

/// The references in `node` (at JSON Pointer `path`, a buffer the walk extends and restores,
/// so that no node costs an allocation unless it holds a problem).
fn check_references(
    node: &Node,
    path: &mut String,
    layout: &Layout,
    overlay: &str,
    groups: Option<&dyn GroupSource>,
    out: &mut Vec<Diagnostic>,
) {
    let len = path.len();
    match &node.value {
        Value::Map(m) => {
            for (k, v) in &m.entries {
                path.push('/');
                if k.value.contains(['~', '/']) {
                    path.push_str(&pointer_escape(&k.value));
                } else {
                    path.push_str(&k.value);
                }
                check_references(v, path, layout, overlay, groups, out);
                path.truncate(len);
            }
        }
        Value::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                use std::fmt::Write as _;
                let _ = write!(path, "/{i}");
                check_references(v, path, layout, overlay, groups, out);
                path.truncate(len);
            }
        }
        Value::Scalar(s) => {
            let Some(text) = node.as_str() else { return };
            let _ = s;
            match refs::parse(text) {
                None => {}
                Some(Err(e)) => {
                    let msg = match &e.suggestion {
                        Some(fix) => format!("{} (write `{fix}`)", e.message),
                        None => e.message,
                    };
                    out.push(
                        diag_at(
                            layout,
                            &node.pos,
                            Diagnostic::error(code::REF_MALFORMED, msg),
                        )
                        .with_path(path)
                        .in_overlay(overlay),
                    );
                }
                Some(Ok(r)) => {
                    let Some(src) = groups else { return };
                    if r.kind == RefKind::Secrets && !src.holds_secrets_of(overlay) {
                        return;
                    }
                    let kind = r.kind.group_kind();
                    let problem = match refs::resolve(&r, src) {
                        Ok(_) => None,
                        Err(Unresolved::MissingGroup) => Some((
                            code::REF_MISSING_GROUP,
                            format!(
                                "{kind} `{}` does not exist in {} (referenced as `{r}`)",
                                r.group,
                                src.describe()
                            ),
                        )),
                        Err(Unresolved::MissingEntry) => Some((
                            code::REF_MISSING_ENTRY,
                            format!(
                                "{kind} `{}` has no entry `{}` (referenced as `{r}`)",
                                r.group, r.entry
                            ),
                        )),
                    };
                    if let Some((code, msg)) = problem {
                        let sev = if r.kind == RefKind::Secrets || overlay != "local" {
                            Severity::Error
                        } else {
                            Severity::Warning
                        };
                        out.push(
                            diag_at(layout, &node.pos, Diagnostic::new(sev, code, msg))
                                .with_path(path)
                                .in_overlay(overlay),
                        );
                    }
                }
            }
        }
    }
}
