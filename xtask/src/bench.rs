//! `cargo xtask bench-kustomize`: whole-process timings of `planton build` against
//! `kubectl kustomize` on every workload of `../shared/bench/kustomize/`, alternating runs,
//! reporting medians and ratios, plus peak memory (max RSS) of planton on each workload.
//!
//! This is a benchmark, not a test: it prints numbers and checks outputs for correctness,
//! it does not fail on speed.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// planton runs per kubectl run: a planton build costs milliseconds, a kubectl one a few
/// hundred, so more planton samples make its median steadier at little cost.
const PLANTON_PER_KUBECTL: usize = 5;

struct Sample {
    wall: Duration,
    max_rss_kb: i64,
    stdout: Vec<u8>,
    ok: bool,
}

/// Runs a command to completion, capturing stdout, wall time and the child's peak RSS.
fn measure(cmd: &mut Command) -> Result<Sample> {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout {
        use std::io::Read;
        out.read_to_end(&mut stdout)?;
    }
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes are a valid value.
    #[allow(unsafe_code)]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (we dropped the `Child` handle without
    // waiting); `status` and `usage` are valid, exclusively borrowed out-pointers.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc < 0 {
        bail!("wait4 failed for {cmd:?}");
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok(Sample {
        wall: start.elapsed(),
        max_rss_kb: usage.ru_maxrss,
        stdout,
        ok,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

/// The value after `flag` in `args`, if any.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.windows(2)
        .find(|w| w[0] == flag)
        .map(|w| w[1].as_str())
}

/// Entry point. Flags: `--runs N` (kubectl runs per workload, default 5; planton runs
/// [`PLANTON_PER_KUBECTL`] times as often, it is that much cheaper), `--only NAME` (one
/// workload), `--planton PATH` (time that binary instead of building `target/release/planton`,
/// e.g. a saved copy to compare two builds on the same machine state), `--no-all` (skip the
/// `build --all` against one kubectl call per overlay comparison, ~100 kubectl runs a round).
pub fn kustomize(root: &Path, args: &[String]) -> Result<()> {
    let runs: usize = flag(args, "--runs")
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let only = flag(args, "--only");
    let bench_root = root.join("../shared/bench/kustomize");
    if !bench_root.is_dir() {
        bail!("benchmark workloads not found at {}", bench_root.display());
    }
    let planton = match flag(args, "--planton") {
        Some(p) => std::path::absolute(p)?,
        None => {
            crate::run(super::cargo().args(["build", "--release", "-p", "planton-runner"]))?;
            root.join("target/release/planton")
        }
    };
    let kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !kubectl {
        println!("kubectl is not on PATH: only planton's own timings are shown (no ratios).");
    }
    let mut benches: Vec<PathBuf> = std::fs::read_dir(&bench_root)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("build-dir").is_file())
        .filter(|p| only.is_none_or(|o| p.file_name().is_some_and(|n| n == o)))
        .collect();
    benches.sort();
    println!(
        "{:<16} {:>12} {:>12} {:>8} {:>10}  output",
        "workload", "planton", "kubectl", "ratio", "peak RSS"
    );
    for b in &benches {
        let name = b
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let input = b.join("input");
        let build_dir = std::fs::read_to_string(b.join("build-dir"))?
            .trim()
            .to_string();
        let expected = std::fs::read(b.join("expected.yaml")).ok();
        let (mut p_times, mut k_times, mut rss, mut same) = (Vec::new(), Vec::new(), 0, true);
        let planton_build = || {
            measure(
                Command::new(&planton)
                    .arg("build")
                    .arg(&build_dir)
                    .current_dir(&input),
            )
        };
        // One untimed run of each first, so neither is timed with cold caches.
        planton_build()?;
        if kubectl {
            measure(
                Command::new("kubectl")
                    .arg("kustomize")
                    .arg(&build_dir)
                    .current_dir(&input),
            )?;
        }
        for _ in 0..runs {
            for _ in 0..PLANTON_PER_KUBECTL {
                let s = planton_build()?;
                same &= s.ok && expected.as_ref().is_none_or(|e| *e == s.stdout);
                rss = rss.max(s.max_rss_kb);
                p_times.push(s.wall);
            }
            if kubectl {
                let k = measure(
                    Command::new("kubectl")
                        .arg("kustomize")
                        .arg(&build_dir)
                        .current_dir(&input),
                )?;
                k_times.push(k.wall);
            }
        }
        let p = median(p_times);
        let (k, ratio) = if kubectl {
            let k = median(k_times);
            (fmt(k), format!("{:.0}x", k.as_secs_f64() / p.as_secs_f64()))
        } else {
            ("-".into(), "-".into())
        };
        println!(
            "{name:<16} {:>12} {k:>12} {ratio:>8} {:>7} MB  {}",
            fmt(p),
            rss / 1024,
            if same { "identical" } else { "DIFFERS" }
        );

        // Many overlays: one `planton build --all` against one kubectl call per overlay.
        let overlays = input.join("overlays");
        if overlays.is_dir() && !args.iter().any(|a| a == "--no-all") {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(&overlays)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            let rounds = runs.clamp(1, 3);
            let (mut p_all, mut k_all) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let s = measure(Command::new(&planton).args(["build", "--all"]).arg(&input))?;
                if !s.ok {
                    println!("  planton build --all failed");
                }
                p_all.push(s.wall);
                if kubectl {
                    let start = Instant::now();
                    for d in &dirs {
                        measure(Command::new("kubectl").arg("kustomize").arg(d))?;
                    }
                    k_all.push(start.elapsed());
                }
            }
            let p = median(p_all);
            if kubectl {
                let k = median(k_all);
                println!(
                    "{:<16} {:>12} {:>12} {:>7.0}x  ({} overlays: one planton --all call vs one kubectl call each)",
                    format!("{name}/--all"),
                    fmt(p),
                    fmt(k),
                    k.as_secs_f64() / p.as_secs_f64(),
                    dirs.len()
                );
            } else {
                println!(
                    "{:<16} {:>12}  ({} overlays in one call)",
                    format!("{name}/--all"),
                    fmt(p),
                    dirs.len()
                );
            }
        }
    }
    Ok(())
}
