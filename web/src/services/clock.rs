//! Milliseconds from `performance.now()`, for the timings the page shows and the benchmark reads;
//! and [`drop_later`], which frees what the page replaced after the update is shown.

/// Milliseconds since the page started (0 where `performance` is missing).
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Drops `value` in a task of its own (a zero-delay timeout), after the current update has
/// reached the DOM: freeing the previous check's builds then stays out of the time from an
/// edit to its diagnostics.
pub fn drop_later<T: 'static>(value: T) {
    gloo::timers::callback::Timeout::new(0, move || drop(value)).forget();
}
