//! The pipelines view: the latest runs per service, each task with its state, result,
//! environment, gate, image, digest and times; kept live by the server's event stream.

use super::model::RunView;
use super::{Route, short_digest, state_badge};
use crate::services::api::{self, EventStream, format_time};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// Runs by id, with a counter of live updates received (for the tests and the status
/// line).
#[derive(Debug, Clone, PartialEq, Default)]
struct Runs {
    by_id: BTreeMap<String, RunView>,
    updates: u64,
    error: Option<String>,
    live: bool,
}

enum Msg {
    Loaded(Result<Vec<RunView>, String>),
    Run(RunView),
    Live(bool),
}

impl Reducible for Runs {
    type Action = Msg;
    fn reduce(self: Rc<Self>, action: Msg) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Msg::Loaded(Ok(runs)) => {
                for r in runs {
                    next.by_id.entry(r.id.clone()).or_insert(r);
                }
                next.error = None;
            }
            Msg::Loaded(Err(e)) => next.error = Some(e),
            Msg::Run(r) => {
                next.by_id.insert(r.id.clone(), r);
                next.updates += 1;
            }
            Msg::Live(l) => next.live = l,
        }
        Rc::new(next)
    }
}

/// The pipelines view.
#[function_component(Pipelines)]
pub fn pipelines() -> Html {
    let runs = use_reducer(Runs::default);
    {
        let d = runs.dispatcher();
        use_effect_with((), move |_| {
            let d2 = d.clone();
            spawn_local(async move {
                let r = api::get::<Vec<RunView>>("api/runs?limit=30").await;
                d2.dispatch(Msg::Loaded(r.map_err(|e| e.to_string())));
            });
            let (d3, d4) = (d.clone(), d.clone());
            let stream = EventStream::open(
                "api/events",
                &["run", "ready"],
                move |name, data| {
                    if name == "ready" {
                        d3.dispatch(Msg::Live(true));
                    } else if let Ok(r) = serde_json::from_str::<RunView>(&data) {
                        d3.dispatch(Msg::Live(true));
                        d3.dispatch(Msg::Run(r));
                    }
                },
                move || d4.dispatch(Msg::Live(false)),
            )
            .ok();
            move || drop(stream)
        });
    }
    let mut by_service: BTreeMap<&str, Vec<&RunView>> = BTreeMap::new();
    for r in runs.by_id.values() {
        by_service.entry(&r.service).or_default().push(r);
    }
    for v in by_service.values_mut() {
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    }
    html! {
        <div class="ops-pad pipelines" data-testid="pipelines" data-updates={runs.updates.to_string()}>
            <div class="ops-head">
                <h2>{ "Pipelines" }</h2>
                <span class={if runs.live { "live on" } else { "live" }} data-testid="live">
                    { if runs.live { "● live" } else { "○ connecting" } }
                </span>
            </div>
            if let Some(e) = &runs.error {
                <p class="error-text" data-testid="ops-error">{ e }</p>
            }
            if by_service.is_empty() && runs.error.is_none() {
                <p class="muted">{ "No runs yet: start one with `planton pipeline run <service> --image <ref>`." }</p>
            }
            { for by_service.into_iter().map(|(svc, rs)| html! {
                <section class="service" data-testid="service" data-service={svc.to_string()}>
                    <h3>{ svc }</h3>
                    { for rs.into_iter().map(run_card) }
                </section>
            }) }
        </div>
    }
}

fn run_card(r: &RunView) -> Html {
    html! {
        <div class="run" data-testid="run" data-run={r.id.clone()} data-state={r.state.clone()}>
            <div class="run-head">
                <span class="run-id">{ format!("run {}", r.id) }</span>
                { state_badge(&r.state, r.result.as_deref()) }
                <span class="mono">{ &r.image }</span>
                if r.dry_run { <span class="st">{ "dry run" }</span> }
                <span class="muted">{ format!("by {} · {}", r.created_by, format_time(Some(r.created_at))) }</span>
            </div>
            if let Some(e) = &r.error { <p class="error-text">{ e }</p> }
            <table class="tasks">
                <thead><tr>
                    <th>{ "Task" }</th><th>{ "Environment" }</th><th>{ "State" }</th><th>{ "Gate" }</th>
                    <th>{ "Digest" }</th><th>{ "Started" }</th><th>{ "Ended" }</th>
                </tr></thead>
                <tbody>
                { for r.tasks.iter().map(|t| html! {
                    <tr data-testid="task-row" data-task={t.name.clone()} data-state={t.state.clone()}
                        data-result={t.result.clone().unwrap_or_default()}>
                        <td><a href={Route::task_hash(&r.id, &t.name)} data-testid="task-link">{ &t.name }</a></td>
                        <td>{ &t.env }</td>
                        <td>{ state_badge(&t.state, t.result.as_deref()) }</td>
                        <td>{ gate_cell(t.requires_manual_gate, t.manual_gate_decision.as_deref(), &t.state) }</td>
                        <td class="mono" title={t.manifest_digest.clone()}>{ short_digest(&t.manifest_digest) }</td>
                        <td>{ format_time(t.started_at) }</td>
                        <td>{ format_time(t.ended_at) }</td>
                    </tr>
                }) }
                </tbody>
            </table>
        </div>
    }
}

fn gate_cell(gated: bool, decision: Option<&str>, state: &str) -> Html {
    match (gated, decision) {
        (false, _) => html! { <span class="muted">{ "—" }</span> },
        (true, Some("yes")) => html! { <span class="st st-succeeded">{ "approved" }</span> },
        (true, Some(_)) => html! { <span class="st st-failed">{ "rejected" }</span> },
        (true, None) if state == "awaiting_approval" => {
            html! { <span class="st st-awaiting_approval">{ "waiting" }</span> }
        }
        (true, None) => html! { <span class="muted">{ "manual" }</span> },
    }
}
