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

/// The `planton` binary under test: runner's `main.rs` built by cargo for this test build
/// (the `planton-under-test` bin target of this package, see tests/Cargo.toml), so it is
/// always the current sources, never a binary that happens to lie in `target/`.
pub fn planton() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_planton-under-test"))
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

/// Copies the tree `from` into `to`, leaving out a service's `.planton/` state (so a copy of
/// an example starts with no runs).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        if e.file_name() == ".planton" {
            continue;
        }
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

/// A process's output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the exit status of a run, showing its stdout and stderr when it is another.
pub fn expect_code(o: &Output, code: i32, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}: stdout:\n{}\nstderr:\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// A run's stdout as JSON, showing stdout and stderr when it is not.
pub fn json_out(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            text(&o.stdout),
            text(&o.stderr)
        )
    })
}
