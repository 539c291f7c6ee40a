//! Fetching files served with the app, relative to the page (so any static host and any
//! sub-path works). Only used while the page loads: after that the app makes no requests.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The bytes of the file at `url` (relative to the page).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("cannot fetch {url}: {e:?}"))?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| format!("cannot fetch {url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("cannot fetch {url}: HTTP {}", resp.status()));
    }
    let buf = resp
        .array_buffer()
        .map_err(|e| format!("cannot read {url}: {e:?}"))?;
    let buf = JsFuture::from(buf)
        .await
        .map_err(|e| format!("cannot read {url}: {e:?}"))?;
    Ok(Uint8Array::new(&buf).to_vec())
}
