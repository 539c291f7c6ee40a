//! Side-by-side diff of two overlays' built manifests.

use crate::analysis::OverlayView;
use crate::components::overlay_select::OverlaySelect;
use crate::components::yaml_block::line_pieces;
use crate::diff::{RowKind, side_by_side};
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`DiffView`].
#[derive(Properties, PartialEq)]
pub struct DiffViewProps {
    /// Overlay names.
    pub overlays: Rc<Vec<String>>,
    /// The left overlay's view.
    pub left: Option<Rc<OverlayView>>,
    /// The right overlay's view.
    pub right: Option<Rc<OverlayView>>,
    /// Choose the left overlay.
    pub on_left: Callback<String>,
    /// Choose the right overlay.
    pub on_right: Callback<String>,
}

fn text(v: &Option<Rc<OverlayView>>) -> String {
    match v.as_deref() {
        Some(OverlayView { yaml: Ok(y), .. }) => y.clone(),
        Some(OverlayView { yaml: Err(e), .. }) => format!("# build failed: {e}\n"),
        None => String::new(),
    }
}

/// The diff view.
#[function_component(DiffView)]
pub fn diff_view(props: &DiffViewProps) -> Html {
    let (a, b) = (text(&props.left), text(&props.right));
    let rows = use_memo((a, b), |(a, b)| side_by_side(a, b));
    let changes = rows.iter().filter(|r| r.kind != RowKind::Same).count();
    let cell = |side: &Option<(usize, String)>| match side {
        Some((n, t)) => {
            html! { <><td class="dn">{*n}</td><td class="dt">{ line_pieces(t) }</td></> }
        }
        None => html! { <><td class="dn"></td><td class="dt empty"></td></> },
    };
    html! {
        <div class="diff-view" data-testid="diff-view" data-changes={changes.to_string()}>
            <div class="diff-head">
                <OverlaySelect overlays={props.overlays.clone()} selected={props.left.as_ref().map(|v| AttrValue::from(v.name.clone()))}
                    on_change={props.on_left.clone()} testid="diff-left-select" label="left " />
                <OverlaySelect overlays={props.overlays.clone()} selected={props.right.as_ref().map(|v| AttrValue::from(v.name.clone()))}
                    on_change={props.on_right.clone()} testid="diff-right-select" label="right " />
                <span class="muted">{format!("{changes} changed line(s)")}</span>
            </div>
            <table class="diff">
                { for rows.iter().map(|r| {
                    let kind = match r.kind { RowKind::Same => "same", RowKind::Removed => "removed", RowKind::Added => "added", RowKind::Changed => "changed" };
                    html! { <tr class={kind} data-testid="diff-row" data-kind={kind}>{ cell(&r.left) }{ cell(&r.right) }</tr> }
                }) }
            </table>
        </div>
    }
}
