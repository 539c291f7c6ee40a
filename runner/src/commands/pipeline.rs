//! `planton pipeline run|resume|status`, `approve`, `reject`, `runs` and `logs`: the shell
//! over `planton-pipeline`. `pipeline run` builds and validates every overlay (refusing on
//! errors), stores one task per planned overlay with its generated manifest in the state
//! store, and hands the run to the engine; each task's stack job is a `planton deploy` child
//! process (this binary), whose output becomes the task's log.
//!
//! Exit status: 0 the run succeeded, 1 it failed (or validation failed, or an approval was
//! refused), 2 it could not run (no store, locked by another runner), and
//! [`AWAITING_APPROVAL`] (3) when it stopped at a gate (without `--wait`).

use super::Outcome;
use crate::files::DiskFiles;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use planton_core::diag::Severity;
use planton_core::pipeline::{
    Decision, GateDecision, Millis, Run, RunResult, RunState, Task, TaskState, may_approve,
};
use planton_core::plan::plan;
use planton_core::service::{Layout, ServiceConfig};
use planton_pipeline::engine::{self, Engine, Options, Refresh, format_time, now_ms};
use planton_pipeline::executor::LocalExecutor;
use planton_pipeline::kube_executor::KubeJobExecutor;
use planton_pipeline::kube_store::KubeStore;
use planton_pipeline::sqlite::SqliteStore;
use planton_pipeline::store::{RunFilter, StateStore};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The exit status of a run that stopped at a manual gate.
pub const AWAITING_APPROVAL: i32 = 3;

/// `planton pipeline …`.
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Build and validate every overlay, store one task per overlay with its generated
    /// manifest, and run the tasks in promotion order; a gated task waits for approval.
    ///
    /// Exit status: 0 succeeded, 1 failed, 2 could not run (locked, no store),
    /// 3 stopped at a manual gate (resume after `planton approve`; or pass --wait).
    #[command(after_help = PIPELINE_EXAMPLES)]
    Run(RunArgs),
    /// Continue a stored run: after a decision at its gate, or after its runner died (a task
    /// that was running runs again; completed tasks are not redone). Exit status as `run`.
    #[command(after_help = PIPELINE_EXAMPLES)]
    Resume(ResumeArgs),
    /// Show a run (default: the newest): each task's state, result, revision, times and
    /// gate, and every decision.
    Status(PipelineStatusArgs),
}

const PIPELINE_EXAMPLES: &str = "\
Examples:
  planton pipeline run examples/order-api --image ghcr.io/acme-shop/order-api:3f2c1d0 --dry-run
  planton approve 1 prod --service examples/order-api --comment 'checked the canary'
  planton pipeline resume 1 --service examples/order-api
  planton runs --service examples/order-api
  planton logs 1 staging --service examples/order-api --follow

State lives in <service>/.planton/state.db (SQLite). Exit status 3: stopped at a manual gate.";

/// Where the state store is, and the cluster (for the in-cluster store and the stack jobs).
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The service root (its `.planton/state.db` holds the runs of the embedded store).
    #[arg(long = "service", short = 'C', value_name = "DIR", default_value = ".")]
    pub service: PathBuf,
    /// Where runs, decisions, logs and locks live.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub store: StoreKind,
    /// The namespace of the in-cluster store.
    #[arg(long, value_name = "NAME", default_value = "planton-pipelines")]
    pub store_namespace: String,
    /// The kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (for the stack jobs, planton.yaml's per environment wins).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Which state store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// SQLite in `<service>/.planton/state.db`: one machine.
    Sqlite,
    /// Kubernetes objects in `--store-namespace`: shared by runners; RBAC decides approvals.
    Kubernetes,
}

/// How runs are driven (`run` and `resume`).
#[derive(Debug, Clone, Args)]
pub struct DriveArgs {
    /// Wait at manual gates for a decision instead of exiting with status 3.
    #[arg(long)]
    pub wait: bool,
    /// Wait up to this long for a lock another runner holds (default: fail at once).
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration, default_value = "0s")]
    pub wait_lock: Duration,
    /// How long a lock lives unless renewed (a dead runner's lock is stale after it).
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration, default_value = "60s")]
    pub lock_ttl: Duration,
    /// Where stack jobs run.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorKind,
    /// Time limit of each stack job's deploy (passed to `planton deploy --timeout`).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    /// Group manifests directory for the stack jobs' references.
    #[arg(long, value_name = "DIR")]
    pub groups: Option<PathBuf>,
    /// `--executor kubernetes`: the image of the Job (with planton and the service's files).
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "ghcr.io/planton/planton:latest"
    )]
    pub job_image: String,
    /// `--executor kubernetes`: the namespace the Jobs run in.
    #[arg(long, value_name = "NAME", default_value = "planton-pipelines")]
    pub job_namespace: String,
    /// `--executor kubernetes`: the service account of the Jobs' pods.
    #[arg(long, value_name = "NAME")]
    pub job_service_account: Option<String>,
    /// `--executor kubernetes`: where the service's files are inside the Job's image.
    #[arg(long, value_name = "DIR", default_value = "/workspace")]
    pub job_service_dir: String,
}

/// Where stack jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    /// A `planton deploy` child process of the runner.
    Local,
    /// A Kubernetes Job per stack job (`--job-image`, `--job-namespace`,
    /// `--job-service-account`); the runner only orchestrates.
    Kubernetes,
}

/// `planton pipeline run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Service roots (folders with `_kustomize/` and `planton.yaml`); default: --service.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<PathBuf>,
    /// Run up to this many services' pipelines side by side.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub parallel: usize,
    /// The store and cluster.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The image every task deploys.
    #[arg(long, value_name = "REPO:TAG")]
    pub image: String,
    /// Comma-separated overlay names to deploy, overriding `deploymentEnvironments`.
    #[arg(long, value_name = "NAMES")]
    pub environments: Option<String>,
    /// Build, validate, store and walk the tasks (gates included) without running any stack
    /// job: tasks end `skipped`. Needs no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Identity recorded as the run's creator (default: PLANTON_USER, else USER).
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// Driving.
    #[command(flatten)]
    pub drive: DriveArgs,
}

/// `planton pipeline resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The run id.
    pub run: String,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Driving.
    #[command(flatten)]
    pub drive: DriveArgs,
}

/// Output formats of the pipeline commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON document.
    Json,
}

/// `planton pipeline status`.
#[derive(Debug, Clone, Args)]
pub struct PipelineStatusArgs {
    /// The run id (default: the newest run).
    pub run: Option<String>,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep printing, every 2 s, until the run completes.
    #[arg(long)]
    pub watch: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Format,
}

/// `planton approve` and `planton reject`.
#[derive(Debug, Clone, Args)]
pub struct DecideArgs {
    /// The run id.
    pub run: String,
    /// The task (overlay name) waiting at its gate.
    pub task: String,
    /// Why; recorded with the decision.
    #[arg(long, short = 'm')]
    pub comment: Option<String>,
    /// Who decides (default: PLANTON_USER, else USER). The embedded store trusts this name;
    /// planton.yaml's `approvers` says who may.
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `planton runs`.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// At most this many runs, newest first (0: all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Format,
}

/// `planton logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The run id.
    pub run: String,
    /// The task (overlay name).
    pub task: String,
    /// Keep printing new lines until the task completes.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The identity of whoever runs this command.
fn user(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("PLANTON_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The service root of `dir` (the root, `_kustomize`, or an overlay) and its layout.
fn service_root(dir: &Path) -> Result<(Layout, PathBuf)> {
    let files = DiskFiles::new();
    let path =
        DiskFiles::core_path(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let (layout, _) = Layout::discover(&files, &path).map_err(crate::files::layout_error)?;
    let root = DiskFiles::local_path(&layout.root);
    Ok((layout, root))
}

/// A client for the cluster the store flags name.
pub(super) async fn connect(store: &StoreArgs) -> Result<kube::Client> {
    let c = planton_deploy_k8s::client::connect(&planton_deploy_k8s::client::ClusterOptions {
        kubeconfig: store.kubeconfig.clone(),
        context: store.context.clone(),
        request_timeout: None,
    })
    .await?;
    Ok(c.client)
}

/// The state store the flags name, for the service at `store.service` (or `root`).
async fn open_store(store: &StoreArgs, root: Option<&Path>) -> Result<Arc<dyn StateStore>> {
    Ok(match store.store {
        StoreKind::Sqlite => {
            let root = match root {
                Some(r) => r.to_path_buf(),
                None => service_root(&store.service)?.1,
            };
            Arc::new(SqliteStore::for_service(&root)?)
        }
        StoreKind::Kubernetes => Arc::new(KubeStore::new(
            connect(store).await?,
            &store.store_namespace,
        )),
    })
}

fn digest(yaml: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(yaml.as_bytes()))
}

/// Rebuilds an overlay from disk: the manifest as a stack job would deploy it now.
struct DiskRefresh {
    layout: Layout,
}

impl Refresh for DiskRefresh {
    fn current(&self, task: &str) -> std::result::Result<(String, String), String> {
        let b = planton_core::kustomize::build(&DiskFiles::new(), &self.layout.overlay_dir(task))
            .map_err(|e| super::build::display_error(&e))?;
        let yaml = b.to_yaml().map_err(|e| e.to_string())?;
        Ok((digest(&yaml), yaml))
    }
}

async fn engine(
    store: Arc<dyn StateStore>,
    layout: Layout,
    s: &StoreArgs,
    d: &DriveArgs,
    gate_expiry: Option<u64>,
    prefix: Option<String>,
) -> Result<Engine> {
    let program = std::env::current_exe().context("cannot find the planton binary")?;
    let mut extra: Vec<OsString> = vec!["--timeout".into(), d.timeout.clone().into()];
    if let Some(k) = &s.kubeconfig {
        extra.extend(["--kubeconfig".into(), k.clone().into_os_string()]);
    }
    if let Some(c) = &s.context {
        extra.extend(["--context".into(), c.into()]);
    }
    if let Some(g) = &d.groups {
        extra.extend(["--groups".into(), g.clone().into_os_string()]);
    }
    let executor: Arc<dyn planton_pipeline::executor::Executor> = match d.executor {
        ExecutorKind::Local => Arc::new(LocalExecutor {
            program,
            args: Vec::new(),
            extra,
        }),
        ExecutorKind::Kubernetes => Arc::new(KubeJobExecutor {
            client: connect(s).await?,
            namespace: d.job_namespace.clone(),
            image: d.job_image.clone(),
            service_account: d.job_service_account.clone(),
            service_dir: d.job_service_dir.clone(),
            extra: vec!["--timeout".into(), d.timeout.clone()],
            poll: Duration::from_millis(500),
            deadline: crate::cli::parse_duration(&d.timeout)
                .map_err(|e| anyhow!(e))?
                .saturating_add(Duration::from_secs(120)),
        }),
    };
    Ok(Engine {
        store,
        executor,
        refresh: Some(Arc::new(DiskRefresh { layout })),
        progress: Arc::new(move |l: &str| match &prefix {
            Some(p) => eprintln!("[{p}] {l}"),
            None => eprintln!("{l}"),
        }),
        options: Options {
            owner: engine::this_owner(&user(None)),
            wait: d.wait,
            wait_lock: d.wait_lock,
            lock_ttl: d.lock_ttl.max(Duration::from_secs(1)),
            poll: Duration::from_millis(500),
            gate_expiry: gate_expiry.map(Duration::from_secs),
        },
    })
}

async fn drive(engine: &Engine, run_id: &str) -> Result<Outcome> {
    let r = engine.drive(run_id).await;
    let outcome = match r {
        Ok(engine::Outcome::Completed(RunResult::Succeeded)) => Outcome::Success,
        Ok(engine::Outcome::Completed(_)) => Outcome::Failed,
        Ok(engine::Outcome::AwaitingApproval { task }) => {
            println!(
                "run {run_id} is awaiting approval of task {task}: planton approve {run_id} {task}, then planton pipeline resume {run_id}"
            );
            Outcome::Code(AWAITING_APPROVAL)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Outcome::CouldNotRun
        }
    };
    if let Some(run) = engine.store.run(run_id).await? {
        let decisions = engine.store.decisions(run_id).await?;
        print!("{}", render_run(&run, &decisions));
    }
    Ok(outcome)
}

/// Runs `planton pipeline …`.
pub fn run(cmd: &PipelineCommand) -> Result<Outcome> {
    match cmd {
        PipelineCommand::Run(a) => run_cmd(a),
        PipelineCommand::Resume(a) => resume_cmd(a),
        PipelineCommand::Status(a) => status_cmd(a),
    }
}

fn run_cmd(args: &RunArgs) -> Result<Outcome> {
    let services: Vec<PathBuf> = if args.services.is_empty() {
        vec![args.store.service.clone()]
    } else {
        args.services.clone()
    };
    if services.len() == 1 {
        return runtime()?.block_on(run_one(args, &services[0], None));
    }
    // Independent services side by side: up to --parallel at once, each with its own runtime
    // (its own store and cluster clients); the worst outcome decides the exit status.
    let parallel = args.parallel.max(1);
    let queue = std::sync::Mutex::new(services.iter().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(services.len()) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let Some(svc) = next else { break };
                    let name = svc.display().to_string();
                    let r = runtime()
                        .and_then(|rt| rt.block_on(run_one(args, svc, Some(name.clone()))));
                    let r = r.unwrap_or_else(|e| {
                        eprintln!("[{name}] Error: {e:#}");
                        Outcome::CouldNotRun
                    });
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let rank = |o: &Outcome| match o {
        Outcome::Success => 0,
        Outcome::Code(_) => 1,
        Outcome::Failed => 2,
        Outcome::CouldNotRun => 3,
    };
    Ok(results
        .into_iter()
        .max_by_key(rank)
        .unwrap_or(Outcome::Success))
}

async fn run_one(args: &RunArgs, service: &Path, prefix: Option<String>) -> Result<Outcome> {
    let v = super::validate::run_validation(service, args.drive.groups.as_deref())?;
    let filter: Option<Vec<String>> = args.environments.as_ref().map(|e| {
        e.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let (p, plan_diags) = plan(&v.report.overlays, &v.config, filter.as_deref());
    let errors: Vec<_> = v
        .diagnostics
        .iter()
        .chain(plan_diags.iter())
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        for d in &errors {
            eprintln!("{d}");
        }
        eprintln!(
            "Error: {} validation error(s): no run created",
            errors.len()
        );
        return Ok(Outcome::Failed);
    }
    if p.tasks.is_empty() {
        bail!("the plan has no deployment tasks (see `planton plan`)");
    }
    let root = DiskFiles::local_path(&v.layout.root);
    let mut tasks = Vec::new();
    for t in &p.tasks {
        let yaml = v
            .report
            .overlays
            .iter()
            .find(|o| o.name == t.name)
            .and_then(|o| o.build.as_ref().ok())
            .map(|b| {
                b.to_yaml()
                    .map_err(|e| anyhow!("overlay `{}`: {e}", t.name))
            })
            .transpose()?
            .unwrap_or_default();
        let mut task = Task::new(&t.name, &t.env, &t.kind, &t.manifest_digest);
        task.resource_name = t.resource_name.clone();
        task.manifest_yaml = yaml;
        task.requires_manual_gate = t.requires_manual_gate;
        task.approvers = v.config.approvers_of(&t.name).to_vec();
        tasks.push(task);
    }
    let service = tasks
        .first()
        .map(|t| t.resource_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let store = open_store(&args.store, Some(&root)).await?;
    let now = now_ms();
    let run = store
        .create_run(Run {
            id: String::new(),
            service,
            service_dir: std::fs::canonicalize(&root)
                .unwrap_or(root.clone())
                .display()
                .to_string(),
            image: args.image.clone(),
            created_by: user(args.actor.as_deref()),
            created_at: now,
            ended_at: None,
            state: RunState::Queued,
            result: None,
            error: None,
            dry_run: args.dry_run,
            executor: match args.drive.executor {
                ExecutorKind::Local => "local".into(),
                ExecutorKind::Kubernetes => "kubernetes".into(),
            },
            tasks,
        })
        .await?;
    eprintln!(
        "{}run {} of {} with image {}{}: {}",
        prefix
            .as_deref()
            .map(|p| format!("[{p}] "))
            .unwrap_or_default(),
        run.id,
        run.service,
        run.image,
        if run.dry_run { " (dry run)" } else { "" },
        run.tasks
            .iter()
            .map(|t| {
                if t.requires_manual_gate {
                    format!("{} [gate]", t.name)
                } else {
                    t.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" -> ")
    );
    let e = engine(
        store,
        v.layout,
        &args.store,
        &args.drive,
        v.config.gate_expiry_secs,
        prefix,
    )
    .await?;
    drive(&e, &run.id).await
}

fn resume_cmd(args: &ResumeArgs) -> Result<Outcome> {
    runtime()?.block_on(async {
        let store = open_store(&args.store, None).await?;
        let run = store
            .run(&args.run)
            .await?
            .ok_or_else(|| anyhow!("no run `{}` in {}", args.run, store.describe()))?;
        if run.state == RunState::Completed {
            println!(
                "run {} already completed: {}",
                run.id,
                run.result.map(|r| r.as_str()).unwrap_or("-")
            );
            return Ok(match run.result {
                Some(RunResult::Succeeded) => Outcome::Success,
                _ => Outcome::Failed,
            });
        }
        let (layout, _) = service_root(Path::new(&run.service_dir))
            .or_else(|_| service_root(&args.store.service))?;
        let (config, _) = ServiceConfig::load(&DiskFiles::new(), &layout);
        let e = engine(
            store,
            layout,
            &args.store,
            &args.drive,
            config.gate_expiry_secs,
            None,
        )
        .await?;
        drive(&e, &run.id).await
    })
}

fn decide(args: &DecideArgs, decision: GateDecision) -> Result<Outcome> {
    runtime()?.block_on(async {
        let store = open_store(&args.store, None).await?;
        let run = store
            .run(&args.run)
            .await?
            .ok_or_else(|| anyhow!("no run `{}` in {}", args.run, store.describe()))?;
        let Some(task) = run.task(&args.task) else {
            bail!(
                "run `{}` has no task `{}` (its tasks: {})",
                run.id,
                args.task,
                run.tasks
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        if task.state != TaskState::AwaitingApproval {
            eprintln!(
                "Error: task `{}` of run `{}` is not awaiting approval (it is {}{})",
                task.name,
                run.id,
                task.state,
                task.result.map(|r| format!(", {r}")).unwrap_or_default()
            );
            return Ok(Outcome::Failed);
        }
        let claimed = user(args.actor.as_deref());
        let who = match store.decider(&claimed, &run, task).await {
            Ok(w) => w,
            Err(e) => {
                eprintln!("Error: {e}");
                return Ok(Outcome::Failed);
            }
        };
        if !may_approve(&task.approvers, &who) {
            eprintln!(
                "Error: {who} may not approve or reject task `{}` of run `{}`: planton.yaml's approvers.{} is [{}]",
                task.name,
                run.id,
                task.name,
                task.approvers.join(", ")
            );
            return Ok(Outcome::Failed);
        }
        let d = Decision {
            run_id: run.id.clone(),
            task: task.name.clone(),
            decision,
            by: who.clone(),
            at: now_ms(),
            comment: args.comment.clone(),
            manifest_digest: task.manifest_digest.clone(),
            image: run.image.clone(),
        };
        store.add_decision(&d).await?;
        let verb = match decision {
            GateDecision::Yes => "approved",
            GateDecision::No => "rejected",
        };
        // The task's log gets the decision from the engine, when the gate acts on it (also
        // for decisions made in `planton serve`), not here too.
        println!(
            "task {} of run {} {verb} by {who} (manifest {}, image {}); continue with: planton pipeline resume {}",
            task.name, run.id, d.manifest_digest, d.image, run.id
        );
        Ok(Outcome::Success)
    })
}

/// Runs `planton approve`.
pub fn approve(args: &DecideArgs) -> Result<Outcome> {
    decide(args, GateDecision::Yes)
}

/// Runs `planton reject`.
pub fn reject(args: &DecideArgs) -> Result<Outcome> {
    decide(args, GateDecision::No)
}

fn time(at: Option<Millis>) -> String {
    at.map(format_time).unwrap_or_else(|| "-".into())
}

fn run_result(run: &Run) -> String {
    match run.result {
        Some(r) => r.to_string(),
        None => "-".into(),
    }
}

/// A run as `status` prints it.
pub fn render_run(run: &Run, decisions: &[Decision]) -> String {
    let mut out = format!(
        "run {}  {}  {} {}  image {}\n  created {} by {}{}{}\n",
        run.id,
        run.service,
        run.state,
        run_result(run),
        run.image,
        format_time(run.created_at),
        run.created_by,
        if run.dry_run { "  (dry run)" } else { "" },
        run.ended_at
            .map(|e| format!(", ended {}", format_time(e)))
            .unwrap_or_default()
    );
    if let Some(e) = &run.error {
        out.push_str(&format!("  error: {e}\n"));
    }
    out.push_str(&format!(
        "  {:<10} {:<18} {:<18} {:<10} {:<9} {:<21} {:<21} {}\n",
        "TASK", "ENV", "STATE", "RESULT", "REVISION", "STARTED", "ENDED", "GATE"
    ));
    for t in &run.tasks {
        let gate = if t.requires_manual_gate {
            match t.manual_gate_decision {
                Some(d) => format!("manual ({d})"),
                None => "manual".into(),
            }
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "  {:<10} {:<18} {:<18} {:<10} {:<9} {:<21} {:<21} {}\n",
            t.name,
            t.env,
            t.state.as_str(),
            t.result.map(|r| r.as_str()).unwrap_or("-"),
            t.revision.as_deref().unwrap_or("-"),
            time(t.started_at),
            time(t.ended_at),
            gate
        ));
        if let Some(e) = &t.error {
            out.push_str(&format!("    {}: {e}\n", t.name));
        }
    }
    for d in decisions {
        out.push_str(&format!(
            "  decision: {} {} by {} at {} for {} image {}{}\n",
            d.task,
            match d.decision {
                GateDecision::Yes => "approved",
                GateDecision::No => "rejected",
            },
            d.by,
            format_time(d.at),
            d.manifest_digest,
            d.image,
            d.comment
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// The newest run of the service at `dir`, rendered, when it has a state store; for the
/// top of `planton status`.
pub fn status_section(dir: &Path) -> Option<String> {
    let (_, root) = service_root(dir).ok()?;
    let db = root
        .join(".planton")
        .join(planton_pipeline::sqlite::DB_FILE);
    if !db.exists() {
        return None;
    }
    let store = SqliteStore::open(&db).ok()?;
    let rt = runtime().ok()?;
    let run = rt
        .block_on(store.runs(&RunFilter {
            service: None,
            limit: 1,
        }))
        .ok()?
        .into_iter()
        .next()?;
    let decisions = rt.block_on(store.decisions(&run.id)).ok()?;
    Some(format!("pipeline: {}", render_run(&run, &decisions)))
}

fn status_cmd(args: &PipelineStatusArgs) -> Result<Outcome> {
    runtime()?.block_on(async {
        let store = open_store(&args.store, None).await?;
        loop {
            let run = match &args.run {
                Some(id) => store.run(id).await?,
                None => store
                    .runs(&RunFilter {
                        service: None,
                        limit: 1,
                    })
                    .await?
                    .into_iter()
                    .next(),
            };
            let Some(mut run) = run else {
                bail!(
                    "{} in {}",
                    match &args.run {
                        Some(id) => format!("no run `{id}`"),
                        None => "no runs".into(),
                    },
                    store.describe()
                );
            };
            let decisions = store.decisions(&run.id).await?;
            let locks: Vec<_> = store
                .locks()
                .await?
                .into_iter()
                .filter(|l| l.run_id == run.id)
                .collect();
            let mut out = std::io::stdout().lock();
            match args.output {
                Format::Json => {
                    for t in &mut run.tasks {
                        t.manifest_yaml.clear();
                    }
                    let v = serde_json::json!({"run": run, "decisions": decisions, "locks": locks});
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                }
                Format::Text => {
                    write!(out, "{}", render_run(&run, &decisions))?;
                    for l in &locks {
                        writeln!(
                            out,
                            "  lock: {} held by {} until {}",
                            l.key,
                            l.owner,
                            format_time(l.expires_at)
                        )?;
                    }
                }
            }
            drop(out);
            if !args.watch || run.state == RunState::Completed {
                return Ok(match (run.state, run.result) {
                    (RunState::Completed, Some(RunResult::Succeeded)) => Outcome::Success,
                    (RunState::Completed, _) => Outcome::Failed,
                    (RunState::AwaitingApproval, _) => Outcome::Code(AWAITING_APPROVAL),
                    _ => Outcome::Success,
                });
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

/// Runs `planton runs`.
pub fn runs(args: &RunsArgs) -> Result<Outcome> {
    let rt = runtime()?;
    let (store, runs) = rt.block_on(async {
        let store = open_store(&args.store, None).await?;
        let runs = store
            .runs(&RunFilter {
                service: None,
                limit: args.limit,
            })
            .await?;
        anyhow::Ok((store, runs))
    })?;
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Json => {
            let v: Vec<_> = runs
                .into_iter()
                .map(|mut r| {
                    for t in &mut r.tasks {
                        t.manifest_yaml.clear();
                    }
                    r
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        Format::Text => {
            if runs.is_empty() {
                writeln!(out, "no runs in {}", store.describe())?;
            } else {
                writeln!(
                    out,
                    "{:<5} {:<18} {:<10} {:<21} {:<16} {:<40} TASKS",
                    "RUN", "STATE", "RESULT", "CREATED", "BY", "IMAGE"
                )?;
            }
            for r in &runs {
                let tasks: Vec<String> = r
                    .tasks
                    .iter()
                    .map(|t| {
                        format!(
                            "{}:{}",
                            t.name,
                            t.result.map(|x| x.as_str()).unwrap_or(t.state.as_str())
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    "{:<5} {:<18} {:<10} {:<21} {:<16} {:<40} {}{}",
                    r.id,
                    r.state.as_str(),
                    run_result(r),
                    format_time(r.created_at),
                    r.created_by,
                    r.image,
                    tasks.join(" "),
                    if r.dry_run { " (dry run)" } else { "" }
                )?;
            }
        }
    }
    Ok(Outcome::Success)
}

/// Runs `planton logs`.
pub fn logs(args: &LogsArgs) -> Result<Outcome> {
    runtime()?.block_on(async {
        let store = open_store(&args.store, None).await?;
        let run = store
            .run(&args.run)
            .await?
            .ok_or_else(|| anyhow!("no run `{}` in {}", args.run, store.describe()))?;
        if run.task(&args.task).is_none() {
            bail!(
                "run `{}` has no task `{}` (its tasks: {})",
                run.id,
                args.task,
                run.tasks
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let mut from = 0;
        loop {
            let chunk = store.log(&args.run, &args.task, from).await?;
            if !chunk.text.is_empty() {
                let mut out = std::io::stdout().lock();
                out.write_all(chunk.text.as_bytes())?;
                out.flush()?;
            }
            from = chunk.next;
            if !args.follow {
                return Ok(Outcome::Success);
            }
            let done = store
                .run(&args.run)
                .await?
                .and_then(|r| r.task(&args.task).map(|t| t.is_completed()))
                .unwrap_or(true);
            if done {
                let rest = store.log(&args.run, &args.task, from).await?;
                std::io::stdout().lock().write_all(rest.text.as_bytes())?;
                return Ok(Outcome::Success);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}
