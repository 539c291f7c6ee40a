//! The welcome screen: what the editor does and how to open a service.

use super::Handlers;
use yew::prelude::*;

/// Props of [`Welcome`].
#[derive(Properties, PartialEq)]
pub struct WelcomeProps {
    /// The callbacks.
    pub handlers: Handlers,
    /// Whether the browser has `showDirectoryPicker`.
    pub can_pick: bool,
}

/// The welcome screen.
#[function_component(Welcome)]
pub fn welcome(props: &WelcomeProps) -> Html {
    let example = props.handlers.example.clone();
    let pick = props.handlers.pick.clone();
    html! {
        <div class="welcome" data-testid="welcome">
            <h1>{"planton overlay editor"}</h1>
            <p>{"Edit a service's "}<code>{"_kustomize/"}</code>{" overlays and see every overlay built, validated, rendered and planned as you type — by the same code as "}<code>{"planton validate"}</code>{", running in this page. Nothing leaves your machine."}</p>
            <div class="welcome-actions">
                <button class="primary" data-testid="welcome-example" onclick={Callback::from(move |_| example.emit(()))}>{"Open the example (order-api)"}</button>
                if props.can_pick {
                    <button data-testid="welcome-open" onclick={Callback::from(move |_| pick.emit(()))}>{"Open a service folder…"}</button>
                }
            </div>
            <p class="muted">{"Or drop a service folder (the one holding _kustomize/) anywhere on this page. Only planton.yaml and _kustomize/ are read. Drop a plugin .wasm to add a target kind."}</p>
        </div>
    }
}
