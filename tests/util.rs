//! Helpers shared by the test modules.

use planton_core::kustomize::FileTree;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared` next to the workspace (where CI and development machines keep it).
pub fn shared() -> PathBuf {
    std::env::var_os("PLANTON_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared"))
}

/// Reads every file under `dir` into a tree keyed by path relative to `dir`, following
/// symbolic links and recording them (so the build sees where they lead).
pub fn load_tree(dir: &Path) -> FileTree {
    let mut tree = FileTree::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_symlink() {
                let rel = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .replace('\\', "/");
                let target = std::fs::read_link(&path).expect("read link");
                tree.insert_link(&rel, &target.to_string_lossy().replace('\\', "/"));
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .replace('\\', "/");
                tree.insert_bytes(&rel, &std::fs::read(&path).expect("read file"));
            }
        }
    }
    tree
}

/// The `planton` binary, as cargo builds it from the current sources: `CARGO_BIN_EXE_planton`
/// when cargo provides it, else `cargo build --bin planton` in this test's target directory
/// and profile (a no-op when it is up to date), taking the path cargo reports. Never a
/// binary that happens to lie in `target/` from an older build.
pub fn planton() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = option_env!("CARGO_BIN_EXE_planton") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/..");
        let target_dir = profile_dir.parent().expect("target/<profile>");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "build",
                "-p",
                "planton-runner",
                "--bin",
                "planton",
                "--profile",
                profile,
            ])
            .args([
                "--message-format",
                "json-render-diagnostics",
                "--manifest-path",
            ])
            .arg(crate::util::workspace().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(out.status.success(), "building the planton binary failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "planton")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the planton executable")
    })
    .clone()
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("planton-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Writes files (path relative to `root`, content).
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write file");
    }
}

/// Runs planton with stdin closed (never a terminal).
pub fn run(args: &[&str]) -> Output {
    Command::new(planton())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run planton")
}
