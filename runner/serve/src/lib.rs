//! `planton-serve`: the pipeline UI server behind `planton serve`.
//!
//! It serves the built web app (`dist/`: the overlay editor and the pipelines views) and a
//! JSON API over a pipeline state store (`planton_pipeline::StateStore`): services, runs, tasks, gate
//! decisions, stack-job logs, live updates by Server-Sent Events, approve/reject, and the
//! live health of deployed environments ([`health`]; the runner supplies the cluster side).
//! The API is described by an OpenAPI document served at [`OPENAPI_PATH`] and checked in
//! (`runner/serve/openapi.json`; a test fails when they differ).
//!
//! Who may do what comes from the [`config::ServeConfig`]: nobody gets in anonymously
//! unless it says so; viewers read; approvers decide gates of their environments; admins
//! decide all. Passwords and tokens are kept as Argon2id hashes only; sessions are
//! HttpOnly, SameSite=Strict cookies with a CSRF token for POSTs; login failures are
//! rate-limited ([`auth`]). Every error is JSON ([`error::ApiError`]).
//!
//! What it deliberately is not: it runs no deploys. A decision is appended to the store;
//! the runner waiting on the run (`planton pipeline run --wait`, or `resume`) acts on it.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn planton_serve::StateStore>) -> std::io::Result<()> {
//! use planton_serve::{Options, config::ServeConfig};
//! let app = planton_serve::app(store, Options::new(ServeConfig::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! planton_serve::serve(listener, app).await
//! # }
//! ```

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod events;
pub mod health;
pub mod views;

pub use planton_pipeline::StateStore;

use axum::Router;
use axum::http::{HeaderValue, header};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Users and policies.
    pub config: config::ServeConfig,
    /// The built web app to serve at `/` (none: API only).
    pub web_dir: Option<PathBuf>,
    /// How often live streams look at the store.
    pub poll: Duration,
    /// Where sessions are kept (none: in memory, lost at a restart).
    pub sessions: Option<auth::Sessions>,
    /// Failed sign-ins allowed per user name from one client address within `login_window`.
    pub login_failures_per_user: usize,
    /// Failed sign-ins allowed per user name from all addresses together.
    pub login_failures_per_user_all: usize,
    /// Failed sign-ins allowed per client address within `login_window`.
    pub login_failures_per_addr: usize,
    /// The rate limit's window.
    pub login_window: Duration,
    /// Where live health comes from (none: the health endpoint answers 503 `no_cluster`).
    pub health: Option<Arc<dyn health::HealthSource>>,
    /// How long a health answer is reused.
    pub health_ttl: Duration,
}

impl Options {
    /// Defaults: sessions in memory; poll every 250 ms; in 15 minutes, 5 failed sign-ins
    /// per user and address, 20 per address, 50 per user; no live health; health answers
    /// reused for 1.5 s.
    pub fn new(config: config::ServeConfig) -> Self {
        Options {
            config,
            web_dir: None,
            sessions: None,
            poll: Duration::from_millis(250),
            login_failures_per_user: 5,
            login_failures_per_user_all: 50,
            login_failures_per_addr: 20,
            login_window: Duration::from_secs(15 * 60),
            health: None,
            health_ttl: Duration::from_millis(1500),
        }
    }
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// The whole application. Must be called inside a tokio runtime (it starts the live-update
/// poller).
pub fn app(store: Arc<dyn StateStore>, opts: Options) -> Router {
    let state = Arc::new(api::AppState {
        hub: events::Hub::start(store.clone(), opts.poll),
        store,
        sessions: opts
            .sessions
            .clone()
            .unwrap_or_else(auth::Sessions::memory)
            .for_config(&opts.config),
        tokens: auth::TokenCache::default(),
        login: auth::LoginLimiter::new(
            opts.login_failures_per_user,
            opts.login_failures_per_addr,
            opts.login_failures_per_user_all,
            opts.login_window,
        ),
        config: opts.config,
        poll: opts.poll,
        health: opts.health,
        health_cache: health::HealthCache::new(opts.health_ttl, Duration::from_secs(20)),
    });
    let (api, doc) = api::router().split_for_parts();
    let doc = Arc::new(doc);
    let api = api
        .route(
            OPENAPI_PATH,
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(state);
    let mut app = Router::new().merge(api);
    app = match opts.web_dir {
        Some(dir) => app.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::routing::any(api::not_found)),
        ),
        None => app.fallback(api::not_found),
    };
    app.layer(SetResponseHeaderLayer::if_not_present(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    ))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ))
}

/// Serves `app` on `listener` until the process is interrupted (Ctrl-C / SIGTERM),
/// with the peer address available to handlers (for the trusted proxy and the rate limit).
/// Open event streams never end on their own, so an interrupt stops at once rather than
/// waiting for them.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    );
    tokio::select! {
        r = server => r,
        _ = shutdown() => Ok(()),
    }
}

async fn shutdown() {
    let ctrl_c = async {
        // If the handler cannot be installed, the server runs until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
