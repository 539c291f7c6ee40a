//! `generators:`, `transformers:` and `validators:` entries, and `helmCharts`.
//!
//! kustomize runs builtin plugin configurations (`apiVersion: builtin`) given there with
//! its own plugins, after the kustomization's own generators or transformers, in the order
//! listed. Anything else is an external plugin or KRM function, which kustomize refuses
//! unless `--enable-alpha-plugins` is given; planton never runs them, so it refuses them
//! with kustomize's message. `helmCharts` need `--enable-helm`, which planton does not
//! offer: they are refused the same way.

use super::configurations::{Config, parse_specs};
use super::error::{BuildError, ErrorKind, Result};
use super::{Kustomization, Loader, Resource, resources_from_docs};
use crate::yaml::{Map, Node, parse_stream};

/// kustomize's refusal of a non-builtin plugin.
fn external(r: &Resource) -> BuildError {
    BuildError::at(
        r.pos(),
        format!(
            "external plugins disabled; unable to load external plugin '{}'",
            r.kind()
        ),
    )
    .kind(ErrorKind::Unsupported)
}

fn is_builtin(r: &Resource) -> bool {
    r.api_version_str() == "builtin"
}

/// kustomize's refusal of a Helm chart without `--enable-helm`.
fn helm_refusal(at: &Node, config: &str) -> BuildError {
    BuildError::at(
        &at.pos,
        format!(
            "trouble configuring builtin HelmChartInflationGenerator with config: `\n{config}`: must specify --enable-helm"
        ),
    )
    .kind(ErrorKind::Unsupported)
}

/// Refuses `helmCharts` and `helmChartInflationGenerator` entries, echoing the chart's
/// settings as kustomize does (its `HelmChart` fields, sorted).
pub(super) fn refuse_helm(k: &Kustomization) -> Result<()> {
    for field in ["helmCharts", "helmChartInflationGenerator"] {
        if let Some(first) = k
            .field(field)
            .and_then(Node::as_seq)
            .and_then(|s| s.first())
        {
            let mut lines: Vec<String> = first
                .as_map()
                .map(|m| {
                    m.iter()
                        .filter_map(|(key, v)| {
                            let key = match (field, key) {
                                ("helmChartInflationGenerator", "chartName") => "name",
                                ("helmChartInflationGenerator", "chartRepoUrl") => "repo",
                                ("helmChartInflationGenerator", "chartVersion") => "version",
                                _ => key,
                            };
                            v.scalar_text().map(|t| format!("{key}: {t}\n"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            lines.sort();
            return Err(helm_refusal(first, &lines.concat()).or_file(&k.path));
        }
    }
    Ok(())
}

/// An entry that is itself YAML objects (kustomize tries this before reading a path).
pub(super) fn inline(entry: &str, kust_path: &str) -> Result<Option<Vec<Resource>>> {
    if !entry.contains('\n') && !entry.contains(':') {
        return Ok(None);
    }
    let Ok(docs) = parse_stream(entry, kust_path) else {
        return Ok(None);
    };
    let docs: Vec<Node> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if docs.is_empty() || docs.iter().any(|d| d.as_map().is_none()) {
        return Ok(None);
    }
    resources_from_docs(docs, kust_path).map(Some)
}

/// The plugin's own fields (without `apiVersion`, `kind` and `metadata`).
fn body(r: &Resource) -> Map {
    let mut m = r.node.as_map().cloned().unwrap_or_default();
    for key in ["apiVersion", "kind", "metadata"] {
        m.remove(key);
    }
    m
}

/// A kustomization that holds just one field, to run a built-in through the same code
/// as the kustomization field it mirrors.
fn with_field(k: &Kustomization, field: &str, value: Node) -> Kustomization {
    let mut m = Map::new();
    m.insert(field, value);
    Kustomization {
        path: k.path.clone(),
        dir: k.dir.clone(),
        node: std::rc::Rc::new(Node::new(crate::yaml::Value::Map(m), k.node.pos.clone())),
    }
}

fn map_node(m: Map, at: &Node) -> Node {
    Node::new(crate::yaml::Value::Map(m), at.pos.clone())
}

/// Runs `generators:` entries.
pub(super) fn generators(
    loader: &Loader<'_>,
    k: &Kustomization,
    configs: &[Resource],
    ra: &mut Vec<Resource>,
) -> Result<()> {
    for c in configs {
        if !is_builtin(c) {
            return Err(external(c)
                .context("failed to load generator")
                .context("loading generator plugins"));
        }
        let field = match c.kind_str() {
            "ConfigMapGenerator" => "configMapGenerator",
            "SecretGenerator" => "secretGenerator",
            "HelmChartInflationGenerator" => {
                let name = c
                    .node
                    .get("name")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default();
                return Err(helm_refusal(&c.node, &format!("name: {name}\n")));
            }
            other => {
                return Err(
                    BuildError::at(c.pos(), format!("plugin {} not a generator", c.id()))
                        .context(format!("builtin {other}")),
                );
            }
        };
        let mut args = body(c);
        args.insert("name", Node::string(c.name_str()));
        if !c.namespace_str().is_empty() {
            args.insert("namespace", Node::string(c.namespace_str()));
        }
        let fake = with_field(k, field, Node::seq(vec![map_node(args, &c.node)]));
        super::generators::run(loader, &fake, ra)?;
    }
    Ok(())
}

/// Runs `transformers:` entries, after the kustomization's own transformers.
pub(super) fn transformers(
    loader: &Loader<'_>,
    k: &Kustomization,
    configs: &[Resource],
    ra: &mut Vec<Resource>,
) -> Result<()> {
    for c in configs {
        if !is_builtin(c) {
            return Err(external(c));
        }
        let mut b = body(c);
        let specs = parse_specs(b.get("fieldSpecs"))?;
        let text = |m: &Map, key: &str| {
            m.get(key)
                .and_then(Node::scalar_text)
                .unwrap_or_default()
                .to_string()
        };
        match c.kind_str() {
            "PatchTransformer" => {
                let fake = with_field(k, "patches", Node::seq(vec![map_node(b, &c.node)]));
                super::patch::patches(loader, &fake, ra)?;
            }
            "PatchStrategicMergeTransformer" => {
                let mut items: Vec<Node> = b
                    .get("paths")
                    .and_then(Node::as_seq)
                    .cloned()
                    .unwrap_or_default();
                if let Some(p) = b.get("patches").filter(|n| !n.is_null()) {
                    items.push(p.clone());
                }
                let fake = with_field(k, "patchesStrategicMerge", Node::seq(items));
                super::patch::patches_strategic_merge(loader, &fake, ra)?;
            }
            "PatchJson6902Transformer" => {
                if let Some(op) = b.remove("jsonOp") {
                    b.insert("patch", op);
                }
                let fake = with_field(k, "patchesJson6902", Node::seq(vec![map_node(b, &c.node)]));
                super::patch::patches_json6902(loader, &fake, ra)?;
            }
            "ReplacementTransformer" => {
                let reps = b
                    .get("replacements")
                    .cloned()
                    .unwrap_or_else(|| Node::seq(vec![]));
                let fake = with_field(k, "replacements", reps);
                super::replacements::apply(loader, &fake, ra)?;
            }
            "ReplicaCountTransformer" => {
                if let Some(rep) = b.get("replica").cloned() {
                    let fake = with_field(k, "replicas", Node::seq(vec![rep]));
                    super::replicas::apply(&fake, ra)?;
                }
            }
            "ImageTagTransformer" => {
                if let Some(tag) = b.get("imageTag").cloned() {
                    let fake = with_field(k, "images", Node::seq(vec![tag]));
                    super::images::apply(&fake, ra, &specs)?;
                }
            }
            "LabelTransformer" | "AnnotationsTransformer" => {
                let field = if c.kind_str() == "LabelTransformer" {
                    "labels"
                } else {
                    "annotations"
                };
                if let Some(pairs) = b.get(field) {
                    let pairs = super::transformers::string_pairs(pairs, field)?;
                    super::transformers::apply_pairs(ra, &pairs, &specs)?;
                }
            }
            "NamespaceTransformer" => {
                use super::transformers::Subjects;
                let ns = c.namespace_str().to_string();
                let unset_only = text(&b, "unsetOnly") == "true";
                let subjects = match text(&b, "setRoleBindingSubjects").as_str() {
                    "" | "defaultOnly" => Subjects::DefaultOnly,
                    "allServiceAccounts" => Subjects::AllServiceAccounts,
                    "none" => Subjects::No,
                    other => {
                        return Err(BuildError::at(
                            c.pos(),
                            format!(
                                "invalid value \"{other}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                            ),
                        ));
                    }
                };
                super::transformers::namespace_with(&ns, ra, &specs, unset_only, subjects)?;
            }
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let (prefix, suffix) = (text(&b, "prefix"), text(&b, "suffix"));
                let cfg = Config {
                    name_prefix: specs.clone(),
                    name_suffix: specs.clone(),
                    ..Config::default()
                };
                super::transformers::prefix_suffix(&prefix, &suffix, ra, &cfg)?;
            }
            "HashTransformer" => {}
            other => {
                return Err(BuildError::at(
                    c.pos(),
                    format!("unable to load builtin {other}"),
                ));
            }
        }
    }
    Ok(())
}

/// `validators:` entries: kustomize has no builtin validator, so every entry is an
/// external plugin and refused.
pub(super) fn validators(configs: &[Resource]) -> Result<()> {
    match configs.first() {
        Some(c) => Err(external(c)),
        None => Ok(()),
    }
}
