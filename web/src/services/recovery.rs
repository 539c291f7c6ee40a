//! Surviving a trap in the page's WebAssembly instance: core's limits keep every known input
//! from trapping, and this is the last line of defence.
//!
//! `recovery.js` listens for an uncaught `WebAssembly.RuntimeError` or `RangeError` (how V8
//! reports a stack overflow in wasm), stores the message and the files of the last analysis
//! in `sessionStorage`, and reloads the page, which re-creates the instance. On start the app
//! takes them back ([`take_recovered`]), reopens the files and says what happened; the checks
//! wait for the next edit, so the same input cannot trap in a loop.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/services/recovery.js")]
extern "C" {
    fn install();
    #[wasm_bindgen(js_name = snapshot)]
    fn snapshot_js(name: &str, paths: Vec<String>, texts: Vec<String>);
    #[wasm_bindgen(js_name = snapshotFile)]
    fn snapshot_file_js(path: &str, text: &str);
    #[wasm_bindgen(js_name = takeRecovered)]
    fn take_recovered_js() -> Option<String>;
}

/// What a restart after a trap brings back.
pub struct Recovered {
    /// The trap, as the browser worded it.
    pub message: String,
    /// The folder name and files of the last analysis, if there was one.
    pub files: Option<(String, Vec<(String, String)>)>,
}

/// Installs the trap handler (once, at start).
pub fn install_handler() {
    install();
}

/// Remembers the files of the open service (kept in JavaScript memory, written to storage
/// only on a trap), when it opens or its files are created, renamed or deleted.
pub fn snapshot(name: &str, files: &[(String, String)]) {
    let (paths, texts) = files.iter().cloned().unzip();
    snapshot_js(name, paths, texts);
}

/// Updates one file of the remembered files (after an edit: only the edited text crosses
/// into JavaScript).
pub fn snapshot_file(path: &str, text: &str) {
    snapshot_file_js(path, text);
}

/// The message and files left by a trap before this page load, if any.
pub fn take_recovered() -> Option<Recovered> {
    let text = take_recovered_js()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let message = v.get("message")?.as_str()?.to_string();
    let files = v.get("snapshot").and_then(|s| {
        let name = s.get("name")?.as_str()?.to_string();
        let paths = s.get("paths")?.as_array()?;
        let texts = s.get("texts")?.as_array()?;
        let files = paths
            .iter()
            .zip(texts)
            .filter_map(|(p, t)| Some((p.as_str()?.to_string(), t.as_str()?.to_string())))
            .collect();
        Some((name, files))
    });
    Some(Recovered { message, files })
}
