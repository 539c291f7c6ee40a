//! The tab bar of the lower pane.

use crate::state::Tab;
use yew::prelude::*;

/// Props of [`Tabs`].
#[derive(Properties, PartialEq)]
pub struct TabsProps {
    /// The active tab.
    pub active: Tab,
    /// Error count, shown on the diagnostics tab.
    pub errors: usize,
    /// Switch tabs.
    pub on_select: Callback<Tab>,
}

/// The tabs.
#[function_component(Tabs)]
pub fn tabs(props: &TabsProps) -> Html {
    let tab = |t: Tab, id: &'static str, label: String| {
        let on = props.on_select.clone();
        html! {
            <button role="tab" class={classes!("tab", (props.active == t).then_some("active"))} data-testid={id}
                aria-selected={(props.active == t).to_string()} onclick={Callback::from(move |_| on.emit(t))}>{label}</button>
        }
    };
    html! {
        <div class="tabs" role="tablist">
            { tab(Tab::Diagnostics, "tab-diagnostics", format!("Diagnostics ({})", props.errors)) }
            { tab(Tab::Manifest, "tab-manifest", "Built manifest".into()) }
            { tab(Tab::Rendered, "tab-rendered", "Rendered".into()) }
            { tab(Tab::Plan, "tab-plan", "Plan".into()) }
            { tab(Tab::Diff, "tab-diff", "Diff".into()) }
        </div>
    }
}
