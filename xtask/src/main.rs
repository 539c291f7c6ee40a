//! `cargo xtask`: the project's build orchestration.
//!
//! - `cargo xtask ci`: everything CI checks (setup, formatting, the wasm32 build of core,
//!   the whole test suite with the test control plane up, the browser tests of the web editor). This is the README's test
//!   command; `.ci/run` calls it.
//! - `cargo xtask setup`: idempotent installs the tests need (rustup target, Python tools,
//!   the SARIF schema, trunk, wasm-bindgen-cli, npm packages, Chromium).
//! - `cargo xtask bench-kustomize`: planton vs `kubectl kustomize` on `../shared/bench`.
//!
//! Deliberately small: it shells out to cargo, rustup and the scripts in `scripts/`.

mod bench;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("cannot enter the workspace root")?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("setup") => setup(&root),
        Some("bench-kustomize") => bench::kustomize(&root, &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <ci | setup | bench-kustomize [--runs N]>");
            bail!("unknown or missing xtask command")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn setup(root: &Path) -> Result<()> {
    run(Command::new("bash").arg(root.join("scripts/setup.sh")))?;
    run(Command::new("bash").arg(root.join("scripts/setup-web.sh")))
}

fn ci(root: &Path) -> Result<()> {
    setup(root)?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    // core must stay pure and build for the browser.
    run(cargo().args([
        "build",
        "-p",
        "planton-core",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    // The cluster tests run against the test control plane (scripts/testenv.sh), started
    // before the tests and stopped after them, also when they fail. With KUBECONFIG set they
    // run against that cluster instead, and no testenv is started.
    let testenv = std::env::var_os("KUBECONFIG").is_none_or(|k| k.is_empty());
    let testenv_sh = root.join("scripts/testenv.sh");
    if testenv {
        run(Command::new("bash").arg(&testenv_sh).arg("up"))?;
    }
    // The web crate builds only for wasm32; its tests run in a real browser below.
    let tests = run(cargo().args([
        "test",
        "--workspace",
        "--locked",
        "--exclude",
        "planton-web",
    ]));
    if testenv {
        let down = run(Command::new("bash").arg(&testenv_sh).arg("down"));
        tests?;
        down?;
    } else {
        tests?;
    }
    run(Command::new("bash")
        .arg(root.join("scripts/test-web.sh"))
        .env("PLANTON_WEB_SKIP_SETUP", "1"))?;
    Ok(())
}

#[cfg(test)]
mod tidy {
    //! Tidy checks: rules the compiler cannot enforce.

    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir)
            .expect("readable source dir")
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// core does no IO and reads no clock or environment (the wasm32 build alone would not
    /// catch `std::fs`, which compiles on that target).
    #[test]
    fn core_has_no_io() {
        let root = super::workspace_root().join("core/src");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        assert!(!files.is_empty());
        let banned = [
            "std::fs",
            "std::env",
            "std::process",
            "std::net",
            "SystemTime",
            "Instant",
            "std::thread",
        ];
        let mut hits = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable");
            for b in banned {
                if text.contains(b) {
                    hits.push(format!("{}: mentions {b}", f.display()));
                }
            }
        }
        assert!(hits.is_empty(), "core must not do IO:\n{}", hits.join("\n"));
    }

    /// Every Rust module starts with a `//!` doc that says what it is.
    #[test]
    fn modules_have_docs() {
        let root = super::workspace_root();
        let mut files = Vec::new();
        for dir in ["core/src", "runner/src", "plugins", "tests", "xtask/src"] {
            let d = root.join(dir);
            if d.is_dir() {
                rust_files(&d, &mut files);
            }
        }
        let missing: Vec<String> = files
            .iter()
            .filter(|f| {
                !f.components()
                    .any(|c| c.as_os_str() == "target" || c.as_os_str() == "fixtures")
            })
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                !text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.starts_with("//!"))
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "modules without a //! doc:\n{}",
            missing.join("\n")
        );
    }
}
