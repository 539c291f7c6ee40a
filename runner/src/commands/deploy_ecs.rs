//! `planton deploy`, `diff`, `status` and `rollback` for a kind whose target is AWS (an
//! `AwsEcsService`): a thin shell over `planton-deploy-ecs`, with the same flags, progress
//! lines on stderr, `--output json` and exit status as the Kubernetes path
//! ([`super::deploy`]), which dispatches here by the kind's declared target.
//!
//! The flow: build → validate (refusing on errors) → render by the sandboxed plugin (typed
//! contract-v2 AWS operations, checked by core's `Targets`) → resolve the `$secrets-group` entries the render names (environment
//! variables `PLANTON_SECRET_<GROUP>__<ENTRY>`, then the groups directory) → AWS
//! configuration by the AWS conventions (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`,
//! `AWS_ENDPOINT_URL`, …; the region is the cluster ARN's; `environments.<task>.profile` of
//! `planton.yaml` picks the profile) → the driver, which takes the deploy lock of the ECS
//! service before its first write (`--lock-wait`; refused with exit 2 naming the holder, as
//! the Kubernetes Lease) and releases it on every way out, Ctrl-C and SIGTERM included (exit
//! 130).
//!
//! The state is kept per task (the overlay's directory name), like the Kubernetes state.
//! Secret values live only in the map handed to the driver; they are never printed.
//! Exit status: 0 success (diff: no change), 1 the deploy failed or diff found changes,
//! 2 could not run (no credentials, no cluster, AWS refused a call).

use super::Outcome;
use super::deploy::{actor, discover, groups_source, runtime, str_at, with_lookup};
use crate::cli::{DeployArgs, DeployFormat, RollbackArgs, SecretStoreArg, StatusArgs};
use crate::files::DiskFiles;
use crate::plugins::Plugins;
use anyhow::{Result, anyhow};
use planton_core::kustomize::Build;
use planton_core::kustomize::build;
use planton_core::refs::SecretValue;
use planton_core::service::{Layout, ServiceConfig};
use planton_core::validate::out_to_json;
use planton_core::yaml::to_output;
use planton_deploy_ecs::{
    Action, AwsOptions, Change, Clients, DeployRequest, Error as EcsError, LockOptions,
    SecretStore, WaitOptions,
};
use planton_plugin_sdk::{DeployContext, RenderOutput, Target};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Whether the task `env` of the service at `path` is of a kind whose plugin declares the
/// AWS target. Any problem finding out answers `false`: the Kubernetes path then reports it
/// as before.
pub fn deploys_to_aws(path: &Path, env: Option<&str>) -> bool {
    let files = DiskFiles::new();
    let Ok(core) = DiskFiles::core_path(path) else {
        return false;
    };
    let Ok((layout, only)) = Layout::discover(&files, &core) else {
        return false;
    };
    let task = only.or_else(|| env.map(str::to_string)).or_else(|| {
        layout
            .overlays
            .iter()
            .find(|o| o.as_str() != "local")
            .cloned()
    });
    let Some(task) = task else { return false };
    let Ok(b) = build(&files, &layout.overlay_dir(&task)) else {
        return false;
    };
    let Some(r) = b.resources.first() else {
        return false;
    };
    let (config, _) = ServiceConfig::load(&files, &layout);
    let Ok(plugins) = Plugins::sandboxed(&config.plugins, &DiskFiles::local_path(&layout.root))
    else {
        return false;
    };
    plugins
        .targets()
        .target_of(r.api_version_str(), r.kind_str())
        == Some(Target::Aws)
}

/// Where one task lives in AWS, and who deploys it.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    pub(crate) task: String,
    pub(crate) service: String,
    pub(crate) cluster: String,
    pub(crate) region: String,
    /// `environments.<task>.profile` of `planton.yaml` (else the AWS conventions).
    pub(crate) profile: Option<String>,
}

/// Where `task` of the service in `layout` lives in AWS, from its build and `planton.yaml`
/// (what `status` resolves; the overlay is built, not validated).
pub(crate) fn place(layout: &Layout, task: &str) -> Result<Place> {
    let (config, _) = ServiceConfig::load(&DiskFiles::new(), layout);
    let (_, _, manifest) = built(layout, task)?;
    place_of(&manifest, task, profile_of(&config, task))
}

/// The AWS profile `planton.yaml` gives a task.
fn profile_of(config: &ServiceConfig, task: &str) -> Option<String> {
    config
        .environments
        .iter()
        .find(|e| e.overlay == task)
        .and_then(|e| e.profile.clone())
}

/// The service name and cluster of a built `AwsEcsService` (as its render names them).
fn place_of(manifest: &Value, task: &str, profile: Option<String>) -> Result<Place> {
    let service = Some(str_at(manifest, "/spec/ecsServiceName"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| str_at(manifest, "/metadata/name"))
        .to_string();
    let cluster = str_at(manifest, "/spec/clusterArn").to_string();
    // arn:<partition>:ecs:<region>:<account>:cluster/<name>
    let region = cluster
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            anyhow!("overlay `{task}`: spec.clusterArn {cluster:?} is not an ECS cluster ARN")
        })?
        .to_string();
    Ok(Place {
        task: task.to_string(),
        service,
        cluster,
        region,
        profile,
    })
}

/// One task, built, validated and rendered, with its secrets resolved.
struct Loaded {
    place: Place,
    manifest_yaml: String,
    operations: Vec<Value>,
    secrets: BTreeMap<(String, String), SecretValue>,
}

/// Builds the overlay of a task: the build, its manifest as stored (YAML) and as rendered
/// (JSON).
fn built(layout: &Layout, task: &str) -> Result<(Build, String, Value)> {
    let files = DiskFiles::new();
    let b = build(&files, &layout.overlay_dir(task))
        .map_err(|e| anyhow!("overlay `{task}`: {}", super::build::display_error(&e)))?;
    let yaml = b.to_yaml().map_err(|e| anyhow!("{e}"))?;
    let node = b
        .resources
        .first()
        .ok_or_else(|| anyhow!("overlay `{task}` builds no resource"))?;
    let out = to_output(&node.node).map_err(|e| anyhow!("{}: {}", e.pos, e.message))?;
    let manifest = out_to_json(&out);
    Ok((b, yaml, manifest))
}

/// Builds, validates (refusing on errors), renders and resolves one task. `Ok(Err(outcome))`
/// when the input has problems (already printed).
fn load(args: &DeployArgs) -> Result<Result<Loaded, Outcome>> {
    let (layout, task) = discover(&args.service, args.env.as_deref())?;
    let files = DiskFiles::new();
    let (config, config_diags) = ServiceConfig::load(&files, &layout);
    if let Err(outcome) = super::deploy::validate_or_refuse(args, &layout, &task, &config_diags)? {
        return Ok(Err(outcome));
    }
    let (b, manifest_yaml, manifest) = match built(&layout, &task) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: {e:#}");
            return Ok(Err(Outcome::Failed));
        }
    };
    if let Err(outcome) = super::deploy::expect_digest(args, &task, &manifest_yaml) {
        return Ok(Err(outcome));
    }
    let place = place_of(&manifest, &task, profile_of(&config, &task))?;
    // The sandboxed plugin renders; core checks the operations against the contract.
    let plugins = Plugins::sandboxed(&config.plugins, &DiskFiles::local_path(&layout.root))?;
    let context = DeployContext {
        image: args.image.clone(),
        namespace: None,
        env: None,
    };
    let operations = match plugins.targets().render(&b, &context) {
        Ok(RenderOutput::Aws { operations }) => operations,
        Ok(other) => {
            return Err(anyhow!(
                "overlay `{task}` renders for {}, not AWS",
                other.target()
            ));
        }
        Err(e) => {
            eprintln!("Error: {e} (overlay {task})");
            return Ok(Err(Outcome::Failed));
        }
    };
    let groups = groups_source(&layout, &config, args.groups.as_deref())?;
    let secrets = with_lookup(&groups, None, |lookup| {
        planton_deploy_ecs::resolve_secrets_with(&operations, &lookup.describe(), &|r| {
            lookup.lookup(r)
        })
    });
    let secrets = match secrets {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(Err(Outcome::Failed));
        }
    };
    Ok(Ok(Loaded {
        place,
        manifest_yaml,
        operations,
        secrets,
    }))
}

/// AWS clients for a task's region and profile (credentials and endpoint by the AWS
/// conventions; no profile in `planton.yaml`: `AWS_PROFILE`, then `default`).
pub(crate) async fn clients(place: &Place) -> planton_deploy_ecs::Result<Clients> {
    let opts = AwsOptions {
        region: Some(place.region.clone()),
        profile: place.profile.clone(),
        ..AwsOptions::default()
    };
    Ok(Clients::new(
        &planton_deploy_ecs::config::load(&opts).await?,
    ))
}

/// Exit status for a driver error: problems with what is deployed are 1, not being able to
/// run at all is 2.
fn error_outcome(e: &EcsError) -> Outcome {
    match e {
        // AWS refused what was asked (as a Kubernetes admission refusal): the input's fault.
        EcsError::Aws {
            code: Some(code), ..
        } if [
            "InvalidParameterException",
            "ValidationException",
            "ClientException",
        ]
        .contains(&code.as_str()) =>
        {
            Outcome::Failed
        }
        // Another deploy holds the lock: exit 2, as the Kubernetes lock refusal.
        EcsError::Credentials { .. }
        | EcsError::Cluster { .. }
        | EcsError::Aws { .. }
        | EcsError::State { .. }
        | EcsError::Locked(_)
        | EcsError::LockLost { .. }
        | EcsError::StateMoved { .. } => Outcome::CouldNotRun,
        // 128 + SIGINT, as shells report an interrupted command.
        EcsError::Interrupted => Outcome::Code(130),
        _ => Outcome::Failed,
    }
}

fn report_error(e: &EcsError, format: DeployFormat) -> Result<Outcome> {
    let outcome = error_outcome(e);
    eprintln!("Error: {e}");
    if format == DeployFormat::Json {
        let v = json!({"result": "error", "error": e.to_string(), "exitCode": outcome.code()});
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(outcome)
}

fn secret_store(args: &DeployArgs) -> SecretStore {
    match args.secret_store {
        SecretStoreArg::SecretsManager => SecretStore::SecretsManager,
        SecretStoreArg::Ssm => SecretStore::SsmSecureString,
    }
}

/// How long to wait and how often to look: every 10 s, more often for short timeouts.
fn wait_options(timeout: Duration) -> WaitOptions {
    WaitOptions {
        timeout,
        poll: (timeout / 30).clamp(Duration::from_secs(1), Duration::from_secs(10)),
    }
}

/// The deploy lock: held as `user@host:pid` (as the Kubernetes Lease), waited for up to
/// `--lock-wait`.
fn lock_options(args: &DeployArgs, actor: &str) -> LockOptions {
    LockOptions {
        holder: format!("{actor}:{}", std::process::id()),
        wait: args.lock_wait,
        ..LockOptions::default()
    }
}

/// `create`, `change` or `unchanged`, as the Kubernetes diff says it.
fn action_word(c: &Change) -> &'static str {
    match c {
        Change::Created => "create",
        Change::Updated(_) => "change",
        Change::Unchanged => "unchanged",
    }
}

fn action_json(a: &Action) -> Value {
    let fields = match &a.change {
        Change::Updated(f) => f.clone(),
        _ => Vec::new(),
    };
    json!({"object": a.resource, "action": action_word(&a.change), "fields": fields})
}

fn print_actions(out: &mut impl Write, actions: &[Action]) -> Result<()> {
    for a in actions {
        writeln!(out, "  {:<50} {}", a.resource, action_word(&a.change))?;
        if let Change::Updated(fields) = &a.change {
            for f in fields {
                writeln!(out, "      {f}")?;
            }
        }
    }
    Ok(())
}

fn progress(line: &str) {
    eprintln!("{line}");
}

/// Runs `planton deploy` for an AWS kind.
pub fn deploy(args: &DeployArgs) -> Result<Outcome> {
    let loaded = match load(args)? {
        Ok(l) => l,
        Err(o) => return Ok(o),
    };
    let actor = actor();
    let p = &loaded.place;
    runtime()?.block_on(async {
        let clients = match clients(p).await {
            Ok(c) => c,
            Err(e) => return report_error(&e, args.output),
        };
        progress(&format!(
            "deploying {}/{} to ECS cluster {} ({})",
            p.service, p.task, p.cluster, p.region
        ));
        let req = DeployRequest {
            operations: &loaded.operations,
            secrets: &loaded.secrets,
            environment: &p.task,
            manifest: &loaded.manifest_yaml,
            actor: &actor,
            secret_store: secret_store(args),
            wait: Some(wait_options(args.timeout)),
            lock: lock_options(args, &actor),
        };
        match planton_deploy_ecs::deploy_until(
            &clients,
            &req,
            &progress,
            crate::signals::stop_requested(),
        )
        .await
        {
            Ok(report) => {
                let message = match report.revision {
                    Some(n) => format!(
                        "deployed {}/{}: revision {n}, task definition {}",
                        p.service,
                        p.task,
                        planton_deploy_ecs::wait::short(&report.task_definition_arn)
                    ),
                    None => format!(
                        "{}/{} is up to date: nothing changed ({})",
                        p.service,
                        p.task,
                        planton_deploy_ecs::wait::short(&report.task_definition_arn)
                    ),
                };
                print_success(args.output, p, &report, &message)
            }
            Err(e) => report_error(&e, args.output),
        }
    })
}

/// Prints a deploy's or rollback's success: the message and each resource's change (text),
/// or one JSON object (`-o json`) with the target, revision and state parameter.
fn print_success(
    format: DeployFormat,
    p: &Place,
    report: &planton_deploy_ecs::DeployReport,
    message: &str,
) -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    match format {
        DeployFormat::Json => {
            let v = json!({
                "target": {"service": p.service, "task": p.task, "cluster": p.cluster, "region": p.region},
                "result": "succeeded",
                "revision": report.revision,
                "changed": !report.unchanged(),
                "taskDefinition": report.task_definition_arn,
                "stateParameter": report.state_parameter,
                "tookOverLockFrom": report.took_over_lock_from,
                "objects": report.actions.iter().map(action_json).collect::<Vec<_>>(),
                "message": message,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        DeployFormat::Text => {
            writeln!(out, "{message}")?;
            print_actions(&mut out, &report.actions)?;
        }
    }
    Ok(Outcome::Success)
}

/// Runs `planton diff` for an AWS kind: what a deploy would change, field by field.
pub fn diff(args: &DeployArgs) -> Result<Outcome> {
    let loaded = match load(args)? {
        Ok(l) => l,
        Err(o) => return Ok(o),
    };
    let actor = actor();
    let p = &loaded.place;
    runtime()?.block_on(async {
        let clients = match clients(p).await {
            Ok(c) => c,
            Err(e) => return report_error(&e, args.output),
        };
        let req = DeployRequest {
            operations: &loaded.operations,
            secrets: &loaded.secrets,
            environment: &p.task,
            manifest: &loaded.manifest_yaml,
            actor: &actor,
            secret_store: secret_store(args),
            wait: None,
            lock: lock_options(args, &actor),
        };
        match planton_deploy_ecs::diff(&clients, &req, &|_| {}).await {
            Ok(actions) => {
                let changes = actions.iter().any(|a| a.change != Change::Unchanged);
                let mut out = std::io::stdout().lock();
                match args.output {
                    DeployFormat::Json => {
                        let v = json!({
                            "target": {"service": p.service, "task": p.task, "cluster": p.cluster, "region": p.region},
                            "objects": actions.iter().map(action_json).collect::<Vec<_>>(),
                            "changes": changes,
                        });
                        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                    }
                    DeployFormat::Text => {
                        for a in &actions {
                            match &a.change {
                                Change::Unchanged => {}
                                Change::Created => writeln!(out, "+ {} (created)", a.resource)?,
                                Change::Updated(fields) => {
                                    writeln!(out, "~ {}", a.resource)?;
                                    for f in fields {
                                        writeln!(out, "    {f}")?;
                                    }
                                }
                            }
                        }
                        if !changes {
                            writeln!(out, "no changes")?;
                        }
                    }
                }
                Ok(if changes {
                    Outcome::Failed
                } else {
                    Outcome::Success
                })
            }
            Err(e) => {
                report_error(&e, args.output)?;
                Ok(Outcome::CouldNotRun)
            }
        }
    })
}

/// Runs `planton rollback` for an AWS kind: the task definition of an earlier revision.
pub fn rollback(args: &RollbackArgs) -> Result<Outcome> {
    let d = &args.deploy;
    // Where the task lives comes from the current build, neither validated nor rendered, so
    // a rollback works while the overlay is broken.
    let (layout, task) = discover(&d.service, d.env.as_deref())?;
    let (_, _, manifest) = built(&layout, &task)?;
    let (config, _) = ServiceConfig::load(&DiskFiles::new(), &layout);
    let p = place_of(&manifest, &task, profile_of(&config, &task))?;
    let actor = actor();
    runtime()?.block_on(async {
        let clients = match clients(&p).await {
            Ok(c) => c,
            Err(e) => return report_error(&e, d.output),
        };
        let req = planton_deploy_ecs::RollbackRequest {
            cluster: &p.cluster,
            service: &p.service,
            environment: &p.task,
            actor: &actor,
            to_revision: args.to_revision,
            wait: Some(wait_options(d.timeout)),
            lock: lock_options(d, &actor),
        };
        match planton_deploy_ecs::rollback_until(
            &clients,
            &req,
            &progress,
            crate::signals::stop_requested(),
        )
        .await
        {
            Ok(report) => {
                let message = format!(
                    "rolled back {}/{}: revision {}, task definition {}",
                    p.service,
                    p.task,
                    report.revision.unwrap_or_default(),
                    planton_deploy_ecs::wait::short(&report.task_definition_arn)
                );
                print_success(d.output, &p, &report, &message)
            }
            Err(e) => report_error(&e, d.output),
        }
    })
}

/// True when every object [`planton_deploy_ecs::health::service_health`] judges is
/// `Current` (the service active, on one deployment, as many tasks running as desired; the
/// newest revision succeeded): what the server's health endpoint calls ready. A task never
/// deployed is not unhealthy.
fn healthy(p: &Place, s: &planton_deploy_ecs::StatusReport) -> bool {
    planton_deploy_ecs::health::service_health(s, &p.task, "", &p.cluster, &p.service)
        .objects
        .iter()
        .all(|o| o.health.status == planton_core::api::ObjectStatus::Current)
}

/// Runs `planton status` for an AWS kind: per task, the live service (deployments,
/// running/desired counts, recent events) and the stored revisions.
pub fn status(args: &StatusArgs) -> Result<Outcome> {
    let files = DiskFiles::new();
    let path = DiskFiles::core_path(&args.service)
        .map_err(|e| anyhow!("cannot resolve {}: {e}", args.service.display()))?;
    let (layout, only) = Layout::discover(&files, &path).map_err(anyhow::Error::msg)?;
    let tasks: Vec<String> = match (only, &args.env) {
        (Some(o), _) => vec![o],
        (None, Some(e)) => vec![e.clone()],
        (None, None) => layout
            .overlays
            .iter()
            .filter(|o| o.as_str() != "local")
            .cloned()
            .collect(),
    };
    let places = tasks
        .iter()
        .map(|t| place(&layout, t))
        .collect::<Result<Vec<_>>>()?;
    let rt = runtime()?;
    rt.block_on(async {
        // One set of clients per region and profile.
        let mut by_region: BTreeMap<(String, Option<String>), Clients> = BTreeMap::new();
        loop {
            let mut all = Vec::new();
            for p in &places {
                let key = (p.region.clone(), p.profile.clone());
                if !by_region.contains_key(&key) {
                    match clients(p).await {
                        Ok(c) => by_region.insert(key.clone(), c),
                        Err(e) => return report_error(&e, args.output),
                    };
                }
                let Some(c) = by_region.get(&key) else {
                    continue;
                };
                match planton_deploy_ecs::status(c, &p.cluster, &p.service, &p.task).await {
                    Ok(s) => all.push((p, s)),
                    Err(e) => return report_error(&e, args.output),
                }
            }
            let mut out = std::io::stdout().lock();
            match args.output {
                DeployFormat::Json => {
                    let v: Vec<Value> = all
                        .iter()
                        .map(|(p, s)| {
                            json!({
                                "task": p.task,
                                "service": p.service,
                                "cluster": p.cluster,
                                "region": p.region,
                                "healthy": healthy(p, s),
                                "live": s.live,
                                "taskDefinition": s.task_definition,
                                "revisions": s.state.as_ref().map(|st| st.revisions.iter().map(|r| json!({
                                    "revision": r.number,
                                    "result": r.result,
                                    "image": r.image,
                                    "digest": r.digest,
                                    "taskDefinition": r.task_definition_arn,
                                    "actor": r.actor,
                                    "startedAt": r.started_at,
                                    "finishedAt": r.finished_at,
                                    "message": r.message,
                                })).collect::<Vec<_>>()).unwrap_or_default(),
                            })
                        })
                        .collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                }
                DeployFormat::Text => {
                    for (p, s) in &all {
                        writeln!(
                            out,
                            "{} (service {}, cluster {}):",
                            p.task,
                            p.service,
                            planton_deploy_ecs::wait::short(&p.cluster)
                        )?;
                        write!(out, "{s}")?;
                    }
                }
            }
            if !args.watch {
                let ok = all.iter().all(|(p, s)| healthy(p, s));
                return Ok(if ok { Outcome::Success } else { Outcome::Failed });
            }
            drop(out);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}
