//! Command-line arguments: plain data, validated by clap, nothing else.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// planton: build, validate, plan and deploy services described by `_kustomize/` overlays.
#[derive(Debug, Parser)]
#[command(name = "planton", version, about, long_about = None, propagate_version = true)]
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
