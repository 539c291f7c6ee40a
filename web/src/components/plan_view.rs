//! The deployment plan: tasks in run order (with manual gates), skipped overlays with their
//! reasons, and the problems only the plan finds.

use crate::components::diagnostics::Diagnostics;
use planton_core::diag::Diagnostic;
use planton_core::plan::Plan;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`PlanView`].
#[derive(Properties, PartialEq)]
pub struct PlanViewProps {
    /// The plan.
    pub plan: Option<Plan>,
    /// Plan-only problems.
    pub diagnostics: Rc<Vec<Diagnostic>>,
    /// Jump to a problem.
    pub on_jump: Callback<Diagnostic>,
}

/// The plan.
#[function_component(PlanView)]
pub fn plan_view(props: &PlanViewProps) -> Html {
    let Some(plan) = &props.plan else {
        return html! { <div class="plan-view" data-testid="plan-view"><p class="muted">{"No plan: the service has no layout."}</p></div> };
    };
    html! {
        <div class="plan-view" data-testid="plan-view">
            <h3>{"Tasks"}</h3>
            if plan.tasks.is_empty() { <p class="muted">{"No deployment tasks."}</p> }
            <ol class="tasks">
                { for plan.tasks.iter().map(|t| html! {
                    <li data-testid="plan-task" data-name={t.name.clone()} data-gate={t.requires_manual_gate.to_string()}>
                        <b>{t.name.clone()}</b>{format!(" → env {} ({} {})", t.env, t.kind, t.resource_name)}
                        if t.requires_manual_gate { <span class="gate" data-testid="plan-gate">{"manual gate"}</span> }
                        <div class="digest">{t.manifest_digest.clone()}</div>
                    </li>
                }) }
            </ol>
            <h3>{"Skipped"}</h3>
            if plan.skipped.is_empty() { <p class="muted">{"None."}</p> }
            <ul class="skipped">
                { for plan.skipped.iter().map(|s| html! {
                    <li data-testid="plan-skipped" data-name={s.name.clone()}><b>{s.name.clone()}</b>{format!(": {}", s.reason)}</li>
                }) }
            </ul>
            if !props.diagnostics.is_empty() {
                <h3>{"Plan problems"}</h3>
                <Diagnostics diagnostics={props.diagnostics.clone()} on_jump={props.on_jump.clone()} testid="plan-diagnostics" />
            }
        </div>
    }
}
