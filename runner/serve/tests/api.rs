//! API tests: the whole router over a real SQLite state store in a temporary folder.
//!
//! Requests go through the router as a tower service (`oneshot`), with the peer address
//! given by `MockConnectInfo`; the HTTP transport itself is exercised by the browser tests
//! (`tests/browser/pipeline.test.mjs`) and the load test (`scripts/load-serve.mjs`).
//! Every error answer is checked to be the JSON error shape with a message.

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{Resp, send};
use futures::StreamExt as _;
use planton_core::pipeline::{GateDecision, Run, RunState, Task, TaskEvent, TaskResult, TaskState};
use planton_pipeline::StateStore;
use planton_pipeline::sqlite::SqliteStore;
use planton_serve::config::{Anonymous, Role, ServeConfig, TrustedProxy};
use planton_serve::{Options, app};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

const PW: &str = "correct horse battery";
const HOST: &str = "planton.test:8080";

struct Env {
    app: Router,
    store: Arc<SqliteStore>,
    run: Run,
    token: String,
    _dir: tempfile::TempDir,
}

fn config() -> (ServeConfig, String) {
    let mut c = ServeConfig::default();
    c.upsert_user("admin", Role::Admin, vec![], Some(PW))
        .unwrap();
    c.upsert_user("vera", Role::Viewer, vec![], Some(PW))
        .unwrap();
    c.upsert_user("stan", Role::Approver, vec!["staging".into()], Some(PW))
        .unwrap();
    c.upsert_user("alice", Role::Approver, vec!["prod".into()], Some(PW))
        .unwrap();
    c.upsert_user("bot", Role::Admin, vec![], None).unwrap();
    let token = c.add_token("bot").unwrap();
    c.trusted_proxy = Some(TrustedProxy {
        header: Some("X-Forwarded-User".into()),
        client_header: None,
        addresses: vec!["10.0.0.2".parse().unwrap()],
    });
    (c, token)
}

fn run_with_gate() -> Run {
    let mut staging = Task::new("staging", "staging", "MicroserviceKubernetes", "sha256:aa");
    staging.manifest_yaml = "kind: MicroserviceKubernetes\nspec:\n  replicas: 1\n".into();
    let mut prod = Task::new("prod", "prod", "MicroserviceKubernetes", "sha256:bb");
    prod.manifest_yaml = "kind: MicroserviceKubernetes\nspec:\n  replicas: 3\n".into();
    prod.requires_manual_gate = true;
    Run {
        id: String::new(),
        service: "order-api".into(),
        service_dir: "/srv/order-api".into(),
        image: "ghcr.io/acme/order-api:2".into(),
        created_by: "ci".into(),
        created_at: 2_000,
        ended_at: None,
        state: RunState::Queued,
        result: None,
        error: None,
        dry_run: false,
        executor: "local".into(),
        tasks: vec![staging, prod],
    }
}

async fn env_with(config: ServeConfig, token: String, peer: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::for_service(dir.path()).unwrap());
    let mut run = store.create_run(run_with_gate()).await.unwrap();
    run.tasks[0].apply(TaskEvent::Start { at: 2_100 }).unwrap();
    run.tasks[0]
        .apply(TaskEvent::Finished {
            at: 2_200,
            result: TaskResult::Succeeded,
            error: None,
        })
        .unwrap();
    run.tasks[1]
        .apply(TaskEvent::AwaitApproval { expires_at: None })
        .unwrap();
    run.derive(2_300);
    store.save_run(&run).await.unwrap();
    let mut opts = Options::new(config);
    opts.poll = Duration::from_millis(50);
    opts.login_failures_per_user = 3;
    let addr: SocketAddr = peer.parse().unwrap();
    let app = app(store.clone(), opts).layer(MockConnectInfo(addr));
    Env {
        app,
        store,
        run,
        token,
        _dir: dir,
    }
}

async fn env() -> Env {
    let (c, t) = config();
    env_with(c, t, "127.0.0.1:50000").await
}

fn req(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
}

fn post_json(uri: &str, body: Value) -> axum::http::request::Builder {
    let _ = body;
    req("POST", uri).header(header::CONTENT_TYPE, "application/json")
}

/// Asserts the JSON error shape, the status and the code; returns the message.
fn error(r: &Resp, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.json);
    assert_eq!(r.json["error"]["code"], code, "{}", r.json);
    let msg = r.json["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.len() > 10, "a clear message: {msg}");
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    msg
}

struct Session {
    cookie: String,
    csrf: String,
}

async fn login(app: &Router, user: &str) -> Session {
    let r = send(
        app,
        post_json("/api/login", Value::Null)
            .body(Body::from(
                json!({"user": user, "password": PW}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    Session {
        cookie,
        csrf: r.json["csrfToken"].as_str().unwrap().to_string(),
    }
}

fn decide_body(digest: &str, image: &str) -> Body {
    Body::from(json!({"digest": digest, "image": image, "comment": "looks right"}).to_string())
}

async fn approve_as(e: &Env, s: &Session, digest: &str, image: &str) -> Resp {
    send(
        &e.app,
        post_json(
            &format!("/api/runs/{}/tasks/prod/approve", e.run.id),
            Value::Null,
        )
        .header(header::COOKIE, &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .body(decide_body(digest, image))
        .unwrap(),
    )
    .await
}

#[tokio::test]
async fn without_a_session_every_endpoint_is_401_json() {
    let e = env().await;
    let id = &e.run.id;
    for uri in [
        "/api/session".to_string(),
        "/api/services".into(),
        "/api/runs".into(),
        format!("/api/runs/{id}"),
        format!("/api/runs/{id}/tasks/prod"),
        format!("/api/runs/{id}/tasks/prod/log"),
        format!("/api/runs/{id}/tasks/prod/log/stream"),
        "/api/events".into(),
    ] {
        let r = send(&e.app, req("GET", &uri).body(Body::empty()).unwrap()).await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    for verb in ["approve", "reject"] {
        let r = send(
            &e.app,
            post_json(&format!("/api/runs/{id}/tasks/prod/{verb}"), Value::Null)
                .body(decide_body("sha256:bb", &e.run.image))
                .unwrap(),
        )
        .await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let r = send(
        &e.app,
        req("POST", "/api/logout").body(Body::empty()).unwrap(),
    )
    .await;
    error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    // Liveness and the API document need no session.
    let r = send(
        &e.app,
        req("GET", "/api/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.json, json!({"ok": true}));
    let r = send(
        &e.app,
        req("GET", "/api/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Nothing was decided.
    assert!(e.store.decisions(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let e = env().await;
    let s = login(&e.app, "admin").await;
    let get = |uri: &str| {
        req("GET", uri)
            .header(header::COOKIE, &s.cookie)
            .body(Body::empty())
            .unwrap()
    };
    let m = error(
        &send(&e.app, get("/api/nope")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert!(m.contains("/api/nope"), "{m}");
    error(
        &send(&e.app, get("/nope.html")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let m = error(
        &send(&e.app, get("/api/runs/999")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(m, "no run `999`");
    let m = error(
        &send(&e.app, get(&format!("/api/runs/{}/tasks/qa", e.run.id))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert!(m.contains("no task `qa`"), "{m}");
    let m = error(
        &send(&e.app, get("/api/runs?limit=zero")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert!(m.contains("limit"), "{m}");
    error(
        &send(&e.app, get("/api/runs?limit=0")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    error(
        &send(&e.app, get("/api/runs?colour=red")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let r = send(
        &e.app,
        req("DELETE", "/api/runs")
            .header(header::COOKIE, &s.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // A body that is not JSON, JSON of the wrong shape, no content type.
    let approve = format!("/api/runs/{}/tasks/prod/approve", e.run.id);
    for (ct, body, status) in [
        ("application/json", "{", StatusCode::BAD_REQUEST),
        (
            "application/json",
            r#"{"digest": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "text/plain",
            r#"{"digest":"a","image":"b"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let r = send(
            &e.app,
            req("POST", &approve)
                .header(header::CONTENT_TYPE, ct)
                .header(header::COOKIE, &s.cookie)
                .header("x-csrf-token", &s.csrf)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        let m = error(&r, status, "bad_request");
        assert!(m.starts_with("invalid request body"), "{m}");
    }
}

#[tokio::test]
async fn approval_needs_csrf_role_and_the_pending_digest() {
    let e = env().await;
    let id = e.run.id.clone();
    let admin = login(&e.app, "admin").await;
    let approve = format!("/api/runs/{id}/tasks/prod/approve");

    // The session cookie alone (a forged cross-site form or fetch) is refused.
    let r = send(
        &e.app,
        post_json(&approve, Value::Null)
            .header(header::COOKIE, &admin.cookie)
            .body(decide_body("sha256:bb", &e.run.image))
            .unwrap(),
    )
    .await;
    error(&r, StatusCode::FORBIDDEN, "csrf");
    // A wrong token too, and a right token from another origin.
    let r = send(
        &e.app,
        post_json(&approve, Value::Null)
            .header(header::COOKIE, &admin.cookie)
            .header("x-csrf-token", "guess")
            .body(decide_body("sha256:bb", &e.run.image))
            .unwrap(),
    )
    .await;
    error(&r, StatusCode::FORBIDDEN, "csrf");
    let r = send(
        &e.app,
        post_json(&approve, Value::Null)
            .header(header::COOKIE, &admin.cookie)
            .header("x-csrf-token", &admin.csrf)
            .header(header::ORIGIN, "http://evil.test")
            .body(decide_body("sha256:bb", &e.run.image))
            .unwrap(),
    )
    .await;
    let m = error(&r, StatusCode::FORBIDDEN, "csrf");
    assert!(m.contains("evil.test"), "{m}");

    // A viewer, and an approver of another environment, may not.
    let vera = login(&e.app, "vera").await;
    let m = error(
        &approve_as(&e, &vera, "sha256:bb", &e.run.image).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert!(m.contains("viewer"), "{m}");
    let stan = login(&e.app, "stan").await;
    let m = error(
        &approve_as(&e, &stan, "sha256:bb", &e.run.image).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert!(m.contains("may not approve environment `prod`"), "{m}");

    // A stale digest or image: 409, nothing recorded.
    let alice = login(&e.app, "alice").await;
    let m = error(
        &approve_as(&e, &alice, "sha256:old", &e.run.image).await,
        StatusCode::CONFLICT,
        "stale_digest",
    );
    assert!(m.contains("sha256:old") && m.contains("sha256:bb"), "{m}");
    error(
        &approve_as(&e, &alice, "sha256:bb", "ghcr.io/acme/order-api:1").await,
        StatusCode::CONFLICT,
        "stale_image",
    );
    assert!(e.store.decisions(&id).await.unwrap().is_empty());

    // The approver of prod, with everything right: recorded with her name.
    let r = approve_as(&e, &alice, "sha256:bb", &e.run.image).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let ds = e.store.decisions(&id).await.unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].by, "alice");
    assert_eq!(ds[0].decision, GateDecision::Yes);
    assert_eq!(ds[0].manifest_digest, "sha256:bb");
    assert_eq!(ds[0].comment.as_deref(), Some("looks right"));

    // The task view shows the gate approved and the decision.
    let r = send(
        &e.app,
        req("GET", &format!("/api/runs/{id}/tasks/prod"))
            .header(header::COOKIE, &alice.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.json["gate"]["status"], "approved");
    assert_eq!(r.json["decisions"][0]["by"], "alice");

    // A task not awaiting approval: 409.
    let r = send(
        &e.app,
        post_json(
            &format!("/api/runs/{id}/tasks/staging/approve"),
            Value::Null,
        )
        .header(header::COOKIE, &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .body(decide_body("sha256:aa", &e.run.image))
        .unwrap(),
    )
    .await;
    error(&r, StatusCode::CONFLICT, "not_pending");
}

#[tokio::test]
async fn planton_yaml_approvers_narrow_who_decides() {
    let e = env().await;
    let mut run = e.run.clone();
    run.tasks[1].approvers = vec!["alice".into()];
    e.store.save_run(&run).await.unwrap();
    let admin = login(&e.app, "admin").await;
    let m = error(
        &approve_as(&e, &admin, "sha256:bb", &run.image).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert!(m.contains("planton.yaml"), "{m}");
    let alice = login(&e.app, "alice").await;
    assert_eq!(
        approve_as(&e, &alice, "sha256:bb", &run.image).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let e = env().await;
    let bad = |user: &str| {
        post_json("/api/login", Value::Null)
            .body(Body::from(
                json!({"user": user, "password": "wrong password"}).to_string(),
            ))
            .unwrap()
    };
    for _ in 0..3 {
        let m = error(
            &send(&e.app, bad("admin")).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        assert_eq!(m, "wrong user name or password");
    }
    let r = send(&e.app, bad("admin")).await;
    let m = error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(m.contains("try again in"), "{m}");
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    // Even the right password is not checked now.
    let r = send(
        &e.app,
        post_json("/api/login", Value::Null)
            .body(Body::from(
                json!({"user": "admin", "password": PW}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Another user is not locked out by them.
    login(&e.app, "vera").await;
    // Unknown users answer like wrong passwords.
    let m = error(
        &send(&e.app, bad("nobody")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(m, "wrong user name or password");
}

#[tokio::test]
async fn login_from_another_origin_is_refused() {
    let e = env().await;
    let r = send(
        &e.app,
        post_json("/api/login", Value::Null)
            .header(header::ORIGIN, "http://evil.test")
            .body(Body::from(
                json!({"user": "admin", "password": PW}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    error(&r, StatusCode::FORBIDDEN, "csrf");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let e = env().await;
    let s = login(&e.app, "admin").await;
    let r = send(
        &e.app,
        req("POST", "/api/logout")
            .header(header::COOKIE, &s.cookie)
            .header("x-csrf-token", &s.csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        r.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = send(
        &e.app,
        req("GET", "/api/session")
            .header(header::COOKIE, &s.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn api_tokens_need_no_csrf_and_bad_ones_are_401() {
    let e = env().await;
    let r = send(
        &e.app,
        post_json(
            &format!("/api/runs/{}/tasks/prod/approve", e.run.id),
            Value::Null,
        )
        .header(header::AUTHORIZATION, format!("Bearer {}", e.token))
        .body(decide_body("sha256:bb", &e.run.image))
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(e.store.decisions(&e.run.id).await.unwrap()[0].by, "bot");
    let forged = format!("{}x", e.token);
    for auth in [
        format!("Bearer {forged}"),
        "Basic YTpi".to_string(),
        "Bearer plt_nope".into(),
    ] {
        let r = send(
            &e.app,
            req("GET", "/api/runs")
                .header(header::AUTHORIZATION, auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn the_proxy_header_counts_only_from_the_proxy() {
    let (c, t) = config();
    let from_proxy = env_with(c.clone(), t.clone(), "10.0.0.2:4000").await;
    let get = || {
        req("GET", "/api/session")
            .header("x-forwarded-user", "alice")
            .body(Body::empty())
            .unwrap()
    };
    let r = send(&from_proxy.app, get()).await;
    assert_eq!(r.json["user"], "alice");
    assert_eq!(r.json["via"], "proxy");
    let r = send(
        &from_proxy.app,
        req("GET", "/api/session")
            .header("x-forwarded-user", "mallory")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let m = error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(m.contains("mallory"), "{m}");
    let elsewhere = env_with(c, t, "10.0.0.3:4000").await;
    error(
        &send(&elsewhere.app, get()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn anonymous_viewers_only_when_configured() {
    let (mut c, t) = config();
    c.anonymous = Anonymous::Viewer;
    let e = env_with(c, t, "127.0.0.1:1").await;
    let r = send(&e.app, req("GET", "/api/runs").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json[0]["id"], e.run.id.as_str());
    let r = send(
        &e.app,
        post_json(
            &format!("/api/runs/{}/tasks/prod/approve", e.run.id),
            Value::Null,
        )
        .body(decide_body("sha256:bb", &e.run.image))
        .unwrap(),
    )
    .await;
    error(&r, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn task_view_shows_the_diff_against_the_last_deploy() {
    let e = env().await;
    // An earlier run whose prod succeeded with 2 replicas.
    let mut old = run_with_gate();
    old.created_at = 1_000;
    old.tasks[1].manifest_yaml = "kind: MicroserviceKubernetes\nspec:\n  replicas: 2\n".into();
    let mut old = e.store.create_run(old).await.unwrap();
    old.tasks[1].state = TaskState::Completed;
    old.tasks[1].result = Some(TaskResult::Succeeded);
    e.store.save_run(&old).await.unwrap();
    let s = login(&e.app, "vera").await;
    let r = send(
        &e.app,
        req("GET", &format!("/api/runs/{}/tasks/prod", e.run.id))
            .header(header::COOKIE, &s.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["previousRun"], old.id.as_str());
    let diff = r.json["diff"].as_str().unwrap();
    assert!(diff.contains("-  replicas: 2\n+  replicas: 3\n"), "{diff}");
    assert_eq!(r.json["gate"]["status"], "pending");
    assert_eq!(r.json["gate"]["pendingDigest"], "sha256:bb");
    assert_eq!(r.json["gate"]["mayDecide"], false);
}

/// Reads SSE events (name, data) from a streaming body until `n` arrived.
async fn sse_events(
    stream: &mut (impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
    buf: &mut String,
    n: usize,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut name = "message".to_string();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if !data.is_empty() || name != "message" {
                out.push((name, data));
            }
        }
        if out.len() >= n {
            break;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}

#[tokio::test]
async fn run_changes_and_logs_stream_live() {
    let e = env().await;
    let s = login(&e.app, "vera").await;
    let resp = e
        .app
        .clone()
        .oneshot(
            req("GET", &format!("/api/events?run={}", e.run.id))
                .header(header::COOKIE, &s.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = resp.into_body().into_data_stream();
    let mut buf = String::new();
    let first = sse_events(&mut body, &mut buf, 2).await;
    assert_eq!(first[1].0, "ready");
    let v: Value = serde_json::from_str(&first[0].1).unwrap();
    assert_eq!(first[0].0, "run");
    assert_eq!(v["tasks"][1]["state"], "awaiting_approval");

    // The runner (another writer of the store) moves prod on: the change arrives.
    let mut run = e.run.clone();
    run.tasks[1].apply(TaskEvent::Approved).unwrap();
    run.tasks[1].apply(TaskEvent::Start { at: 3_000 }).unwrap();
    run.derive(3_000);
    let t0 = std::time::Instant::now();
    e.store.save_run(&run).await.unwrap();
    let next = sse_events(&mut body, &mut buf, 1).await;
    let v: Value = serde_json::from_str(&next[0].1).unwrap();
    assert_eq!(v["tasks"][1]["state"], "running");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());

    // Its log streams as it is written, then ends when the task completes.
    let resp = e
        .app
        .clone()
        .oneshot(
            req(
                "GET",
                &format!("/api/runs/{}/tasks/prod/log/stream", e.run.id),
            )
            .header(header::COOKIE, &s.cookie)
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    let mut logs = resp.into_body().into_data_stream();
    let mut lbuf = String::new();
    e.store
        .append_log(&e.run.id, "prod", "applying 3 objects\n")
        .await
        .unwrap();
    let ev = sse_events(&mut logs, &mut lbuf, 1).await;
    assert_eq!(ev[0].0, "log");
    let v: Value = serde_json::from_str(&ev[0].1).unwrap();
    assert_eq!(v["text"], "applying 3 objects\n");
    e.store
        .append_log(&e.run.id, "prod", "ready\n")
        .await
        .unwrap();
    run.tasks[1]
        .apply(TaskEvent::Finished {
            at: 4_000,
            result: TaskResult::Succeeded,
            error: None,
        })
        .unwrap();
    run.derive(4_000);
    e.store.save_run(&run).await.unwrap();
    let ev = sse_events(&mut logs, &mut lbuf, 2).await;
    assert_eq!(ev[0].0, "log");
    assert!(ev[0].1.contains("ready"), "{}", ev[0].1);
    assert_eq!(ev[1].0, "end");
    // The plain read agrees.
    let r = send(
        &e.app,
        req(
            "GET",
            &format!("/api/runs/{}/tasks/prod/log?offset=0", e.run.id),
        )
        .header(header::COOKIE, &s.cookie)
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(r.json["text"], "applying 3 objects\nready\n");
    assert_eq!(r.json["complete"], true);
}

/// The OpenAPI document served equals the checked-in `openapi.json` (CI fails when a route
/// changes without it: refresh with `UPDATE_OPENAPI=1 cargo test -p planton-serve`), and
/// every documented path is a route of the server.
#[tokio::test]
async fn openapi_document_is_checked_in_and_complete() {
    let e = env().await;
    let r = send(
        &e.app,
        req("GET", "/api/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    let served = serde_json::to_string_pretty(&r.json).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == served,
        "runner/serve/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test -p planton-serve`"
    );
    let s = login(&e.app, "admin").await;
    let paths = r.json["paths"].as_object().unwrap();
    assert!(paths.len() >= 12, "{}", paths.len());
    for (p, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let uri = p.replace("{run}", &e.run.id).replace("{task}", "prod");
            let resp = e
                .app
                .clone()
                .oneshot(
                    req(&method.to_uppercase(), &uri)
                        .header(header::COOKIE, &s.cookie)
                        .header("x-csrf-token", &s.csrf)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from("{}"))
                        .unwrap(),
                )
                .await
                .unwrap();
            // Streams would not end: only the status matters.
            let status = resp.status();
            if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
                let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains("no such endpoint") && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {p} is documented but not served: {text}"
                );
            }
        }
    }
}
