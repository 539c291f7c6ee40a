//! The health endpoint's own behaviour over a real SQLite store: which task an environment
//! names, the error answers, and the cache (one cluster question per time to live however
//! many viewers ask, failures included).
//!
//! The cluster side is a counting [`HealthSource`] here, because what is tested is the
//! server's part (the real source asks a cluster through the same trait: the end-to-end
//! test against the control plane is `serve_health` in `tests/pipeline.rs`).

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use planton_core::api::{EnvironmentHealth, ServiceHealth};
use planton_core::pipeline::{Run, Task};
use planton_pipeline::StateStore;
use planton_pipeline::sqlite::SqliteStore;
use planton_serve::config::{Role, ServeConfig};
use planton_serve::health::{HealthError, HealthSource};
use planton_serve::{Options, app};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tower::ServiceExt as _;

#[derive(Debug)]
struct Counting {
    calls: AtomicUsize,
    fail: Option<HealthError>,
}

#[async_trait::async_trait]
impl HealthSource for Counting {
    async fn health(&self, run: &Run, task: &Task) -> Result<EnvironmentHealth, HealthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // A slow cluster: concurrent callers must wait for this one answer.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        Ok(EnvironmentHealth {
            service: run.service.clone(),
            environment: task.env.clone(),
            context: None,
            ecs: None,
            ready: false,
            checked_at: 1,
            health: ServiceHealth {
                task: task.name.clone(),
                env: task.env.clone(),
                namespace: format!("ns-{}", task.name),
                revision: None,
                objects: vec![],
            },
        })
    }
}

struct Env {
    app: Router,
    token: String,
    _dir: tempfile::TempDir,
}

async fn env(source: Option<Arc<Counting>>, ttl: Duration) -> Env {
    let mut c = ServeConfig::default();
    c.upsert_user("bot", Role::Viewer, vec![], None).unwrap();
    let token = c.add_token("bot").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::for_service(dir.path()).unwrap());
    // The shared sample run, with environments named unlike their tasks (so lookups by
    // environment and by task name are both exercised).
    let mut run = planton_pipeline::testing::sample_run("order-api");
    run.tasks[0].env = "stage".into();
    run.tasks[1].env = "production".into();
    store.create_run(run).await.unwrap();
    let mut opts = Options::new(c);
    opts.health_ttl = ttl;
    opts.health = source.map(|s| s as Arc<dyn HealthSource>);
    let addr: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    Env {
        app: app(store, opts).layer(MockConnectInfo(addr)),
        token,
        _dir: dir,
    }
}

async fn get(e: &Env, uri: &str) -> (StatusCode, Value) {
    let resp = e
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", e.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn source(fail: Option<HealthError>) -> Arc<Counting> {
    Arc::new(Counting {
        calls: AtomicUsize::new(0),
        fail,
    })
}

#[tokio::test]
async fn an_environment_is_named_by_its_env_or_its_overlay() {
    let s = source(None);
    let e = env(Some(s.clone()), Duration::from_secs(60)).await;
    let (st, v) = get(&e, "/api/services/order-api/environments/production/health").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["health"]["task"], "prod");
    assert_eq!(v["health"]["namespace"], "ns-prod");
    assert_eq!(v["environment"], "production");
    let (st, v) = get(&e, "/api/services/order-api/environments/staging/health").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["health"]["task"], "staging");

    let (st, v) = get(&e, "/api/services/order-api/environments/qa/health").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("`qa`") && msg.contains("stage, production"),
        "{msg}"
    );
    let (st, v) = get(&e, "/api/services/nope/environments/prod/health").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("`nope`"));
}

#[tokio::test]
async fn many_viewers_cost_one_cluster_question_per_ttl() {
    let s = source(None);
    let e = env(Some(s.clone()), Duration::from_millis(800)).await;
    let url = "/api/services/order-api/environments/production/health";
    let answers = futures::future::join_all((0..50).map(|_| get(&e, url))).await;
    assert!(answers.iter().all(|(st, _)| *st == StatusCode::OK));
    assert_eq!(
        s.calls.load(Ordering::SeqCst),
        1,
        "50 concurrent viewers, one question"
    );
    // Another environment is another question.
    get(&e, "/api/services/order-api/environments/stage/health").await;
    assert_eq!(s.calls.load(Ordering::SeqCst), 2);
    // After the time to live, the cluster is asked again.
    tokio::time::sleep(Duration::from_millis(900)).await;
    get(&e, url).await;
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn cluster_failures_are_clear_json_and_cached_too() {
    let cases = [
        (
            HealthError::Unreachable("the cluster did not answer: connection refused".into()),
            StatusCode::BAD_GATEWAY,
            "cluster_unreachable",
        ),
        (
            HealthError::NotConfigured("no cluster configured: no kubeconfig".into()),
            StatusCode::SERVICE_UNAVAILABLE,
            "no_cluster",
        ),
        (
            HealthError::Cluster("forbidden: cannot get configmaps".into()),
            StatusCode::BAD_GATEWAY,
            "cluster",
        ),
    ];
    for (err, status, code) in cases {
        let msg = err.to_string();
        let s = source(Some(err));
        let e = env(Some(s.clone()), Duration::from_secs(60)).await;
        let url = "/api/services/order-api/environments/production/health";
        for _ in 0..3 {
            let (st, v) = get(&e, url).await;
            assert_eq!(st, status, "{v}");
            assert_eq!(v["error"]["code"], code);
            assert_eq!(v["error"]["message"], msg.as_str());
        }
        assert_eq!(
            s.calls.load(Ordering::SeqCst),
            1,
            "a failing cluster is not hammered"
        );
    }
}

#[tokio::test]
async fn a_server_without_cluster_access_says_so() {
    let e = env(None, Duration::from_secs(1)).await;
    let (st, v) = get(&e, "/api/services/order-api/environments/production/health").await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "no_cluster");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reads no cluster")
    );
}
