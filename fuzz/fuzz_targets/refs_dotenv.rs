//! References (`$variables-group/…`, `$secrets-group/…`) and dot-env rendering: parsing a
//! reference, loading groups from arbitrary manifests and resolving against them, and
//! rendering `.env`/`.env_export` values, must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planton_core::dotenv::{dotenv_value, parse_set, python_interpolates, shell_quote};
use planton_core::kustomize::FileTree;
use planton_core::refs::{DirGroupSource, parse, resolve};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (reference, groups) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = parse_set(reference);
    let _ = dotenv_value(reference);
    let _ = shell_quote(reference);
    let _ = python_interpolates(reference);
    let mut tree = FileTree::new();
    tree.insert("groups/g.yaml", groups);
    let source = DirGroupSource::load(&tree, "groups");
    if let Some(Ok(r)) = parse(reference)
        && let Ok(source) = &source
    {
        let _ = resolve(&r, source);
    }
});
