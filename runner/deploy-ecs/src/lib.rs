//! `planton-deploy-ecs`: deploys a contract-v2 AWS render to ECS with the AWS SDK for Rust.
//!
//! [`deploy`] takes the typed operations a plugin rendered ([`planton_plugin_sdk::target`]),
//! the secret values the render references (resolved by the caller; never logged), and:
//!
//! 1. checks credentials and that the ECS cluster exists, before any change;
//! 2. reads the stored state ([`state`], an SSM parameter per service and environment);
//! 3. applies the operations in phase order, log group → secrets → task definition →
//!    target group and listener rule → service → scaling ([`ops`], one function per
//!    operation), each comparing what exists with what is wanted and writing only on a
//!    difference: a task definition revision is registered only when the normalized
//!    definition changed ([`compare`]), and a service is updated only when a field differs
//!    or a stored secret value was rotated;
//! 4. waits for the rollout ([`wait`]): the PRIMARY deployment must run the new task
//!    definition, and a FAILED rollout or a rollback fails the deploy with the stopped tasks'
//!    reasons;
//! 5. records the revision (digest, image, actor, task definition, result) in the state.
//!
//! [`diff`] makes the same decisions without writing (resource by resource, field by field),
//! [`status`] shows the live service and its revisions, and [`rollback`] re-deploys the
//! newest successful revision that is not running.
//!
//! Before its first write a deploy takes the lock of the ECS service ([`lock`]: one deploy
//! per service at a time, across machines; released on every way out, Ctrl-C and SIGTERM
//! included) and stores a pending revision, so a crash leaves a trace; a re-run converges
//! because every step compares before it writes. A deploy with nothing to change writes
//! nothing at all, not even the state or the lock. When the state changed between this
//! deploy's read and its lock (another deploy finished in between), it decides again under
//! the lock.
//!
//! Credentials, region and endpoint follow the AWS conventions ([`config`]); throttling and
//! transient errors are retried by the SDK's standard retry mode.
//!
//! What this crate is not: it does not build, validate or render manifests (core and the
//! plugins do), nor resolve secret references (the caller passes values), nor print (it
//! reports progress lines through a callback).

pub mod compare;
pub mod config;
pub mod error;
pub mod health;
pub mod lock;
pub mod ops;
pub mod state;
pub mod wait;

pub use config::{AwsOptions, Clients};
pub use error::{Error, Result};
pub use lock::LockOptions;

use planton_core::refs::SecretValue;
use planton_plugin_sdk::target::AwsOperation;
use serde_json::Value;
use sha2::{Digest, Sha256};
use state::{DeployState, Revision, RevisionResult};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wait::{EcsObserver, RolloutObserver};

/// Where the deploy stores `$secrets-group` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretStore {
    /// A Secrets Manager secret `planton/<group>/<entry>`.
    #[default]
    SecretsManager,
    /// An SSM SecureString parameter `/planton/<group>/<entry>`.
    SsmSecureString,
}

/// How long and how often to wait for a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Look this often.
    pub poll: Duration,
}

impl Default for WaitOptions {
    fn default() -> WaitOptions {
        WaitOptions {
            timeout: Duration::from_secs(15 * 60),
            poll: Duration::from_secs(10),
        }
    }
}

/// One deploy of one environment.
#[derive(Debug)]
pub struct DeployRequest<'a> {
    /// The `operations` of the plugin's v2 AWS render.
    pub operations: &'a [Value],
    /// `(group, entry)` → value, for every `$secrets-group` entry the render references.
    pub secrets: &'a BTreeMap<(String, String), SecretValue>,
    /// The environment (the overlay's `metadata.env`).
    pub environment: &'a str,
    /// The generated manifest, stored in the state (references only).
    pub manifest: &'a str,
    /// Who deploys (user or CI identity).
    pub actor: &'a str,
    /// Where secrets go.
    pub secret_store: SecretStore,
    /// Wait for the rollout (`None`: return once ECS accepted the change).
    pub wait: Option<WaitOptions>,
    /// The deploy lock ([`lock`]): who takes it, its TTL, how long to wait for a holder.
    pub lock: LockOptions,
}

/// The deploy lock of one run: taken at the first write, released by the run's owner on every
/// way out (success, error, Ctrl-C/SIGTERM), so it lives outside the work that may be dropped.
#[derive(Debug)]
pub struct LockSlot {
    opts: LockOptions,
    held: std::sync::Mutex<Option<lock::Held>>,
}

impl LockSlot {
    fn new(opts: LockOptions) -> LockSlot {
        LockSlot {
            opts,
            held: std::sync::Mutex::new(None),
        }
    }

    fn is_held(&self) -> bool {
        self.held.lock().map(|h| h.is_some()).unwrap_or(false)
    }

    fn put(&self, held: lock::Held) {
        if let Ok(mut slot) = self.held.lock() {
            *slot = Some(held);
        }
    }

    /// The held lock's parameter, when this run holds it and has not lost it.
    fn lost(&self) -> Option<String> {
        self.held
            .lock()
            .ok()
            .and_then(|h| h.as_ref().filter(|h| h.lost()).map(|h| h.parameter.clone()))
    }

    fn took_over(&self) -> Option<String> {
        self.held.lock().ok().and_then(|h| {
            h.as_ref()
                .and_then(|h| h.took_over.as_ref().map(|r| r.holder.clone()))
        })
    }

    /// Releases the lock if this run took it.
    async fn release(&self, progress: &(dyn Fn(&str) + Sync)) {
        let held = self.held.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = held {
            let parameter = h.parameter.clone();
            if let Err(e) = h.release().await {
                progress(&format!(
                    "could not release the deploy lock {parameter} ({e}); it expires after its TTL"
                ));
            }
        }
    }
}

/// Runs `work` until it ends or `stop` does (the CLI passes Ctrl-C and SIGTERM): then `work`
/// is dropped between two AWS calls and [`Error::Interrupted`] returned, so the caller can
/// release what it holds before exiting.
async fn interruptible<T>(
    work: impl std::future::Future<Output = Result<T>>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<T> {
    tokio::select! {
        r = work => r,
        _ = stop => Err(Error::Interrupted),
    }
}

/// What a deploy did to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Created.
    Created,
    /// Updated: these fields.
    Updated(Vec<String>),
    /// Left as it was.
    Unchanged,
}

impl Change {
    /// `Updated(fields)`, or `Unchanged` when no field changed.
    pub fn updated_or_unchanged(fields: Vec<String>) -> Change {
        if fields.is_empty() {
            Change::Unchanged
        } else {
            Change::Updated(fields)
        }
    }
}

/// One resource and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `service checkout`, `task definition checkout (checkout:3)`, …
    pub resource: String,
    /// What happened.
    pub change: Change,
}

/// The outcome of a successful deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployReport {
    /// Every resource, in apply order.
    pub actions: Vec<Action>,
    /// The task definition the service runs.
    pub task_definition_arn: String,
    /// The revision recorded, or `None` when nothing changed.
    pub revision: Option<u64>,
    /// The SSM parameter holding the state.
    pub state_parameter: String,
    /// The holder whose stale deploy lock this run took over.
    pub took_over_lock_from: Option<String>,
}

impl DeployReport {
    /// True when nothing was created or updated.
    pub fn unchanged(&self) -> bool {
        self.actions.iter().all(|a| a.change == Change::Unchanged)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// sha256 of the operations (references only), hex.
pub fn digest(operations: &[Value]) -> String {
    let bytes = serde_json::to_vec(operations).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deploys, waiting (if asked) with the ECS observer.
pub async fn deploy(
    clients: &Clients,
    req: &DeployRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<DeployReport> {
    deploy_until(clients, req, progress, std::future::pending()).await
}

/// [`deploy`], stopped when `stop` ends (the CLI passes Ctrl-C and SIGTERM): the lock is
/// released and [`Error::Interrupted`] returned.
pub async fn deploy_until(
    clients: &Clients,
    req: &DeployRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    stop: impl std::future::Future<Output = ()>,
) -> Result<DeployReport> {
    let observe = |cluster: &str, service: &str| EcsObserver {
        ecs: &clients.ecs,
        cluster: cluster.to_string(),
        service: service.to_string(),
    };
    deploy_observed_until(clients, req, progress, observe, stop).await
}

/// The single service of a render and its cluster's name.
fn the_service(ops: &[AwsOperation]) -> Result<(planton_plugin_sdk::target::ServiceOp, String)> {
    let services: Vec<_> = ops
        .iter()
        .filter_map(|o| match o {
            AwsOperation::Service(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let [service] = services.as_slice() else {
        return Err(Error::Plugin {
            message: format!(
                "an ECS render deploys exactly one service; this one has {}",
                services.len()
            ),
        });
    };
    let cluster_name = service
        .cluster
        .rsplit_once('/')
        .map_or(service.cluster.as_str(), |(_, n)| n)
        .to_string();
    Ok((service.clone(), cluster_name))
}

/// Parses a render's operations, turning every problem into one [`Error::Plugin`].
pub fn parse_operations(values: &[Value]) -> Result<Vec<AwsOperation>> {
    AwsOperation::parse_all(values).map_err(|errors| Error::Plugin {
        message: errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// The values of every `$secrets-group` entry a render's `secret` operations name, read from
/// `source` (the groups the CLI loads); every missing group or entry is reported at once.
pub fn resolve_secrets(
    operations: &[Value],
    source: &dyn planton_core::refs::GroupSource,
) -> Result<BTreeMap<(String, String), SecretValue>> {
    resolve_secrets_with(operations, &source.describe(), &|r| {
        planton_core::refs::resolve(r, source).cloned()
    })
}

/// [`resolve_secrets`] over any lookup (the CLI chains environment variables and the groups
/// directory); `source_name` names the lookup in the error.
pub fn resolve_secrets_with(
    operations: &[Value],
    source_name: &str,
    lookup: &dyn Fn(
        &planton_core::refs::Reference,
    ) -> std::result::Result<SecretValue, planton_core::refs::Unresolved>,
) -> Result<BTreeMap<(String, String), SecretValue>> {
    use planton_core::refs::{RefKind, Reference, Unresolved};
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for op in parse_operations(operations)? {
        let AwsOperation::Secret(s) = op else {
            continue;
        };
        let reference = Reference {
            kind: RefKind::Secrets,
            group: s.group.clone(),
            entry: s.entry.clone(),
        };
        match lookup(&reference) {
            Ok(v) => {
                values.insert((s.group, s.entry), v);
            }
            Err(why) => missing.push(format!(
                "$secrets-group/{}/{} ({})",
                s.group,
                s.entry,
                match why {
                    Unresolved::MissingGroup => "no such group",
                    Unresolved::MissingEntry => "no such entry",
                }
            )),
        }
    }
    if !missing.is_empty() {
        return Err(Error::UnresolvedSecrets {
            source_name: source_name.to_string(),
            missing,
        });
    }
    Ok(values)
}

/// Fails unless the cluster exists and is ACTIVE (also the first call that proves the
/// credentials).
pub async fn check_cluster(clients: &Clients, cluster: &str) -> Result<()> {
    let out = clients
        .ecs
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .map_err(|e| error::aws("ecs:DescribeClusters", e))?;
    let problem = match out.clusters().first().and_then(|c| c.status()) {
        Some("ACTIVE") => return Ok(()),
        Some(status) => format!("is {status}"),
        None => "was not found".to_string(),
    };
    Err(Error::Cluster {
        cluster: cluster.to_string(),
        problem,
        region: clients.region.clone(),
    })
}

/// Reads the render, checks secrets, cluster and state, and sets up a run.
async fn prepare<'a>(
    clients: &'a Clients,
    req: &'a DeployRequest<'a>,
    progress: &'a (dyn Fn(&str) + Sync),
    dry_run: bool,
    lock: Option<&'a LockSlot>,
) -> Result<(
    Vec<AwsOperation>,
    planton_plugin_sdk::target::ServiceOp,
    ops::Run<'a>,
)> {
    let ops = parse_operations(req.operations)?;
    let (service, cluster_name) = the_service(&ops)?;
    let missing = ops::missing_secrets(&ops, req.secrets);
    if let Some(first) = missing.first() {
        let (group, entry) = first
            .trim_start_matches("$secrets-group/")
            .split_once('/')
            .unwrap_or_default();
        return Err(Error::MissingSecret {
            group: group.to_string(),
            entry: entry.to_string(),
        });
    }
    check_cluster(clients, &service.cluster).await?;

    let parameter = state::parameter_name(&cluster_name, &service.name, req.environment);
    let (stored, state_version) = ops::read_state_versioned(clients, &parameter).await?;
    let last_applied = stored
        .as_ref()
        .and_then(|s| s.last_succeeded())
        .map(|r| r.service.clone());
    let image = ops
        .iter()
        .find_map(|o| match o {
            AwsOperation::TaskDefinition(t) => t.containers.first().map(|c| c.image.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut state = stored
        .unwrap_or_else(|| DeployState::new(&service.cluster, &service.name, req.environment));
    state.manifest = req.manifest.to_string();
    let pending = Revision {
        number: 0,
        digest: digest(req.operations),
        image,
        actor: req.actor.to_string(),
        task_definition_arn: String::new(),
        service: Default::default(),
        started_at: now(),
        finished_at: None,
        result: RevisionResult::Pending,
        message: None,
        operations: req.operations.to_vec(),
    };
    let scaled: BTreeSet<String> = ops
        .iter()
        .filter_map(|o| match o {
            AwsOperation::ScalableTarget(t) => Some(t.service.clone()),
            _ => None,
        })
        .collect();
    let run = ops::Run {
        clients,
        secrets: req.secrets,
        store: req.secret_store,
        progress,
        secret_arns: BTreeMap::new(),
        rotated: false,
        task_definitions: BTreeMap::new(),
        target_groups: BTreeMap::new(),
        scaled,
        last_applied,
        applied: Default::default(),
        rolled: None,
        actions: Vec::new(),
        state_parameter: parameter.clone(),
        state,
        pending: Some(pending),
        pending_written: false,
        dry_run,
        lock,
        lock_path: lock::lock_path(&cluster_name, &service.name),
        state_version,
    };
    Ok((ops, service, run))
}

/// What a deploy would change, resource by resource and field by field, from the same
/// decisions [`deploy`] makes, without writing anything. A secret whose stored value
/// differs shows as `value` changed; values are never shown.
pub async fn diff(
    clients: &Clients,
    req: &DeployRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Action>> {
    let (ops, _, mut run) = prepare(clients, req, progress, true, None).await?;
    for op in &ops {
        ops::apply(&mut run, op).await?;
    }
    Ok(run.actions)
}

/// Deploys, waiting with the observer `observe(cluster, service)` builds (tests script it).
///
/// The deploy lock ([`lock`]) is taken before the first write, so a deploy with nothing to
/// change neither waits for it nor writes it; it is released on every way out.
pub async fn deploy_observed<O, F>(
    clients: &Clients,
    req: &DeployRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    observe: F,
) -> Result<DeployReport>
where
    O: RolloutObserver,
    F: FnOnce(&str, &str) -> O,
{
    deploy_observed_until(clients, req, progress, observe, std::future::pending()).await
}

async fn deploy_observed_until<O, F>(
    clients: &Clients,
    req: &DeployRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    observe: F,
    stop: impl std::future::Future<Output = ()>,
) -> Result<DeployReport>
where
    O: RolloutObserver,
    F: FnOnce(&str, &str) -> O,
{
    let slot = LockSlot::new(req.lock.clone());
    let outcome = interruptible(locked_deploy(clients, req, progress, observe, &slot), stop).await;
    let took_over_lock_from = slot.took_over();
    slot.release(progress).await;
    outcome.map(|r| DeployReport {
        took_over_lock_from,
        ..r
    })
}

async fn locked_deploy<O, F>(
    clients: &Clients,
    req: &DeployRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    observe: F,
    slot: &LockSlot,
) -> Result<DeployReport>
where
    O: RolloutObserver,
    F: FnOnce(&str, &str) -> O,
{
    let mut decided_again = false;
    let (service, mut run, mut outcome) = loop {
        let (ops, service, mut run) = prepare(clients, req, progress, false, Some(slot)).await?;
        let mut outcome = Ok(());
        for op in &ops {
            if let Err(e) = ops::apply(&mut run, op).await {
                outcome = Err(e);
                break;
            }
            if let Some(parameter) = slot.lost() {
                outcome = Err(Error::LockLost { parameter });
                break;
            }
        }
        match outcome {
            Err(Error::StateMoved { .. }) if !decided_again => {
                decided_again = true;
                progress(&format!(
                    "another deploy of {} finished while this one read; deciding again under the lock",
                    service.name
                ));
            }
            outcome => break (service, run, outcome),
        }
    };
    let parameter = run.state_parameter.clone();
    let td = run
        .task_definitions
        .get(&service.task_definition)
        .cloned()
        .unwrap_or_default();
    if outcome.is_ok()
        && let (Some(w), Some((before, want))) = (req.wait, run.rolled.clone())
    {
        progress(&format!(
            "waiting for service {} (timeout {} s)",
            service.name,
            w.timeout.as_secs()
        ));
        let observer = observe(&service.cluster, &service.name);
        outcome = wait::wait_for_rollout(
            &observer,
            &service.name,
            &want,
            &before,
            w.timeout,
            w.poll,
            progress,
        )
        .await;
    }

    if !run.pending_written {
        // Nothing was written: leave the state as it was.
        outcome?;
        return Ok(DeployReport {
            actions: run.actions,
            task_definition_arn: td,
            revision: None,
            state_parameter: parameter,
            took_over_lock_from: None,
        });
    }
    if let Some(parameter) = slot.lost() {
        // Another run holds the lock and owns the state now.
        return Err(Error::LockLost { parameter });
    }
    let (result, message) = match &outcome {
        Ok(()) => (RevisionResult::Succeeded, None),
        Err(e) => (RevisionResult::Failed, Some(e.to_string())),
    };
    let number = run.state.revisions.first().map(|r| r.number);
    if let Some(rev) = run.state.revisions.first_mut() {
        rev.task_definition_arn = td.clone();
        rev.service = run.applied.clone();
        ops::finish(rev, result, message, now());
    }
    let written = ops::write_state(clients, &parameter, &run.state).await;
    outcome?;
    written?;
    Ok(DeployReport {
        actions: run.actions,
        task_definition_arn: td,
        revision: number,
        state_parameter: parameter,
        took_over_lock_from: None,
    })
}

/// Reads the stored state of a service's environment.
pub async fn load_state(
    clients: &Clients,
    cluster: &str,
    service: &str,
    environment: &str,
) -> Result<Option<DeployState>> {
    let cluster_name = cluster.rsplit_once('/').map_or(cluster, |(_, n)| n);
    ops::read_state(
        clients,
        &state::parameter_name(cluster_name, service, environment),
    )
    .await
}

/// The live service and its stored state, for `planton status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The service as ECS describes it (`None` when it does not exist).
    pub live: Option<wait::ServiceView>,
    /// The task definition the service runs.
    pub task_definition: Option<String>,
    /// The stored deploy state.
    pub state: Option<DeployState>,
}

impl std::fmt::Display for StatusReport {
    /// Deployments, running/desired counts, the newest service events and revisions.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.live {
            None => writeln!(f, "service: not deployed")?,
            Some(v) => {
                writeln!(
                    f,
                    "service: {} ({}/{} running), task definition {}",
                    v.status,
                    v.running,
                    v.desired,
                    self.task_definition.as_deref().map_or("?", wait::short)
                )?;
                for d in &v.deployments {
                    writeln!(
                        f,
                        "  deployment {} {} {}: {}/{} running, {} failed, rollout {}",
                        d.id,
                        d.status,
                        wait::short(&d.task_definition),
                        d.running,
                        d.desired,
                        d.failed_tasks,
                        d.rollout_state.as_deref().unwrap_or("-")
                    )?;
                }
                for (_, message) in v.events.iter().take(5) {
                    writeln!(f, "  event: {message}")?;
                }
            }
        }
        if let Some(s) = &self.state {
            for r in &s.revisions {
                writeln!(
                    f,
                    "  revision {} {:?} {} by {} ({}){}",
                    r.number,
                    r.result,
                    r.image,
                    r.actor,
                    wait::short(&r.task_definition_arn),
                    r.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )?;
            }
        }
        Ok(())
    }
}

async fn describe_live(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Option<aws_sdk_ecs::types::Service>> {
    let out = clients
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| error::aws("ecs:DescribeServices", e))?;
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .cloned())
}

/// The live service (deployments, counts, recent events) and its stored revisions.
pub async fn status(
    clients: &Clients,
    cluster: &str,
    service: &str,
    environment: &str,
) -> Result<StatusReport> {
    check_cluster(clients, cluster).await?;
    let live = describe_live(clients, cluster, service).await?;
    Ok(StatusReport {
        task_definition: live
            .as_ref()
            .and_then(|s| s.task_definition())
            .map(str::to_string),
        live: live.as_ref().map(wait::view_of),
        state: load_state(clients, cluster, service, environment).await?,
    })
}

/// What [`rollback`] needs to know.
#[derive(Debug, Clone)]
pub struct RollbackRequest<'a> {
    /// The cluster ARN.
    pub cluster: &'a str,
    /// The service.
    pub service: &'a str,
    /// The environment.
    pub environment: &'a str,
    /// Who rolls back.
    pub actor: &'a str,
    /// The revision to return to (default: the newest successful one not running now).
    pub to_revision: Option<u64>,
    /// Wait for the rollout.
    pub wait: Option<WaitOptions>,
    /// The deploy lock (the same as a deploy's: a rollback and a deploy never overlap).
    pub lock: LockOptions,
}

/// Re-deploys the task definition of the newest successful revision that is not the one
/// running now, and records that as a new revision. Secret values are not rolled back: the
/// old task definition reads the current values of the same secrets.
pub async fn rollback(
    clients: &Clients,
    req: &RollbackRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<DeployReport> {
    rollback_until(clients, req, progress, std::future::pending()).await
}

/// [`rollback`], stopped when `stop` ends (the CLI passes Ctrl-C and SIGTERM): the lock is
/// released and [`Error::Interrupted`] returned.
pub async fn rollback_until(
    clients: &Clients,
    req: &RollbackRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    stop: impl std::future::Future<Output = ()>,
) -> Result<DeployReport> {
    check_cluster(clients, req.cluster).await?;
    let cluster_name = req.cluster.rsplit_once('/').map_or(req.cluster, |(_, n)| n);
    let slot = LockSlot::new(req.lock.clone());
    let work = async {
        let on_wait = |r: &lock::LockRecord| {
            progress(&format!(
                "waiting for the deploy lock of {} held by {} (environment {}) since {}",
                req.service,
                r.holder,
                r.environment,
                lock::rfc3339(r.acquired_at)
            ))
        };
        let held = lock::acquire(
            &clients.ssm,
            &lock::lock_path(cluster_name, req.service),
            req.environment,
            &slot.opts,
            &on_wait,
        )
        .await?;
        slot.put(held);
        locked_rollback(clients, req, progress, cluster_name).await
    };
    let outcome = interruptible(work, stop).await;
    let took_over_lock_from = slot.took_over();
    slot.release(progress).await;
    outcome.map(|r| DeployReport {
        took_over_lock_from,
        ..r
    })
}

async fn locked_rollback(
    clients: &Clients,
    req: &RollbackRequest<'_>,
    progress: &(dyn Fn(&str) + Sync),
    cluster_name: &str,
) -> Result<DeployReport> {
    let parameter = state::parameter_name(cluster_name, req.service, req.environment);
    let none = || Error::NoRollbackTarget {
        service: req.service.to_string(),
        environment: req.environment.to_string(),
    };
    let mut state = ops::read_state(clients, &parameter)
        .await?
        .ok_or_else(none)?;
    let live = describe_live(clients, req.cluster, req.service)
        .await?
        .ok_or_else(none)?;
    let running = live.task_definition().unwrap_or_default().to_string();
    let target = state
        .revisions
        .iter()
        .find(|r| match req.to_revision {
            Some(n) => r.number == n && !r.task_definition_arn.is_empty(),
            None => r.result == RevisionResult::Succeeded && r.task_definition_arn != running,
        })
        .cloned()
        .ok_or_else(none)?;
    progress(&format!(
        "rolling back {} from {} to revision {} ({})",
        req.service,
        wait::short(&running),
        target.number,
        wait::short(&target.task_definition_arn)
    ));
    let before = wait::Before {
        deployments: live
            .deployments()
            .iter()
            .filter_map(|d| d.id().map(str::to_string))
            .collect(),
        events: live
            .events()
            .iter()
            .filter_map(|e| e.id().map(str::to_string))
            .collect(),
    };
    let number = state.push(Revision {
        actor: req.actor.to_string(),
        started_at: now(),
        finished_at: None,
        result: RevisionResult::Pending,
        message: Some(format!("rollback to revision {}", target.number)),
        ..target.clone()
    });
    ops::write_state(clients, &parameter, &state).await?;
    let mut outcome = clients
        .ecs
        .update_service()
        .cluster(req.cluster)
        .service(req.service)
        .task_definition(&target.task_definition_arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error::aws("ecs:UpdateService", e));
    if outcome.is_ok()
        && let Some(w) = req.wait
    {
        let observer = EcsObserver {
            ecs: &clients.ecs,
            cluster: req.cluster.to_string(),
            service: req.service.to_string(),
        };
        outcome = wait::wait_for_rollout(
            &observer,
            req.service,
            &target.task_definition_arn,
            &before,
            w.timeout,
            w.poll,
            progress,
        )
        .await;
    }
    if let Some(rev) = state.revisions.first_mut() {
        let (result, message) = match &outcome {
            Ok(()) => (
                RevisionResult::Succeeded,
                format!("rollback to revision {}", target.number),
            ),
            Err(e) => (
                RevisionResult::Failed,
                format!("rollback to revision {}: {e}", target.number),
            ),
        };
        ops::finish(rev, result, Some(message), now());
    }
    let written = ops::write_state(clients, &parameter, &state).await;
    outcome?;
    written?;
    Ok(DeployReport {
        actions: vec![Action {
            resource: format!("service {}", req.service),
            change: Change::Updated(vec![format!(
                "taskDefinition: {} → {}",
                wait::short(&running),
                wait::short(&target.task_definition_arn)
            )]),
        }],
        task_definition_arn: target.task_definition_arn,
        revision: Some(number),
        state_parameter: parameter,
        took_over_lock_from: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use planton_core::refs::{Entry, Group, GroupSource, RefKind};
    use serde_json::json;

    struct Groups(Group);

    impl GroupSource for Groups {
        fn group(&self, kind: RefKind, name: &str) -> Option<&Group> {
            (kind == self.0.kind && name == self.0.name).then_some(&self.0)
        }
        fn describe(&self) -> String {
            "groups directory `groups/`".to_string()
        }
    }

    #[test]
    fn secrets_resolve_from_the_source_and_every_missing_one_is_named() {
        let source = Groups(Group {
            kind: RefKind::Secrets,
            name: "payments".into(),
            entries: BTreeMap::from([(
                "db".to_string(),
                Entry {
                    name: "db".into(),
                    description: String::new(),
                    value: SecretValue::new("s3cret"),
                },
            )]),
        });
        let ok = [json!({"op": "secret", "group": "payments", "entry": "db"})];
        let values = resolve_secrets(&ok, &source).unwrap_or_default();
        assert_eq!(
            values
                .get(&("payments".to_string(), "db".to_string()))
                .map(SecretValue::expose),
            Some("s3cret")
        );
        let bad = [
            json!({"op": "secret", "group": "payments", "entry": "api"}),
            json!({"op": "secret", "group": "billing", "entry": "db"}),
        ];
        let err = resolve_secrets(&bad, &source).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "groups directory `groups/` lacks $secrets-group/payments/api (no such entry), $secrets-group/billing/db (no such group)"
            )
        );
    }
}
