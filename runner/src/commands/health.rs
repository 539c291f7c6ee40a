//! The cluster side of `planton serve`'s health endpoint: [`ClusterHealth`] resolves where
//! an environment of a service lives from the service's folder (the run's `service_dir`):
//! the build and `planton.yaml` give the namespace and kubeconfig context, through the same
//! [`super::deploy::places`] as `planton status`; then it asks the cluster with the same
//! [`planton_deploy_k8s::health::service_health`]. So the endpoint's `health` is what
//! `planton status --output json` prints.
//!
//! An environment whose kind deploys to AWS ECS is read the way `planton status` reads it
//! (DescribeClusters, DescribeServices, the state parameter; AWS clients by the AWS
//! conventions and `environments.<task>.profile`) and judged by
//! [`planton_deploy_ecs::health::service_health`].
//!
//! One connection per kubeconfig context (and AWS clients per region and profile) is kept
//! for the server's life, and a resolved place for ten seconds (so many polls build the
//! overlay once).

use super::deploy_ecs::{self, Place as EcsPlace};
use crate::files::DiskFiles;
use planton_core::api::{EcsLocation, EnvironmentHealth};
use planton_core::pipeline::{Run, Task};
use planton_core::service::Layout;
use planton_deploy_k8s::client::{self, Cluster, ClusterOptions};
use planton_deploy_k8s::health::{Place as KubePlace, service_health};
use planton_serve::health::{HealthError, HealthSource};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Live health from the clusters the services' `planton.yaml` name.
pub struct ClusterHealth {
    kubeconfig: Option<PathBuf>,
    fallback_dir: Option<PathBuf>,
    clusters: tokio::sync::Mutex<HashMap<Option<String>, Cluster>>,
    /// AWS clients per (region, profile).
    aws: tokio::sync::Mutex<HashMap<(String, Option<String>), planton_deploy_ecs::Clients>>,
    /// Where each (folder, task) lives, for [`PLACE_TTL`]: resolving builds the overlay
    /// and loads the plugins, which costs more than asking the cluster.
    places: std::sync::Mutex<HashMap<(PathBuf, String), Resolved>>,
}

/// Where a task lives: a Kubernetes namespace, or an ECS service.
#[derive(Clone, Debug)]
enum Place {
    Kube(KubePlace),
    Ecs(EcsPlace),
}

impl Place {
    fn service(&self) -> &str {
        match self {
            Place::Kube(p) => &p.service,
            Place::Ecs(p) => &p.service,
        }
    }
}

/// A place resolved at an instant (or why it could not be).
type Resolved = (Instant, Result<Place, HealthError>);

/// How long a resolved place is reused: a change to `planton.yaml` or the overlay shows in
/// the health endpoint within this time.
const PLACE_TTL: Duration = Duration::from_secs(10);

impl std::fmt::Debug for ClusterHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHealth")
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

impl ClusterHealth {
    /// Reads clusters through `kubeconfig` (else `KUBECONFIG`, `~/.kube/config`,
    /// in-cluster). A run whose `service_dir` is not on this machine (a stack job ran it
    /// in a Kubernetes Job) is resolved from `fallback_dir` (`planton serve --service`)
    /// when that folder holds the same service.
    pub fn new(kubeconfig: Option<PathBuf>, fallback_dir: Option<PathBuf>) -> Self {
        ClusterHealth {
            kubeconfig,
            fallback_dir,
            clusters: tokio::sync::Mutex::new(HashMap::new()),
            aws: tokio::sync::Mutex::new(HashMap::new()),
            places: std::sync::Mutex::new(HashMap::new()),
        }
    }

    async fn place(&self, dir: PathBuf, task: &str) -> Result<Place, HealthError> {
        let key = (dir.clone(), task.to_string());
        if let Some((at, p)) = self
            .places
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            && at.elapsed() < PLACE_TTL
        {
            return p.clone();
        }
        let name = task.to_string();
        // Building the overlay reads files: off the async workers.
        let p = tokio::task::spawn_blocking(move || place_of(&dir, &name))
            .await
            .map_err(|e| HealthError::Cluster(e.to_string()))?;
        let mut places = self.places.lock().unwrap_or_else(|p| p.into_inner());
        if places.len() > 256 {
            places.clear();
        }
        places.insert(key, (Instant::now(), p.clone()));
        p
    }

    async fn cluster(&self, context: &Option<String>) -> Result<Cluster, HealthError> {
        let mut clusters = self.clusters.lock().await;
        if let Some(c) = clusters.get(context) {
            return Ok(c.clone());
        }
        let c = client::connect(&ClusterOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: context.clone(),
            request_timeout: Some(Duration::from_secs(5)),
        })
        .await
        .map_err(classify)?;
        clusters.insert(context.clone(), c.clone());
        Ok(c)
    }

    async fn aws(&self, p: &EcsPlace) -> Result<planton_deploy_ecs::Clients, HealthError> {
        let mut aws = self.aws.lock().await;
        let key = (p.region.clone(), p.profile.clone());
        if let Some(c) = aws.get(&key) {
            return Ok(c.clone());
        }
        let c = deploy_ecs::clients(p).await.map_err(classify_ecs)?;
        aws.insert(key, c.clone());
        Ok(c)
    }
}

fn classify_ecs(e: planton_deploy_ecs::Error) -> HealthError {
    use planton_deploy_ecs::Error as E;
    match e {
        e @ E::Credentials { .. } => HealthError::NotConfigured(format!("no AWS access: {e}")),
        e @ E::Aws { code: None, .. } => {
            HealthError::Unreachable(format!("AWS did not answer: {e}"))
        }
        e => HealthError::Cluster(e.to_string()),
    }
}

fn classify(e: planton_deploy_k8s::Error) -> HealthError {
    use planton_deploy_k8s::Error as E;
    match e {
        E::Config(m) => HealthError::NotConfigured(format!(
            "no cluster configured: cannot load the cluster configuration: {m}"
        )),
        e @ (E::Api { .. } | E::Timeout { .. }) => {
            HealthError::Unreachable(format!("the cluster did not answer: {e}"))
        }
        e => HealthError::Cluster(e.to_string()),
    }
}

/// Where `task` of the service in `dir` lives, as `planton status` resolves it.
fn place_of(dir: &Path, task: &str) -> Result<Place, HealthError> {
    let files = DiskFiles::new();
    let missing = |why: String| {
        HealthError::NotConfigured(format!(
            "the service folder {} (from the run) cannot be read on this machine: {why}; live health reads its planton.yaml",
            dir.display()
        ))
    };
    let path = DiskFiles::core_path(dir).map_err(|e| missing(e.to_string()))?;
    let (layout, _) = Layout::discover(&files, &path).map_err(|e| missing(e.to_string()))?;
    if deploy_ecs::deploys_to_aws(dir, Some(task)) {
        return deploy_ecs::place(&layout, task)
            .map(Place::Ecs)
            .map_err(|e| {
                HealthError::Cluster(format!("cannot resolve where `{task}` lives: {e:#}"))
            });
    }
    super::deploy::places(&files, &layout, &[task.to_string()], None, None)
        .map_err(|e| HealthError::Cluster(format!("cannot resolve where `{task}` lives: {e:#}")))?
        .into_iter()
        .next()
        .map(Place::Kube)
        .ok_or_else(|| HealthError::Cluster(format!("overlay `{task}` builds no resource")))
}

#[async_trait::async_trait]
impl HealthSource for ClusterHealth {
    async fn health(&self, run: &Run, task: &Task) -> Result<EnvironmentHealth, HealthError> {
        let mut dir = PathBuf::from(&run.service_dir);
        if !dir.is_dir()
            && let Some(f) = &self.fallback_dir
        {
            dir = f.clone();
        }
        let place = self.place(dir, &task.name).await?;
        if place.service() != run.service {
            return Err(HealthError::NotConfigured(format!(
                "the run's service folder {} is not on this machine, and the served folder holds `{}`, not `{}`",
                run.service_dir,
                place.service(),
                run.service
            )));
        }
        let (context, ecs, health) = match place {
            Place::Kube(place) => {
                let cluster = self.cluster(&place.context).await?;
                let health =
                    service_health(&cluster, &place.namespace, &place.service, &place.task)
                        .await
                        .map_err(classify)?;
                (place.context, None, health)
            }
            Place::Ecs(p) => {
                let clients = self.aws(&p).await?;
                let report = planton_deploy_ecs::status(&clients, &p.cluster, &p.service, &p.task)
                    .await
                    .map_err(classify_ecs)?;
                let health = planton_deploy_ecs::health::service_health(
                    &report, &p.task, &task.env, &p.cluster, &p.service,
                );
                let at = EcsLocation {
                    cluster: p.cluster,
                    service: p.service,
                    region: p.region,
                };
                (None, Some(at), health)
            }
        };
        Ok(EnvironmentHealth {
            service: run.service.clone(),
            environment: task.env.clone(),
            context,
            ecs,
            ready: health.ready(),
            checked_at: planton_pipeline::engine::now_ms(),
            health,
        })
    }
}
