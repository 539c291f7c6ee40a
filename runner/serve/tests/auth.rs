//! Sign-in tests: sessions that survive a restart (a new router over the same session
//! database is what a restarted server is; `tests/serve.rs` of planton-tests restarts the
//! real binary), sign-out, removed users, and the rate limit per user and client address,
//! behind a trusted proxy and without one.
//!
//! Requests go through the router as a tower service with the TCP peer given by
//! `MockConnectInfo`, over a real SQLite state store and session database in a temporary
//! folder.

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{Resp, send};
use planton_pipeline::sqlite::SqliteStore;
use planton_serve::auth::Sessions;
use planton_serve::config::{Role, ServeConfig, TrustedProxy};
use planton_serve::{Options, app};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PW: &str = "correct horse battery";
const HOST: &str = "planton.test:8080";
const PROXY: &str = "10.0.0.2";

fn config() -> ServeConfig {
    let mut c = ServeConfig::default();
    for (name, role) in [("ann", Role::Admin), ("bob", Role::Viewer)] {
        c.upsert_user(name, role, vec![], Some(PW)).unwrap();
    }
    c
}

fn with_proxy(mut c: ServeConfig) -> ServeConfig {
    c.trusted_proxy = Some(TrustedProxy {
        header: None,
        client_header: None,
        addresses: vec![PROXY.parse().unwrap()],
    });
    c
}

struct Server {
    dir: tempfile::TempDir,
}

impl Server {
    fn new() -> Server {
        Server {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn sessions_db(&self) -> PathBuf {
        self.dir.path().join("planton-serve.sessions.db")
    }

    /// A server as `planton serve` starts it: the state store and the session database
    /// opened from their files, the config read at start.
    fn start(&self, config: ServeConfig, peer: &str) -> Router {
        start(self.dir.path(), &self.sessions_db(), config, peer)
    }
}

fn start(service: &Path, sessions: &Path, config: ServeConfig, peer: &str) -> Router {
    let store = Arc::new(SqliteStore::for_service(service).unwrap());
    let mut opts = Options::new(config);
    opts.sessions = Some(Sessions::open(sessions).unwrap());
    opts.login_failures_per_user = 3;
    opts.login_failures_per_addr = 8;
    opts.login_failures_per_user_all = 12;
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    app(store, opts).layer(MockConnectInfo(peer))
}

fn req(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
}

/// Signs in; `forwarded`: the proxy's `X-Forwarded-For`.
async fn try_login(app: &Router, user: &str, password: &str, forwarded: Option<&str>) -> Resp {
    let mut r = req("POST", "/api/login").header(header::CONTENT_TYPE, "application/json");
    if let Some(f) = forwarded {
        r = r.header("x-forwarded-for", f);
    }
    send(
        app,
        r.body(Body::from(
            json!({"user": user, "password": password}).to_string(),
        ))
        .unwrap(),
    )
    .await
}

struct Session {
    cookie: String,
    csrf: String,
}

async fn login(app: &Router, user: &str, forwarded: Option<&str>) -> Session {
    let r = try_login(app, user, PW, forwarded).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap();
    Session {
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: r.json["csrfToken"].as_str().unwrap().to_string(),
    }
}

async fn whoami(app: &Router, s: &Session) -> Resp {
    send(
        app,
        req("GET", "/api/session")
            .header(header::COOKIE, &s.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Asserts the JSON error shape, status and code; returns the message.
fn error(r: &Resp, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.json);
    assert_eq!(r.json["error"]["code"], code, "{}", r.json);
    r.json["error"]["message"].as_str().unwrap().to_string()
}

fn retry_after(r: &Resp) -> u64 {
    r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_restart_keeps_the_session_and_sign_out_ends_it() {
    let s = Server::new();
    // One config, as one file read at each start (hashing again would mean new passwords).
    let c = config();
    let first = s.start(c.clone(), "127.0.0.1");
    let ann = login(&first, "ann", None).await;
    drop(first);

    let second = s.start(c.clone(), "127.0.0.1");
    let r = whoami(&second, &ann).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["user"], "ann");
    assert_eq!(r.json["via"], "session");
    assert_eq!(r.json["csrfToken"], ann.csrf.as_str(), "same CSRF token");
    // The session file holds neither the cookie value nor the CSRF token.
    let id = ann.cookie.split_once('=').unwrap().1;
    for f in std::fs::read_dir(s.dir.path()).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            assert!(!text.contains(id), "{} holds the session id", p.display());
            assert!(
                !text.contains(&ann.csrf),
                "{} holds the CSRF token",
                p.display()
            );
        }
    }

    let r = send(
        &second,
        req("POST", "/api/logout")
            .header(header::COOKIE, &ann.cookie)
            .header("x-csrf-token", &ann.csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    error(
        &whoami(&second, &ann).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    drop(second);
    let third = s.start(c.clone(), "127.0.0.1");
    error(
        &whoami(&third, &ann).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn a_removed_user_or_a_new_password_is_refused_after_the_restart() {
    let s = Server::new();
    // One config, as one file read at each start (hashing again would mean new passwords).
    let c = config();
    let first = s.start(c.clone(), "127.0.0.1");
    let ann = login(&first, "ann", None).await;
    let bob = login(&first, "bob", None).await;
    drop(first);
    let mut c = c;
    assert!(c.remove_user("bob"));
    let second = s.start(c.clone(), "127.0.0.1");
    error(
        &whoami(&second, &bob).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(whoami(&second, &ann).await.status, StatusCode::OK);
    drop(second);
    // A new password ends the sessions signed in with the old one.
    c.upsert_user("ann", Role::Admin, vec![], Some("a brand new password"))
        .unwrap();
    let third = s.start(c, "127.0.0.1");
    error(
        &whoami(&third, &ann).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn wrong_passwords_lock_out_that_user_from_that_client_only() {
    let s = Server::new();
    let app = s.start(config(), "127.0.0.1");
    for _ in 0..3 {
        let r = try_login(&app, "ann", "wrong password", None).await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let r = try_login(&app, "ann", PW, None).await;
    let m = error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(m.contains("this user from this address"), "{m}");
    assert!(m.contains("try again in"), "{m}");
    assert!((1..=900).contains(&retry_after(&r)));
    // Another user from the same address signs in (the same user from another address
    // does too: see the proxy test).
    login(&app, "bob", None).await;
}

#[tokio::test]
async fn behind_the_proxy_one_clients_failures_do_not_block_others() {
    let s = Server::new();
    let app = s.start(with_proxy(config()), PROXY);
    let attacker = "203.0.113.66";
    // The attacker guesses ann's password, then sprays other names, through the proxy.
    for i in 0..8 {
        let user = if i < 3 {
            "ann".to_string()
        } else {
            format!("nobody{i}")
        };
        let r = try_login(&app, &user, "guess", Some(attacker)).await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let r = try_login(&app, "bob", PW, Some(attacker)).await;
    let m = error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(m.contains("from this address"), "{m}");
    assert!(retry_after(&r) > 0);
    // Everyone else, through the same proxy, still signs in: bob, and ann herself.
    login(&app, "bob", Some("198.51.100.7")).await;
    login(&app, "ann", Some("198.51.100.8")).await;
    // A client-supplied address to the left of the proxy's is not believed.
    let r = try_login(&app, "bob", PW, Some(&format!("198.51.100.9, {attacker}"))).await;
    error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // A request the proxy sent without a client address counts per user only.
    login(&app, "bob", None).await;
}

#[tokio::test]
async fn many_addresses_together_lock_one_user_and_nobody_else() {
    let s = Server::new();
    let app = s.start(with_proxy(config()), PROXY);
    for i in 0..12 {
        let r = try_login(&app, "ann", "guess", Some(&format!("203.0.113.{i}"))).await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let r = try_login(&app, "ann", PW, Some("198.51.100.1")).await;
    let m = error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(m.contains("many addresses"), "{m}");
    login(&app, "bob", Some("203.0.113.1")).await;
}

#[tokio::test]
async fn forwarded_headers_are_ignored_unless_from_the_configured_proxy() {
    // No proxy configured: a rotating X-Forwarded-For does not escape the limit.
    let s = Server::new();
    let app = s.start(config(), PROXY);
    for i in 0..3 {
        let r = try_login(&app, "ann", "guess", Some(&format!("203.0.113.{i}"))).await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let r = try_login(&app, "ann", PW, Some("198.51.100.1")).await;
    error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // A proxy configured, but the connection is not from it: the same.
    let app = s.start(with_proxy(config()), "10.0.0.77");
    for i in 0..3 {
        try_login(&app, "ann", "guess", Some(&format!("203.0.113.{i}"))).await;
    }
    let r = try_login(&app, "ann", PW, Some("198.51.100.1")).await;
    error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}
