//! `planton serve`: the pipeline UI server (`planton-serve`) over the service's state store,
//! and `planton serve user add` to write its users (the first admin included).
//!
//! The arguments live here rather than in `cli.rs` so that the server's flags stay in one
//! place; `cli.rs` only names the subcommand.

use super::Outcome;
use anyhow::{Context, Result, bail};
use planton_serve::config::ServeConfig;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `planton serve`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = SERVE_EXAMPLES)]
pub struct ServeArgs {
    /// Manage the server's users.
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// The state store to serve (the service's embedded one, or the in-cluster one).
    #[command(flatten)]
    pub store: super::pipeline::StoreArgs,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// The server config (users and roles).
    #[arg(long, default_value = "planton-serve.yaml", value_name = "FILE")]
    pub config: PathBuf,
    /// Where sign-in sessions are kept, so they survive a restart (SQLite; only hashes of
    /// the session ids). Default: next to the config, `<config name>.sessions.db`.
    #[arg(long, value_name = "FILE")]
    pub sessions: Option<PathBuf>,
    /// The built web app (`trunk build --release` writes `dist/`); default `dist` when it
    /// exists, else the API only.
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
}

/// `planton serve user …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServeCommand {
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
}

/// `planton serve user add|token`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user (or change an existing user's role and password). The password is read
    /// from standard input and stored only as an Argon2id hash.
    Add(UserAddArgs),
    /// Create an API token for a user; it is printed once and stored only as a hash.
    Token(UserTokenArgs),
    /// Remove a user: their sessions end at once (also on a running server); their
    /// tokens and password stop working when the server (re)starts with the changed
    /// config.
    Remove(UserRemoveArgs),
}

/// Arguments of `planton serve user add`.
#[derive(Debug, Clone, clap::Args)]
pub struct UserAddArgs {
    /// The user name.
    pub name: String,
    /// `viewer`, `approver` or `admin`.
    #[arg(long, value_parser = ["viewer", "approver", "admin"])]
    pub role: String,
    /// For approvers: an environment they may approve (repeatable; `*` for all).
    #[arg(long = "env", value_name = "ENV")]
    pub environments: Vec<String>,
    /// Read the password from standard input (first line). Without it the user has no
    /// password (API tokens or the trusted proxy only).
    #[arg(long)]
    pub password_stdin: bool,
    /// The server config to write.
    #[arg(long, default_value = "planton-serve.yaml", value_name = "FILE")]
    pub config: PathBuf,
}

/// Arguments of `planton serve user token`.
#[derive(Debug, Clone, clap::Args)]
pub struct UserTokenArgs {
    /// The user name.
    pub name: String,
    /// The server config to write.
    #[arg(long, default_value = "planton-serve.yaml", value_name = "FILE")]
    pub config: PathBuf,
}

/// Arguments of `planton serve user remove`.
#[derive(Debug, Clone, clap::Args)]
pub struct UserRemoveArgs {
    /// The user name.
    pub name: String,
    /// The server config to write.
    #[arg(long, default_value = "planton-serve.yaml", value_name = "FILE")]
    pub config: PathBuf,
    /// The server's session database (default: next to the config, as `planton serve`).
    #[arg(long, value_name = "FILE")]
    pub sessions: Option<PathBuf>,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  printf '%s\\n' \"$ADMIN_PASSWORD\" | planton serve user add admin --role admin --password-stdin
  printf '%s\\n' \"$PW\" | planton serve user add rita --role approver --env prod --password-stdin
  planton serve user token ci-bot
  planton serve --service examples/order-api --listen 127.0.0.1:8080
  planton serve --store kubernetes --store-namespace planton-pipelines
Then open http://127.0.0.1:8080/#/pipelines (the editor stays at /).";

/// Runs `planton serve …`.
pub fn run(args: &ServeArgs) -> Result<Outcome> {
    match &args.command {
        Some(ServeCommand::User(UserCommand::Add(a))) => add_user(a),
        Some(ServeCommand::User(UserCommand::Token(a))) => add_token(a),
        Some(ServeCommand::User(UserCommand::Remove(a))) => remove_user(a),
        None => serve(args),
    }
}

fn load_or_new(path: &Path) -> Result<ServeConfig> {
    if path.exists() {
        Ok(ServeConfig::load(path)?)
    } else {
        Ok(ServeConfig::default())
    }
}

fn add_user(a: &UserAddArgs) -> Result<Outcome> {
    let mut config = load_or_new(&a.config)?;
    let password = if a.password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the password from standard input")?;
        let line = s.lines().next().unwrap_or_default().to_string();
        if line.is_empty() {
            bail!("no password on standard input");
        }
        Some(line)
    } else {
        None
    };
    let role = planton_serve::config::parse_role(&a.role)?;
    let new = config.upsert_user(&a.name, role, a.environments.clone(), password.as_deref())?;
    config.save(&a.config)?;
    if password.is_some() && !new {
        // A new password signs the user out everywhere.
        end_sessions(&a.name, None, &a.config)?;
    }
    eprintln!(
        "{} user `{}` ({}) in {}",
        if new { "added" } else { "updated" },
        a.name,
        a.role,
        a.config.display()
    );
    Ok(Outcome::Success)
}

fn add_token(a: &UserTokenArgs) -> Result<Outcome> {
    let mut config = ServeConfig::load(&a.config)?;
    let token = config.add_token(&a.name)?;
    config.save(&a.config)?;
    eprintln!(
        "new API token for `{}` (shown once; only its hash is stored):",
        a.name
    );
    println!("{token}");
    Ok(Outcome::Success)
}

fn remove_user(a: &UserRemoveArgs) -> Result<Outcome> {
    let mut config = ServeConfig::load(&a.config)?;
    if !config.remove_user(&a.name) {
        bail!("no user `{}` in {}", a.name, a.config.display());
    }
    config.save(&a.config)?;
    let ended = end_sessions(&a.name, a.sessions.as_deref(), &a.config)?;
    eprintln!(
        "removed user `{}` from {}; {ended} session(s) ended; restart the server so their tokens stop working",
        a.name,
        a.config.display()
    );
    Ok(Outcome::Success)
}

/// Ends `user`'s sessions in the server's session database, if there is one yet.
fn end_sessions(user: &str, sessions: Option<&Path>, config: &Path) -> Result<usize> {
    let path = sessions
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_sessions(config));
    if !path.exists() {
        return Ok(0);
    }
    planton_serve::auth::Sessions::open(&path)?
        .end_user(user)
        .map_err(|e| anyhow::anyhow!("{}", e.message))
        .with_context(|| format!("cannot end the sessions of `{user}` in {}", path.display()))
}

/// The default session database: `planton-serve.yaml` → `planton-serve.sessions.db`.
fn default_sessions(config: &Path) -> PathBuf {
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "planton-serve".to_string());
    config.with_file_name(format!("{stem}.sessions.db"))
}

fn serve(args: &ServeArgs) -> Result<Outcome> {
    let config = ServeConfig::load(&args.config).with_context(|| {
        format!(
            "no usable server config; create the first admin with `planton serve user add NAME --role admin --password-stdin --config {}`",
            args.config.display()
        )
    })?;
    if config.users.is_empty() && config.anonymous == planton_serve::config::Anonymous::None {
        bail!(
            "{} has no users and anonymous access is off, so nobody could sign in: add one with `planton serve user add NAME --role admin --password-stdin`",
            args.config.display()
        );
    }
    let web_dir = match &args.web_dir {
        Some(d) if !d.join("index.html").is_file() => {
            bail!(
                "{} has no index.html: build the web app with `trunk build --release`",
                d.display()
            )
        }
        Some(d) => Some(d.clone()),
        None => Some(PathBuf::from("dist")).filter(|d| d.join("index.html").is_file()),
    };
    let sessions = args
        .sessions
        .clone()
        .unwrap_or_else(|| default_sessions(&args.config));
    let mut opts = planton_serve::Options::new(config);
    opts.web_dir = web_dir.clone();
    opts.sessions = Some(planton_serve::auth::Sessions::open(&sessions)?);
    // Live health: each service's planton.yaml names its clusters' contexts.
    opts.health = Some(Arc::new(super::health::ClusterHealth::new(
        args.store.kubeconfig.clone(),
        Some(args.store.service.clone()),
    )));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let store: Arc<dyn planton_pipeline::StateStore> = match args.store.store {
            super::pipeline::StoreKind::Sqlite => Arc::new(
                planton_pipeline::sqlite::SqliteStore::for_service(&args.store.service)?,
            ),
            super::pipeline::StoreKind::Kubernetes => {
                let client = super::pipeline::connect(&args.store).await?;
                Arc::new(planton_pipeline::kube_store::KubeStore::new(
                    client,
                    &args.store.store_namespace,
                ))
            }
        };
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "planton serve: {} on http://{addr}/ (pipelines: http://{addr}/#/pipelines; API: http://{addr}{}){}",
            store.describe(),
            planton_serve::OPENAPI_PATH,
            if web_dir.is_none() { "; no web app (pass --web-dir)" } else { "" }
        );
        let app = planton_serve::app(store, opts);
        planton_serve::serve(listener, app)
            .await
            .context("the server stopped")
    })?;
    Ok(Outcome::Success)
}
