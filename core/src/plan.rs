//! The deployment plan: one task per overlay directory except `local`, filtered by
//! `deploymentEnvironments`, ordered by `promotionOrder` (else the conventional rank of the
//! overlay name: dev, test/qa, staging/uat, prod), with manual gates marked.

use crate::diag::{Diagnostic, code};
use crate::service::{CONFIG_FILE, ServiceConfig};
use crate::validate::OverlayBuild;
use crate::yaml::Node;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One deployment task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// The overlay directory name.
    pub name: String,
    /// The target environment (`metadata.env`).
    pub env: String,
    /// The manifest's kind.
    pub kind: String,
    /// The manifest's `metadata.name`.
    pub resource_name: String,
    /// Whether the task waits for approval.
    pub requires_manual_gate: bool,
    /// `sha256:<hex>` of the built manifest YAML (references only; never secret values).
    pub manifest_digest: String,
}

/// An overlay that gets no task, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The overlay directory name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Tasks in run order.
    pub tasks: Vec<Task>,
    /// Overlays without a task.
    pub skipped: Vec<Skipped>,
}

/// Plans from the overlays' builds. `filter` overrides `deploymentEnvironments`.
/// Problems (no `metadata.env`, duplicate targets, failed builds) are diagnostics.
pub fn plan<B: std::borrow::Borrow<OverlayBuild>>(
    overlays: &[B],
    cfg: &ServiceConfig,
    filter: Option<&[String]>,
) -> (Plan, Vec<Diagnostic>) {
    let mut p = Plan::default();
    let mut diags = Vec::new();
    let wanted: &[String] = filter.unwrap_or(&cfg.deployment_environments);
    let mut tasks = Vec::new();
    for ob in overlays.iter().map(B::borrow) {
        if ob.name == "local" {
            p.skipped.push(Skipped {
                name: ob.name.clone(),
                reason: "local overlay: used for .env generation only, never deployed".into(),
            });
            continue;
        }
        if !wanted.is_empty() && !wanted.contains(&ob.name) {
            p.skipped.push(Skipped {
                name: ob.name.clone(),
                reason: format!("not in deploymentEnvironments [{}]", wanted.join(", ")),
            });
            continue;
        }
        if let Err(e) = &ob.build {
            // Validation reports the error itself; this one points at it (the front
            // end shows the file its own way).
            diags.push(
                Diagnostic::error(code::PLAN_BUILD, "overlay does not build")
                    .at(e.file.as_deref().unwrap_or(""), e.line, e.col)
                    .in_overlay(&ob.name),
            );
            continue;
        }
        let Some(m) = ob.manifest() else {
            diags.push(
                at_overlay(
                    ob,
                    Diagnostic::error(code::PLAN_EMPTY, "overlay builds to no manifest"),
                )
                .in_overlay(&ob.name),
            );
            continue;
        };
        let text = |path: &[&str]| {
            m.get_path(path)
                .and_then(Node::scalar_text)
                .unwrap_or_default()
                .to_string()
        };
        let env = text(&["metadata", "env"]);
        if env.is_empty() {
            let pos = &ob.position(m, "/metadata/env");
            diags.push(
                Diagnostic::error(
                    code::PLAN_MISSING_ENV,
                    format!("overlay `{}` is deployable but its manifest has no metadata.env (the target environment)", ob.name),
                )
                .at(&pos.file, pos.line, pos.col)
                .with_path("/metadata/env")
                .in_overlay(&ob.name),
            );
            continue;
        }
        let yaml = ob.yaml().and_then(Result::ok).unwrap_or_default();
        let digest = manifest_digest(yaml);
        tasks.push(Task {
            name: ob.name.clone(),
            env,
            kind: text(&["kind"]),
            resource_name: text(&["metadata", "name"]),
            requires_manual_gate: cfg.manual_gates.contains(&ob.name),
            manifest_digest: digest,
        });
    }
    for n in wanted {
        if n != "local" && !overlays.iter().any(|o| &o.borrow().name == n) {
            diags.push(
                Diagnostic::warning(
                    code::PLAN_UNKNOWN_ENV,
                    format!("deploymentEnvironments names `{n}`, but there is no such overlay"),
                )
                .at(CONFIG_FILE, 0, 0),
            );
        }
    }
    // Promotion order: `promotionOrder` first, then the conventional rank, then by name.
    let names: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    let order = crate::pipeline::promotion_order(&names, &cfg.promotion_order);
    tasks.sort_by_key(|t| order.iter().position(|n| *n == t.name));
    let overlay = |name: &str| overlays.iter().map(B::borrow).find(|o| o.name == name);
    for (i, t) in tasks.iter().enumerate() {
        if let Some(prev) = tasks[..i]
            .iter()
            .find(|o| o.kind == t.kind && o.resource_name == t.resource_name && o.env == t.env)
        {
            let d = Diagnostic::error(
                code::PLAN_DUPLICATE_TARGET,
                format!(
                    "overlays `{}` and `{}` would both deploy {} `{}` to environment `{}`",
                    prev.name, t.name, t.kind, t.resource_name, t.env
                ),
            );
            let d = match overlay(&t.name) {
                Some(ob) => at_overlay(ob, d),
                None => d,
            };
            diags.push(d.in_overlay(&t.name));
        }
    }
    p.tasks = tasks;
    (p, diags)
}

/// `d` placed at the overlay's kustomization (line 1), the file that makes it an overlay.
fn at_overlay(ob: &OverlayBuild, d: Diagnostic) -> Diagnostic {
    match &ob.anchor.kustomization {
        Some(k) => d.at(k, 1, 1),
        None => d,
    }
}

/// The digest of an overlay's built manifest (`sha256:` and the hex of the YAML `planton build`
/// prints): what a task records, a gate is approved for, and `deploy --expect-digest` checks.
pub fn manifest_digest(yaml: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(yaml.as_bytes()))
}
