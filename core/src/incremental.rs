//! The checks of [`crate::check::check_service`], run again after every edit without redoing
//! what the edit cannot have changed: for front ends that check on each keystroke (the web
//! editor).
//!
//! A [`Session`] keeps, per overlay, its build, what the build read from the file tree
//! ([`Deps`]) and its diagnostics; per service, the loaded groups. On the next
//! [`Session::check`] an overlay whose files all read the same is not built or checked
//! again, and an overlay that is rebuilt reuses the sub-builds (a shared base) whose files did
//! not change ([`BuildMemo`]). The result equals `check_service`'s on the same files (tests
//! compare both after edits to every file of a service).
//!
//! Pure like the rest of core: no clock, no IO; the caller times it.

use crate::diag::{Diagnostic, code};
use crate::kustomize::Files;
use crate::kustomize::build_with_memo;
use crate::kustomize::memo::{BuildMemo, Deps, Recorder};
use crate::plan::{Plan, plan};
use crate::refs::{DirGroupSource, GroupError, GroupSource};
use crate::service::{Layout, ServiceConfig};
use crate::validate::{
    KindAnswer, KindChecker, OverlayAnchor, OverlayBuild, check_overlay_with, exists,
};
use std::collections::HashMap;
use std::rc::Rc;

/// One overlay as last checked.
struct Kept {
    deps: Deps,
    build: Rc<OverlayBuild>,
    /// Its diagnostics, and the groups generation they were computed with.
    checked: Option<(u64, Rc<Vec<Diagnostic>>)>,
    /// Each resource's diagnostics, in build order, with the generation.
    resources: Option<(u64, Rc<Vec<Checked1>>)>,
    /// The build checked before this one was built, with its resources' diagnostics: a
    /// resource equal to the one at its index there is not checked again.
    prev: Option<(Rc<OverlayBuild>, u64, Rc<Vec<Checked1>>)>,
}

/// One resource's diagnostics, and whether placing them consulted the overlay's anchor (a
/// problem about a value the manifest lacks is placed where the overlay must add it).
struct Checked1 {
    diagnostics: Rc<[Diagnostic]>,
    /// The kind checker's answer (placed again when the anchor moved).
    answer: Rc<Option<KindAnswer>>,
    anchored: bool,
}

/// Whether two overlays place missing values in the same places.
fn same_anchor(a: &OverlayAnchor, b: &OverlayAnchor) -> bool {
    a == b
}

/// The groups as last loaded.
struct Groups {
    dir: String,
    deps: Deps,
    source: Result<Rc<DirGroupSource>, Rc<Vec<GroupError>>>,
    generation: u64,
}

/// What one [`Session::check`] found: [`crate::check::ServiceCheck`], with the builds shared.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Every problem: groups, builds, kinds, references, planning (as `check_service`).
    pub diagnostics: Vec<Diagnostic>,
    /// The builds, in overlay order.
    pub overlays: Vec<Rc<OverlayBuild>>,
    /// The plan for the configured environments.
    pub plan: Plan,
    /// The plan's own problems.
    pub plan_diagnostics: Vec<Diagnostic>,
    /// The overlays that were built again (the others were reused as they were).
    pub rebuilt: Vec<String>,
    /// The overlays whose diagnostics were computed again.
    pub rechecked: Vec<String>,
    /// How many resources of rechecked overlays kept their diagnostics from the previous
    /// build (equal value and positions).
    pub reused_resources: usize,
    /// The builds the session let go of in this check (the ones before rebuilt overlays',
    /// and those of removed overlays): handed to the caller so that it frees them when it
    /// suits it (the web editor: after the page shows the result), not during the check.
    pub retired: Vec<Rc<OverlayBuild>>,
}

/// Checks of one service kept between edits. Use one session per open service and one
/// kind checker with it; call [`Session::checker_changed`] when the plugins change.
#[derive(Default)]
pub struct Session {
    memo: BuildMemo,
    overlays: HashMap<String, Kept>,
    groups: Option<Groups>,
    generation: u64,
}

impl Session {
    /// An empty session.
    pub fn new() -> Session {
        Session::default()
    }

    /// The kind checker changed (a plugin was added or replaced): every overlay is checked
    /// again at the next [`Session::check`] (the builds are kept).
    pub fn checker_changed(&mut self) {
        for k in self.overlays.values_mut() {
            k.checked = None;
            k.resources = None;
            k.prev = None;
        }
    }

    /// How many sub-builds were reused so far (a base shared by overlays, kept across edits).
    pub fn reused_sub_builds(&self) -> u64 {
        self.memo.hits()
    }

    /// [`crate::check::check_service`], reusing what did not change since the last call.
    pub fn check(
        &mut self,
        files: &dyn Files,
        layout: &Layout,
        only: Option<&str>,
        config: &ServiceConfig,
        checker: &dyn KindChecker,
        groups_dir: Option<&str>,
    ) -> Checked {
        let mut diagnostics = Vec::new();
        let dir =
            crate::check::groups_dir_or_report(files, layout, config, groups_dir, &mut diagnostics);
        let (source, generation) = match dir {
            Some(d) => {
                let g = self.groups(files, &d);
                match &g.source {
                    Ok(s) => (Some(s.clone()), g.generation),
                    Err(errors) => {
                        for e in errors.iter() {
                            diagnostics.push(
                                Diagnostic::error(code::GROUP_INVALID, e.message.clone()).at(
                                    &layout.relative(&e.pos.file),
                                    e.pos.line,
                                    e.pos.col,
                                ),
                            );
                        }
                        (None, g.generation)
                    }
                }
            }
            None => {
                if self.groups.take().is_some() {
                    self.generation += 1;
                }
                (None, self.generation)
            }
        };
        let groups = source.as_deref().map(|s| s as &dyn GroupSource);

        let mut overlays = Vec::new();
        let (mut rebuilt, mut rechecked) = (Vec::new(), Vec::new());
        let mut reused_resources = 0;
        let mut retired = Vec::new();
        let mut live = Vec::new();
        for name in &layout.overlays {
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let dir = layout.overlay_dir(name);
            live.push(dir.clone());
            let fresh = match self.overlays.get(&dir) {
                Some(k) => !k.deps.hold(files),
                None => true,
            };
            if fresh {
                let rec = Recorder::new(files);
                let build = build_with_memo(&rec, &dir, &self.memo);
                let memo = &self.memo;
                let anchor =
                    OverlayAnchor::read_with(&rec, &dir, &|path, text| memo.parse(path, text));
                let build = Rc::new(OverlayBuild::new(name, build, anchor));
                let prev = self.overlays.remove(&dir).and_then(|old| {
                    retired.extend(old.prev.map(|(b, _, _)| b));
                    let Some((g, r)) = old.resources else {
                        retired.push(old.build);
                        return None;
                    };
                    Some((old.build, g, r))
                });
                self.overlays.insert(
                    dir.clone(),
                    Kept {
                        deps: rec.deps_since(0),
                        build,
                        checked: None,
                        resources: None,
                        prev,
                    },
                );
                rebuilt.push(name.clone());
            }
            let Some(kept) = self.overlays.get_mut(&dir) else {
                continue;
            };
            let diags = match &kept.checked {
                Some((g, d)) if *g == generation => d.clone(),
                _ => {
                    let mut prev = kept.prev.take();
                    if prev.as_ref().is_some_and(|(_, g, _)| *g != generation) {
                        retired.extend(prev.take().map(|(b, _, _)| b));
                    }
                    let build = kept.build.clone();
                    // Whether missing values are placed as before (asked once).
                    let mut anchor_same: Option<bool> = None;
                    let mut each = Vec::new();
                    let d =
                        check_overlay_with(&build, layout, checker, groups, &mut |i, r, check| {
                            let before = prev.as_ref().and_then(|(old, _, checked)| {
                                let before = old.build.as_ref().ok()?.resources.get(i)?;
                                let c = checked.get(i)?;
                                (before.node == r.node).then_some((old, c))
                            });
                            let checks = match before {
                                Some((old, c))
                                    if !c.anchored
                                        || *anchor_same.get_or_insert_with(|| {
                                            same_anchor(&old.anchor, &build.anchor)
                                        }) =>
                                {
                                    // The same diagnostics, so the same `anchored`: shared,
                                    // not copied.
                                    reused_resources += 1;
                                    each.push(Checked1 {
                                        diagnostics: c.diagnostics.clone(),
                                        answer: c.answer.clone(),
                                        anchored: c.anchored,
                                    });
                                    return c.diagnostics.to_vec();
                                }
                                // Missing values are placed elsewhere now: the kind checker's
                                // answer about the equal manifest is placed again.
                                Some((_, c)) => check(c.answer.as_ref().as_ref()),
                                None => check(None),
                            };
                            let anchored = checks
                                .diagnostics
                                .iter()
                                .any(|d| !d.path.is_empty() && !exists(&r.node, &d.path));
                            let diagnostics: Rc<[Diagnostic]> = checks.diagnostics.into();
                            each.push(Checked1 {
                                diagnostics: diagnostics.clone(),
                                answer: Rc::new(checks.answer),
                                anchored,
                            });
                            diagnostics.to_vec()
                        });
                    retired.extend(prev.map(|(b, _, _)| b));
                    let d = Rc::new(d);
                    kept.checked = Some((generation, d.clone()));
                    kept.resources = Some((generation, Rc::new(each)));
                    rechecked.push(name.clone());
                    d
                }
            };
            diagnostics.extend(diags.iter().cloned());
            overlays.push(kept.build.clone());
        }
        if only.is_none() {
            let gone: Vec<String> = (self.overlays.keys())
                .filter(|d| !live.contains(d))
                .cloned()
                .collect();
            for d in gone {
                if let Some(k) = self.overlays.remove(&d) {
                    retired.push(k.build);
                    retired.extend(k.prev.map(|(b, _, _)| b));
                }
            }
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
        let (plan, mut plan_diagnostics) = plan(&overlays, config, None);
        layout.relativize(&mut plan_diagnostics);
        diagnostics.extend(
            plan_diagnostics
                .iter()
                .filter(|d| d.code != code::PLAN_BUILD)
                .cloned(),
        );
        Checked {
            diagnostics,
            overlays,
            plan,
            plan_diagnostics,
            rebuilt,
            rechecked,
            reused_resources,
            retired,
        }
    }

    /// The groups in `dir`, loaded again only when what they read changed.
    fn groups(&mut self, files: &dyn Files, dir: &str) -> &Groups {
        let valid = self
            .groups
            .as_ref()
            .is_some_and(|g| g.dir == dir && g.deps.hold(files));
        if !valid {
            let rec = Recorder::new(files);
            let source = DirGroupSource::load(&rec, dir)
                .map(Rc::new)
                .map_err(Rc::new);
            self.generation += 1;
            self.groups = Some(Groups {
                dir: dir.to_string(),
                deps: rec.deps_since(0),
                source,
                generation: self.generation,
            });
        }
        // Just set when it was not valid.
        self.groups.get_or_insert_with(|| Groups {
            dir: dir.to_string(),
            deps: Deps::default(),
            source: Err(Rc::new(Vec::new())),
            generation: 0,
        })
    }
}
