//! Small DOM services: prompts and confirmations, and placing the editor's caret.

use wasm_bindgen::JsCast;

/// `window.prompt`; `None` when cancelled.
pub fn prompt(message: &str, default: &str) -> Option<String> {
    web_sys::window()?
        .prompt_with_message_and_default(message, default)
        .ok()
        .flatten()
}

/// `window.confirm`.
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

/// Selects `line:column` (1-based) in a textarea, focuses it and scrolls it into view.
/// `len` characters are selected (at least the caret is placed).
pub fn select_in_textarea(el: &web_sys::HtmlTextAreaElement, line: u32, column: u32, len: u32) {
    let text = el.value();
    let mut offset = 0usize;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line as usize {
            let col: usize = l
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(char::len_utf16)
                .sum();
            offset += col;
            break;
        }
        offset += l.encode_utf16().count() + 1;
    }
    let start = offset as u32;
    let _ = el.focus();
    let _ = el.set_selection_range(start, start + len);
    // The textarea does not scroll itself (the editor's container does): scroll the marked line.
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Ok(Some(row)) = doc.query_selector(&format!(
            "[data-testid=\"editor-line\"][data-line=\"{line}\"]"
        )) {
            if let Some(row) = row.dyn_ref::<web_sys::Element>() {
                let opts = web_sys::ScrollIntoViewOptions::new();
                opts.set_block(web_sys::ScrollLogicalPosition::Center);
                row.scroll_into_view_with_scroll_into_view_options(&opts);
            }
        }
    }
}
