//! Helpers shared by the test modules.

use planton_core::kustomize::FileTree;
use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `../shared` next to the workspace (where CI and development machines keep it).
pub fn shared() -> PathBuf {
    std::env::var_os("PLANTON_SHARED").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

/// Reads every file under `dir` into a tree keyed by path relative to `dir`.
pub fn load_tree(dir: &Path) -> FileTree {
    let mut tree = FileTree::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").to_string_lossy().replace('\\', "/");
                tree.insert_bytes(&rel, &std::fs::read(&path).expect("read file"));
            }
        }
    }
    tree
}
