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

/// The `planton` binary cargo built next to this test binary (`target/<profile>/planton`).
/// If it is missing (only this package was built), it is built into a separate target dir.
pub fn planton() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/..");
        let bin = profile_dir.join(format!("planton{}", std::env::consts::EXE_SUFFIX));
        if bin.is_file() {
            return bin;
        }
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("planton-bin");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-p",
                "planton-runner",
                "--bin",
                "planton",
                "--manifest-path",
            ])
            .arg(crate::util::workspace().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the planton binary failed");
        target_dir
            .join("debug")
            .join(format!("planton{}", std::env::consts::EXE_SUFFIX))
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
