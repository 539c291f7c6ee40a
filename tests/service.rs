//! Validation and planning of whole service repositories, in memory: diagnostics carry the
//! file, line and column that wrote a value; plans follow the seed's rules.

use planton_core::diag::Severity;
use planton_core::kustomize::FileTree;
use planton_core::plan::plan;
use planton_core::refs::{DirGroupSource, GroupSource};
use planton_core::service::{Layout, ServiceConfig};
use planton_core::validate::{NoKinds, validate};

const KUST_RES: &str = "resources:\n- service.yaml\n";

fn manifest(name: &str, env: Option<&str>, extra: &str) -> String {
    let env = env.map(|e| format!("  env: {e}\n")).unwrap_or_default();
    format!(
        "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: {name}\n{env}spec:\n  version: main\n{extra}"
    )
}

/// A service whose overlays each hold a whole manifest (no patches).
fn service(overlays: &[(&str, Option<&str>)], config: Option<&str>) -> FileTree {
    let mut t = FileTree::new();
    t.insert("svc/_kustomize/base/kustomization.yaml", KUST_RES);
    t.insert(
        "svc/_kustomize/base/service.yaml",
        manifest("api", None, ""),
    );
    for (name, env) in overlays {
        t.insert(
            &format!("svc/_kustomize/overlays/{name}/kustomization.yaml"),
            KUST_RES,
        );
        t.insert(
            &format!("svc/_kustomize/overlays/{name}/service.yaml"),
            manifest("api", *env, ""),
        );
    }
    if let Some(c) = config {
        t.insert("svc/planton.yaml", c);
    }
    t
}

fn layout(t: &FileTree) -> Layout {
    Layout::discover(t, "svc").expect("layout").0
}

/// The seed: `deployment_environments: ["dev","stage"]` keeps dev/ and stage/ and skips
/// uat/ and prod/; local/ never gets a task.
#[test]
fn seed_deployment_environments_example() {
    let t = service(
        &[
            ("dev", Some("app-dev")),
            ("stage", Some("app-stage")),
            ("uat", Some("app-uat")),
            ("prod", Some("app-prod")),
            ("local", None),
        ],
        Some("deployment_environments: [\"dev\", \"stage\"]\n"),
    );
    let l = layout(&t);
    let (cfg, cfg_diags) = ServiceConfig::load(&t, &l);
    assert_eq!(cfg.deployment_environments, ["dev", "stage"]);
    assert!(
        cfg_diags
            .iter()
            .any(|d| d.code == "config-deprecated-field" && d.severity == Severity::Warning)
    );
    let report = validate(&t, &l, None, &NoKinds, None);
    let (p, diags) = plan(&report.overlays, &cfg, None);
    assert!(diags.is_empty(), "{diags:?}");
    let tasks: Vec<(&str, &str)> = p
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.env.as_str()))
        .collect();
    assert_eq!(tasks, [("dev", "app-dev"), ("stage", "app-stage")]);
    let mut skipped: Vec<&str> = p.skipped.iter().map(|s| s.name.as_str()).collect();
    skipped.sort();
    assert_eq!(skipped, ["local", "prod", "uat"]);
    assert!(
        p.skipped
            .iter()
            .find(|s| s.name == "local")
            .unwrap()
            .reason
            .contains("never deployed")
    );
    // The flag overrides the config.
    let (p, _) = plan(&report.overlays, &cfg, Some(&["prod".to_string()]));
    assert_eq!(
        p.tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["prod"]
    );
}

#[test]
fn plan_orders_gates_and_refuses_duplicates_and_missing_env() {
    let t = service(
        &[
            ("a", Some("app-x")),
            ("b", Some("app-x")),
            ("prod", Some("app-prod")),
            ("staging", Some("app-staging")),
            ("noenv", None),
        ],
        Some(
            "apiVersion: planton.dev/v1\nkind: ServiceConfig\npromotionOrder: [staging, prod]\nmanualGates: [prod]\n",
        ),
    );
    let l = layout(&t);
    let (cfg, _) = ServiceConfig::load(&t, &l);
    let report = validate(&t, &l, None, &NoKinds, None);
    let (p, diags) = plan(&report.overlays, &cfg, None);
    let names: Vec<&str> = p.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["staging", "prod", "a", "b"]);
    assert!(
        p.tasks
            .iter()
            .find(|t| t.name == "prod")
            .unwrap()
            .requires_manual_gate
    );
    assert!(
        !p.tasks
            .iter()
            .find(|t| t.name == "staging")
            .unwrap()
            .requires_manual_gate
    );
    assert!(
        p.tasks
            .iter()
            .all(|t| t.manifest_digest.starts_with("sha256:") && t.manifest_digest.len() == 71)
    );
    let codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains(&"plan-duplicate-target"), "{diags:?}");
    let missing = diags
        .iter()
        .find(|d| d.code == "plan-missing-env")
        .expect("missing env is an error");
    assert_eq!(missing.overlay, "noenv");
}

#[test]
fn config_unknown_fields_are_errors_with_suggestions() {
    let t = service(
        &[("prod", Some("p"))],
        Some("apiVersion: planton.dev/v1\nkind: ServiceConfig\nmanualGate: [prod]\n"),
    );
    let (_, diags) = ServiceConfig::load(&t, &layout(&t));
    let d = diags
        .iter()
        .find(|d| d.code == "config-unknown-field")
        .expect("unknown field");
    assert!(
        d.message.contains("did you mean `manualGates`"),
        "{}",
        d.message
    );
    assert_eq!((d.file.as_str(), d.line, d.column), ("planton.yaml", 3, 1));
}

/// A malformed reference is an error at the exact line and column of the value, and
/// unresolved references are all reported, distinguishing missing groups from entries.
#[test]
fn references_are_checked_where_written() {
    let mut t = FileTree::new();
    t.insert("svc/_kustomize/base/kustomization.yaml", KUST_RES);
    t.insert(
        "svc/_kustomize/base/service.yaml",
        manifest("api", None, ""),
    );
    t.insert("svc/_kustomize/overlays/prod/kustomization.yaml", KUST_RES);
    t.insert(
        "svc/_kustomize/overlays/prod/service.yaml",
        manifest(
            "api",
            Some("app-prod"),
            "  container:\n    app:\n      env:\n        variables:\n          HOST: $variables-group/db/host\n          BAD: $variable-group/db/host\n        secrets:\n          PASSWORD: $secrets-group/db/password\n          TOKEN: $secrets-group/missing/token\n",
        ),
    );
    t.insert(
        "svc/groups/db.yaml",
        "apiVersion: service-hub.planton.ai/v1\nkind: VariablesGroup\nmetadata:\n  name: db\nspec:\n  entries:\n  - name: port\n    value: \"5432\"\n---\napiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: db\nspec:\n  entries:\n  - name: password\n    value: s3cret-value\n",
    );
    let l = layout(&t);
    let groups = DirGroupSource::load(&t, "svc/groups").expect("groups load");
    let report = validate(&t, &l, None, &NoKinds, Some(&groups as &dyn GroupSource));
    let find = |code: &str| {
        report
            .diagnostics
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("no {code}: {:?}", report.diagnostics))
    };
    let bad = find("ref-malformed");
    assert_eq!(
        (bad.file.as_str(), bad.line, bad.column),
        ("_kustomize/overlays/prod/service.yaml", 13, 16)
    );
    assert!(
        bad.message.contains("$variables-group/db/host"),
        "{}",
        bad.message
    );
    assert_eq!(bad.path, "/spec/container/app/env/variables/BAD");
    let entry = find("ref-missing-entry");
    assert!(
        entry.message.contains("`db`") && entry.message.contains("`host`"),
        "{}",
        entry.message
    );
    assert_eq!(entry.line, 12);
    let group = find("ref-missing-group");
    assert!(group.message.contains("`missing`"), "{}", group.message);
    assert_eq!(group.overlay, "prod");
    // Secret values never appear in diagnostics.
    assert!(
        report
            .diagnostics
            .iter()
            .all(|d| !d.message.contains("s3cret-value"))
    );
    // Without a group source, references are only syntax-checked.
    let report = validate(&t, &l, None, &NoKinds, None);
    assert_eq!(
        report
            .diagnostics
            .iter()
            .filter(|d| d.code.starts_with("ref-missing"))
            .count(),
        0
    );
}

/// A required value missing from a deployable overlay is reported where the user adds it:
/// the overlay's patch (at the nearest parent key the patch has), else the overlay's
/// kustomization; the JSON Pointer stays. Plan problems name the overlay's files too.
#[test]
fn missing_values_point_where_the_overlay_adds_them() {
    let mut t = FileTree::new();
    t.insert(
        "svc/_kustomize/base/kustomization.yaml",
        "resources:\n- service.yaml\n",
    );
    t.insert(
        "svc/_kustomize/base/service.yaml",
        manifest("api", None, ""),
    );
    t.insert(
        "svc/_kustomize/overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\npatches:\n- path: patch.yaml\n",
    );
    t.insert(
        "svc/_kustomize/overlays/prod/patch.yaml",
        "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: api\nspec:\n  version: v2\n",
    );
    t.insert(
        "svc/_kustomize/overlays/staging/kustomization.yaml",
        "resources:\n- ../../base\n",
    );
    t.insert(
        "svc/_kustomize/overlays/qa/kustomization.yaml",
        "resources:\n- ../../base\n",
    );
    let l = layout(&t);
    let (cfg, _) = ServiceConfig::load(&t, &l);
    let report = validate(&t, &l, None, &NoKinds, None);
    let (_, mut diags) = plan(&report.overlays, &cfg, None);
    l.relativize(&mut diags);
    let at = |overlay: &str, code: &str| {
        diags
            .iter()
            .find(|d| d.overlay == overlay && d.code == code)
            .map(|d| (d.file.as_str(), d.line, d.column, d.path.as_str()))
    };
    // The patch has `metadata:` on line 3: `env` goes under it.
    assert_eq!(
        at("prod", "plan-missing-env"),
        Some(("_kustomize/overlays/prod/patch.yaml", 3, 1, "/metadata/env"))
    );
    assert_eq!(
        at("staging", "plan-missing-env"),
        Some((
            "_kustomize/overlays/staging/kustomization.yaml",
            1,
            1,
            "/metadata/env"
        ))
    );

    // Two overlays deploying the same thing: each overlay's kustomization.
    let t = service(&[("a", Some("x")), ("b", Some("x"))], None);
    let l = layout(&t);
    let report = validate(&t, &l, None, &NoKinds, None);
    let (_, mut diags) = plan(&report.overlays, &ServiceConfig::default(), None);
    l.relativize(&mut diags);
    let at: Vec<_> = diags
        .iter()
        .filter(|d| d.code == "plan-duplicate-target")
        .map(|d| (d.overlay.as_str(), d.file.as_str(), d.line))
        .collect();
    assert_eq!(
        at,
        [
            ("a", "_kustomize/overlays/a/kustomization.yaml", 1),
            ("b", "_kustomize/overlays/b/kustomization.yaml", 1)
        ]
    );
}

/// `secretsNamespace` (top level or per environment) moves the secret values of an overlay to
/// Kubernetes Secrets: validation leaves its `$secrets-group` references to the deploy, and
/// keeps checking them for the other overlays and checking `$variables-group` everywhere.
#[test]
fn secrets_namespace_leaves_secret_references_to_the_deploy() {
    let mut t = FileTree::new();
    t.insert("svc/_kustomize/base/kustomization.yaml", KUST_RES);
    t.insert(
        "svc/_kustomize/base/service.yaml",
        manifest(
            "api",
            None,
            "  container:\n    app:\n      env:\n        secrets:\n          K: $secrets-group/stripe/key\n        variables:\n          H: $variables-group/pg/nope\n",
        ),
    );
    for o in ["prod", "staging"] {
        t.insert(
            &format!("svc/_kustomize/overlays/{o}/kustomization.yaml"),
            "resources:\n- ../../base\n",
        );
    }
    t.insert(
        "svc/groups/pg.yaml",
        "apiVersion: service-hub.planton.ai/v1\nkind: VariablesGroup\nmetadata:\n  name: pg\nspec:\n  entries:\n    - name: host\n      value: db\n",
    );
    t.insert(
        "svc/planton.yaml",
        "apiVersion: planton.dev/v1\nkind: ServiceConfig\nenvironments:\n  prod: {namespace: api-prod, secretsNamespace: shop-secrets}\n  staging: {namespace: api-staging}\n",
    );
    let l = layout(&t);
    let (cfg, diags) = ServiceConfig::load(&t, &l);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cfg.secrets_namespace("prod"), Some("shop-secrets"));
    assert_eq!(cfg.secrets_namespace("staging"), None);
    let check = planton_core::check::check_service(&t, &l, None, &cfg, &NoKinds, None);
    let refs: Vec<(String, String)> = check
        .diagnostics
        .iter()
        .filter(|d| d.code.starts_with("ref-"))
        .map(|d| (d.overlay.clone(), d.message.clone()))
        .collect();
    let has = |o: &str, what: &str| refs.iter().any(|(ov, m)| ov == o && m.contains(what));
    assert!(has("staging", "`stripe`"), "{refs:?}");
    assert!(!has("prod", "`stripe`"), "{refs:?}");
    assert!(
        has("prod", "no entry `nope`") && has("staging", "no entry `nope`"),
        "{refs:?}"
    );

    // The top-level default, and an unknown field under `groups`.
    t.insert(
        "svc/planton.yaml",
        "apiVersion: planton.dev/v1\nkind: ServiceConfig\ngroups:\n  dir: groups\n  secretsNamespace: shop-secrets\n  secretNamespace: typo\n",
    );
    let (cfg, diags) = ServiceConfig::load(&t, &l);
    assert_eq!(cfg.secrets_namespace("staging"), Some("shop-secrets"));
    assert!(
        diags.iter().any(|d| d.code == "config-unknown-field"
            && d.message.contains("`secretNamespace`")
            && d.line == 6),
        "{diags:?}"
    );
}
