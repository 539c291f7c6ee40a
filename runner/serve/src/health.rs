//! Live health of a deployed environment, asked of the cluster (`GET
//! /api/services/{service}/environments/{env}/health`).
//!
//! The server does not know how to reach clusters itself: the runner hands it a
//! [`HealthSource`] (`planton serve` wires one that resolves the environment's namespace
//! and kubeconfig context from the service's `planton.yaml` exactly as `planton status`
//! does, and calls the same health function). Without one the endpoint answers 503
//! `no_cluster`.
//!
//! Answers are cached per (service, task) for [`HealthCache`]'s time to live (1.5 s by
//! default) and computed once however many viewers ask at the same moment (the second
//! caller waits for the first's answer), so N viewers polling cost the API server what one
//! viewer costs. Failures are cached the same way, so an unreachable cluster is not
//! hammered either.

use crate::error::ApiError;
use crate::views::EnvironmentHealth;
use async_trait::async_trait;
use axum::http::StatusCode;
use planton_core::pipeline::{Run, Task};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the health of an environment could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HealthError {
    /// No cluster is configured for it (no kubeconfig, unknown context, the service's
    /// folder is not on this machine).
    #[error("{0}")]
    NotConfigured(String),
    /// The cluster (or AWS) did not answer (connection refused, timeouts).
    #[error("{0}")]
    Unreachable(String),
    /// The cluster (or AWS) answered with an error (forbidden, bad state).
    #[error("{0}")]
    Cluster(String),
}

impl From<HealthError> for ApiError {
    fn from(e: HealthError) -> ApiError {
        match e {
            HealthError::NotConfigured(m) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_cluster", m)
            }
            HealthError::Unreachable(m) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "cluster_unreachable", m)
            }
            HealthError::Cluster(m) => ApiError::new(StatusCode::BAD_GATEWAY, "cluster", m),
        }
    }
}

/// Reads the live health of one task of a run's service.
#[async_trait]
pub trait HealthSource: Send + Sync + std::fmt::Debug {
    /// The health of `task` of `run`'s service, now.
    async fn health(&self, run: &Run, task: &Task) -> Result<EnvironmentHealth, HealthError>;
}

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Result<EnvironmentHealth, ApiError>)>>>;

/// Short-lived answers per (service, task), computed once per time to live.
pub struct HealthCache {
    ttl: Duration,
    timeout: Duration,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

impl HealthCache {
    /// A cache keeping answers for `ttl`; a cluster taking longer than `timeout` counts as
    /// unreachable.
    pub fn new(ttl: Duration, timeout: Duration) -> Self {
        HealthCache {
            ttl,
            timeout,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cached answer for `task` of `run`'s service, or a fresh one from `source`.
    pub async fn get(
        &self,
        source: &dyn HealthSource,
        run: &Run,
        task: &Task,
    ) -> Result<EnvironmentHealth, ApiError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() > 1024 {
                slots.clear();
            }
            slots
                .entry((run.service.clone(), task.name.clone()))
                .or_default()
                .clone()
        };
        // Held while the cluster is asked: concurrent callers wait for this answer.
        let mut slot = slot.lock().await;
        if let Some((at, answer)) = &*slot
            && at.elapsed() < self.ttl
        {
            return answer.clone();
        }
        let answer = match tokio::time::timeout(self.timeout, source.health(run, task)).await {
            Ok(r) => r.map_err(ApiError::from),
            Err(_) => Err(HealthError::Unreachable(format!(
                "the cluster did not answer within {} s",
                self.timeout.as_secs()
            ))
            .into()),
        };
        *slot = Some((Instant::now(), answer.clone()));
        answer
    }
}
