//! `planton render`: the desired state a target plugin computes for one overlay, and
//! `planton plugin list|inspect`.

use super::Outcome;
use crate::cli::{PluginArgs, PluginCommand, RenderArgs, RenderFormat};
use crate::files::DiskFiles;
use crate::plugins::{Backend, Plugins};
use crate::wasm;
use anyhow::{Context, Result, bail};
use planton_core::kustomize::build;
use planton_core::plugins::RenderError;
use planton_core::service::{Layout, ServiceConfig};
use planton_core::validate::out_from_json;
use planton_core::yaml::emit_documents;
use planton_plugin_sdk::DeployContext;
use std::path::Path;

/// Runs `planton render`.
pub fn run(args: &RenderArgs) -> Result<Outcome> {
    let files = DiskFiles::new();
    let path = DiskFiles::core_path(&args.overlay)
        .with_context(|| format!("cannot resolve {}", args.overlay.display()))?;
    let (layout, only) = Layout::discover(&files, &path).map_err(crate::files::layout_error)?;
    let Some(overlay) = only else {
        bail!(
            "give one overlay directory, e.g. {}/_kustomize/overlays/prod",
            args.overlay.display()
        );
    };
    let (config, _) = ServiceConfig::load(&files, &layout);
    let b = match build(&files, &layout.overlay_dir(&overlay)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: {}", super::build::display_error(&e));
            return Ok(Outcome::Failed);
        }
    };
    let plugins = Plugins::sandboxed(&config.plugins, &DiskFiles::local_path(&layout.root))?;
    for e in &plugins.load_errors {
        eprintln!("warning: {e}");
    }
    let context = DeployContext {
        image: args.image.clone(),
        namespace: args.namespace.clone(),
        env: None,
    };
    // Kubernetes objects, or typed AWS operations (each with its `op` tag).
    let objects = match plugins.targets().render(&b, &context) {
        Ok(output) => output.into_items(),
        Err(e @ RenderError::NoPlugin { .. }) => {
            bail!("{e} (see `planton plugin list`)")
        }
        Err(RenderError::Manifest { pos, message }) => {
            eprintln!("Error: {}: {message}", crate::files::shown_pos(&pos));
            return Ok(Outcome::Failed);
        }
        Err(e) => {
            eprintln!("Error: {e} (overlay {overlay})");
            return Ok(Outcome::Failed);
        }
    };
    let text = match args.output {
        RenderFormat::Json => serde_json::to_string_pretty(&objects)? + "\n",
        RenderFormat::Yaml => {
            emit_documents(&objects.iter().map(out_from_json).collect::<Vec<_>>())
        }
    };
    print!("{text}");
    Ok(Outcome::Success)
}

fn describe_line(b: &dyn Backend) -> String {
    let d = b.describe();
    let kinds: Vec<String> = d
        .kinds
        .iter()
        .map(|k| format!("{}/{}", k.api_version, k.kind))
        .collect();
    format!(
        "{:<12} {:<8} {:<8} {:<60} {}",
        d.name,
        d.version,
        d.contract_version,
        kinds.join(", "),
        b.origin()
    )
}

/// Runs `planton plugin ...`.
pub fn plugin(args: &PluginArgs) -> Result<Outcome> {
    match &args.command {
        PluginCommand::List { dir } => {
            let (pins, root) = service_pins(dir.as_deref())?;
            let plugins = Plugins::sandboxed(&pins, &root)?;
            println!(
                "{:<12} {:<8} {:<12} {:<60} ORIGIN",
                "NAME", "VERSION", "CONTRACT", "KINDS"
            );
            for b in plugins.all() {
                println!("{}", describe_line(b.as_ref()));
            }
            for e in &plugins.load_errors {
                eprintln!("error: {e}");
            }
            Ok(if plugins.load_errors.is_empty() {
                Outcome::Success
            } else {
                Outcome::Failed
            })
        }
        PluginCommand::Inspect { plugin } => {
            let as_path = Path::new(plugin);
            let host = wasm::Host::new(wasm::HostConfig::default())?;
            let loaded = if as_path.is_file() {
                let bytes = std::fs::read(as_path)
                    .with_context(|| format!("cannot read {}", as_path.display()))?;
                host.compile(wasm::PluginSource::Bytes {
                    label: as_path.display().to_string(),
                    bytes,
                })?
            } else if wasm::builtin_names().contains(&plugin.as_str()) {
                host.compile(wasm::PluginSource::Builtin(plugin.clone()))?
            } else {
                bail!(
                    "`{plugin}` is neither a .wasm file nor a built-in plugin ({})",
                    wasm::builtin_names().join(", ")
                );
            };
            let d = loaded.describe();
            println!("name:             {}", d.name);
            println!("version:          {}", d.version);
            println!(
                "contract version: {} (this host supports {:?})",
                d.contract_version,
                wasm::SUPPORTED_CONTRACT_VERSIONS
            );
            println!("sha256:           {}", loaded.sha256());
            println!("source:           {}", loaded.source());
            println!("limits:           {:?}", loaded.limits());
            for k in &d.kinds {
                println!("kind:             {}/{}", k.api_version, k.kind);
            }
            println!(
                "pin it in planton.yaml:\n  plugins:\n    - path: <path to the .wasm>\n      sha256: {}",
                loaded.sha256()
            );
            Ok(Outcome::Success)
        }
    }
}

fn service_pins(
    dir: Option<&Path>,
) -> Result<(Vec<planton_core::service::PluginPin>, std::path::PathBuf)> {
    let Some(dir) = dir else {
        return Ok((Vec::new(), ".".into()));
    };
    let files = DiskFiles::new();
    let path = DiskFiles::core_path(dir)?;
    let (layout, _) = Layout::discover(&files, &path).map_err(crate::files::layout_error)?;
    let (config, _) = ServiceConfig::load(&files, &layout);
    Ok((config.plugins, DiskFiles::local_path(&layout.root)))
}
