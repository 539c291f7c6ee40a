//! The pipeline API of `planton serve`, seen from the page: JSON requests (same origin,
//! the session cookie sent by the browser, the CSRF token on POSTs) and Server-Sent Events.
//!
//! Used only by the pipelines views; the offline editor never calls it, so the editor
//! keeps working from any static host.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// A failed API call: the HTTP status (0: no answer) and the server's message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    /// The HTTP status, 0 when the request did not get an answer.
    pub status: u16,
    /// The server's `error.code`.
    pub code: String,
    /// The server's `error.message`, or why there was no answer.
    pub message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{} ({})", self.message, self.status)
        }
    }
}

async fn answer<T: DeserializeOwned>(
    resp: Result<gloo::net::http::Response, gloo::net::Error>,
) -> Result<T, ApiFailure> {
    let resp = resp.map_err(|e| ApiFailure {
        status: 0,
        code: "network".into(),
        message: format!("the server did not answer: {e}"),
    })?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        let text = if text.is_empty() { "null" } else { &text };
        return serde_json::from_str(text).map_err(|e| ApiFailure {
            status,
            code: "decode".into(),
            message: format!("unexpected answer: {e}"),
        });
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Err(ApiFailure {
        status,
        code: v["error"]["code"].as_str().unwrap_or("http").to_string(),
        message: v["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}")),
    })
}

/// `GET path` → JSON.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    answer(gloo::net::http::Request::get(path).send().await).await
}

/// `POST path` with a JSON body and the CSRF token → JSON.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
    csrf: Option<&str>,
) -> Result<T, ApiFailure> {
    let mut req = gloo::net::http::Request::post(path).header("Content-Type", "application/json");
    if let Some(t) = csrf {
        req = req.header("X-CSRF-Token", t);
    }
    let req = req.json(body).map_err(|e| ApiFailure {
        status: 0,
        code: "encode".into(),
        message: e.to_string(),
    })?;
    answer(req.send().await).await
}

/// An open Server-Sent Events stream; closed when dropped.
pub struct EventStream {
    source: web_sys::EventSource,
    _handlers: Vec<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    _error: Closure<dyn FnMut(web_sys::Event)>,
}

impl EventStream {
    /// Opens `url` and calls `on(event_name, data)` for each of `events`; `on_error` when
    /// the connection fails (the browser reconnects by itself).
    pub fn open(
        url: &str,
        events: &[&str],
        on: impl Fn(String, String) + 'static,
        on_error: impl Fn() + 'static,
    ) -> Result<EventStream, String> {
        let source = web_sys::EventSource::new(url).map_err(|e| format!("{e:?}"))?;
        let on = std::rc::Rc::new(on);
        let mut handlers = Vec::new();
        for name in events {
            let on = on.clone();
            let n = name.to_string();
            let h = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |e: web_sys::MessageEvent| {
                    on(n.clone(), e.data().as_string().unwrap_or_default());
                },
            );
            source
                .add_event_listener_with_callback(name, h.as_ref().unchecked_ref())
                .map_err(|e| format!("{e:?}"))?;
            handlers.push(h);
        }
        let err = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| on_error());
        source.set_onerror(Some(err.as_ref().unchecked_ref()));
        Ok(EventStream {
            source,
            _handlers: handlers,
            _error: err,
        })
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// The page's location hash (`#/pipelines/...`).
pub fn hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Goes to a hash route.
pub fn go(hash: &str) {
    if let Some(w) = web_sys::window() {
        // Setting the hash cannot fail in a browsing context.
        let _ = w.location().set_hash(hash);
    }
}

/// Calls `f` whenever the hash changes; the listener lives as long as the returned value.
pub fn on_hash_change(f: impl Fn() + 'static) -> gloo::events::EventListener {
    let window: web_sys::EventTarget = web_sys::window().map(|w| w.into()).unwrap_or_else(|| {
        web_sys::EventTarget::new().unwrap_or_else(|_| js_sys::Object::new().unchecked_into())
    });
    gloo::events::EventListener::new(&window, "hashchange", move |_| f())
}

/// A time (milliseconds since the epoch) as the browser's local date and time.
pub fn format_time(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => {
            let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
            String::from(d.to_iso_string())
                .replace('T', " ")
                .trim_end_matches('Z')
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string()
                + " UTC"
        }
        None => "—".to_string(),
    }
}
