//! The objects the target plugin renders for one overlay (run in the page).

use crate::analysis::OverlayView;
use crate::components::yaml_block::YamlBlock;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`RenderedView`].
#[derive(Properties, PartialEq)]
pub struct RenderedViewProps {
    /// The selected overlay's view.
    pub view: Option<Rc<OverlayView>>,
    /// The build's image (`REPO:TAG`) passed to the plugin, if set.
    pub image: Option<AttrValue>,
    /// A new image.
    pub on_image: Callback<String>,
}

/// The rendered objects (or AWS operations), as pretty JSON, one block per item.
#[function_component(RenderedView)]
pub fn rendered_view(props: &RenderedViewProps) -> Html {
    let body = match props.view.as_deref().map(|v| &v.rendered) {
        None => html! { <p class="muted">{"No overlay selected."}</p> },
        Some(Ok(objects)) => html! {
            <>
                <p class="muted" data-testid="rendered-count">{format!("{} object(s), in apply order", objects.len())}</p>
                { for objects.iter().map(|o| {
                    // A Kubernetes object (`kind`, `metadata.name`) or a typed AWS operation
                    // (`op`, and its `name` or `family`).
                    let text = |p: &str| o.pointer(p).and_then(|k| k.as_str());
                    let kind = text("/kind").or_else(|| text("/op")).unwrap_or("");
                    let name = text("/metadata/name")
                        .or_else(|| text("/name"))
                        .or_else(|| text("/family"))
                        .unwrap_or("");
                    let title = format!("{} {name}", if kind.is_empty() { "object" } else { kind });
                    html! {
                        <section class="rendered-object" data-testid="rendered-object" data-kind={kind.to_string()}>
                            <h4>{title}</h4>
                            <YamlBlock text={serde_json::to_string_pretty(o).unwrap_or_default()} />
                        </section>
                    }
                }) }
            </>
        },
        Some(Err(e)) => {
            html! { <p class="error-text" data-testid="rendered-error">{e.clone()}</p> }
        }
    };
    let on_image = props.on_image.clone();
    let onchange = Callback::from(move |e: Event| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        on_image.emit(input.value());
    });
    html! {
        <div class="rendered-view" data-testid="rendered-view">
            <label class="overlay-select" title="what a deploy passes as the build's image">{"build image "}
                <input data-testid="render-image" placeholder="REPO:TAG" value={props.image.clone().unwrap_or_default()} {onchange} />
            </label>
            {body}
        </div>
    }
}
