//! The status bar: the last message, the plugins, and how long the last check took.

use yew::prelude::*;

/// Props of [`StatusBar`].
#[derive(Properties, PartialEq)]
pub struct StatusBarProps {
    /// The last message.
    pub notice: Option<AttrValue>,
    /// `name version (origin)` of each plugin.
    pub plugins: Vec<AttrValue>,
    /// Whether the built-in plugins finished loading.
    pub ready: bool,
    /// Number of analyses so far.
    pub runs: u64,
    /// Milliseconds to diagnostics in the last analysis.
    pub validate_ms: f64,
    /// Milliseconds of the whole last analysis.
    pub total_ms: f64,
}

/// The status bar.
#[function_component(StatusBar)]
pub fn status_bar(props: &StatusBarProps) -> Html {
    html! {
        <footer class="status" data-testid="status" data-ready={props.ready.to_string()} data-runs={props.runs.to_string()}
            data-validate-ms={format!("{:.3}", props.validate_ms)} data-total-ms={format!("{:.3}", props.total_ms)}>
            <span class="notice" data-testid="notice">{props.notice.clone().unwrap_or_default()}</span>
            <span class="plugins" data-testid="plugins">
                { if props.ready { format!("plugins: {}", props.plugins.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) } else { "loading plugins…".to_string() } }
            </span>
            <span class="timing" data-testid="timing">{format!("check {:.2} ms (diagnostics {:.2} ms) · run {}", props.total_ms, props.validate_ms, props.runs)}</span>
        </footer>
    }
}
