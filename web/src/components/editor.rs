//! The code editor: a transparent `<textarea>` over a highlighted copy of its text, a gutter of
//! line numbers, and underlines at the line and column of each diagnostic in the file.
//!
//! Everything scrolls in one container (the textarea is as tall and wide as its text), so
//! the layers never need syncing.

use crate::components::yaml_block::line_pieces;
use crate::services::dom;
use crate::state::Jump;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// A diagnostic's place in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// `error` or `warning`.
    pub severity: AttrValue,
    /// `[code] message`.
    pub message: AttrValue,
}

/// Props of [`Editor`].
#[derive(Properties, PartialEq)]
pub struct EditorProps {
    /// Service-relative path of the file.
    pub path: AttrValue,
    /// Its text.
    pub text: AttrValue,
    /// Diagnostics in this file.
    pub marks: Vec<Mark>,
    /// Where to put the caret.
    pub jump: Option<Jump>,
    /// The new text after each edit.
    pub on_edit: Callback<String>,
}

/// Width (in characters) of the underline for a value starting at `column` (1-based).
fn mark_width(line: &str, column: u32) -> usize {
    let rest: String = line
        .chars()
        .skip(column.saturating_sub(1) as usize)
        .collect();
    let rest = rest.split(" #").next().unwrap_or("").trim_end();
    rest.chars().count().max(1)
}

/// The editor.
#[function_component(Editor)]
pub fn editor(props: &EditorProps) -> Html {
    let area = use_node_ref();
    {
        let area = area.clone();
        let jump = props.jump.clone();
        let len = jump.as_ref().map(|j| {
            props
                .text
                .lines()
                .nth(j.line.saturating_sub(1) as usize)
                .map(|l| mark_width(l, j.column))
                .unwrap_or(0) as u32
        });
        use_effect_with(jump.as_ref().map(|j| j.seq), move |_| {
            if let (Some(j), Some(el)) = (jump, area.cast::<HtmlTextAreaElement>()) {
                dom::select_in_textarea(&el, j.line, j.column, len.unwrap_or(0));
            }
        });
    }
    let lines: Vec<&str> = props.text.split('\n').collect();
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 2;
    let on_edit = props.on_edit.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        let t: HtmlTextAreaElement = e.target_unchecked_into();
        on_edit.emit(t.value());
    });
    let severity_of = |n: u32| {
        let ms: Vec<&Mark> = props.marks.iter().filter(|m| m.line == n).collect();
        let sev = if ms.iter().any(|m| m.severity == "error") {
            "error"
        } else if ms.is_empty() {
            ""
        } else {
            "warning"
        };
        (
            sev,
            ms.iter()
                .map(|m| m.message.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    };
    html! {
        <div class="editor" data-testid="editor-pane" data-path={props.path.clone()}>
            <div class="editor-scroll">
                <div class="gutter">
                    { for (1..=lines.len() as u32).map(|n| {
                        let (sev, title) = severity_of(n);
                        html! { <div class={classes!("gl", sev)} data-testid="gutter-line" data-line={n.to_string()} title={title}>{n}</div> }
                    }) }
                </div>
                <div class="code" style={format!("min-width: {width}ch")}>
                    <div class="hl" aria-hidden="true">
                        { for lines.iter().enumerate().map(|(i, l)| {
                            let n = i as u32 + 1;
                            html! {
                                <div class="line" data-testid="editor-line" data-line={n.to_string()}>
                                    { line_pieces(l) }
                                    { for props.marks.iter().filter(|m| m.line == n).map(|m| html! {
                                        <span class={classes!("mark", m.severity.to_string())}
                                            data-testid="editor-mark"
                                            data-line={m.line.to_string()}
                                            data-column={m.column.to_string()}
                                            title={m.message.clone()}
                                            style={format!("left: {}ch; width: {}ch", m.column.saturating_sub(1), mark_width(l, m.column))}></span>
                                    }) }
                                </div>
                            }
                        }) }
                    </div>
                    <textarea ref={area} data-testid="editor" spellcheck="false" autocomplete="off" wrap="off"
                        aria-label={format!("contents of {}", props.path)}
                        style={format!("height: calc({} * var(--lh) + 4px)", lines.len())}
                        value={props.text.clone()} {oninput} />
                </div>
            </div>
        </div>
    }
}
