//! `cargo xtask`: the project's build orchestration.
//!
//! - `cargo xtask ci`: everything CI checks (setup, formatting, the wasm32 build of core,
//!   the demo, the whole test suite with the test control plane up, the web crate's unit
//!   tests, the browser tests of the web editor, a one-minute fuzz run per cargo-fuzz target).
//!   This is the README's test command; `.ci/run` calls it.
//! - `cargo xtask setup`: idempotent installs the tests need (rustup target, Python tools,
//!   the SARIF schema, trunk, wasm-bindgen-cli, npm packages, Chromium).
//! - `cargo xtask bench-kustomize`: planton vs `kubectl kustomize` on `../shared/bench`.
//! - `cargo xtask demo`: the README's main job, the whole pipeline of the example service on
//!   the embedded defaults (a fresh copy, the SQLite state store, a dry run: no cluster).
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
        Some("demo") => demo(&root),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprintln!("{USAGE}");
            bail!("unknown xtask command `{other}`")
        }
        None => {
            eprintln!("{USAGE}");
            bail!("missing xtask command")
        }
    }
}

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                run everything CI checks (the README's test command; .ci/run calls it)
  setup             install what the tests need (idempotent; quick when already done)
  demo              the README's main job: the example service's whole pipeline, no cloud
  bench-kustomize   planton build vs kubectl kustomize on ../shared/bench/kustomize
      --runs N        kubectl samples per workload, default 5 (planton gets 5 per kubectl sample)
      --only NAME     one workload (deep, many-overlays, seed-sized, wide)
      --planton PATH  the planton binary to time (default: a fresh release build)
      --no-all        skip the many-overlays `--all` comparison";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs a command, echoing it and how long it took (so CI's log shows where the time goes).
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let start = std::time::Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    eprintln!("  ({:.1} s)", start.elapsed().as_secs_f64());
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// The main job: validate, plan and run the example's pipeline as a dry run; staging goes
/// through, prod stops at its manual gate (exit status 3), is approved, and the run is resumed
/// to the end. Works on a copy under `target/demo/`, so every run starts from run 1 and the
/// example folder gets no `.planton/` state.
fn demo(root: &Path) -> Result<()> {
    run(cargo().args([
        "build",
        "--quiet",
        "-p",
        "planton-runner",
        "--bin",
        "planton",
    ]))?;
    demo_with(root, &planton_bin(root))
}

/// The dev-profile `planton` binary cargo just built (it honours `CARGO_TARGET_DIR`).
fn planton_bin(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|t| !t.is_empty())
        .map(|t| root.join(t))
        .unwrap_or_else(|| root.join("target"));
    target.join("debug/planton")
}

/// The demo with a `planton` binary the caller has just built.
fn demo_with(root: &Path, bin: &Path) -> Result<()> {
    let dir = root.join("target/demo/order-api");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    copy_dir(&root.join("examples/order-api"), &dir)?;
    let step = |title: &str, args: &[&str], expect: i32| -> Result<()> {
        eprintln!("\n== {title}\n$ planton {}", args.join(" "));
        let status = Command::new(bin)
            .args(args)
            .current_dir(&dir)
            .status()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        match status.code() {
            Some(c) if c == expect => Ok(()),
            _ => bail!(
                "`planton {}` ended with {status}, expected exit status {expect}",
                args.join(" ")
            ),
        }
    };
    let image = "ghcr.io/acme-shop/order-api:3f2c1d0";
    step(
        "validate every overlay with the sandboxed plugins",
        &["validate", "."],
        0,
    )?;
    step(
        "plan one task per overlay, in promotion order",
        &["plan", "."],
        0,
    )?;
    step(
        "run the pipeline (dry run): staging goes through, prod waits at its gate (exit status 3)",
        &["pipeline", "run", ".", "--image", image, "--dry-run"],
        3,
    )?;
    step(
        "approve prod (pinned to the manifest digest and image shown above)",
        &[
            "approve",
            "1",
            "prod",
            "--as",
            "alice",
            "--comment",
            "staging looks good",
        ],
        0,
    )?;
    step(
        "resume the run: prod goes through",
        &["pipeline", "resume", "1"],
        0,
    )?;
    step(
        "the run, its tasks and the decision",
        &["pipeline", "status", "1"],
        0,
    )?;
    step("history", &["runs"], 0)?;
    step("a stack job's log", &["logs", "1", "prod"], 0)?;
    eprintln!(
        "\nThe state is in {}; the same commands without --dry-run deploy to the current kube context.",
        dir.join(".planton/state.db").display()
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            if entry.file_name() != ".planton" {
                copy_dir(&src, &dst)?;
            }
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    Ok(())
}

/// Where tools fetched once per machine are kept, outside the checkout (as scripts/setup.sh
/// and the testenv do): `$XDG_CACHE_HOME/planton`, else `~/.cache/planton`, else `target/`.
fn machine_cache(root: &Path) -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .map(|d| d.join("planton"))
        .unwrap_or_else(|| root.join("target"))
}

fn setup(root: &Path) -> Result<()> {
    run(Command::new("bash").arg(root.join("scripts/setup.sh")))?;
    run(Command::new("bash").arg(root.join("scripts/setup-web.sh")))
}

fn ci(root: &Path) -> Result<()> {
    setup(root)?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    // Generated files are up to date: the merge-key table, from the pinned Kubernetes schema
    // (kubernetes-validate 1.24.1, the last release shipping the v1.21 schema kustomize embeds).
    // Installed once per machine (109 MB; a fresh clone reuses it), into a temporary folder
    // renamed when complete, so an interrupted install is never taken for a finished one.
    let py = machine_cache(root).join("merge-keys-py/kubernetes-validate-1.24.1");
    if !py.join("kubernetes_validate").is_dir() {
        let tmp = py.with_file_name(format!(
            "kubernetes-validate-1.24.1.tmp{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        run(Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&tmp)
            .arg("kubernetes-validate==1.24.1"))?;
        let _ = std::fs::remove_dir_all(&py);
        std::fs::rename(&tmp, &py).with_context(|| format!("cannot rename {}", tmp.display()))?;
    }
    run(Command::new("python3")
        .arg(root.join("scripts/gen-merge-keys.py"))
        .arg("--check")
        .env("PYTHONPATH", &py))?;
    // Clippy with warnings as errors, natively and for the browser crate.
    run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "planton-web",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "-p",
        "planton-web",
        "--target",
        "wasm32-unknown-unknown",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // core must stay pure and build for the browser.
    run(cargo().args([
        "build",
        "-p",
        "planton-core",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    // One build of every test and the `planton` binary, with the features the test build
    // resolves (dev-dependencies on): the tests, the demo and the browser suite share one set
    // of dependency artifacts, and `cargo test` below finds everything built. (A narrower
    // `cargo build -p planton-runner` resolves other features and rebuilds rustls, kube and
    // every workspace crate.)
    run(cargo().args([
        "build",
        "--workspace",
        "--exclude",
        "planton-web",
        "--locked",
        "--bins",
        "--tests",
    ]))?;
    let bin = planton_bin(root);
    // The README's main job, before the long tests: it needs no cluster.
    demo_with(root, &bin)?;
    // The web crate's pure view helpers (line diff, highlighter, zip writer) touch no browser
    // API: their unit tests run natively. The rest of the crate is clippy-checked for wasm32
    // above and exercised in the browser suite below.
    run(cargo().args(["test", "-p", "planton-web", "--lib", "--locked"]))?;
    // The cluster tests run against the test control plane (scripts/testenv.sh), started
    // before the tests and stopped after them, also when they fail. With KUBECONFIG set they
    // run against that cluster instead, and no testenv is started.
    let testenv = std::env::var_os("KUBECONFIG").is_none_or(|k| k.is_empty());
    let testenv_sh = root.join("scripts/testenv.sh");
    if testenv {
        run(Command::new("bash").arg(&testenv_sh).arg("up"))?;
    }
    // The web crate runs in a browser: its unit tests ran natively above, the app runs in
    // Chromium below.
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
        .env("PLANTON_WEB_SKIP_SETUP", "1")
        .env("PLANTON_BIN", &bin))?;
    // A bounded load test of `planton serve` (the same binary): viewers follow one run's
    // events while a dry-run pipeline is approved; prints req/s and p99, fails only on errors
    // or lost events.
    run(Command::new("node")
        .arg(root.join("scripts/load-serve.mjs"))
        .env("PLANTON_BIN", &bin)
        .env("VIEWERS", "100")
        .env("WORKERS", "16")
        .env("LOAD_SECONDS", "5"))?;
    // A short fuzz run of every cargo-fuzz target from the fixed seed corpus (the longer
    // local run is documented in scripts/fuzz.sh).
    run(Command::new("bash")
        .arg(root.join("scripts/fuzz.sh"))
        .env("FUZZ_SECONDS", "60"))?;
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
        for dir in [
            "core/src",
            "runner",
            "plugins",
            "tests",
            "xtask/src",
            "fuzz/fuzz_targets",
        ] {
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
