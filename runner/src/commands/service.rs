//! `planton service`: `dot-env` (local `.env` files from an overlay) and
//! `kustomize init` (scaffolding `_kustomize/`).
//!
//! The choices live in `planton-core` ([`planton_core::dotenv`], [`planton_core::scaffold`]);
//! this module reads the repository, asks for missing values, and writes files atomically.
//! Invariant: no value of a variable or secret is ever printed; messages name keys, fields,
//! groups and entries only.

use super::Outcome;
use super::build::display_error;
use crate::cli::{DotEnvArgs, InitArgs, KustomizeCommand, PlatformArg, ServiceCommand};
use crate::files::DiskFiles;
use crate::output::write_atomic;
use anyhow::{Context, Result, bail};
use planton_core::diag::{Diagnostic, Severity, code};
use planton_core::dotenv::{self, Declared, Provenance};
use planton_core::kustomize::build;
use planton_core::refs::{DirGroupSource, Group, GroupSource, RefKind};
use planton_core::scaffold::{self, NewService, Platform, ScaffoldFile};
use planton_core::service::{CONFIG_FILE, DEFAULT_GROUPS_DIR, GroupsDir, Layout, ServiceConfig};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Runs a `planton service` subcommand.
pub fn run(cmd: &ServiceCommand) -> Result<Outcome> {
    match cmd {
        ServiceCommand::DotEnv(a) => dot_env(a),
        ServiceCommand::Kustomize(KustomizeCommand::Init(a)) => init(a),
    }
}

/// A group source for when no groups directory exists: every reference is a missing group.
struct NoGroups(String);

impl GroupSource for NoGroups {
    fn group(&self, _: RefKind, _: &str) -> Option<&Group> {
        None
    }
    fn describe(&self) -> String {
        self.0.clone()
    }
}

fn print_diagnostics(diags: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diags {
        let _ = writeln!(err, "{d}");
    }
}

/// Runs `planton service dot-env`.
pub fn dot_env(args: &DotEnvArgs) -> Result<Outcome> {
    let mut sets = Vec::new();
    for s in &args.set {
        sets.push(dotenv::parse_set(s).map_err(anyhow::Error::msg)?);
    }
    let files = DiskFiles::new();
    let root = DiskFiles::core_path(&args.dir)
        .with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    let (layout, _) = Layout::discover(&files, &root).map_err(crate::files::layout_error)?;
    if !layout.overlays.contains(&args.env) {
        bail!(
            "no overlay `{}` under {}/overlays (overlays: {})",
            args.env,
            args.dir.join("_kustomize").display(),
            if layout.overlays.is_empty() {
                "none".to_string()
            } else {
                layout.overlays.join(", ")
            }
        );
    }
    let (config, config_diags) = ServiceConfig::load(&files, &layout);
    let config_errors: Vec<Diagnostic> = config_diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    print_diagnostics(&config_diags);
    if !config_errors.is_empty() {
        return Ok(Outcome::Failed);
    }

    // The groups: decided in core, as for `planton validate`.
    let flag = match &args.groups {
        Some(g) => Some(
            DiskFiles::core_path(g).with_context(|| format!("cannot resolve {}", g.display()))?,
        ),
        None => None,
    };
    let shown = |d: &str| DiskFiles::local_path(d).display().to_string();
    let dir_source;
    let no_source;
    let groups: &dyn GroupSource = match config.groups_dir(&files, &layout, flag.as_deref()) {
        GroupsDir::Dir(d) => match DirGroupSource::load(&files, &d) {
            Ok(s) => {
                dir_source = s.shown_as(shown(&d));
                &dir_source
            }
            Err(errors) => {
                let diags: Vec<Diagnostic> = errors
                    .into_iter()
                    .map(|e| {
                        Diagnostic::error(code::GROUP_INVALID, e.message).at(
                            &layout.relative(&e.pos.file),
                            e.pos.line,
                            e.pos.col,
                        )
                    })
                    .collect();
                print_diagnostics(&diags);
                return Ok(Outcome::Failed);
            }
        },
        GroupsDir::Missing(d) => {
            no_source = NoGroups(format!(
                "groups directory `{}` (it does not exist)",
                shown(&d)
            ));
            &no_source
        }
        GroupsDir::None => {
            no_source = NoGroups(format!(
                "no groups directory (create {}, set groups.dir in {CONFIG_FILE}, or pass --groups DIR)",
                args.dir.join(DEFAULT_GROUPS_DIR).display()
            ));
            &no_source
        }
    };

    let overlay_dir = layout.overlay_dir(&args.env);
    let built = match build(&files, &overlay_dir) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: overlay {}: {}", args.env, display_error(&e));
            return Ok(Outcome::Failed);
        }
    };
    let (kind, doc) = match dotenv::service_manifest(built.resources.iter().map(|r| &r.node)) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("Error: overlay {}: {message}", args.env);
            return Ok(Outcome::Failed);
        }
    };
    let (declared, mut diags) = dotenv::declared(doc, kind, &args.env, &layout);
    // The base build tells base from overlay for values the build made up (no position).
    let base_declared: Option<Vec<Declared>> =
        build(&files, &format!("{}/base", layout.kustomize_dir))
            .ok()
            .and_then(|b| {
                dotenv::service_manifest(b.resources.iter().map(|r| &r.node))
                    .ok()
                    .map(|(k, d)| dotenv::declared(d, k, "base", &layout).0)
            });
    let provenance = Provenance {
        layout: &layout,
        overlay: &args.env,
        base: base_declared.as_deref(),
    };
    let (vars, choose_diags) = dotenv::choose(&declared, &provenance, groups, &sets);
    diags.extend(choose_diags);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        print_diagnostics(&diags);
        let n = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        eprintln!(
            "dot-env: {n} problem{} in overlay {}; nothing written",
            if n == 1 { "" } else { "s" },
            args.env
        );
        return Ok(Outcome::Failed);
    }
    print_diagnostics(&diags);
    let (vars, withheld) = dotenv::withhold_secrets(vars, &args.env, args.include_secrets);
    if !withheld.is_empty() {
        eprintln!(
            "note: left out {} secret value{} ({}): outside the `{}` overlay, secret values are written only with --include-secrets",
            withheld.len(),
            if withheld.len() == 1 { "" } else { "s" },
            withheld.join(", "),
            dotenv::LOCAL_OVERLAY
        );
    }

    let command = format!("planton service dot-env --env {}", args.env);
    let (env_text, caveats) = dotenv::render_dotenv(&vars, &command);
    let export_text = dotenv::render_export(&vars, &command);
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| DiskFiles::local_path(&layout.root));
    let env_path = out_dir.join(".env");
    let export_path = out_dir.join(".env_export");
    write_private(&env_path, env_text.as_bytes())?;
    write_private(&export_path, export_text.as_bytes())?;
    for (key, caveat) in &caveats {
        eprintln!("warning: .env: {key}: {caveat}");
    }
    let secrets = vars.iter().filter(|v| v.secret).count();
    println!(
        "wrote {} and {} ({} variable{}, {secrets} secret{})",
        env_path.display(),
        export_path.display(),
        vars.len(),
        if vars.len() == 1 { "" } else { "s" },
        if secrets == 1 { "" } else { "s" }
    );
    Ok(Outcome::Success)
}

/// Writes a file that may hold secrets: atomically, then readable by its owner only.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict permissions of {}", path.display()))?;
    }
    Ok(())
}

/// Asks one question on stderr and reads a line from stdin; an empty answer takes
/// `default`. Re-asks until `check` accepts the answer.
fn ask(
    question: &str,
    default: Option<&str>,
    check: &dyn Fn(&str) -> Result<String, String>,
) -> Result<String> {
    let stdin = std::io::stdin();
    loop {
        match default {
            Some(d) => eprint!("{question} [{d}]: "),
            None => eprint!("{question}: "),
        }
        std::io::stderr().flush().ok();
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read from stdin")?
            == 0
        {
            bail!("no answer to `{question}` (end of input)");
        }
        let answer = match line.trim() {
            "" => default.unwrap_or_default(),
            a => a,
        };
        match check(answer) {
            Ok(v) => return Ok(v),
            Err(e) => eprintln!("{e}"),
        }
    }
}

fn name_check(what: &'static str) -> impl Fn(&str) -> Result<String, String> {
    move |v: &str| scaffold::check_name(what, v).map(|()| v.to_string())
}

/// The values of `init --new`: flags, else answers when stdin is a terminal, else an error
/// listing every missing flag.
fn new_service_values(args: &InitArgs) -> Result<NewService> {
    let missing: Vec<&str> = [
        ("--platform", args.platform.is_none()),
        ("--env", args.env.is_none()),
        ("--name", args.name.is_none()),
        ("--org", args.org.is_none()),
    ]
    .into_iter()
    .filter(|(_, m)| *m)
    .map(|(f, _)| f)
    .collect();
    let interactive = std::io::stdin().is_terminal();
    if !missing.is_empty() && !interactive {
        bail!(
            "missing {}: stdin is not a terminal, so planton cannot ask; pass every value as a flag",
            missing.join(", ")
        );
    }
    let platform = match args.platform {
        Some(PlatformArg::Kubernetes) => Platform::Kubernetes,
        Some(PlatformArg::AwsEcs) => Platform::AwsEcs,
        Some(PlatformArg::KubernetesDeployment) => Platform::KubernetesDeployment,
        None => {
            eprintln!(
                "Deployment platform:\n  1) {}\n  2) {}\n  3) {}",
                Platform::Kubernetes,
                Platform::AwsEcs,
                Platform::KubernetesDeployment
            );
            let answer = ask(
                "Platform (1, 2, 3, kubernetes, aws-ecs or kubernetes-deployment)",
                Some("kubernetes"),
                &|v| {
                    Platform::parse(v)
                        .map(|p| p.flag_value().to_string())
                        .ok_or_else(|| {
                            format!("`{v}` is not a platform: answer 1, 2, 3, kubernetes, aws-ecs or kubernetes-deployment")
                        })
                },
            )?;
            Platform::parse(&answer).unwrap_or(Platform::Kubernetes)
        }
    };
    let env = match &args.env {
        Some(e) => e.clone(),
        None => ask(
            "Environment to configure (overlay directory and metadata.env)",
            Some("dev"),
            &name_check("environment"),
        )?,
    };
    let dir_name = std::path::absolute(&args.dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .filter(|n| scaffold::check_name("name", n).is_ok());
    let name = match &args.name {
        Some(n) => n.clone(),
        None => ask(
            "Service name (metadata.name)",
            dir_name.as_deref(),
            &name_check("name"),
        )?,
    };
    let org = match &args.org {
        Some(o) => o.clone(),
        None => ask(
            "Organization (metadata.org)",
            None,
            &name_check("organization"),
        )?,
    };
    scaffold::check_name("environment", &env).map_err(anyhow::Error::msg)?;
    scaffold::check_name("name", &name).map_err(anyhow::Error::msg)?;
    scaffold::check_name("organization", &org).map_err(anyhow::Error::msg)?;
    Ok(NewService {
        platform,
        env,
        name,
        org,
    })
}

/// Runs `planton service kustomize init`.
pub fn init(args: &InitArgs) -> Result<Outcome> {
    let mut planned: Vec<ScaffoldFile> = match &args.from {
        Some(from) => {
            let text = std::fs::read_to_string(from)
                .with_context(|| format!("cannot read {}", from.display()))?;
            if let Some(e) = &args.env {
                scaffold::check_name("environment", e).map_err(anyhow::Error::msg)?;
            }
            match scaffold::from_manifest(&text, &from.display().to_string(), args.env.as_deref()) {
                Ok(files) => files,
                Err(e) => {
                    eprintln!("Error: {e}");
                    return Ok(Outcome::Failed);
                }
            }
        }
        None => match (&args.kind, &args.id) {
            (Some(kind), Some(id)) => {
                match super::deploy::init_from_cluster(
                    kind,
                    id,
                    args.kubeconfig.clone(),
                    args.context.clone(),
                )? {
                    Ok(files) => files,
                    Err(o) => return Ok(o),
                }
            }
            _ => scaffold::new_service(&new_service_values(args)?),
        },
    };
    // planton.yaml holds the user's pipeline settings: written only when absent.
    let config_path = args.dir.join(CONFIG_FILE);
    let kept_config = config_path.exists() && planned.iter().any(|(p, _)| p == CONFIG_FILE);
    if kept_config {
        planned.retain(|(p, _)| p != CONFIG_FILE);
    }
    let targets: Vec<(PathBuf, &str)> = planned
        .iter()
        .map(|(p, c)| (args.dir.join(p), c.as_str()))
        .collect();
    let existing: Vec<&PathBuf> = targets
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !args.force {
        eprintln!(
            "Error: these files exist; nothing was written (pass --force to overwrite them):"
        );
        for p in &existing {
            eprintln!("  {}", p.display());
        }
        return Ok(Outcome::Failed);
    }
    let mut out = std::io::stdout().lock();
    for (path, content) in &targets {
        write_atomic(path, content.as_bytes())?;
        let verb = if existing.contains(&path) {
            "overwrote"
        } else {
            "created"
        };
        writeln!(out, "{verb} {}", path.display()).context("cannot write to stdout")?;
    }
    if kept_config {
        writeln!(out, "kept {} (it exists)", config_path.display())
            .context("cannot write to stdout")?;
    }
    writeln!(
        out,
        "next: planton build {} && planton validate {}",
        args.dir.join("_kustomize/overlays/<env>").display(),
        args.dir.display()
    )
    .context("cannot write to stdout")?;
    Ok(Outcome::Success)
}
