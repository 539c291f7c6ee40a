//! `planton build`: kustomize-exact builds of one overlay or of every overlay.

use super::Outcome;
use crate::cli::BuildArgs;
use crate::files::DiskFiles;
use crate::output::write_atomic;
use anyhow::{Context, Result, bail};
use planton_core::kustomize::{Files, build};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `planton build`.
pub fn run(args: &BuildArgs) -> Result<Outcome> {
    if args.all {
        return run_all(args);
    }
    let files = DiskFiles::new();
    let dir = DiskFiles::core_path(&args.dir)
        .with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    match build(&files, &dir).and_then(|b| b.to_yaml().map(|y| (b, y))) {
        Ok((b, yaml)) => {
            for w in &b.warnings {
                eprintln!("{w}");
            }
            let mut out = std::io::stdout().lock();
            out.write_all(yaml.as_bytes())
                .context("cannot write to stdout")?;
            // The process ends right after this: freeing a large tree node by node would
            // only cost time (as rustc does, leave it to the OS).
            std::mem::forget(b);
            std::mem::forget(files);
            Ok(Outcome::Success)
        }
        Err(e) => {
            eprintln!("Error: {}", display_error(&e));
            Ok(Outcome::Failed)
        }
    }
}

/// A build error with its paths shown as [`DiskFiles::shown`] shows them (relative to the
/// working directory when inside it).
pub fn display_error(e: &planton_core::kustomize::BuildError) -> String {
    let cwd = std::env::current_dir()
        .and_then(|c| DiskFiles::core_path(&c))
        .ok();
    let show = |p: &str| DiskFiles::shown(cwd.as_deref(), p);
    e.display_with(&show).to_string()
}

/// Where the overlays of a service live, given the service root, `_kustomize/`, or
/// `overlays/` itself.
pub fn overlays_dir(files: &DiskFiles, dir: &Path) -> Result<(String, PathBuf)> {
    let base =
        DiskFiles::core_path(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    for candidate in [
        format!("{base}/_kustomize/overlays"),
        format!("{base}/overlays"),
        base.clone(),
    ] {
        if files.is_dir(&candidate)
            && files.list_dir(&candidate).iter().any(|d| {
                files.is_dir(&format!("{candidate}/{d}"))
                    && has_kustomization(files, &format!("{candidate}/{d}"))
            })
        {
            let local = DiskFiles::local_path(&candidate);
            return Ok((candidate, local));
        }
    }
    bail!(
        "no overlays found under {}: expected _kustomize/overlays/<env>/kustomization.yaml",
        dir.display()
    )
}

fn has_kustomization(files: &DiskFiles, dir: &str) -> bool {
    planton_core::kustomize::kustomization::FILE_NAMES
        .iter()
        .any(|n| files.is_file(&format!("{dir}/{n}")))
}

fn run_all(args: &BuildArgs) -> Result<Outcome> {
    let files = DiskFiles::new();
    let (overlays, _) = overlays_dir(&files, &args.dir)?;
    let names: Vec<String> = files
        .list_dir(&overlays)
        .into_iter()
        .filter(|d| has_kustomization(&files, &format!("{overlays}/{d}")))
        .collect();
    let mut failed = false;
    let mut stream = String::new();
    for (i, name) in names.iter().enumerate() {
        match build(&files, &format!("{overlays}/{name}")).and_then(|b| b.to_yaml().map(|y| (b, y)))
        {
            Ok((b, yaml)) => {
                for w in &b.warnings {
                    eprintln!("{name}: {w}");
                }
                match &args.out_dir {
                    Some(out) => write_atomic(&out.join(format!("{name}.yaml")), yaml.as_bytes())?,
                    None => {
                        if i > 0 {
                            stream.push_str("---\n");
                        }
                        stream.push_str(&format!("# Overlay: {name}\n"));
                        stream.push_str(&yaml);
                    }
                }
            }
            Err(e) => {
                eprintln!("Error: overlay {name}: {}", display_error(&e));
                failed = true;
            }
        }
    }
    if args.out_dir.is_none() {
        std::io::stdout()
            .lock()
            .write_all(stream.as_bytes())
            .context("cannot write to stdout")?;
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}
