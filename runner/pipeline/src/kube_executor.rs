//! The Kubernetes Jobs executor (`--executor kubernetes`): each stack job is a `batch/v1` Job
//! that runs `planton deploy` in a container, so the runner only orchestrates.
//!
//! The Job is named after the run, task and attempt and labelled with the run and task; when a
//! runner dies and another resumes the run, the Job of the interrupted attempt is adopted if it
//! is still running or already succeeded, not started again. The Job's image, service account
//! and namespace are settings; the container finds the service's files at `service_dir` (an
//! image that carries the repository, as CI deployer images do). The executor waits for the
//! Job's `Complete` or `Failed` condition and copies the pod's log into the task's log when the
//! kubelet can serve it.
//!
//! On the testenv the kubelets are kwok: the Job controller, the pod and its `Succeeded` phase
//! are real API objects, but no container runs there, so the deploy inside the Job does not
//! happen and the pod has no log. The orchestration (create, adopt, wait, result) is what the
//! tests check.

use crate::error::{Error, Result};
use crate::executor::{Executor, JobOutcome, LogSink, StackJob};
use async_trait::async_trait;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams, PostParams};
use std::time::Duration;

/// Runs stack jobs as Kubernetes Jobs.
#[derive(Clone)]
pub struct KubeJobExecutor {
    /// The client.
    pub client: kube::Client,
    /// Where the Jobs run.
    pub namespace: String,
    /// A container image with the `planton` binary and the service's files.
    pub image: String,
    /// The service account the Job's pod runs as (its RBAC is what the deploy may do).
    pub service_account: Option<String>,
    /// Where the service's files are inside the image.
    pub service_dir: String,
    /// Arguments after the deploy's own (`--timeout`, …).
    pub extra: Vec<String>,
    /// How often to look at the Job.
    pub poll: Duration,
    /// Give up waiting for the Job after this long.
    pub deadline: Duration,
}

const RUN_LABEL: &str = "planton.dev/run";
const TASK_LABEL: &str = "planton.dev/task";
const ATTEMPT_LABEL: &str = "planton.dev/attempt";

fn dns(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(30);
    out.trim_matches('-').to_string()
}

/// `Some(true)` complete, `Some(false)` failed (with the reason), `None` still running.
fn finished(job: &Job) -> Option<(bool, String)> {
    let conds = job.status.as_ref()?.conditions.as_ref()?;
    conds.iter().find_map(|c| {
        (c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed")).then(|| {
            (
                c.type_ == "Complete",
                c.message
                    .clone()
                    .or_else(|| c.reason.clone())
                    .unwrap_or_default(),
            )
        })
    })
}

impl KubeJobExecutor {
    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn remote(&self, message: String) -> Error {
        Error::Remote {
            store: format!("kubernetes:{}", self.namespace),
            message,
        }
    }

    fn job_object(&self, job: &StackJob, name: &str, attempt: u32) -> Result<Job> {
        let mut command = vec![
            "planton".to_string(),
            "deploy".into(),
            self.service_dir.clone(),
            "--env".into(),
            job.task.clone(),
            "--image".into(),
            job.image.clone(),
            "--expect-digest".into(),
            job.manifest_digest.clone(),
            "--output".into(),
            "json".into(),
        ];
        command.extend(self.extra.iter().cloned());
        let v = serde_json::json!({
            "metadata": {
                "name": name,
                "labels": {
                    "app.kubernetes.io/managed-by": "planton",
                    RUN_LABEL: dns(&job.run_id),
                    TASK_LABEL: dns(&job.task),
                    ATTEMPT_LABEL: attempt.to_string(),
                },
                "annotations": {
                    "planton.dev/service": job.service,
                    "planton.dev/manifest-digest": job.manifest_digest,
                }
            },
            "spec": {
                "backoffLimit": 0,
                "ttlSecondsAfterFinished": 86400,
                "template": {
                    "metadata": {"labels": {RUN_LABEL: dns(&job.run_id), TASK_LABEL: dns(&job.task)}},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": self.service_account,
                        "containers": [{
                            "name": "stack-job",
                            "image": self.image,
                            "command": command,
                        }]
                    }
                }
            }
        });
        serde_json::from_value(v).map_err(|e| Error::Job {
            task: job.task.clone(),
            message: format!("building the Job object: {e}"),
        })
    }

    /// The Job of an earlier attempt that is running or succeeded, to adopt.
    async fn adoptable(&self, job: &StackJob) -> Result<Option<Job>> {
        let list = self
            .jobs()
            .list(&ListParams::default().labels(&format!(
                "{RUN_LABEL}={},{TASK_LABEL}={}",
                dns(&job.run_id),
                dns(&job.task)
            )))
            .await
            .map_err(|e| self.remote(format!("listing Jobs: {e}")))?;
        let mut items = list.items;
        items.sort_by_key(|j| {
            j.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ATTEMPT_LABEL))
                .and_then(|a| a.parse::<u32>().ok())
                .unwrap_or(0)
        });
        Ok(items
            .pop()
            .filter(|j| !matches!(finished(j), Some((false, _)))))
    }

    async fn copy_pod_log(&self, name: &str, log: &dyn LogSink) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = match pods
            .list(&ListParams::default().labels(&format!("job-name={name}")))
            .await
        {
            Ok(l) => l,
            Err(e) => {
                log.line(&format!("cannot list the Job's pods: {e}")).await;
                return;
            }
        };
        for p in list.items {
            let pod = p.metadata.name.unwrap_or_default();
            match pods.logs(&pod, &LogParams::default()).await {
                Ok(text) => {
                    for l in text.lines() {
                        log.line(l).await;
                    }
                }
                Err(e) => {
                    log.line(&format!("the log of pod {pod} is not available: {e}"))
                        .await
                }
            }
        }
    }
}

#[async_trait]
impl Executor for KubeJobExecutor {
    fn name(&self) -> &str {
        "kubernetes"
    }

    async fn run(&self, job: &StackJob, log: &dyn LogSink) -> Result<JobOutcome> {
        let (name, adopted) = match self.adoptable(job).await? {
            Some(existing) => {
                let name = existing.metadata.name.clone().unwrap_or_default();
                log.line(&format!(
                    "adopting Job {}/{name} of an earlier attempt",
                    self.namespace
                ))
                .await;
                (name, true)
            }
            None => {
                let attempts = self
                    .jobs()
                    .list(&ListParams::default().labels(&format!(
                        "{RUN_LABEL}={},{TASK_LABEL}={}",
                        dns(&job.run_id),
                        dns(&job.task)
                    )))
                    .await
                    .map_err(|e| self.remote(format!("listing Jobs: {e}")))?
                    .items
                    .len() as u32;
                let attempt = attempts + 1;
                let name = format!("planton-{}-{}-{attempt}", dns(&job.run_id), dns(&job.task));
                let obj = self.job_object(job, &name, attempt)?;
                self.jobs()
                    .create(&PostParams::default(), &obj)
                    .await
                    .map_err(|e| self.remote(format!("creating Job {name}: {e}")))?;
                log.line(&format!(
                    "created Job {}/{name} (image {})",
                    self.namespace, self.image
                ))
                .await;
                (name, false)
            }
        };
        let _ = adopted;
        let started = std::time::Instant::now();
        loop {
            let j = self
                .jobs()
                .get_opt(&name)
                .await
                .map_err(|e| self.remote(format!("reading Job {name}: {e}")))?
                .ok_or_else(|| self.remote(format!("Job {name} was deleted while it ran")))?;
            if let Some((ok, why)) = finished(&j) {
                self.copy_pod_log(&name, log).await;
                log.line(&format!(
                    "Job {name} {}{}",
                    if ok { "completed" } else { "failed" },
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                ))
                .await;
                return Ok(JobOutcome {
                    succeeded: ok,
                    error: (!ok).then(|| format!("Job {name} failed: {why}")),
                    revision: None,
                });
            }
            if started.elapsed() > self.deadline {
                return Ok(JobOutcome {
                    succeeded: false,
                    error: Some(format!(
                        "Job {name} did not finish within {}s",
                        self.deadline.as_secs()
                    )),
                    revision: None,
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}
