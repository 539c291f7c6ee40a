//! The signals that stop a deploy: Ctrl-C (SIGINT) and SIGTERM (what CI runners and
//! Kubernetes send before killing a job). The deploy drivers take the future
//! [`stop_requested`] returns and, when it ends, stop between two calls, release their deploy
//! lock and report "interrupted"; the CLI exits 130.

/// Ends when the process is asked to stop. The handlers are installed at the first poll, so
/// until a deploy starts waiting on it, Ctrl-C still ends the process at once.
pub async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
