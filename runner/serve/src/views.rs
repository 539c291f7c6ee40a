//! The API's JSON: serializable counterparts of core's pipeline types, converted by hand,
//! so the store's format and the API can change apart (and the OpenAPI schemas are
//! derived here). Times are milliseconds since the Unix epoch, UTC.

use crate::config::Role;
use planton_core::pipeline::{self as p, Decision, Run, Task};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A run with its tasks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    /// The service name.
    pub name: String,
    /// Its latest run.
    pub latest: RunView,
}

/// Who is signed in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

/// Approve or reject request: pinned to what the user reviewed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
