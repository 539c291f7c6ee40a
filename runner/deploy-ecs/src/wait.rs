//! Waiting for a rollout, and deciding from what ECS reports whether it succeeded.
//!
//! "Stable" is not enough (ecspresso#732: a circuit-breaker rollback also stabilizes). The
//! deploy succeeds when the PRIMARY deployment runs the task definition just registered, its
//! `rolloutState` is COMPLETED (or, for a service without one, it is the only deployment)
//! and the running count equals the desired count. A deployment of the new task definition
//! with `rolloutState` FAILED, or a new PRIMARY deployment running another task definition
//! (ECS rolled back), fails the deploy with the stopped tasks' reasons.
//!
//! Observing is the [`RolloutObserver`] trait: [`EcsObserver`] calls `DescribeServices`,
//! `ListTasks` and `DescribeTasks`; tests also drive [`wait_for_rollout`] with a scripted
//! observer, because moto never progresses a deployment (its `UpdateService` adds none).

use crate::error::{Error, Result, aws};
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

/// One deployment of a service, as compared.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentView {
    /// The deployment id (`ecs-svc/…`).
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// Its task definition ARN.
    pub task_definition: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, when ECS reports one.
    pub rollout_state: Option<String>,
    /// ECS's explanation of the rollout state.
    pub rollout_state_reason: Option<String>,
    /// Running tasks.
    pub running: i32,
    /// Desired tasks.
    pub desired: i32,
    /// Tasks that failed to start.
    pub failed_tasks: i32,
}

/// A service as the wait sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    /// `ACTIVE`, `DRAINING`, `INACTIVE`, or `MISSING` when ECS does not know it.
    pub status: String,
    /// Running tasks.
    pub running: i32,
    /// Desired tasks.
    pub desired: i32,
    /// Deployments, as listed.
    pub deployments: Vec<DeploymentView>,
    /// Service events `(id, message)`, newest first.
    pub events: Vec<(String, String)>,
}

/// What the wait concluded from one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The new task definition is live and stable.
    Done,
    /// Not yet; the status line says where it stands.
    Pending(String),
    /// The rollout failed; why.
    Failed(String),
}

/// Judges one observation. `want` is the task definition ARN deployed; `before` holds the
/// deployment ids that existed before the update (empty for a new service).
pub fn evaluate(view: &ServiceView, want: &str, before: &BTreeSet<String>) -> Verdict {
    if view.status != "ACTIVE" {
        return Verdict::Failed(format!("the service is {}", view.status));
    }
    if let Some(d) = view.deployments.iter().find(|d| {
        d.task_definition == want
            && d.rollout_state.as_deref() == Some("FAILED")
            && !before.contains(&d.id)
    }) {
        return Verdict::Failed(format!(
            "deployment {} of {} is FAILED: {} ({} failed tasks)",
            d.id,
            short(want),
            d.rollout_state_reason
                .as_deref()
                .unwrap_or("no reason given"),
            d.failed_tasks
        ));
    }
    let Some(primary) = view.deployments.iter().find(|d| d.status == "PRIMARY") else {
        return Verdict::Pending("no PRIMARY deployment yet".to_string());
    };
    if primary.task_definition != want {
        if before.contains(&primary.id) {
            return Verdict::Pending(format!(
                "waiting for ECS to start a deployment of {} (PRIMARY still runs {})",
                short(want),
                short(&primary.task_definition)
            ));
        }
        return Verdict::Failed(format!(
            "ECS rolled back: the PRIMARY deployment {} runs {}, not {}",
            primary.id,
            short(&primary.task_definition),
            short(want)
        ));
    }
    let status = format!(
        "{}/{} tasks running, {} deployment(s), rollout {}",
        view.running,
        view.desired,
        view.deployments.len(),
        primary.rollout_state.as_deref().unwrap_or("(not reported)")
    );
    let rolled_out = match primary.rollout_state.as_deref() {
        Some(s) => s == "COMPLETED",
        None => true,
    };
    if rolled_out && view.deployments.len() == 1 && view.running == view.desired {
        Verdict::Done
    } else {
        Verdict::Pending(status)
    }
}

/// `arn:…:task-definition/app:7` → `app:7`.
pub fn short(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, s)| s)
}

/// How the wait reads the service.
pub trait RolloutObserver: Sync {
    /// The service now.
    fn describe(&self) -> impl Future<Output = Result<ServiceView>> + Send;
    /// The stop reasons of recently stopped tasks of `task_definition`.
    fn stopped_reasons(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// What was there before the update: deployment ids and service event ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Before {
    /// Deployment ids (empty for a new service).
    pub deployments: BTreeSet<String>,
    /// Service event ids already shown (or older than the deploy).
    pub events: BTreeSet<String>,
}

/// Polls `observer` every `poll` until the verdict is final or `timeout` passes, reporting
/// each service event not in `before.events` and each new status line through `progress`.
pub async fn wait_for_rollout<O: RolloutObserver>(
    observer: &O,
    service: &str,
    want: &str,
    before: &Before,
    timeout: Duration,
    poll: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = before.events.clone();
    let mut last = String::new();
    loop {
        let view = observer.describe().await?;
        for (id, message) in view.events.iter().rev() {
            if seen.insert(id.clone()) {
                progress(&format!("event: {message}"));
            }
        }
        match evaluate(&view, want, &before.deployments) {
            Verdict::Done => return Ok(()),
            Verdict::Failed(reason) => {
                let reasons = observer.stopped_reasons(want).await.unwrap_or_default();
                let reason = if reasons.is_empty() {
                    reason
                } else {
                    format!("{reason}; stopped tasks: {}", reasons.join("; "))
                };
                return Err(Error::RolloutFailed {
                    service: service.to_string(),
                    reason,
                });
            }
            Verdict::Pending(status) => {
                if status != last {
                    progress(&status);
                    last = status;
                }
            }
        }
        if tokio::time::Instant::now() + poll > deadline {
            return Err(Error::Timeout {
                service: service.to_string(),
                seconds: timeout.as_secs(),
                last,
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// The real observer: ECS `DescribeServices`, `ListTasks`, `DescribeTasks`.
#[derive(Debug)]
pub struct EcsObserver<'a> {
    /// The ECS client.
    pub ecs: &'a aws_sdk_ecs::Client,
    /// The cluster ARN.
    pub cluster: String,
    /// The service name.
    pub service: String,
}

/// The view of a described service.
pub fn view_of(s: &aws_sdk_ecs::types::Service) -> ServiceView {
    ServiceView {
        status: s.status().unwrap_or("MISSING").to_string(),
        running: s.running_count(),
        desired: s.desired_count(),
        deployments: s
            .deployments()
            .iter()
            .map(|d| DeploymentView {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                running: d.running_count(),
                desired: d.desired_count(),
                failed_tasks: d.failed_tasks(),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .map(|e| {
                (
                    e.id().unwrap_or_default().to_string(),
                    e.message().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    }
}

impl RolloutObserver for EcsObserver<'_> {
    async fn describe(&self) -> Result<ServiceView> {
        let out = self
            .ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .map_err(|e| aws("ecs:DescribeServices", e))?;
        Ok(out
            .services()
            .first()
            .map(view_of)
            .unwrap_or_else(|| ServiceView {
                status: "MISSING".to_string(),
                ..ServiceView::default()
            }))
    }

    async fn stopped_reasons(&self, task_definition: &str) -> Result<Vec<String>> {
        let arns = self
            .ecs
            .list_tasks()
            .cluster(&self.cluster)
            .service_name(&self.service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .map_err(|e| aws("ecs:ListTasks", e))?
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let tasks = self
            .ecs
            .describe_tasks()
            .cluster(&self.cluster)
            .set_tasks(Some(arns.into_iter().take(100).collect()))
            .send()
            .await
            .map_err(|e| aws("ecs:DescribeTasks", e))?;
        let mut reasons = BTreeSet::new();
        for t in tasks.tasks() {
            if t.task_definition_arn() != Some(task_definition) {
                continue;
            }
            if let Some(r) = t.stopped_reason() {
                reasons.insert(r.to_string());
            }
            for c in t.containers() {
                if let Some(r) = c.reason() {
                    reasons.insert(format!("{}: {r}", c.name().unwrap_or("container")));
                }
            }
        }
        Ok(reasons.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(id: &str, status: &str, td: &str, rollout: Option<&str>) -> DeploymentView {
        DeploymentView {
            id: id.into(),
            status: status.into(),
            task_definition: td.into(),
            rollout_state: rollout.map(str::to_string),
            rollout_state_reason: rollout.map(|r| format!("reason {r}")),
            running: 2,
            desired: 2,
            failed_tasks: 0,
        }
    }

    fn view(deployments: Vec<DeploymentView>) -> ServiceView {
        ServiceView {
            status: "ACTIVE".into(),
            running: 2,
            desired: 2,
            deployments,
            events: vec![],
        }
    }

    const NEW: &str = "arn:aws:ecs:r:1:task-definition/app:2";
    const OLD: &str = "arn:aws:ecs:r:1:task-definition/app:1";

    #[test]
    fn done_only_when_the_primary_runs_the_new_definition_alone_and_completed() {
        let before = BTreeSet::from(["d1".to_string()]);
        assert_eq!(
            evaluate(
                &view(vec![dep("d2", "PRIMARY", NEW, Some("COMPLETED"))]),
                NEW,
                &before
            ),
            Verdict::Done
        );
        assert!(matches!(
            evaluate(
                &view(vec![
                    dep("d2", "PRIMARY", NEW, Some("COMPLETED")),
                    dep("d1", "ACTIVE", OLD, Some("COMPLETED"))
                ]),
                NEW,
                &before
            ),
            Verdict::Pending(s) if s.contains("2 deployment(s)")
        ));
        assert!(matches!(
            evaluate(
                &view(vec![dep("d2", "PRIMARY", NEW, Some("IN_PROGRESS"))]),
                NEW,
                &before
            ),
            Verdict::Pending(_)
        ));
        // No rollout state reported: one deployment and counts equal suffice.
        assert_eq!(
            evaluate(&view(vec![dep("d2", "PRIMARY", NEW, None)]), NEW, &before),
            Verdict::Done
        );
    }

    #[test]
    fn an_old_primary_is_waiting_before_ecs_starts_and_a_rollback_after() {
        let before = BTreeSet::from(["d1".to_string()]);
        assert!(matches!(
            evaluate(&view(vec![dep("d1", "PRIMARY", OLD, Some("COMPLETED"))]), NEW, &before),
            Verdict::Pending(s) if s.contains("waiting for ECS to start")
        ));
        assert!(matches!(
            evaluate(&view(vec![dep("d3", "PRIMARY", OLD, Some("IN_PROGRESS"))]), NEW, &before),
            Verdict::Failed(s) if s.contains("rolled back") && s.contains("app:1, not app:2")
        ));
    }

    #[test]
    fn a_failed_rollout_of_the_new_definition_fails_with_its_reason() {
        let before = BTreeSet::from(["d1".to_string()]);
        let v = view(vec![
            dep("d3", "PRIMARY", OLD, Some("IN_PROGRESS")),
            dep("d2", "ACTIVE", NEW, Some("FAILED")),
        ]);
        assert!(matches!(
            evaluate(&v, NEW, &before),
            Verdict::Failed(s) if s.contains("d2") && s.contains("reason FAILED")
        ));
        let gone = ServiceView {
            status: "INACTIVE".into(),
            ..view(vec![])
        };
        assert_eq!(
            evaluate(&gone, NEW, &before),
            Verdict::Failed("the service is INACTIVE".into())
        );
    }
}
