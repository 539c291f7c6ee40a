//! No input makes the build panic: arbitrary bytes as YAML and as kustomization trees, and
//! corpus trees with random byte-level mutations. A build may fail; it must not crash.

use crate::util::{load_tree, shared};
use planton_core::kustomize::{FileTree, build};
use planton_core::yaml::parse_stream;
use proptest::prelude::*;

fn corpus_trees() -> Vec<(FileTree, String)> {
    let root = shared().join("conformance/kustomize");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&root) else {
        return out;
    };
    let mut cases: Vec<_> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("build-dir").is_file())
        .collect();
    cases.sort();
    for c in cases {
        let dir = std::fs::read_to_string(c.join("build-dir"))
            .unwrap_or_default()
            .trim()
            .to_string();
        out.push((load_tree(&c.join("input")), dir));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_parser(s in any::<String>()) {
        let _ = parse_stream(&s, "fuzz.yaml");
    }

    #[test]
    fn yaml_like_text_never_panics_the_build(
        k in "(resources:|patches:|namePrefix:|- |  |path: |\\{|\\}|\\[|\\]|: |\n|[a-z./]{1,8}|&a|\\*a|<<|null|~|\"|')*",
        r in "(apiVersion: v1\n|kind: [A-Za-z]{1,6}\n|metadata:\n|  name: [a-z]{1,4}\n|- |  |: |\n|[a-z0-9]{1,6}|\\$patch: (delete|replace)|null)*",
    ) {
        let mut tree = FileTree::new();
        tree.insert("kustomization.yaml", k);
        tree.insert("a.yaml", r.clone());
        tree.insert("x/kustomization.yaml", "resources:\n- ../a.yaml\n");
        tree.insert("patch.yaml", r);
        if let Ok(b) = build(&tree, ".") {
            let _ = b.to_yaml();
        }
    }
}

/// Every corpus tree, with each file mutated a few ways (byte flips, truncation,
/// duplication of a line), must build or fail cleanly.
#[test]
fn mutated_corpus_files_never_panic() {
    let trees = corpus_trees();
    assert!(!trees.is_empty(), "conformance corpus not found");
    // A fixed-seed xorshift: the same mutations on every run, so a failure reproduces.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % (n as u64 + 1)) as usize
    };
    for (tree, dir) in &trees {
        let paths: Vec<String> = tree.paths().map(str::to_string).collect();
        for path in &paths {
            let original = tree.read(path).map(|t| t.to_string()).unwrap_or_default();
            for _ in 0..4 {
                let mut cut = next(original.len());
                while !original.is_char_boundary(cut) {
                    cut -= 1;
                }
                let mut variants = vec![
                    original.get(..cut).unwrap_or("").to_string(),
                    format!(
                        "{}\n{}",
                        original.get(..cut).unwrap_or(""),
                        original.get(cut..).unwrap_or("")
                    ),
                    format!(
                        "{}  - ]{}",
                        original.get(..cut).unwrap_or(""),
                        original.get(cut..).unwrap_or("")
                    ),
                ];
                let mut bytes = original.clone().into_bytes();
                if let Some(b) = bytes.get_mut(cut) {
                    *b ^= 0x20;
                }
                variants.push(String::from_utf8_lossy(&bytes).into_owned());
                for v in variants {
                    let mut t = tree.clone();
                    t.insert(path, v);
                    if let Ok(b) = build(&t, dir) {
                        let _ = b.to_yaml();
                    }
                }
            }
        }
    }
}

/// The five kinds of input that once brought core down (issue 9), each as a file tree and the
/// directory to build. Shared by the native tests below and the run in V8 (node).
mod shapes {
    /// A ConfigMap whose data keys are versions: v2's key order has cycles on them
    /// (`v9 < v11 < v1beta1 < v9`), which made Rust's sort panic.
    pub fn cyclic_keys(keys: &[String]) -> Vec<(String, String)> {
        let data: String = keys.iter().map(|k| format!("  \"{k}\": x\n")).collect();
        vec![
            (
                "kustomization.yaml".into(),
                "resources:\n- cm.yaml\n".into(),
            ),
            (
                "cm.yaml".into(),
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n{data}"),
            ),
        ]
    }

    /// The version-like keys of [`cyclic_keys`].
    pub fn version_keys() -> Vec<String> {
        let mut keys: Vec<String> = (1..=12).map(|i| format!("v{i}")).collect();
        for k in [
            "v1beta1", "v1alpha1", "v2beta2", "item9", "item11", "item1d", "item10", "v1b",
        ] {
            keys.push(k.into());
        }
        keys
    }

    /// `levels` Components, each listing the next under `components:`.
    pub fn component_chain(levels: usize) -> Vec<(String, String)> {
        let mut files = vec![
            (
                "kustomization.yaml".into(),
                "resources:\n- cm.yaml\ncomponents:\n- c0\n".into(),
            ),
            (
                "cm.yaml".into(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n".into(),
            ),
        ];
        let mut dir = String::new();
        for i in 0..levels {
            dir.push_str(&format!("c{i}/"));
            let next = if i + 1 < levels {
                format!("components:\n- c{}\n", i + 1)
            } else {
                String::new()
            };
            files.push((
                format!("{dir}kustomization.yaml"),
                format!(
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: p-\n{next}"
                ),
            ));
        }
        files
    }

    /// A replacement with `create: true` into a fieldPath of `segments` segments.
    pub fn deep_create(segments: usize) -> Vec<(String, String)> {
        let path = vec!["a"; segments].join(".");
        vec![
            (
                "kustomization.yaml".into(),
                format!(
                    "resources:\n- cm.yaml\nreplacements:\n- source: {{kind: ConfigMap, name: c, fieldPath: data.x}}\n  targets:\n  - select: {{kind: ConfigMap}}\n    options: {{create: true}}\n    fieldPaths: ['spec.{path}']\n"
                ),
            ),
            (
                "cm.yaml".into(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  x: y\n".into(),
            ),
        ]
    }

    /// Anchors chained through aliases into a tree `chunks` × 100 levels deep: each anchor
    /// wraps an alias of the previous one in 100 literal levels (so that the aliasing stays
    /// within go-yaml's ratio and only the depth is at stake).
    pub fn alias_chain(chunks: usize) -> Vec<(String, String)> {
        let open = "[".repeat(100);
        let close = "]".repeat(100);
        let mut doc = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nx:\n  c0: &c0 {open}x{close}\n"
        );
        for i in 1..chunks {
            doc.push_str(&format!("  c{i}: &c{i} {open}*c{}{close}\n", i - 1));
        }
        vec![
            (
                "kustomization.yaml".into(),
                "resources:\n- cm.yaml\n".into(),
            ),
            ("cm.yaml".into(), doc),
        ]
    }

    /// "Billion laughs": nine levels of ten aliases each (10^9 nodes once expanded).
    pub fn billion_laughs() -> Vec<(String, String)> {
        let mut doc = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nx:\n  l0: &l0 [lol]\n",
        );
        for i in 1..10 {
            let p = format!("*l{}", i - 1);
            doc.push_str(&format!("  l{i}: &l{i} [{}]\n", vec![p; 10].join(", ")));
        }
        vec![
            (
                "kustomization.yaml".into(),
                "resources:\n- cm.yaml\n".into(),
            ),
            ("cm.yaml".into(), doc),
        ]
    }

    /// JSON 6902 `copy` operations that each double a value (`ops` of them).
    pub fn doubling_copies(ops: usize) -> Vec<(String, String)> {
        let mut patch = String::from("- {op: add, path: /data, value: {v: [x]}}\n");
        for i in 0..ops {
            patch.push_str(&format!(
                "- {{op: copy, from: /data/v, path: /data/w{i}}}\n- {{op: copy, from: /data/w{i}, path: /data/v/-}}\n"
            ));
        }
        vec![
            (
                "kustomization.yaml".into(),
                "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n  target: {kind: ConfigMap}\n"
                    .into(),
            ),
            (
                "cm.yaml".into(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n".into(),
            ),
            ("p.yaml".into(), patch),
        ]
    }

    /// Replacements that copy a resource's `spec` into itself, `times` times.
    pub fn self_copy_replacements(times: usize) -> Vec<(String, String)> {
        let rep = "- source: {kind: ConfigMap, name: c, fieldPath: spec}\n  targets:\n  - select: {kind: ConfigMap}\n    options: {create: true}\n    fieldPaths: [spec.a, spec.b]\n";
        vec![
            (
                "kustomization.yaml".into(),
                format!(
                    "resources:\n- cm.yaml\nreplacements:\n{}",
                    rep.repeat(times)
                ),
            ),
            (
                "cm.yaml".into(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nspec:\n  x: [1, 2, 3]\n"
                    .into(),
            ),
        ]
    }
}

fn tree_of(files: &[(String, String)]) -> FileTree {
    let mut tree = FileTree::new();
    for (path, content) in files {
        tree.insert(path, content.as_str());
    }
    tree
}

/// Builds and prints, as `planton build` does: the YAML, or the error's full text.
fn build_text(files: &[(String, String)]) -> Result<String, String> {
    build(&tree_of(files), ".")
        .and_then(|b| b.to_yaml())
        .map_err(|e| e.to_string())
}

fn data_keys(yaml: &str) -> Vec<String> {
    yaml.lines()
        .skip_while(|l| *l != "data:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            l.trim()
                .split(':')
                .next()
                .unwrap_or("")
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

/// Shape 1: keys on which v2's order has cycles build, and the order depends only on the
/// set of keys (kustomize prints them in a different order from run to run).
#[test]
fn cyclic_key_order_is_deterministic() {
    let keys = shapes::version_keys();
    let first = build_text(&shapes::cyclic_keys(&keys)).expect("builds");
    assert_eq!(data_keys(&first).len(), keys.len());
    let mut shuffled = keys.clone();
    for round in 0..20 {
        shuffled.rotate_left(round % 7 + 1);
        shuffled.swap(round % keys.len(), (round * 5 + 3) % keys.len());
        let again = build_text(&shapes::cyclic_keys(&shuffled)).expect("builds");
        assert_eq!(
            again, first,
            "order depends on the input order: {shuffled:?}"
        );
    }
}

/// Where v2's order is transitive on the keys, the order is the one kustomize prints
/// (recorded from `kubectl kustomize` v5.5.0, eight runs, always the same).
#[test]
fn transitive_key_order_matches_kustomize() {
    let input = [
        "item6",
        "item10",
        "item20",
        "item4",
        "item19",
        "item17",
        "item15",
        "item11",
        "item3",
        "item2",
        "007",
        "item12",
        "item25",
        "a",
        "item14",
        "item21",
        "a10",
        "07",
        "item13",
        "port-80",
        "item22",
        "10",
        "b2",
        "item23",
        "item7",
        "item8",
        "item18",
        "port-8080",
        "p.10",
        "a9",
        "B",
        "item1",
        "item5",
        "_x",
        "item24",
        "item9",
        "9",
        "p.1",
        "item16",
    ];
    let keys: Vec<String> = input.iter().map(|k| k.to_string()).collect();
    let got = data_keys(&build_text(&shapes::cyclic_keys(&keys)).expect("builds"));
    let mut want: Vec<String> = ["_x", "07", "007", "9", "10", "B", "a", "a9", "a10", "b2"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    want.extend((1..=25).map(|i| format!("item{i}")));
    want.extend(["p.1", "p.10", "port-80", "port-8080"].map(String::from));
    assert_eq!(got, want);
}

/// Shape 2: a chain of Components deeper than the nesting limit is refused; a shallow one builds.
#[test]
fn component_chains_are_bounded() {
    let err = build_text(&shapes::component_chain(300)).unwrap_err();
    assert!(
        err.contains("nested more than 100 levels deep"),
        "{}",
        &err[..err.len().min(400)]
    );
    let ok = build_text(&shapes::component_chain(50)).expect("50 levels build");
    assert!(
        ok.contains(&format!("name: {}c\n", "p-".repeat(50))),
        "{ok}"
    );
}

/// Shape 3: `create: true` into a very deep fieldPath is refused before anything is made.
#[test]
fn deep_created_field_paths_are_refused() {
    let err = build_text(&shapes::deep_create(100_000)).unwrap_err();
    assert!(
        err.contains("exceeded max depth of 512"),
        "{}",
        &err[..err.len().min(400)]
    );
    assert!(
        err.len() < 1000,
        "the error stays short: {} bytes",
        err.len()
    );
    assert!(err.starts_with("kustomization.yaml:4:3: "), "{err}");
    let ok = build_text(&shapes::deep_create(450)).expect("450 levels build");
    assert!(
        ok.contains(&format!("\n{}a: \"y\"\n", " ".repeat(2 * 450))),
        "the leaf is there"
    );
}

/// Shape 4: an alias chain deeper than the limit, and a billion laughs, are refused with
/// go-yaml's words and the line of the alias.
#[test]
fn alias_expansion_is_bounded() {
    let err = build_text(&shapes::alias_chain(6)).unwrap_err();
    assert!(err.contains("exceeded max depth of 512"), "{err}");
    assert!(err.starts_with("cm.yaml:11:"), "{err}");
    build_text(&shapes::alias_chain(5)).expect("502 levels build");
    let err = build_text(&shapes::billion_laughs()).unwrap_err();
    assert!(
        err.contains("document contains excessive aliasing"),
        "{err}"
    );
    assert!(err.starts_with("cm.yaml:"), "{err}");
}

/// Shape 5: copies that double a value are refused once the build would create too much;
/// a few doublings build.
#[test]
fn doubling_copies_are_bounded() {
    let err = build_text(&shapes::doubling_copies(40)).unwrap_err();
    assert!(err.contains("a build may create by copying"), "{err}");
    assert!(err.starts_with("p.yaml:"), "{err}");
    build_text(&shapes::doubling_copies(5)).expect("five doublings build");
    let err = build_text(&shapes::self_copy_replacements(40)).unwrap_err();
    assert!(
        err.contains("a build may create by copying") || err.contains("exceeded max depth"),
        "{err}"
    );
    build_text(&shapes::self_copy_replacements(3)).expect("three self-copies build");
}

/// Every shape above, in V8 (node), the JavaScript engine of the browser the web editor runs
/// in, whose stack is far smaller than a native thread's: each must end in the same outcome as
/// natively (a build or the same error), never in a trap.
#[test]
fn bad_shapes_end_cleanly_in_v8() {
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("cyclic keys", shapes::cyclic_keys(&shapes::version_keys())),
        ("component chain 300", shapes::component_chain(300)),
        ("component chain 99", shapes::component_chain(99)),
        ("create 100000 deep", shapes::deep_create(100_000)),
        ("create 500 deep", shapes::deep_create(500)),
        ("alias chain 602 deep", shapes::alias_chain(6)),
        ("alias chain 502 deep", shapes::alias_chain(5)),
        ("billion laughs", shapes::billion_laughs()),
        ("doubling copies", shapes::doubling_copies(40)),
        ("self-copy replacements", shapes::self_copy_replacements(40)),
        (
            "self-copy replacements 9",
            shapes::self_copy_replacements(9),
        ),
    ];
    let wasm = wasm_harness();
    let dir = crate::util::temp_dir("robustness-v8");
    let mut files = Vec::new();
    for (i, (_, tree)) in cases.iter().enumerate() {
        let mut encoded = String::from(".\n");
        for (path, content) in tree {
            encoded.push_str(&format!("{path}\0{content}\0"));
        }
        let file = dir.join(format!("case-{i}"));
        std::fs::write(&file, encoded).expect("write case");
        files.push(file);
    }
    let out = std::process::Command::new("node")
        .arg(crate::util::workspace().join("tests/wasm-harness/run.mjs"))
        .arg(&wasm)
        .args(&files)
        .output()
        .expect("run node (the browser's engine) on the harness");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "{stdout}");
    for ((name, tree), line) in cases.iter().zip(&lines) {
        let native = match build_text(tree) {
            Ok(yaml) => format!("ok {}", yaml.len()),
            Err(e) => format!("err {e}"),
        };
        let native_line = native.lines().next().unwrap_or("");
        assert_eq!(*line, native_line, "{name}: V8 and native differ");
    }
}

/// `planton-wasm-harness` built for wasm32-unknown-unknown with the release profile the web
/// editor is built with, in its own target directory (cargo is not re-entered on ours).
fn wasm_harness() -> std::path::PathBuf {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm-harness");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "planton-wasm-harness",
            "--manifest-path",
        ])
        .arg(crate::util::workspace().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the wasm harness failed");
    target.join("wasm32-unknown-unknown/release/planton_wasm_harness.wasm")
}
