//! `planton validate` and `planton plan`: build every overlay, check it, and plan.

use super::Outcome;
use crate::cli::{PlanArgs, PlanFormat, ValidateArgs, ValidateFormat};
use crate::files::DiskFiles;
use crate::plugins::Plugins;
use anyhow::{Context, Result};
use planton_core::check::check_service;
use planton_core::diag::{Diagnostic, Summary, code};
use planton_core::plan::plan;
use planton_core::service::{Layout, ServiceConfig};
use planton_core::validate::Report;
use std::io::Write;
use std::path::Path;

/// Everything a validate/plan run computed.
pub struct Run {
    /// The service layout.
    pub layout: Layout,
    /// The service config.
    pub config: ServiceConfig,
    /// Diagnostics from the config, groups, builds and kinds.
    pub diagnostics: Vec<Diagnostic>,
    /// The builds.
    pub report: Report,
}

/// Loads and validates the service at `dir` (service root, `_kustomize`, or one overlay).
pub fn run_validation(dir: &Path, groups_flag: Option<&Path>) -> Result<Run> {
    let files = DiskFiles::new();
    let path =
        DiskFiles::core_path(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let (layout, only) = Layout::discover(&files, &path).map_err(crate::files::layout_error)?;
    let (config, mut diagnostics) = ServiceConfig::load(&files, &layout);
    let groups_dir = match groups_flag {
        Some(g) => Some(DiskFiles::core_path(g)?),
        None => None,
    };
    let root = DiskFiles::local_path(&layout.root);
    let plugins = Plugins::sandboxed(&config.plugins, &root)?;
    for e in &plugins.load_errors {
        diagnostics.push(Diagnostic::error(code::PLUGIN_LOAD_FAILED, e.clone()).at(
            planton_core::service::CONFIG_FILE,
            0,
            0,
        ));
    }
    let check = check_service(
        &files,
        &layout,
        only.as_deref(),
        &config,
        &plugins,
        groups_dir.as_deref(),
    );
    diagnostics.extend(check.diagnostics);
    let report = check.report;
    Ok(Run {
        layout,
        config,
        diagnostics,
        report,
    })
}

/// Runs `planton validate`.
pub fn validate_cmd(args: &ValidateArgs) -> Result<Outcome> {
    let run = run_validation(&args.dir, args.groups.as_deref())?;
    let summary = Summary::of(&run.diagnostics);
    let text = match args.output {
        ValidateFormat::Text => render_text(&run.diagnostics, &summary),
        ValidateFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "diagnostics": run.diagnostics,
                "summary": summary,
            }))? + "\n"
        }
        ValidateFormat::Sarif => {
            serde_json::to_string_pretty(&crate::report::sarif(&run.diagnostics))? + "\n"
        }
        ValidateFormat::Junit => crate::report::junit(&run.diagnostics, &run.layout.overlays)?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if summary.errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

fn render_text(diags: &[Diagnostic], s: &Summary) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} error(s), {} warning(s)\n",
        s.errors, s.warnings
    ));
    out
}

/// Runs `planton plan`.
pub fn plan_cmd(args: &PlanArgs) -> Result<Outcome> {
    let run = run_validation(&args.dir, args.groups.as_deref())?;
    let filter: Option<Vec<String>> = args.environments.as_ref().map(|e| {
        e.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let (p, mut plan_diags) = plan(&run.report.overlays, &run.config, filter.as_deref());
    run.layout.relativize(&mut plan_diags);
    // Validation already includes the plan's problems for the configured environments.
    let mut diags: Vec<Diagnostic> = run
        .diagnostics
        .iter()
        .filter(|d| !d.is_plan())
        .cloned()
        .collect();
    diags.extend(
        plan_diags
            .into_iter()
            .filter(|d| d.code != code::PLAN_BUILD),
    );
    let summary = Summary::of(&diags);
    let mut stdout = std::io::stdout().lock();
    match args.output {
        PlanFormat::Json => {
            stdout.write_all((serde_json::to_string_pretty(&p)? + "\n").as_bytes())?;
        }
        PlanFormat::Text => {
            let mut out = String::new();
            if p.tasks.is_empty() {
                out.push_str("No deployment tasks.\n");
            }
            for (i, t) in p.tasks.iter().enumerate() {
                out.push_str(&format!(
                    "{}. {} -> env {} ({} {}){}\n   manifest {}\n",
                    i + 1,
                    t.name,
                    t.env,
                    t.kind,
                    t.resource_name,
                    if t.requires_manual_gate {
                        "  [manual gate]"
                    } else {
                        ""
                    },
                    t.manifest_digest
                ));
            }
            for s in &p.skipped {
                out.push_str(&format!("skipped {}: {}\n", s.name, s.reason));
            }
            stdout.write_all(out.as_bytes())?;
        }
    }
    for d in diags.iter() {
        eprintln!("{d}");
    }
    Ok(if summary.errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}
