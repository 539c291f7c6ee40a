//! The in-cluster state store: Kubernetes objects in one namespace, so several runners on
//! several machines share runs, decisions, logs and locks, and Kubernetes RBAC decides who
//! may approve.
//!
//! Objects (all labelled `app.kubernetes.io/managed-by: planton`):
//! - a run: ConfigMap `planton-run-<id>` (`run.json`: the whole [`Run`]; `<task>.yaml`: each
//!   task's generated manifest, the seed's one ConfigMap mapping task to manifest), label
//!   `planton.dev/service`; ids come from the counter ConfigMap `planton-run-counter`,
//!   advanced by compare-and-swap on its `resourceVersion`;
//! - a decision: one ConfigMap each (`decision.json`), created and never changed, label
//!   `planton.dev/run`;
//! - a task's log: ConfigMap `planton-log-<id>-<task>` (`log`), appended by compare-and-swap;
//! - a lock: Lease `planton-lock-<key>-<hash>` (holder, duration, renew time for `kubectl`;
//!   the exact [`Lock`] in the annotation `planton.dev/lock`), changed only with the
//!   `resourceVersion` it was read at.
//!
//! Who decides: the API server says who the credentials belong to (`SelfSubjectReview`) and
//! whether they may `approve` the resource `gates.planton.dev` named `<service>.<task>` in the
//! namespace (`SelfSubjectAccessReview`), so a Role like
//! `{apiGroups: [planton.dev], resources: [gates], verbs: [approve], resourceNames: [order-api.prod]}`
//! grants it. `planton.yaml`'s approver list applies on top.

use crate::error::{Error, Result};
use crate::store::{LockOutcome, LogChunk, RunFilter, StateStore};
use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use planton_core::pipeline::{Decision, Lock, Run, Task};
use std::collections::BTreeMap;

const MANAGED: (&str, &str) = ("app.kubernetes.io/managed-by", "planton");
const KIND_LABEL: &str = "planton.dev/pipeline";
const SERVICE_LABEL: &str = "planton.dev/service";
const RUN_LABEL: &str = "planton.dev/run";
const LOCK_ANNOTATION: &str = "planton.dev/lock";
const COUNTER: &str = "planton-run-counter";
/// How often a compare-and-swap is retried after a conflict.
const CAS_TRIES: usize = 20;

/// The in-cluster store in one namespace.
#[derive(Clone)]
pub struct KubeStore {
    client: kube::Client,
    namespace: String,
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// A DNS-1123 name from `prefix` and free text, with a hash so different texts stay apart.
fn object_name(prefix: &str, text: &str) -> String {
    use std::fmt::Write as _;
    let mut clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    clean.truncate(40);
    let clean = clean.trim_matches('-');
    // FNV-1a: stable across versions and platforms, enough to keep names apart.
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let mut out = format!("{prefix}-{clean}");
    let _ = write!(out, "-{h:08x}");
    out
}

/// A run ConfigMap's data: the run, and each task's generated manifest under
/// `<task>.yaml` (the seed's mapping from task to manifest, readable with kubectl).
fn run_data(run: &Run) -> BTreeMap<String, String> {
    let mut data = BTreeMap::from([(
        "run.json".to_string(),
        serde_json::to_string(run).unwrap_or_default(),
    )]);
    for t in &run.tasks {
        data.insert(format!("{}.yaml", t.name), t.manifest_yaml.clone());
    }
    data
}

impl KubeStore {
    /// The store in `namespace`, reached with `client`.
    pub fn new(client: kube::Client, namespace: &str) -> KubeStore {
        KubeStore {
            client,
            namespace: namespace.to_string(),
        }
    }

    fn cms(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn leases(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn err(&self, what: &str, e: kube::Error) -> Error {
        Error::Remote {
            store: self.describe(),
            message: format!("{what}: {e}"),
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, what: &str, body: &str) -> Result<T> {
        serde_json::from_str(body).map_err(|source| Error::Corrupt {
            store: self.describe(),
            what: what.to_string(),
            source,
        })
    }

    fn meta(&self, name: &str, kind: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        let mut l: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        l.insert(MANAGED.0.into(), MANAGED.1.into());
        l.insert(KIND_LABEL.into(), kind.into());
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.namespace.clone()),
            labels: Some(l),
            ..Default::default()
        }
    }

    fn run_name(id: &str) -> String {
        format!("planton-run-{id}")
    }

    async fn next_id(&self) -> Result<u64> {
        let api = self.cms();
        for _ in 0..CAS_TRIES {
            let current = api
                .get_opt(COUNTER)
                .await
                .map_err(|e| self.err("reading the run counter", e))?;
            match current {
                None => {
                    let cm = ConfigMap {
                        metadata: self.meta(COUNTER, "counter", &[]),
                        data: Some(BTreeMap::from([("next".to_string(), "2".to_string())])),
                        ..Default::default()
                    };
                    match api.create(&PostParams::default(), &cm).await {
                        Ok(_) => return Ok(1),
                        Err(e) if is_status(&e, 409) => continue,
                        Err(e) => return Err(self.err("creating the run counter", e)),
                    }
                }
                Some(mut cm) => {
                    let n: u64 = cm
                        .data
                        .as_ref()
                        .and_then(|d| d.get("next"))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1);
                    cm.data
                        .get_or_insert_with(BTreeMap::new)
                        .insert("next".into(), (n + 1).to_string());
                    match api.replace(COUNTER, &PostParams::default(), &cm).await {
                        Ok(_) => return Ok(n),
                        Err(e) if is_status(&e, 409) => continue,
                        Err(e) => return Err(self.err("advancing the run counter", e)),
                    }
                }
            }
        }
        Err(Error::Remote {
            store: self.describe(),
            message: "too many runs created at once: the run counter kept changing".into(),
        })
    }

    /// Appends to a ConfigMap's key by compare-and-swap, creating it when missing.
    async fn append(
        &self,
        name: &str,
        key: &str,
        labels: &[(&str, &str)],
        text: &str,
    ) -> Result<()> {
        let api = self.cms();
        for _ in 0..CAS_TRIES {
            match api
                .get_opt(name)
                .await
                .map_err(|e| self.err(&format!("reading {name}"), e))?
            {
                None => {
                    let cm = ConfigMap {
                        metadata: self.meta(name, "log", labels),
                        data: Some(BTreeMap::from([(key.to_string(), text.to_string())])),
                        ..Default::default()
                    };
                    match api.create(&PostParams::default(), &cm).await {
                        Ok(_) => return Ok(()),
                        Err(e) if is_status(&e, 409) => continue,
                        Err(e) => return Err(self.err(&format!("creating {name}"), e)),
                    }
                }
                Some(mut cm) => {
                    cm.data
                        .get_or_insert_with(BTreeMap::new)
                        .entry(key.to_string())
                        .or_default()
                        .push_str(text);
                    match api.replace(name, &PostParams::default(), &cm).await {
                        Ok(_) => return Ok(()),
                        Err(e) if is_status(&e, 409) => continue,
                        Err(e) => return Err(self.err(&format!("appending to {name}"), e)),
                    }
                }
            }
        }
        Err(Error::Remote {
            store: self.describe(),
            message: format!("{name} kept changing while appending to it"),
        })
    }

    fn lease_of(&self, lock: &Lock, current: Option<&Lease>) -> Lease {
        let name = object_name("planton-lock", &lock.key);
        let mut metadata = self.meta(&name, "lock", &[(RUN_LABEL, &lock.run_id)]);
        metadata.resource_version = current.and_then(|c| c.metadata.resource_version.clone());
        metadata.annotations = Some(BTreeMap::from([(
            LOCK_ANNOTATION.to_string(),
            serde_json::to_string(lock).unwrap_or_default(),
        )]));
        let micro = |ms: i64| Timestamp::from_millisecond(ms).ok().map(MicroTime);
        let now = crate::engine::now_ms();
        Lease {
            metadata,
            spec: Some(LeaseSpec {
                holder_identity: Some(lock.owner.clone()),
                acquire_time: micro(lock.acquired_at),
                renew_time: micro(now),
                lease_duration_seconds: Some(((lock.expires_at - now).max(1000) / 1000) as i32),
                ..Default::default()
            }),
        }
    }

    fn lock_of(&self, lease: &Lease) -> Result<Option<Lock>> {
        lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(LOCK_ANNOTATION))
            .map(|b| self.decode("lock", b))
            .transpose()
    }
}

#[async_trait]
impl StateStore for KubeStore {
    fn describe(&self) -> String {
        format!("kubernetes:{}", self.namespace)
    }

    async fn create_run(&self, mut run: Run) -> Result<Run> {
        run.id = self.next_id().await?.to_string();
        let cm = ConfigMap {
            metadata: self.meta(
                &Self::run_name(&run.id),
                "run",
                &[(SERVICE_LABEL, &run.service), (RUN_LABEL, &run.id)],
            ),
            data: Some(run_data(&run)),
            ..Default::default()
        };
        self.cms()
            .create(&PostParams::default(), &cm)
            .await
            .map_err(|e| self.err(&format!("creating run {}", run.id), e))?;
        Ok(run)
    }

    async fn save_run(&self, run: &Run) -> Result<()> {
        let api = self.cms();
        let name = Self::run_name(&run.id);
        for _ in 0..CAS_TRIES {
            let Some(mut cm) = api
                .get_opt(&name)
                .await
                .map_err(|e| self.err(&format!("reading run {}", run.id), e))?
            else {
                return Err(Error::NoRun {
                    run: run.id.clone(),
                    store: self.describe(),
                });
            };
            cm.data = Some(run_data(run));
            match api.replace(&name, &PostParams::default(), &cm).await {
                Ok(_) => return Ok(()),
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(self.err(&format!("saving run {}", run.id), e)),
            }
        }
        Err(Error::Remote {
            store: self.describe(),
            message: format!("run {} kept changing while saving it", run.id),
        })
    }

    async fn run(&self, id: &str) -> Result<Option<Run>> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Ok(None);
        }
        let cm = self
            .cms()
            .get_opt(&Self::run_name(id))
            .await
            .map_err(|e| self.err(&format!("reading run {id}"), e))?;
        cm.and_then(|c| c.data.and_then(|mut d| d.remove("run.json")))
            .map(|b| self.decode(&format!("run {id}"), &b))
            .transpose()
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        let mut selector = format!("{KIND_LABEL}=run");
        if let Some(s) = &filter.service {
            selector.push_str(&format!(",{SERVICE_LABEL}={s}"));
        }
        let list = self
            .cms()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.err("listing runs", e))?;
        let mut runs: Vec<Run> = list
            .items
            .into_iter()
            .filter_map(|c| c.data.and_then(|mut d| d.remove("run.json")))
            .map(|b| self.decode("run", &b))
            .collect::<Result<_>>()?;
        runs.sort_by_key(|r| std::cmp::Reverse(r.id.parse::<u64>().unwrap_or(0)));
        if filter.limit > 0 {
            runs.truncate(filter.limit);
        }
        Ok(runs)
    }

    async fn add_decision(&self, decision: &Decision) -> Result<()> {
        let mut meta = self.meta("", "decision", &[(RUN_LABEL, &decision.run_id)]);
        meta.name = None;
        meta.generate_name = Some(format!("planton-decision-{}-", decision.run_id));
        let cm = ConfigMap {
            metadata: meta,
            data: Some(BTreeMap::from([(
                "decision.json".to_string(),
                serde_json::to_string(decision).unwrap_or_default(),
            )])),
            ..Default::default()
        };
        self.cms()
            .create(&PostParams::default(), &cm)
            .await
            .map_err(|e| self.err("recording the decision", e))?;
        Ok(())
    }

    async fn decisions(&self, run_id: &str) -> Result<Vec<Decision>> {
        let list = self
            .cms()
            .list(
                &ListParams::default()
                    .labels(&format!("{KIND_LABEL}=decision,{RUN_LABEL}={run_id}")),
            )
            .await
            .map_err(|e| self.err("listing decisions", e))?;
        let mut out: Vec<(i64, String, Decision)> = Vec::new();
        for c in list.items {
            let name = c.metadata.name.clone().unwrap_or_default();
            if let Some(b) = c.data.and_then(|mut d| d.remove("decision.json")) {
                let d: Decision = self.decode(&format!("decision {name}"), &b)?;
                out.push((d.at, name, d));
            }
        }
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(out.into_iter().map(|(_, _, d)| d).collect())
    }

    async fn append_log(&self, run_id: &str, task: &str, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let name = object_name(&format!("planton-log-{run_id}"), task);
        self.append(&name, "log", &[(RUN_LABEL, run_id)], text)
            .await
    }

    async fn log(&self, run_id: &str, task: &str, from: u64) -> Result<LogChunk> {
        let name = object_name(&format!("planton-log-{run_id}"), task);
        let all = self
            .cms()
            .get_opt(&name)
            .await
            .map_err(|e| self.err(&format!("reading {name}"), e))?
            .and_then(|c| c.data.and_then(|mut d| d.remove("log")))
            .unwrap_or_default();
        Ok(crate::sqlite::slice_log(&all, from))
    }

    async fn acquire_lock(&self, lock: &Lock, replace: Option<&Lock>) -> Result<LockOutcome> {
        let api = self.leases();
        let name = object_name("planton-lock", &lock.key);
        let current = api
            .get_opt(&name)
            .await
            .map_err(|e| self.err(&format!("reading lock {}", lock.key), e))?;
        match current {
            None => match api
                .create(&PostParams::default(), &self.lease_of(lock, None))
                .await
            {
                Ok(_) => Ok(LockOutcome::Acquired { took_over: None }),
                Err(e) if is_status(&e, 409) => {
                    // Someone created it between our read and write: they hold it.
                    let l = api
                        .get(&name)
                        .await
                        .map_err(|e| self.err(&format!("reading lock {}", lock.key), e))?;
                    Ok(match self.lock_of(&l)? {
                        Some(held) => LockOutcome::Held(held),
                        None => LockOutcome::Held(lock.clone()),
                    })
                }
                Err(e) => Err(self.err(&format!("taking lock {}", lock.key), e)),
            },
            Some(l) => {
                let held = self.lock_of(&l)?;
                let took_over = match &held {
                    Some(h) if h.owner == lock.owner => None,
                    Some(h) if Some(h) == replace => Some(h.clone()),
                    Some(h) => return Ok(LockOutcome::Held(h.clone())),
                    None => None,
                };
                match api
                    .replace(
                        &name,
                        &PostParams::default(),
                        &self.lease_of(lock, Some(&l)),
                    )
                    .await
                {
                    Ok(_) => Ok(LockOutcome::Acquired { took_over }),
                    Err(e) if is_status(&e, 409) => {
                        let now = api
                            .get(&name)
                            .await
                            .map_err(|e| self.err(&format!("reading lock {}", lock.key), e))?;
                        Ok(LockOutcome::Held(
                            self.lock_of(&now)?.unwrap_or_else(|| lock.clone()),
                        ))
                    }
                    Err(e) => Err(self.err(&format!("taking lock {}", lock.key), e)),
                }
            }
        }
    }

    async fn renew_lock(&self, key: &str, owner: &str, expires_at: i64) -> Result<bool> {
        let api = self.leases();
        let name = object_name("planton-lock", key);
        let Some(l) = api
            .get_opt(&name)
            .await
            .map_err(|e| self.err(&format!("reading lock {key}"), e))?
        else {
            return Ok(false);
        };
        let Some(mut held) = self.lock_of(&l)? else {
            return Ok(false);
        };
        if held.owner != owner {
            return Ok(false);
        }
        held.expires_at = expires_at;
        match api
            .replace(
                &name,
                &PostParams::default(),
                &self.lease_of(&held, Some(&l)),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_status(&e, 409) => Ok(false),
            Err(e) => Err(self.err(&format!("renewing lock {key}"), e)),
        }
    }

    async fn release_lock(&self, key: &str, owner: &str) -> Result<()> {
        let api = self.leases();
        let name = object_name("planton-lock", key);
        let Some(l) = api
            .get_opt(&name)
            .await
            .map_err(|e| self.err(&format!("reading lock {key}"), e))?
        else {
            return Ok(());
        };
        if self.lock_of(&l)?.is_some_and(|h| h.owner == owner) {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: l.metadata.resource_version.clone(),
                    uid: None,
                }),
                ..Default::default()
            };
            match api.delete(&name, &dp).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 409) || is_status(&e, 404) => {}
                Err(e) => return Err(self.err(&format!("releasing lock {key}"), e)),
            }
        }
        Ok(())
    }

    async fn locks(&self) -> Result<Vec<Lock>> {
        let list = self
            .leases()
            .list(&ListParams::default().labels(&format!("{KIND_LABEL}=lock")))
            .await
            .map_err(|e| self.err("listing locks", e))?;
        let mut out = Vec::new();
        for l in &list.items {
            if let Some(lock) = self.lock_of(l)? {
                out.push(lock);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn decider(&self, claimed: &str, run: &Run, task: &Task) -> Result<String> {
        let _ = claimed;
        let forbidden = |who: &str, why: String| Error::Forbidden {
            who: who.to_string(),
            run: run.id.clone(),
            task: task.name.clone(),
            why,
        };
        let review = Api::<SelfSubjectReview>::all(self.client.clone())
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .map_err(|e| self.err("asking the API server who we are (SelfSubjectReview)", e))?;
        let who = review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .unwrap_or_else(|| "system:anonymous".into());
        let gate = format!("{}.{}", run.service, task.name);
        let sar = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some("planton.dev".into()),
                    resource: Some("gates".into()),
                    verb: Some("approve".into()),
                    name: Some(gate.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = Api::<SelfSubjectAccessReview>::all(self.client.clone())
            .create(&PostParams::default(), &sar)
            .await
            .map_err(|e| {
                self.err(
                    "asking the API server for access (SelfSubjectAccessReview)",
                    e,
                )
            })?;
        let status = answer.status.unwrap_or_default();
        if !status.allowed {
            return Err(forbidden(
                &who,
                format!(
                    "RBAC does not let them `approve` gates.planton.dev `{gate}` in namespace {}{}",
                    self.namespace,
                    status
                        .reason
                        .filter(|r| !r.is_empty())
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            ));
        }
        Ok(who)
    }
}

#[cfg(test)]
mod tests {
    use super::object_name;

    #[test]
    fn object_names_are_dns_labels_and_distinct() {
        let a = object_name("planton-lock", "order-api/app-staging");
        let b = object_name("planton-lock", "order-api/app_staging");
        assert!(a.starts_with("planton-lock-order-api-app-staging-"), "{a}");
        assert_ne!(a, b);
        assert!(a.len() <= 63);
        let long = object_name("planton-log-123", &"x".repeat(300));
        assert!(long.len() <= 63, "{long}");
    }
}
