//! The JSON of `planton serve`'s API, as the page reads it (the server's `views` module
//! defines it; its OpenAPI document is at `/api/openapi.json`). Unknown fields are ignored
//! so a newer server does not break an older page.

use serde::{Deserialize, Serialize};

/// A run with its tasks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The run id.
    pub id: String,
    /// The service.
    pub service: String,
    /// The image.
    pub image: String,
    /// Who started it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
    /// When it completed.
    pub ended_at: Option<i64>,
    /// Its state.
    pub state: String,
    /// Its result.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// A dry run.
    #[serde(default)]
    pub dry_run: bool,
    /// The tasks.
    pub tasks: Vec<TaskView>,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// The overlay name.
    pub name: String,
    /// The environment.
    pub env: String,
    /// The manifest kind.
    pub kind: String,
    /// The manifest digest.
    pub manifest_digest: String,
    /// Whether gated.
    pub requires_manual_gate: bool,
    /// `yes`/`no` once decided.
    pub manual_gate_decision: Option<String>,
    /// State.
    pub state: String,
    /// Result.
    pub result: Option<String>,
    /// Started.
    pub started_at: Option<i64>,
    /// Ended.
    pub ended_at: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Stack-job starts.
    #[serde(default)]
    pub attempts: u32,
    /// The deployed revision.
    pub revision: Option<String>,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    /// `yes` or `no`.
    pub decision: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: i64,
    /// Their comment.
    pub comment: Option<String>,
    /// For this digest.
    pub manifest_digest: String,
    /// For this image.
    pub image: String,
}

/// A gate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateView {
    /// `not_required`, `pending`, `approved`, `rejected`, `expired`.
    pub status: String,
    /// The digest an approval must name.
    pub pending_digest: String,
    /// The image an approval must name.
    pub pending_image: String,
    /// Whether the signed-in user may decide.
    pub may_decide: bool,
}

/// A task in full.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDetail {
    /// Its run.
    pub run: RunView,
    /// The task.
    pub task: TaskView,
    /// What it deploys.
    pub manifest_yaml: String,
    /// The diff against the last successful deploy.
    pub diff: String,
    /// That deploy's run.
    pub previous_run: Option<String>,
    /// Its gate.
    pub gate: GateView,
    /// Its decisions.
    pub decisions: Vec<DecisionView>,
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// User name.
    pub user: String,
    /// `viewer`, `approver` or `admin`.
    pub role: String,
    /// Where an approver approves.
    #[serde(default)]
    pub environments: Vec<String>,
    /// For POSTs.
    pub csrf_token: Option<String>,
    /// How.
    pub via: String,
}

/// A piece of a log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogView {
    /// Text.
    pub text: String,
    /// Next offset.
    pub next_offset: u64,
}

/// Sign-in body.
#[derive(Debug, Clone, Serialize)]
pub struct LoginRequest {
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
}

/// Approve/reject body.
#[derive(Debug, Clone, Serialize)]
pub struct DecideRequest {
    /// The reviewed digest.
    pub digest: String,
    /// The reviewed image.
    pub image: String,
    /// Why.
    pub comment: Option<String>,
}
