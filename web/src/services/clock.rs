//! Milliseconds from `performance.now()`, for the timings the page shows and the benchmark reads.

/// Milliseconds since the page started (0 where `performance` is missing).
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
