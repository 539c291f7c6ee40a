//! `planton pipeline run|resume|status`, `approve`, `reject`, `runs`, `logs` end to end: the
//! `planton` binary runs a copy of `examples/order-api` (staging, then prod behind a manual
//! gate) with the embedded SQLite store, and its stack jobs deploy to a real control plane
//! (the testenv, or `KUBECONFIG`), each environment into a namespace of its own.
//!
//! The testenv's kubelets are kwok: no container runs; pods become Ready by kwok's stages and
//! an image named `planton.test/image-pull-error` fails to pull (as it would on a real
//! cluster). Tests that only exercise gates use `--dry-run`, which runs the same engine and
//! store and stops before the stack jobs.

use crate::cluster::{TestNamespace, cluster};
use crate::util::{copy_dir, expect_code, planton, temp_dir, text, workspace, write_tree};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use planton_pipeline::kube_store::KubeStore;
use planton_pipeline::store::{LockOutcome, StateStore};
use planton_pipeline::testing::{check_store, sample_run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const IMAGE: &str = "registry.k8s.io/pause:3.10";
const AWAITING: i32 = 3;

/// A copy of the example with groups (placeholder secret values) and `config` as its
/// `planton.yaml`.
pub(crate) fn service(name: &str, config: &str) -> PathBuf {
    let root = temp_dir(&format!("pipeline-{name}")).join("order-api");
    copy_dir(&workspace().join("examples/order-api"), &root);
    let secrets = |group: &str, entries: &[&str]| {
        let e: String = entries
            .iter()
            .map(|n| format!("    - name: {n}\n      value: \"not-a-real-secret\"\n"))
            .collect();
        format!(
            "apiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: {group}\nspec:\n  entries:\n{e}"
        )
    };
    write_tree(
        &root,
        &[
            (
                "groups/postgres-secrets.yaml",
                &secrets("postgres", &["order-api-password"]),
            ),
            (
                "groups/stripe.yaml",
                &secrets("stripe", &["test-key", "live-key"]),
            ),
            (
                "groups/postgres-vars.yaml",
                "apiVersion: service-hub.planton.ai/v1\nkind: VariablesGroup\nmetadata:\n  name: postgres\nspec:\n  entries:\n    - name: host\n      value: db.internal\n",
            ),
            ("planton.yaml", config),
        ],
    );
    root
}

/// The example's pipeline settings, with each environment in its own namespace.
pub(crate) fn config(staging: &str, prod: &str, gates: &str) -> String {
    format!(
        "apiVersion: planton.dev/v1\nkind: ServiceConfig\npromotionOrder: [staging, prod]\nmanualGates: [{gates}]\napprovers:\n  prod: [alice]\n  staging: [alice]\nenvironments:\n  staging: {{namespace: {staging}}}\n  prod: {{namespace: {prod}}}\n"
    )
}

fn planton_cmd(svc: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(planton());
    c.args(args)
        .current_dir(svc)
        .stdin(Stdio::null())
        .env("USER", "ci");
    c
}

pub(crate) fn run(svc: &Path, args: &[&str]) -> Output {
    planton_cmd(svc, args).output().expect("run planton")
}

/// The cluster for the stack jobs, and their deploy timeout unless `extra` gives one.
fn kube_args(extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--kubeconfig".into(),
        cluster().kubeconfig().to_string_lossy().into_owned(),
    ];
    if !extra.contains(&"--timeout") {
        v.extend(["--timeout".into(), "90s".into()]);
    }
    v
}

pub(crate) fn pipeline_run(svc: &Path, image: &str, extra: &[&str]) -> Output {
    let mut args: Vec<String> = ["pipeline", "run", ".", "--image", image]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(kube_args(extra));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(svc, &refs)
}

fn resume(svc: &Path, id: &str, extra: &[&str]) -> Output {
    let mut args: Vec<String> = ["pipeline", "resume", id]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(kube_args(extra));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(svc, &refs)
}

/// `pipeline status -o json` of run `id`.
fn status(svc: &Path, id: &str) -> Value {
    let o = run(svc, &["pipeline", "status", id, "-o", "json"]);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "status is not JSON ({e}): {}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        )
    })
}

fn task<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["run"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name} in {s}"))
}

fn states(s: &Value) -> Vec<(String, String, String)> {
    s["run"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_string(),
                t["state"].as_str().unwrap_or_default().to_string(),
                t["result"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn st(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

async fn deployment_image(ns: &TestNamespace) -> Option<String> {
    let deps: Api<Deployment> = Api::namespaced(cluster().client().await, ns.name());
    let d = deps.get_opt("order-api").await.expect("get deployment")?;
    d.spec.template.spec?.containers.first()?.image.clone()
}

#[tokio::test]
async fn staging_deploys_prod_waits_unauthorized_refused_approve_deploys_prod() {
    let stg = cluster().namespace("pl-stg").await;
    let prd = cluster().namespace("pl-prd").await;
    let svc = service("approve", &config(stg.name(), prd.name(), "prod"));

    let out = pipeline_run(&svc, IMAGE, &[]);
    expect_code(&out, AWAITING, "run stops at prod's gate");
    assert!(
        text(&out.stdout).contains("planton approve 1 prod"),
        "{}",
        text(&out.stdout)
    );
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "succeeded"),
            ("prod", "awaiting_approval", "-")
        ])
    );
    assert_eq!(s["run"]["state"], "awaiting_approval");
    assert_eq!(deployment_image(&stg).await.as_deref(), Some(IMAGE));
    assert_eq!(
        deployment_image(&prd).await,
        None,
        "prod is not deployed before approval"
    );
    assert!(task(&s, "staging")["revision"].as_str().is_some(), "{s}");

    // The stack job's log is the deploy's progress.
    let log = run(&svc, &["logs", "1", "staging"]);
    expect_code(&log, 0, "logs");
    let log = text(&log.stdout);
    assert!(
        log.contains("planton deploy") && log.contains("stack job succeeded"),
        "{log}"
    );

    // Someone not in approvers.prod is refused, and nothing is recorded.
    let out = run(&svc, &["approve", "1", "prod", "--as", "mallory"]);
    expect_code(&out, 1, "unauthorized approver");
    assert!(
        text(&out.stderr).contains("mallory may not approve"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        status(&svc, "1")["decisions"]
            .as_array()
            .expect("decisions")
            .is_empty()
    );
    // Staging has no gate waiting: deciding it is refused too.
    expect_code(
        &run(&svc, &["approve", "1", "staging", "--as", "alice"]),
        1,
        "no gate waiting",
    );

    let out = run(
        &svc,
        &[
            "approve",
            "1",
            "prod",
            "--as",
            "alice",
            "--comment",
            "canary is fine",
        ],
    );
    expect_code(&out, 0, "approve");
    let out = resume(&svc, "1", &[]);
    expect_code(&out, 0, "resume deploys prod");
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "succeeded"),
            ("prod", "completed", "succeeded")
        ])
    );
    assert_eq!(
        (s["run"]["state"].as_str(), s["run"]["result"].as_str()),
        (Some("completed"), Some("succeeded"))
    );
    assert_eq!(task(&s, "prod")["manualGateDecision"], "yes");
    assert_eq!(task(&s, "staging")["attempts"], 1, "staging was not redone");
    let d = &s["decisions"][0];
    assert_eq!(
        (d["by"].as_str(), d["decision"].as_str()),
        (Some("alice"), Some("yes"))
    );
    assert_eq!(d["manifestDigest"], task(&s, "prod")["manifestDigest"]);
    assert_eq!(d["comment"], "canary is fine");
    assert_eq!(deployment_image(&prd).await.as_deref(), Some(IMAGE));

    // History and the status command's pipeline section.
    let runs = run(&svc, &["runs"]);
    expect_code(&runs, 0, "runs");
    let r = text(&runs.stdout);
    assert!(
        r.contains("completed") && r.contains("staging:succeeded prod:succeeded"),
        "{r}"
    );
    let kubeconfig = cluster().kubeconfig().to_string_lossy().into_owned();
    let out = run(&svc, &["status", ".", "--kubeconfig", &kubeconfig]);
    let o = text(&out.stdout);
    assert!(o.starts_with("pipeline: run 1"), "{o}");
    assert!(o.contains("decision: prod approved by alice"), "{o}");
}

#[tokio::test]
async fn failing_staging_cancels_prod_and_fails_the_run() {
    let stg = cluster().namespace("pl-fail-s").await;
    let prd = cluster().namespace("pl-fail-p").await;
    let svc = service("fail", &config(stg.name(), prd.name(), "prod"));
    let out = pipeline_run(
        &svc,
        "planton.test/image-pull-error:1",
        &["--timeout", "20s"],
    );
    expect_code(&out, 1, "a failing staging fails the run");
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "failed"),
            ("prod", "completed", "cancelled")
        ])
    );
    assert_eq!(s["run"]["result"], "failed");
    let err = task(&s, "staging")["error"]
        .as_str()
        .expect("error")
        .to_string();
    assert!(!err.is_empty(), "{s}");
    assert!(
        task(&s, "prod")["error"]
            .as_str()
            .unwrap_or_default()
            .contains("staging"),
        "{s}"
    );
    assert_eq!(deployment_image(&prd).await, None);
    let log = text(&run(&svc, &["logs", "1", "staging"]).stdout);
    assert!(
        log.contains("ImagePullBackOff") || log.contains("ErrImagePull"),
        "{log}"
    );
}

#[tokio::test]
async fn reject_fails_the_run_and_cancels_later_tasks() {
    // Gate on staging so that a task follows the rejected one. No stack job runs before the
    // gate, so a dry run shows the same engine path without a cluster.
    let svc = service("reject", &config("stg-unused", "prd-unused", "staging"));
    let out = run(
        &svc,
        &["pipeline", "run", ".", "--image", IMAGE, "--dry-run"],
    );
    expect_code(&out, AWAITING, "staging waits");
    let out = run(
        &svc,
        &[
            "reject",
            "1",
            "staging",
            "--as",
            "alice",
            "-m",
            "wrong build",
        ],
    );
    expect_code(&out, 0, "reject");
    let out = run(&svc, &["pipeline", "resume", "1"]);
    expect_code(&out, 1, "a rejected gate fails the run");
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "failed"),
            ("prod", "completed", "cancelled")
        ])
    );
    assert_eq!(task(&s, "staging")["manualGateDecision"], "no");
    let error = task(&s, "staging")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.starts_with("rejected by alice at ") && error.ends_with(": wrong build"),
        "{s}"
    );
    assert_eq!(s["run"]["result"], "failed");
}

#[tokio::test]
async fn an_overlay_changed_after_approval_voids_it() {
    let svc = service("void", &config("s", "p", "prod"));
    let out = run(
        &svc,
        &["pipeline", "run", ".", "--image", IMAGE, "--dry-run"],
    );
    expect_code(&out, AWAITING, "prod waits");
    let before = task(&status(&svc, "1"), "prod")["manifestDigest"].clone();
    expect_code(
        &run(&svc, &["approve", "1", "prod", "--as", "alice"]),
        0,
        "approve",
    );
    // Change prod's overlay after the approval.
    let patch = svc.join("_kustomize/overlays/prod/service.yaml");
    let p = std::fs::read_to_string(&patch).expect("prod patch");
    let replaced = p.replacen("maxReplicas: 10", "maxReplicas: 12", 1);
    assert_ne!(replaced, p, "the prod patch sets maxReplicas: 10");
    std::fs::write(&patch, replaced).expect("write");
    let out = run(&svc, &["pipeline", "resume", "1"]);
    expect_code(&out, AWAITING, "the approval no longer applies");
    let err = text(&out.stderr);
    assert!(
        err.contains("overlay changed") && err.contains("no longer applies"),
        "{err}"
    );
    let s = status(&svc, "1");
    let after = task(&s, "prod")["manifestDigest"].clone();
    assert_ne!(before, after);
    assert_eq!(task(&s, "prod")["state"], "awaiting_approval");
    expect_code(
        &run(&svc, &["approve", "1", "prod", "--as", "alice"]),
        0,
        "approve again",
    );
    let out = run(&svc, &["pipeline", "resume", "1"]);
    expect_code(&out, 0, "approved for the new digest");
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "skipped"),
            ("prod", "completed", "skipped")
        ])
    );
    assert_eq!(s["decisions"][1]["manifestDigest"], after);
}

/// A task's log says once that its gate was approved, with what the approval was for: the
/// engine writes the line when the gate passes (`approve` wrote one too, so the log said it
/// twice). A dry run: the gate path is the same without a cluster.
#[test]
fn the_log_records_an_approval_once() {
    let svc = service("approval-log", &config("s", "p", "prod"));
    let out = run(
        &svc,
        &["pipeline", "run", ".", "--image", IMAGE, "--dry-run"],
    );
    expect_code(&out, AWAITING, "prod waits");
    let approve = ["approve", "1", "prod", "--as", "alice", "-m", "looks good"];
    expect_code(&run(&svc, &approve), 0, "approve");
    expect_code(&run(&svc, &["pipeline", "resume", "1"]), 0, "resume");
    let digest = task(&status(&svc, "1"), "prod")["manifestDigest"]
        .as_str()
        .expect("digest")
        .to_string();
    let log = text(&run(&svc, &["logs", "1", "prod"]).stdout);
    let approvals: Vec<&str> = log.lines().filter(|l| l.contains("approved")).collect();
    assert_eq!(approvals.len(), 1, "{log}");
    let line = approvals[0];
    assert!(
        line.starts_with("approved by alice at ")
            && line.contains(&format!(" for {digest} with image {IMAGE}"))
            && line.ends_with(": looks good"),
        "{log}"
    );
}

/// Polls `status` until `pred` holds (the runner is another process).
fn wait_for(svc: &Path, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let o = run(svc, &["pipeline", "status", id, "-o", "json"]);
        if let Ok(v) = serde_json::from_slice::<Value>(&o.stdout)
            && pred(&v)
        {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {}",
            text(&o.stdout)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn a_runner_killed_mid_run_is_resumed_without_redoing_completed_tasks() {
    let stg = cluster().namespace("pl-kill-s").await;
    let prd = cluster().namespace("pl-kill-p").await;
    let svc = service("kill", &config(stg.name(), prd.name(), ""));
    let mut args: Vec<String> = ["pipeline", "run", ".", "--image", IMAGE]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(kube_args(&[]));
    let mut child = planton_cmd(&svc, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Kill the runner (SIGKILL) while prod's stack job runs, staging being done.
    wait_for(&svc, "1", "prod running", |s| {
        task(s, "prod")["state"] == "running"
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let s = status(&svc, "1");
    assert_eq!(
        task(&s, "prod")["state"],
        "running",
        "the killed run stays as it was"
    );
    assert!(
        s["locks"].as_array().is_some_and(|l| !l.is_empty()),
        "the dead runner's locks remain: {s}"
    );
    let out = resume(&svc, "1", &[]);
    expect_code(&out, 0, "resume finishes the run");
    let err = text(&out.stderr);
    assert!(err.contains("took over the stale lock run/1"), "{err}");
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "succeeded"),
            ("prod", "completed", "succeeded")
        ])
    );
    assert_eq!(task(&s, "staging")["attempts"], 1, "staging was not redone");
    assert_eq!(task(&s, "prod")["attempts"], 2, "prod ran again");
    assert!(
        s["locks"].as_array().is_some_and(|l| l.is_empty()),
        "locks released: {s}"
    );
    let log = text(&run(&svc, &["logs", "1", "prod"]).stdout);
    assert!(log.contains("--- attempt 2"), "{log}");
    assert_eq!(deployment_image(&prd).await.as_deref(), Some(IMAGE));
}

#[tokio::test]
async fn two_runners_contend_for_one_environment() {
    let stg = cluster().namespace("pl-lock-s").await;
    let prd = cluster().namespace("pl-lock-p").await;
    let svc = service("lock", &config(stg.name(), prd.name(), "prod"));
    // The first runner's staging deploy holds the lock for its whole timeout: its image never
    // becomes ready (a kwok stage), so the others meet the lock whatever the machine's load.
    let mut args: Vec<String> = [
        "pipeline",
        "run",
        ".",
        "--image",
        "planton.test/never-ready:1",
        "--timeout",
        "30s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(kube_args(&["--timeout"]));
    let first = planton_cmd(&svc, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let s = wait_for(&svc, "1", "staging running", |s| {
        task(s, "staging")["state"] == "running"
    });
    let holder = s["locks"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["key"] == "order-api/app-staging"))
        .map(|l| l["owner"].as_str().unwrap_or_default().to_string())
        .expect("run 1 holds the staging lock");
    // A second run without --wait-lock fails at once, naming the holder.
    let out = pipeline_run(&svc, IMAGE, &[]);
    expect_code(&out, 2, "locked");
    let err = text(&out.stderr);
    assert!(
        err.contains("order-api/app-staging is locked by") && err.contains(&holder),
        "{err}"
    );
    // A third waits for the lock and then deploys staging itself; the first run failed.
    let out = pipeline_run(&svc, IMAGE, &["--wait-lock", "3m"]);
    let first = first.wait_with_output().expect("first runner");
    expect_code(&first, 1, "first run: its staging never became ready");
    expect_code(
        &out,
        AWAITING,
        "the waiting run got the lock after the first",
    );
    assert!(
        text(&out.stderr).contains("waiting for the lock order-api/app-staging"),
        "{}",
        text(&out.stderr)
    );
    let third = status(&svc, "3");
    assert_eq!(task(&third, "staging")["result"], "succeeded");
    assert_eq!(task(&status(&svc, "1"), "prod")["result"], "cancelled");
    let second = status(&svc, "2");
    assert_eq!(
        task(&second, "staging")["state"],
        "queued",
        "the refused run did not start"
    );
}

/// The in-cluster store passes the same contract as the SQLite store.
#[tokio::test]
async fn kube_store_keeps_the_store_contract() {
    let ns = cluster().namespace("pl-store").await;
    let store = KubeStore::new(cluster().client().await, ns.name());
    check_store(&store, "order-api").await;
    // Two runners (two clients) see each other's runs and contend for one lock.
    let other = KubeStore::new(cluster().client().await, ns.name());
    let run = store
        .create_run(sample_run("billing"))
        .await
        .expect("create");
    assert_eq!(other.run(&run.id).await.expect("read"), Some(run.clone()));
    // The run's ConfigMap maps each task to its generated manifest, as in the seed.
    let cm = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(
        cluster().client().await,
        ns.name(),
    )
    .get(&format!("planton-run-{}", run.id))
    .await
    .expect("run ConfigMap");
    let data = cm.data.unwrap_or_default();
    assert_eq!(data.get("staging.yaml"), Some(&run.tasks[0].manifest_yaml));
    assert!(data.contains_key("prod.yaml") && data.contains_key("run.json"));
    let lock = |owner: &str| planton_core::pipeline::Lock {
        key: "billing/app-prod".into(),
        owner: owner.into(),
        run_id: run.id.clone(),
        acquired_at: 0,
        expires_at: i64::MAX / 2,
    };
    assert_eq!(
        store.acquire_lock(&lock("a"), None).await.expect("lock"),
        LockOutcome::Acquired { took_over: None }
    );
    assert_eq!(
        other.acquire_lock(&lock("b"), None).await.expect("lock"),
        LockOutcome::Held(lock("a"))
    );
}

/// With the in-cluster store, RBAC decides who may approve: the restricted identity is refused
/// until a Role lets it `approve` the gate `gates.planton.dev/<service>.<task>`.
#[tokio::test]
async fn kube_store_lets_rbac_decide_who_may_approve() {
    let ns = cluster().namespace("pl-rbac").await;
    let admin = cluster().client().await;
    let restricted = KubeStore::new(cluster().restricted_client().await, ns.name());
    let mut run = sample_run("order-api");
    run.id = "7".into();
    let prod = run.tasks[1].clone();
    let err = restricted
        .decider("alice", &run, &prod)
        .await
        .expect_err("no RBAC grant yet")
        .to_string();
    assert!(
        err.contains(crate::cluster::RESTRICTED_USER) && err.contains("order-api.prod"),
        "{err}"
    );
    let role: Role = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "approve-order-api-prod"},
        "rules": [{"apiGroups": ["planton.dev"], "resources": ["gates"], "verbs": ["approve"],
                   "resourceNames": ["order-api.prod"]}]
    }))
    .expect("role");
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "approve-order-api-prod"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "approve-order-api-prod"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": crate::cluster::RESTRICTED_USER}]
    }))
    .expect("binding");
    Api::<Role>::namespaced(admin.clone(), ns.name())
        .create(&PostParams::default(), &role)
        .await
        .expect("create role");
    Api::<RoleBinding>::namespaced(admin, ns.name())
        .create(&PostParams::default(), &binding)
        .await
        .expect("create binding");
    // The claimed name does not matter: the API server says who it is.
    let who = restricted
        .decider("alice", &run, &prod)
        .await
        .expect("allowed now");
    assert_eq!(who, crate::cluster::RESTRICTED_USER);
    // The grant names one gate: staging stays refused.
    assert!(restricted.decider("x", &run, &run.tasks[0]).await.is_err());
}

/// `--executor kubernetes`: each stack job is a Job in the jobs namespace, run in promotion
/// order, and a failed Job fails its task and cancels the rest. On the testenv kwok completes
/// (or, for the `planton.test/exit-1` image, fails) the Job's pod: the container itself does
/// not run there, so the deploy inside it does not happen; what is checked is the
/// orchestration (the Jobs, their command, order and results).
#[tokio::test]
async fn kubernetes_jobs_executor_runs_each_stack_job_as_a_job() {
    let jobs_ns = cluster().namespace("pl-jobs").await;
    let svc = service("jobs", &config("s", "p", ""));
    let kubeconfig = cluster().kubeconfig().to_string_lossy().into_owned();
    let base = [
        "pipeline",
        "run",
        ".",
        "--image",
        IMAGE,
        "--executor",
        "kubernetes",
        "--job-namespace",
        jobs_ns.name(),
        "--kubeconfig",
        &kubeconfig,
        "--timeout",
        "60s",
    ];
    let mut ok = base.to_vec();
    ok.extend(["--job-image", "registry.k8s.io/pause:3.10"]);
    let out = run(&svc, &ok);
    expect_code(&out, 0, "both Jobs complete");
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "succeeded"),
            ("prod", "completed", "succeeded")
        ])
    );
    assert_eq!(s["run"]["executor"], "kubernetes");
    let jobs: Api<k8s_openapi::api::batch::v1::Job> =
        Api::namespaced(cluster().client().await, jobs_ns.name());
    let staging = jobs
        .get("planton-1-staging-1")
        .await
        .expect("staging's Job");
    let command = staging
        .spec
        .as_ref()
        .expect("spec")
        .template
        .spec
        .as_ref()
        .expect("pod spec")
        .containers[0]
        .command
        .clone()
        .unwrap_or_default();
    assert_eq!(
        &command[..7],
        [
            "planton",
            "deploy",
            "/workspace",
            "--env",
            "staging",
            "--image",
            IMAGE
        ]
    );
    jobs.get("planton-1-prod-1").await.expect("prod's Job");
    let log = text(&run(&svc, &["logs", "1", "staging"]).stdout);
    assert!(
        log.contains("created Job") && log.contains("completed"),
        "{log}"
    );

    let mut failing = base.to_vec();
    failing.extend(["--job-image", "planton.test/exit-1:1"]);
    let out = run(&svc, &failing);
    expect_code(&out, 1, "a failed Job fails the run");
    assert_eq!(
        states(&status(&svc, "2")),
        st(&[
            ("staging", "completed", "failed"),
            ("prod", "completed", "cancelled")
        ])
    );
    assert!(
        jobs.get_opt("planton-2-prod-1")
            .await
            .expect("get")
            .is_none(),
        "prod's Job was never created"
    );
}

/// `--dry-run` needs no cluster: the whole pipeline, gates included, with the embedded store;
/// and `--parallel` runs independent services side by side.
#[test]
fn dry_run_walks_the_whole_pipeline_and_parallel_runs_services() {
    let svc = service("dry", &config("s", "p", "prod"));
    let out = run(
        &svc,
        &["pipeline", "run", ".", "--image", IMAGE, "--dry-run"],
    );
    expect_code(&out, AWAITING, "prod waits");
    assert!(
        text(&out.stderr).contains("staging -> prod [gate]"),
        "{}",
        text(&out.stderr)
    );
    let log = text(&run(&svc, &["logs", "1", "staging"]).stdout);
    assert!(
        log.contains("dry run: would deploy MicroserviceKubernetes `order-api`"),
        "{log}"
    );
    expect_code(
        &run(&svc, &["approve", "1", "prod", "--as", "alice"]),
        0,
        "approve",
    );
    expect_code(&run(&svc, &["pipeline", "resume", "1"]), 0, "resume");
    expect_code(
        &run(&svc, &["pipeline", "resume", "1"]),
        0,
        "resuming a completed run is a no-op",
    );
    let s = status(&svc, "1");
    assert_eq!(
        states(&s),
        st(&[
            ("staging", "completed", "skipped"),
            ("prod", "completed", "skipped")
        ])
    );
    assert_eq!(s["run"]["result"], "succeeded");

    let other = service("dry-2", &config("s", "p", ""));
    let a = svc.to_string_lossy().into_owned();
    let b = other.to_string_lossy().into_owned();
    let out = run(
        &svc,
        &[
            "pipeline",
            "run",
            &a,
            &b,
            "--image",
            IMAGE,
            "--dry-run",
            "--parallel",
            "2",
        ],
    );
    expect_code(
        &out,
        AWAITING,
        "the worst outcome: one service waits at its gate",
    );
    let runs = text(&run(&other, &["runs"]).stdout);
    assert!(runs.contains("staging:skipped prod:skipped"), "{runs}");
}

/// `deploy --expect-digest` (what every stack job passes: the digest its gate was approved
/// for) refuses an overlay changed since, before anything reaches a cluster, and the digest
/// `plan` prints is exactly the one `deploy` checks. No cluster is needed: the kubeconfig
/// points at a closed port, so a deploy that passes the check stops at the connection.
#[test]
fn deploy_refuses_an_overlay_changed_since_its_digest_was_taken() {
    let svc = service("expect-digest", &config("s", "p", "prod"));
    let digest_of = |svc: &Path| -> String {
        let out = run(svc, &["plan", ".", "--output", "json"]);
        let plan: Value = serde_json::from_slice(&out.stdout).expect("plan --output json");
        plan["tasks"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["name"] == "staging"))
            .and_then(|t| t["manifestDigest"].as_str())
            .expect("staging's digest")
            .to_string()
    };
    let nowhere = svc.join("nowhere.kubeconfig");
    std::fs::write(
        &nowhere,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: s}\ncurrent-context: x\n",
    )
    .expect("write kubeconfig");
    let deploy = |digest: &str| {
        run(
            &svc,
            &[
                "deploy",
                ".",
                "--env",
                "staging",
                "--image",
                IMAGE,
                "--expect-digest",
                digest,
                "--kubeconfig",
                nowhere.to_str().expect("utf-8 path"),
                "--timeout",
                "5s",
            ],
        )
    };
    let approved = digest_of(&svc);
    let out = deploy(&approved);
    assert!(
        !text(&out.stderr).contains("--expect-digest"),
        "the plan's digest passes the check: {}",
        text(&out.stderr)
    );
    expect_code(&out, 2, "then the deploy cannot reach the closed port");

    let patch = svc.join("_kustomize/overlays/staging/service.yaml");
    let changed = std::fs::read_to_string(&patch)
        .expect("read patch")
        .replace("LOG_LEVEL: debug", "LOG_LEVEL: trace");
    std::fs::write(&patch, changed).expect("write patch");
    let out = deploy(&approved);
    expect_code(&out, 1, "a changed overlay is refused");
    let err = text(&out.stderr);
    assert!(
        err.contains("overlay `staging` changed")
            && err.contains(&approved)
            && err.contains("nothing deployed"),
        "{err}"
    );
    assert_ne!(digest_of(&svc), approved, "the change shows in the plan");
}

/// The CI examples parse as YAML and every `planton` command they call exists with the flags
/// they pass (checked against the binary's own argument parser through `--help`).
#[test]
fn ci_examples_call_real_commands() {
    for file in [
        "examples/ci/github-actions.yaml",
        "examples/ci/tekton-task.yaml",
    ] {
        let text = std::fs::read_to_string(workspace().join(file)).expect("read example");
        planton_core::yaml::parse_stream(&text, file).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let mut seen = 0;
        for line in text.lines() {
            if line.trim_start().starts_with('#') || line.contains("cargo install") {
                continue;
            }
            let Some(at) = line.find("planton ") else {
                continue;
            };
            let words: Vec<&str> = line[at + "planton ".len()..].split_whitespace().collect();
            let Some(first) = words.first() else { continue };
            if !first.chars().all(|c| c.is_ascii_lowercase() || c == '-') || first.contains("--") {
                continue;
            }
            // `planton pipeline run`: a subcommand of a subcommand.
            let cmd: Vec<&str> = if *first == "pipeline" {
                words.iter().take(2).copied().collect()
            } else {
                vec![*first]
            };
            let mut args = cmd.clone();
            args.push("--help");
            let out = crate::util::run(&args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file}: `planton {}` does not exist",
                cmd.join(" ")
            );
            let help = text_of(&out.stdout);
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                assert!(
                    help.contains(*flag),
                    "{file}: `planton {}` has no {flag}",
                    cmd.join(" ")
                );
            }
            seen += 1;
        }
        assert!(
            seen >= 4,
            "{file}: expected several planton commands, saw {seen}"
        );
    }
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `gateExpiry`: a gate nobody decided in time fails its task and the run.
#[test]
fn a_gate_nobody_decides_in_time_expires() {
    let svc = service(
        "expiry",
        &format!("{}gateExpiry: 1s\n", config("s", "p", "prod")),
    );
    let out = run(
        &svc,
        &["pipeline", "run", ".", "--image", IMAGE, "--dry-run"],
    );
    expect_code(&out, AWAITING, "prod waits");
    let expires = task(&status(&svc, "1"), "prod")["gateExpiresAt"].as_i64();
    assert!(expires.is_some(), "the pending gate has an expiry");
    std::thread::sleep(Duration::from_millis(1500));
    let out = run(&svc, &["pipeline", "resume", "1"]);
    expect_code(&out, 1, "an expired gate fails the run");
    let s = status(&svc, "1");
    assert_eq!(task(&s, "prod")["result"], "failed");
    assert!(
        task(&s, "prod")["error"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{s}"
    );
    // An approval after expiry is refused: the task no longer waits.
    expect_code(
        &run(&svc, &["approve", "1", "prod", "--as", "alice"]),
        1,
        "too late",
    );
}
