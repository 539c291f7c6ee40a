//! `planton serve` end to end against the control plane (the testenv, or `KUBECONFIG`): the
//! real binary serves over loopback HTTP, a test talks to it as the web app does (an API
//! token here instead of a session: sessions and CSRF are the API tests' and the browser
//! tests' business).
//!
//! - Live health: the example is deployed by a pipeline run into per-test namespaces, and
//!   `GET /api/services/{service}/environments/{env}/health` must say exactly what `planton
//!   status --output json` says, also after the workload breaks.
//! - The in-cluster store: the server reads runs from a per-test namespace with the
//!   restricted identity, and an approval goes through the RBAC check (refused, then allowed
//!   once a Role grants `approve` on the gate), recording the user and the identity.

use crate::cluster::{RESTRICTED_USER, cluster};
use crate::pipeline::{IMAGE, pipeline_run, run, service};
use crate::util::{expect_code, text};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, Patch, PatchParams, PostParams};
use planton_core::pipeline::{TaskEvent, TaskState};
use planton_pipeline::kube_store::KubeStore;
use planton_pipeline::store::StateStore;
use planton_pipeline::testing::sample_run;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `planton serve`, killed (by its own handle) when dropped.
pub(crate) struct Server {
    child: Child,
    addr: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `planton serve` in `dir` with `args`, a config with `user` (admin, API token
/// only), on a free loopback port.
fn serve(dir: &Path, user: &str, args: &[&str]) -> Server {
    serve_with(dir, user, args, |_| {})
}

/// [`serve`], with the server's command adjusted by `setup` (its environment).
pub(crate) fn serve_with(
    dir: &Path,
    user: &str,
    args: &[&str],
    setup: impl FnOnce(&mut Command),
) -> Server {
    let config = dir.join("serve-test.yaml");
    let cfg = config.to_string_lossy().into_owned();
    let out = run(
        dir,
        &[
            "serve", "user", "add", user, "--role", "admin", "--config", &cfg,
        ],
    );
    expect_code(&out, 0, "serve user add");
    let out = run(dir, &["serve", "user", "token", user, "--config", &cfg]);
    expect_code(&out, 0, "serve user token");
    let token = text(&out.stdout).trim().to_string();
    let mut cmd = Command::new(crate::util::planton());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config", &cfg])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    setup(&mut cmd);
    let mut child = cmd.spawn().expect("start planton serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("planton serve exited before listening:\n{seen}");
        };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split(" on http://").nth(1) {
            break rest.split('/').next().expect("address").to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr, token }
}

/// One HTTP/1.1 request with the server's API token; the status and the JSON body.
pub(crate) async fn call(
    s: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut conn = tokio::net::TcpStream::connect(&s.addr)
        .await
        .expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.addr,
        s.token,
        body.len()
    );
    conn.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP answer");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let json = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {body}"));
    (status, json)
}

/// `planton status --env <env> --output json` of the service in `dir`: its one task.
fn status_json(dir: &Path, env: &str) -> Value {
    let kc = cluster().kubeconfig().to_string_lossy().into_owned();
    let out = run(
        dir,
        &[
            "status",
            ".",
            "--env",
            env,
            "--output",
            "json",
            "--kubeconfig",
            &kc,
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status is not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    v[0].clone()
}

fn current_context(kubeconfig: &Path) -> String {
    let text = std::fs::read_to_string(kubeconfig).expect("read kubeconfig");
    text.lines()
        .find_map(|l| l.strip_prefix("current-context:"))
        .map(|c| c.trim().trim_matches('"').to_string())
        .expect("the kubeconfig has a current-context")
}

#[tokio::test]
async fn serve_health_equals_planton_status_live() {
    let stg = cluster().namespace("sv-stg").await;
    let prd = cluster().namespace("sv-prd").await;
    let kc = cluster().kubeconfig().to_string_lossy().into_owned();
    // staging names its kubeconfig context, as a service in another cluster would.
    let context = current_context(cluster().kubeconfig());
    let svc = service(
        "serve-health",
        &format!(
            "apiVersion: planton.dev/v1\nkind: ServiceConfig\npromotionOrder: [staging, prod]\nmanualGates: []\nenvironments:\n  staging: {{namespace: {}, context: \"{context}\"}}\n  prod: {{namespace: {}}}\n",
            stg.name(),
            prd.name()
        ),
    );
    let out = pipeline_run(&svc, IMAGE, &[]);
    expect_code(&out, 0, "the run deploys staging and prod");
    let server = serve(&svc, "ops", &["--kubeconfig", &kc]);
    let url = "/api/services/order-api/environments/staging/health";

    let t = Instant::now();
    let (code, live) = call(&server, "GET", url, None).await;
    let uncached = t.elapsed();
    assert_eq!(code, 200, "{live}");
    let t = Instant::now();
    for _ in 0..20 {
        assert_eq!(call(&server, "GET", url, None).await.0, 200);
    }
    let cached = t.elapsed() / 20;
    // Past the time to live: asked again, on the kept connection.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let t = Instant::now();
    assert_eq!(call(&server, "GET", url, None).await.0, 200);
    let warm = t.elapsed();
    eprintln!(
        "health endpoint: first {uncached:?} (connects), uncached {warm:?}, cached {cached:?} per request; {} objects",
        live["health"]["objects"].as_array().map_or(0, Vec::len)
    );

    let status = status_json(&svc, "staging");
    assert_eq!(
        live["health"], status,
        "the endpoint says what planton status says"
    );
    assert_eq!(live["service"], "order-api");
    assert_eq!(live["context"], context.as_str());
    assert_eq!(live["ready"], true, "{live}");
    assert_eq!(live["health"]["namespace"], stg.name());
    assert_eq!(live["health"]["revision"]["image"], IMAGE);
    let deployment = format!("Deployment {}/order-api", stg.name());
    assert!(
        live["health"]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .any(|o| o["object"] == deployment.as_str() && o["health"]["status"] == "Current"),
        "{live}"
    );
    // prod: same answer as status, in its own namespace, without a context.
    let (code, p) = call(
        &server,
        "GET",
        "/api/services/order-api/environments/prod/health",
        None,
    )
    .await;
    assert_eq!(code, 200, "{p}");
    assert_eq!(p["health"], status_json(&svc, "prod"));
    assert_eq!(p["health"]["namespace"], prd.name());
    assert_eq!(p["context"], Value::Null);

    // The workload breaks outside planton: the endpoint shows it within a few seconds,
    // and still says what planton status says.
    if cluster().is_testenv() {
        let deps: Api<Deployment> = Api::namespaced(cluster().client().await, stg.name());
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "order-api", "image": "planton.test/image-pull-error"}]}}}});
        deps.patch(
            "order-api",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("break the deployment");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, live) = call(&server, "GET", url, None).await;
            assert_eq!(code, 200, "{live}");
            if live["ready"] == false && live["health"] == status_json(&svc, "staging") {
                assert!(
                    live["health"]["objects"]
                        .as_array()
                        .expect("objects")
                        .iter()
                        .any(|o| o["object"] == deployment.as_str()
                            && o["health"]["status"] != "Current"),
                    "{live}"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the endpoint never showed the broken deployment: {live}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // Errors are JSON with a message.
    let (code, e) = call(
        &server,
        "GET",
        "/api/services/order-api/environments/qa/health",
        None,
    )
    .await;
    assert_eq!(code, 404, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("`qa`")
    );
}

/// A server whose kubeconfig points at nothing answers 502 `cluster_unreachable` with the
/// reason, not a hang or a 500.
#[tokio::test]
async fn serve_health_without_a_reachable_cluster_is_a_clear_error() {
    let svc = service(
        "serve-unreach",
        "apiVersion: planton.dev/v1\nkind: ServiceConfig\npromotionOrder: [staging, prod]\nmanualGates: [prod]\n",
    );
    let out = pipeline_run(&svc, IMAGE, &["--dry-run"]);
    expect_code(&out, 3, "a dry run stops at prod's gate");
    let dead = svc.join("dead.kubeconfig");
    std::fs::write(
        &dead,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
    )
    .expect("write kubeconfig");
    let server = serve(&svc, "ops", &["--kubeconfig", &dead.to_string_lossy()]);
    let t = Instant::now();
    let (code, e) = call(
        &server,
        "GET",
        "/api/services/order-api/environments/staging/health",
        None,
    )
    .await;
    eprintln!(
        "health endpoint, unreachable cluster: answered in {:?}",
        t.elapsed()
    );
    assert_eq!(code, 502, "{e}");
    assert_eq!(e["error"]["code"], "cluster_unreachable", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("did not answer"),
        "{e}"
    );
}

/// `planton serve --store kubernetes`: the server reads runs from the store namespace with
/// the restricted identity, and an approval goes through RBAC. The restricted identity is
/// given read and write access to the store's objects, but not `approve` on the gate: the
/// server refuses the approval with 403 naming the identity and the gate, then lets it
/// through once a Role grants it, and the decision names the user and the identity.
#[tokio::test]
async fn serve_with_the_kube_store_approves_through_rbac() {
    let Some(restricted) = cluster().restricted_kubeconfig() else {
        // On a real cluster the restricted identity is impersonation, which `planton serve`
        // has no flag for; the RBAC path itself is covered by
        // `pipeline::kube_store_lets_rbac_decide_who_may_approve`.
        eprintln!("skipped: the restricted identity has no kubeconfig of its own here");
        return;
    };
    let ns = cluster().namespace("sv-store").await;
    let admin = cluster().client().await;
    let store = KubeStore::new(admin.clone(), ns.name());
    let mut r = store
        .create_run(sample_run("order-api"))
        .await
        .expect("create run");
    r.tasks[0]
        .apply(TaskEvent::Start { at: 1_100 })
        .expect("start");
    r.tasks[1]
        .apply(TaskEvent::AwaitApproval { expires_at: None })
        .expect("await");
    r.derive(1_200);
    store.save_run(&r).await.expect("save run");
    assert_eq!(r.tasks[1].state, TaskState::AwaitingApproval);

    let grant = |name: &str, rules: Value| {
        let role: Role =
            serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules}))
                .expect("role");
        let binding: RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": RESTRICTED_USER}]
        }))
        .expect("binding");
        (role, binding)
    };
    let create = |role: Role, binding: RoleBinding| {
        let admin = admin.clone();
        let ns = ns.name().to_string();
        async move {
            Api::<Role>::namespaced(admin.clone(), &ns)
                .create(&PostParams::default(), &role)
                .await
                .expect("create role");
            Api::<RoleBinding>::namespaced(admin, &ns)
                .create(&PostParams::default(), &binding)
                .await
                .expect("create binding");
        }
    };
    let (role, binding) = grant(
        "planton-serve-store",
        json!([{"apiGroups": [""], "resources": ["configmaps"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"]},
               {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                "verbs": ["get", "list", "create", "update"]}]),
    );
    create(role, binding).await;

    let dir = crate::util::temp_dir("serve-kube-store");
    let server = serve(
        &dir,
        "alice",
        &[
            "--store",
            "kubernetes",
            "--store-namespace",
            ns.name(),
            "--kubeconfig",
            &restricted.to_string_lossy(),
        ],
    );
    let (code, runs) = call(&server, "GET", "/api/runs?service=order-api", None).await;
    assert_eq!(code, 200, "{runs}");
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs[0]["id"], r.id.as_str());
    assert_eq!(runs[0]["tasks"][1]["state"], "awaiting_approval");

    let approve = format!("/api/runs/{}/tasks/prod/approve", r.id);
    let body = json!({"digest": r.tasks[1].manifest_digest, "image": r.image, "comment": "ok"});
    let (code, e) = call(&server, "POST", &approve, Some(body.clone())).await;
    assert_eq!(code, 403, "RBAC has not granted approve yet: {e}");
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains(RESTRICTED_USER) && msg.contains("order-api.prod"),
        "{msg}"
    );
    assert!(store.decisions(&r.id).await.expect("decisions").is_empty());

    let (role, binding) = grant(
        "approve-order-api-prod",
        json!([{"apiGroups": ["planton.dev"], "resources": ["gates"], "verbs": ["approve"],
                "resourceNames": ["order-api.prod"]}]),
    );
    create(role, binding).await;
    let (code, d) = call(&server, "POST", &approve, Some(body)).await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["by"], format!("alice via {RESTRICTED_USER}"));
    let stored = store.decisions(&r.id).await.expect("decisions");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].by, format!("alice via {RESTRICTED_USER}"));
    assert_eq!(stored[0].manifest_digest, r.tasks[1].manifest_digest);
    assert_eq!(stored[0].comment.as_deref(), Some("ok"));
}
