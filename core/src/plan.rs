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
    // Each overlay of a clashing pair gets its own error, so refusing to deploy either one
    // needs only its own diagnostics.
    for (i, t) in tasks.iter().enumerate() {
        if let Some(other) = tasks.iter().enumerate().find_map(|(j, o)| {
            (j != i && o.kind == t.kind && o.resource_name == t.resource_name && o.env == t.env)
                .then_some(o)
        }) {
            let (first, second) = match tasks.iter().position(|o| o.name == other.name) {
                Some(j) if j < i => (&other.name, &t.name),
                _ => (&t.name, &other.name),
            };
            let d = Diagnostic::error(
                code::PLAN_DUPLICATE_TARGET,
                format!(
                    "overlays `{first}` and `{second}` would both deploy {} `{}` to environment `{}`",
                    t.kind, t.resource_name, t.env
                ),
            );
            let d = match overlay(&t.name) {
                Some(ob) => at_overlay(ob, d),
                None => d,
            };
            diags.push(d.in_overlay(&t.name));
        }
    }
    duplicate_ecs_services(&tasks, &overlay, &mut diags);
    misapplied_environment_fields(&tasks, cfg, &mut diags);
    p.tasks = tasks;
    (p, diags)
}

/// Where an `AwsEcsService` deploys: the ECS name (`spec.ecsServiceName`, else
/// `metadata.name`, as the plugin names the service, its task definition family and its log
/// group `/ecs/<name>`), the pointer it was read from, and the cluster ARN.
struct EcsPlace {
    name: String,
    pointer: &'static str,
    cluster: String,
    /// `partition:region:account`: where names of task definition families and log groups
    /// are unique.
    scope: String,
}

fn ecs_place(m: &Node) -> Option<EcsPlace> {
    let text = |path: &[&str]| m.get_path(path).and_then(Node::scalar_text).unwrap_or("");
    if text(&["kind"]) != "AwsEcsService" {
        return None;
    }
    let (pointer, name) = match text(&["spec", "ecsServiceName"]) {
        "" => ("/metadata/name", text(&["metadata", "name"])),
        n => ("/spec/ecsServiceName", n),
    };
    let cluster = text(&["spec", "clusterArn"]);
    // arn:<partition>:ecs:<region>:<account>:cluster/<name>; a malformed ARN is a
    // validation error of its own.
    let parts: Vec<&str> = cluster.splitn(6, ':').collect();
    let [_, partition, _, region, account, _] = parts.as_slice() else {
        return None;
    };
    (!name.is_empty()).then(|| EcsPlace {
        name: name.to_string(),
        pointer,
        cluster: cluster.to_string(),
        scope: format!("{partition}:{region}:{account}"),
    })
}

/// Two tasks whose `AwsEcsService`s share an ECS name in one account and region would deploy
/// over each other: the same service when the cluster is the same, and in any case the same
/// task definition family and log group. Each of the two overlays gets an error at the value
/// that names it (or at its kustomization when the name comes from the base), so both
/// places show, as the Kubernetes duplicate-target rule does for one.
fn duplicate_ecs_services<'a>(
    tasks: &[Task],
    overlay: &dyn Fn(&str) -> Option<&'a OverlayBuild>,
    diags: &mut Vec<Diagnostic>,
) {
    let places: Vec<(&Task, &OverlayBuild, &Node, EcsPlace)> = tasks
        .iter()
        .filter_map(|t| {
            let ob = overlay(&t.name)?;
            let m = ob.manifest()?;
            Some((t, ob, m, ecs_place(m)?))
        })
        .collect();
    for (i, (t, ob, m, place)) in places.iter().enumerate() {
        let others = places
            .iter()
            .enumerate()
            .filter(|(j, (_, _, _, p))| *j != i && p.scope == place.scope && p.name == place.name);
        for (_, (other, _, _, op)) in others {
            // The generic rule above already reports the same kind, name and environment.
            let generic = other.kind == t.kind
                && other.resource_name == t.resource_name
                && other.env == t.env;
            if generic {
                continue;
            }
            let what = if op.cluster == place.cluster {
                format!(
                    "ECS service `{}` in cluster `{}`",
                    place.name, place.cluster
                )
            } else {
                format!(
                    "the task definition family and log group `/ecs/{}` of ECS service `{}` (account and region {})",
                    place.name, place.name, place.scope
                )
            };
            let d = Diagnostic::error(
                code::PLAN_DUPLICATE_TARGET,
                format!(
                    "overlays `{}` and `{}` would both deploy {what}: give each overlay its own spec.ecsServiceName (or cluster and account)",
                    t.name, other.name
                ),
            );
            let pos = ob.position(m, place.pointer);
            let own_dir = ob
                .anchor
                .kustomization
                .as_deref()
                .and_then(|k| k.rsplit_once('/'))
                .map(|(dir, _)| format!("{dir}/"));
            let d = match own_dir {
                Some(dir) if pos.file.starts_with(&dir) => {
                    d.at(&pos.file, pos.line, pos.col).with_path(place.pointer)
                }
                _ => at_overlay(ob, d),
            };
            diags.push(d.in_overlay(&t.name));
        }
    }
}

/// `environments.<overlay>` fields that the overlay's kind ignores: `context`, `namespace`
/// and `secretsNamespace` are Kubernetes settings, `profile` an AWS one.
fn misapplied_environment_fields(tasks: &[Task], cfg: &ServiceConfig, diags: &mut Vec<Diagnostic>) {
    for t in tasks {
        let Some(e) = cfg.environments.iter().find(|e| e.overlay == t.name) else {
            continue;
        };
        let ignored: Vec<&str> = match t.kind.as_str() {
            "AwsEcsService" => [
                ("context", e.context.is_some()),
                ("namespace", e.namespace.is_some()),
                ("secretsNamespace", e.secrets_namespace.is_some()),
            ]
            .iter()
            .filter(|(_, set)| *set)
            .map(|(f, _)| *f)
            .collect(),
            "MicroserviceKubernetes" | "KubernetesDeployment" if e.profile.is_some() => {
                vec!["profile"]
            }
            _ => Vec::new(),
        };
        for field in ignored {
            diags.push(
                Diagnostic::warning(
                    code::PLAN_ENVIRONMENT_FIELD,
                    format!(
                        "`environments.{}.{field}` does not apply to {} and is ignored ({})",
                        t.name,
                        t.kind,
                        if field == "profile" {
                            "`profile` is the AWS profile of an AwsEcsService overlay"
                        } else {
                            "an AwsEcsService overlay takes only `profile`; its cluster and service are in the manifest"
                        }
                    ),
                )
                .at(CONFIG_FILE, 0, 0)
                .in_overlay(&t.name),
            );
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::FileTree;
    use crate::service::Layout;
    use crate::validate::{NoKinds, validate};

    /// An ECS service with a base and overlays whose patches set `spec` fields; returns the
    /// plan's diagnostics as `file:line:col code overlay: message`.
    fn check(overlays: &[(&str, &str)], config: Option<&str>) -> Vec<String> {
        let mut t = FileTree::new();
        t.insert(
            "svc/_kustomize/base/kustomization.yaml",
            "resources:\n- service.yaml\n",
        );
        t.insert(
            "svc/_kustomize/base/service.yaml",
            "apiVersion: aws.project-planton.org/v1\nkind: AwsEcsService\nmetadata:\n  name: checkout\nspec:\n  clusterArn: arn:aws:ecs:us-east-1:111111111111:cluster/shared\n",
        );
        for (name, spec) in overlays {
            t.insert(
                &format!("svc/_kustomize/overlays/{name}/kustomization.yaml"),
                "resources:\n- ../../base\npatches:\n- path: service.yaml\n",
            );
            t.insert(
                &format!("svc/_kustomize/overlays/{name}/service.yaml"),
                format!(
                    "apiVersion: aws.project-planton.org/v1\nkind: AwsEcsService\nmetadata:\n  name: checkout\n  env: app-{name}\nspec:\n{spec}"
                ),
            );
        }
        if let Some(c) = config {
            t.insert("svc/planton.yaml", c);
        }
        let l = Layout::discover(&t, "svc").expect("layout").0;
        let (cfg, cfg_diags) = ServiceConfig::load(&t, &l);
        assert!(cfg_diags.is_empty(), "{cfg_diags:?}");
        let report = validate(&t, &l, None, &NoKinds, None);
        let (_, mut diags) = plan(&report.overlays, &cfg, None);
        l.relativize(&mut diags);
        diags
            .iter()
            .map(|d| {
                format!(
                    "{}:{}:{} {} {}: {}",
                    d.file, d.line, d.column, d.code, d.overlay, d.message
                )
            })
            .collect()
    }

    #[test]
    fn distinct_ecs_names_in_one_cluster_are_fine() {
        let d = check(
            &[
                ("staging", "  ecsServiceName: checkout-staging\n"),
                (
                    "prod",
                    "  clusterArn: arn:aws:ecs:us-east-1:111111111111:cluster/shared\n",
                ),
            ],
            None,
        );
        assert!(d.is_empty(), "{d:#?}");
    }

    #[test]
    fn one_ecs_service_from_two_overlays_is_refused_at_each_value() {
        let d = check(
            &[
                ("staging", "  ecsServiceName: pay\n"),
                ("prod", "  ecsServiceName: pay\n"),
            ],
            None,
        );
        assert_eq!(
            d,
            [
                "_kustomize/overlays/staging/service.yaml:7:19 plan-duplicate-target staging: overlays `staging` and `prod` would both deploy ECS service `pay` in cluster `arn:aws:ecs:us-east-1:111111111111:cluster/shared`: give each overlay its own spec.ecsServiceName (or cluster and account)",
                "_kustomize/overlays/prod/service.yaml:7:19 plan-duplicate-target prod: overlays `prod` and `staging` would both deploy ECS service `pay` in cluster `arn:aws:ecs:us-east-1:111111111111:cluster/shared`: give each overlay its own spec.ecsServiceName (or cluster and account)",
            ]
        );
    }

    #[test]
    fn another_cluster_of_one_account_still_shares_the_task_definition_family() {
        let d = check(
            &[
                (
                    "staging",
                    "  clusterArn: arn:aws:ecs:us-east-1:111111111111:cluster/staging\n",
                ),
                (
                    "prod",
                    "  clusterArn: arn:aws:ecs:us-east-1:111111111111:cluster/prod\n",
                ),
            ],
            None,
        );
        // metadata.name comes from each overlay's patch here (line 4), so it points there.
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(
            d[0].starts_with("_kustomize/overlays/staging/service.yaml:4:9 plan-duplicate-target staging: overlays `staging` and `prod` would both deploy the task definition family and log group `/ecs/checkout` of ECS service `checkout` (account and region aws:us-east-1:111111111111)"),
            "{d:#?}"
        );
        // Other accounts or regions share nothing.
        let d = check(
            &[
                (
                    "staging",
                    "  clusterArn: arn:aws:ecs:us-east-1:222222222222:cluster/shared\n",
                ),
                (
                    "prod",
                    "  clusterArn: arn:aws:ecs:eu-west-1:111111111111:cluster/shared\n",
                ),
            ],
            None,
        );
        assert!(d.is_empty(), "{d:#?}");
    }

    #[test]
    fn kubernetes_environment_fields_on_an_ecs_overlay_are_warned_about() {
        let d = check(
            &[("prod", "  ecsServiceName: checkout\n")],
            Some("environments:\n  prod: {profile: deployer, namespace: shop}\n"),
        );
        assert_eq!(
            d,
            [
                "planton.yaml:0:0 plan-environment-field prod: `environments.prod.namespace` does not apply to AwsEcsService and is ignored (an AwsEcsService overlay takes only `profile`; its cluster and service are in the manifest)"
            ]
        );
    }
}
