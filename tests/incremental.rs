//! The web editor's incremental checks equal full ones: after every edit of every file of a
//! service (the bundled example with groups and a config, and a conformance case as a
//! service), `planton_core::incremental::Session` reports exactly what `check_service`
//! reports on the same files, while rebuilding only the overlays the edit can affect; and
//! for every case of the kustomize corpora, a build through a warm `BuildMemo` equals a
//! fresh build after every edit of every input file.

use crate::util::{load_tree, shared, workspace};
use planton_core::check::check_service;
use planton_core::incremental::Session;
use planton_core::kustomize::memo::{BuildMemo, Recorder};
use planton_core::kustomize::{Build, BuildError, FileTree, build, build_with_memo};
use planton_core::service::{Layout, ServiceConfig};
use planton_runner::plugins::Plugins;
use std::path::Path;

/// Edits of one file: a comment (same meaning, new text), a changed digit (a changed
/// value), and broken YAML.
fn edits(text: &str) -> Vec<String> {
    let mut out = vec![format!("{text}# edited\n")];
    if let Some(i) = text.find(|c: char| c.is_ascii_digit()) {
        let d = text.as_bytes()[i];
        let new = if d == b'9' { '1' } else { char::from(d + 1) };
        out.push(format!("{}{new}{}", &text[..i], &text[i + 1..]));
    }
    out.push(format!("{text}\nbroken: [\n"));
    out
}

fn same_build(what: &str, a: &Result<Build, BuildError>, b: &Result<Build, BuildError>) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.to_yaml(), b.to_yaml(), "{what}: output");
            assert_eq!(a.warnings, b.warnings, "{what}: warnings");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}: error"),
        _ => panic!("{what}: one build failed, the other did not: {a:?} / {b:?}"),
    }
}

/// Checks `tree` incrementally and fully; returns the overlays the session rebuilt and how
/// many resources kept their checks.
fn same_check(
    what: &str,
    tree: &FileTree,
    root: &str,
    session: &mut Session,
) -> (Vec<String>, usize) {
    let plugins = Plugins::native();
    let (layout, _) = Layout::discover(tree, root).expect("a service layout");
    let (config, _) = ServiceConfig::load(tree, &layout);
    let full = check_service(tree, &layout, None, &config, &plugins, None);
    let inc = session.check(tree, &layout, None, &config, &plugins, None);
    assert_eq!(inc.diagnostics, full.diagnostics, "{what}: diagnostics");
    assert_eq!(inc.plan, full.plan, "{what}: plan");
    assert_eq!(
        inc.plan_diagnostics, full.plan_diagnostics,
        "{what}: plan diagnostics"
    );
    let names = |v: Vec<&str>| v.join(",");
    assert_eq!(
        names(inc.overlays.iter().map(|o| o.name.as_str()).collect()),
        names(
            full.report
                .overlays
                .iter()
                .map(|o| o.name.as_str())
                .collect()
        ),
        "{what}: overlays"
    );
    for (a, b) in inc.overlays.iter().zip(&full.report.overlays) {
        same_build(&format!("{what}: overlay {}", a.name), &a.build, &b.build);
        assert_eq!(
            a.yaml()
                .map(|r| r.map(str::to_string).map_err(Clone::clone)),
            b.yaml()
                .map(|r| r.map(str::to_string).map_err(Clone::clone)),
            "{what}: overlay {} yaml",
            a.name
        );
    }
    (inc.rebuilt, inc.reused_resources)
}

/// Edits every file of the service under `root` in turn (then restores it), comparing the
/// session with a full check each time. Returns, per edited file, the overlays rebuilt by
/// its first edit (a comment) and how many resources kept their checks then.
fn edit_every_file(tree: &mut FileTree, root: &str) -> Vec<(String, (Vec<String>, usize))> {
    let mut session = Session::new();
    same_check("first check", tree, root, &mut session);
    let (rebuilt, _) = same_check("unchanged", tree, root, &mut session);
    assert!(
        rebuilt.is_empty(),
        "nothing changed, yet {rebuilt:?} rebuilt"
    );
    let paths: Vec<String> = tree.paths().map(str::to_string).collect();
    let mut first = Vec::new();
    for path in &paths {
        let original = tree.read(path).expect("listed").clone();
        for (i, text) in edits(&original).into_iter().enumerate() {
            tree.insert(path, text);
            let rebuilt = same_check(&format!("{path}, edit {i}"), tree, root, &mut session);
            if i == 0 {
                first.push((path.clone(), rebuilt));
            }
        }
        tree.insert(path, original);
        same_check(&format!("{path} restored"), tree, root, &mut session);
    }
    first
}

fn example_tree() -> FileTree {
    let mut tree = FileTree::new();
    let example = load_tree(&workspace().join("examples/order-api"));
    for p in example.paths() {
        tree.insert(
            &format!("svc/{p}"),
            example.read(p).expect("listed").clone(),
        );
    }
    tree.insert(
        "svc/planton.yaml",
        "apiVersion: planton.dev/v1\nkind: ServiceConfig\ngroups:\n  dir: config/groups\nmanualGates: [prod]\n",
    );
    tree.insert(
        "svc/config/groups/postgres.yaml",
        "apiVersion: service-hub.planton.ai/v1\nkind: VariablesGroup\nmetadata:\n  name: postgres\nspec:\n  entries:\n    - name: host\n      value: db.internal\n---\napiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: postgres\nspec:\n  entries:\n    - name: order-api-password\n      value: s3cret\n",
    );
    tree.insert(
        "svc/config/groups/stripe.yaml",
        "apiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: stripe\nspec:\n  entries:\n    - name: test-key\n      value: sk_test\n",
    );
    tree
}

#[test]
fn incremental_checks_equal_full_checks_after_every_edit_of_the_example() {
    let mut tree = example_tree();
    let first = edit_every_file(&mut tree, "svc");
    let rebuilt = |p: &str| {
        first
            .iter()
            .find(|(path, _)| path == p)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{p} not edited"))
    };
    // Only the overlays an edit can affect are rebuilt.
    // A comment changes no value: the rebuilt overlays' manifests keep their checks.
    assert_eq!(
        rebuilt("svc/_kustomize/overlays/prod/service.yaml"),
        (vec!["prod".to_string()], 1)
    );
    assert_eq!(
        rebuilt("svc/_kustomize/base/service.yaml"),
        (
            vec![
                "local".to_string(),
                "prod".to_string(),
                "staging".to_string()
            ],
            3
        )
    );
    assert!(rebuilt("svc/config/groups/stripe.yaml").0.is_empty());
    assert!(rebuilt("svc/planton.yaml").0.is_empty());
}

/// The session lets go of the build before a rebuilt overlay's, and of a removed overlay's,
/// by handing them to the caller (`Checked::retired`), so that a front end frees them when it
/// suits it (the page: after showing the result), not inside the check.
#[test]
fn a_check_hands_the_builds_it_lets_go_of_to_the_caller() {
    let mut tree = example_tree();
    let plugins = Plugins::native();
    let mut session = Session::new();
    let mut check = |tree: &FileTree| {
        let (layout, _) = Layout::discover(tree, "svc").expect("a service layout");
        let (config, _) = ServiceConfig::load(tree, &layout);
        session.check(tree, &layout, None, &config, &plugins, None)
    };
    let first = check(&tree);
    assert!(first.retired.is_empty(), "nothing to let go of yet");
    let prod = |c: &planton_core::incremental::Checked| {
        c.overlays
            .iter()
            .find(|o| o.name == "prod")
            .expect("a prod overlay")
            .clone()
    };
    let prod1 = prod(&first);
    let path = "svc/_kustomize/overlays/prod/service.yaml";
    let text = tree.read(path).expect("the prod patch").to_string();
    tree.insert(path, text.replace("minReplicas: 3", "minReplicas: 4"));
    let second = check(&tree);
    assert_eq!(second.rebuilt, ["prod"]);
    assert_eq!(second.retired.len(), 1, "the first prod build");
    assert!(std::rc::Rc::ptr_eq(&second.retired[0], &prod1));
    drop(first);
    drop(prod1);
    // The session keeps no reference: the caller's drop frees it.
    assert_eq!(std::rc::Rc::strong_count(&second.retired[0]), 1);
    // A removed overlay's build (and the one before it) are handed over too.
    let prod2 = prod(&second);
    for p in tree.paths().map(str::to_string).collect::<Vec<_>>() {
        if p.starts_with("svc/_kustomize/overlays/prod/") {
            tree.remove(&p);
        }
    }
    let third = check(&tree);
    assert!(third.overlays.iter().all(|o| o.name != "prod"));
    assert!(third.retired.iter().any(|b| std::rc::Rc::ptr_eq(b, &prod2)));
}

#[test]
fn incremental_checks_equal_full_checks_on_a_conformance_case() {
    let input = shared().join("conformance/kustomize/aws-ecs-service-overlay-prod/input");
    let case = load_tree(&input);
    let mut tree = FileTree::new();
    for p in case.paths() {
        tree.insert(
            &format!("svc/_kustomize/{p}"),
            case.read(p).expect("listed").clone(),
        );
    }
    let first = edit_every_file(&mut tree, "svc");
    for (path, (rebuilt, _)) in first {
        if let Some(rest) = path.strip_prefix("svc/_kustomize/overlays/") {
            let overlay = rest.split('/').next().unwrap_or_default();
            assert_eq!(rebuilt, [overlay], "{path}");
        }
    }
}

/// Every corpus case (the shared corpus and the project's own cases, with symbolic links):
/// a memo kept across builds gives the fresh build after every edit.
#[test]
fn builds_through_a_kept_memo_equal_fresh_builds_for_every_corpus_case() {
    let mut cases = Vec::new();
    for root in [
        shared().join("conformance/kustomize"),
        workspace().join("tests/kustomize-cases"),
    ] {
        cases.extend(
            std::fs::read_dir(&root)
                .unwrap_or_else(|e| panic!("corpus missing at {}: {e}", root.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("build-dir").is_file()),
        );
    }
    cases.sort();
    assert!(!cases.is_empty());
    let mut reused = 0;
    for case in &cases {
        let dir = std::fs::read_to_string(case.join("build-dir"))
            .expect("build-dir")
            .trim()
            .to_string();
        let mut tree = load_tree(&case.join("input"));
        let memo = BuildMemo::new();
        let check = |tree: &FileTree, what: &str| {
            let rec = Recorder::new(tree);
            same_build(
                &format!("{}: {what}", case_name(case)),
                &build_with_memo(&rec, &dir, &memo),
                &build(tree, &dir),
            );
        };
        check(&tree, "first build");
        check(&tree, "second build");
        let paths: Vec<String> = tree.paths().map(str::to_string).collect();
        for path in &paths {
            let original = tree.read(path).expect("listed").clone();
            for (i, text) in edits(&original).into_iter().enumerate() {
                tree.insert(path, text);
                check(&tree, &format!("{path}, edit {i}"));
            }
            tree.insert(path, original);
            check(&tree, &format!("{path} restored"));
        }
        reused += memo.hits();
    }
    assert!(reused > 0, "no case reused a kept sub-build");
}

fn case_name(case: &Path) -> String {
    case.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
