//! `kustomize::build` over a small file tree: the input is the build directory on the first
//! line, then `path NUL content NUL` records (the seed corpus encodes the conformance cases
//! that way, see `fuzz/seed.sh`). A build may fail; it must not panic, overflow the stack or
//! run out of memory, and what it builds must print.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planton_core::kustomize::{FileTree, build};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (dir, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let mut tree = FileTree::new();
    let mut fields = rest.split('\0');
    while let (Some(path), Some(content)) = (fields.next(), fields.next()) {
        tree.insert(path, content);
    }
    if let Ok(b) = build(&tree, dir) {
        let _ = b.to_yaml();
    }
});
