//! A read-only, highlighted, line-numbered block of YAML (built manifests).

use crate::highlight;
use yew::prelude::*;

/// Props of [`YamlBlock`].
#[derive(Properties, PartialEq)]
pub struct YamlBlockProps {
    /// The text.
    pub text: AttrValue,
    /// The `data-testid` of the block.
    #[prop_or_default]
    pub testid: AttrValue,
}

/// Renders one highlighted line's pieces.
pub fn line_pieces(line: &str) -> Html {
    highlight::line(line)
        .into_iter()
        .map(|(c, t)| html! { <span class={c.css()}>{t}</span> })
        .collect()
}

/// A read-only YAML block.
#[function_component(YamlBlock)]
pub fn yaml_block(props: &YamlBlockProps) -> Html {
    html! {
        <pre class="yaml-block" data-testid={props.testid.clone()}>
            { for props.text.lines().enumerate().map(|(i, l)| html! {
                <div class="yl"><span class="yl-n">{i + 1}</span><span class="yl-t">{ line_pieces(l) }</span></div>
            }) }
        </pre>
    }
}
