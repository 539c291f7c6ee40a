//! The engine: drives one stored run to its end or to a gate, one step at a time, saving
//! after every step, so a runner killed anywhere can be replaced by `resume` (a task that
//! was `running` runs again, since deploys are idempotent; completed tasks are not redone).
//!
//! The order of a step is fixed: take the run's lock (`run/<id>`), read the run and its
//! decisions, ask `Run::next` (core) what comes next, and do exactly that. Before a task's
//! stack job starts, the engine asks a [`Refresh`] for the task's manifest as the service
//! builds it now: a changed digest replaces the stored manifest and voids any approval given
//! for the old one. A stack job runs under the lock of its service and environment, renewed
//! while it runs; a lock whose expiry passed, or whose holder process on this host is gone,
//! is taken over and reported.

use crate::error::{Error, Result};
use crate::executor::{Executor, LogSink, StackJob};
use crate::store::{LockOutcome, StateStore, run_lock_key};
use async_trait::async_trait;
use planton_core::pipeline::{
    GateStatus, Lock, Millis, Next, Run, RunResult, TaskEvent, TaskResult, TaskState, gate_status,
    lock_key,
};
use std::sync::Arc;
use std::time::Duration;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

/// `user@host:pid` of this process: lock owner and default actor.
pub fn this_owner(user: &str) -> String {
    format!("{user}@{}:{}", host_name(), std::process::id())
}

/// This machine's name (`/etc/hostname`, else `HOSTNAME`, else `localhost`).
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a lock is stale at `now`: expired, or held by a process of this host that no
/// longer exists (checked through `/proc`, so only on Linux; elsewhere only expiry counts).
pub fn lock_is_stale(lock: &Lock, now: Millis) -> bool {
    if lock.is_stale(now) {
        return true;
    }
    let Some((user_host, pid)) = lock.owner.rsplit_once(':') else {
        return false;
    };
    let Some((_, host)) = user_host.rsplit_once('@') else {
        return false;
    };
    host == host_name()
        && pid.parse::<u32>().is_ok_and(|p| p != std::process::id())
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The task's manifest as the service builds it now.
pub trait Refresh: Send + Sync {
    /// `(digest, yaml)` of `task`'s overlay now, or an error saying why it does not build.
    fn current(&self, task: &str) -> std::result::Result<(String, String), String>;
}

/// How a drive ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every task is completed.
    Completed(RunResult),
    /// A task waits at its gate (and the engine was not asked to wait).
    AwaitingApproval {
        /// The task.
        task: String,
    },
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// The lock owner, `user@host:pid`.
    pub owner: String,
    /// Wait at gates (polling for a decision) instead of returning.
    pub wait: bool,
    /// How long to wait for a lock another runner holds (zero: fail at once).
    pub wait_lock: Duration,
    /// How long a lock lives unless renewed (renewed every third of it).
    pub lock_ttl: Duration,
    /// How often to poll while waiting.
    pub poll: Duration,
    /// A pending gate fails the task after this long.
    pub gate_expiry: Option<Duration>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            owner: this_owner("planton"),
            wait: false,
            wait_lock: Duration::ZERO,
            lock_ttl: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            gate_expiry: None,
        }
    }
}

/// Drives runs: a store, an executor, a way to rebuild manifests, and progress output.
pub struct Engine {
    /// Where state lives.
    pub store: Arc<dyn StateStore>,
    /// Where stack jobs run.
    pub executor: Arc<dyn Executor>,
    /// The manifests as they build now (none: the stored ones are used as they are).
    pub refresh: Option<Arc<dyn Refresh>>,
    /// Progress lines (stderr in the CLI).
    pub progress: Arc<dyn Fn(&str) + Send + Sync>,
    /// Settings.
    pub options: Options,
}

struct StoreLog<'a> {
    store: &'a dyn StateStore,
    run_id: &'a str,
    task: &'a str,
}

#[async_trait]
impl LogSink for StoreLog<'_> {
    async fn line(&self, text: &str) {
        // A log line that cannot be stored is not worth failing the deploy for; the state
        // changes around it are checked.
        let _ = self
            .store
            .append_log(self.run_id, self.task, &format!("{text}\n"))
            .await;
    }
}

fn ms(d: Duration) -> Millis {
    d.as_millis().min(i64::MAX as u128) as Millis
}

fn rfc3339(at: Millis) -> String {
    let secs = at.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// A time as RFC 3339 (UTC, seconds).
pub fn format_time(at: Millis) -> String {
    rfc3339(at)
}

impl Engine {
    fn say(&self, line: &str) {
        (self.progress)(line);
    }

    /// Takes `key` for the run, waiting up to `wait_lock`; reports a stale lock taken over.
    pub async fn lock(&self, key: &str, run_id: &str) -> Result<()> {
        let deadline = now_ms() + ms(self.options.wait_lock);
        let mut replace: Option<Lock> = None;
        let mut told = false;
        loop {
            let now = now_ms();
            let want = Lock {
                key: key.into(),
                owner: self.options.owner.clone(),
                run_id: run_id.into(),
                acquired_at: now,
                expires_at: now + ms(self.options.lock_ttl),
            };
            match self.store.acquire_lock(&want, replace.as_ref()).await? {
                LockOutcome::Acquired { took_over } => {
                    if let Some(old) = took_over {
                        self.say(&format!(
                            "took over the stale lock {key} from {} (run {}, expired {})",
                            old.owner,
                            old.run_id,
                            rfc3339(old.expires_at)
                        ));
                        let _ = self
                            .store
                            .append_log(
                                run_id,
                                "_run",
                                &format!("took over stale lock {key} from {}\n", old.owner),
                            )
                            .await;
                    }
                    return Ok(());
                }
                LockOutcome::Held(l) if lock_is_stale(&l, now) => replace = Some(l),
                LockOutcome::Held(l) if now < deadline => {
                    if !told {
                        self.say(&format!(
                            "waiting for the lock {key}, held by {} (run {})",
                            l.owner, l.run_id
                        ));
                        told = true;
                    }
                    replace = None;
                    tokio::time::sleep(self.options.poll).await;
                }
                LockOutcome::Held(l) => {
                    return Err(Error::Locked {
                        key: key.into(),
                        owner: l.owner,
                        run: l.run_id,
                        until: rfc3339(l.expires_at),
                    });
                }
            }
        }
    }

    async fn renew(&self, keys: &[String]) -> Result<()> {
        let until = now_ms() + ms(self.options.lock_ttl);
        for k in keys {
            if !self.store.renew_lock(k, &self.options.owner, until).await? {
                return Err(Error::Remote {
                    store: self.store.describe(),
                    message: format!("lost the lock {k} to another runner"),
                });
            }
        }
        Ok(())
    }

    async fn load(&self, run_id: &str) -> Result<Run> {
        self.store.run(run_id).await?.ok_or_else(|| Error::NoRun {
            run: run_id.into(),
            store: self.store.describe(),
        })
    }

    /// Drives the run until it completes or (without `wait`) stops at a gate.
    pub async fn drive(&self, run_id: &str) -> Result<Outcome> {
        let run_key = run_lock_key(run_id);
        self.lock(&run_key, run_id).await?;
        let result = self.drive_locked(run_id, &run_key).await;
        let _ = self.store.release_lock(&run_key, &self.options.owner).await;
        result
    }

    async fn drive_locked(&self, run_id: &str, run_key: &str) -> Result<Outcome> {
        loop {
            self.renew(&[run_key.to_string()]).await?;
            let mut run = self.load(run_id).await?;
            let now = now_ms();
            match run.next() {
                Next::Done => {
                    run.derive(now);
                    self.store.save_run(&run).await?;
                    let result = run.result.unwrap_or(RunResult::Failed);
                    self.say(&format!("run {} {}", run.id, result));
                    return Ok(Outcome::Completed(result));
                }
                Next::CancelFrom(i) => {
                    let failed = run.tasks[i - 1].name.clone();
                    for t in run.tasks[i..].iter_mut().filter(|t| !t.is_completed()) {
                        t.apply(TaskEvent::Cancel {
                            at: now,
                            reason: format!("task `{failed}` did not succeed"),
                        })?;
                        self.say(&format!("task {} cancelled", t.name));
                    }
                    run.derive(now);
                    self.store.save_run(&run).await?;
                }
                Next::Gate(i) => {
                    if self.refresh_task(&mut run, i).await? {
                        continue;
                    }
                    let decisions = self.store.decisions(run_id).await?;
                    let task = &run.tasks[i];
                    let log = StoreLog {
                        store: &*self.store,
                        run_id,
                        task: &task.name,
                    };
                    let name = task.name.clone();
                    match gate_status(task, &run.image, &decisions, now) {
                        GateStatus::NotRequired | GateStatus::Approved(_) => {
                            if let GateStatus::Approved(d) =
                                gate_status(task, &run.image, &decisions, now)
                            {
                                let line = format!(
                                    "approved by {} at {} for {} with image {}{}",
                                    d.by,
                                    rfc3339(d.at),
                                    d.manifest_digest,
                                    d.image,
                                    d.comment
                                        .as_deref()
                                        .map(|c| format!(": {c}"))
                                        .unwrap_or_default()
                                );
                                log.line(&line).await;
                                self.say(&format!("task {name} {line}"));
                            }
                            run.tasks[i].apply(TaskEvent::Approved)?;
                        }
                        GateStatus::Rejected(d) => {
                            let error = format!(
                                "rejected by {} at {}{}",
                                d.by,
                                rfc3339(d.at),
                                d.comment
                                    .as_deref()
                                    .map(|c| format!(": {c}"))
                                    .unwrap_or_default()
                            );
                            log.line(&error).await;
                            self.say(&format!("task {name} {error}"));
                            run.tasks[i].apply(TaskEvent::Rejected { at: now, error })?;
                        }
                        GateStatus::Expired { at } => {
                            let error =
                                format!("the gate expired at {} without a decision", rfc3339(at));
                            log.line(&error).await;
                            self.say(&format!("task {name}: {error}"));
                            run.tasks[i].apply(TaskEvent::Rejected { at: now, error })?;
                            run.tasks[i].manual_gate_decision = None;
                        }
                        GateStatus::Pending { void } => {
                            if task.state != TaskState::AwaitingApproval {
                                for d in &void {
                                    let line = format!(
                                        "the approval by {} no longer applies: it was given for {} and image {}, the task is now {} with image {}",
                                        d.by,
                                        d.manifest_digest,
                                        d.image,
                                        task.manifest_digest,
                                        run.image
                                    );
                                    log.line(&line).await;
                                    self.say(&format!("task {name}: {line}"));
                                }
                                let expires_at = self.options.gate_expiry.map(|e| now + ms(e));
                                log.line(&format!(
                                    "waiting for approval of {} with image {}",
                                    task.manifest_digest, run.image
                                ))
                                .await;
                                run.tasks[i].apply(TaskEvent::AwaitApproval { expires_at })?;
                                run.derive(now);
                                self.store.save_run(&run).await?;
                                self.say(&format!(
                                    "task {name} is awaiting approval: planton approve {run_id} {name}"
                                ));
                            }
                            if !self.options.wait {
                                return Ok(Outcome::AwaitingApproval { task: name });
                            }
                            tokio::time::sleep(self.options.poll).await;
                            continue;
                        }
                    }
                    run.derive(now);
                    self.store.save_run(&run).await?;
                }
                Next::RunTask(i) => {
                    if self.refresh_task(&mut run, i).await? {
                        continue;
                    }
                    self.run_task(&mut run, i, run_key).await?;
                }
            }
        }
    }

    /// Compares the task's stored manifest with the service's current build; on a change,
    /// stores the new one and voids its gate decision. True when the run changed.
    async fn refresh_task(&self, run: &mut Run, i: usize) -> Result<bool> {
        let Some(refresh) = &self.refresh else {
            return Ok(false);
        };
        let name = run.tasks[i].name.clone();
        let (digest, yaml) = match refresh.current(&name) {
            Ok(c) => c,
            Err(e) => {
                let now = now_ms();
                let error = format!("the overlay no longer builds: {e}");
                let t = &mut run.tasks[i];
                if t.state == TaskState::Queued || t.state == TaskState::AwaitingApproval {
                    t.state = TaskState::Running;
                }
                t.apply(TaskEvent::Finished {
                    at: now,
                    result: TaskResult::Failed,
                    error: Some(error.clone()),
                })?;
                self.say(&format!("task {name} failed: {error}"));
                run.derive(now);
                self.store.save_run(run).await?;
                return Ok(true);
            }
        };
        let t = &mut run.tasks[i];
        if digest == t.manifest_digest {
            return Ok(false);
        }
        let line = format!(
            "the overlay changed since the task was created: {} -> {}",
            t.manifest_digest, digest
        );
        t.manifest_digest = digest;
        t.manifest_yaml = yaml;
        if t.requires_manual_gate {
            t.manual_gate_decision = None;
            if t.state == TaskState::AwaitingApproval || t.state == TaskState::Running {
                t.state = TaskState::Queued;
            }
        }
        StoreLog {
            store: &*self.store,
            run_id: &run.id,
            task: &name,
        }
        .line(&line)
        .await;
        self.say(&format!("task {name}: {line}"));
        run.derive(now_ms());
        self.store.save_run(run).await?;
        Ok(true)
    }

    async fn run_task(&self, run: &mut Run, i: usize, run_key: &str) -> Result<()> {
        let task = run.tasks[i].clone();
        let env_key = lock_key(&run.service, &task.env);
        self.lock(&env_key, &run.id).await?;
        let result = self.run_task_locked(run, i, run_key, &env_key).await;
        let _ = self.store.release_lock(&env_key, &self.options.owner).await;
        result
    }

    async fn run_task_locked(
        &self,
        run: &mut Run,
        i: usize,
        run_key: &str,
        env_key: &str,
    ) -> Result<()> {
        let now = now_ms();
        let again = run.tasks[i].state == TaskState::Running;
        run.tasks[i].apply(TaskEvent::Start { at: now })?;
        run.derive(now);
        self.store.save_run(run).await?;
        let task = run.tasks[i].clone();
        let log = StoreLog {
            store: &*self.store,
            run_id: &run.id,
            task: &task.name,
        };
        if again {
            log.line(&format!(
                "--- attempt {}: the runner of the previous attempt stopped before it finished",
                task.attempts
            ))
            .await;
        }
        self.say(&format!(
            "task {} (env {}) started{}",
            task.name,
            task.env,
            if again { " again" } else { "" }
        ));
        let (result, error, revision) = if run.dry_run {
            log.line(&format!(
                "dry run: would deploy {} `{}` ({}) to {} with image {}",
                task.kind, task.resource_name, task.manifest_digest, task.env, run.image
            ))
            .await;
            (TaskResult::Skipped, None, None)
        } else {
            let job = StackJob {
                run_id: run.id.clone(),
                service: run.service.clone(),
                service_dir: run.service_dir.clone(),
                task: task.name.clone(),
                env: task.env.clone(),
                kind: task.kind.clone(),
                image: run.image.clone(),
                manifest_digest: task.manifest_digest.clone(),
            };
            let job_fut = self.executor.run(&job, &log);
            tokio::pin!(job_fut);
            let mut tick = tokio::time::interval(self.options.lock_ttl / 3);
            tick.tick().await;
            let outcome = loop {
                tokio::select! {
                    r = &mut job_fut => break r,
                    _ = tick.tick() => {
                        self.renew(&[run_key.to_string(), env_key.to_string()]).await?;
                    }
                }
            };
            match outcome {
                Ok(o) if o.succeeded => (TaskResult::Succeeded, None, o.revision),
                Ok(o) => (TaskResult::Failed, o.error, o.revision),
                Err(e) => (TaskResult::Failed, Some(e.to_string()), None),
            }
        };
        let now = now_ms();
        let t = &mut run.tasks[i];
        t.revision = revision.or(t.revision.take());
        t.apply(TaskEvent::Finished {
            at: now,
            result,
            error: error.clone(),
        })?;
        self.say(&format!(
            "task {} {}{}",
            task.name,
            result,
            error.map(|e| format!(": {e}")).unwrap_or_default()
        ));
        run.derive(now);
        self.store.save_run(run).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_938_096_789), "2025-12-05T12:34:56Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
