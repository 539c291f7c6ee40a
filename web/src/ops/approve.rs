//! The Approve/Reject dialog: shows exactly what is being approved (the manifest digest,
//! the image and the diff) and sends them with the decision, so the server refuses it (409)
//! if the task changed since.

use super::model::{DecideRequest, DecisionView, TaskDetail};
use super::seg;
use crate::services::api;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// Props of [`ApproveDialog`].
#[derive(Properties, PartialEq)]
pub struct ApproveProps {
    /// The task under review.
    pub detail: TaskDetail,
    /// The session's CSRF token.
    pub csrf: Option<String>,
    /// Called when the dialog closes (decided or cancelled).
    pub on_close: Callback<()>,
}

/// The dialog.
#[function_component(ApproveDialog)]
pub fn approve_dialog(props: &ApproveProps) -> Html {
    let comment = use_node_ref();
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let d = &props.detail;
    let send = |verb: &'static str| {
        let (comment, error, busy) = (comment.clone(), error.clone(), busy.clone());
        let on_close = props.on_close.clone();
        let csrf = props.csrf.clone();
        let url = format!(
            "api/runs/{}/tasks/{}/{verb}",
            seg(&d.run.id),
            seg(&d.task.name)
        );
        let body = DecideRequest {
            digest: d.gate.pending_digest.clone(),
            image: d.gate.pending_image.clone(),
            comment: None,
        };
        Callback::from(move |_: MouseEvent| {
            let text = comment
                .cast::<HtmlTextAreaElement>()
                .map(|t| t.value())
                .unwrap_or_default();
            let body = DecideRequest {
                comment: (!text.trim().is_empty()).then_some(text),
                ..body.clone()
            };
            let (url, csrf, error, busy, on_close) = (
                url.clone(),
                csrf.clone(),
                error.clone(),
                busy.clone(),
                on_close.clone(),
            );
            busy.set(true);
            spawn_local(async move {
                match api::post::<_, DecisionView>(&url, &body, csrf.as_deref()).await {
                    Ok(_) => on_close.emit(()),
                    Err(e) => {
                        error.set(Some(e.to_string()));
                        busy.set(false);
                    }
                }
            });
        })
    };
    let cancel = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
    };
    html! {
        <div class="modal-back">
            <div class="modal" role="dialog" aria-modal="true" data-testid="approve-dialog">
                <h2>{ format!("Approve {} of {}?", d.task.name, d.run.service) }</h2>
                <p class="muted">{ "Your decision is recorded with your name and applies only to exactly this manifest and image." }</p>
                <dl>
                    <dt>{ "Environment" }</dt><dd>{ &d.task.env }</dd>
                    <dt>{ "Image" }</dt><dd class="mono" data-testid="dialog-image">{ &d.gate.pending_image }</dd>
                    <dt>{ "Manifest digest" }</dt><dd class="mono" data-testid="dialog-digest">{ &d.gate.pending_digest }</dd>
                    <dt>{ "Compared with" }</dt><dd>{ d.previous_run.as_ref().map(|r| format!("run {r}")).unwrap_or_else(|| "nothing deployed yet".into()) }</dd>
                </dl>
                <DiffBlock diff={d.diff.clone()} />
                <label class="comment">{ "Comment" }
                    <textarea ref={comment.clone()} rows="2" data-testid="dialog-comment" placeholder="why (recorded with the decision)" />
                </label>
                if let Some(e) = &*error { <p class="error-text" data-testid="dialog-error">{ e }</p> }
                <div class="modal-actions">
                    <button onclick={cancel} disabled={*busy}>{ "Cancel" }</button>
                    <button class="danger" data-testid="reject" onclick={send("reject")} disabled={*busy}>{ "Reject" }</button>
                    <button class="primary" data-testid="approve" onclick={send("approve")} disabled={*busy}>{ "Approve" }</button>
                </div>
            </div>
        </div>
    }
}

/// Props of [`DiffBlock`].
#[derive(Properties, PartialEq)]
pub struct DiffProps {
    /// A unified diff.
    pub diff: String,
}

/// A unified diff with added and removed lines coloured.
#[function_component(DiffBlock)]
pub fn diff_block(props: &DiffProps) -> Html {
    if props.diff.is_empty() {
        return html! { <p class="muted" data-testid="diff">{ "No change from the last deploy." }</p> };
    }
    html! {
        <pre class="diff" data-testid="diff">
        { for props.diff.lines().map(|l| {
            let class = if l.starts_with("+++") || l.starts_with("---") { "dh" }
                else if l.starts_with('+') { "da" }
                else if l.starts_with('-') { "dd" }
                else if l.starts_with("@@") { "dh" } else { "" };
            html! { <span class={class}>{ l }{ "\n" }</span> }
        }) }
        </pre>
    }
}
