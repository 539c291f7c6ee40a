//! Walks `../shared/conformance/kustomize/<case>/` (the shared corpus) and
//! `tests/kustomize-cases/<case>/` (the project's own cases, recorded with
//! `scripts/record-kustomize-cases.py`) in sorted order: an `expected.yaml` case must build
//! byte-identically; an `expected-error.txt` case must be refused; where the project's own
//! case has `expected-warnings.txt`, the build's warnings must be exactly those lines.
//! Case names are never special-cased: unseen cases are checked the same way.

use crate::util::{load_tree, shared, workspace};
use planton_core::kustomize::build;
use std::path::Path;

#[test]
fn kustomize_conformance_corpus() {
    check_cases(&shared().join("conformance/kustomize"), false);
}

/// The project's own cases: behaviours found on real repositories (vars, configurations,
/// builtin transformer configs, symlinks, ...), each recorded from `kubectl kustomize`.
#[test]
fn kustomize_project_cases() {
    check_cases(&workspace().join("tests/kustomize-cases"), true);
}

fn check_cases(root: &Path, check_warnings: bool) {
    let mut cases: Vec<_> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("conformance corpus missing at {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("build-dir").is_file())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no conformance cases found under {}",
        root.display()
    );
    let mut failures = Vec::new();
    let (mut ok_builds, mut ok_refusals) = (0, 0);
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let build_dir = std::fs::read_to_string(case.join("build-dir"))
            .unwrap()
            .trim()
            .to_string();
        let tree = load_tree(&case.join("input"));
        let built = build(&tree, &build_dir);
        if check_warnings
            && let (Ok(b), Ok(want)) = (
                &built,
                std::fs::read_to_string(case.join("expected-warnings.txt")),
            )
        {
            let got: String = b.warnings.iter().map(|w| format!("{w}\n")).collect();
            if got != want {
                failures.push(format!("{name}: warnings differ\n{}", diff(&want, &got)));
                continue;
            }
        }
        let result = built.and_then(|b| b.to_yaml());
        if let Ok(expected) = std::fs::read_to_string(case.join("expected.yaml")) {
            match result {
                Ok(got) if got == expected => ok_builds += 1,
                Ok(got) => {
                    failures.push(format!("{name}: output differs\n{}", diff(&expected, &got)))
                }
                Err(e) => failures.push(format!("{name}: build failed: {e}")),
            }
        } else {
            match result {
                Err(e) if !e.to_string().is_empty() => ok_refusals += 1,
                Err(_) => failures.push(format!("{name}: refused with an empty message")),
                Ok(_) => failures.push(format!("{name}: built, but kustomize refuses it")),
            }
        }
    }
    eprintln!(
        "conformance: {ok_builds} identical builds, {ok_refusals} refusals, {} failures of {}",
        failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// A small line diff: the first differing lines with context.
fn diff(expected: &str, got: &str) -> String {
    let (e, g): (Vec<_>, Vec<_>) = (expected.lines().collect(), got.lines().collect());
    let first = e
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(e.len().min(g.len()));
    let from = first.saturating_sub(3);
    let mut out = String::new();
    for i in from..(first + 4) {
        if let Some(l) = e.get(i) {
            out.push_str(&format!("  want {:>4}: {l}\n", i + 1));
        }
        if let Some(l) = g.get(i) {
            out.push_str(&format!("  got  {:>4}: {l}\n", i + 1));
        }
    }
    out
}
