//! Command-line arguments: plain data, validated by clap, nothing else.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// planton: build, validate, plan and deploy services described by `_kustomize/` overlays.
#[derive(Debug, Parser)]
// `bin_name`: usage and errors say `planton` whatever the file is called (the tests run
// this same `main` as `planton-under-test`).
#[command(name = "planton", bin_name = "planton", version, about, long_about = None, propagate_version = true)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a kustomization exactly as `kubectl kustomize` (kustomize v5.5.0) does.
    ///
    /// Prints the built YAML on stdout, byte for byte what `kubectl kustomize DIR` prints;
    /// deprecation warnings go to stderr. On error, prints the reason (file, line and
    /// column where known) on stderr and exits with status 1.
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),

    /// Build every overlay and check it: kind rules (by the target plugins), reference
    /// syntax, and reference resolution when a group source is configured.
    ///
    /// Every problem is reported at once, pointing at the file, line and column that wrote
    /// the offending value (an overlay patch, else the base).
    /// Exit status: 0 no errors, 1 errors found, 2 validation could not run.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),

    /// Show the deployment plan: one task per overlay except `local`, filtered by
    /// `deploymentEnvironments`, in promotion order, with manual gates marked.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),

    /// Print the desired state a target plugin computes for one overlay: Kubernetes objects,
    /// or the AWS API requests for ECS, in apply order. Secrets appear as references only.
    #[command(after_help = RENDER_EXAMPLES)]
    Render(RenderArgs),

    /// List or inspect target plugins (built-in and pinned external ones).
    #[command(after_help = PLUGIN_EXAMPLES)]
    Plugin(PluginArgs),

    /// Print the JSON Schema of a service kind, for editors (yaml-language-server).
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema(SchemaArgs),

    /// Work on a service repository: local `.env` files, scaffolding `_kustomize/`.
    #[command(subcommand)]
    Service(ServiceCommand),

    /// Deploy one environment to Kubernetes: build, validate, resolve references, render,
    /// server-side dry-run, apply what differs, prune, wait for readiness, record. A kind
    /// whose plugin declares the AWS target (`AwsEcsService`) deploys to ECS instead, with
    /// the same flags, output and exit codes.
    ///
    /// Progress goes to stderr; the result to stdout (`--output json` for JSON).
    /// Exit status: 0 deployed and ready, 1 the deploy failed (invalid input, refused or
    /// conflicting apply, not ready in time), 2 it could not run (no cluster, forbidden,
    /// locked by another deploy).
    #[command(after_help = DEPLOY_EXAMPLES)]
    Deploy(DeployArgs),

    /// Show what a deploy would change, by server-side dry-run against the live objects, as
    /// a unified diff per object. Secrets show only whether they change.
    /// Exit status: 0 no changes, 1 changes, 2 error.
    #[command(after_help = DEPLOY_EXAMPLES)]
    Diff(DeployArgs),

    /// Show the deployed revision and the live health of every object, per environment.
    #[command(after_help = DEPLOY_EXAMPLES)]
    Status(StatusArgs),

    /// Re-apply a stored revision (secrets resolved anew), through the same path as deploy.
    #[command(after_help = DEPLOY_EXAMPLES)]
    Rollback(RollbackArgs),

    /// The deployment pipeline: run every task in promotion order, resume, show a run.
    #[command(subcommand)]
    Pipeline(crate::commands::pipeline::PipelineCommand),

    /// Approve a task waiting at its manual gate (pinned to its manifest digest and image).
    Approve(crate::commands::pipeline::DecideArgs),

    /// Reject a task waiting at its manual gate: the task and the run fail.
    Reject(crate::commands::pipeline::DecideArgs),

    /// List pipeline runs, newest first.
    Runs(crate::commands::pipeline::RunsArgs),

    /// Print a task's stack job log (`--follow` while it runs).
    Logs(crate::commands::pipeline::LogsArgs),

    /// Serve the pipeline UI and its JSON API over the service's state store: runs, tasks,
    /// live logs, approve and reject for authorized users (`planton serve user add` first).
    Serve(crate::commands::serve::ServeArgs),
}

const DEPLOY_EXAMPLES: &str = "\
Examples:
  planton diff examples/order-api --env staging --image ghcr.io/acme-shop/order-api:3f2c1d0
  planton deploy examples/order-api --env staging --image ghcr.io/acme-shop/order-api:3f2c1d0
  planton deploy examples/order-api/_kustomize/overlays/prod --timeout 10m --output json
  planton status examples/order-api
  planton rollback examples/order-api --env prod --to-revision 3

Cluster: --kubeconfig, else KUBECONFIG, else ~/.kube/config, else the in-cluster service
account; --context picks a context. Secret and variable references resolve from
PLANTON_SECRET_<GROUP>__<ENTRY> / PLANTON_VARIABLE_<GROUP>__<ENTRY> environment variables,
then the groups directory (--groups, else groups.dir of planton.yaml).
AWS (AwsEcsService): credentials and endpoint by the AWS conventions (AWS_PROFILE,
AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...); the region is the cluster ARN's.";

/// How to reach the cluster (kubectl's conventions).
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// The namespace to deploy into (default: the manifest's
    /// `kubernetes.project-planton.org/namespace` label, else its `metadata.name`).
    #[arg(long, short = 'n', value_name = "NAME")]
    pub namespace: Option<String>,
    /// How long one API request may wait for the server before it is retried (and, after the
    /// last retry, fails): `30s`, `2m`.
    #[arg(long, default_value = "30s", value_parser = parse_duration, global = true)]
    pub request_timeout: std::time::Duration,
}

/// `planton deploy|diff|rollback|status` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeployFormat {
    /// Human-readable lines.
    Text,
    /// One JSON document.
    Json,
}

/// Where an AWS deploy stores secret values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretStoreArg {
    /// A Secrets Manager secret `planton/<group>/<entry>`.
    SecretsManager,
    /// An SSM SecureString parameter `/planton/<group>/<entry>`.
    Ssm,
}

/// Arguments of `planton deploy` and `planton diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// The service root, or one overlay directory.
    #[arg(default_value = ".")]
    pub service: PathBuf,
    /// The deployment task: the overlay directory name (not needed with an overlay path).
    #[arg(long, value_name = "TASK")]
    pub env: Option<String>,
    /// The image built for this deploy, `REPO:TAG` (default: the manifest's tag).
    #[arg(long, value_name = "REPO:TAG")]
    pub image: Option<String>,
    /// VariablesGroup/SecretsGroup manifests directory (default: groups.dir of planton.yaml).
    #[arg(long, value_name = "DIR")]
    pub groups: Option<PathBuf>,
    /// How long to wait for readiness: `300`, `90s`, `5m`, `1h`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Delete objects of the previous revision that are no longer rendered.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub prune: bool,
    /// Take fields owned by other field managers instead of failing on a conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Revisions kept per environment in the state ConfigMap.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub keep_revisions: usize,
    /// How long to wait for another deploy holding the lock (the same service and task on
    /// Kubernetes; the same ECS service on ECS) before giving up (exit 2).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub lock_wait: std::time::Duration,
    /// AWS kinds: where `$secrets-group` values are stored for ECS to read.
    #[arg(long, value_enum, default_value = "secrets-manager")]
    pub secret_store: SecretStoreArg,
    /// Deploy only if the overlay still builds to this manifest (`sha256:…`, as `planton
    /// plan` prints it); the pipeline passes the digest a gate was approved for, so a change
    /// made after the approval is refused instead of deployed.
    #[arg(long, value_name = "DIGEST")]
    pub expect_digest: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: DeployFormat,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Arguments of `planton rollback`.
#[derive(Debug, Clone, clap::Args)]
pub struct RollbackArgs {
    /// Deploy arguments (the manifest and image come from the stored revision).
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// The revision to return to (default: the newest succeeded revision before the current one).
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u64>,
}

/// Arguments of `planton status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The service root, or one overlay directory.
    #[arg(default_value = ".")]
    pub service: PathBuf,
    /// Only this task (overlay directory name).
    #[arg(long, value_name = "TASK")]
    pub env: Option<String>,
    /// Keep printing, every 2 s, until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: DeployFormat,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Parses `300`, `90s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| std::time::Duration::from_secs(n * mult))
        .map_err(|_| format!("`{s}` is not a duration (e.g. 300, 90s, 5m, 1h)"))
}

const VALIDATE_EXAMPLES: &str = "\
Examples:
  planton validate examples/order-api
  planton validate examples/order-api/_kustomize/overlays/prod --output json
  planton validate . --groups groups/ --output sarif > planton.sarif

Text output lines look like:
  _kustomize/overlays/prod/service.yaml:12:19: error[K8S-PORT-NAME]: ... (overlay prod, at /spec/...)";

const PLAN_EXAMPLES: &str = "\
Examples:
  planton plan examples/order-api
  planton plan examples/order-api --environments staging --output json";

const RENDER_EXAMPLES: &str = "\
Examples:
  planton render examples/order-api/_kustomize/overlays/prod --image ghcr.io/acme-shop/order-api:3f2c1d0
  planton render examples/checkout-ecs/_kustomize/overlays/prod -o json";

const PLUGIN_EXAMPLES: &str = "\
Examples:
  planton plugin list
  planton plugin list --dir examples/order-api      # with the plugins pinned in its planton.yaml
  planton plugin inspect kubernetes
  planton plugin inspect target/wasm32-unknown-unknown/release/my_plugin.wasm";

/// `planton render` output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RenderFormat {
    /// YAML documents.
    Yaml,
    /// A JSON array.
    Json,
}

/// Arguments of `planton render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// One overlay directory (`<service>/_kustomize/overlays/<env>`).
    pub overlay: PathBuf,
    /// The image built for this deploy, `REPO:TAG` (or `REPO@DIGEST`); completes or
    /// overrides the manifest's image.
    #[arg(long, value_name = "REPO:TAG")]
    pub image: Option<String>,
    /// The Kubernetes namespace to deploy into (default: the manifest's label, else its name).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "yaml")]
    pub output: RenderFormat,
}

/// Arguments of `planton plugin`.
#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// `planton plugin` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Every plugin: name, version, contract version, kinds, origin and digest.
    List {
        /// A service whose planton.yaml pins external plugins.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// One plugin (a built-in name or a .wasm path): what it serves and its digest to pin.
    Inspect {
        /// `kubernetes`, `aws-ecs`, or a path to a .wasm file.
        plugin: String,
    },
}

const SCHEMA_EXAMPLES: &str = "\
Examples:
  planton schema --kind MicroserviceKubernetes > .schemas/microservice.json
  # then, first line of service.yaml:
  # yaml-language-server: $schema=../../.schemas/microservice.json";

/// `planton validate` output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ValidateFormat {
    /// `file:line:col: severity[code]: message` lines and a summary.
    Text,
    /// `{"diagnostics":[...],"summary":{"errors":N,"warnings":N}}`.
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
    /// JUnit XML, one test case per overlay.
    Junit,
}

/// Arguments of `planton validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The service root, its `_kustomize` folder, or one overlay.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: ValidateFormat,
    /// A directory of VariablesGroup/SecretsGroup manifests to resolve references against
    /// (default: `groups.dir` of planton.yaml; without either, resolution is not checked).
    #[arg(long, value_name = "DIR")]
    pub groups: Option<PathBuf>,
}

/// `planton plan` output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanFormat {
    /// A numbered task list.
    Text,
    /// `{"tasks":[...],"skipped":[...]}`.
    Json,
}

/// Arguments of `planton plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The service root, its `_kustomize` folder, or one overlay.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: PlanFormat,
    /// Comma-separated overlay names to deploy, overriding `deploymentEnvironments`.
    #[arg(long, value_name = "NAMES")]
    pub environments: Option<String>,
    /// Group manifests directory (see `planton validate --help`).
    #[arg(long, value_name = "DIR")]
    pub groups: Option<PathBuf>,
}

/// Arguments of `planton schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The kind (`MicroserviceKubernetes`, `KubernetesDeployment`, `AwsEcsService`); all kinds
    /// when omitted.
    #[arg(long)]
    pub kind: Option<String>,
}

const BUILD_EXAMPLES: &str = "\
Examples:
  # One overlay, as kubectl kustomize prints it
  planton build examples/order-api/_kustomize/overlays/prod

  # Every overlay of a service in one call, one file per overlay
  planton build --all examples/order-api --out-dir /tmp/built
  ls /tmp/built    # local.yaml prod.yaml staging.yaml";

/// Arguments of `planton build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The kustomization directory to build; with --all, the service root, its
    /// `_kustomize/` folder or an `overlays/` folder.
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Build every overlay (each directory under `overlays/`) in one call.
    #[arg(long)]
    pub all: bool,

    /// With --all: write `<overlay>.yaml` files into this directory (atomically) instead of
    /// printing one stream with a `# Overlay: <name>` comment before each overlay.
    #[arg(long, requires = "all", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `planton service` subcommands.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write `.env` and `.env_export` from an overlay (usually `local`) for local development.
    ///
    /// Builds `_kustomize/overlays/<env>`, takes `env.variables` and `env.secrets` of the
    /// service manifest, resolves `$variables-group/...` and `$secrets-group/...` references
    /// against the groups directory, applies `--set` last, and writes both files atomically,
    /// keys sorted, each key preceded by a `# from ...` comment naming where its value came
    /// from. Values are never printed; unresolved references are all reported at once.
    #[command(after_help = DOT_ENV_EXAMPLES)]
    DotEnv(DotEnvArgs),

    /// Scaffold the `_kustomize/` folder of a service.
    #[command(subcommand)]
    Kustomize(KustomizeCommand),
}

const DOT_ENV_EXAMPLES: &str = "\
Examples:
  # .env and .env_export in the service root, from overlays/local
  planton service dot-env --env local

  # Override or add variables (applied last)
  planton service dot-env --env local --set API_KEY=test-key --set DEBUG=true

  # Resolve references against another groups directory, write elsewhere
  planton service dot-env --env local --dir examples/order-api --groups ../groups --out-dir /tmp/env

  # Use the files
  docker compose --env-file .env up        # or env_file: .env in compose.yaml
  set -a; . ./.env_export; set +a          # sh/bash";

/// Arguments of `planton service dot-env`.
#[derive(Debug, clap::Args)]
pub struct DotEnvArgs {
    /// The overlay directory to build (`_kustomize/overlays/<ENV>`).
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Set a variable, overriding the manifest (repeatable; applied last, in order).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Directory of VariablesGroup/SecretsGroup manifests (default: `groups.dir` of
    /// planton.yaml, else `<service root>/groups` when it exists).
    #[arg(long, value_name = "DIR")]
    pub groups: Option<PathBuf>,
    /// The service root (the directory holding `_kustomize/`).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Where to write `.env` and `.env_export` (default: the service root).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write secret values for an overlay other than `local` too (by default they are left
    /// out, and the command says which).
    #[arg(long)]
    pub include_secrets: bool,
}

/// `planton service kustomize` subcommands.
#[derive(Debug, Subcommand)]
pub enum KustomizeCommand {
    /// Create `_kustomize/base` and overlays for a new service (`--new`) or from an existing
    /// service manifest (`--from FILE`).
    ///
    /// With `--new`, asks for each value not given as a flag when stdin is a terminal;
    /// otherwise every value must be given and the missing flags are listed. Never
    /// overwrites an existing file unless `--force`: it lists the files that exist and
    /// writes nothing.
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
}

const INIT_EXAMPLES: &str = "\
Examples:
  # Interactive: asks for platform, environment, name and organization
  planton service kustomize init --new

  # Non-interactive (CI, scripts)
  planton service kustomize init --new --platform kubernetes --env dev --name order-api --org acme --dir order-api
  planton service kustomize init --new --platform aws-ecs --env prod --name billing --org acme

  # From an existing manifest: base + one overlay (named by metadata.env, or --env)
  planton service kustomize init --from service.yaml --env prod";

/// The platform of a new service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlatformArg {
    /// MicroserviceKubernetes.
    Kubernetes,
    /// AwsEcsService.
    AwsEcs,
    /// KubernetesDeployment (upstream's successor of MicroserviceKubernetes).
    KubernetesDeployment,
}

/// Arguments of `planton service kustomize init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Start a new service from starter manifests.
    #[arg(long, conflicts_with = "from", required_unless_present_any = ["from", "kind"])]
    pub new: bool,
    /// Start from a deployed service: its kind (`MicroserviceKubernetes`), then `<id>`.
    #[arg(value_name = "KIND", requires = "id", conflicts_with_all = ["new", "from"])]
    pub kind: Option<String>,
    /// With KIND: `<namespace>/<service>` (that namespace), or `<service>` (every namespace
    /// holding its state ConfigMap). Reads the stored manifests and writes a base plus one
    /// overlay per stored environment.
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// With KIND: the kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// With KIND: the kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Start from an existing service manifest (split into base + one overlay).
    #[arg(long, value_name = "MANIFEST")]
    pub from: Option<PathBuf>,
    /// Deployment platform.
    #[arg(long, value_enum, conflicts_with = "from")]
    pub platform: Option<PlatformArg>,
    /// The environment: overlay directory name and `metadata.env`.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Service name (`metadata.name`).
    #[arg(long, conflicts_with = "from")]
    pub name: Option<String>,
    /// Organization (`metadata.org`).
    #[arg(long, conflicts_with = "from")]
    pub org: Option<String>,
    /// The service root to write into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}
