//! Builds the built-in plugins (`plugins/kubernetes`, `plugins/aws-ecs`) for
//! `wasm32-unknown-unknown` so `src/builtin.rs` can embed them.
//!
//! Why a build script and not only `cargo xtask build`: the host's and runner's tests and a plain
//! `cargo build`/`cargo test` on a fresh checkout must get real built-ins, and the plugins
//! are small crates. The nested cargo uses its own target directory under `OUT_DIR` (no lock
//! contention with the outer build), strips the outer `CARGO_ENCODED_RUSTFLAGS`/`RUSTFLAGS`
//! (host flags must not leak into the guest build), and sets the plugins' release profile
//! through `CARGO_PROFILE_RELEASE_*` without touching the workspace profile: optimized for
//! speed (`opt-level = 3`), since a built-in runs on every render and its size only costs
//! compile time once per cache (measured on the seed render: `opt-level = "s"` made the warm
//! call about 20% slower for a module 25% smaller; the web keeps "s" for its download).
//!
//! `PLANTON_SKIP_PLUGIN_BUILD=1` switches it off: the built-ins are then empty and loading one
//! fails with a clear error (useful for a quick `cargo check` without the wasm target).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `(package, library file stem)` of each built-in.
const PLUGINS: &[(&str, &str)] = &[
    ("planton-plugin-k8s", "planton_plugin_k8s"),
    ("planton-plugin-ecs", "planton_plugin_ecs"),
];
const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .ancestors()
        .nth(2)
        .expect("the host lives in runner/host of the workspace")
        .to_path_buf();

    println!("cargo::rerun-if-env-changed=PLANTON_SKIP_PLUGIN_BUILD");
    println!("cargo::rerun-if-changed=build.rs");
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("plugins").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );

    if env::var("PLANTON_SKIP_PLUGIN_BUILD").is_ok_and(|v| !v.is_empty() && v != "0") {
        for (_, stem) in PLUGINS {
            write(&out_dir.join(format!("{stem}.wasm")), &[]);
        }
        return;
    }

    if !target_installed() && try_rustup_target_add() {
        println!(
            "cargo::warning=installed the {TARGET} target with rustup (the built-in plugins are compiled for it)"
        );
    }
    if !target_installed() {
        fail(&format!(
            "the {TARGET} target is not installed, and the built-in plugins are compiled for it.\n\
             Install it with:\n\n    rustup target add {TARGET}\n\n\
             (or set PLANTON_SKIP_PLUGIN_BUILD=1 to build planton without its built-in plugins)"
        ));
    }

    let target_dir = out_dir.join("plugins-target");
    for (package, _) in PLUGINS {
        build_plugin(&workspace, &target_dir, package);
    }

    for (_, stem) in PLUGINS {
        let built = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{stem}.wasm"));
        let bytes = std::fs::read(&built)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", built.display())));
        write(&out_dir.join(format!("{stem}.wasm")), &bytes);
    }
}

/// Whether the standard library for [`TARGET`] is installed for the compiler cargo uses.
fn target_installed() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.is_dir())
}

/// On a fresh machine the target named in `rust-toolchain.toml` is missing when rustup's
/// auto-install is off (`RUSTUP_AUTO_INSTALL=0`): add it for the toolchain cargo runs under,
/// so the README's first command works in any order. Returns whether rustup succeeded.
fn try_rustup_target_add() -> bool {
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", TARGET]);
    if let Some(tc) = env::var_os("RUSTUP_TOOLCHAIN") {
        cmd.arg("--toolchain").arg(tc);
    }
    cmd.status().is_ok_and(|s| s.success())
}

/// Runs `cargo rustc --crate-type cdylib` for one plugin package (so the plugin's own
/// `crate-type` does not matter) with the plugins' release profile.
fn build_plugin(workspace: &Path, target_dir: &Path, package: &str) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("rustc")
        .arg("--release")
        .args(["--target", TARGET])
        .args(["--crate-type", "cdylib"])
        .args(["-p", package])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!(
            "building the built-in plugin {package} for {TARGET} failed ({status}); see the cargo output above"
        )),
        Err(e) => fail(&format!(
            "cannot run cargo to build the built-in plugin {package}: {e}"
        )),
    }
}

/// Writes `bytes` to `path` unless it already holds exactly them (keeps mtimes stable).
fn write(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    if let Err(e) = std::fs::write(path, bytes) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
