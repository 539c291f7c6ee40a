//! The list of diagnostics: one row each (`file:line:col severity[code] message`, overlay);
//! clicking a row jumps to its place.

use planton_core::diag::{Diagnostic, Severity, Summary};
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`Diagnostics`].
#[derive(Properties, PartialEq)]
pub struct DiagnosticsProps {
    /// The diagnostics, in core's order.
    pub diagnostics: Rc<Vec<Diagnostic>>,
    /// A service-wide problem that stopped every check.
    #[prop_or_default]
    pub fatal: Option<AttrValue>,
    /// Called with the clicked diagnostic.
    pub on_jump: Callback<Diagnostic>,
    /// The `data-testid` of the list.
    #[prop_or(AttrValue::Static("diagnostics"))]
    pub testid: AttrValue,
}

/// The diagnostics list.
#[function_component(Diagnostics)]
pub fn diagnostics(props: &DiagnosticsProps) -> Html {
    let s = Summary::of(&props.diagnostics);
    html! {
        <div class="diagnostics" data-testid={props.testid.clone()} data-errors={s.errors.to_string()} data-warnings={s.warnings.to_string()}>
            if let Some(f) = &props.fatal {
                <div class="diag error" data-testid="fatal">{f.clone()}</div>
            }
            if props.diagnostics.is_empty() && props.fatal.is_none() {
                <div class="no-diags" data-testid="no-diagnostics">{"No problems: every overlay builds and validates."}</div>
            }
            { for props.diagnostics.iter().map(|d| {
                let on_jump = props.on_jump.clone();
                let dd = d.clone();
                let sev = match d.severity { Severity::Error => "error", Severity::Warning => "warning" };
                let place = if d.file.is_empty() { "<service>".to_string() } else { format!("{}:{}:{}", d.file, d.line, d.column) };
                html! {
                    <button class={classes!("diag", sev)} data-testid="diagnostic"
                        data-severity={sev} data-code={d.code.clone()} data-file={d.file.clone()}
                        data-line={d.line.to_string()} data-column={d.column.to_string()} data-overlay={d.overlay.clone()}
                        data-path={d.path.clone()}
                        onclick={Callback::from(move |_| on_jump.emit(dd.clone()))}>
                        <span class="d-place">{place}</span>
                        <span class={classes!("d-sev", sev)}>{format!("{sev}[{}]", d.code)}</span>
                        <span class="d-msg" data-testid="diagnostic-message">{d.message.clone()}</span>
                        if !d.overlay.is_empty() { <span class="d-overlay">{format!("overlay {}", d.overlay)}</span> }
                    </button>
                }
            }) }
            <div class="summary">{format!("{} error(s), {} warning(s)", s.errors, s.warnings)}</div>
        </div>
    }
}
