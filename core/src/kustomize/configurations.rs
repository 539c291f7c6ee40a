//! `configurations:`: files that extend the built-in field specifications.
//!
//! kustomize keeps one `TransformerConfig` per accumulation: the built-in field specs,
//! merged with every `configurations:` file of the kustomization, of its bases and of its
//! components (`api/internal/plugins/builtinconfig`). Each level's transformers read the
//! config accumulated so far; the final name-reference fix-up and `vars` read the top
//! level's. The built-in specs live with the transformers that use them, so [`Config`]
//! holds only what the files add (a spec the built-ins already have is dropped when its
//! transformer applies it, as kustomize's merge drops duplicates).
//!
//! A configuration file is strict YAML with the fields `namePrefix`, `nameSuffix`,
//! `namespace`, `commonLabels`, `labels`, `templateLabels`, `commonAnnotations`,
//! `nameReference`, `varReference`, `images` and `replicas`; each is a list of field specs
//! (`group`, `version`, `kind`, `path`, `create`), `nameReference` a list of targets
//! (`group`, `version`, `kind`, `fieldSpecs`).

use super::error::{BuildError, Result};
use super::transformers::FieldSpec;
use super::{Kustomization, Loader};
use crate::yaml::{Map, Node};

/// A name-reference target added by a configuration file: objects of this kind are named
/// from the `referrers` fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NameRef {
    /// Target API group (empty: any).
    pub group: String,
    /// Target API version (empty: any).
    pub version: String,
    /// Target kind (empty: any).
    pub kind: String,
    /// The fields that name a target.
    pub referrers: Vec<FieldSpec>,
}

/// The field specs that configuration files add to the built-in ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Config {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const FIELDS: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "templateLabels",
    "commonAnnotations",
    "nameReference",
    "varReference",
    "images",
    "replicas",
];

impl Config {
    /// Reads the `configurations:` files of a kustomization (a missing file is an error).
    pub fn load(loader: &Loader<'_>, k: &Kustomization) -> Result<Config> {
        let mut out = Config::default();
        for (entry, node) in k.string_list("configurations")? {
            let (path, docs) = loader
                .read_yaml(&entry)
                .map_err(|e| e.or_at(&k.path, &node.pos))?;
            for doc in docs.iter().filter(|d| !d.is_null()) {
                out.merge(&parse(doc).map_err(|e| e.or_file(&path))?)?;
            }
        }
        Ok(out)
    }

    /// kustomize's `TransformerConfig.Merge`: specs are added unless the same
    /// group/version/kind/path is there already (with a different `create`, an error).
    pub fn merge(&mut self, other: &Config) -> Result<()> {
        merge_specs(&mut self.name_prefix, &other.name_prefix)?;
        merge_specs(&mut self.name_suffix, &other.name_suffix)?;
        merge_specs(&mut self.namespace, &other.namespace)?;
        merge_specs(&mut self.common_labels, &other.common_labels)?;
        merge_specs(&mut self.labels, &other.labels)?;
        merge_specs(&mut self.template_labels, &other.template_labels)?;
        merge_specs(&mut self.common_annotations, &other.common_annotations)?;
        merge_specs(&mut self.var_reference, &other.var_reference)?;
        merge_specs(&mut self.images, &other.images)?;
        merge_specs(&mut self.replicas, &other.replicas)?;
        for nr in &other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|o| o.group == nr.group && o.version == nr.version && o.kind == nr.kind)
            {
                Some(o) => merge_specs(&mut o.referrers, &nr.referrers)?,
                None => self.name_reference.push(nr.clone()),
            }
        }
        Ok(())
    }
}

/// Adds specs to a list, skipping duplicates (kustomize's `FsSlice.MergeAll`).
pub(crate) fn merge_specs(into: &mut Vec<FieldSpec>, add: &[FieldSpec]) -> Result<()> {
    for fs in add {
        match into.iter().find(|x| same_place(x, fs)) {
            Some(x) if x.create != fs.create => {
                return Err(BuildError::msg(format!(
                    "conflicting fieldspecs: path '{}' of kind '{}' is set both with and without create",
                    fs.path, fs.kind
                )));
            }
            Some(_) => {}
            None => into.push(fs.clone()),
        }
    }
    Ok(())
}

/// Whether two specs name the same field of the same kinds.
pub(crate) fn same_place(a: &FieldSpec, b: &FieldSpec) -> bool {
    a.group == b.group && a.version == b.version && a.kind == b.kind && a.path == b.path
}

/// The specs of `extra` that `defaults` does not already have.
pub(crate) fn beyond(defaults: &[FieldSpec], extra: &[FieldSpec]) -> Vec<FieldSpec> {
    extra
        .iter()
        .filter(|e| !defaults.iter().any(|d| same_place(d, e)))
        .cloned()
        .collect()
}

fn unknown(key: &crate::yaml::Key) -> BuildError {
    BuildError::at(
        &key.pos,
        format!(
            "error unmarshaling JSON: while decoding JSON: json: unknown field \"{}\"",
            key.value
        ),
    )
}

fn strict<'a>(node: &'a Node, known: &[&str], what: &str) -> Result<&'a Map> {
    let Some(map) = node.as_map() else {
        return Err(BuildError::at(
            &node.pos,
            format!("a {what} must be a mapping"),
        ));
    };
    // Go's encoding/json (behind sigs.k8s.io/yaml) matches field names case-insensitively.
    let known_key = |k: &str| known.iter().any(|n| n.eq_ignore_ascii_case(k));
    if let Some((key, _)) = map.entries.iter().find(|(k, _)| !known_key(&k.value)) {
        return Err(unknown(key));
    }
    Ok(map)
}

/// A field looked up the way Go's `encoding/json` does: exact name first, then ignoring case.
fn get<'a>(map: &'a Map, key: &str) -> Option<&'a Node> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn text(map: &Map, key: &str) -> String {
    get(map, key)
        .and_then(Node::scalar_text)
        .unwrap_or_default()
        .to_string()
}

/// Reads a list of field specs.
pub(crate) fn parse_specs(node: Option<&Node>) -> Result<Vec<FieldSpec>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(items) = node.as_seq() else {
        return Err(BuildError::at(&node.pos, "field specs must be a list"));
    };
    let mut out = Vec::new();
    for item in items {
        let map = strict(
            item,
            &["group", "version", "kind", "path", "create"],
            "field spec",
        )?;
        let create = get(map, "create")
            .and_then(Node::scalar_text)
            .is_some_and(|s| s == "true");
        out.push(FieldSpec::new(
            &text(map, "group"),
            &text(map, "version"),
            &text(map, "kind"),
            &text(map, "path"),
            create,
        ));
    }
    Ok(out)
}

fn parse(doc: &Node) -> Result<Config> {
    let map = strict(doc, FIELDS, "configuration")?;
    let specs = |k: &str| parse_specs(get(map, k));
    let mut name_reference = Vec::new();
    if let Some(list) = get(map, "nameReference").filter(|n| !n.is_null()) {
        let Some(items) = list.as_seq() else {
            return Err(BuildError::at(&list.pos, "nameReference must be a list"));
        };
        for item in items {
            let m = strict(
                item,
                &["group", "version", "kind", "fieldSpecs"],
                "nameReference entry",
            )?;
            let nr = NameRef {
                group: text(m, "group"),
                version: text(m, "version"),
                kind: text(m, "kind"),
                referrers: parse_specs(get(m, "fieldSpecs"))?,
            };
            let mut cfg = Config::default();
            cfg.name_reference.push(nr);
            let mut acc = Config {
                name_reference: std::mem::take(&mut name_reference),
                ..Config::default()
            };
            acc.merge(&cfg)?;
            name_reference = acc.name_reference;
        }
    }
    Ok(Config {
        name_prefix: specs("namePrefix")?,
        name_suffix: specs("nameSuffix")?,
        namespace: specs("namespace")?,
        common_labels: specs("commonLabels")?,
        labels: specs("labels")?,
        template_labels: specs("templateLabels")?,
        common_annotations: specs("commonAnnotations")?,
        name_reference,
        var_reference: specs("varReference")?,
        images: specs("images")?,
        replicas: specs("replicas")?,
    })
}
