//! Embeds the bundled example service (`examples/order-api`) at build time: only the files
//! the editor opens (`planton.yaml` and everything under `_kustomize/`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            walk(&path, &rel, out);
        } else {
            out.push((rel, path));
        }
    }
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let example = manifest.join("../examples/order-api");
    println!("cargo:rerun-if-changed={}", example.display());
    let mut files = Vec::new();
    walk(&example, "", &mut files);
    let mut code = String::from(
        "/// The bundled example's files: (path relative to the service root, text).\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for (rel, path) in files {
        if rel == "planton.yaml" || rel.starts_with("_kustomize/") {
            println!("cargo:rerun-if-changed={}", path.display());
            let _ = writeln!(
                code,
                "    ({rel:?}, include_str!({:?})),",
                path.canonicalize().unwrap_or(path).display().to_string()
            );
        }
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("example.rs");
    std::fs::write(out, code).expect("cannot write the embedded example");
}
