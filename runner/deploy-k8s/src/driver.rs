//! The deploy path: prepare the render (resolve references, label, digest), compare every
//! object with a server-side dry-run, and, only when something differs, take the lock,
//! record a pending revision, apply what differs in kind order, prune, wait by the kstatus
//! rules, and record the result. `diff` and `rollback` reuse the same steps; live health is
//! [`crate::health`].
//!
//! Crash safety: the pending revision (with its inventory) is written before the first
//! object, so a deploy killed at any point leaves a record; the next run takes over the
//! expired lock, treats the pending inventory as previous (so prune sees what the dead run
//! applied), applies whatever still differs and marks the dead revision `failed`.

use crate::client::{Cluster, Requests};
use crate::diff;
use crate::error::{Action, Error, Result};
use crate::explain::{Explanation, explain};
use crate::inventory::{Entry, inventory, stale};
use crate::kstatus::{Health, Status, compute};
use crate::lock::{self, LockOptions};
use crate::object::ObjectRef;
use crate::order::sort_for_apply;
use crate::prepare::{self, FIELD_MANAGER};
use crate::resources::{self, Resolved};
use crate::secrets::{self, Lookup, SecretItem};
use crate::state::{self, EncodeOptions, Outcome, Revision, ServiceState, TaskState};
use base64::Engine as _;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The Secret holding the namespace's digest key (random bytes, created on first deploy).
pub const DIGEST_KEY_SECRET: &str = "planton.digest-key";

/// Where a task deploys.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// The service (`metadata.name`).
    pub service: String,
    /// The task (overlay directory).
    pub task: String,
    /// `metadata.env`.
    pub env: String,
    /// The service kind.
    pub kind: String,
    /// The namespace.
    pub namespace: String,
}

/// Deploy settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long to wait for readiness.
    pub timeout: Duration,
    /// Delete objects of the previous inventory that are no longer rendered.
    pub prune: bool,
    /// Take fields owned by other field managers.
    pub force_conflicts: bool,
    /// Revisions kept per task.
    pub keep: usize,
    /// The lease duration of the lock.
    pub lock_duration: Duration,
    /// How long to wait for another deploy's lock.
    pub lock_wait: Duration,
    /// Poll period while waiting.
    pub poll: Duration,
    /// State encoding (compression threshold, size limit).
    pub encode: EncodeOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(300),
            prune: true,
            force_conflicts: false,
            keep: state::DEFAULT_KEEP,
            lock_duration: Duration::from_secs(15),
            lock_wait: Duration::from_secs(120),
            poll: Duration::from_millis(1000),
            encode: EncodeOptions::default(),
        }
    }
}

/// One deploy (or rollback).
pub struct Request<'a> {
    /// Where.
    pub target: Target,
    /// The service manifest as built (stored; references only).
    pub manifest: String,
    /// The image deployed.
    pub image: Option<String>,
    /// The rendered objects, with references.
    pub objects: Vec<Value>,
    /// Where reference values come from.
    pub lookup: &'a dyn Lookup,
    /// `deploy`, or `rollback to N`.
    pub source: String,
    /// Who deploys.
    pub actor: String,
    /// This process, for the lock and pending revisions (`actor:host:pid`).
    pub holder: String,
    /// Settings.
    pub options: Options,
}

/// A sink of positions within a phase: `(phase, done, total)`.
pub type StepSink<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// Progress lines (stderr in the CLI), each prefixed with the elapsed time, and optionally
/// the position within the current phase (for a progress bar on a terminal).
pub struct Progress<'a> {
    start: Instant,
    sink: &'a mut dyn FnMut(&str),
    steps: Option<StepSink<'a>>,
}

impl<'a> Progress<'a> {
    /// Progress into a sink.
    pub fn new(sink: &'a mut dyn FnMut(&str)) -> Progress<'a> {
        Progress {
            start: Instant::now(),
            sink,
            steps: None,
        }
    }

    /// Progress into a sink of lines and a sink of positions: `(phase, done, total)`, where
    /// the phases are `apply` (objects compared and written) and `ready` (objects Current).
    pub fn with_steps(sink: &'a mut dyn FnMut(&str), steps: StepSink<'a>) -> Progress<'a> {
        Progress {
            start: Instant::now(),
            sink,
            steps: Some(steps),
        }
    }

    /// One line.
    pub fn line(&mut self, msg: &str) {
        let s = self.start.elapsed().as_secs_f64();
        (self.sink)(&format!("[{s:>6.1}s] {msg}"));
    }

    /// The position within a phase.
    pub fn step(&mut self, phase: &str, done: usize, total: usize) {
        if let Some(f) = self.steps.as_mut() {
            f(phase, done as u64, total as u64);
        }
    }
}

/// What happened to one object.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectResult {
    /// `Deployment ns/name`.
    pub object: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// `created`, `configured`, `unchanged`, `pruned`.
    pub action: &'static str,
    /// Health after the wait (absent for pruned objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// The result of a deploy.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Where.
    pub target: Target,
    /// `succeeded` or `failed`.
    pub result: &'static str,
    /// The revision now current (the new one, or the unchanged one).
    pub revision: u64,
    /// Whether anything was written.
    pub changed: bool,
    /// Every object.
    pub objects: Vec<ObjectResult>,
    /// A one-line summary.
    pub message: String,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// The holder whose expired lock this run took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_over_lock_from: Option<String>,
    /// Pending revisions of dead deploys that this run closed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub abandoned_revisions: Vec<u64>,
    /// API requests made.
    pub requests: Requests,
    /// Wall time.
    pub elapsed_ms: u128,
}

struct Item {
    r: ObjectRef,
    res: Resolved,
    desired: Value,
    live: Option<Value>,
    /// The dry-run result (`None` when the namespace does not exist yet).
    after: Value,
    changed: bool,
}

struct Prepared {
    objects: Vec<Value>,
    secrets: Vec<SecretItem>,
}

/// Resolves references, labels, and sorts (pure; no digest yet).
fn prepare(req: &Request<'_>) -> Result<Prepared> {
    let mut objects = req.objects.clone();
    let m = secrets::materialize(&mut objects, req.lookup).map_err(Error::References)?;
    prepare::label(&mut objects, &req.target.service, &req.target.task);
    sort_for_apply(&mut objects, |o| {
        o.get("kind").and_then(Value::as_str).unwrap_or("")
    });
    Ok(Prepared {
        objects,
        secrets: m.secrets,
    })
}

fn ns_action(verb: &'static str, resource: &str, ns: &str, name: &str) -> Action {
    Action {
        verb,
        resource: resource.to_string(),
        namespace: Some(ns.to_string()),
        name: Some(name.to_string()),
    }
}

/// Reads the state ConfigMap of a service (empty when absent).
pub async fn read_state(cluster: &Cluster, namespace: &str, service: &str) -> Result<ServiceState> {
    let name = state::configmap_name(service);
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(cluster.client.clone(), namespace);
    let cm = cluster
        .call(
            || ns_action("get", "configmaps", namespace, &name),
            || api.get_opt(&name),
        )
        .await?;
    let Some(cm) = cm else {
        return Ok(ServiceState::default());
    };
    let enc = state::Encoded {
        data: cm.data.unwrap_or_default(),
        binary_data: cm
            .binary_data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
    };
    state::decode(&enc).map_err(|source| Error::State {
        name,
        namespace: namespace.to_string(),
        source,
    })
}

async fn write_state(
    cluster: &Cluster,
    target: &Target,
    st: &ServiceState,
    opts: EncodeOptions,
) -> Result<()> {
    let name = state::configmap_name(&target.service);
    let enc = state::encode(st, opts).map_err(|source| Error::State {
        name: name.clone(),
        namespace: target.namespace.clone(),
        source,
    })?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": target.namespace,
            "labels": {
                prepare::MANAGED_BY: prepare::MANAGER,
                state::STATE_LABEL: "v1",
                state::SERVICE_LABEL: target.service,
            },
        },
        "data": enc.data,
        "binaryData": enc.binary_data.iter().map(|(k, v)| (k.clone(), b64.encode(v))).collect::<BTreeMap<_, _>>(),
    });
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(cluster.client.clone(), &target.namespace);
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(&cm);
    cluster
        .call(
            || ns_action("patch", "configmaps", &target.namespace, &name),
            || api.patch(&name, &pp, &patch),
        )
        .await?;
    Ok(())
}

/// Reads the namespace's digest key; `None` when it does not exist yet.
async fn read_digest_key(cluster: &Cluster, namespace: &str) -> Result<Option<Vec<u8>>> {
    let api: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client.clone(), namespace);
    let s = cluster
        .call(
            || ns_action("get", "secrets", namespace, DIGEST_KEY_SECRET),
            || api.get_opt(DIGEST_KEY_SECRET),
        )
        .await?;
    Ok(s.and_then(|s| s.data)
        .and_then(|mut d| d.remove("key"))
        .map(|b| b.0))
}

async fn create_digest_key(cluster: &Cluster, namespace: &str, key: &[u8]) -> Result<Vec<u8>> {
    let api: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client.clone(), namespace);
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": {"name": DIGEST_KEY_SECRET, "namespace": namespace,
            "labels": {prepare::MANAGED_BY: prepare::MANAGER}},
        "type": "Opaque",
        "data": {"key": base64::engine::general_purpose::STANDARD.encode(key)},
    }))
    .map_err(|e| Error::Config(e.to_string()))?;
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(key.to_vec()),
        // Created by an earlier run that died: use that one.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(read_digest_key(cluster, namespace)
            .await?
            .unwrap_or_else(|| key.to_vec())),
        Err(e) => Err(crate::client::classify(
            ns_action("create", "secrets", namespace, DIGEST_KEY_SECRET),
            1,
            e,
        )),
    }
}

fn random_key() -> Result<Vec<u8>> {
    let mut k = vec![0u8; 32];
    getrandom::fill(&mut k)
        .map_err(|e| Error::Config(format!("no randomness for the digest key: {e}")))?;
    Ok(k)
}

/// The compare phase: dry-run every object against the live one.
async fn plan(
    cluster: &Cluster,
    target: &Target,
    objects: &[Value],
    force: bool,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut namespace_missing = false;
    for (i, obj) in objects.iter().enumerate() {
        let r = ObjectRef::of(obj, i)?;
        let res = resources::resolve(cluster, &r).await?;
        let mut r = r;
        if res.namespaced {
            match &r.namespace {
                Some(ns) if ns != &target.namespace => {
                    return Err(Error::WrongNamespace {
                        object: Box::new(r.clone()),
                        found: ns.clone(),
                        expected: target.namespace.clone(),
                    });
                }
                _ => r.namespace = Some(target.namespace.clone()),
            }
        }
        let mut desired = obj.clone();
        if res.namespaced {
            desired["metadata"]["namespace"] = json!(target.namespace);
        }
        let api = resources::api(cluster, &res, r.namespace.as_deref());
        if res.namespaced && namespace_missing {
            items.push(Item {
                after: desired.clone(),
                r,
                res,
                desired,
                live: None,
                changed: true,
            });
            continue;
        }
        let live = resources::get(cluster, &res, &r)
            .await?
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
        if r.kind == "Namespace" && r.name == target.namespace && live.is_none() {
            namespace_missing = true;
        }
        let mut pp = PatchParams::apply(FIELD_MANAGER).dry_run();
        pp.force = force;
        let patch = Patch::Apply(&desired);
        let after = cluster
            .call(
                || resources::action("patch", &res, &r),
                || api.patch(&r.name, &pp, &patch),
            )
            .await?;
        let after = serde_json::to_value(after).unwrap_or(Value::Null);
        let changed = diff::changes(live.as_ref(), &after);
        items.push(Item {
            r,
            res,
            desired,
            live,
            after,
            changed,
        });
    }
    Ok(items)
}

fn label_of(r: &ObjectRef) -> String {
    r.to_string()
}

/// Everything before the writes: prepared objects with the digest, the compare, the state.
struct Phase1 {
    items: Vec<Item>,
    state: ServiceState,
    digest_key: Option<Vec<u8>>,
    key_exists: bool,
}

async fn phase1(cluster: &Cluster, req: &Request<'_>, prepared: &Prepared) -> Result<Phase1> {
    let t = &req.target;
    let st = read_state(cluster, &t.namespace, &t.service).await?;
    if let Some(other) = st.tasks.values().find(|o| o.task != t.task) {
        return Err(Error::NamespaceTaken {
            service: t.service.clone(),
            namespace: t.namespace.clone(),
            other_task: other.task.clone(),
            other_env: other.env.clone(),
        });
    }
    let mut objects = prepared.objects.clone();
    let (digest_key, key_exists) = if prepared.secrets.is_empty() {
        (None, true)
    } else {
        match read_digest_key(cluster, &t.namespace).await? {
            Some(k) => (Some(k), true),
            None => (Some(random_key()?), false),
        }
    };
    if let Some(k) = &digest_key
        && let Some(d) = secrets::digest(k, &prepared.secrets)
    {
        secrets::annotate_pod_templates(&mut objects, &d);
    }
    let items = plan(cluster, t, &objects, req.options.force_conflicts).await?;
    Ok(Phase1 {
        items,
        state: st,
        digest_key,
        key_exists,
    })
}

fn previous_inventories(task: Option<&TaskState>) -> Vec<Vec<Entry>> {
    let Some(task) = task else { return Vec::new() };
    let mut out: Vec<Vec<Entry>> = task.pending().map(|r| r.inventory.clone()).collect();
    if let Some(r) = task.last_finished() {
        out.push(r.inventory.clone());
    }
    out
}

async fn stale_live(
    cluster: &Cluster,
    target: &Target,
    previous: &[Vec<Entry>],
    next: &[Entry],
) -> Result<Vec<(ObjectRef, Resolved)>> {
    let prev: Vec<&[Entry]> = previous.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    for r in stale(&prev, next) {
        let res = resources::resolve(cluster, &r).await?;
        let live = resources::get(cluster, &res, &r).await?;
        let owned = live
            .and_then(|o| serde_json::to_value(o).ok())
            .is_some_and(|v| prepare::owned_by(&v, &target.service, &target.task));
        if owned {
            out.push((r, res));
        }
    }
    Ok(out)
}

fn now() -> String {
    Timestamp::now().to_string()
}

/// Deploys: see the module doc. Returns a report for successes and failed rollouts alike;
/// `Err` means the deploy could not run (or an apply was refused).
pub async fn deploy(
    cluster: &Cluster,
    req: &Request<'_>,
    progress: &mut Progress<'_>,
) -> Result<Report> {
    deploy_until(cluster, req, progress, std::future::pending()).await
}

/// [`deploy`], stopped when `stop` ends (the CLI passes Ctrl-C and SIGTERM) while the lock is
/// held: the work stops between two calls, the Lease is released and
/// [`Error::Interrupted`] returned; the revision stays pending, which the next deploy treats
/// as a crashed run (its objects count as previous for prune).
pub async fn deploy_until(
    cluster: &Cluster,
    req: &Request<'_>,
    progress: &mut Progress<'_>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Report> {
    let start = Instant::now();
    let t = &req.target;
    let prepared = prepare(req)?;
    let mut p1 = phase1(cluster, req, &prepared).await?;
    let digest = state::manifest_digest(&req.manifest);
    let task_state = p1.state.tasks.get(&t.task);
    let previous = previous_inventories(task_state);
    let next_inv = inventory(&p1.items.iter().map(|i| i.r.clone()).collect::<Vec<_>>());
    let mut to_prune = if req.options.prune {
        stale_live(cluster, t, &previous, &next_inv).await?
    } else {
        Vec::new()
    };
    let any_change = p1.items.iter().any(|i| i.changed);
    let last = task_state.and_then(|s| s.last_finished()).cloned();
    let unchanged_revision = last.as_ref().filter(|l| {
        l.result == Outcome::Succeeded
            && l.manifest_digest == digest
            && l.image == req.image
            && task_state.is_some_and(|s| s.pending().next().is_none())
    });
    if !any_change
        && to_prune.is_empty()
        && let Some(l) = unchanged_revision
    {
        progress.line(&format!(
            "no changes: {} object(s) match revision {} of {}/{}",
            p1.items.len(),
            l.revision,
            t.service,
            t.task
        ));
        let revision = l.revision;
        let (ok, healths, explanation) = wait(cluster, req, &p1.items, progress).await?;
        let objects = results(&p1.items, &healths, &[]);
        return Ok(Report {
            target: t.clone(),
            result: if ok { "succeeded" } else { "failed" },
            revision,
            changed: false,
            message: if ok {
                format!("no changes; revision {revision} is current and ready")
            } else {
                format!("no changes, but revision {revision} is not ready")
            },
            objects,
            explanation,
            took_over_lock_from: None,
            abandoned_revisions: Vec::new(),
            requests: cluster.counters.snapshot(),
            elapsed_ms: start.elapsed().as_millis(),
        });
    }

    // Something to write: take the lock.
    let lock_name = lock::lease_name(&t.service, &t.task);
    let lock_opts = LockOptions {
        duration: req.options.lock_duration,
        wait: req.options.lock_wait,
        holder: req.holder.clone(),
    };
    // The lock lives in the target namespace; create that first when it is missing.
    let ns_index = p1
        .items
        .iter()
        .position(|i| i.r.kind == "Namespace" && i.r.name == t.namespace);
    if let Some(ix) = ns_index
        && p1.items[ix].live.is_none()
    {
        apply_item(
            cluster,
            &p1.items[ix],
            req.options.force_conflicts,
            progress,
        )
        .await?;
    }
    let held = lock::acquire(
        cluster,
        &t.namespace,
        &lock_name,
        &lock_opts,
        &mut |holder| {
            progress.line(&format!("waiting for the deploy lock held by {holder}"));
        },
    )
    .await?;
    if let Some(prev) = &held.took_over {
        progress.line(&format!(
            "took over the expired deploy lock of {prev} (that deploy stopped without releasing it)"
        ));
    }
    let result = tokio::select! {
        r = locked_deploy(
            cluster,
            req,
            progress,
            &mut p1,
            &mut to_prune,
            &held,
            digest,
            start,
        ) => r,
        _ = stop => Err(Error::Interrupted),
    };
    held.release().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn locked_deploy(
    cluster: &Cluster,
    req: &Request<'_>,
    progress: &mut Progress<'_>,
    p1: &mut Phase1,
    to_prune: &mut Vec<(ObjectRef, Resolved)>,
    held: &lock::Held,
    digest: String,
    start: Instant,
) -> Result<Report> {
    let t = &req.target;
    if !held.waited.is_zero() || held.took_over.is_some() {
        // Another deploy ran meanwhile: compare again.
        let prepared = prepare(req)?;
        *p1 = phase1(cluster, req, &prepared).await?;
        let task_state = p1.state.tasks.get(&t.task);
        let previous = previous_inventories(task_state);
        let next_inv = inventory(&p1.items.iter().map(|i| i.r.clone()).collect::<Vec<_>>());
        *to_prune = if req.options.prune {
            stale_live(cluster, t, &previous, &next_inv).await?
        } else {
            Vec::new()
        };
    }
    let mut st = p1.state.clone();
    let task = st
        .tasks
        .entry(t.task.clone())
        .or_insert_with(|| TaskState::new(&t.task, &t.env, &t.kind));
    task.env = t.env.clone();
    let revision = task.next_revision();
    let abandoned: Vec<u64> = task.pending().map(|r| r.revision).collect();
    let inv = inventory(&p1.items.iter().map(|i| i.r.clone()).collect::<Vec<_>>());
    let mut rev = Revision {
        revision,
        result: Outcome::Pending,
        manifest: req.manifest.clone(),
        manifest_digest: digest,
        image: req.image.clone(),
        started_at: now(),
        finished_at: None,
        actor: req.actor.clone(),
        owner: Some(req.holder.clone()),
        source: req.source.clone(),
        message: String::new(),
        // The union with the objects still to prune, so a crash before prune is not lost.
        inventory: {
            let mut all = inv.clone();
            all.extend(to_prune.iter().map(|(r, _)| Entry::of(r)));
            all.sort();
            all.dedup();
            all
        },
    };
    task.record(rev.clone(), req.options.keep);
    write_state(cluster, t, &st, req.options.encode).await?;
    progress.line(&format!(
        "revision {revision} of {}/{} pending ({}), namespace {}",
        t.service, t.task, req.source, t.namespace
    ));
    if !p1.key_exists
        && let Some(k) = &p1.digest_key
    {
        let stored = create_digest_key(cluster, &t.namespace, k).await?;
        if &stored != k {
            // A dead run created another key: recompute the digest with it.
            let prepared = prepare(req)?;
            *p1 = phase1(cluster, req, &prepared).await?;
        }
    }

    let mut actions: Vec<&'static str> = Vec::new();
    let total = p1.items.len();
    for (i, item) in p1.items.iter().enumerate() {
        progress.step("apply", i, total);
        let a = if !item.changed {
            "unchanged"
        } else if item.live.is_none() {
            "created"
        } else {
            "configured"
        };
        if item.changed
            && !(item.r.kind == "Namespace"
                && item.r.name == t.namespace
                && item.live.is_none()
                && namespace_exists(cluster, &item.r).await)
        {
            apply_item(cluster, item, req.options.force_conflicts, progress).await?;
        }
        actions.push(a);
    }
    let mut pruned = Vec::new();
    for (r, res) in to_prune.iter() {
        let api = resources::api(cluster, res, r.namespace.as_deref());
        let dp = DeleteParams::background();
        let deleted = cluster
            .call(
                || resources::action("delete", res, r),
                || api.delete(&r.name, &dp),
            )
            .await;
        match deleted {
            Ok(_) | Err(Error::Refused { code: 404, .. }) => {
                progress.line(&format!("pruned {r}"));
                pruned.push(r.clone());
            }
            Err(e) => return Err(e),
        }
    }

    let (ok, healths, explanation) = wait(cluster, req, &p1.items, progress).await?;
    let mut objects = results_with(&p1.items, &healths, &actions);
    objects.extend(pruned.iter().map(|r| ObjectResult {
        object: label_of(r),
        kind: r.kind.clone(),
        name: r.name.clone(),
        action: "pruned",
        health: None,
    }));
    let changed_count = actions.iter().filter(|a| **a != "unchanged").count();
    let message = if ok {
        format!(
            "revision {revision} deployed: {changed_count} object(s) applied, {} unchanged, {} pruned; all ready",
            actions.len() - changed_count,
            pruned.len()
        )
    } else {
        format!(
            "revision {revision} failed: not ready within {} s",
            req.options.timeout.as_secs()
        )
    };

    // Record the result and close revisions of deploys that died.
    let mut st = read_state(cluster, &t.namespace, &t.service).await?;
    let task = st
        .tasks
        .entry(t.task.clone())
        .or_insert_with(|| TaskState::new(&t.task, &t.env, &t.kind));
    for n in &abandoned {
        if let Some(mut r) = task.revision(*n).cloned() {
            r.result = Outcome::Failed;
            r.message = "abandoned: the deploy that recorded it stopped before finishing".into();
            r.owner = None;
            task.record(r, req.options.keep);
        }
    }
    rev.result = if ok {
        Outcome::Succeeded
    } else {
        Outcome::Failed
    };
    rev.finished_at = Some(now());
    rev.owner = None;
    rev.inventory = inv;
    rev.message = message.clone();
    task.record(rev, req.options.keep);
    write_state(cluster, t, &st, req.options.encode).await?;
    progress.line(&message);
    Ok(Report {
        target: t.clone(),
        result: if ok { "succeeded" } else { "failed" },
        revision,
        changed: true,
        objects,
        message,
        explanation,
        took_over_lock_from: held.took_over.clone(),
        abandoned_revisions: abandoned,
        requests: cluster.counters.snapshot(),
        elapsed_ms: start.elapsed().as_millis(),
    })
}

async fn namespace_exists(cluster: &Cluster, r: &ObjectRef) -> bool {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
    matches!(api.get_opt(&r.name).await, Ok(Some(_)))
}

async fn apply_item(
    cluster: &Cluster,
    item: &Item,
    force: bool,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let api = resources::api(cluster, &item.res, item.r.namespace.as_deref());
    let mut pp = PatchParams::apply(FIELD_MANAGER);
    pp.force = force;
    let patch = Patch::Apply(&item.desired);
    cluster
        .call(
            || resources::action("patch", &item.res, &item.r),
            || api.patch(&item.r.name, &pp, &patch),
        )
        .await?;
    progress.line(&format!(
        "applied {} ({})",
        item.r,
        if item.live.is_none() {
            "created"
        } else {
            "configured"
        }
    ));
    Ok(())
}

fn results(items: &[Item], healths: &[Health], _pruned: &[ObjectRef]) -> Vec<ObjectResult> {
    let actions = vec!["unchanged"; items.len()];
    results_with(items, healths, &actions)
}

fn results_with(items: &[Item], healths: &[Health], actions: &[&'static str]) -> Vec<ObjectResult> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| ObjectResult {
            object: label_of(&it.r),
            kind: it.r.kind.clone(),
            name: it.r.name.clone(),
            action: actions.get(i).copied().unwrap_or("unchanged"),
            health: healths.get(i).cloned(),
        })
        .collect()
}

/// Waits until every object is Current, one is Failed, or the timeout passes. Prints a line
/// whenever an object's status or message changes.
async fn wait(
    cluster: &Cluster,
    req: &Request<'_>,
    items: &[Item],
    progress: &mut Progress<'_>,
) -> Result<(bool, Vec<Health>, Option<Explanation>)> {
    let deadline = Instant::now() + req.options.timeout;
    let mut last: Vec<Option<Health>> = vec![None; items.len()];
    let mut lives: Vec<Option<Value>> = vec![None; items.len()];
    loop {
        let mut healths = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let live = resources::get(cluster, &it.res, &it.r)
                .await?
                .and_then(|o| serde_json::to_value(o).ok());
            let h = compute(live.as_ref());
            if last[i].as_ref() != Some(&h) {
                progress.line(&format!("{}: {:?}: {}", it.r, h.status, h.message));
                last[i] = Some(h.clone());
            }
            lives[i] = live;
            healths.push(h);
        }
        let failed = healths.iter().position(|h| h.status == Status::Failed);
        let current = healths
            .iter()
            .filter(|h| h.status == Status::Current)
            .count();
        progress.step("ready", current, healths.len());
        let all_current = current == healths.len();
        if all_current {
            return Ok((true, healths, None));
        }
        if failed.is_some() || Instant::now() >= deadline {
            if failed.is_none() {
                progress.line(&format!(
                    "timed out after {} s waiting for readiness",
                    req.options.timeout.as_secs()
                ));
            }
            let mut ex = Explanation::default();
            for (i, h) in healths.iter().enumerate() {
                if h.status == Status::Current {
                    continue;
                }
                if let Some(live) = &lives[i]
                    && live.pointer("/spec/selector/matchLabels").is_some()
                {
                    let e = explain(cluster, &req.target.namespace, live).await?;
                    ex.pods.extend(e.pods);
                    if ex.events.is_empty() {
                        ex.events = e.events;
                    }
                }
            }
            for l in ex.lines() {
                progress.line(&l);
            }
            return Ok((false, healths, Some(ex)));
        }
        tokio::time::sleep(req.options.poll).await;
    }
}

/// One object in a diff.
#[derive(Clone, Debug, Serialize)]
pub struct DiffEntry {
    /// `Deployment ns/name`.
    pub object: String,
    /// `create`, `change`, `unchanged`, `prune`.
    pub action: &'static str,
    /// The unified diff (empty for Secrets, unchanged objects and prunes).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
}

/// What a deploy would change.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// Where.
    pub target: Target,
    /// Per object.
    pub objects: Vec<DiffEntry>,
    /// Whether anything would change.
    pub changes: bool,
    /// API requests made (reads and dry-runs only).
    pub requests: Requests,
}

impl DiffReport {
    /// The text `planton diff` prints: unified diffs, Secrets as one line, prunes as one line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for e in &self.objects {
            match e.action {
                "unchanged" => {}
                "prune" => out.push_str(&format!(
                    "{}: would be deleted (no longer rendered)\n",
                    e.object
                )),
                _ => out.push_str(&e.diff),
            }
        }
        out
    }
}

/// What a deploy would change, by server-side dry-run; writes nothing.
pub async fn diff(cluster: &Cluster, req: &Request<'_>) -> Result<DiffReport> {
    let t = &req.target;
    let prepared = prepare(req)?;
    let p1 = phase1(cluster, req, &prepared).await?;
    let previous = previous_inventories(p1.state.tasks.get(&t.task));
    let next_inv = inventory(&p1.items.iter().map(|i| i.r.clone()).collect::<Vec<_>>());
    let to_prune = if req.options.prune {
        stale_live(cluster, t, &previous, &next_inv).await?
    } else {
        Vec::new()
    };
    let mut objects = Vec::new();
    for it in &p1.items {
        let label = label_of(&it.r);
        let action = if !it.changed {
            "unchanged"
        } else if it.live.is_none() {
            "create"
        } else {
            "change"
        };
        let text = if it.r.kind == "Secret" {
            if it.changed {
                diff::secret_line(&label, it.live.is_some(), true)
            } else {
                String::new()
            }
        } else if it.changed {
            diff::unified(&label, it.live.as_ref(), &it.after)
        } else {
            String::new()
        };
        objects.push(DiffEntry {
            object: label,
            action,
            diff: text,
        });
    }
    for (r, _) in &to_prune {
        objects.push(DiffEntry {
            object: label_of(r),
            action: "prune",
            diff: String::new(),
        });
    }
    let changes = objects.iter().any(|o| o.action != "unchanged");
    Ok(DiffReport {
        target: t.clone(),
        objects,
        changes,
        requests: cluster.counters.snapshot(),
    })
}

/// Every stored state of a service across the namespaces the identity may list (by the
/// state ConfigMap's labels), as `(namespace, state)`.
pub async fn list_states(cluster: &Cluster, service: &str) -> Result<Vec<(String, ServiceState)>> {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::all(cluster.client.clone());
    let lp = kube::api::ListParams::default().labels(&format!(
        "{}={service},{}=v1",
        state::SERVICE_LABEL,
        state::STATE_LABEL
    ));
    let list = cluster
        .call(
            || Action {
                verb: "list",
                resource: "configmaps".into(),
                namespace: None,
                name: None,
            },
            || api.list(&lp),
        )
        .await?;
    let mut out = Vec::new();
    for cm in list.items {
        let ns = cm.metadata.namespace.clone().unwrap_or_default();
        let name = cm.metadata.name.clone().unwrap_or_default();
        let enc = state::Encoded {
            data: cm.data.unwrap_or_default(),
            binary_data: cm
                .binary_data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect(),
        };
        let st = state::decode(&enc).map_err(|source| Error::State {
            name,
            namespace: ns.clone(),
            source,
        })?;
        out.push((ns, st));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
