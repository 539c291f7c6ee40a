//! The task view: the task's state and result, what it deploys (image, manifest digest,
//! the manifest and its diff against the last successful deploy), its gate and decisions,
//! the stack job's log, streamed while it runs, and the environment's live health from the
//! cluster (`/api/services/{service}/environments/{env}/health`, asked every two seconds
//! while the page is open; the server reuses one cluster answer for all viewers).

use super::approve::ApproveDialog;
use super::model::{EnvironmentHealth, LogView, ObjectStatus, RunView, SessionView, TaskDetail};
use super::{seg, short_digest, state_badge};
use crate::services::api::{self, ApiFailure, EventStream, format_time};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// Props of [`TaskPage`].
#[derive(Properties, PartialEq)]
pub struct TaskProps {
    /// The run id.
    pub run: String,
    /// The task name.
    pub task: String,
    /// Who is signed in.
    pub session: SessionView,
}

/// The task view.
#[function_component(TaskPage)]
pub fn task_page(props: &TaskProps) -> Html {
    let detail = use_state(|| None::<Result<TaskDetail, String>>);
    let log = use_state(String::new);
    let log_done = use_state(|| false);
    // Bumped whenever the run changes, so the detail (gate, diff) is read again.
    let version = use_state(|| 0u64);
    let dialog = use_state(|| false);
    let base = format!("api/runs/{}/tasks/{}", seg(&props.run), seg(&props.task));

    // The detail, again after each change of the run.
    {
        let (detail, base) = (detail.clone(), base.clone());
        use_effect_with(*version, move |_| {
            spawn_local(async move {
                let r = api::get::<TaskDetail>(&base).await;
                detail.set(Some(r.map_err(|e| e.to_string())));
            });
        });
    }
    // Live: the run's changes and the log.
    {
        let (version, log, log_done) = (version.clone(), log.clone(), log_done.clone());
        let run = props.run.clone();
        let base = base.clone();
        use_effect_with((props.run.clone(), props.task.clone()), move |_| {
            let last = std::rc::Rc::new(std::cell::RefCell::new(None::<RunView>));
            let v = version.clone();
            let runs = EventStream::open(
                &format!("api/events?run={}", seg(&run)),
                &["run"],
                move |_, data| {
                    if let Ok(r) = serde_json::from_str::<RunView>(&data) {
                        let changed = last.borrow().as_ref() != Some(&r);
                        if changed {
                            *last.borrow_mut() = Some(r);
                            v.set(*v + 1);
                        }
                    }
                },
                || {},
            )
            .ok();
            let text = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
            log.set(String::new());
            log_done.set(false);
            let logs = EventStream::open(
                &format!("{base}/log/stream"),
                &["log", "end"],
                move |name, data| {
                    if name == "end" {
                        log_done.set(true);
                    } else if let Ok(chunk) = serde_json::from_str::<LogView>(&data) {
                        text.borrow_mut().push_str(&chunk.text);
                        log.set(text.borrow().clone());
                    }
                },
                || {},
            )
            .ok();
            move || {
                drop(runs);
                drop(logs);
            }
        });
    }

    // Live health of the task's environment, once the detail says which service and
    // environment it is.
    let live = use_state(|| None::<Result<EnvironmentHealth, ApiFailure>>);
    {
        let live = live.clone();
        let which = match &*detail {
            Some(Ok(d)) => Some((d.run.service.clone(), d.task.env.clone())),
            _ => None,
        };
        use_effect_with(which, move |which| {
            let poll = which.as_ref().map(|(service, env)| {
                let url = format!(
                    "api/services/{}/environments/{}/health",
                    seg(service),
                    seg(env)
                );
                let fetch = move || {
                    let (live, url) = (live.clone(), url.clone());
                    spawn_local(async move {
                        live.set(Some(api::get::<EnvironmentHealth>(&url).await));
                    });
                };
                fetch();
                gloo::timers::callback::Interval::new(LIVE_HEALTH_EVERY_MS, fetch)
            });
            move || drop(poll)
        });
    }

    let Some(d) = &*detail else {
        return html! { <p class="muted ops-pad">{ "Loading…" }</p> };
    };
    let d = match d {
        Ok(d) => d,
        Err(e) => return html! { <p class="error-text ops-pad" data-testid="ops-error">{ e }</p> },
    };
    let t = &d.task;
    let can_decide = d.gate.may_decide && t.state == "awaiting_approval";
    let open = {
        let dialog = dialog.clone();
        Callback::from(move |_: MouseEvent| dialog.set(true))
    };
    let close = {
        let (dialog, version) = (dialog.clone(), version.clone());
        Callback::from(move |_: ()| {
            dialog.set(false);
            version.set(*version + 1);
        })
    };
    html! {
        <div class="ops-pad task-page" data-testid="task-page" data-task={t.name.clone()} data-state={t.state.clone()}
             data-result={t.result.clone().unwrap_or_default()}>
            <div class="ops-head">
                <a href="#/pipelines">{ "← Pipelines" }</a>
                <h2>{ format!("{} · {}", d.run.service, t.name) }</h2>
                { state_badge(&t.state, t.result.as_deref()) }
            </div>
            <div class="cards">
                <div class="card">
                    <h3>{ "Task" }</h3>
                    <dl>
                        <dt>{ "Run" }</dt><dd class="mono">{ &d.run.id }</dd>
                        <dt>{ "Environment" }</dt><dd>{ &t.env }</dd>
                        <dt>{ "Kind" }</dt><dd>{ &t.kind }</dd>
                        <dt>{ "Started" }</dt><dd>{ format_time(t.started_at) }</dd>
                        <dt>{ "Ended" }</dt><dd>{ format_time(t.ended_at) }</dd>
                        <dt>{ "Attempts" }</dt><dd>{ t.attempts }</dd>
                        <dt>{ "Health" }</dt><dd data-testid="health">{ health(t.state.as_str(), t.result.as_deref(), t.revision.as_deref()) }</dd>
                    </dl>
                    if let Some(e) = &t.error { <p class="error-text">{ e }</p> }
                </div>
                <div class="card">
                    <h3>{ "What it deploys" }</h3>
                    <dl>
                        <dt>{ "Image" }</dt><dd class="mono" data-testid="image">{ &d.run.image }</dd>
                        <dt>{ "Manifest digest" }</dt><dd class="mono" data-testid="digest" title={t.manifest_digest.clone()}>{ short_digest(&t.manifest_digest) }</dd>
                        <dt>{ "Compared with" }</dt><dd>{ d.previous_run.as_ref().map(|r| format!("run {r}")).unwrap_or_else(|| "nothing deployed yet".into()) }</dd>
                    </dl>
                </div>
                <div class="card">
                    <h3>{ "Gate" }</h3>
                    if t.requires_manual_gate {
                        <p data-testid="gate-status" data-status={d.gate.status.clone()}>{ d.gate.status.replace('_', " ") }</p>
                        if can_decide {
                            <button class="primary" data-testid="review" onclick={open}>{ "Approve or reject…" }</button>
                        } else if t.state == "awaiting_approval" {
                            <p class="muted" data-testid="no-permission">
                                { format!("{} may not decide this gate ({}).", props.session.user, props.session.role) }
                            </p>
                        }
                        <ul class="decisions">
                        { for d.decisions.iter().map(|x| html! {
                            <li data-testid="decision">
                                { format!("{} by {} at {}", if x.decision == "yes" { "approved" } else { "rejected" }, x.by, format_time(Some(x.at))) }
                                if let Some(c) = &x.comment { <span class="muted">{ format!(" — {c}") }</span> }
                                if x.manifest_digest != t.manifest_digest || x.image != d.run.image {
                                    <span class="st st-failed">{ "void: given for another digest or image" }</span>
                                }
                            </li>
                        }) }
                        </ul>
                    } else {
                        <p class="muted">{ "No manual gate." }</p>
                    }
                </div>
            </div>
            { live_health(live.as_ref()) }
            <h3>{ "Stack job log" }
                <span class="muted" data-testid="log-state">{ if *log_done { " (complete)" } else { " (live)" } }</span></h3>
            <pre class="log" data-testid="log">{ (*log).clone() }</pre>
            <h3>{ "Diff" }</h3>
            <super::approve::DiffBlock diff={d.diff.clone()} />
            <details><summary>{ "Manifest" }</summary><pre class="log">{ &d.manifest_yaml }</pre></details>
            if *dialog {
                <ApproveDialog detail={d.clone()} csrf={props.session.csrf_token.clone()} on_close={close} />
            }
        </div>
    }
}

/// How often the task view asks for live health.
const LIVE_HEALTH_EVERY_MS: u32 = 2000;

/// The live health card: every object's readiness, or why it cannot be read.
fn live_health(live: Option<&Result<EnvironmentHealth, ApiFailure>>) -> Html {
    let body = match live {
        None => html! { <p class="muted">{ "Asking the cluster…" }</p> },
        Some(Err(e)) => html! {
            <p class="muted" data-testid="live-health-error" data-code={e.code.clone()}>{ e.to_string() }</p>
        },
        Some(Ok(h)) => {
            let where_ = match &h.ecs {
                Some(e) => format!(
                    "ECS service {} in cluster {} ({})",
                    e.service,
                    e.cluster.rsplit('/').next().unwrap_or(&e.cluster),
                    e.region
                ),
                None => format!(
                    "namespace {}{}",
                    h.health.namespace,
                    h.context
                        .as_ref()
                        .map(|c| format!(", context {c}"))
                        .unwrap_or_default()
                ),
            };
            html! {
                <>
                    <p data-testid="live-ready" data-ready={h.ready.to_string()}>
                        <span class={if h.ready { "st st-succeeded" } else { "st st-running" }}>
                            { if h.ready { "ready" } else if h.health.revision.is_none() { "not deployed" } else { "not ready" } }
                        </span>
                        { " " }
                        <span class="muted">{ format!("{where_}; checked {}", format_time(Some(h.checked_at))) }</span>
                    </p>
                    if let Some(r) = &h.health.revision {
                        <p class="muted" data-testid="live-revision">
                            { format!("revision {} ({}), image {}, by {}", r.revision,
                                format!("{:?}", r.result).to_lowercase(),
                                r.image.as_deref().unwrap_or("-"), r.actor) }
                        </p>
                    }
                    <table class="live-objects">
                        { for h.health.objects.iter().map(|o| {
                            let class = match o.health.status {
                                ObjectStatus::Current => "st st-succeeded",
                                ObjectStatus::InProgress => "st st-running",
                                _ => "st st-failed",
                            };
                            let status = format!("{:?}", o.health.status);
                            html! {
                                <tr data-testid="live-object" data-object={o.object.clone()} data-status={status.clone()}>
                                    <td class="mono">{ &o.object }</td>
                                    <td><span class={class}>{ status }</span></td>
                                    <td class="muted">{ &o.health.message }</td>
                                </tr>
                            }
                        }) }
                    </table>
                </>
            }
        }
    };
    html! {
        <div class="card live-health" data-testid="live-health">
            <h3>{ "Live health" }</h3>
            { body }
        </div>
    }
}

/// What the store says of the deployed workload: the stack job's outcome and revision.
fn health(state: &str, result: Option<&str>, revision: Option<&str>) -> String {
    match (state, result) {
        ("completed", Some("succeeded")) => format!(
            "deployed and ready{}",
            revision
                .map(|r| format!(" (revision {r})"))
                .unwrap_or_default()
        ),
        ("completed", Some("skipped")) => "not deployed (dry run)".into(),
        ("completed", Some(r)) => format!("not deployed ({r})"),
        ("running", _) => "deploying".into(),
        ("awaiting_approval", _) => "waiting for approval".into(),
        _ => "not started".into(),
    }
}
