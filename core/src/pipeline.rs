//! The pipeline stage's pure parts: the data model of runs, tasks, gate decisions and locks
//! (serde types shared by the CLI, the state stores and the web UI), promotion order, the
//! task state machine, and the gate rule (an approval counts only for the manifest digest
//! and image it was given for).
//!
//! This module decides; it does not act. It reads no clock (every time is handed in, as
//! milliseconds since the Unix epoch, UTC), stores nothing and runs nothing: the runner's
//! `planton-pipeline` crate persists these types and runs the stack jobs.
//!
//! States and results are exactly the spec's (§6): a task goes `queued` → `running` →
//! (`awaiting_approval` →) `completed`, and a completed task has a result `succeeded`,
//! `failed`, `cancelled` or `skipped`. JSON spells them in snake case, as the spec does;
//! field names are camelCase.
//!
//! ```
//! use planton_core::pipeline::{promotion_order, TaskState, TaskEvent, Task};
//! let overlays: Vec<String> = vec!["prod".into(), "staging".into(), "dev".into()];
//! let order = promotion_order(&overlays, &[]);
//! assert_eq!(order, ["dev", "staging", "prod"]);
//! let mut t = Task::new("staging", "app-staging", "MicroserviceKubernetes", "sha256:00");
//! t.apply(TaskEvent::Start { at: 1 }).unwrap();
//! assert_eq!(t.state, TaskState::Running);
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Created, not started.
    Queued,
    /// Its stack job is running (or the runner running it died; `resume` runs it again).
    Running,
    /// Stopped at its manual gate until someone approves or rejects.
    AwaitingApproval,
    /// Done; see the result.
    Completed,
}

/// How a completed task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskResult {
    /// The stack job deployed and the workload is ready.
    Succeeded,
    /// The stack job failed, or its gate was rejected or expired.
    Failed,
    /// An earlier task failed, or the run was cancelled.
    Cancelled,
    /// Not deployed on purpose (a dry run).
    Skipped,
}

/// A run's state, derived from its tasks by [`Run::derive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// No task has started.
    Queued,
    /// A task is running or the next one is about to.
    Running,
    /// A task waits at its gate.
    AwaitingApproval,
    /// Every task is completed.
    Completed,
}

/// How a completed run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Every task succeeded (or was skipped by a dry run).
    Succeeded,
    /// A task failed or a gate was rejected.
    Failed,
    /// The run was cancelled before it finished.
    Cancelled,
}

/// A gate decision, spelled as the spec's `manualGateDecision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateDecision {
    /// Approved.
    Yes,
    /// Rejected.
    No,
}

macro_rules! display_as_serde {
    ($($t:ty => { $($v:ident = $s:literal),* $(,)? })*) => {$(
        impl $t {
            /// The spelling used in JSON, the stores and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Reads the spelling of [`Self::as_str`].
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

display_as_serde! {
    TaskState => { Queued = "queued", Running = "running", AwaitingApproval = "awaiting_approval", Completed = "completed" }
    TaskResult => { Succeeded = "succeeded", Failed = "failed", Cancelled = "cancelled", Skipped = "skipped" }
    RunState => { Queued = "queued", Running = "running", AwaitingApproval = "awaiting_approval", Completed = "completed" }
    RunResult => { Succeeded = "succeeded", Failed = "failed", Cancelled = "cancelled" }
    GateDecision => { Yes = "yes", No = "no" }
}

/// One deployment task: one overlay of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// The overlay directory name (the task's name).
    pub name: String,
    /// The target environment (`metadata.env`).
    pub env: String,
    /// The manifest's kind.
    pub kind: String,
    /// The manifest's `metadata.name`.
    #[serde(default)]
    pub resource_name: String,
    /// The generated manifest as built (references only; never secret values).
    #[serde(default)]
    pub manifest_yaml: String,
    /// `sha256:<hex>` of `manifest_yaml`.
    pub manifest_digest: String,
    /// Whether the task waits for approval before its stack job runs.
    pub requires_manual_gate: bool,
    /// The decision that let the task through its gate (or stopped it), once decided.
    #[serde(default)]
    pub manual_gate_decision: Option<GateDecision>,
    /// Who may approve (empty: anyone the store lets decide).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// A pending gate fails the task after this time (none: it waits forever).
    #[serde(default)]
    pub gate_expires_at: Option<Millis>,
    /// Where it is.
    pub state: TaskState,
    /// How it ended, once completed.
    #[serde(default)]
    pub result: Option<TaskResult>,
    /// When it first started.
    #[serde(default)]
    pub started_at: Option<Millis>,
    /// When it completed.
    #[serde(default)]
    pub ended_at: Option<Millis>,
    /// Why it failed or was cancelled.
    #[serde(default)]
    pub error: Option<String>,
    /// How many times its stack job was started (more than one after a resumed crash).
    #[serde(default)]
    pub attempts: u32,
    /// The revision its stack job recorded (the driver's deploy record), when it reported one.
    #[serde(default)]
    pub revision: Option<String>,
}

/// What happens to a task; [`Task::apply`] checks that it may.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    /// Its stack job starts (again, after a crash: `running` → `running`).
    Start {
        /// When.
        at: Millis,
    },
    /// It reaches its gate without a decision that counts.
    AwaitApproval {
        /// When the gate expires, if it does.
        expires_at: Option<Millis>,
    },
    /// Its gate was approved; the stack job starts next.
    Approved,
    /// Its gate was rejected: the task fails.
    Rejected {
        /// When.
        at: Millis,
        /// The reason shown (who rejected, their comment).
        error: String,
    },
    /// Its stack job finished.
    Finished {
        /// When.
        at: Millis,
        /// `Succeeded`, `Failed` or `Skipped`.
        result: TaskResult,
        /// Why it failed.
        error: Option<String>,
    },
    /// An earlier task failed or the run was cancelled.
    Cancel {
        /// When.
        at: Millis,
        /// Why.
        reason: String,
    },
}

/// A transition the state machine does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("task `{task}` cannot go from {from} by {event}")]
pub struct TransitionError {
    /// The task.
    pub task: String,
    /// Its state.
    pub from: TaskState,
    /// What was attempted.
    pub event: &'static str,
}

impl Task {
    /// A queued task.
    pub fn new(name: &str, env: &str, kind: &str, manifest_digest: &str) -> Task {
        Task {
            name: name.into(),
            env: env.into(),
            kind: kind.into(),
            resource_name: String::new(),
            manifest_yaml: String::new(),
            manifest_digest: manifest_digest.into(),
            requires_manual_gate: false,
            manual_gate_decision: None,
            approvers: Vec::new(),
            gate_expires_at: None,
            state: TaskState::Queued,
            result: None,
            started_at: None,
            ended_at: None,
            error: None,
            attempts: 0,
            revision: None,
        }
    }

    /// Applies `event`, or says why it may not happen. The allowed moves:
    /// `queued → running` (start), `queued → awaiting_approval` (gate),
    /// `running → running` (restart after a crash), `awaiting_approval → queued` (approved),
    /// `awaiting_approval → completed/failed` (rejected or expired),
    /// `running → completed` (finished), and any unfinished state → `completed/cancelled`.
    pub fn apply(&mut self, event: TaskEvent) -> Result<(), TransitionError> {
        use TaskState as S;
        let deny = |t: &Task, event| TransitionError {
            task: t.name.clone(),
            from: t.state,
            event,
        };
        match event {
            TaskEvent::Start { at } => match self.state {
                S::Queued | S::Running => {
                    if self.requires_manual_gate
                        && self.manual_gate_decision != Some(GateDecision::Yes)
                    {
                        return Err(deny(self, "start (the gate is not approved)"));
                    }
                    self.state = S::Running;
                    self.started_at.get_or_insert(at);
                    self.attempts += 1;
                }
                _ => return Err(deny(self, "start")),
            },
            TaskEvent::AwaitApproval { expires_at } => match self.state {
                S::Queued | S::AwaitingApproval if self.requires_manual_gate => {
                    self.state = S::AwaitingApproval;
                    self.manual_gate_decision = None;
                    self.gate_expires_at = expires_at;
                }
                _ => return Err(deny(self, "await approval")),
            },
            TaskEvent::Approved => match self.state {
                S::AwaitingApproval | S::Queued if self.requires_manual_gate => {
                    self.state = S::Queued;
                    self.manual_gate_decision = Some(GateDecision::Yes);
                }
                _ => return Err(deny(self, "approve")),
            },
            TaskEvent::Rejected { at, error } => match self.state {
                S::AwaitingApproval | S::Queued if self.requires_manual_gate => {
                    self.state = S::Completed;
                    self.manual_gate_decision = Some(GateDecision::No);
                    self.result = Some(TaskResult::Failed);
                    self.ended_at = Some(at);
                    self.error = Some(error);
                }
                _ => return Err(deny(self, "reject")),
            },
            TaskEvent::Finished { at, result, error } => match (self.state, result) {
                (S::Running, TaskResult::Succeeded | TaskResult::Failed | TaskResult::Skipped) => {
                    self.state = S::Completed;
                    self.result = Some(result);
                    self.ended_at = Some(at);
                    self.error = error;
                }
                _ => return Err(deny(self, "finish")),
            },
            TaskEvent::Cancel { at, reason } => match self.state {
                S::Completed => return Err(deny(self, "cancel")),
                _ => {
                    self.state = S::Completed;
                    self.result = Some(TaskResult::Cancelled);
                    self.ended_at = Some(at);
                    self.error = Some(reason);
                }
            },
        }
        Ok(())
    }

    /// Whether the task is done (any result).
    pub fn is_completed(&self) -> bool {
        self.state == TaskState::Completed
    }
}

/// One pipeline run: one image through every task of one service, in promotion order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Assigned by the state store when the run is created; unique in that store.
    pub id: String,
    /// The service (`metadata.name` of its manifests).
    pub service: String,
    /// Where the service's root folder was, for the runner that resumes it.
    pub service_dir: String,
    /// The image every task deploys.
    pub image: String,
    /// Who started it.
    pub created_by: String,
    /// When it was created.
    pub created_at: Millis,
    /// When it completed.
    #[serde(default)]
    pub ended_at: Option<Millis>,
    /// Derived from the tasks ([`Run::derive`]).
    pub state: RunState,
    /// How it ended, once completed.
    #[serde(default)]
    pub result: Option<RunResult>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// A dry run stops before the stack jobs: tasks are `skipped`, gates still wait.
    #[serde(default)]
    pub dry_run: bool,
    /// Where stack jobs run: `local` (a child process) or `kubernetes` (a Job).
    #[serde(default = "default_executor")]
    pub executor: String,
    /// The tasks, in promotion order.
    pub tasks: Vec<Task>,
}

fn default_executor() -> String {
    "local".into()
}

/// What the engine does next with a run ([`Run::next`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Run (or re-run, after a crash) the stack job of the task at this index.
    RunTask(usize),
    /// Check the gate of the task at this index.
    Gate(usize),
    /// Cancel the tasks from this index on: an earlier one failed.
    CancelFrom(usize),
    /// The run is complete.
    Done,
}

impl Run {
    /// The run's state and result as its tasks say.
    pub fn derive(&mut self, now: Millis) {
        use TaskState as S;
        let any = |s: S| self.tasks.iter().any(|t| t.state == s);
        self.state = if self.tasks.iter().all(Task::is_completed) {
            RunState::Completed
        } else if any(S::AwaitingApproval) {
            RunState::AwaitingApproval
        } else if any(S::Running) || self.tasks.iter().any(Task::is_completed) {
            RunState::Running
        } else {
            RunState::Queued
        };
        if self.state == RunState::Completed {
            let failed = self
                .tasks
                .iter()
                .find(|t| t.result == Some(TaskResult::Failed));
            let cancelled = self
                .tasks
                .iter()
                .any(|t| t.result == Some(TaskResult::Cancelled));
            self.result = Some(if failed.is_some() {
                RunResult::Failed
            } else if cancelled {
                RunResult::Cancelled
            } else {
                RunResult::Succeeded
            });
            if self.error.is_none() {
                self.error = failed.map(|t| {
                    format!(
                        "task `{}` failed: {}",
                        t.name,
                        t.error.as_deref().unwrap_or("no reason recorded")
                    )
                });
            }
            self.ended_at.get_or_insert(now);
        } else {
            self.result = None;
            self.ended_at = None;
        }
    }

    /// The next step, in promotion order: the first task not completed, unless an earlier
    /// one failed (then the rest are cancelled).
    pub fn next(&self) -> Next {
        for (i, t) in self.tasks.iter().enumerate() {
            if t.is_completed() {
                if matches!(t.result, Some(TaskResult::Failed | TaskResult::Cancelled))
                    && self.tasks[i..].iter().any(|t| !t.is_completed())
                {
                    return Next::CancelFrom(i + 1);
                }
                continue;
            }
            return match t.state {
                TaskState::Running => Next::RunTask(i),
                _ if t.requires_manual_gate
                    && t.manual_gate_decision != Some(GateDecision::Yes) =>
                {
                    Next::Gate(i)
                }
                _ => Next::RunTask(i),
            };
        }
        Next::Done
    }

    /// The task named `name`.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }
}

/// One recorded gate decision. Decisions are append-only: the history `status` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The run.
    pub run_id: String,
    /// The task (overlay name).
    pub task: String,
    /// Approve or reject.
    pub decision: GateDecision,
    /// Who decided (as the store authenticated them).
    pub by: String,
    /// When.
    pub at: Millis,
    /// Why, as they wrote it.
    #[serde(default)]
    pub comment: Option<String>,
    /// The task's manifest digest the decision was given for.
    pub manifest_digest: String,
    /// The run's image the decision was given for.
    pub image: String,
}

/// What a gate says now ([`gate_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateStatus<'a> {
    /// The task has no gate.
    NotRequired,
    /// Approved for exactly this digest and image.
    Approved(&'a Decision),
    /// Rejected for exactly this digest and image.
    Rejected(&'a Decision),
    /// No decision counts. `void` lists decisions given for another digest or image (the
    /// overlay or image changed since), which no longer apply.
    Pending {
        /// Decisions that do not apply any more.
        void: Vec<&'a Decision>,
    },
    /// Pending past its expiry.
    Expired {
        /// When it expired.
        at: Millis,
    },
}

/// The gate rule: the latest decision for this task given for its current manifest digest
/// and the run's image decides; any other decision is void.
pub fn gate_status<'a>(
    task: &Task,
    image: &str,
    decisions: &'a [Decision],
    now: Millis,
) -> GateStatus<'a> {
    if !task.requires_manual_gate {
        return GateStatus::NotRequired;
    }
    let mine = decisions.iter().filter(|d| d.task == task.name);
    let (valid, void): (Vec<&Decision>, Vec<&Decision>) =
        mine.partition(|d| d.manifest_digest == task.manifest_digest && d.image == image);
    match valid.iter().max_by_key(|d| d.at) {
        Some(d) if d.decision == GateDecision::Yes => GateStatus::Approved(d),
        Some(d) => GateStatus::Rejected(d),
        None => match task.gate_expires_at {
            Some(at) if now >= at => GateStatus::Expired { at },
            _ => GateStatus::Pending { void },
        },
    }
}

/// Whether `who` may decide a gate whose approvers are `approvers` (empty: anyone). An entry
/// matches the identity exactly; `*` matches everyone.
pub fn may_approve(approvers: &[String], who: &str) -> bool {
    approvers.is_empty() || approvers.iter().any(|a| a == who || a == "*")
}

/// A lock: one run per service and environment at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    /// What is locked: [`lock_key`].
    pub key: String,
    /// Who holds it: `user@host:pid`.
    pub owner: String,
    /// The run it was taken for.
    pub run_id: String,
    /// When it was taken.
    pub acquired_at: Millis,
    /// When it lapses unless renewed; past it, the lock is stale and may be taken over.
    pub expires_at: Millis,
}

impl Lock {
    /// Whether the lock has lapsed at `now`.
    pub fn is_stale(&self, now: Millis) -> bool {
        now >= self.expires_at
    }
}

/// The key of the lock for one service and environment.
pub fn lock_key(service: &str, env: &str) -> String {
    format!("{service}/{env}")
}

/// The conventional rank of an overlay name: dev before test/qa, before staging/stage/uat,
/// before prod/production. Names are split at `-`, `_` and `.`; the first word with a rank
/// decides (`prod-eu` is prod). A name without one ranks after staging and before prod, so
/// nothing unknown goes out after production.
pub fn conventional_rank(name: &str) -> u8 {
    for word in name.split(['-', '_', '.']).map(|w| w.to_ascii_lowercase()) {
        let rank = match word.as_str() {
            "local" | "sandbox" | "dev" | "develop" | "development" => Some(0),
            "test" | "testing" | "qa" | "int" | "integration" | "ci" => Some(1),
            "staging" | "stage" | "stg" | "uat" | "preprod" | "pre" | "preview" => Some(2),
            "prod" | "production" | "prd" | "live" => Some(4),
            _ => None,
        };
        if let Some(r) = rank {
            return r;
        }
    }
    3
}

/// The order tasks run in: the overlays listed in `configured` (`promotionOrder`) first, in
/// that order; the rest after them by [`conventional_rank`], then by name.
pub fn promotion_order(names: &[String], configured: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names.to_vec();
    out.sort_by_key(|n| {
        (
            configured.iter().position(|c| c == n).unwrap_or(usize::MAX),
            conventional_rank(n),
            n.clone(),
        )
    });
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn check_order(input: &[&str], configured: &[&str], expect: &[&str]) {
        assert_eq!(
            promotion_order(&names(input), &names(configured)),
            names(expect)
        );
    }

    #[test]
    fn conventional_order() {
        check_order(&["prod", "staging"], &[], &["staging", "prod"]);
        check_order(
            &["production", "uat", "qa", "dev", "stage", "test"],
            &[],
            &["dev", "qa", "test", "stage", "uat", "production"],
        );
        check_order(
            &["prod-eu", "prod-us", "dev-x"],
            &[],
            &["dev-x", "prod-eu", "prod-us"],
        );
        check_order(
            &["us-east-1", "prod", "staging"],
            &[],
            &["staging", "us-east-1", "prod"],
        );
    }

    #[test]
    fn configured_order_first_then_rank() {
        check_order(
            &["prod", "staging", "dev"],
            &["prod"],
            &["prod", "dev", "staging"],
        );
        check_order(&["a", "b", "c"], &["c", "a"], &["c", "a", "b"]);
    }

    fn gated() -> Task {
        let mut t = Task::new("prod", "app-prod", "MicroserviceKubernetes", "sha256:aa");
        t.requires_manual_gate = true;
        t
    }

    #[test]
    fn state_machine_allows_only_the_spec_moves() {
        let mut t = Task::new("staging", "e", "K", "sha256:aa");
        assert!(t.apply(TaskEvent::Approved).is_err(), "no gate");
        t.apply(TaskEvent::Start { at: 5 }).unwrap();
        t.apply(TaskEvent::Start { at: 9 }).unwrap();
        assert_eq!((t.started_at, t.attempts), (Some(5), 2));
        t.apply(TaskEvent::Finished {
            at: 10,
            result: TaskResult::Succeeded,
            error: None,
        })
        .unwrap();
        assert!(
            t.apply(TaskEvent::Cancel {
                at: 11,
                reason: "x".into()
            })
            .is_err()
        );
        assert!(t.apply(TaskEvent::Start { at: 11 }).is_err());

        let mut g = gated();
        assert!(g.apply(TaskEvent::Start { at: 1 }).is_err(), "gate first");
        g.apply(TaskEvent::AwaitApproval { expires_at: None })
            .unwrap();
        assert!(g.apply(TaskEvent::Start { at: 1 }).is_err());
        g.apply(TaskEvent::Approved).unwrap();
        assert_eq!(
            (g.state, g.manual_gate_decision),
            (TaskState::Queued, Some(GateDecision::Yes))
        );
        g.apply(TaskEvent::Start { at: 2 }).unwrap();

        let mut r = gated();
        r.apply(TaskEvent::AwaitApproval { expires_at: None })
            .unwrap();
        r.apply(TaskEvent::Rejected {
            at: 3,
            error: "no".into(),
        })
        .unwrap();
        assert_eq!(
            (r.state, r.result),
            (TaskState::Completed, Some(TaskResult::Failed))
        );
    }

    fn decision(d: GateDecision, at: Millis, digest: &str, image: &str) -> Decision {
        Decision {
            run_id: "1".into(),
            task: "prod".into(),
            decision: d,
            by: "alice".into(),
            at,
            comment: None,
            manifest_digest: digest.into(),
            image: image.into(),
        }
    }

    #[test]
    fn approvals_are_pinned_to_digest_and_image() {
        let t = gated();
        let ds = vec![decision(GateDecision::Yes, 1, "sha256:aa", "img:1")];
        assert!(matches!(
            gate_status(&t, "img:1", &ds, 2),
            GateStatus::Approved(_)
        ));
        match gate_status(&t, "img:2", &ds, 2) {
            GateStatus::Pending { void } => assert_eq!(void.len(), 1),
            other => panic!("{other:?}"),
        }
        let mut changed = gated();
        changed.manifest_digest = "sha256:bb".into();
        assert!(matches!(
            gate_status(&changed, "img:1", &ds, 2),
            GateStatus::Pending { .. }
        ));
        let later = vec![
            ds[0].clone(),
            decision(GateDecision::No, 3, "sha256:aa", "img:1"),
        ];
        assert!(matches!(
            gate_status(&t, "img:1", &later, 4),
            GateStatus::Rejected(_)
        ));
        let mut expiring = gated();
        expiring.gate_expires_at = Some(10);
        assert!(matches!(
            gate_status(&expiring, "img:1", &[], 9),
            GateStatus::Pending { .. }
        ));
        assert_eq!(
            gate_status(&expiring, "img:1", &[], 10),
            GateStatus::Expired { at: 10 }
        );
    }

    fn run(tasks: Vec<Task>) -> Run {
        Run {
            id: "1".into(),
            service: "s".into(),
            service_dir: ".".into(),
            image: "img:1".into(),
            created_by: "me".into(),
            created_at: 0,
            ended_at: None,
            state: RunState::Queued,
            result: None,
            error: None,
            dry_run: false,
            executor: "local".into(),
            tasks,
        }
    }

    #[test]
    fn a_failure_cancels_the_rest_and_fails_the_run() {
        let mut r = run(vec![Task::new("staging", "e", "K", "d"), gated()]);
        assert_eq!(r.next(), Next::RunTask(0));
        r.tasks[0].apply(TaskEvent::Start { at: 1 }).unwrap();
        r.derive(1);
        assert_eq!(r.state, RunState::Running);
        assert_eq!(
            r.next(),
            Next::RunTask(0),
            "a running task after a crash runs again"
        );
        r.tasks[0]
            .apply(TaskEvent::Finished {
                at: 2,
                result: TaskResult::Failed,
                error: Some("boom".into()),
            })
            .unwrap();
        assert_eq!(r.next(), Next::CancelFrom(1));
        r.tasks[1]
            .apply(TaskEvent::Cancel {
                at: 3,
                reason: "staging failed".into(),
            })
            .unwrap();
        assert_eq!(r.next(), Next::Done);
        r.derive(3);
        assert_eq!(
            (r.state, r.result),
            (RunState::Completed, Some(RunResult::Failed))
        );
        assert_eq!(r.error.as_deref(), Some("task `staging` failed: boom"));
    }

    #[test]
    fn a_gate_pauses_the_run() {
        let mut r = run(vec![Task::new("staging", "e", "K", "d"), gated()]);
        r.tasks[0].apply(TaskEvent::Start { at: 1 }).unwrap();
        r.tasks[0]
            .apply(TaskEvent::Finished {
                at: 2,
                result: TaskResult::Succeeded,
                error: None,
            })
            .unwrap();
        assert_eq!(r.next(), Next::Gate(1));
        r.tasks[1]
            .apply(TaskEvent::AwaitApproval { expires_at: None })
            .unwrap();
        r.derive(2);
        assert_eq!(r.state, RunState::AwaitingApproval);
        r.tasks[1].apply(TaskEvent::Approved).unwrap();
        assert_eq!(r.next(), Next::RunTask(1));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["tasks"][1]["state"], "queued");
        assert_eq!(json["tasks"][1]["manualGateDecision"], "yes");
        let back: Run = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn approvers() {
        assert!(may_approve(&[], "anyone"));
        assert!(may_approve(&names(&["alice", "bob"]), "bob"));
        assert!(!may_approve(&names(&["alice"]), "mallory"));
    }
}
