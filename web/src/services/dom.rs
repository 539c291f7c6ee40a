//! Small DOM services: prompts and confirmations, and placing the editor's caret.

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
    // The textarea does not scroll itself (the editor's box does). Scroll that box only, by
    // hand: `scrollIntoView` on a line wider than the box aligns the line's left edge with
    // the box's, under the sticky gutter, and scrolls the clipped panes around it too.
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let find = |sel: &str| doc.query_selector(sel).ok().flatten();
    let (Some(row), Some(scroll)) = (
        find(&format!(
            "[data-testid=\"editor-line\"][data-line=\"{line}\"]"
        )),
        find(".editor-scroll"),
    ) else {
        return;
    };
    let (r, b) = (
        row.get_bounding_client_rect(),
        scroll.get_bounding_client_rect(),
    );
    let down = r.top() + r.height() / 2.0 - (b.top() + f64::from(scroll.client_height()) / 2.0);
    scroll.set_scroll_top(scroll.scroll_top() + down as i32);
    // Sideways: the start of the line stays visible unless the marked column lies beyond the
    // right edge, then just far enough to show it.
    let mark = find(&format!(
        "[data-testid=\"editor-mark\"][data-line=\"{line}\"][data-column=\"{column}\"]"
    ));
    let right = mark
        .map(|m| m.get_bounding_client_rect().right())
        .unwrap_or(0.0);
    let visible_right = b.left() + f64::from(scroll.client_width());
    let left = scroll.scroll_left() as f64 + right - visible_right;
    scroll.set_scroll_left(if right > visible_right {
        left as i32 + 16
    } else {
        0
    });
    // The panes around the editor clip (`overflow: hidden`) but a focus can still scroll them.
    let mut up = scroll.parent_element();
    while let Some(el) = up {
        el.set_scroll_left(0);
        up = el.parent_element();
    }
}
