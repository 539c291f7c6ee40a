//! The sign-in form.

use super::model::{LoginRequest, SessionView};
use crate::services::api;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`Login`].
#[derive(Properties, PartialEq)]
pub struct LoginProps {
    /// Called with the new session.
    pub on_login: Callback<SessionView>,
    /// A message to show (e.g. after signing out).
    #[prop_or_default]
    pub notice: Option<String>,
}

/// User name and password; shows the server's message on failure (wrong password, rate
/// limited).
#[function_component(Login)]
pub fn login(props: &LoginProps) -> Html {
    let user = use_node_ref();
    let password = use_node_ref();
    let error = use_state(|| props.notice.clone());
    let busy = use_state(|| false);
    let onsubmit = {
        let (user, password, error, busy) =
            (user.clone(), password.clone(), error.clone(), busy.clone());
        let on_login = props.on_login.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let req = LoginRequest {
                user: value(&user),
                password: value(&password),
            };
            let (error, busy, on_login) = (error.clone(), busy.clone(), on_login.clone());
            busy.set(true);
            spawn_local(async move {
                match api::post::<_, SessionView>("api/login", &req, None).await {
                    Ok(s) => on_login.emit(s),
                    Err(e) => error.set(Some(e.message)),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <form class="login welcome" {onsubmit} data-testid="login-form">
            <h2>{ "Sign in to the pipelines" }</h2>
            <label>{ "User" }<input ref={user} name="user" autocomplete="username" data-testid="login-user" /></label>
            <label>{ "Password" }<input ref={password} name="password" type="password" autocomplete="current-password" data-testid="login-password" /></label>
            <button class="primary" type="submit" disabled={*busy} data-testid="login-submit">{ "Sign in" }</button>
            if let Some(e) = &*error {
                <p class="error-text" data-testid="login-error">{ e }</p>
            }
        </form>
    }
}
