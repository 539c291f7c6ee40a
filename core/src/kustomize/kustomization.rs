//! Reading a `kustomization.yaml`: finding it, parsing it, refusing unknown fields.
//!
//! The file stays a [`Node`] (so every transformer can read its own section and report
//! positions); this module checks the top-level shape and offers typed access to the
//! fields the build orchestrates.

use super::error::{BuildError, ErrorKind, Message, Result};
use super::fs::{Files, join};
use crate::yaml::{Node, parse_stream};
use std::rc::Rc;

/// The file names kustomize accepts, in the order it looks for them.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every top-level field of kustomize v5.5's `Kustomization` type.
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// Fields kustomize still honours but warns about, with the warning it prints, in the
/// order kustomize's `CheckDeprecatedFields` prints them (not the order of the file).
const DEPRECATED: &[(&str, &str)] = &[
    (
        "bases",
        "'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
    ),
    (
        "commonLabels",
        "'commonLabels' is deprecated. Please use 'labels' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
    ),
    (
        "imageTags",
        "'imageTags' is deprecated. Please use 'images' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
    ),
    (
        "patchesJson6902",
        "'patchesJson6902' is deprecated. Please use 'patches' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
    ),
    (
        "patchesStrategicMerge",
        "'patchesStrategicMerge' is deprecated. Please use 'patches' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
    ),
    (
        "vars",
        "'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] Run 'kustomize edit fix' to update your Kustomization automatically.",
    ),
];

/// A parsed kustomization file.
#[derive(Clone, Debug)]
pub struct Kustomization {
    /// Tree-relative path of the file.
    pub path: String,
    /// Directory containing it (the kustomization root).
    pub dir: String,
    /// The parsed document (shared by the builds that read the same text).
    pub node: Rc<Node>,
}

impl Kustomization {
    /// Finds and parses the kustomization in `dir`.
    pub fn load(tree: &dyn Files, dir: &str) -> Result<Kustomization> {
        Kustomization::load_with(tree, dir, None)
    }

    /// [`Kustomization::load`], with the file's documents kept in (and taken from) `memo`
    /// when its text was parsed before.
    pub(super) fn load_with(
        tree: &dyn Files,
        dir: &str,
        memo: Option<&super::memo::BuildMemo>,
    ) -> Result<Kustomization> {
        // A kustomization file that is a link leading out of its directory cannot be
        // loaded (kustomize's load restrictor), so it counts as missing.
        let root = tree.real_path(dir);
        let mut found = FILE_NAMES
            .iter()
            .filter_map(|n| join(dir, n))
            .filter(|p| tree.is_file(p))
            .filter(|p| match (tree.real_path(p), &root) {
                (Some(real), Some(root)) => super::fs::is_within(&real, root),
                _ => false,
            });
        let first = found.next();
        if first.is_some() && found.next().is_some() {
            return Err(BuildError::msg(
                Message::text("Found multiple kustomization files under: ").path(dir),
            ));
        }
        let Some(path) = first else {
            return Err(BuildError::new(
                ErrorKind::NotFound,
                Message::text(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '",
                )
                .path(dir)
                .then("'"),
            ));
        };
        let text = tree.read(&path).unwrap_or_else(|| "".into());
        // The memo keeps only kustomizations that loaded (its checks passed).
        if let Some(node) = memo.and_then(|m| m.kustomization(&path, &text)) {
            return Ok(Kustomization {
                path,
                dir: dir.to_string(),
                node,
            });
        }
        let mut docs = parse_stream(&text, &path)?;
        if docs.len() > 1 {
            return Err(BuildError::in_file(
                &path,
                "a kustomization file must hold exactly one document",
            ));
        }
        let node = docs.pop().unwrap_or_else(Node::map);
        let Some(map) = node.as_map() else {
            return Err(BuildError::at(
                &node.pos,
                "invalid Kustomization: the document is not a mapping",
            ));
        };
        for (key, _) in &map.entries {
            if !KNOWN_FIELDS.contains(&key.value.as_str()) {
                let hint = crate::suggest::did_you_mean(&key.value, KNOWN_FIELDS.iter().copied())
                    .map(|s| format!(" (did you mean \"{s}\"?)"))
                    .unwrap_or_default();
                return Err(BuildError::at(
                    &key.pos,
                    format!(
                        "invalid Kustomization: json: unknown field \"{}\"{hint}",
                        key.value
                    ),
                ));
            }
        }
        let node = Rc::new(node);
        if let Some(m) = memo {
            m.keep_kustomization(&path, &text, node.clone());
        }
        Ok(Kustomization {
            path,
            dir: dir.to_string(),
            node,
        })
    }

    /// kustomize's `CheckEmpty`: apart from `apiVersion` and `kind`, every field is absent,
    /// null or an empty string (an empty list or map counts as set; `bases`, `imageTags` and
    /// `helmChartInflationGenerator` are moved elsewhere first and count only when they hold
    /// something). Checked after the deprecation warnings, as kustomize does.
    pub fn check_empty(&self) -> Result<()> {
        let Some(map) = self.node.as_map() else {
            return Ok(());
        };
        let set = map.iter().any(|(key, value)| match key {
            "apiVersion" | "kind" => false,
            "bases" | "imageTags" | "helmChartInflationGenerator" => {
                value.as_seq().is_some_and(|s| !s.is_empty())
            }
            _ if value.is_null() => false,
            _ => value.scalar_text().is_none_or(|text| !text.is_empty()),
        });
        if set {
            Ok(())
        } else {
            Err(BuildError::in_file(
                &self.path,
                "kustomization.yaml is empty",
            ))
        }
    }

    /// `kind` (`Kustomization` when absent).
    pub fn kind(&self) -> &str {
        self.node
            .get("kind")
            .and_then(Node::scalar_text)
            .unwrap_or("Kustomization")
    }

    /// Whether this is a `kind: Component`.
    pub fn is_component(&self) -> bool {
        self.kind() == "Component"
    }

    /// A field, if present and not null.
    pub fn field(&self, name: &str) -> Option<&Node> {
        self.node.get(name).filter(|n| !n.is_null())
    }

    /// A string field (`namespace`, `namePrefix`, ...).
    pub fn string(&self, name: &str) -> Option<&str> {
        self.field(name).and_then(Node::scalar_text)
    }

    /// A list of strings (`resources`, `components`, ...); a non-string item is an error.
    pub fn string_list(&self, name: &str) -> Result<Vec<(String, &Node)>> {
        let Some(node) = self.field(name) else {
            return Ok(Vec::new());
        };
        let Some(items) = node.as_seq() else {
            return Err(BuildError::at(
                &node.pos,
                format!("invalid Kustomization: {name} must be a list"),
            ));
        };
        items
            .iter()
            .map(|i| match i.scalar_text() {
                Some(s) => Ok((s.to_string(), i)),
                None => Err(BuildError::at(
                    &i.pos,
                    format!("invalid Kustomization: {name} entries must be strings"),
                )),
            })
            .collect()
    }

    /// Deprecation warnings for this file, as kustomize prints them on stderr: a field set
    /// to null is absent for kustomize and gets no warning.
    pub fn warnings(&self) -> Vec<String> {
        DEPRECATED
            .iter()
            .filter(|(f, _)| self.field(f).is_some())
            .map(|(_, w)| format!("# Warning: {w}"))
            .collect()
    }
}
