//! `planton service kustomize init` end to end: the starter trees build and validate,
//! nothing is overwritten without `--force`, and a non-interactive run names every missing
//! flag.

use crate::util::{run, temp_dir, text};
use planton_core::kustomize::build;
use std::path::Path;

fn init(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "service",
        "kustomize",
        "init",
        "--dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Builds one overlay of the tree under `root` in memory.
fn built(root: &Path, overlay: &str) -> String {
    let tree = crate::util::load_tree(root);
    build(&tree, &format!("_kustomize/overlays/{overlay}"))
        .and_then(|b| b.to_yaml())
        .unwrap_or_else(|e| panic!("overlay {overlay} does not build: {e}"))
}

#[test]
fn new_services_build_and_validate() {
    for platform in ["kubernetes", "aws-ecs", "kubernetes-deployment"] {
        let root = temp_dir(&format!("scaffold-{platform}"));
        let out = init(
            &root,
            &[
                "--new",
                "--platform",
                platform,
                "--env",
                "dev",
                "--name",
                "orders",
                "--org",
                "acme",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        for f in [
            "_kustomize/base/kustomization.yaml",
            "_kustomize/base/service.yaml",
            "_kustomize/overlays/dev/kustomization.yaml",
            "_kustomize/overlays/dev/service.yaml",
            "_kustomize/overlays/local/kustomization.yaml",
            "_kustomize/overlays/local/service.yaml",
            "planton.yaml",
        ] {
            assert!(root.join(f).is_file(), "{platform}: {f} missing");
            assert!(
                text(&out.stdout).contains(f),
                "{platform}: {f} not reported"
            );
        }
        let dev = built(&root, "dev");
        assert!(
            dev.contains("  env: dev\n")
                && dev.contains("  name: orders\n")
                && dev.contains("  org: acme\n"),
            "{dev}"
        );
        built(&root, "local");
        let out = run(&["validate", root.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{platform}: starter does not validate:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let out = run(&[
            "service",
            "dot-env",
            "--env",
            "local",
            "--dir",
            root.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{platform}: dot-env on the starter: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn existing_files_are_not_overwritten_without_force() {
    let root = temp_dir("scaffold-force");
    let flags = [
        "--new",
        "--platform",
        "kubernetes",
        "--env",
        "prod",
        "--name",
        "api",
        "--org",
        "acme",
    ];
    assert!(init(&root, &flags).status.success());
    let base = root.join("_kustomize/base/service.yaml");
    std::fs::write(&base, "# mine\n").unwrap();
    std::fs::remove_file(root.join("_kustomize/overlays/local/service.yaml")).unwrap();

    let out = init(&root, &flags);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("_kustomize/base/service.yaml") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("overlays/local/service.yaml"),
        "only existing files are listed: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&base).unwrap(),
        "# mine\n",
        "nothing overwritten"
    );
    assert!(
        !root.join("_kustomize/overlays/local/service.yaml").exists(),
        "nothing written at all"
    );

    std::fs::write(
        root.join("planton.yaml"),
        "apiVersion: planton.dev/v1\nkind: ServiceConfig\nmanualGates: [prod]\n",
    )
    .unwrap();
    let out = init(&root, &[&flags[..], &["--force"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::read_to_string(&base)
            .unwrap()
            .contains("kind: MicroserviceKubernetes")
    );
    assert!(root.join("_kustomize/overlays/local/service.yaml").exists());
    assert!(
        std::fs::read_to_string(root.join("planton.yaml"))
            .unwrap()
            .contains("manualGates"),
        "planton.yaml is kept"
    );
}

#[test]
fn non_interactive_runs_list_every_missing_flag() {
    let root = temp_dir("scaffold-missing");
    let out = init(&root, &["--new"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for flag in ["--platform", "--env", "--name", "--org"] {
        assert!(stderr.contains(flag), "{flag} not listed: {stderr}");
    }
    let out = init(&root, &["--new", "--platform", "aws-ecs", "--name", "api"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--env") && stderr.contains("--org") && !stderr.contains("--name"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(&root).unwrap().next().is_none(),
        "nothing written"
    );
    let out = init(
        &root,
        &[
            "--new",
            "--platform",
            "kubernetes",
            "--env",
            "Prod!",
            "--name",
            "api",
            "--org",
            "acme",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("environment `Prod!` is not valid"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn init_from_a_manifest_splits_base_and_overlay() {
    let root = temp_dir("scaffold-from");
    let manifest = root.join("existing.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: api\n  org: acme\n  env: app-prod\nspec:\n  version: main\n  container:\n    app:\n      env:\n        variables:\n          PORT: \"8080\"\n",
    )
    .unwrap();
    let out = init(&root, &["--from", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let base = std::fs::read_to_string(root.join("_kustomize/base/service.yaml")).unwrap();
    assert!(!base.contains("app-prod"), "{base}");
    let prod = built(&root, "app-prod");
    assert!(
        prod.contains("  env: app-prod\n") && prod.contains("PORT: \"8080\""),
        "{prod}"
    );

    // --env names the overlay directory; metadata.env stays the manifest's.
    let root2 = temp_dir("scaffold-from-env");
    let out = init(
        &root2,
        &["--from", manifest.to_str().unwrap(), "--env", "prod"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(built(&root2, "prod").contains("  env: app-prod\n"));
}
