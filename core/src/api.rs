//! The JSON of `planton serve`'s API, shared by the server (`planton-serve`, which
//! serves it and derives the OpenAPI schemas from it with the `openapi` feature) and the
//! web app (which reads it), so the two cannot drift apart. The server converts the
//! pipeline types ([`crate::pipeline`]) to these by hand, so the store's format and the API
//! can change apart. Times are milliseconds since the Unix epoch, UTC. A reader ignores
//! unknown fields, so a newer server does not break an older page.
//!
//! The live health of a deployed environment ([`ServiceHealth`], [`EnvironmentHealth`]) is
//! defined here too: the Kubernetes driver computes it (`planton status --output json`
//! prints it) and the server's health endpoint serves it.
//!
//! ```
//! use planton_core::api::{ObjectStatus, ServiceHealth};
//! let h: ServiceHealth = serde_json::from_str(r#"{"task":"prod","env":"prod","namespace":"shop",
//!   "objects":[{"object":"Deployment shop/api","health":{"status":"InProgress","message":"Replicas: 1/3 updated"}}]}"#).unwrap();
//! assert_eq!(h.objects[0].health.status, ObjectStatus::InProgress);
//! assert!(!h.ready());
//! ```

use crate::pipeline::{self as p, Decision, Run, Task};
use serde::{Deserialize, Serialize};

/// A role of a user of the server.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads; approves and rejects in named environments.
    Approver,
    /// Reads; approves and rejects everywhere.
    Admin,
}

impl Role {
    /// `viewer`, `approver` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run with its tasks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The run id.
    pub id: String,
    /// The service.
    pub service: String,
    /// The image every task deploys.
    pub image: String,
    /// Who started it.
    pub created_by: String,
    /// When it was created.
    pub created_at: i64,
    /// When it completed.
    pub ended_at: Option<i64>,
    /// `queued`, `running`, `awaiting_approval` or `completed`.
    pub state: String,
    /// `succeeded`, `failed` or `cancelled`, once completed.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// A dry run stops before the stack jobs.
    pub dry_run: bool,
    /// `local` or `kubernetes`.
    pub executor: String,
    /// The tasks, in promotion order.
    pub tasks: Vec<TaskView>,
}

/// One task of a run (without its manifest; see [`TaskDetail`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// The overlay name.
    pub name: String,
    /// The environment.
    pub env: String,
    /// The manifest's kind.
    pub kind: String,
    /// The manifest's `metadata.name`.
    pub resource_name: String,
    /// `sha256:<hex>` of the generated manifest.
    pub manifest_digest: String,
    /// Whether it waits for approval.
    pub requires_manual_gate: bool,
    /// `yes` or `no`, once decided.
    pub manual_gate_decision: Option<String>,
    /// Who may approve, as `planton.yaml` says (empty: any approver of the environment).
    pub approvers: Vec<String>,
    /// When a pending gate expires.
    pub gate_expires_at: Option<i64>,
    /// `queued`, `running`, `awaiting_approval` or `completed`.
    pub state: String,
    /// `succeeded`, `failed`, `cancelled` or `skipped`, once completed.
    pub result: Option<String>,
    /// When it started.
    pub started_at: Option<i64>,
    /// When it completed.
    pub ended_at: Option<i64>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// How many times its stack job started.
    pub attempts: u32,
    /// The revision its stack job recorded.
    pub revision: Option<String>,
}

/// A recorded gate decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    /// The run.
    pub run_id: String,
    /// The task.
    pub task: String,
    /// `yes` (approved) or `no` (rejected).
    pub decision: String,
    /// Who decided.
    pub by: String,
    /// When.
    pub at: i64,
    /// Their comment.
    pub comment: Option<String>,
    /// The manifest digest it was given for.
    pub manifest_digest: String,
    /// The image it was given for.
    pub image: String,
}

/// What a gate says now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GateView {
    /// `not_required`, `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    /// What an approval must name to count: the task's current manifest digest.
    pub pending_digest: String,
    /// And the run's image.
    pub pending_image: String,
    /// Whether the caller may decide it (role, environment and `planton.yaml` approvers).
    pub may_decide: bool,
    /// Decisions given for another digest or image, which no longer count.
    pub void: Vec<DecisionView>,
}

/// One task in full: what it deploys, the diff against the last deploy, its gate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskDetail {
    /// The run (with every task).
    pub run: RunView,
    /// This task.
    pub task: TaskView,
    /// The generated manifest it deploys (references only, never secret values).
    pub manifest_yaml: String,
    /// Unified diff from the manifest of the last run of this service whose task for this
    /// overlay succeeded (empty: identical; `previousRun` null: first deploy).
    pub diff: String,
    /// That earlier run.
    pub previous_run: Option<String>,
    /// Its gate.
    pub gate: GateView,
    /// Every decision recorded for this task.
    pub decisions: Vec<DecisionView>,
}

/// A service with its latest run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    /// The service name.
    pub name: String,
    /// Its latest run.
    pub latest: RunView,
}

/// Who is signed in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The user name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// For approvers: where they may approve.
    pub environments: Vec<String>,
    /// Send this as `X-CSRF-Token` on every POST made with the session cookie.
    pub csrf_token: Option<String>,
    /// `session`, `token`, `proxy` or `anonymous`.
    pub via: String,
}

/// A piece of a log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LogView {
    /// The text from the requested offset.
    pub text: String,
    /// Ask from here next time.
    pub next_offset: u64,
    /// Whether the task is completed (no more text will come).
    pub complete: bool,
}

/// Sign-in request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

/// Approve or reject request: pinned to what the user reviewed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideRequest {
    /// The manifest digest the user reviewed: must be the task's pending one.
    pub digest: String,
    /// The image the user reviewed: must be the run's.
    pub image: String,
    /// Why (recorded with the decision).
    #[serde(default)]
    pub comment: Option<String>,
}

/// Liveness answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always true when the server answers.
    pub ok: bool,
}

impl From<&Task> for TaskView {
    fn from(t: &Task) -> Self {
        TaskView {
            name: t.name.clone(),
            env: t.env.clone(),
            kind: t.kind.clone(),
            resource_name: t.resource_name.clone(),
            manifest_digest: t.manifest_digest.clone(),
            requires_manual_gate: t.requires_manual_gate,
            manual_gate_decision: t.manual_gate_decision.map(|d| d.as_str().to_string()),
            approvers: t.approvers.clone(),
            gate_expires_at: t.gate_expires_at,
            state: t.state.as_str().to_string(),
            result: t.result.map(|r| r.as_str().to_string()),
            started_at: t.started_at,
            ended_at: t.ended_at,
            error: t.error.clone(),
            attempts: t.attempts,
            revision: t.revision.clone(),
        }
    }
}

impl From<&Run> for RunView {
    fn from(r: &Run) -> Self {
        RunView {
            id: r.id.clone(),
            service: r.service.clone(),
            image: r.image.clone(),
            created_by: r.created_by.clone(),
            created_at: r.created_at,
            ended_at: r.ended_at,
            state: r.state.as_str().to_string(),
            result: r.result.map(|x| x.as_str().to_string()),
            error: r.error.clone(),
            dry_run: r.dry_run,
            executor: r.executor.clone(),
            tasks: r.tasks.iter().map(TaskView::from).collect(),
        }
    }
}

impl From<&Decision> for DecisionView {
    fn from(d: &Decision) -> Self {
        DecisionView {
            run_id: d.run_id.clone(),
            task: d.task.clone(),
            decision: d.decision.as_str().to_string(),
            by: d.by.clone(),
            at: d.at,
            comment: d.comment.clone(),
            manifest_digest: d.manifest_digest.clone(),
            image: d.image.clone(),
        }
    }
}

/// The gate of `task` in `run` as `decisions` say at `now`.
pub fn gate_view(run: &Run, task: &Task, decisions: &[Decision], now: i64, may: bool) -> GateView {
    let (status, void) = match p::gate_status(task, &run.image, decisions, now) {
        p::GateStatus::NotRequired => ("not_required", vec![]),
        p::GateStatus::Approved(_) => ("approved", vec![]),
        p::GateStatus::Rejected(_) => ("rejected", vec![]),
        p::GateStatus::Pending { void } => ("pending", void),
        p::GateStatus::Expired { .. } => ("expired", vec![]),
    };
    GateView {
        status: status.to_string(),
        pending_digest: task.manifest_digest.clone(),
        pending_image: run.image.clone(),
        may_decide: may,
        void: void.into_iter().map(DecisionView::from).collect(),
    }
}

/// An object's readiness by the kstatus rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub enum ObjectStatus {
    /// Reconciled and ready.
    Current,
    /// Still being reconciled.
    InProgress,
    /// Reconciliation failed and will not recover by waiting (e.g. a progress deadline).
    Failed,
    /// Being deleted.
    Terminating,
    /// The object does not exist.
    NotFound,
}

/// A status with the reason a human reads ("Replicas: 1/3 updated").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectHealth {
    /// The status.
    pub status: ObjectStatus,
    /// Why, in a few words.
    pub message: String,
}

impl ObjectHealth {
    /// A status with its reason.
    pub fn new(status: ObjectStatus, message: impl Into<String>) -> ObjectHealth {
        ObjectHealth {
            status,
            message: message.into(),
        }
    }
}

/// The live health of one deployed object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveObject {
    /// `Kind namespace/name`, e.g. `Deployment shop/order-api`.
    pub object: String,
    /// Its health now.
    pub health: ObjectHealth,
}

/// How a deployed revision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RevisionResult {
    /// Being deployed (or the deploy died).
    Pending,
    /// Applied and ready.
    Succeeded,
    /// Applied, but not ready in time, or an apply failed.
    Failed,
}

/// A deployed revision, without its manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    /// Its number.
    pub revision: u64,
    /// How it ended.
    pub result: RevisionResult,
    /// The image it deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `sha256:<hex>` of the manifest it deployed.
    pub manifest_digest: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Who deployed it.
    pub actor: String,
    /// `deploy` or `rollback to N`.
    pub source: String,
    /// A one-line summary.
    pub message: String,
}

/// The live health of one task (environment) of a service on Kubernetes: its newest stored
/// revision and the readiness of every object of its newest finished revision. What
/// `planton status --output json` prints, one per task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceHealth {
    /// The task (overlay name).
    pub task: String,
    /// Its environment (`metadata.env`); empty when never deployed.
    pub env: String,
    /// The namespace it lives in.
    pub namespace: String,
    /// The newest revision, if any was ever deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionSummary>,
    /// Live health of the objects of the newest finished revision, in apply order.
    #[serde(default)]
    pub objects: Vec<LiveObject>,
}

impl ServiceHealth {
    /// Whether it is deployed and every object is `Current`.
    pub fn ready(&self) -> bool {
        self.revision.is_some()
            && !self.objects.is_empty()
            && self
                .objects
                .iter()
                .all(|o| o.health.status == ObjectStatus::Current)
    }
}

/// Where an environment deployed to AWS ECS lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EcsLocation {
    /// The ECS cluster ARN.
    pub cluster: String,
    /// The ECS service name.
    pub service: String,
    /// The AWS region.
    pub region: String,
}

/// The answer of the server's health endpoint for one environment of a service: where it
/// looked and what it found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentHealth {
    /// The service.
    pub service: String,
    /// The environment asked for.
    pub environment: String,
    /// The kubeconfig context used (`planton.yaml`'s `context` for the environment; none:
    /// the current context).
    #[serde(default)]
    pub context: Option<String>,
    /// Where an environment on ECS lives (then `context` and the health's `namespace` are
    /// empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsLocation>,
    /// Deployed and every object `Current` ([`ServiceHealth::ready`]).
    pub ready: bool,
    /// When the cluster was asked.
    pub checked_at: i64,
    /// What the cluster says: on Kubernetes exactly what `planton status --output json`
    /// prints for the task; on ECS the service and the newest revision's task definition
    /// judged from what `planton status` reads.
    pub health: ServiceHealth,
}
