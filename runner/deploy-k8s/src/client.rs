//! Connecting to a cluster with kubectl's conventions (`--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`, `--context`, else the in-cluster service account), counting every API
//! request by class (reads, dry-runs, writes) for the benchmarks and the no-change check, and
//! the one wrapper every call goes through: retries with exponential backoff on 429, 5xx,
//! and network errors or timeouts, and errors that name the verb, resource and namespace.

use crate::error::{Action, Error, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::Serialize;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where the cluster is.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// A kubeconfig file (`--kubeconfig`); else `KUBECONFIG`, else `~/.kube/config`, else
    /// the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// The context (`--context`); else the current context.
    pub context: Option<String>,
}

/// API requests made, by class.
#[derive(Debug, Default)]
pub struct Counters {
    reads: AtomicU64,
    dry_runs: AtomicU64,
    writes: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    /// GET/LIST/WATCH.
    pub reads: u64,
    /// Server-side dry-runs (`dryRun=All`).
    pub dry_runs: u64,
    /// Everything that can change the cluster.
    pub writes: u64,
}

impl Counters {
    fn count<B>(&self, req: &http::Request<B>) {
        let dry = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "dryRun=All"));
        let c = if req.method() == http::Method::GET {
            &self.reads
        } else if dry {
            &self.dry_runs
        } else {
            &self.writes
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Requests {
        Requests {
            reads: self.reads.load(Ordering::Relaxed),
            dry_runs: self.dry_runs.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    /// The client (every request counted).
    pub client: Client,
    /// The request counters.
    pub counters: Arc<Counters>,
    /// The namespace of the context (or the service account), `default` when none.
    pub default_namespace: String,
    /// Retry policy.
    pub retry: Retry,
}

/// How calls are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first backoff; doubled each time.
    pub base: Duration,
    /// The largest backoff.
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 6,
            base: Duration::from_millis(200),
            max: Duration::from_secs(5),
        }
    }
}

/// Loads the configuration as kubectl does and connects.
pub async fn connect(opts: &ClusterOptions) -> Result<Cluster> {
    let kopts = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    let mut config = match &opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(kc, &kopts)
                .await
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
        }
        None => match Config::from_kubeconfig(&kopts).await {
            Ok(c) => c,
            Err(kerr) if opts.context.is_none() => Config::incluster().map_err(|ierr| {
                Error::Config(format!(
                    "no kubeconfig ({kerr}) and not in a cluster ({ierr}); set KUBECONFIG or pass --kubeconfig"
                ))
            })?,
            Err(e) => return Err(Error::Config(e.to_string())),
        },
    };
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(30));
    config.write_timeout = Some(Duration::from_secs(30));
    let default_namespace = config.default_namespace.clone();
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|e| Error::Config(e.to_string()))?;
    let client = builder
        .with_layer(&tower::util::MapRequestLayer::new(
            move |req: http::Request<kube::client::Body>| {
                c.count(&req);
                req
            },
        ))
        .build();
    Ok(Cluster {
        client,
        counters,
        default_namespace,
        retry: Retry::default(),
    })
}

/// Whether an error is worth retrying: throttling, server errors, timeouts, broken
/// connections.
pub fn retryable(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        kube::Error::SerdeError(_) => false,
        _ => false,
    }
}

impl Cluster {
    /// Runs one API call with retries; maps a final failure to an [`Error`] naming `action`.
    /// A 404 is not an error here: callers that expect absence use `get_opt`-style calls.
    pub async fn call<T, F, Fut>(&self, action: impl Fn() -> Action, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = kube::Result<T>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.retry.attempts && retryable(&e) => {
                    let exp = self.retry.base.saturating_mul(1 << (attempt - 1).min(16));
                    tokio::time::sleep(exp.min(self.retry.max)).await;
                }
                Err(e) => return Err(classify(action(), attempt, e)),
            }
        }
    }
}

/// Turns a kube error into an [`Error`].
pub fn classify(action: Action, attempts: u32, e: kube::Error) -> Error {
    match e {
        kube::Error::Api(s) if s.code == 403 => Error::Forbidden {
            action,
            message: s.message.clone(),
        },
        kube::Error::Api(s) if s.code == 409 && action.verb == "patch" => Error::Conflict {
            object: format!(
                "{} `{}`{}",
                action.resource,
                action.name.clone().unwrap_or_default(),
                action
                    .namespace
                    .as_ref()
                    .map(|n| format!(" in namespace `{n}`"))
                    .unwrap_or_default()
            ),
            message: s.message.clone(),
        },
        kube::Error::Api(s) if (400..500).contains(&s.code) && s.code != 429 => Error::Refused {
            action,
            code: s.code,
            message: s.message.clone(),
        },
        other => Error::Api {
            action,
            attempts,
            source: Box::new(other),
        },
    }
}
