//! A `<select>` of overlays.

use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// Props of [`OverlaySelect`].
#[derive(Properties, PartialEq)]
pub struct OverlaySelectProps {
    /// Overlay names.
    pub overlays: Rc<Vec<String>>,
    /// The selected one.
    pub selected: Option<AttrValue>,
    /// Called with the new selection.
    pub on_change: Callback<String>,
    /// `data-testid`.
    pub testid: AttrValue,
    /// Label text.
    pub label: AttrValue,
}

/// The overlay selector.
#[function_component(OverlaySelect)]
pub fn overlay_select(props: &OverlaySelectProps) -> Html {
    let on_change = props.on_change.clone();
    let onchange = Callback::from(move |e: Event| {
        let s: HtmlSelectElement = e.target_unchecked_into();
        on_change.emit(s.value());
    });
    html! {
        <label class="overlay-select">{props.label.clone()}
            <select data-testid={props.testid.clone()} {onchange}>
                { for props.overlays.iter().map(|o| html! {
                    <option value={o.clone()} selected={props.selected.as_deref() == Some(o.as_str())}>{o.clone()}</option>
                }) }
            </select>
        </label>
    }
}
