//! The pipelines side of the app, for pages served by `planton serve`: sign-in, the
//! pipelines view (runs per service, live), the task view (log, what it deploys, gate) and
//! the Approve/Reject dialog.
//!
//! [`Root`] picks the side by the location hash: `#/pipelines…` shows these views, anything
//! else the offline editor ([`crate::App`]), which never calls the server, so the editor
//! still works from any static host. These views are plain function components with local
//! state: they only show what the API returns (every decision is the server's).

pub mod approve;
pub mod login;
pub mod model;
pub mod pipelines;
pub mod task;

use crate::services::api::{self, ApiFailure};
use model::SessionView;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// A route of the pipelines side.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `#/pipelines`.
    Pipelines,
    /// `#/pipelines/run/{run}/task/{task}`.
    Task {
        /// The run id.
        run: String,
        /// The task name.
        task: String,
    },
}

impl Route {
    /// Reads a location hash; `None` for the editor.
    pub fn parse(hash: &str) -> Option<Route> {
        let rest = hash.strip_prefix("#/pipelines")?;
        let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        Some(match parts.as_slice() {
            ["run", run, "task", task] => Route::Task {
                run: decode(run),
                task: decode(task),
            },
            _ => Route::Pipelines,
        })
    }

    /// The hash of a task's page.
    pub fn task_hash(run: &str, task: &str) -> String {
        format!(
            "#/pipelines/run/{}/task/{}",
            js_sys::encode_uri_component(run),
            js_sys::encode_uri_component(task)
        )
    }
}

fn decode(s: &str) -> String {
    js_sys::decode_uri_component(s)
        .map(String::from)
        .unwrap_or_else(|_| s.to_string())
}

/// Path-segment encoding for API URLs.
pub fn seg(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// The page root: the editor or the pipelines side, by location hash.
#[function_component(Root)]
pub fn root() -> Html {
    let hash = use_state(api::hash);
    {
        let hash = hash.clone();
        use_effect_with((), move |_| {
            let listener = api::on_hash_change(move || hash.set(api::hash()));
            move || drop(listener)
        });
    }
    match Route::parse(&hash) {
        Some(route) => html! { <Ops {route} /> },
        None => html! { <crate::App /> },
    }
}

/// Props of [`Ops`].
#[derive(Properties, PartialEq)]
pub struct OpsProps {
    /// Where we are.
    pub route: Route,
}

/// The signed-in state of the pipelines side.
#[derive(Debug, Clone, PartialEq)]
enum Auth {
    Loading,
    SignedIn(SessionView),
    SignedOut(Option<String>),
    Failed(ApiFailure),
}

/// The pipelines side: asks who is signed in, shows the sign-in form or the views.
#[function_component(Ops)]
pub fn ops(props: &OpsProps) -> Html {
    let auth = use_state(|| Auth::Loading);
    {
        let auth = auth.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                auth.set(match api::get::<SessionView>("api/session").await {
                    Ok(s) => Auth::SignedIn(s),
                    Err(e) if e.status == 401 => Auth::SignedOut(None),
                    Err(e) => Auth::Failed(e),
                });
            });
        });
    }
    let on_login = {
        let auth = auth.clone();
        Callback::from(move |s: SessionView| auth.set(Auth::SignedIn(s)))
    };
    let on_logout = {
        let auth = auth.clone();
        let csrf = match &*auth {
            Auth::SignedIn(s) => s.csrf_token.clone(),
            _ => None,
        };
        Callback::from(move |_: MouseEvent| {
            let auth = auth.clone();
            let csrf = csrf.clone();
            spawn_local(async move {
                let r = api::post::<_, serde_json::Value>("api/logout", &(), csrf.as_deref()).await;
                auth.set(Auth::SignedOut(r.err().map(|e| e.to_string())));
            });
        })
    };
    let user = match &*auth {
        Auth::SignedIn(s) => html! {
            <>
                <span class="ops-user" data-testid="ops-user" data-role={s.role.as_str()}>
                    { format!("{} ({})", s.user, s.role) }
                </span>
                if s.via == "session" {
                    <button data-testid="logout" onclick={on_logout}>{ "Sign out" }</button>
                }
            </>
        },
        _ => html! {},
    };
    let body = match &*auth {
        Auth::Loading => html! { <p class="muted ops-pad">{ "Loading…" }</p> },
        Auth::SignedOut(msg) => html! { <login::Login on_login={on_login} notice={msg.clone()} /> },
        Auth::Failed(e) => html! {
            <div class="ops-pad">
                <p class="error-text" data-testid="ops-error">{ format!("cannot reach the pipeline server: {e}") }</p>
                <p class="muted">{ "The pipelines views need `planton serve`; the editor works without it." }</p>
            </div>
        },
        Auth::SignedIn(s) => match &props.route {
            Route::Pipelines => html! { <pipelines::Pipelines /> },
            Route::Task { run, task } => html! {
                <task::TaskPage run={run.clone()} task={task.clone()} session={s.clone()} />
            },
        },
    };
    html! {
        <div class="app ops">
            <div class="toolbar">
                <span class="brand">{ "planton" }</span>
                <a class="button" href="#/pipelines" data-testid="nav-pipelines">{ "Pipelines" }</a>
                <a class="button" href="#/">{ "Editor" }</a>
                <span class="spacer"></span>
                { user }
            </div>
            <div class="ops-main">{ body }</div>
        </div>
    }
}

/// A state or result as a coloured badge.
pub fn state_badge(state: &str, result: Option<&str>) -> Html {
    let (class, text) = match (state, result) {
        ("completed", Some(r)) => (format!("st st-{r}"), r.to_string()),
        (s, _) => (format!("st st-{s}"), s.replace('_', " ")),
    };
    html! { <span class={class} data-testid="state">{ text }</span> }
}

/// The first characters of a digest, for tables.
pub fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    format!("sha256:{}", hex.get(..12).unwrap_or(hex))
}
