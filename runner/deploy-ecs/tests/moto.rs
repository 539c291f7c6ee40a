//! ECS deploys against a moto server (started and stopped per test on a free loopback port),
//! reached over HTTP by the real AWS SDK through a recording, fault-injecting proxy: the same
//! code path as against AWS. Every request the driver sends is checked against botocore's
//! service models.
//!
//! What moto cannot show, and how it is covered: moto never progresses a deployment (its
//! `UpdateService` adds no deployment, and `runningCount` is the fixed
//! `MOTO_ECS_SERVICE_RUNNING`), so rollouts after an update, circuit-breaker failures and
//! rollbacks are tested with a scripted stand-in for the describe calls only
//! ([`Scripted`]); everything else in those tests still runs against moto.

mod support;

use planton_core::refs::SecretValue;
use planton_deploy_ecs::state::RevisionResult;
use planton_deploy_ecs::wait::{DeploymentView, RolloutObserver, ServiceView};
use planton_deploy_ecs::{
    Change, Clients, DeployReport, DeployRequest, Error, SecretStore, WaitOptions,
};
use planton_plugin_sdk::{DeployContext, RenderRequest};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;
use support::{Fixture, Moto, Proxy};

/// `MOTO_ECS_SERVICE_RUNNING`: the running count moto reports for every service.
const RUNNING: &str = "2";

fn manifest(fx: &Fixture, name: &str, tag: &str, max_tasks: i64) -> Value {
    json!({
        "apiVersion": "aws.project-planton.org/v1",
        "kind": "AwsEcsService",
        "metadata": { "name": name, "env": "prod" },
        "spec": {
            "clusterArn": fx.cluster_arn,
            "container": {
                "image": { "repo": "ghcr.io/acme/checkout", "tag": tag },
                "port": 8080, "cpu": 256, "memory": 512, "replicas": 2,
                "env": {
                    "variables": { "MODE": "prod" },
                    "secrets": { "DB_PASSWORD": "$secrets-group/payments/db-password" }
                }
            },
            "network": { "subnets": fx.subnets, "securityGroups": [fx.security_group] },
            "alb": {
                "enabled": true, "arn": fx.alb_arn, "path": "/checkout",
                "healthCheck": { "path": "/healthz", "interval": 15 }
            },
            "autoscaling": { "enabled": true, "minTasks": 2, "maxTasks": max_tasks, "targetCpuPercent": 60 }
        }
    })
}

fn render(manifest: &Value) -> Vec<Value> {
    let ops = planton_plugin_ecs::render::operations(&RenderRequest {
        manifest: manifest.clone(),
        context: DeployContext::default(),
    })
    .expect("the plugin renders");
    ops.iter()
        .map(|o| serde_json::to_value(o).expect("json"))
        .collect()
}

fn secrets(value: &str) -> BTreeMap<(String, String), SecretValue> {
    BTreeMap::from([(
        ("payments".to_string(), "db-password".to_string()),
        SecretValue::new(value),
    )])
}

struct Env {
    // Field order: the proxy and clients go before moto is killed.
    proxy: Proxy,
    clients: Clients,
    fx: Fixture,
    _moto: Moto,
}

async fn env(cluster: &str) -> Env {
    let moto = Moto::start(&[("MOTO_ECS_SERVICE_RUNNING", RUNNING)]);
    let fx = support::fixture(&moto, cluster);
    let proxy = Proxy::start(moto.port()).await;
    let clients = support::clients(&proxy.endpoint).await;
    Env {
        proxy,
        clients,
        fx,
        _moto: moto,
    }
}

/// Progress lines, kept for the secret check.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl Lines {
    fn push(&self, l: &str) {
        self.0.lock().expect("lines").push(l.to_string());
    }
    fn all(&self) -> String {
        self.0.lock().expect("lines").join("\n")
    }
}

async fn deploy(
    e: &Env,
    ops: &[Value],
    secret: &str,
    wait: Option<WaitOptions>,
    lines: &Lines,
) -> Result<DeployReport, Error> {
    let secrets = secrets(secret);
    let req = DeployRequest {
        operations: ops,
        secrets: &secrets,
        environment: "prod",
        manifest: "kind: AwsEcsService # references only\n",
        actor: "ci@example",
        secret_store: SecretStore::SecretsManager,
        wait,
        lock: test_lock(),
    };
    planton_deploy_ecs::deploy(&e.clients, &req, &|l| lines.push(l)).await
}

/// The generations of a service's deploy lock: (parameter, record), oldest first.
async fn lock_generations(
    e: &Env,
    service: &str,
) -> Vec<(String, planton_deploy_ecs::lock::LockRecord)> {
    let path = planton_deploy_ecs::lock::lock_path(
        e.fx.cluster_arn.rsplit('/').next().unwrap_or_default(),
        service,
    );
    let out = e
        .clients
        .ssm
        .get_parameters_by_path()
        .path(&path)
        .send()
        .await
        .expect("list the lock");
    let mut gens: Vec<_> = out
        .parameters()
        .iter()
        .map(|p| {
            (
                p.name().unwrap_or_default().to_string(),
                serde_json::from_str(p.value().unwrap_or_default()).expect("a lock record"),
            )
        })
        .collect();
    gens.sort_by(|a: &(String, _), b| a.0.cmp(&b.0));
    gens
}

/// The deploy lock of a test run: a short TTL and no waiting.
fn test_lock() -> planton_deploy_ecs::LockOptions {
    planton_deploy_ecs::LockOptions {
        holder: "ci@example:1".to_string(),
        ttl: Duration::from_secs(3),
        wait: Duration::ZERO,
        poll: Duration::from_millis(100),
    }
}

fn quick_wait() -> Option<WaitOptions> {
    Some(WaitOptions {
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(100),
    })
}

async fn revisions(e: &Env, family: &str) -> Vec<String> {
    e.clients
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .send()
        .await
        .expect("list task definitions")
        .task_definition_arns()
        .to_vec()
}

async fn live_service(e: &Env, name: &str) -> aws_sdk_ecs::types::Service {
    e.clients
        .ecs
        .describe_services()
        .cluster(&e.fx.cluster_arn)
        .services(name)
        .send()
        .await
        .expect("describe services")
        .services()
        .first()
        .cloned()
        .expect("the service exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_deploy_creates_everything_and_a_second_changes_nothing() {
    let e = env("first").await;
    let lines = Lines::default();
    let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    let report = deploy(&e, &ops, "pw-1", quick_wait(), &lines)
        .await
        .expect("first deploy");
    assert!(
        report.actions.iter().all(|a| a.change == Change::Created),
        "{:#?}",
        report.actions
    );
    assert_eq!(report.revision, Some(1));

    // What moto now holds.
    let svc = live_service(&e, "checkout").await;
    assert_eq!(
        svc.task_definition(),
        Some(report.task_definition_arn.as_str())
    );
    assert!(
        report
            .task_definition_arn
            .ends_with("task-definition/checkout:1")
    );
    assert_eq!(svc.desired_count(), 2);
    assert_eq!(svc.load_balancers().len(), 1);
    let groups = e
        .clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/ecs/checkout")
        .send()
        .await
        .expect("log groups");
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));
    let tg = e
        .clients
        .elb
        .describe_target_groups()
        .names("checkout")
        .send()
        .await
        .expect("target group");
    assert_eq!(tg.target_groups()[0].health_check_path(), Some("/healthz"));
    let targets = e
        .clients
        .scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("scalable targets");
    let t = &targets.scalable_targets()[0];
    assert_eq!(
        (t.resource_id(), t.min_capacity(), t.max_capacity()),
        ("service/first/checkout", 2, 4)
    );
    let policies = e
        .clients
        .scaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("policies");
    let p = &policies.scaling_policies()[0];
    assert_eq!(p.policy_name(), "checkout-cpu");
    assert_eq!(
        p.target_tracking_scaling_policy_configuration()
            .map(|c| c.target_value()),
        Some(60.0)
    );
    let state = planton_deploy_ecs::load_state(&e.clients, &e.fx.cluster_arn, "checkout", "prod")
        .await
        .expect("read state")
        .expect("state stored");
    assert_eq!(state.revisions.len(), 1);
    assert_eq!(state.revisions[0].result, RevisionResult::Succeeded);
    assert_eq!(state.revisions[0].image, "ghcr.io/acme/checkout:1.0.0");
    assert_eq!(state.revisions[0].actor, "ci@example");
    let first_requests = e.proxy.requests();

    // The same deploy again: nothing is written, not even the state.
    e.proxy.clear();
    let again = deploy(&e, &ops, "pw-1", quick_wait(), &lines)
        .await
        .expect("second deploy");
    assert!(again.unchanged(), "{:#?}", again.actions);
    assert_eq!(again.revision, None);
    assert_eq!(revisions(&e, "checkout").await.len(), 1);
    let writes: Vec<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.is_write() && !r.is_lock())
        .map(|r| r.operation())
        .collect();
    assert!(writes.is_empty(), "an unchanged deploy wrote: {writes:?}");
    // Nor does it touch the deploy lock: the lock is taken before the first write only.
    assert!(
        e.proxy.requests().iter().all(|r| !r.is_lock()),
        "an unchanged deploy took the lock"
    );
    // The first deploy took it, and released it: one generation, marked released.
    let lock = lock_generations(&e, "checkout").await;
    assert_eq!(lock.len(), 1, "{lock:?}");
    assert!(lock[0].1.released, "{lock:?}");
    assert_eq!(lock[0].1.holder, "ci@example:1");

    let mut all = first_requests;
    all.extend(e.proxy.requests());
    support::check_with_botocore(&all, "first-and-second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_change_registers_a_revision_and_updates_the_service_and_scaling() {
    let e = env("image").await;
    let lines = Lines::default();
    deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.0.0", 4)),
        "pw",
        quick_wait(),
        &lines,
    )
    .await
    .expect("first deploy");
    e.proxy.clear();
    // moto adds no deployment on UpdateService, so this deploy does not wait (see the
    // module doc; the scripted observer tests cover the wait after an update).
    let report = deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.1.0", 6)),
        "pw",
        None,
        &lines,
    )
    .await
    .expect("second deploy");
    assert_eq!(report.revision, Some(2));
    assert!(report.task_definition_arn.ends_with("checkout:2"));
    assert_eq!(revisions(&e, "checkout").await.len(), 2);
    let svc = live_service(&e, "checkout").await;
    assert_eq!(
        svc.task_definition(),
        Some(report.task_definition_arn.as_str())
    );
    let changed: BTreeMap<&str, &Change> = report
        .actions
        .iter()
        .map(|a| (a.resource.as_str(), &a.change))
        .collect();
    assert!(
        matches!(changed["service checkout"], Change::Updated(f) if f.iter().any(|f| f.starts_with("taskDefinition")))
    );
    assert!(
        matches!(changed["scalable target service/image/checkout"], Change::Updated(f) if f == &["MaxCapacity: 4 → 6"])
    );
    assert_eq!(changed["log group /ecs/checkout"], &Change::Unchanged);
    assert_eq!(
        changed["secret planton/payments/db-password"],
        &Change::Unchanged
    );
    let writes: Vec<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.is_write() && !r.is_lock())
        .map(|r| r.operation())
        .collect();
    assert_eq!(
        writes,
        [
            "PutParameter",
            "RegisterTaskDefinition",
            "UpdateService",
            "RegisterScalableTarget",
            "PutParameter"
        ]
    );
    let t = e
        .clients
        .scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("scalable targets");
    assert_eq!(t.scalable_targets()[0].max_capacity(), 6);
    let state = planton_deploy_ecs::load_state(&e.clients, &e.fx.cluster_arn, "checkout", "prod")
        .await
        .expect("state")
        .expect("stored");
    assert_eq!(
        state
            .revisions
            .iter()
            .map(|r| (r.number, r.image.as_str(), r.result))
            .collect::<Vec<_>>(),
        [
            (2, "ghcr.io/acme/checkout:1.1.0", RevisionResult::Succeeded),
            (1, "ghcr.io/acme/checkout:1.0.0", RevisionResult::Succeeded)
        ]
    );
    support::check_with_botocore(&e.proxy.requests(), "image-change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_stored_referenced_and_rotated_and_its_value_is_found_nowhere_else() {
    let e = env("secrets").await;
    let lines = Lines::default();
    let canary = "canary-7f3a9c1e-do-not-leak";
    let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    let report = deploy(&e, &ops, canary, quick_wait(), &lines)
        .await
        .expect("deploy");

    // Stored in Secrets Manager and referenced by ARN.
    let secret = e
        .clients
        .secrets
        .get_secret_value()
        .secret_id("planton/payments/db-password")
        .send()
        .await
        .expect("secret");
    assert_eq!(secret.secret_string(), Some(canary));
    let td = e
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(&report.task_definition_arn)
        .send()
        .await
        .expect("task definition");
    let container = &td.task_definition().expect("td").container_definitions()[0];
    assert_eq!(container.secrets()[0].name(), "DB_PASSWORD");
    assert_eq!(
        container.secrets()[0].value_from(),
        secret.arn().unwrap_or("?")
    );

    // The canary is nowhere else: task definition, stored state, progress output, and every
    // request except the one that stores it.
    assert!(!format!("{td:?}").contains(canary));
    let raw_state = e
        .clients
        .ssm
        .get_parameter()
        .name(&report.state_parameter)
        .send()
        .await
        .expect("state parameter");
    let state = planton_deploy_ecs::state::decode(
        raw_state
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default(),
    )
    .expect("decode");
    assert!(
        !serde_json::to_string(&state)
            .unwrap_or_default()
            .contains(canary)
    );
    assert!(!lines.all().contains(canary), "{}", lines.all());
    let carriers: Vec<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.body.contains(canary))
        .map(|r| r.operation())
        .collect();
    assert_eq!(carriers, ["CreateSecret"]);

    // Rotation: the value is updated and the service rolls, with no new revision.
    e.proxy.clear();
    let rotated = deploy(&e, &ops, "rotated-value", None, &lines)
        .await
        .expect("rotation deploy");
    assert_eq!(revisions(&e, "checkout").await.len(), 1);
    let update = e
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.operation() == "UpdateService")
        .expect("the service was updated");
    assert!(
        update.body.contains("\"forceNewDeployment\":true"),
        "{}",
        update.body
    );
    assert_eq!(rotated.revision, Some(2));
    assert!(!lines.all().contains("rotated-value"));
    support::check_with_botocore(&e.proxy.requests(), "secrets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_can_live_in_ssm_secure_strings() {
    let e = env("ssm").await;
    let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    let secrets = secrets("ssm-canary");
    let req = DeployRequest {
        operations: &ops,
        secrets: &secrets,
        environment: "prod",
        manifest: "",
        actor: "ci",
        secret_store: SecretStore::SsmSecureString,
        wait: None,
        lock: test_lock(),
    };
    let report = planton_deploy_ecs::deploy(&e.clients, &req, &|_| {})
        .await
        .expect("deploy");
    let p = e
        .clients
        .ssm
        .get_parameter()
        .name("/planton/payments/db-password")
        .with_decryption(true)
        .send()
        .await
        .expect("parameter");
    let p = p.parameter().expect("parameter");
    assert_eq!(p.r#type().map(|t| t.as_str()), Some("SecureString"));
    let td = e
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(&report.task_definition_arn)
        .send()
        .await
        .expect("td");
    assert_eq!(
        td.task_definition().expect("td").container_definitions()[0].secrets()[0].value_from(),
        p.arn().unwrap_or("?")
    );
    support::check_with_botocore(&e.proxy.requests(), "ssm-secrets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_gives_up_clearly() {
    let e = env("throttle").await;
    let lines = Lines::default();
    e.proxy.throttle("RegisterTaskDefinition", 2);
    e.proxy.throttle("CreateLogGroup", 1);
    e.proxy.throttle("CreateRule", 1);
    deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.0.0", 4)),
        "pw",
        quick_wait(),
        &lines,
    )
    .await
    .expect("the deploy succeeds through throttling");
    let count = |op: &str| {
        e.proxy
            .requests()
            .iter()
            .filter(|r| r.operation() == op)
            .count()
    };
    assert_eq!(count("RegisterTaskDefinition"), 3);
    assert_eq!(count("CreateLogGroup"), 2);
    assert_eq!(count("CreateRule"), 2);
    assert_eq!(revisions(&e, "checkout").await.len(), 1);

    // More throttling than attempts: a clear error naming the call.
    let few = Clients::new(&support::sdk_config(&e.proxy.endpoint, "testing", 2).await);
    e.proxy.throttle("DescribeClusters", 5);
    let secrets = secrets("pw");
    let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    let req = DeployRequest {
        operations: &ops,
        secrets: &secrets,
        environment: "prod",
        manifest: "",
        actor: "ci",
        secret_store: SecretStore::SecretsManager,
        wait: None,
        lock: test_lock(),
    };
    let err = planton_deploy_ecs::deploy(&few, &req, &|_| {})
        .await
        .expect_err("throttled out");
    assert_eq!(
        err.to_string(),
        "ecs:DescribeClusters failed (ThrottlingException): Rate exceeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_cluster_and_bad_credentials_are_clear_errors() {
    let e = env("known").await;
    let mut m = manifest(&e.fx, "checkout", "1.0.0", 4);
    m["spec"]["clusterArn"] = json!("arn:aws:ecs:us-east-1:123456789012:cluster/nowhere");
    let err = deploy(&e, &render(&m), "pw", None, &Lines::default())
        .await
        .expect_err("unknown cluster");
    assert_eq!(
        err.to_string(),
        "ECS cluster arn:aws:ecs:us-east-1:123456789012:cluster/nowhere was not found (region us-east-1)"
    );
    assert!(
        e.proxy.requests().iter().all(|r| !r.is_write()),
        "nothing is written before the cluster is known"
    );

    // moto checks access keys against its IAM users when told to.
    let strict = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let config = support::sdk_config(&strict.endpoint, "AKIANOTAREALKEY00000", 1).await;
    let clients = Clients::new(&config);
    let secrets = secrets("pw");
    let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    let req = DeployRequest {
        operations: &ops,
        secrets: &secrets,
        environment: "prod",
        manifest: "",
        actor: "ci",
        secret_store: SecretStore::SecretsManager,
        wait: None,
        lock: test_lock(),
    };
    let err = planton_deploy_ecs::deploy(&clients, &req, &|_| {})
        .await
        .expect_err("bad credentials");
    assert!(matches!(err, Error::Credentials { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("AWS credentials were rejected by AWS ("),
        "{text}"
    );
    assert!(!text.contains("testing-secret") && !text.contains("AKIANOTAREALKEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_operation_is_the_plugins_error_and_changes_nothing() {
    let e = env("unknown-op").await;
    let mut ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    ops.push(json!({"op": "createBucket", "name": "b"}));
    let err = deploy(&e, &ops, "pw", None, &Lines::default())
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Plugin { .. }));
    assert!(
        err.to_string()
            .contains("operation 8: unknown AWS operation `createBucket`"),
        "{err}"
    );
    assert!(e.proxy.requests().is_empty(), "nothing was sent");
}

/// A scripted stand-in for `DescribeServices` (and the stopped tasks' reasons): moto never
/// progresses a deployment, so the rollout states after an update are played from a script.
struct Scripted {
    views: Mutex<Vec<ServiceView>>,
    reasons: Vec<String>,
}

impl RolloutObserver for Scripted {
    async fn describe(&self) -> planton_deploy_ecs::Result<ServiceView> {
        let mut v = self.views.lock().expect("views");
        Ok(if v.len() > 1 {
            v.remove(0)
        } else {
            v[0].clone()
        })
    }
    async fn stopped_reasons(&self, _td: &str) -> planton_deploy_ecs::Result<Vec<String>> {
        Ok(self.reasons.clone())
    }
}

fn view(deployments: Vec<(&str, &str, &str, &str)>) -> ServiceView {
    ServiceView {
        status: "ACTIVE".into(),
        running: 2,
        desired: 2,
        deployments: deployments
            .into_iter()
            .map(|(id, status, td, rollout)| DeploymentView {
                id: id.into(),
                status: status.into(),
                task_definition: td.into(),
                rollout_state: Some(rollout.into()),
                rollout_state_reason: Some(format!("ECS deployment {id} {rollout}")),
                running: 2,
                desired: 2,
                failed_tasks: if rollout == "FAILED" { 3 } else { 0 },
            })
            .collect(),
        events: vec![(
            "event-1".to_string(),
            "(service checkout) has started 2 tasks".into(),
        )],
    }
}

/// The circuit breaker trips on the new revision and ECS rolls back: the deploy fails with
/// the stopped tasks' reasons and records a failed revision. Everything but the
/// `DescribeServices` answers during the wait runs against moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circuit_breaker_failure_fails_the_deploy_with_the_stopped_tasks_reasons() {
    let e = env("breaker").await;
    let lines = Lines::default();
    deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.0.0", 4)),
        "pw",
        quick_wait(),
        &lines,
    )
    .await
    .expect("first deploy");
    let old_deployment = live_service(&e, "checkout").await.deployments()[0]
        .id()
        .unwrap_or_default()
        .to_string();
    let arn = |n: u32| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:{n}");
    let script = Scripted {
        views: Mutex::new(vec![
            view(vec![
                ("ecs-svc/new", "PRIMARY", &arn(2), "IN_PROGRESS"),
                (&old_deployment, "ACTIVE", &arn(1), "COMPLETED"),
            ]),
            view(vec![
                ("ecs-svc/rollback", "PRIMARY", &arn(1), "IN_PROGRESS"),
                ("ecs-svc/new", "ACTIVE", &arn(2), "FAILED"),
            ]),
        ]),
        reasons: vec!["Essential container in task exited (exit code 1)".into()],
    };
    let secrets = secrets("pw");
    let ops = render(&manifest(&e.fx, "checkout", "2.0.0", 4));
    let req = DeployRequest {
        operations: &ops,
        secrets: &secrets,
        environment: "prod",
        manifest: "",
        actor: "ci",
        secret_store: SecretStore::SecretsManager,
        wait: quick_wait(),
        lock: test_lock(),
    };
    let err =
        planton_deploy_ecs::deploy_observed(&e.clients, &req, &|l| lines.push(l), |_, _| &script)
            .await
            .expect_err("the rollout failed");
    let text = err.to_string();
    assert!(matches!(err, Error::RolloutFailed { .. }), "{err:?}");
    assert!(
        text.contains("deployment ecs-svc/new of checkout:2 is FAILED"),
        "{text}"
    );
    assert!(
        text.contains("Essential container in task exited (exit code 1)"),
        "{text}"
    );
    assert!(
        lines.all().contains("has started 2 tasks"),
        "events are streamed"
    );
    let state = planton_deploy_ecs::load_state(&e.clients, &e.fx.cluster_arn, "checkout", "prod")
        .await
        .expect("state")
        .expect("stored");
    assert_eq!(state.revisions[0].result, RevisionResult::Failed);
    assert!(
        state.revisions[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("exit code 1")
    );
    assert_eq!(state.last_succeeded().map(|r| r.number), Some(1));
}

/// The same observer reference works for every `&O`.
impl RolloutObserver for &Scripted {
    async fn describe(&self) -> planton_deploy_ecs::Result<ServiceView> {
        (**self).describe().await
    }
    async fn stopped_reasons(&self, td: &str) -> planton_deploy_ecs::Result<Vec<String>> {
        (**self).stopped_reasons(td).await
    }
}

/// Against moto itself, waiting after an update never ends well: moto keeps the old PRIMARY
/// deployment, and the driver reports that it is still waiting for ECS to start one instead
/// of calling the rollout done (the ecspresso#732 trap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_after_an_update_on_moto_times_out_naming_the_old_primary() {
    let e = env("stuck").await;
    let lines = Lines::default();
    deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.0.0", 4)),
        "pw",
        quick_wait(),
        &lines,
    )
    .await
    .expect("first deploy");
    let err = deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.0.1", 4)),
        "pw",
        Some(WaitOptions {
            timeout: Duration::from_secs(1),
            poll: Duration::from_millis(200),
        }),
        &lines,
    )
    .await
    .expect_err("moto never rolls out");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "waiting for ECS to start a deployment of checkout:2 (PRIMARY still runs checkout:1)"
        ),
        "{err}"
    );
}

/// Rollback re-deploys the previous successful revision's task definition (no new
/// registration) and records it; `status` shows it. moto does not roll the deployment, so the
/// rollback does not wait here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_redeploys_the_previous_task_definition_and_status_shows_it() {
    let e = env("rollback").await;
    let lines = Lines::default();
    let cluster = e.fx.cluster_arn.clone();
    let req = |actor| planton_deploy_ecs::RollbackRequest {
        cluster: &cluster,
        service: "checkout",
        environment: "prod",
        actor,
        to_revision: None,
        wait: None,
        lock: test_lock(),
    };
    // Nothing to roll back to before any deploy.
    let err = planton_deploy_ecs::rollback(&e.clients, &req("ops"), &|_| {})
        .await
        .expect_err("no state yet");
    assert_eq!(
        err.to_string(),
        "no earlier successful revision of checkout in prod to roll back to"
    );
    let first = deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "1.0.0", 4)),
        "pw",
        quick_wait(),
        &lines,
    )
    .await
    .expect("first deploy");
    deploy(
        &e,
        &render(&manifest(&e.fx, "checkout", "2.0.0", 4)),
        "pw",
        None,
        &lines,
    )
    .await
    .expect("second deploy");
    e.proxy.clear();
    let report = planton_deploy_ecs::rollback(&e.clients, &req("ops"), &|l| lines.push(l))
        .await
        .expect("rollback");
    assert_eq!(report.task_definition_arn, first.task_definition_arn);
    assert_eq!(report.revision, Some(3));
    assert_eq!(
        live_service(&e, "checkout").await.task_definition(),
        Some(first.task_definition_arn.as_str())
    );
    assert_eq!(
        revisions(&e, "checkout").await.len(),
        2,
        "no new registration"
    );
    let writes: Vec<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.is_write() && !r.is_lock())
        .map(|r| r.operation())
        .collect();
    assert_eq!(writes, ["PutParameter", "UpdateService", "PutParameter"]);
    support::check_with_botocore(&e.proxy.requests(), "rollback");

    let status = planton_deploy_ecs::status(&e.clients, &cluster, "checkout", "prod")
        .await
        .expect("status");
    let text = status.to_string();
    assert!(
        text.starts_with("service: ACTIVE (2/2 running), task definition checkout:1\n"),
        "{text}"
    );
    assert!(
        text.contains("revision 3 Succeeded ghcr.io/acme/checkout:1.0.0 by ops (checkout:1): rollback to revision 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "revision 2 Succeeded ghcr.io/acme/checkout:2.0.0 by ci@example (checkout:2)"
        ),
        "{text}"
    );

    // Rolling back again goes to revision 2's definition, the newest one not running.
    let again = planton_deploy_ecs::rollback(&e.clients, &req("ops"), &|_| {})
        .await
        .expect("second rollback");
    assert!(again.task_definition_arn.ends_with("checkout:2"));
}

/// `diff` makes the deploy's decisions without writing: before the first deploy everything
/// is to be created; after it, an image, secret and scaling change show field by field, and
/// the new secret value appears nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_what_a_deploy_would_change_without_writing() {
    let e = env("diff").await;
    let lines = Lines::default();
    let secrets_v1 = secrets("pw-1");
    let ops_v1 = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    let before = planton_deploy_ecs::diff(&e.clients, &request(&ops_v1, &secrets_v1), &|_| {})
        .await
        .expect("diff before the first deploy");
    assert!(
        before.iter().all(|a| a.change == Change::Created),
        "{before:#?}"
    );
    assert_eq!(before.len(), ops_v1.len());
    deploy(&e, &ops_v1, "pw-1", quick_wait(), &lines)
        .await
        .expect("deploy");
    e.proxy.clear();

    let ops_v2 = render(&manifest(&e.fx, "checkout", "1.1.0", 5));
    let secrets_v2 = secrets("pw-2-canary");
    let actions = planton_deploy_ecs::diff(&e.clients, &request(&ops_v2, &secrets_v2), &|l| {
        lines.push(l)
    })
    .await
    .expect("diff");
    let changed: BTreeMap<&str, &Change> = actions
        .iter()
        .map(|a| (a.resource.as_str(), &a.change))
        .collect();
    assert_eq!(
        changed["task definition checkout"],
        &Change::Updated(vec![
            r#"containers.checkout.image: "ghcr.io/acme/checkout:1.0.0" → "ghcr.io/acme/checkout:1.1.0""#
                .to_string()
        ])
    );
    assert_eq!(
        changed["secret planton/payments/db-password"],
        &Change::Updated(vec!["value".to_string()])
    );
    assert!(
        matches!(changed["service checkout"], Change::Updated(f) if f.iter().any(|f| f.contains("(new revision of checkout)"))),
        "{actions:#?}"
    );
    assert_eq!(
        changed["scalable target service/diff/checkout"],
        &Change::Updated(vec!["MaxCapacity: 4 → 5".to_string()])
    );
    assert_eq!(changed["log group /ecs/checkout"], &Change::Unchanged);
    let writes: Vec<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.is_write() && !r.is_lock())
        .map(|r| r.operation())
        .collect();
    assert!(writes.is_empty(), "diff wrote: {writes:?}");
    assert!(!format!("{actions:?}").contains("pw-2-canary"));
    assert!(!lines.all().contains("pw-2-canary"));
    assert_eq!(revisions(&e, "checkout").await.len(), 1);
}

fn request<'a>(
    ops: &'a [Value],
    secrets: &'a BTreeMap<(String, String), SecretValue>,
) -> DeployRequest<'a> {
    DeployRequest {
        operations: ops,
        secrets,
        environment: "prod",
        manifest: "",
        actor: "ci",
        secret_store: SecretStore::SecretsManager,
        wait: None,
        lock: test_lock(),
    }
}

/// A deploy that fails half-way (here `CreateService` refused) leaves a failed revision that
/// names the failure, and re-running the same deploy finishes the job without redoing what
/// was done: the log group, secret, target group, rule and task definition made before the
/// failure are reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deploy_is_recorded_and_a_rerun_converges() {
    let e = env("rerun").await;
    let lines = Lines::default();
    let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
    e.proxy.fail(
        "CreateService",
        1,
        "InvalidParameterException",
        "The target group does not have an associated load balancer.",
    );
    let err = deploy(&e, &ops, "pw", quick_wait(), &lines)
        .await
        .expect_err("CreateService refused");
    assert_eq!(
        err.to_string(),
        "ecs:CreateService failed (InvalidParameterException): The target group does not have an associated load balancer."
    );
    let state = planton_deploy_ecs::load_state(&e.clients, &e.fx.cluster_arn, "checkout", "prod")
        .await
        .expect("state")
        .expect("a failed deploy is recorded");
    assert_eq!(state.revisions[0].result, RevisionResult::Failed);
    assert_eq!(
        state.revisions[0].message.as_deref(),
        Some(err.to_string().as_str())
    );

    e.proxy.clear();
    let report = deploy(&e, &ops, "pw", quick_wait(), &lines)
        .await
        .expect("the re-run succeeds");
    let created: Vec<&str> = report
        .actions
        .iter()
        .filter(|a| a.change == Change::Created)
        .map(|a| a.resource.as_str())
        .collect();
    // What came after the failure is created now; what came before is left as it is.
    assert_eq!(
        created,
        [
            "service checkout",
            "scalable target service/rerun/checkout",
            "scaling policy checkout-cpu"
        ]
    );
    assert_eq!(revisions(&e, "checkout").await.len(), 1);
    assert_eq!(report.revision, Some(2));
    let state = planton_deploy_ecs::load_state(&e.clients, &e.fx.cluster_arn, "checkout", "prod")
        .await
        .expect("state")
        .expect("stored");
    assert_eq!(
        state.revisions.iter().map(|r| r.result).collect::<Vec<_>>(),
        [RevisionResult::Succeeded, RevisionResult::Failed]
    );
}

/// A changed route and health check modify the existing listener rule and target group in
/// place (`ModifyRule`, `ModifyTargetGroup`), and nothing else is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_route_and_health_check_modify_the_rule_and_target_group() {
    let e = env("route").await;
    let lines = Lines::default();
    let mut m = manifest(&e.fx, "checkout", "1.0.0", 4);
    deploy(&e, &render(&m), "pw", quick_wait(), &lines)
        .await
        .expect("first deploy");
    e.proxy.clear();
    m["spec"]["alb"]["path"] = json!("/pay");
    m["spec"]["alb"]["healthCheck"]["interval"] = json!(30);
    let report = deploy(&e, &render(&m), "pw", None, &lines)
        .await
        .expect("second deploy");
    let writes: Vec<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.is_write() && !r.is_lock())
        .map(|r| r.operation())
        .collect();
    assert_eq!(
        writes,
        [
            "PutParameter",
            "ModifyTargetGroup",
            "ModifyRule",
            "PutParameter"
        ],
        "{:#?}",
        report.actions
    );
    let tg = e
        .clients
        .elb
        .describe_target_groups()
        .names("checkout")
        .send()
        .await
        .expect("target group");
    assert_eq!(
        tg.target_groups()[0].health_check_interval_seconds(),
        Some(30)
    );
    let listeners = e
        .clients
        .elb
        .describe_listeners()
        .load_balancer_arn(&e.fx.alb_arn)
        .send()
        .await
        .expect("listeners");
    let rules = e
        .clients
        .elb
        .describe_rules()
        .listener_arn(listeners.listeners()[0].listener_arn().unwrap_or_default())
        .send()
        .await
        .expect("rules");
    let rule = rules
        .rules()
        .iter()
        .find(|r| r.priority() == Some("100"))
        .expect("the rule");
    let values: Vec<String> = rule
        .conditions()
        .iter()
        .flat_map(|c| {
            c.path_pattern_config()
                .map(|p| p.values().to_vec())
                .unwrap_or_else(|| c.values().to_vec())
        })
        .collect();
    assert_eq!(values, ["/pay", "/pay/*"]);
    support::check_with_botocore(&e.proxy.requests(), "route");
}

/// The botocore check is not vacuous: an unknown member (JSON protocol), an unknown query
/// parameter and a wrong type (query protocol) are each rejected.
#[test]
fn the_botocore_check_rejects_requests_outside_the_models() {
    let rec = |signing: &str, target: &str, body: &str| support::Recorded {
        signing_name: signing.into(),
        target: target.into(),
        content_type: String::new(),
        body: body.into(),
    };
    let good = [
        rec(
            "ecs",
            "AmazonEC2ContainerServiceV20141113.DescribeClusters",
            r#"{"clusters":["c"]}"#,
        ),
        rec(
            "elasticloadbalancing",
            "",
            "Action=CreateRule&Version=2015-12-01&ListenerArn=l&Priority=5&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fa&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn=t",
        ),
    ];
    let (ok, report) = support::botocore_report(&good, "botocore-good");
    assert!(ok, "{report}");
    let bad = [
        rec(
            "ecs",
            "AmazonEC2ContainerServiceV20141113.DescribeClusters",
            r#"{"clusters":["c"],"colour":"red"}"#,
        ),
        rec(
            "elasticloadbalancing",
            "",
            "Action=CreateRule&Version=2015-12-01&ListenerArn=l&Priority=5&Colour=red&Conditions.member.1.Field=path-pattern&Actions.member.1.Type=forward",
        ),
        rec(
            "elasticloadbalancing",
            "",
            "Action=ModifyTargetGroup&Version=2015-12-01&TargetGroupArn=t&HealthCheckEnabled=maybe",
        ),
    ];
    let (ok, report) = support::botocore_report(&bad, "botocore-bad");
    assert!(!ok);
    assert!(
        report.contains("Unknown parameter in input: \"colour\""),
        "{report}"
    );
    assert!(report.contains("unknown parameter Colour"), "{report}");
    assert!(
        report.contains("HealthCheckEnabled: 'maybe' is not a boolean"),
        "{report}"
    );
    assert!(report.contains("3 requests checked"), "{report}");
}

/// Every tag of an ECS resource.
async fn ecs_tags(e: &Env, arn: &str) -> BTreeMap<String, String> {
    e.clients
        .ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("ecs tags")
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_tags_are_applied_in_place_to_every_existing_resource() {
    let e = env("tags").await;
    let lines = Lines::default();
    let mut first = manifest(&e.fx, "checkout", "1.0.0", 4);
    first["metadata"]["org"] = json!("acme");
    deploy(&e, &render(&first), "pw", quick_wait(), &lines)
        .await
        .expect("first deploy");
    let svc = live_service(&e, "checkout").await;
    let svc_arn = svc.service_arn().unwrap_or_default().to_string();
    let td_arn = svc.task_definition().unwrap_or_default().to_string();
    assert_eq!(
        ecs_tags(&e, &svc_arn)
            .await
            .get("planton.ai/organization")
            .map(String::as_str),
        Some("acme")
    );
    // A tag someone else set is left alone.
    e.clients
        .ecs
        .tag_resource()
        .resource_arn(&svc_arn)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("team")
                .value("payments")
                .build(),
        )
        .send()
        .await
        .expect("tag the service");

    // The organization goes, an id comes: the same deployment otherwise.
    let mut second = manifest(&e.fx, "checkout", "1.0.0", 4);
    second["metadata"]["id"] = json!("svc-42");
    let ops = render(&second);
    let secrets = secrets("pw");
    let req = DeployRequest {
        operations: &ops,
        secrets: &secrets,
        environment: "prod",
        manifest: "kind: AwsEcsService\n",
        actor: "ci@example",
        secret_store: SecretStore::SecretsManager,
        wait: None,
        lock: test_lock(),
    };
    e.proxy.clear();
    let diff = planton_deploy_ecs::diff(&e.clients, &req, &|_| {})
        .await
        .expect("diff");
    assert!(
        e.proxy.requests().iter().all(|r| !r.is_write()),
        "diff wrote"
    );
    let want_fields = [
        r#"tags.planton.ai/id: null → "svc-42""#,
        r#"tags.planton.ai/organization: "acme" → null"#,
    ];
    for resource in [
        "log group /ecs/checkout",
        "task definition checkout",
        "target group checkout",
        "service checkout",
    ] {
        let change = diff
            .iter()
            .find(|a| a.resource == resource)
            .map(|a| a.change.clone());
        assert_eq!(
            change,
            Some(Change::Updated(
                want_fields.iter().map(|f| f.to_string()).collect()
            )),
            "{resource}"
        );
    }

    let report = deploy(&e, &ops, "pw", quick_wait(), &lines)
        .await
        .expect("tag deploy");
    assert_eq!(report.revision, Some(2));
    assert_eq!(report.task_definition_arn, td_arn, "no new revision");
    let writes: BTreeSet<String> = e
        .proxy
        .requests()
        .iter()
        .filter(|r| r.is_write() && !r.is_lock())
        .map(|r| r.operation())
        .collect();
    for w in [
        "RegisterTaskDefinition",
        "UpdateService",
        "CreateService",
        "CreateTargetGroup",
        "CreateLogGroup",
    ] {
        assert!(!writes.contains(w), "{w} in {writes:?}");
    }
    for w in [
        "TagResource",
        "UntagResource",
        "AddTags",
        "RemoveTags",
        "PutParameter",
    ] {
        assert!(writes.contains(w), "{w} missing from {writes:?}");
    }
    let expect = |tags: &BTreeMap<String, String>, what: &str| {
        assert_eq!(
            tags.get("planton.ai/id").map(String::as_str),
            Some("svc-42"),
            "{what}: {tags:?}"
        );
        assert!(
            !tags.contains_key("planton.ai/organization"),
            "{what}: {tags:?}"
        );
        assert_eq!(
            tags.get("planton.ai/name").map(String::as_str),
            Some("checkout"),
            "{what}: {tags:?}"
        );
    };
    let svc_tags = ecs_tags(&e, &svc_arn).await;
    expect(&svc_tags, "service");
    assert_eq!(
        svc_tags.get("team").map(String::as_str),
        Some("payments"),
        "a foreign tag is kept"
    );
    expect(&ecs_tags(&e, &td_arn).await, "task definition");
    let group_arn = e
        .clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/ecs/checkout")
        .send()
        .await
        .expect("log groups")
        .log_groups()[0]
        .log_group_arn()
        .unwrap_or_default()
        .to_string();
    let log_tags: BTreeMap<String, String> = e
        .clients
        .logs
        .list_tags_for_resource()
        .resource_arn(&group_arn)
        .send()
        .await
        .expect("log tags")
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    expect(&log_tags, "log group");
    let tg_arn = e
        .clients
        .elb
        .describe_target_groups()
        .names("checkout")
        .send()
        .await
        .expect("target group")
        .target_groups()[0]
        .target_group_arn()
        .unwrap_or_default()
        .to_string();
    let tg_tags: BTreeMap<String, String> = e
        .clients
        .elb
        .describe_tags()
        .resource_arns(&tg_arn)
        .send()
        .await
        .expect("elb tags")
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    expect(&tg_tags, "target group");

    // Converged: the same render again writes nothing.
    let requests = e.proxy.requests();
    e.proxy.clear();
    let again = deploy(&e, &ops, "pw", quick_wait(), &lines)
        .await
        .expect("again");
    assert!(again.unchanged(), "{:#?}", again.actions);
    assert!(e.proxy.requests().iter().all(|r| !r.is_write()));
    support::check_with_botocore(&requests, "tags");
}

/// The deploy lock against moto's SSM: `PutParameter` without `Overwrite` is the atomic
/// create the lock rests on, and moto answers it with `ParameterAlreadyExists` as SSM does.
///
/// What moto cannot show: it serves requests on threads and checks-then-inserts a parameter
/// without a lock of its own, so a true tie between two creates of one name is decided by
/// Python's scheduling, not by a guarantee; SSM's is documented. The racers here are real
/// concurrent HTTP requests, and the test asserts that exactly one wins.
mod lock {
    use super::*;
    use planton_deploy_ecs::lock::{self, Held, LockOptions};
    use std::time::Instant;

    fn opts(holder: &str, ttl_ms: u64, wait_ms: u64) -> LockOptions {
        LockOptions {
            holder: holder.to_string(),
            ttl: Duration::from_millis(ttl_ms),
            wait: Duration::from_millis(wait_ms),
            poll: Duration::from_millis(100),
        }
    }

    /// `n` racers at once: (winners, refusals' holders).
    async fn race(
        e: &Env,
        path: &str,
        n: usize,
        ttl_ms: u64,
        wait_ms: u64,
    ) -> (Vec<Held>, Vec<String>) {
        let mut handles = Vec::new();
        for i in 0..n {
            let ssm = e.clients.ssm.clone();
            let path = path.to_string();
            handles.push(tokio::spawn(async move {
                lock::acquire(
                    &ssm,
                    &path,
                    "prod",
                    &opts(&format!("racer-{i}"), ttl_ms, wait_ms),
                    &|_| {},
                )
                .await
            }));
        }
        let mut won = Vec::new();
        let mut refused = Vec::new();
        for h in handles {
            match h.await.expect("racer") {
                Ok(held) => won.push(held),
                Err(Error::Locked(by)) => refused.push(by.holder),
                Err(other) => panic!("unexpected: {other}"),
            }
        }
        (won, refused)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn exactly_one_of_racing_runs_takes_the_lock_and_exactly_one_takes_over_a_stale_one() {
        let e = env("lock-race").await;
        let path = lock::lock_path("shared", "checkout");

        // Uncontended: acquire and release, timed against moto (printed, not asserted); the
        // first round also pays for moto loading its SSM backend.
        for round in ["cold", "warm"] {
            let t = Instant::now();
            let held = lock::acquire(
                &e.clients.ssm,
                &path,
                "prod",
                &opts("solo", 2000, 0),
                &|_| {},
            )
            .await
            .expect("a free lock");
            let acquired = t.elapsed();
            let t = Instant::now();
            held.release().await.expect("release");
            eprintln!(
                "lock against moto ({round}): acquire {} ms, release {} ms",
                acquired.as_millis(),
                t.elapsed().as_millis()
            );
        }

        // Eight at once on a released lock: one wins, seven are refused naming it.
        let (mut won, refused) = race(&e, &path, 8, 2000, 0).await;
        assert_eq!(won.len(), 1, "refused: {refused:?}");
        let winner = won.remove(0);
        let winner_holder = {
            let gens = e
                .clients
                .ssm
                .get_parameter()
                .name(&winner.parameter)
                .send()
                .await
                .expect("the winner's generation");
            let r: lock::LockRecord =
                serde_json::from_str(gens.parameter().and_then(|p| p.value()).unwrap_or_default())
                    .expect("a record");
            r.holder
        };
        assert_eq!(refused.len(), 7);
        assert!(
            refused.iter().all(|h| *h == winner_holder),
            "{refused:?} vs {winner_holder}"
        );
        assert!(winner.took_over.is_none());

        // The winner dies without releasing (dropping it stops the renewal, as SIGKILL would).
        drop(winner);
        // Eight at once again, each willing to wait 4 s (two TTLs): one takes the stale lock
        // over; it renews, so the others never see it stale and are refused after 4 s.
        let (mut won, refused) = race(&e, &path, 8, 2000, 4000).await;
        assert_eq!(won.len(), 1, "refused: {refused:?}");
        let taker = won.remove(0);
        assert_eq!(
            taker.took_over.as_ref().map(|r| r.holder.as_str()),
            Some(winner_holder.as_str())
        );
        assert_eq!(refused.len(), 7);
        assert!(!taker.lost());
        // Only the taker's generation is left: older ones are deleted by the next holder.
        let names: Vec<String> = e
            .clients
            .ssm
            .get_parameters_by_path()
            .path(&path)
            .send()
            .await
            .expect("list")
            .parameters()
            .iter()
            .filter_map(|p| p.name().map(str::to_string))
            .collect();
        assert_eq!(names, std::slice::from_ref(&taker.parameter));
        taker.release().await.expect("release");
    }

    /// A deploy holds the lock through a long rollout wait (renewing it): a second deploy is
    /// refused after waiting longer than the TTL, naming the holder and when it took the
    /// lock; the first releases on its way out even though it failed (timed out).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_deploy_is_refused_while_the_first_waits_and_the_lock_is_released_on_failure()
    {
        let e = env("lock-deploy").await;
        let lines = Lines::default();
        deploy(
            &e,
            &render(&manifest(&e.fx, "checkout", "1.0.0", 4)),
            "pw",
            quick_wait(),
            &lines,
        )
        .await
        .expect("first deploy");
        let old_td = live_service(&e, "checkout")
            .await
            .task_definition()
            .unwrap_or_default()
            .to_string();
        let secrets = secrets("pw");
        let ops_a = render(&manifest(&e.fx, "checkout", "2.0.0", 4));
        let ops_b = render(&manifest(&e.fx, "checkout", "3.0.0", 4));
        let req = |ops, holder: &str, wait_ms: u64| DeployRequest {
            operations: ops,
            secrets: &secrets,
            environment: "prod",
            manifest: "kind: AwsEcsService\n",
            actor: "ci@example",
            secret_store: SecretStore::SecretsManager,
            wait: Some(WaitOptions {
                timeout: Duration::from_secs(5),
                poll: Duration::from_millis(100),
            }),
            lock: LockOptions {
                holder: holder.to_string(),
                ttl: Duration::from_secs(1),
                wait: Duration::from_millis(wait_ms),
                poll: Duration::from_millis(100),
            },
        };
        let req_a = req(&ops_a, "deployer-a:1", 0);
        let req_b = req(&ops_b, "deployer-b:2", 2500);
        let lines_a = Lines::default();
        let lines_b = Lines::default();
        let progress_a = |l: &str| lines_a.push(l);
        // A's rollout never completes: the new deployment stays IN_PROGRESS.
        let new_td = old_td.replace("checkout:1", "checkout:2");
        let never = || Scripted {
            views: Mutex::new(vec![view(vec![
                ("ecs-svc/2", "PRIMARY", &new_td, "IN_PROGRESS"),
                ("ecs-svc/1", "ACTIVE", &old_td, "COMPLETED"),
            ])]),
            reasons: Vec::new(),
        };
        let a =
            planton_deploy_ecs::deploy_observed(&e.clients, &req_a, &progress_a, |_, _| never());
        let b = async {
            // Start once A holds the lock and waits for its rollout.
            while !lines_a.all().contains("waiting for service") {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            planton_deploy_ecs::deploy_observed(&e.clients, &req_b, &|l| lines_b.push(l), |_, _| {
                never()
            })
            .await
        };
        let (a, b) = tokio::join!(a, b);
        assert!(matches!(a, Err(Error::Timeout { .. })), "{a:?}");
        match b {
            Err(Error::Locked(by)) => {
                let planton_deploy_ecs::error::LockedBy {
                    holder,
                    environment,
                    since,
                    waited_s,
                    ..
                } = *by;
                assert_eq!(holder, "deployer-a:1");
                assert_eq!(environment, "prod");
                assert!(since.ends_with('Z') && since.len() == 20, "{since}");
                assert!(waited_s >= 2, "{waited_s}");
            }
            other => panic!("B should be refused: {other:?}"),
        }
        assert!(
            lines_b
                .all()
                .contains("waiting for the deploy lock of checkout held by deployer-a:1"),
            "{}",
            lines_b.all()
        );
        // A released on its way out (a failure), so the lock is free.
        let gens = lock_generations(&e, "checkout").await;
        let newest = &gens.last().expect("a generation").1;
        assert_eq!(newest.holder, "deployer-a:1");
        assert!(newest.released, "{gens:?}");
        // B wrote nothing: the revisions are the first deploy's and A's failed one.
        let state =
            planton_deploy_ecs::load_state(&e.clients, &e.fx.cluster_arn, "checkout", "prod")
                .await
                .expect("state")
                .expect("stored");
        let images: Vec<&str> = state.revisions.iter().map(|r| r.image.as_str()).collect();
        assert_eq!(
            images,
            ["ghcr.io/acme/checkout:2.0.0", "ghcr.io/acme/checkout:1.0.0"]
        );
        assert_eq!(state.revisions[0].result, RevisionResult::Failed);
    }

    /// A lock left by a killed deploy (never renewed again) is taken over once this run has
    /// watched it unchanged for its TTL; the deploy says so and reports the old holder.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_lock_of_a_killed_deploy_is_taken_over_and_reported() {
        let e = env("lock-stale").await;
        let path = lock::lock_path(
            e.fx.cluster_arn.rsplit('/').next().unwrap_or_default(),
            "checkout",
        );
        let dead = lock::LockRecord {
            holder: "ci@dead-runner:4242".into(),
            environment: "prod".into(),
            acquired_at: 1_700_000_000,
            renewed_at: 1_700_000_000,
            ttl_seconds: 1,
            released: false,
        };
        e.clients
            .ssm
            .put_parameter()
            .name(format!("{path}/000000000007"))
            .value(serde_json::to_string(&dead).expect("json"))
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("plant a dead holder's lock");
        let lines = Lines::default();
        let secrets = secrets("pw");
        let ops = render(&manifest(&e.fx, "checkout", "1.0.0", 4));
        let req = DeployRequest {
            operations: &ops,
            secrets: &secrets,
            environment: "prod",
            manifest: "kind: AwsEcsService\n",
            actor: "ci@example",
            secret_store: SecretStore::SecretsManager,
            wait: quick_wait(),
            lock: LockOptions {
                holder: "ci@example:9".into(),
                ttl: Duration::from_secs(3),
                wait: Duration::from_secs(5),
                poll: Duration::from_millis(100),
            },
        };
        let report = planton_deploy_ecs::deploy(&e.clients, &req, &|l| lines.push(l))
            .await
            .expect("deploy after taking the lock over");
        assert_eq!(report.revision, Some(1));
        assert_eq!(
            report.took_over_lock_from.as_deref(),
            Some("ci@dead-runner:4242")
        );
        assert!(
            lines
                .all()
                .contains("took over the deploy lock of ci@dead-runner:4242"),
            "{}",
            lines.all()
        );
        let gens = lock_generations(&e, "checkout").await;
        assert_eq!(gens.len(), 1, "{gens:?}");
        assert!(gens[0].0.ends_with("/000000000008"), "{gens:?}");
        assert!(gens[0].1.released && gens[0].1.holder == "ci@example:9");
    }
}
