//! Live health of one ECS environment in the shape the Kubernetes path uses
//! ([`planton_core::api::ServiceHealth`]), so `planton serve`'s health endpoint and the
//! pipeline UI show ECS environments like any other: the newest stored revision, and two
//! "objects", the ECS service (is it active, settled on one deployment, running as many
//! tasks as desired?) and the newest revision's task definition (is it what the service
//! runs, and did its deploy succeed?).
//!
//! [`service_health`] is a pure function of a [`StatusReport`] (what `planton status`
//! reads), so the endpoint and `status` judge from the same three calls: DescribeClusters,
//! DescribeServices and the state parameter.

use crate::StatusReport;
use crate::lock::rfc3339;
use crate::state::{self, Revision};
use crate::wait::{ServiceView, short};
use planton_core::api::{
    LiveObject, ObjectHealth, ObjectStatus, RevisionResult, RevisionSummary, ServiceHealth,
};

/// A stored revision as the API shows it (without its operations).
pub fn summary(r: &Revision) -> RevisionSummary {
    let message = r.message.clone().unwrap_or_default();
    RevisionSummary {
        revision: r.number,
        result: match r.result {
            state::RevisionResult::Pending => RevisionResult::Pending,
            state::RevisionResult::Succeeded => RevisionResult::Succeeded,
            state::RevisionResult::Failed => RevisionResult::Failed,
        },
        image: Some(r.image.clone()).filter(|i| !i.is_empty()),
        manifest_digest: r.digest.clone(),
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        actor: r.actor.clone(),
        source: if message.starts_with("rollback to revision") {
            message.split(':').next().unwrap_or_default().to_string()
        } else {
            "deploy".into()
        },
        message,
    }
}

/// The health of `task` (environment `env`) of the ECS service `service` in `cluster`, as
/// read by [`crate::status`]. A service never deployed has no revision and no objects.
pub fn service_health(
    report: &StatusReport,
    task: &str,
    env: &str,
    cluster: &str,
    service: &str,
) -> ServiceHealth {
    let newest = report.state.as_ref().and_then(|s| s.revisions.first());
    let mut objects = Vec::new();
    if newest.is_some() || report.live.is_some() {
        objects.push(LiveObject {
            object: format!("ECS service {}/{service}", short(cluster)),
            health: service_object(report.live.as_ref()),
        });
    }
    if let Some(r) = newest {
        objects.push(LiveObject {
            object: format!("TaskDefinition {}", short(&r.task_definition_arn)),
            health: task_definition_object(r, report.task_definition.as_deref()),
        });
    }
    ServiceHealth {
        task: task.to_string(),
        env: if newest.is_some() {
            env.to_string()
        } else {
            String::new()
        },
        namespace: String::new(),
        revision: newest.map(summary),
        objects,
    }
}

/// The ECS service: `Current` when active, on one deployment, all desired tasks running.
fn service_object(live: Option<&ServiceView>) -> ObjectHealth {
    let Some(v) = live else {
        return ObjectHealth::new(ObjectStatus::NotFound, "the service does not exist");
    };
    match v.status.as_str() {
        "ACTIVE" => {}
        "DRAINING" => return ObjectHealth::new(ObjectStatus::Terminating, "draining"),
        other => {
            return ObjectHealth::new(
                ObjectStatus::NotFound,
                format!("the service is {}", other.to_lowercase()),
            );
        }
    }
    let tasks = format!("Tasks: {}/{} running", v.running, v.desired);
    if let Some(d) = v
        .deployments
        .iter()
        .find(|d| d.rollout_state.as_deref() == Some("FAILED"))
    {
        let why = d
            .rollout_state_reason
            .as_deref()
            .unwrap_or("rollout failed");
        return ObjectHealth::new(
            ObjectStatus::Failed,
            format!("deployment of {} failed: {why}", short(&d.task_definition)),
        );
    }
    if v.deployments.len() > 1 {
        return ObjectHealth::new(
            ObjectStatus::InProgress,
            format!("{} deployments; {tasks}", v.deployments.len()),
        );
    }
    if v.running != v.desired {
        return ObjectHealth::new(ObjectStatus::InProgress, tasks);
    }
    ObjectHealth::new(ObjectStatus::Current, tasks)
}

/// The newest revision's task definition: `Current` when its deploy succeeded and the
/// service runs a settled task definition (its own, or one set outside planton).
fn task_definition_object(r: &Revision, running: Option<&str>) -> ObjectHealth {
    match r.result {
        state::RevisionResult::Failed => {
            return ObjectHealth::new(
                ObjectStatus::Failed,
                format!(
                    "revision {} failed: {}",
                    r.number,
                    r.message.as_deref().unwrap_or("no reason recorded")
                ),
            );
        }
        state::RevisionResult::Pending => {
            return ObjectHealth::new(
                ObjectStatus::InProgress,
                format!(
                    "revision {} is being deployed (or its deploy stopped)",
                    r.number
                ),
            );
        }
        state::RevisionResult::Succeeded => {}
    }
    match running {
        Some(t) if t == r.task_definition_arn => ObjectHealth::new(
            ObjectStatus::Current,
            format!("the service runs revision {}", r.number),
        ),
        // Changed outside planton (by hand, another tool): what runs is settled, so it is
        // ready, as a Kubernetes object edited by hand is; the message says what runs.
        Some(t) => ObjectHealth::new(
            ObjectStatus::Current,
            format!(
                "the service runs {}, not revision {}'s {} (changed outside planton)",
                short(t),
                r.number,
                short(&r.task_definition_arn)
            ),
        ),
        None => ObjectHealth::new(ObjectStatus::NotFound, "no service runs it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::ServiceFields;
    use crate::state::DeployState;
    use crate::wait::DeploymentView;

    const CLUSTER: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
    const TD1: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:1";
    const TD2: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:2";

    fn revision(number: u64, td: &str, result: state::RevisionResult) -> Revision {
        Revision {
            number,
            digest: format!("sha256:{number}"),
            image: format!("shop/checkout:{number}"),
            actor: "ci".into(),
            task_definition_arn: td.into(),
            service: ServiceFields::default(),
            started_at: 1_700_000_000,
            finished_at: Some(1_700_000_060),
            result,
            message: None,
            operations: Vec::new(),
        }
    }

    fn deployment(td: &str, running: i32, desired: i32) -> DeploymentView {
        DeploymentView {
            id: format!("ecs-svc/{td}"),
            status: "PRIMARY".into(),
            task_definition: td.into(),
            running,
            desired,
            ..DeploymentView::default()
        }
    }

    fn report(revisions: Vec<Revision>, live: Option<ServiceView>) -> StatusReport {
        StatusReport {
            task_definition: live
                .as_ref()
                .and_then(|v| v.deployments.first())
                .map(|d| d.task_definition.clone()),
            live,
            state: (!revisions.is_empty()).then(|| DeployState {
                revisions,
                ..DeployState::new(CLUSTER, "checkout", "prod")
            }),
        }
    }

    fn live(deployments: Vec<DeploymentView>) -> ServiceView {
        ServiceView {
            status: "ACTIVE".into(),
            running: deployments.iter().map(|d| d.running).sum(),
            desired: deployments.first().map_or(0, |d| d.desired),
            deployments,
            events: Vec::new(),
        }
    }

    fn statuses(h: &ServiceHealth) -> Vec<(String, ObjectStatus)> {
        h.objects
            .iter()
            .map(|o| (o.object.clone(), o.health.status))
            .collect()
    }

    #[test]
    fn a_settled_service_running_the_newest_revision_is_ready() {
        let r = report(
            vec![revision(2, TD2, state::RevisionResult::Succeeded)],
            Some(live(vec![deployment(TD2, 2, 2)])),
        );
        let h = service_health(&r, "prod", "shop-prod", CLUSTER, "checkout");
        assert!(h.ready(), "{h:?}");
        assert_eq!(
            statuses(&h),
            [
                ("ECS service prod/checkout".into(), ObjectStatus::Current),
                ("TaskDefinition checkout:2".into(), ObjectStatus::Current)
            ]
        );
        assert_eq!(h.env, "shop-prod");
        let s = h.revision.expect("revision");
        assert_eq!(
            (s.revision, s.source.as_str(), s.started_at.as_str()),
            (2, "deploy", "2023-11-14T22:13:20Z")
        );
    }

    #[test]
    fn a_rollout_in_progress_or_failed_is_not_ready() {
        let rolling = report(
            vec![revision(2, TD2, state::RevisionResult::Pending)],
            Some(live(vec![deployment(TD2, 1, 2), deployment(TD1, 2, 2)])),
        );
        let h = service_health(&rolling, "prod", "shop-prod", CLUSTER, "checkout");
        assert!(!h.ready());
        assert_eq!(h.objects[0].health.status, ObjectStatus::InProgress);
        assert_eq!(
            h.objects[0].health.message,
            "2 deployments; Tasks: 3/2 running"
        );
        assert_eq!(h.objects[1].health.status, ObjectStatus::InProgress);

        let mut failing = deployment(TD2, 0, 2);
        failing.rollout_state = Some("FAILED".into());
        failing.rollout_state_reason = Some("circuit breaker tripped".into());
        let mut failed = revision(2, TD2, state::RevisionResult::Failed);
        failed.message = Some("the deployment of checkout failed".into());
        let h = service_health(
            &report(vec![failed], Some(live(vec![failing]))),
            "prod",
            "shop-prod",
            CLUSTER,
            "checkout",
        );
        assert_eq!(
            statuses(&h).into_iter().map(|s| s.1).collect::<Vec<_>>(),
            [ObjectStatus::Failed, ObjectStatus::Failed]
        );
        assert!(h.objects[0].health.message.contains("circuit breaker"));
    }

    #[test]
    fn drift_a_missing_service_and_a_rollback_are_named() {
        // Someone pointed the service at revision 1's task definition outside planton.
        let h = service_health(
            &report(
                vec![revision(2, TD2, state::RevisionResult::Succeeded)],
                Some(live(vec![deployment(TD1, 2, 2)])),
            ),
            "prod",
            "shop-prod",
            CLUSTER,
            "checkout",
        );
        assert_eq!(h.objects[1].health.status, ObjectStatus::Current);
        assert_eq!(
            h.objects[1].health.message,
            "the service runs checkout:1, not revision 2's checkout:2 (changed outside planton)"
        );

        let h = service_health(
            &report(
                vec![revision(1, TD1, state::RevisionResult::Succeeded)],
                None,
            ),
            "prod",
            "shop-prod",
            CLUSTER,
            "checkout",
        );
        assert_eq!(h.objects[0].health.status, ObjectStatus::NotFound);
        assert!(!h.ready());

        let mut rb = revision(3, TD1, state::RevisionResult::Succeeded);
        rb.message = Some("rollback to revision 1".into());
        assert_eq!(summary(&rb).source, "rollback to revision 1");

        let never = service_health(&report(vec![], None), "prod", "shop-prod", CLUSTER, "x");
        assert!(never.objects.is_empty() && never.revision.is_none() && never.env.is_empty());
    }
}
