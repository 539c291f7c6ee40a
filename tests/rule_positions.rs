//! Every kind rule, checked end to end through `validate` with the real plugins: each
//! failing case of `plugins/*/testdata/rules.json` is written once into the base (the
//! diagnostic must point into the base file) and, where the bad values can be set by an
//! overlay patch, once into an overlay patch (the diagnostic must point into the overlay).
//!
//! The expected position is checked independently of the parser: the reported line and
//! column must hold the offending key (unknown fields) or the offending value's text.

use planton_core::kustomize::FileTree;
use planton_core::service::Layout;
use planton_core::validate::{out_from_json, out_to_json, validate};
use planton_core::yaml::emit;
use planton_plugin_sdk::testing::{RuleCase, rule_cases, set};
use planton_runner::plugins::Plugins;
use serde_json::Value;

fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn yaml(v: &Value) -> String {
    emit(&out_from_json(v))
}

fn tree(base: &str, overlay: &str, overlay_patch: Option<&str>) -> FileTree {
    let mut t = FileTree::new();
    t.insert(
        "svc/_kustomize/base/kustomization.yaml",
        "resources:\n- service.yaml\n",
    );
    t.insert("svc/_kustomize/base/service.yaml", base);
    let dir = format!("svc/_kustomize/overlays/{overlay}");
    match overlay_patch {
        Some(p) => {
            t.insert(
                &format!("{dir}/kustomization.yaml"),
                "resources:\n- ../../base\npatches:\n- path: service.yaml\n",
            );
            t.insert(&format!("{dir}/service.yaml"), p);
        }
        None => t.insert(
            &format!("{dir}/kustomization.yaml"),
            "resources:\n- ../../base\n",
        ),
    }
    t
}

/// What must be written at the reported position.
fn expected_text(manifest: &Value, code: &str, path: &str) -> Option<String> {
    let segs = segments(path);
    if code.ends_with("unknown-field")
        || code == "schema-proto-field-name"
        || code == "schema-duplicate-field"
    {
        return segs.last().cloned();
    }
    let v = manifest.pointer(path)?;
    match v {
        Value::String(s) if !s.contains('\n') && !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn check_case(
    plugin: &str,
    case: &RuleCase,
    base_manifest: &Value,
    failures: &mut Vec<String>,
    checked: &mut usize,
) {
    let name = case.name.as_str();
    let expect = &case.expect;
    if expect.is_empty() {
        return;
    }
    let overlay = if case.local { "local" } else { "prod" };
    let manifest = case.manifest.clone();
    let (sets, removes) = (&case.set, &case.remove);
    // Overlay variant: only map paths (lists are replaced wholesale for custom kinds) and
    // only additions.
    let same_type = |p: &str, v: &Value| {
        base_manifest
            .pointer(p)
            .is_none_or(|b| std::mem::discriminant(b) == std::mem::discriminant(v))
    };
    let overlay_ok = removes.is_empty()
        && sets
            .iter()
            .all(|(p, v)| same_type(p, v) && !p.starts_with("/metadata/namespace"))
        && !sets.is_empty()
        && sets.iter().all(|(p, v)| {
            !segments(p).iter().any(|s| s.parse::<usize>().is_ok())
                && !v.is_null()
                && !segments(p)
                    .first()
                    .is_some_and(|s| s == "apiVersion" || s == "kind")
                && p != "/metadata/name"
        });
    let mut variants = vec![(
        "base",
        tree(&yaml(&manifest), overlay, None),
        "_kustomize/base/service.yaml",
    )];
    if overlay_ok {
        let mut patch = serde_json::json!({
            "apiVersion": base_manifest["apiVersion"],
            "kind": base_manifest["kind"],
            "metadata": {"name": base_manifest["metadata"]["name"]},
        });
        for (p, v) in sets {
            set(&mut patch, p, v.clone());
        }
        let overlay_file = format!("_kustomize/overlays/{overlay}/service.yaml");
        variants.push((
            "overlay",
            tree(&yaml(base_manifest), overlay, Some(&yaml(&patch))),
            Box::leak(overlay_file.into_boxed_str()),
        ));
    }
    let plugins = Plugins::builtin();
    for (variant, t, want_file) in variants {
        let (layout, _) = Layout::discover(&t, "svc").expect("layout");
        let report = validate(&t, &layout, Some(overlay), &plugins, None);
        // What the built manifest really is (after the patch), to read expected texts from.
        let built = report.overlays[0]
            .manifest()
            .map(|n| planton_core::yaml::to_output(n).map(|o| out_to_json(&o)));
        let built = match built {
            Some(Ok(b)) => b,
            // kustomize itself refuses a resource without metadata.name.
            _ if removes
                .iter()
                .any(|r| r == "/metadata" || r == "/metadata/name") =>
            {
                continue;
            }
            _ => {
                failures.push(format!(
                    "{plugin}/{name} ({variant}): overlay did not build: {:?}",
                    report.diagnostics
                ));
                continue;
            }
        };
        for (code, path) in expect {
            let (code, path) = (code.as_str(), path.as_str());
            let Some(d) = report
                .diagnostics
                .iter()
                .find(|d| d.code == code && d.path == path)
            else {
                failures.push(format!(
                    "{plugin}/{name} ({variant}): no {code} at {path}; got {:?}",
                    report.diagnostics
                ));
                continue;
            };
            *checked += 1;
            // The value may come from the base even in the overlay variant (e.g. a rule
            // about two fields); only values the patch set must point into the patch.
            let set_here =
                variant == "base" || sets.iter().any(|(p, _)| path.starts_with(p.as_str()));
            // A missing value points where the overlay adds it: its patch, else its
            // kustomization (a rule about an unknown field names a key that exists).
            let missing = built.pointer(path).is_none() && !code.ends_with("unknown-field");
            let want_file: &str = match (missing, variant) {
                (true, "base") => {
                    Box::leak(format!("_kustomize/overlays/{overlay}/kustomization.yaml").into())
                }
                _ => want_file,
            };
            if (set_here || missing) && d.file != want_file {
                failures.push(format!(
                    "{plugin}/{name} ({variant}): {code} points at {} not {want_file}",
                    d.file
                ));
                continue;
            }
            if d.line == 0 || d.column == 0 {
                failures.push(format!(
                    "{plugin}/{name} ({variant}): {code} has no line/column"
                ));
                continue;
            }
            let text = t
                .read(&format!("svc/{}", d.file))
                .map(|s| s.to_string())
                .unwrap_or_default();
            let line = text.lines().nth(d.line as usize - 1).unwrap_or("");
            let at: String = line.chars().skip(d.column as usize - 1).collect();
            if let Some(want) = expected_text(&built, code, path) {
                let unquoted = at.trim_start_matches(['"', '\'']);
                if !unquoted.starts_with(&want) {
                    failures.push(format!(
                        "{plugin}/{name} ({variant}): {code} at {}:{}:{} reads {at:?}, expected {want:?}",
                        d.file, d.line, d.column
                    ));
                }
            }
        }
    }
}

#[test]
fn every_rule_points_at_the_base_or_overlay_line_that_wrote_the_value() {
    let root = crate::util::workspace();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (plugin, rules) in [
        ("kubernetes", "rules.json"),
        ("kubernetes", "rules-kubernetes-deployment.json"),
        ("aws-ecs", "rules.json"),
    ] {
        let text = std::fs::read_to_string(root.join(format!("plugins/{plugin}/testdata/{rules}")))
            .expect("rules file");
        let (base, cases) = rule_cases(&text).expect("valid rules file");
        for case in &cases {
            check_case(plugin, case, &base, &mut failures, &mut checked);
        }
    }
    eprintln!(
        "rule positions: {checked} diagnostics checked, {} failures",
        failures.len()
    );
    assert!(checked > 100, "too few rule cases checked: {checked}");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
