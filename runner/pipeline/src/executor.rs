//! Stack jobs: what deploys one task. The engine hands an [`Executor`] a [`StackJob`] and a
//! [`LogSink`]; the executor runs the job to the end and says how it went.
//!
//! [`LocalExecutor`] runs the job as a child process (by default `planton deploy <service>
//! --env <task> --image <ref> --output json`, the same code path as a manual deploy), streams
//! its progress lines into the task's log and reads the result from its JSON report.

use crate::error::{Error, Result};
use async_trait::async_trait;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::Stdio;

/// One task's deployment, as the executor sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackJob {
    /// The run.
    pub run_id: String,
    /// The service's `metadata.name`.
    pub service: String,
    /// The service's root folder.
    pub service_dir: String,
    /// The task (overlay directory name).
    pub task: String,
    /// The target environment (`metadata.env`).
    pub env: String,
    /// The manifest's kind.
    pub kind: String,
    /// The image to deploy.
    pub image: String,
    /// `sha256:` digest of the manifest the task was created (or approved) with.
    pub manifest_digest: String,
}

/// How a stack job ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobOutcome {
    /// Whether it deployed and the workload is ready.
    pub succeeded: bool,
    /// Why not.
    pub error: Option<String>,
    /// The revision the driver recorded, when it reported one.
    pub revision: Option<String>,
}

/// Where a job's log lines go (the task's log in the state store).
#[async_trait]
pub trait LogSink: Send + Sync {
    /// Appends one line (without its newline).
    async fn line(&self, text: &str);
}

/// Runs stack jobs.
#[async_trait]
pub trait Executor: Send + Sync {
    /// `local` or `kubernetes`, recorded on the run.
    fn name(&self) -> &str;
    /// Runs `job` to its end. `Err` only when the job could not be started or watched;
    /// a deploy that failed is `Ok` with `succeeded == false`.
    async fn run(&self, job: &StackJob, log: &dyn LogSink) -> Result<JobOutcome>;
}

/// Runs each stack job as a child process: `program` with `args`, then
/// `deploy <service_dir> --env <task> --image <image> --expect-digest <digest> --output json`, then `extra` (cluster
/// flags, `--timeout`). Progress (stderr) goes to the log line by line as it comes; the JSON
/// report on stdout decides the outcome (`result`, `revision`, `error`).
#[derive(Clone, Debug)]
pub struct LocalExecutor {
    /// The `planton` binary.
    pub program: PathBuf,
    /// Arguments after the program, before `deploy`.
    pub args: Vec<OsString>,
    /// Arguments after the deploy's own.
    pub extra: Vec<OsString>,
}

#[async_trait]
impl Executor for LocalExecutor {
    fn name(&self) -> &str {
        "local"
    }

    async fn run(&self, job: &StackJob, log: &dyn LogSink) -> Result<JobOutcome> {
        let fail = |message: String| Error::Job {
            task: job.task.clone(),
            message,
        };
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args)
            .arg("deploy")
            .arg(&job.service_dir)
            .args([
                "--env",
                &job.task,
                "--image",
                &job.image,
                "--expect-digest",
                &job.manifest_digest,
                "--output",
                "json",
            ])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        log.line(&format!(
            "$ planton deploy {} --env {} --image {}",
            job.service_dir, job.task, job.image
        ))
        .await;
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", self.program.display())))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail("no stdout".into()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| fail("no stderr".into()))?;
        // Plain threads read the pipes (the job is one child; no async IO needed) and hand
        // stderr lines over as they come, so the log can be followed while the job runs.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let err_reader = std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines() {
                match l {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let mut last_err = String::new();
        while let Some(l) = rx.recv().await {
            log.line(&l).await;
            if !l.trim().is_empty() {
                last_err = l;
            }
        }
        let waited = tokio::task::spawn_blocking(move || {
            let _ = err_reader.join();
            let out = out_reader.join();
            (child.wait(), out)
        })
        .await
        .map_err(|e| fail(format!("waiting for the deploy: {e}")))?;
        let status = waited
            .0
            .map_err(|e| fail(format!("waiting for the deploy: {e}")))?;
        let out = match waited.1 {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(fail(format!("reading the deploy's output: {e}"))),
            Err(_) => return Err(fail("the output reader stopped".into())),
        };
        let report: Option<serde_json::Value> = serde_json::from_str(&out).ok();
        if let Some(r) = &report
            && let Some(m) = r.get("message").and_then(|m| m.as_str())
        {
            log.line(m).await;
        }
        let revision = report
            .as_ref()
            .and_then(|r| r.get("revision"))
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        let succeeded = status.success()
            && report
                .as_ref()
                .and_then(|r| r.get("result"))
                .and_then(|r| r.as_str())
                == Some("succeeded");
        let error = (!succeeded).then(|| {
            report
                .as_ref()
                .and_then(|r| r.get("error").or_else(|| r.get("message")))
                .and_then(|e| e.as_str())
                .map(str::to_string)
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| {
                    let code = status
                        .code()
                        .map(|c| format!("exit status {c}"))
                        .unwrap_or_else(|| "killed by a signal".into());
                    if last_err.is_empty() {
                        format!("the deploy failed ({code})")
                    } else {
                        format!("{} ({code})", last_err.trim_start_matches("Error: "))
                    }
                })
        });
        log.line(&format!(
            "stack job {}",
            if succeeded { "succeeded" } else { "failed" }
        ))
        .await;
        Ok(JobOutcome {
            succeeded,
            error,
            revision,
        })
    }
}
