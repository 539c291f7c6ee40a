//! The workspace: file tree, editor, and the lower pane (diagnostics, built manifest,
//! rendered objects, plan, diff).

use super::Handlers;
use crate::components::diagnostics::Diagnostics;
use crate::components::diff_view::DiffView;
use crate::components::editor::{Editor, Mark};
use crate::components::file_tree::FileTree;
use crate::components::manifest_view::ManifestView;
use crate::components::overlay_select::OverlaySelect;
use crate::components::plan_view::PlanView;
use crate::components::rendered_view::RenderedView;
use crate::components::tabs::Tabs;
use crate::state::{State, Tab};
use planton_core::diag::{Severity, Summary};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`Workspace`].
#[derive(Properties)]
pub struct WorkspaceProps {
    /// The state.
    pub state: UseReducerHandle<State>,
    /// The callbacks.
    pub handlers: Handlers,
}

impl PartialEq for WorkspaceProps {
    /// The app re-renders only when the state changed, so the workspace always follows it.
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

/// The workspace.
#[function_component(Workspace)]
pub fn workspace(props: &WorkspaceProps) -> Html {
    let s = &*props.state;
    let h = &props.handlers;
    let Some(svc) = &s.service else {
        return html! {};
    };
    let a = &s.analysis;
    let diags = a.diagnostics.clone();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for d in a.diagnostics.iter().filter(|d| !d.file.is_empty()) {
        if seen.insert((
            d.file.as_str(),
            d.line,
            d.column,
            d.code.as_str(),
            d.message.as_str(),
        )) {
            let c = counts.entry(d.file.clone()).or_default();
            if d.severity == Severity::Error {
                c.0 += 1
            } else {
                c.1 += 1
            }
        }
    }
    let file = s.file.clone().filter(|f| svc.text(f).is_some());
    let marks: Vec<Mark> = match &file {
        Some(f) => {
            let mut seen = BTreeSet::new();
            a.diagnostics
                .iter()
                .filter(|d| d.file == *f && d.line > 0)
                .filter(|d| seen.insert((d.line, d.column, d.code.as_str(), d.message.as_str())))
                .map(|d| Mark {
                    line: d.line,
                    column: d.column.max(1),
                    severity: if d.severity == Severity::Error {
                        "error".into()
                    } else {
                        "warning".into()
                    },
                    message: format!("{}[{}]: {}", d.severity, d.code, d.message).into(),
                })
                .collect()
        }
        None => Vec::new(),
    };
    let tab = s.tab.unwrap_or(Tab::Diagnostics);
    let overlays = Rc::new(a.overlays.clone());
    let summary = Summary::of(&a.diagnostics);
    let overlay_select = html! {
        <OverlaySelect overlays={overlays.clone()} selected={s.overlay.clone().map(AttrValue::from)}
            on_change={h.select_overlay.clone()} testid="overlay-select" label="overlay " />
    };
    let panel = match tab {
        Tab::Diagnostics => html! {
            <Diagnostics diagnostics={diags} fatal={a.fatal.clone().map(AttrValue::from)} on_jump={h.jump.clone()} />
        },
        Tab::Manifest => html! { <>{overlay_select}<ManifestView view={s.view.clone()} /></> },
        Tab::Rendered => html! {
            <>{overlay_select}<RenderedView view={s.view.clone()} image={s.render_image.clone().map(AttrValue::from)} on_image={h.render_image.clone()} /></>
        },
        Tab::Plan => {
            html! { <PlanView plan={a.plan.clone()} diagnostics={Rc::new(a.plan_diagnostics.clone())} on_jump={h.jump.clone()} /> }
        }
        Tab::Diff => html! {
            <DiffView overlays={overlays.clone()} left={s.view.clone()} right={s.compare_view.clone()}
                on_left={h.select_overlay.clone()} on_right={h.select_compare.clone()} />
        },
    };
    html! {
        <div class="workspace" data-testid="workspace" data-runs={s.runs.to_string()}
            data-errors={summary.errors.to_string()} data-warnings={summary.warnings.to_string()}>
            <aside class="left">
                <FileTree paths={Rc::new(svc.paths())} selected={file.clone().map(AttrValue::from)} counts={Rc::new(counts)}
                    on_select={h.select_file.clone()} on_new_file={h.new_file.clone()} on_new_overlay={h.new_overlay.clone()}
                    on_rename={h.rename.clone()} on_delete={h.delete.clone()} />
            </aside>
            <main class="center">
                { match &file {
                    Some(f) => html! {
                        <>
                            <div class="editor-head" data-testid="editor-path">{f.clone()}</div>
                            <Editor path={f.clone()} text={svc.text(f).unwrap_or_default().to_string()} marks={marks}
                                jump={s.jump.clone()} on_edit={h.edit.clone()} />
                        </>
                    },
                    None => html! { <p class="muted">{"No file selected."}</p> },
                } }
            </main>
            <section class="right">
                <Tabs active={tab} errors={summary.errors} on_select={h.set_tab.clone()} />
                <div class="panel">{panel}</div>
            </section>
        </div>
    }
}
