//! `planton deploy|diff|status|rollback` for an `AwsEcsService` end to end: the real `planton`
//! binary deploys a copy of `examples/checkout-ecs` (prod) to a moto server started per test
//! on a free loopback port, reached over HTTP by the AWS SDK exactly as AWS would be
//! (`AWS_ENDPOINT_URL`, static credentials from the environment). The tests read AWS back
//! with boto3 (`tests/fixtures/ecs/dump.py`).
//!
//! What moto cannot show: it never progresses a deployment. A new service gets one PRIMARY
//! deployment that is COMPLETED when `MOTO_ECS_SERVICE_RUNNING` covers the desired count, but
//! `UpdateService` adds no deployment, so a deploy that changes the task definition waits in
//! vain and times out (tested as such here; the driver's own tests script the describe calls
//! for successful and failed rollouts). A rollback to the task definition moto's PRIMARY
//! deployment still names looks complete, which is what the rollback test relies on.

use crate::util::{copy_dir, expect_code, json_out, planton, temp_dir, text, workspace};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A secret value that must reach Secrets Manager and nothing else.
const CANARY: &str = "canary-ecs-5ecret-value-7c41";
/// The prod overlay's replicas: moto reports this many running tasks.
const RUNNING: &str = "4";
const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/shared";

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A moto server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_ECS_SERVICE_RUNNING", RUNNING)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (scripts/setup-python.sh installs moto[server])");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Creates the VPC, cluster `shared` and the load balancer with a listener on 443;
    /// returns what it made (`albArn`, `subnets`, `securityGroup`).
    fn fixture(&self) -> Value {
        let out = Command::new(python())
            .arg(workspace().join("runner/deploy-ecs/tests/moto_fixture.py"))
            .args([&self.endpoint, "shared", "443"])
            .output()
            .expect("run moto_fixture.py");
        assert!(out.status.success(), "fixture: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("fixture JSON");
        assert_eq!(v["clusterArn"], CLUSTER);
        v
    }

    /// What the deploys left in AWS.
    fn dump(&self) -> Value {
        let out = Command::new(python())
            .arg(workspace().join("tests/fixtures/ecs/dump.py"))
            .args([&self.endpoint, CLUSTER, "checkout", "checkout"])
            .output()
            .expect("run dump.py");
        assert!(out.status.success(), "dump: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("dump JSON")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces `from` by `to` in the file `path` under `root`.
fn edit(root: &Path, path: &str, from: &str, to: &str) {
    let file = root.join(path);
    let yaml = std::fs::read_to_string(&file).expect("read");
    assert!(yaml.contains(from), "{path} lacks {from:?}");
    std::fs::write(&file, yaml.replace(from, to)).expect("write");
}

/// A copy of the example whose load balancer, subnets and security group are those of the
/// moto `fixture` (moto checks that they exist), with a groups directory holding the canary.
fn service(name: &str, fixture: Option<&Value>) -> PathBuf {
    let root = temp_dir(&format!("deploy-ecs-{name}")).join("checkout-ecs");
    copy_dir(&workspace().join("examples/checkout-ecs"), &root);
    if let Some(fx) = fixture {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let base = "_kustomize/base/service.yaml";
        edit(
            &root,
            base,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/abc",
            &s(&fx["albArn"]),
        );
        edit(&root, base, "sg-0001", &s(&fx["securityGroup"]));
        let subnets: String = fx["subnets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| format!("      - {}\n", s(n)))
            .collect();
        edit(
            &root,
            "_kustomize/overlays/prod/service.yaml",
            "      - subnet-p01\n      - subnet-p02\n      - subnet-p03\n",
            &subnets,
        );
    }
    std::fs::create_dir_all(root.join("groups")).expect("mkdir groups");
    std::fs::write(
        root.join("groups/checkout-db.yaml"),
        format!(
            "apiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: checkout-db\nspec:\n  entries:\n    - name: password\n      value: \"{CANARY}\"\n"
        ),
    )
    .expect("write group");
    root
}

/// planton against moto: static keys from the environment, no profile files.
fn command(moto: &Moto, args: &[&str]) -> Command {
    let mut cmd = Command::new(planton());
    cmd.args(args);
    aws_env(&mut cmd, moto);
    cmd
}

/// The environment of a planton process that reaches moto as AWS.
fn aws_env(cmd: &mut Command, moto: &Moto) {
    cmd.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent/planton-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/planton-test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::null());
}

/// Runs planton against moto, and checks that the canary is in neither stream.
fn run(moto: &Moto, args: &[&str]) -> Output {
    let out = command(moto, args).output().expect("run planton");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(CANARY),
        "the secret value leaked into the output of {args:?}:\n{all}"
    );
    out
}

fn actions(v: &Value) -> Vec<(String, String)> {
    v["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["object"].as_str().unwrap_or_default().to_string(),
                o["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The canary is stored in Secrets Manager and appears nowhere else moto keeps.
fn assert_secret_only_in_the_store(moto: &Moto) -> Value {
    let dump = moto.dump();
    assert_eq!(
        dump["secrets"]["planton/checkout-db/password"], CANARY,
        "the secret value is stored: {dump}"
    );
    let mut rest = dump.clone();
    rest["secrets"] = Value::Null;
    assert!(
        !rest.to_string().contains(CANARY),
        "the secret value is outside Secrets Manager: {rest}"
    );
    dump
}

#[test]
fn deploy_diff_status_and_rollback_of_the_ecs_example() {
    let moto = Moto::start();
    let prod = |root: &Path| root.join("_kustomize/overlays/prod").display().to_string();

    // Before the cluster exists: exit 2, nothing written.
    let early = service("early", None);
    let o = run(&moto, &["deploy", &prod(&early), "-o", "json"]);
    expect_code(&o, 2, "deploy to a missing cluster");
    let v = json_out(&o);
    assert_eq!(v["result"], "error");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("ECS cluster") && e.contains("was not found")),
        "{v}"
    );

    let fx = moto.fixture();
    let svc = service("main", Some(&fx));
    let overlay = prod(&svc);

    // First deploy: everything created, the rollout seen complete.
    let o = run(
        &moto,
        &["deploy", &overlay, "-o", "json", "--timeout", "60s"],
    );
    expect_code(&o, 0, "first deploy");
    let v = json_out(&o);
    assert_eq!(v["result"], "succeeded");
    assert_eq!(v["revision"], 1);
    assert_eq!(v["changed"], true);
    let acts = actions(&v);
    for (resource, action) in [
        ("log group /ecs/checkout", "create"),
        ("service checkout", "create"),
    ] {
        assert!(
            acts.iter().any(|(r, a)| r == resource && a == action),
            "{resource} {action} in {acts:?}"
        );
    }
    assert!(
        acts.iter()
            .any(|(r, a)| r.starts_with("task definition checkout") && a == "create"),
        "{acts:?}"
    );
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("deploying checkout/prod to ECS cluster"),
        "progress on stderr: {stderr}"
    );
    let dump = assert_secret_only_in_the_store(&moto);
    let td = &dump["taskDefinitions"][0];
    assert_eq!(dump["taskDefinitions"].as_array().map(Vec::len), Some(1));
    let secret_from = td["containerDefinitions"][0]["secrets"][0]["valueFrom"]
        .as_str()
        .unwrap_or_default();
    assert!(
        secret_from.contains(":secretsmanager:")
            && secret_from.contains("planton/checkout-db/password"),
        "{td}"
    );
    assert_eq!(
        td["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:1.4.2"
    );

    // The same deploy again: nothing changes, no revision, exit 0.
    let o = run(&moto, &["deploy", &overlay, "-o", "json"]);
    expect_code(&o, 0, "no-change deploy");
    let v = json_out(&o);
    assert_eq!(v["changed"], false);
    assert_eq!(v["revision"], Value::Null);
    assert!(actions(&v).iter().all(|(_, a)| a == "unchanged"), "{v}");
    assert_eq!(
        moto.dump()["taskDefinitions"].as_array().map(Vec::len),
        Some(1),
        "no new task definition revision"
    );

    // diff: 0 without changes, 1 with a new image (named field by field), text and JSON.
    let o = run(&moto, &["diff", &overlay, "-o", "json"]);
    expect_code(&o, 0, "diff without changes");
    assert_eq!(json_out(&o)["changes"], false);
    let image_b = "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:1.4.3";
    let o = run(&moto, &["diff", &overlay, "--image", image_b]);
    expect_code(&o, 1, "diff with a new image");
    let out = text(&o.stdout);
    assert!(out.contains("~ task definition checkout"), "{out}");
    assert!(out.contains("checkout:1.4.3"), "{out}");

    // status: the live service with 4/4 running and revision 1.
    let o = run(&moto, &["status", &overlay, "-o", "json"]);
    expect_code(&o, 0, "status");
    let v = json_out(&o);
    assert_eq!(v[0]["task"], "prod");
    assert_eq!(v[0]["healthy"], true, "{v}");
    assert_eq!(v[0]["live"]["running"], 4);
    assert_eq!(v[0]["live"]["desired"], 4);
    assert_eq!(v[0]["revisions"][0]["revision"], 1);
    assert_eq!(v[0]["revisions"][0]["result"], "succeeded");
    let o = run(&moto, &["status", &overlay]);
    expect_code(&o, 0, "status text");
    assert!(
        text(&o.stdout).contains("(4/4 running)"),
        "{}",
        text(&o.stdout)
    );

    // An image change registers checkout:2 and updates the service; moto never starts
    // the new deployment, so the wait times out: exit 1, revision 2 recorded as failed.
    let o = run(
        &moto,
        &[
            "deploy",
            &overlay,
            "--image",
            image_b,
            "--timeout",
            "2s",
            "-o",
            "json",
        ],
    );
    expect_code(&o, 1, "deploy that moto never rolls out");
    let v = json_out(&o);
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("timed out")),
        "{v}"
    );
    let dump = moto.dump();
    assert_eq!(dump["taskDefinitions"].as_array().map(Vec::len), Some(2));
    assert!(
        dump["service"]["taskDefinition"]
            .as_str()
            .is_some_and(|t| t.ends_with("checkout:2")),
        "{}",
        dump["service"]
    );
    let o = run(&moto, &["status", &overlay, "-o", "json"]);
    expect_code(&o, 1, "status after a failed deploy");
    assert_eq!(json_out(&o)[0]["revisions"][0]["result"], "failed");

    // Rollback: back to checkout:1, recorded as revision 3.
    let o = run(
        &moto,
        &["rollback", &overlay, "-o", "json", "--timeout", "60s"],
    );
    expect_code(&o, 0, "rollback");
    let v = json_out(&o);
    assert_eq!(v["revision"], 3);
    assert_eq!(v["changed"], true, "{v}");
    assert!(
        v["taskDefinition"]
            .as_str()
            .is_some_and(|t| t.ends_with("checkout:1")),
        "{v}"
    );
    assert!(
        moto.dump()["service"]["taskDefinition"]
            .as_str()
            .is_some_and(|t| t.ends_with("checkout:1"))
    );
    let o = run(&moto, &["status", &overlay, "-o", "json"]);
    expect_code(&o, 0, "status after the rollback");
    let v = json_out(&o);
    assert_eq!(v[0]["revisions"][0]["revision"], 3);
    assert!(
        v[0]["revisions"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("rollback to revision 1")),
        "{v}"
    );
    assert_secret_only_in_the_store(&moto);
}

#[test]
fn secrets_can_go_to_ssm_secure_strings() {
    let moto = Moto::start();
    let fx = moto.fixture();
    let svc = service("ssm", Some(&fx));
    let overlay = svc.join("_kustomize/overlays/prod").display().to_string();
    let o = run(
        &moto,
        &["deploy", &overlay, "--secret-store", "ssm", "-o", "json"],
    );
    expect_code(&o, 0, "deploy with secrets in SSM");
    let dump = moto.dump();
    assert_eq!(
        dump["parameters"]["/planton/checkout-db/password"], CANARY,
        "{dump}"
    );
    assert_eq!(
        dump["secrets"],
        serde_json::json!({}),
        "nothing in Secrets Manager"
    );
    let from = dump["taskDefinitions"][0]["containerDefinitions"][0]["secrets"][0]["valueFrom"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        from.contains(":ssm:") && from.ends_with("parameter/planton/checkout-db/password"),
        "{from}"
    );
    let mut rest = dump.clone();
    rest["parameters"]["/planton/checkout-db/password"] = Value::Null;
    assert!(
        !rest.to_string().contains(CANARY),
        "the secret value is outside its parameter: {rest}"
    );
}

/// Two deploys of the same ECS service at once: the second is refused with exit 2 naming the
/// holder (its `user@host:pid`) and since when, as the Kubernetes Lease refusal; Ctrl-C on the
/// first releases the lock (exit 130), so the next deploy takes it at once.
///
/// moto keeps the first deploy busy: it never rolls out an updated service, so a deploy with
/// a new image waits for its rollout until interrupted.
#[test]
fn a_concurrent_deploy_is_refused_and_ctrl_c_releases_the_lock() {
    use std::io::{BufRead, BufReader};
    let moto = Moto::start();
    let fx = moto.fixture();
    let svc = service("lock", Some(&fx));
    let overlay = svc.join("_kustomize/overlays/prod").display().to_string();
    expect_code(&run(&moto, &["deploy", &overlay]), 0, "first deploy");

    let image = |tag: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:{tag}");
    let (image_a, image_b) = (image("2.0.0"), image("3.0.0"));
    let mut a = command(
        &moto,
        &["deploy", &overlay, "--image", &image_a, "--timeout", "5m"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start deploy A");
    let pid_a = a.id();
    let stderr_a = a.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr_a).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("waiting for service"))
    {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => seen.push(l),
            Err(e) => panic!("deploy A never waited ({e}): {seen:?}"),
        }
    }

    let o = run(
        &moto,
        &[
            "deploy",
            &overlay,
            "--image",
            &image_b,
            "--lock-wait",
            "0s",
            "-o",
            "json",
        ],
    );
    expect_code(&o, 2, "a deploy while another holds the lock");
    let error = json_out(&o)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("another deploy of ECS service checkout is running")
            && error.contains(&format!(":{pid_a}` (environment prod) since 20")),
        "{error}"
    );

    // Ctrl-C on A: it releases the lock and exits 130.
    let kill = Command::new("kill")
        .args(["-INT", &pid_a.to_string()])
        .status()
        .expect("kill -INT");
    assert!(kill.success());
    let status = a.wait().expect("wait for A");
    seen.extend(rx.iter());
    assert_eq!(status.code(), Some(130), "{seen:?}");
    assert!(seen.iter().any(|l| l.contains("interrupted")), "{seen:?}");

    // The lock is free: B takes it at once (and then waits in vain for moto, timing out).
    let o = run(
        &moto,
        &[
            "deploy",
            &overlay,
            "--image",
            &image_b,
            "--lock-wait",
            "0s",
            "--timeout",
            "2s",
            "-o",
            "json",
        ],
    );
    expect_code(&o, 1, "the deploy after A was interrupted");
    let error = json_out(&o)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("timed out"), "{error}");
}

/// Two overlays that deploy one ECS service are refused by `validate` (and with it by
/// `deploy`), each at the overlay value that names the service; the example itself is valid.
#[test]
fn two_overlays_deploying_one_ecs_service_are_refused_at_their_values() {
    let svc = service("duplicate", None);
    let root = svc.display().to_string();
    let validate = |root: &str| {
        Command::new(planton())
            .args(["validate", root])
            .output()
            .expect("run planton validate")
    };
    let o = validate(&root);
    expect_code(&o, 0, "the example validates");

    // Staging back on prod's service: the same service in the same cluster.
    edit(
        &svc,
        "_kustomize/overlays/staging/service.yaml",
        "  ecsServiceName: checkout-staging\n",
        "",
    );
    let o = validate(&root);
    expect_code(&o, 1, "one ECS service from two overlays");
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    for (overlay, other) in [("staging", "prod"), ("prod", "staging")] {
        let want = format!(
            "_kustomize/overlays/{overlay}/service.yaml:4:9: error[plan-duplicate-target]: overlays `{overlay}` and `{other}` would both deploy ECS service `checkout` in cluster `{CLUSTER}`"
        );
        assert!(out.contains(&want), "{want}\nin:\n{out}");
    }
    let o = command_free_deploy(&svc);
    expect_code(&o, 1, "deploy refuses an invalid service");
    let err = text(&o.stderr);
    assert!(
        err.contains("_kustomize/overlays/prod/service.yaml:4:9: error[plan-duplicate-target]")
            && err.contains("deploys what another overlay deploys: nothing deployed"),
        "{err}"
    );

    // Another cluster of the same account and region still shares the task definition
    // family and log group.
    edit(
        &svc,
        "_kustomize/overlays/staging/service.yaml",
        "spec:\n",
        "spec:\n  clusterArn: arn:aws:ecs:us-east-1:123456789012:cluster/staging\n",
    );
    let o = validate(&root);
    expect_code(&o, 1, "one task definition family from two overlays");
    let out = text(&o.stdout);
    assert!(
        out.contains("would both deploy the task definition family and log group `/ecs/checkout`"),
        "{out}"
    );

    // Another account: nothing shared.
    edit(
        &svc,
        "_kustomize/overlays/staging/service.yaml",
        ":123456789012:cluster/staging",
        ":210987654321:cluster/staging",
    );
    expect_code(&validate(&root), 0, "another account");
}

/// A deploy that must stop before AWS: no endpoint, no credentials are needed.
fn command_free_deploy(svc: &Path) -> Output {
    Command::new(planton())
        .args([
            "deploy",
            &svc.join("_kustomize/overlays/prod").display().to_string(),
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .expect("run planton deploy")
}

/// `environments.<overlay>.profile` in `planton.yaml` picks the AWS profile of an ECS
/// deploy: with keys only in that profile of the shared credentials file, the deploy gets
/// them; a profile the file lacks fails before any change (exit 2).
#[test]
fn the_planton_yaml_profile_of_an_environment_is_the_aws_profile() {
    let moto = Moto::start();
    let fx = moto.fixture();
    let svc = service("profile", Some(&fx));
    let overlay = svc.join("_kustomize/overlays/prod").display().to_string();
    let creds = svc.join("aws-credentials");
    std::fs::write(
        &creds,
        "[ecs-prod]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .expect("write credentials");
    let deploy = || {
        command(&moto, &["deploy", &overlay, "-o", "json"])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .output()
            .expect("run planton")
    };
    let config = svc.join("planton.yaml");
    std::fs::write(&config, "environments:\n  prod: {profile: ecs-nobody}\n").expect("write");
    let o = deploy();
    expect_code(&o, 2, "a profile without credentials");
    assert!(
        json_out(&o)["error"]
            .as_str()
            .is_some_and(|e| e.contains("credentials")),
        "{}",
        text(&o.stdout)
    );
    std::fs::write(&config, "environments:\n  prod: {profile: ecs-prod}\n").expect("write");
    let o = deploy();
    expect_code(&o, 0, "the environment's profile");
    assert_eq!(json_out(&o)["revision"], 1);
}

/// `planton serve` shows an ECS environment's live health, judged from what `planton status`
/// reads, and agrees with it: before the first deploy (nothing deployed), after it (the
/// service and the newest revision's task definition `Current`, ready), and after the service
/// is deleted outside planton (not found, not ready; `status` exits 1 too). The endpoint finds
/// environments through the service's newest run, which a dry-run pipeline run records.
/// What moto cannot show: a rollout in progress or failed (moto settles every new service at
/// once and never adds a deployment); the driver's unit tests judge those service views.
#[tokio::test]
async fn serve_shows_the_live_health_of_an_ecs_environment() {
    let moto = Moto::start();
    let fx = moto.fixture();
    let svc = service("health", Some(&fx));
    let prod = svc.join("_kustomize/overlays/prod").display().to_string();
    let dry = command(
        &moto,
        &[
            "pipeline",
            "run",
            ".",
            "--image",
            "shop/checkout:2",
            "--dry-run",
        ],
    )
    .current_dir(&svc)
    .output()
    .expect("pipeline run");
    assert!(
        matches!(dry.status.code(), Some(0 | 3)),
        "dry run: {}",
        text(&dry.stderr)
    );
    let server = crate::serve::serve_with(&svc, "ops", &[], |c| aws_env(c, &moto));
    let url = "/api/services/checkout/environments/prod/health";
    let status = || {
        let o = run(&moto, &["status", &prod, "-o", "json"]);
        (o.status.code(), json_out(&o)[0].clone())
    };

    let (code, before) = crate::serve::call(&server, "GET", url, None).await;
    assert_eq!(code, 200, "{before}");
    assert_eq!(before["ready"], false, "{before}");
    assert_eq!(before["ecs"]["cluster"], CLUSTER);
    assert_eq!(before["ecs"]["service"], "checkout");
    assert_eq!(before["ecs"]["region"], "us-east-1");
    assert_eq!(before["health"]["objects"], serde_json::json!([]));
    assert!(before["health"]["revision"].is_null(), "{before}");

    let o = run(&moto, &["deploy", &prod, "-o", "json", "--timeout", "60s"]);
    expect_code(&o, 0, "deploy prod");
    // Past the endpoint's cache time to live.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (code, live) = crate::serve::call(&server, "GET", url, None).await;
    assert_eq!(code, 200, "{live}");
    let (exit, st) = status();
    assert_eq!(
        (exit, &st["healthy"]),
        (Some(0), &Value::Bool(true)),
        "{st}"
    );
    assert_eq!(live["ready"], true, "{live}");
    assert_eq!(
        live["health"]["revision"]["revision"],
        st["revisions"][0]["revision"]
    );
    assert_eq!(
        live["health"]["revision"]["image"],
        st["revisions"][0]["image"]
    );
    assert_eq!(live["health"]["revision"]["result"], "succeeded");
    let objects: Vec<(String, String)> = live["health"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (s(&o["object"]), s(&o["health"]["status"]))
        })
        .collect();
    let td = st["taskDefinition"].as_str().expect("taskDefinition");
    let td = td.rsplit('/').next().unwrap_or(td);
    assert_eq!(
        objects,
        [
            (
                "ECS service shared/checkout".to_string(),
                "Current".to_string()
            ),
            (format!("TaskDefinition {td}"), "Current".to_string()),
        ]
    );

    // Deleted outside planton: the endpoint and status both say so.
    let del = Command::new(python())
        .args([
            "-c",
            "import boto3,sys; boto3.client('ecs', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').delete_service(cluster=sys.argv[2], service='checkout', force=True)",
            &moto.endpoint,
            CLUSTER,
        ])
        .output()
        .expect("delete the service");
    assert!(del.status.success(), "{}", text(&del.stderr));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (code, gone) = crate::serve::call(&server, "GET", url, None).await;
    assert_eq!(code, 200, "{gone}");
    assert_eq!(gone["ready"], false, "{gone}");
    assert_eq!(
        gone["health"]["objects"][0]["health"]["status"], "NotFound",
        "{gone}"
    );
    let (exit, st) = status();
    assert_eq!(
        (exit, &st["healthy"]),
        (Some(1), &Value::Bool(false)),
        "{st}"
    );
}
