//! `planton deploy`, `diff`, `status` and `rollback`: a thin shell over
//! `planton-deploy-k8s`. It composes the parts that already exist (build and validation from
//! core, the sandboxed plugin render, the group sources) into a driver request, runs the
//! driver on a tokio runtime, prints progress on stderr and the result on stdout, and maps
//! the outcome to the exit status (0 success, 1 failed deploy or changes found by diff,
//! 2 could not run).

use super::Outcome;
use crate::cli::{ClusterArgs, DeployArgs, DeployFormat, RollbackArgs, StatusArgs};
use crate::files::DiskFiles;
use crate::plugins::Plugins;
use anyhow::{Context, Result, anyhow, bail};
use planton_core::kustomize::build;
use planton_core::plugins::Target as _;
use planton_core::refs::DirGroupSource;
use planton_core::service::{Layout, ServiceConfig};
use planton_core::validate::out_to_json;
use planton_core::yaml::{parse_stream, to_output};
use planton_deploy_k8s::client::{self, Cluster, ClusterOptions};
use planton_deploy_k8s::driver::{self, Options, Progress, Request, Target};
use planton_deploy_k8s::health::{self, Place};
use planton_deploy_k8s::kube_secrets::{self, KubeSecrets};
use planton_deploy_k8s::secrets::{self, Chain, Lookup, VariablesOnly};
use planton_deploy_k8s::state::EncodeOptions;
use planton_plugin_sdk::{DeployContext, RenderRequest};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// The label that overrides the namespace of a `MicroserviceKubernetes`.
const NAMESPACE_LABEL: &str = "kubernetes.project-planton.org/namespace";

/// One task, built, validated and rendered, ready for the driver.
struct Loaded {
    target: Target,
    /// The kubeconfig context from planton.yaml (`--context` wins).
    context: Option<String>,
    manifest_yaml: String,
    objects: Vec<Value>,
    image: Option<String>,
    groups: Option<DirGroupSource>,
    /// The namespace whose Secrets hold the secret values (planton.yaml `secretsNamespace`).
    secrets_namespace: Option<String>,
}

impl Loaded {
    /// The driver request for this task (deploy and diff differ only in these arguments).
    fn request<'a>(
        &self,
        lookup: &'a dyn Lookup,
        source: String,
        actor: String,
        holder: String,
        options: Options,
    ) -> Request<'a> {
        Request {
            target: self.target.clone(),
            manifest: self.manifest_yaml.clone(),
            image: self.image.clone(),
            objects: self.objects.clone(),
            lookup,
            source,
            actor,
            holder,
            options,
        }
    }
}

/// Renders one service manifest into desired objects with the sandboxed plugin of its kind.
/// The single place deploys call the plugin render, so it can move when core gains a render
/// composition.
pub fn render_for_deploy(
    plugins: &Plugins,
    manifest: &Value,
    image: Option<&str>,
    namespace: &str,
    env: Option<&str>,
) -> Result<Vec<Value>> {
    let s = |p: &str| manifest.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind) = (s("/apiVersion"), s("/kind"));
    let backend = plugins
        .targets()
        .serving(api_version, kind)
        .ok_or_else(|| {
            anyhow!("no target plugin serves `{api_version}/{kind}` (see `planton plugin list`)")
        })?;
    let req = RenderRequest {
        manifest: manifest.clone(),
        context: DeployContext {
            image: image.map(str::to_string),
            namespace: Some(namespace.to_string()),
            env: env.map(str::to_string),
        },
    };
    let resp = backend.render(&req).map_err(|e| {
        anyhow!(
            "plugin `{}` cannot render {kind} `{}`: {e}",
            backend.describe().name,
            s("/metadata/name")
        )
    })?;
    match resp {
        planton_plugin_sdk::RenderOutput::Kubernetes { objects } => Ok(objects),
        other => Err(anyhow!(
            "plugin `{}` rendered {kind} for {}, not Kubernetes",
            backend.describe().name,
            other.target()
        )),
    }
}

/// The namespace of a task: the flag, else the manifest's namespace label, else its name.
fn namespace_of(manifest: &Value, flag: Option<&str>) -> String {
    if let Some(n) = flag {
        return n.to_string();
    }
    manifest
        .pointer("/metadata/labels")
        .and_then(|l| l.get(NAMESPACE_LABEL))
        .and_then(Value::as_str)
        .or_else(|| manifest.pointer("/metadata/name").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

pub(super) fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

pub(super) fn discover(service: &Path, env: Option<&str>) -> Result<(Layout, String)> {
    let files = DiskFiles::new();
    let path = DiskFiles::core_path(service)
        .with_context(|| format!("cannot resolve {}", service.display()))?;
    let (layout, only) = Layout::discover(&files, &path).map_err(anyhow::Error::msg)?;
    let task = match (only, env) {
        (Some(o), Some(e)) if o != e => bail!("the overlay path names `{o}` but --env says `{e}`"),
        (Some(o), _) => o,
        (None, Some(e)) => e.to_string(),
        (None, None) => bail!(
            "give the environment: --env <task> (one of: {})",
            layout.overlays.join(", ")
        ),
    };
    if !layout.overlays.contains(&task) {
        bail!(
            "no overlay `{task}` in {} (overlays: {})",
            service.display(),
            layout.overlays.join(", ")
        );
    }
    if task == "local" {
        bail!("the `local` overlay is never deployed (it only feeds `planton service dot-env`)");
    }
    Ok((layout, task))
}

pub(super) fn groups_source(
    layout: &Layout,
    config: &ServiceConfig,
    flag: Option<&Path>,
) -> Result<Option<DirGroupSource>> {
    let files = DiskFiles::new();
    let dir = match flag {
        Some(g) => Some(DiskFiles::core_path(g)?),
        None => config
            .groups_dir
            .as_ref()
            .map(|d| {
                if layout.root.is_empty() {
                    d.clone()
                } else {
                    format!("{}/{d}", layout.root)
                }
            })
            .or_else(|| {
                let d = if layout.root.is_empty() {
                    "groups".to_string()
                } else {
                    format!("{}/groups", layout.root)
                };
                planton_core::kustomize::Files::is_dir(&files, &d).then_some(d)
            }),
    };
    let Some(dir) = dir else { return Ok(None) };
    DirGroupSource::load(&files, &dir)
        .map(Some)
        .map_err(|errs| {
            anyhow!(
                "invalid group manifests:\n  {}",
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )
        })
}

/// Validates the task's overlay as `planton validate` does (config problems included) and,
/// on any error, prints every one and refuses: `Ok(Err(Outcome::Failed))`, nothing deployed.
pub(super) fn validate_or_refuse(
    args: &DeployArgs,
    layout: &Layout,
    task: &str,
    config_diags: &[planton_core::diag::Diagnostic],
) -> Result<Result<(), Outcome>> {
    let overlay = DiskFiles::local_path(&layout.overlay_dir(task));
    let run = super::validate::run_validation(&overlay, args.groups.as_deref())?;
    let errors: Vec<_> = config_diags
        .iter()
        .chain(run.diagnostics.iter())
        .filter(|d| d.severity == planton_core::diag::Severity::Error)
        .collect();
    if errors.is_empty() {
        return Ok(refuse_shared_target(layout, task));
    }
    for d in &errors {
        eprintln!("{d}");
    }
    eprintln!(
        "Error: {} validation error(s) in overlay `{task}`: nothing deployed",
        errors.len()
    );
    Ok(Err(Outcome::Failed))
}

/// Refuses a task whose target another planned overlay also deploys (the same workload in the
/// same environment, or the same ECS service): validating one overlay cannot see that, so the
/// plan's rule runs over every overlay (builds only; the kind rules were checked for this
/// overlay already).
fn refuse_shared_target(layout: &Layout, task: &str) -> Result<(), Outcome> {
    let files = DiskFiles::new();
    let (config, _) = ServiceConfig::load(&files, layout);
    let report = planton_core::validate::validate(
        &files,
        layout,
        None,
        &planton_core::validate::NoKinds,
        None,
    );
    let (_, mut diags) = planton_core::plan::plan(&report.overlays, &config, None);
    diags
        .retain(|d| d.code == planton_core::diag::code::PLAN_DUPLICATE_TARGET && d.overlay == task);
    if diags.is_empty() {
        return Ok(());
    }
    layout.relativize(&mut diags);
    for d in &diags {
        eprintln!("{d}");
    }
    eprintln!("Error: overlay `{task}` deploys what another overlay deploys: nothing deployed");
    Err(Outcome::Failed)
}

/// `--expect-digest`: refuses (printing why) when the overlay no longer builds to the manifest
/// the digest names, the one `planton plan` listed and a gate was approved for.
pub(super) fn expect_digest(args: &DeployArgs, task: &str, yaml: &str) -> Result<(), Outcome> {
    let Some(expected) = args.expect_digest.as_deref() else {
        return Ok(());
    };
    let built = planton_core::plan::manifest_digest(yaml);
    if built == expected {
        return Ok(());
    }
    eprintln!(
        "Error: overlay `{task}` changed: it builds to {built}, not the expected {expected} (--expect-digest); nothing deployed"
    );
    Err(Outcome::Failed)
}

/// Builds, validates (refusing on errors) and renders one task. `Ok(Err(outcome))` when
/// the input has problems (already printed).
fn load(
    args: &DeployArgs,
    stored: Option<(&str, Option<&str>)>,
) -> Result<Result<Loaded, Outcome>> {
    load_with(args, stored, true)
}

/// [`load`], or with `render == false` only where the task deploys (the current overlay is
/// built but neither validated nor rendered: a rollback must work when it is broken).
fn load_with(
    args: &DeployArgs,
    stored: Option<(&str, Option<&str>)>,
    render: bool,
) -> Result<Result<Loaded, Outcome>> {
    let (layout, task) = discover(&args.service, args.env.as_deref())?;
    let files = DiskFiles::new();
    let (config, config_diags) = ServiceConfig::load(&files, &layout);
    let root = DiskFiles::local_path(&layout.root);
    let (manifest_yaml, manifest) = match stored {
        // Rollback: the stored manifest as built; it was validated when it was deployed.
        Some((yaml, _)) => {
            let docs =
                parse_stream(yaml, "stored manifest").map_err(|e| anyhow!("{}", e.message))?;
            let node = docs
                .first()
                .ok_or_else(|| anyhow!("the stored revision has an empty manifest"))?;
            let out = to_output(node).map_err(|e| anyhow!("{}: {}", e.pos, e.message))?;
            (yaml.to_string(), out_to_json(&out))
        }
        None if !render => {
            let b = build(&files, &layout.overlay_dir(&task))
                .map_err(|e| anyhow!("overlay `{task}`: {}", super::build::display_error(&e)))?;
            let node = b
                .resources
                .first()
                .ok_or_else(|| anyhow!("overlay `{task}` builds no resource"))?;
            let out = to_output(&node.node).map_err(|e| anyhow!("{}: {}", e.pos, e.message))?;
            (String::new(), out_to_json(&out))
        }
        None => {
            if let Err(outcome) = validate_or_refuse(args, &layout, &task, &config_diags)? {
                return Ok(Err(outcome));
            }
            let b = match build(&files, &layout.overlay_dir(&task)) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("Error: {}", super::build::display_error(&e));
                    return Ok(Err(Outcome::Failed));
                }
            };
            let yaml = b.to_yaml().map_err(|e| anyhow!("{e}"))?;
            if let Err(outcome) = expect_digest(args, &task, &yaml) {
                return Ok(Err(outcome));
            }
            let node = b
                .resources
                .first()
                .ok_or_else(|| anyhow!("overlay `{task}` builds no resource"))?;
            let out = to_output(&node.node).map_err(|e| anyhow!("{}: {}", e.pos, e.message))?;
            (yaml, out_to_json(&out))
        }
    };
    let image = match stored {
        Some((_, img)) => img.map(str::to_string),
        None => args.image.clone().or_else(|| {
            let repo = str_at(&manifest, "/spec/container/app/image/repo");
            let tag = str_at(&manifest, "/spec/container/app/image/tag");
            (!repo.is_empty() && !tag.is_empty()).then(|| format!("{repo}:{tag}"))
        }),
    };
    let env_target = config.environments.iter().find(|e| e.overlay == task);
    // Two environments configured into one namespace of one cluster would overwrite each
    // other's objects: refuse before anything is written.
    if let Some(t) = env_target.filter(|t| t.namespace.is_some())
        && let Some(other) = config.environments.iter().find(|o| {
            o.overlay != t.overlay && o.namespace == t.namespace && o.context == t.context
        })
    {
        bail!(
            "planton.yaml deploys `{}` and `{}` to the same namespace `{}`{}: give each environment its own namespace",
            t.overlay,
            other.overlay,
            t.namespace.as_deref().unwrap_or_default(),
            t.context
                .as_deref()
                .map(|c| format!(" of context `{c}`"))
                .unwrap_or_default()
        );
    }
    let namespace = namespace_of(
        &manifest,
        args.cluster
            .namespace
            .as_deref()
            .or(env_target.and_then(|t| t.namespace.as_deref())),
    );
    let context = args
        .cluster
        .context
        .clone()
        .or_else(|| env_target.and_then(|t| t.context.clone()));
    let env = str_at(&manifest, "/metadata/env").to_string();
    let target = Target {
        service: str_at(&manifest, "/metadata/name").to_string(),
        task: task.clone(),
        env: env.clone(),
        kind: str_at(&manifest, "/kind").to_string(),
        namespace: namespace.clone(),
    };
    if !render {
        return Ok(Ok(Loaded {
            target,
            context,
            manifest_yaml,
            objects: Vec::new(),
            image,
            groups: None,
            secrets_namespace: None,
        }));
    }
    let plugins = Plugins::sandboxed(&config.plugins, &root)?;
    let objects = render_for_deploy(
        &plugins,
        &manifest,
        image.as_deref(),
        &namespace,
        (!env.is_empty()).then_some(env.as_str()),
    )?;
    let groups = groups_source(&layout, &config, args.groups.as_deref())?;
    Ok(Ok(Loaded {
        target,
        context,
        manifest_yaml,
        objects,
        image,
        groups,
        secrets_namespace: config.secrets_namespace(&task).map(str::to_string),
    }))
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn cluster_options(c: &ClusterArgs) -> ClusterOptions {
    ClusterOptions {
        kubeconfig: c.kubeconfig.clone(),
        context: c.context.clone(),
        request_timeout: Some(c.request_timeout),
    }
}

pub(super) fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

fn options(args: &DeployArgs) -> Options {
    Options {
        timeout: args.timeout,
        prune: args.prune,
        force_conflicts: args.force_conflicts,
        keep: args.keep_revisions.max(1),
        lock_wait: args.lock_wait,
        encode: EncodeOptions::default(),
        ..Options::default()
    }
}

/// Exit status for a driver error: problems with what is deployed are 1, not being able to
/// run at all is 2.
fn error_outcome(e: &planton_deploy_k8s::Error) -> Outcome {
    use planton_deploy_k8s::Error as E;
    match e {
        E::Conflict { .. }
        | E::Refused { .. }
        | E::WrongNamespace { .. }
        | E::References(_)
        | E::NamespaceTaken { .. }
        | E::Object(_)
        | E::UnknownKind { .. }
        | E::NoRevision(_)
        | E::SecretSource { .. } => Outcome::Failed,
        E::Interrupted => Outcome::Code(130),
        _ => Outcome::CouldNotRun,
    }
}

fn report_error(e: &planton_deploy_k8s::Error, format: DeployFormat) -> Result<Outcome> {
    let outcome = error_outcome(e);
    eprintln!("Error: {e}");
    if format == DeployFormat::Json {
        let v = serde_json::json!({"result": "error", "error": e.to_string(), "exitCode": outcome.code()});
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(outcome)
}

/// The secret sources, first match wins: `PLANTON_SECRET_*`/`PLANTON_VARIABLE_*` environment
/// variables, then the Kubernetes Secrets of the secrets namespace when one is configured
/// (the groups directory then gives variables only), else the groups directory.
pub(super) fn with_lookup<T>(
    groups: &Option<DirGroupSource>,
    kube: Option<&KubeSecrets>,
    f: impl FnOnce(&dyn Lookup) -> T,
) -> T {
    let env = secrets::env_lookup(std::env::vars());
    let vars_only = groups.as_ref().map(|g| VariablesOnly(g));
    let mut chain: Vec<&dyn Lookup> = vec![&env];
    match kube {
        Some(k) => {
            chain.push(k);
            if let Some(v) = &vars_only {
                chain.push(v);
            }
        }
        None => {
            if let Some(g) = groups {
                chain.push(g);
            }
        }
    }
    f(&Chain(chain))
}

/// Reads the Secrets the render refers to from the secrets namespace, when one is configured.
async fn kube_source(
    cluster: &Cluster,
    loaded: &Loaded,
) -> planton_deploy_k8s::Result<Option<KubeSecrets>> {
    match &loaded.secrets_namespace {
        None => Ok(None),
        Some(ns) => kube_secrets::fetch(cluster, ns, &kube_secrets::secret_groups(&loaded.objects))
            .await
            .map(Some),
    }
}

/// Connects to the task's cluster and reads its secret sources.
fn connect_for(
    rt: &tokio::runtime::Runtime,
    args: &DeployArgs,
    loaded: &Loaded,
) -> std::result::Result<(Cluster, Option<KubeSecrets>), planton_deploy_k8s::Error> {
    rt.block_on(async {
        let mut copts = cluster_options(&args.cluster);
        copts.context = loaded.context.clone();
        let cluster = client::connect(&copts).await?;
        let kube = kube_source(&cluster, loaded).await?;
        Ok((cluster, kube))
    })
}

fn run_deploy(args: &DeployArgs, loaded: Loaded, source: String) -> Result<Outcome> {
    let rt = runtime()?;
    let actor = actor();
    let holder = format!("{actor}:{}", std::process::id());
    let (cluster, kube) = match connect_for(&rt, args, &loaded) {
        Ok(c) => c,
        Err(e) => return report_error(&e, args.output),
    };
    with_lookup(&loaded.groups, kube.as_ref(), |lookup| {
        rt.block_on(async {
            let req = loaded.request(lookup, source, actor, holder, options(args));
            let bar = ProgressBar::start();
            let mut sink = |l: &str| bar.line(l);
            let mut steps = |phase: &str, done: u64, total: u64| bar.step(phase, done, total);
            let mut progress = Progress::with_steps(&mut sink, &mut steps);
            progress.line(&format!(
                "deploying {}/{} (env {}) to namespace {}",
                req.target.service, req.target.task, req.target.env, req.target.namespace
            ));
            let stop = crate::signals::stop_requested();
            let result = driver::deploy_until(&cluster, &req, &mut progress, stop).await;
            bar.finish();
            match result {
                Ok(report) => {
                    print_report(&report, args.output)?;
                    Ok(if report.result == "succeeded" {
                        Outcome::Success
                    } else {
                        Outcome::Failed
                    })
                }
                Err(e) => report_error(&e, args.output),
            }
        })
    })
}

/// Progress on stderr: a bar (indicatif) with the lines printed above it when stderr is a
/// terminal, plain lines otherwise (CI logs, pipes, files).
struct ProgressBar(Option<indicatif::ProgressBar>);

impl ProgressBar {
    fn start() -> ProgressBar {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return ProgressBar(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {msg:>6} [{bar:30}] {pos}/{len} objects",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        ProgressBar(Some(bar))
    }

    fn line(&self, l: &str) {
        match &self.0 {
            Some(b) => b.println(l),
            None => eprintln!("{l}"),
        }
    }

    fn step(&self, phase: &str, done: u64, total: u64) {
        if let Some(b) = &self.0 {
            b.set_message(phase.to_string());
            b.set_length(total);
            b.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn print_report(report: &driver::Report, format: DeployFormat) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        DeployFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(report)?)?,
        DeployFormat::Text => {
            writeln!(out, "{}", report.message)?;
            for o in &report.objects {
                let health = o
                    .health
                    .as_ref()
                    .map(|h| format!("{:?}: {}", h.status, h.message))
                    .unwrap_or_default();
                writeln!(out, "  {:<50} {:<10} {health}", o.object, o.action)?;
            }
            if let Some(ex) = &report.explanation {
                writeln!(out, "why:")?;
                for l in ex.lines() {
                    writeln!(out, "{l}")?;
                }
            }
            writeln!(
                out,
                "API requests: {} read(s), {} dry-run(s), {} write(s), {} retried",
                report.requests.reads,
                report.requests.dry_runs,
                report.requests.writes,
                report.requests.retries
            )?;
        }
    }
    Ok(())
}

/// Runs `planton deploy`.
pub fn deploy(args: &DeployArgs) -> Result<Outcome> {
    if super::deploy_ecs::deploys_to_aws(&args.service, args.env.as_deref()) {
        return super::deploy_ecs::deploy(args);
    }
    let loaded = match load(args, None)? {
        Ok(l) => l,
        Err(o) => return Ok(o),
    };
    run_deploy(args, loaded, "deploy".into())
}

/// Runs `planton diff`.
pub fn diff(args: &DeployArgs) -> Result<Outcome> {
    if super::deploy_ecs::deploys_to_aws(&args.service, args.env.as_deref()) {
        return super::deploy_ecs::diff(args);
    }
    let loaded = match load(args, None)? {
        Ok(l) => l,
        Err(o) => return Ok(o),
    };
    let rt = runtime()?;
    let (cluster, kube) = match connect_for(&rt, args, &loaded) {
        Ok(c) => c,
        Err(e) => return report_error(&e, args.output),
    };
    with_lookup(&loaded.groups, kube.as_ref(), |lookup| {
        rt.block_on(async {
            let req = loaded.request(lookup, "diff".into(), actor(), String::new(), options(args));
            match driver::diff(&cluster, &req).await {
                Ok(d) => {
                    let mut out = std::io::stdout().lock();
                    match args.output {
                        DeployFormat::Json => {
                            writeln!(out, "{}", serde_json::to_string_pretty(&d)?)?
                        }
                        DeployFormat::Text => out.write_all(d.text().as_bytes())?,
                    }
                    Ok(if d.changes {
                        Outcome::Failed
                    } else {
                        Outcome::Success
                    })
                }
                Err(e) => {
                    report_error(&e, args.output)?;
                    Ok(Outcome::CouldNotRun)
                }
            }
        })
    })
}

/// Runs `planton rollback`.
pub fn rollback(args: &RollbackArgs) -> Result<Outcome> {
    if super::deploy_ecs::deploys_to_aws(&args.deploy.service, args.deploy.env.as_deref()) {
        return super::deploy_ecs::rollback(args);
    }
    let d = &args.deploy;
    // Where the task lives comes from the current build (namespace, service name).
    let current = match load_with(d, None, false)? {
        Ok(l) => l,
        Err(o) => return Ok(o),
    };
    let rt = runtime()?;
    let stored = rt.block_on(async {
        let mut copts = cluster_options(&d.cluster);
        copts.context = current.context.clone();
        let cluster = client::connect(&copts).await?;
        driver::read_state(&cluster, &current.target.namespace, &current.target.service).await
    });
    let st = match stored {
        Ok(s) => s,
        Err(e) => return report_error(&e, d.output),
    };
    let Some(task) = st.tasks.get(&current.target.task) else {
        let e = planton_deploy_k8s::Error::NoRevision(format!(
            "nothing stored for {}/{} in namespace {}: deploy it first",
            current.target.service, current.target.task, current.target.namespace
        ));
        return report_error(&e, d.output);
    };
    let wanted = match args.to_revision {
        Some(n) => task.revision(n),
        None => {
            let cur = task.last_finished().map(|r| r.revision).unwrap_or(0);
            task.revisions.iter().rev().find(|r| {
                r.revision < cur && r.result == planton_deploy_k8s::state::Outcome::Succeeded
            })
        }
    };
    let Some(rev) = wanted.cloned() else {
        let kept: Vec<String> = task
            .revisions
            .iter()
            .map(|r| format!("{} ({:?})", r.revision, r.result))
            .collect();
        let e = planton_deploy_k8s::Error::NoRevision(format!(
            "no revision to roll back to (stored: {})",
            kept.join(", ")
        ));
        return report_error(&e, d.output);
    };
    let loaded = match load(d, Some((&rev.manifest, rev.image.as_deref())))? {
        Ok(l) => l,
        Err(o) => return Ok(o),
    };
    drop(rt);
    run_deploy(d, loaded, format!("rollback to {}", rev.revision))
}

/// Where each of `tasks` lives: the service and namespace from its build (the namespace
/// label, else the name; `namespace` wins, then planton.yaml's `namespace` for the
/// environment) and the kubeconfig context (`context` wins, then planton.yaml's). The one
/// resolution `planton status` and `planton serve`'s health endpoint share.
pub(crate) fn places(
    files: &DiskFiles,
    layout: &Layout,
    tasks: &[String],
    namespace: Option<&str>,
    context: Option<&str>,
) -> Result<Vec<Place>> {
    let (config, _) = ServiceConfig::load(files, layout);
    let mut out = Vec::new();
    for t in tasks {
        let b = build(files, &layout.overlay_dir(t))
            .map_err(|e| anyhow!("overlay `{t}`: {}", super::build::display_error(&e)))?;
        let Some(r) = b.resources.first() else {
            continue;
        };
        let m = out_to_json(&to_output(&r.node).map_err(|e| anyhow!("{}: {}", e.pos, e.message))?);
        let env_target = config.environments.iter().find(|e| &e.overlay == t);
        out.push(Place {
            task: t.clone(),
            service: str_at(&m, "/metadata/name").to_string(),
            namespace: namespace_of(
                &m,
                namespace.or(env_target.and_then(|e| e.namespace.as_deref())),
            ),
            context: context
                .map(str::to_string)
                .or_else(|| env_target.and_then(|e| e.context.clone())),
        });
    }
    Ok(out)
}

/// Runs `planton status`.
pub fn status(args: &StatusArgs) -> Result<Outcome> {
    if super::deploy_ecs::deploys_to_aws(&args.service, args.env.as_deref()) {
        return super::deploy_ecs::status(args);
    }
    let files = DiskFiles::new();
    let path = DiskFiles::core_path(&args.service)
        .with_context(|| format!("cannot resolve {}", args.service.display()))?;
    let (layout, only) = Layout::discover(&files, &path).map_err(anyhow::Error::msg)?;
    let tasks: Vec<String> = match (only, &args.env) {
        (Some(o), _) => vec![o],
        (None, Some(e)) => vec![e.clone()],
        (None, None) => layout
            .overlays
            .iter()
            .filter(|o| o.as_str() != "local")
            .cloned()
            .collect(),
    };
    let wanted = places(
        &files,
        &layout,
        &tasks,
        args.cluster.namespace.as_deref(),
        args.cluster.context.as_deref(),
    )?;
    if args.output == DeployFormat::Text
        && let Some(p) = super::pipeline::status_section(&args.service)
    {
        println!("{p}");
    }
    let rt = runtime()?;
    rt.block_on(async {
        // One connection per context the tasks live in.
        let mut clusters: Vec<(Option<String>, Cluster)> = Vec::new();
        for Place { context, .. } in &wanted {
            if clusters.iter().any(|(c, _)| c == context) {
                continue;
            }
            let mut copts = cluster_options(&args.cluster);
            copts.context = context.clone();
            match client::connect(&copts).await {
                Ok(c) => clusters.push((context.clone(), c)),
                Err(e) => return report_error(&e, args.output),
            }
        }
        let mut last: Option<String> = None;
        loop {
            let mut all = Vec::new();
            for p in &wanted {
                let Some((_, cluster)) = clusters.iter().find(|(c, _)| *c == p.context) else {
                    continue;
                };
                match health::service_health(cluster, &p.namespace, &p.service, &p.task).await {
                    Ok(h) => all.push(h),
                    Err(e) => return report_error(&e, args.output),
                }
            }
            // With --watch, a snapshot is printed only when it differs from the last one (JSON:
            // one compact document per line).
            let mut text = String::new();
            {
                use std::fmt::Write as _;
                match args.output {
                    DeployFormat::Json if args.watch => {
                        writeln!(text, "{}", serde_json::to_string(&all)?)?
                    }
                    DeployFormat::Json => writeln!(text, "{}", serde_json::to_string_pretty(&all)?)?,
                    DeployFormat::Text => {
                        for s in &all {
                            match &s.revision {
                                None => writeln!(text, "{} (namespace {}): never deployed", s.task, s.namespace)?,
                                Some(r) => writeln!(
                                    text,
                                    "{} (env {}, namespace {}): revision {} {:?}, image {}, manifest {}, {} by {} ({})",
                                    s.task,
                                    s.env,
                                    s.namespace,
                                    r.revision,
                                    r.result,
                                    r.image.as_deref().unwrap_or("-"),
                                    r.manifest_digest,
                                    r.finished_at.as_deref().unwrap_or(&r.started_at),
                                    r.actor,
                                    r.source
                                )?,
                            }
                            for o in &s.objects {
                                writeln!(text, "  {:<50} {:?}: {}", o.object, o.health.status, o.health.message)?;
                            }
                        }
                    }
                }
            }
            if !args.watch {
                std::io::stdout().lock().write_all(text.as_bytes())?;
                let healthy = all.iter().all(|s| {
                    s.objects
                        .iter()
                        .all(|o| o.health.status == planton_deploy_k8s::kstatus::Status::Current)
                });
                return Ok(if healthy { Outcome::Success } else { Outcome::Failed });
            }
            if last.as_ref() != Some(&text) {
                let mut out = std::io::stdout().lock();
                if last.is_some() && args.output == DeployFormat::Text {
                    writeln!(out)?;
                }
                out.write_all(text.as_bytes())?;
                out.flush()?;
                last = Some(text);
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    })
}

fn yaml_doc(v: &Value) -> String {
    planton_core::yaml::emit_documents(&[planton_core::validate::out_from_json(v)])
}

/// `planton service kustomize init <kind> <id>`: the files of a `_kustomize/` (and a
/// `planton.yaml` naming each environment's namespace) from the manifests stored in the
/// cluster. `Ok(Err(outcome))` when there is nothing to start from (already printed).
pub fn init_from_cluster(
    kind: &str,
    id: &str,
    kubeconfig: Option<std::path::PathBuf>,
    context: Option<String>,
) -> Result<Result<Vec<(String, String)>, Outcome>> {
    let (namespace, service) = match id.split_once('/') {
        Some((n, s)) => (Some(n.to_string()), s.to_string()),
        None => (None, id.to_string()),
    };
    let rt = runtime()?;
    let states = rt.block_on(async {
        let cluster = client::connect(&ClusterOptions {
            kubeconfig,
            context,
            request_timeout: None,
        })
        .await?;
        match &namespace {
            Some(ns) => Ok(vec![(
                ns.clone(),
                driver::read_state(&cluster, ns, &service).await?,
            )]),
            None => driver::list_states(&cluster, &service).await,
        }
    });
    let states = match states {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(Err(error_outcome(&e)));
        }
    };
    let mut manifests: Vec<(String, Value)> = Vec::new();
    let mut namespaces: Vec<(String, String)> = Vec::new();
    for (ns, st) in &states {
        for (task, ts) in &st.tasks {
            if ts.kind != kind {
                eprintln!(
                    "warning: skipping {task} in namespace {ns}: it is a {}, not a {kind}",
                    ts.kind
                );
                continue;
            }
            let Some(rev) = ts.last_succeeded().or_else(|| ts.last_finished()) else {
                continue;
            };
            let docs = parse_stream(&rev.manifest, "stored manifest")
                .map_err(|e| anyhow!("{}", e.message))?;
            let Some(node) = docs.first() else { continue };
            let out = to_output(node).map_err(|e| anyhow!("{}: {}", e.pos, e.message))?;
            manifests.push((task.clone(), out_to_json(&out)));
            namespaces.push((task.clone(), ns.clone()));
        }
    }
    if manifests.is_empty() {
        eprintln!(
            "Error: no stored {kind} `{service}` found{}",
            namespace
                .map(|n| format!(" in namespace `{n}`"))
                .unwrap_or_default()
        );
        return Ok(Err(Outcome::Failed));
    }
    let (base, patches) = planton_deploy_k8s::split::split(&manifests);
    let mut files = vec![
        (
            "_kustomize/base/kustomization.yaml".to_string(),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - service.yaml\n".to_string(),
        ),
        ("_kustomize/base/service.yaml".to_string(), yaml_doc(&base)),
    ];
    for (task, p) in &patches {
        files.push((
            format!("_kustomize/overlays/{task}/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - path: service.yaml\n".to_string(),
        ));
        files.push((
            format!("_kustomize/overlays/{task}/service.yaml"),
            yaml_doc(p),
        ));
    }
    let mut config =
        String::from("apiVersion: planton.dev/v1\nkind: ServiceConfig\nenvironments:\n");
    for (task, ns) in &namespaces {
        config.push_str(&format!("  {task}:\n    namespace: {ns}\n"));
    }
    files.push((planton_core::service::CONFIG_FILE.to_string(), config));
    Ok(Ok(files))
}
