//! The built manifest of one overlay, exactly as `planton build` prints it.

use crate::analysis::OverlayView;
use crate::components::yaml_block::YamlBlock;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`ManifestView`].
#[derive(Properties, PartialEq)]
pub struct ManifestViewProps {
    /// The selected overlay's view.
    pub view: Option<Rc<OverlayView>>,
}

/// The built manifest.
#[function_component(ManifestView)]
pub fn manifest_view(props: &ManifestViewProps) -> Html {
    html! {
        <div class="manifest-view" data-testid="manifest-view" data-overlay={props.view.as_ref().map(|v| v.name.clone())}>
            { match props.view.as_deref() {
                None => html! { <p class="muted">{"No overlay selected."}</p> },
                Some(OverlayView { yaml: Ok(y), .. }) => html! { <YamlBlock text={y.clone()} testid="manifest-yaml" /> },
                Some(OverlayView { yaml: Err(e), .. }) => html! { <p class="error-text" data-testid="manifest-error">{format!("build failed: {e}")}</p> },
            } }
        </div>
    }
}
