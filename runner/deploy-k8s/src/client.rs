//! Connecting to a cluster with kubectl's conventions (`--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`, `--context`, else the in-cluster service account), counting every API
//! request by class (reads, dry-runs, writes) for the benchmarks and the no-change check, the
//! retry policy, and the one wrapper every call goes through, whose errors name the verb,
//! resource and namespace.
//!
//! Retries are planton's, at the HTTP level (a tower layer over every request, so they see
//! `Retry-After`): 429, 500, 502, 503 and 504 answers, and transport failures (refused or
//! reset connections, a request timeout), are retried with exponential backoff, a bounded
//! number of times, honouring `Retry-After` up to the largest backoff. kube's own default
//! retry layer is switched off: it honours any `Retry-After` however long and retries 15
//! times, which could hold a deploy for many minutes. Each attempt waits at most the request
//! timeout (kubectl's `--request-timeout`, default 30 s) for the server to answer.

use crate::error::{Action, Error, Result};
use kube::client::Body;
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
    /// How long one request may wait for the server (`--request-timeout`); default 30 s.
    pub request_timeout: Option<Duration>,
}

/// API requests made, by class.
#[derive(Debug, Default)]
pub struct Counters {
    reads: AtomicU64,
    dry_runs: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
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
    /// Requests sent again by the retry policy (each is also counted in its class).
    pub retries: u64,
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
            retries: self.retries.load(Ordering::Relaxed),
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
    /// The retry policy of every request.
    pub retry: Retry,
    /// How long one request may wait for the server.
    pub request_timeout: Duration,
}

/// How requests are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first backoff; doubled each time.
    pub base: Duration,
    /// The largest backoff, and the most a `Retry-After` is honoured.
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

impl Retry {
    /// The wait before attempt `attempt + 1` (1-based `attempt` just failed): the exponential
    /// backoff, or the server's `Retry-After` when longer, never more than [`Retry::max`].
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        retry_after.map_or(backoff, |r| r.min(self.max).max(backoff))
    }
}

/// Whether an HTTP status is retried: throttling and server errors.
pub fn retryable_status(code: u16) -> bool {
    matches!(code, 429 | 500 | 502 | 503 | 504)
}

/// The tower retry policy of every request (see the module doc). Requests whose body cannot
/// be replayed (streams; planton sends none) are not retried.
#[derive(Clone)]
pub struct RetryPolicy {
    retry: Retry,
    attempt: u32,
    counters: Arc<Counters>,
}

impl RetryPolicy {
    /// A policy for one client.
    pub fn new(retry: Retry, counters: Arc<Counters>) -> RetryPolicy {
        RetryPolicy {
            retry,
            attempt: 1,
            counters,
        }
    }
}

impl<B> tower::retry::Policy<http::Request<Body>, http::Response<B>, tower::BoxError>
    for RetryPolicy
{
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _req: &mut http::Request<Body>,
        result: &mut std::result::Result<http::Response<B>, tower::BoxError>,
    ) -> Option<Self::Future> {
        if self.attempt >= self.retry.attempts {
            return None;
        }
        let retry_after = match result {
            Ok(resp) if retryable_status(resp.status().as_u16()) => resp
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
            Ok(_) => return None,
            // Transport failures: refused or reset connections, timeouts.
            Err(_) => None,
        };
        let delay = self.retry.delay(self.attempt, retry_after);
        self.attempt += 1;
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, req: &http::Request<Body>) -> Option<http::Request<Body>> {
        let body = req.body().try_clone()?;
        let mut out = http::Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .version(req.version())
            .body(body)
            .ok()?;
        *out.headers_mut() = req.headers().clone();
        *out.extensions_mut() = req.extensions().clone();
        Some(out)
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
    let request_timeout = opts.request_timeout.unwrap_or(Duration::from_secs(30));
    config.connect_timeout = Some(request_timeout.min(Duration::from_secs(10)));
    config.read_timeout = Some(request_timeout);
    config.write_timeout = Some(request_timeout);
    // planton's retry layer below replaces kube's (see the module doc).
    config.default_retry = false;
    let default_namespace = config.default_namespace.clone();
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    let retry = Retry::default();
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|e| Error::Config(e.to_string()))?;
    let client = builder
        .with_layer(&tower::util::MapRequestLayer::new(
            move |req: http::Request<Body>| {
                c.count(&req);
                req
            },
        ))
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(RetryPolicy::new(
            retry,
            counters.clone(),
        )))
        .build();
    Ok(Cluster {
        client,
        counters,
        default_namespace,
        retry,
        request_timeout,
    })
}

/// Whether an error is one the retry policy retries: throttling, server errors, timeouts,
/// broken connections.
pub fn retryable(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => retryable_status(s.code),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Whether an error is a request timeout (the server accepted the connection but did not
/// answer in time).
pub fn is_timeout(e: &kube::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        if err.to_string().contains("timed out") {
            return true;
        }
        cur = err.source();
    }
    false
}

impl Cluster {
    /// Runs one API call (the retry policy of the client retries its requests) and maps a
    /// failure to an [`Error`] naming `action`. A 404 is not an error here: callers that
    /// expect absence use `get_opt`-style calls.
    pub async fn call<T, F, Fut>(&self, action: impl Fn() -> Action, f: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = kube::Result<T>>,
    {
        f().await.map_err(|e| {
            let attempts = if retryable(&e) {
                self.retry.attempts
            } else {
                1
            };
            if is_timeout(&e) {
                return Error::Timeout {
                    action: action(),
                    attempts,
                    after: self.request_timeout,
                };
            }
            classify(action(), attempts, e)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_retry_after_is_honoured_up_to_the_cap() {
        let r = Retry::default();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(r.delay(1, None)), 200);
        assert_eq!(ms(r.delay(2, None)), 400);
        assert_eq!(ms(r.delay(5, None)), 3200);
        assert_eq!(ms(r.delay(6, None)), 5000);
        assert_eq!(ms(r.delay(40, None)), 5000);
        assert_eq!(ms(r.delay(1, Some(Duration::from_secs(1)))), 1000);
        // A shorter Retry-After does not cut the backoff; a huge one is capped.
        assert_eq!(ms(r.delay(4, Some(Duration::from_secs(0)))), 1600);
        assert_eq!(ms(r.delay(1, Some(Duration::from_secs(3600)))), 5000);
        assert!(retryable_status(429) && retryable_status(503) && !retryable_status(404));
    }
}
