//! One deploy per service and task at a time: a `coordination.k8s.io/v1` Lease
//! (`planton.lock.<service>.<task>`) with the holder and a short duration, renewed while the
//! deploy runs. A holder that stopped renewing (a deploy killed with SIGKILL) is taken over
//! once its lease expires, and the take-over is reported; a live holder is waited for up to a
//! limit (CI queues rather than fails).

use crate::client::Cluster;
use crate::error::{Action, Error, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use std::time::{Duration, Instant};

/// The Lease name for a service and task.
pub fn lease_name(service: &str, task: &str) -> String {
    format!("planton.lock.{service}.{task}")
}

/// Lock settings.
#[derive(Clone, Debug)]
pub struct LockOptions {
    /// The lease duration; the holder renews at a third of it.
    pub duration: Duration,
    /// How long to wait for a live holder before giving up.
    pub wait: Duration,
    /// This process (`user@host:pid`).
    pub holder: String,
}

/// A held lock; renewal runs until [`Held::release`].
pub struct Held {
    api: Api<Lease>,
    name: String,
    holder: String,
    renew: tokio::task::JoinHandle<()>,
    /// The holder this run took the lock over from (its lease had expired).
    pub took_over: Option<String>,
    /// How long this run waited for another holder.
    pub waited: Duration,
}

fn action(verb: &'static str, ns: &str, name: &str) -> Action {
    Action {
        verb,
        resource: "leases.coordination.k8s.io".into(),
        namespace: Some(ns.to_string()),
        name: Some(name.to_string()),
    }
}

fn expired(l: &Lease, now: Timestamp) -> bool {
    let Some(spec) = &l.spec else { return true };
    let secs = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    match &spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) {
        Some(MicroTime(t)) => now.as_second() > t.as_second() + secs,
        None => true,
    }
}

fn spec(holder: &str, duration: Duration, transitions: i32) -> LeaseSpec {
    let now = MicroTime(Timestamp::now());
    LeaseSpec {
        holder_identity: Some(holder.to_string()),
        lease_duration_seconds: Some(duration.as_secs().max(1) as i32),
        acquire_time: Some(now.clone()),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..Default::default()
    }
}

/// Takes the lock, waiting for a live holder up to `opts.wait`; `on_wait` is told the
/// holder once when waiting starts.
pub async fn acquire(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    opts: &LockOptions,
    on_wait: &mut dyn FnMut(&str),
) -> Result<Held> {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), namespace);
    let start = Instant::now();
    let mut told = false;
    loop {
        let current = cluster
            .call(|| action("get", namespace, name), || api.get_opt(name))
            .await?;
        let took_over = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        namespace: Some(namespace.to_string()),
                        labels: Some(
                            [(
                                crate::prepare::MANAGED_BY.to_string(),
                                crate::prepare::MANAGER.to_string(),
                            )]
                            .into(),
                        ),
                        ..Default::default()
                    },
                    spec: Some(spec(&opts.holder, opts.duration, 0)),
                };
                match api.create(&PostParams::default(), &lease).await {
                    Ok(_) => None,
                    Err(kube::Error::Api(s)) if s.code == 409 => continue,
                    Err(e) => {
                        return Err(crate::client::classify(
                            action("create", namespace, name),
                            1,
                            e,
                        ));
                    }
                }
            }
            Some(l) => {
                let holder = l
                    .spec
                    .as_ref()
                    .and_then(|s| s.holder_identity.clone())
                    .unwrap_or_default();
                if holder == opts.holder || holder.is_empty() || expired(&l, Timestamp::now()) {
                    let transitions = l
                        .spec
                        .as_ref()
                        .and_then(|s| s.lease_transitions)
                        .unwrap_or(0)
                        + 1;
                    let mut new = l.clone();
                    new.spec = Some(spec(&opts.holder, opts.duration, transitions));
                    // The resourceVersion in `new` makes this a compare-and-swap.
                    match api.replace(name, &PostParams::default(), &new).await {
                        Ok(_) => (holder != opts.holder && !holder.is_empty()).then_some(holder),
                        Err(kube::Error::Api(s)) if s.code == 409 => continue,
                        Err(e) => {
                            return Err(crate::client::classify(
                                action("update", namespace, name),
                                1,
                                e,
                            ));
                        }
                    }
                } else {
                    if start.elapsed() >= opts.wait {
                        let renewed = l
                            .spec
                            .as_ref()
                            .and_then(|s| s.renew_time.as_ref())
                            .map(|t| t.0.to_string())
                            .unwrap_or_default();
                        let (service, task) = name
                            .strip_prefix("planton.lock.")
                            .and_then(|s| s.split_once('.'))
                            .unwrap_or((name, ""));
                        return Err(Error::Locked {
                            service: service.to_string(),
                            task: task.to_string(),
                            holder,
                            renewed,
                            waited_s: start.elapsed().as_secs(),
                        });
                    }
                    if !told {
                        on_wait(&holder);
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
        };
        let renew = tokio::spawn(renew_loop(
            api.clone(),
            name.to_string(),
            opts.holder.clone(),
            opts.duration,
        ));
        return Ok(Held {
            api,
            name: name.to_string(),
            holder: opts.holder.clone(),
            renew,
            took_over,
            waited: if told {
                start.elapsed()
            } else {
                Duration::ZERO
            },
        });
    }
}

async fn renew_loop(api: Api<Lease>, name: String, holder: String, duration: Duration) {
    let period = (duration / 3).max(Duration::from_millis(500));
    loop {
        tokio::time::sleep(period).await;
        let Ok(Some(mut l)) = api.get_opt(&name).await else {
            continue;
        };
        let Some(spec) = l.spec.as_mut() else {
            continue;
        };
        if spec.holder_identity.as_deref() != Some(holder.as_str()) {
            return;
        }
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        let _ = api.replace(&name, &PostParams::default(), &l).await;
    }
}

impl Held {
    /// Stops renewing and deletes the Lease if this run still holds it.
    pub async fn release(self) {
        self.renew.abort();
        if let Ok(Some(l)) = self.api.get_opt(&self.name).await
            && l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some(&self.holder)
        {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: l.metadata.resource_version.clone(),
                    uid: None,
                }),
                ..Default::default()
            };
            let _ = self.api.delete(&self.name, &dp).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_counts_from_the_last_renewal() {
        let now = Timestamp::now();
        let mut l = Lease::default();
        assert!(expired(&l, now));
        l.spec = Some(spec("a", Duration::from_secs(15), 0));
        assert!(!expired(&l, now));
        let later = Timestamp::from_second(now.as_second() + 16).unwrap();
        assert!(expired(&l, later));
        assert_eq!(lease_name("api", "prod"), "planton.lock.api.prod");
    }
}
