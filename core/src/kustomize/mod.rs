//! A kustomize v5.5-compatible build over an in-memory [`FileTree`].
//!
//! The order of operations follows kustomize's `KustTarget`:
//! for each kustomization, resources (depth-first, each sub-kustomization fully built),
//! then this level's generators, then components (each a mini-build over everything
//! accumulated so far), then this level's transformers in kustomize's fixed order
//! (patchesStrategicMerge, patches, namespace, namePrefix, nameSuffix, labels,
//! commonAnnotations, patchesJson6902, replicas, images, replacements).
//! After the top level: generated names get their hash suffixes, references to renamed
//! objects are fixed, and resources are sorted (legacy order unless `sortOptions` says fifo).
//!
//! [`Build::to_yaml`] prints the result byte-for-byte as `kubectl kustomize` does.

pub mod error;
pub mod fs;
pub mod kustomization;
pub mod resource;

mod generators;
mod images;
mod json6902;
mod merge_keys;
mod namereference;
mod patch;
mod replacements;
mod replicas;
pub mod smp;
mod sort;
mod transformers;

pub use error::{BuildError, Result};
pub use fs::{FileTree, Files};
pub use kustomization::Kustomization;
pub use resource::{ResId, Resource};

use crate::yaml::{Node, Out, emit_documents, parse_stream, to_output};
use fs::{is_within, join, normalize};
use kustomization::display_dir;
use std::collections::HashMap;
use std::sync::Arc;

/// The outcome of a successful build.
#[derive(Clone, Debug)]
pub struct Build {
    /// The resources, in output order.
    pub resources: Vec<Resource>,
    /// Warnings kustomize would print on stderr (deprecated fields).
    pub warnings: Vec<String>,
}

impl Build {
    /// The YAML stream `kubectl kustomize` prints for this build.
    pub fn to_yaml(&self) -> Result<String> {
        let outs: Vec<Out> = self
            .resources
            .iter()
            .map(|r| to_output(&r.node).map_err(|e| BuildError::at(&e.pos, e.message)))
            .collect::<Result<_>>()?;
        Ok(emit_documents(&outs))
    }
}

/// Builds the kustomization in directory `dir` of `tree`.
pub fn build(tree: &dyn Files, dir: &str) -> Result<Build> {
    let Some(dir) = normalize(dir) else {
        return Err(BuildError::msg(format!(
            "must build at directory: not a valid directory: '{dir}'"
        )));
    };
    if tree.is_file(&dir) {
        return Err(BuildError::msg(format!(
            "must build at directory: '{dir}': file is not directory"
        )));
    }
    if !tree.is_dir(&dir) {
        return Err(BuildError::msg(format!(
            "must build at directory: not a valid directory: '{}'",
            display_dir(&dir)
        )));
    }
    let mut b = Builder {
        tree,
        warnings: Vec::new(),
        stack: Vec::new(),
        built: HashMap::new(),
    };
    let (k, mut ra) = b.target(&dir)?;
    if k.is_component() {
        return Err(BuildError::in_file(
            &k.path,
            "a Component cannot be built on its own; list it under 'components:'",
        ));
    }
    generators::add_hashes(&mut ra)?;
    namereference::fix_back_references(&mut ra)?;
    let fifo = k
        .field("sortOptions")
        .and_then(|s| s.get("order"))
        .and_then(Node::scalar_text)
        .is_some_and(|o| o == "fifo");
    if !fifo {
        sort::legacy(&mut ra);
    }
    Ok(Build {
        resources: ra,
        warnings: b.warnings,
    })
}

/// Reads files on behalf of one kustomization, enforcing kustomize's load restriction:
/// a file must be in or below the kustomization's directory.
pub struct Loader<'a> {
    /// The tree.
    pub tree: &'a dyn Files,
    /// The kustomization's directory.
    pub dir: &'a str,
}

impl Loader<'_> {
    /// Reads `rel` (relative to the kustomization directory). Returns the normalised path
    /// and the text.
    pub fn read(&self, rel: &str) -> Result<(String, Arc<str>)> {
        check_not_remote(rel)?;
        let Some(path) = join(self.dir, rel) else {
            return Err(BuildError::msg(format!(
                "'{rel}': no such file or directory (it is outside the tree)"
            )));
        };
        if !is_within(&path, self.dir) {
            return Err(BuildError::msg(format!(
                "security; file '{path}' is not in or below '{}'",
                display_dir(self.dir)
            )));
        }
        match self.tree.read(&path) {
            Some(text) => Ok((path, text)),
            None if self.tree.is_dir(&path) => Err(BuildError::msg(format!(
                "'{path}' is a directory, not a file"
            ))),
            None => Err(BuildError::msg(format!(
                "'{path}': no such file or directory"
            ))),
        }
    }

    /// Reads and parses a YAML file into its documents.
    pub fn read_yaml(&self, rel: &str) -> Result<(String, Vec<Node>)> {
        let (path, text) = self.read(rel)?;
        let docs = parse_stream(&text, &path)?;
        Ok((path, docs))
    }
}

fn check_not_remote(path: &str) -> Result<()> {
    let remote = path.contains("://")
        || path.starts_with("git@")
        || path.starts_with("github.com/")
        || path.starts_with("gitlab.com/")
        || path.starts_with("bitbucket.org/");
    if remote {
        return Err(BuildError::msg(format!(
            "remote resource '{path}' is not supported: planton builds offline; vendor it into the repository"
        )));
    }
    Ok(())
}

struct Builder<'a> {
    tree: &'a dyn Files,
    warnings: Vec<String>,
    /// Directories being built, to refuse cycles.
    stack: Vec<String>,
    /// Finished sub-builds by directory: a base shared by many overlays is built once.
    /// `None` marks a directory built once and not kept.
    built: HashMap<String, Option<(Kustomization, Vec<Resource>)>>,
}

impl Builder<'_> {
    /// Builds one kustomization directory into a fresh resource list.
    fn target(&mut self, dir: &str) -> Result<(Kustomization, Vec<Resource>)> {
        if self.stack.iter().any(|d| d == dir) {
            return Err(BuildError::msg(format!(
                "cycle detected: '{}' includes itself (via {})",
                display_dir(dir),
                self.stack.join(" -> ")
            )));
        }
        if self.stack.len() > 100 {
            return Err(BuildError::msg(
                "kustomizations are nested more than 100 levels deep",
            ));
        }
        if let Some(Some((k, ra))) = self.built.get(dir) {
            // The same directory always builds the same way (its warnings were already
            // recorded the first time).
            return Ok((k.clone(), ra.clone()));
        }
        // Keep a copy only from the second request on: most directories are built once.
        let keep = self.built.contains_key(dir);
        let k = Kustomization::load(self.tree, dir)?;
        self.stack.push(dir.to_string());
        let mut ra = Vec::new();
        let result = self.accumulate(&k, &mut ra);
        self.stack.pop();
        result?;
        let copy = if keep {
            Some((k.clone(), ra.clone()))
        } else {
            None
        };
        self.built.insert(dir.to_string(), copy);
        Ok((k, ra))
    }

    /// kustomize's `accumulateTarget`, into `ra`.
    fn accumulate(&mut self, k: &Kustomization, ra: &mut Vec<Resource>) -> Result<()> {
        self.warnings.extend(k.warnings());
        let loader = Loader {
            tree: self.tree,
            dir: &k.dir,
        };
        let mut entries = k.string_list("resources")?;
        entries.extend(k.string_list("bases")?);
        // Ids already present, so that duplicate checks stay O(1) per resource.
        let mut seen = IdSet::of(ra);
        for (entry, node) in entries {
            self.resource_entry(k, &entry, ra, &mut seen).map_err(|e| {
                let e = e.context(format!("accumulating resources from '{entry}'"));
                if e.file.is_none() {
                    BuildError {
                        file: Some(k.path.as_str().into()),
                        line: node.pos.line,
                        col: node.pos.col,
                        ..e
                    }
                } else {
                    e
                }
            })?;
        }
        generators::run(&loader, k, ra).map_err(|e| e.or_file(&k.path))?;
        for (entry, node) in k.string_list("components")? {
            self.component(k, &entry, ra).map_err(|e| {
                let e = e.context(format!("accumulating components from '{entry}'"));
                if e.file.is_none() {
                    BuildError {
                        file: Some(k.path.as_str().into()),
                        line: node.pos.line,
                        col: node.pos.col,
                        ..e
                    }
                } else {
                    e
                }
            })?;
        }
        transform(&loader, k, ra)
    }

    fn resource_entry(
        &mut self,
        k: &Kustomization,
        entry: &str,
        ra: &mut Vec<Resource>,
        seen: &mut IdSet,
    ) -> Result<()> {
        check_not_remote(entry)?;
        let Some(path) = join(&k.dir, entry) else {
            return Err(BuildError::msg(format!(
                "'{entry}': no such file or directory (it is outside the tree)"
            )));
        };
        if self.tree.is_file(&path) {
            let loader = Loader {
                tree: self.tree,
                dir: &k.dir,
            };
            let (path, docs) = loader.read_yaml(entry)?;
            seen.append_all(ra, resources_from_docs(docs, &path)?, |e| e)
        } else if self.tree.is_dir(&path) {
            let (sub, sub_ra) = self.target(&path)?;
            if sub.is_component() {
                return Err(BuildError::in_file(
                    &sub.path,
                    format!(
                        "expected kind != 'Component' for path '{path}': list a Component under 'components:'"
                    ),
                ));
            }
            seen.append_all(ra, sub_ra, |e| {
                e.context(format!("recursed merging from path '{path}'"))
            })
        } else {
            Err(BuildError::msg(format!(
                "'{path}': no such file or directory"
            )))
        }
    }

    fn component(&mut self, k: &Kustomization, entry: &str, ra: &mut Vec<Resource>) -> Result<()> {
        check_not_remote(entry)?;
        let Some(path) = join(&k.dir, entry).filter(|p| self.tree.is_dir(p)) else {
            return Err(BuildError::msg(format!(
                "'{entry}': component must be a directory"
            )));
        };
        if self.stack.contains(&path) {
            return Err(BuildError::msg(format!(
                "cycle detected: component '{path}' includes itself"
            )));
        }
        let c = Kustomization::load(self.tree, &path)?;
        if !c.is_component() {
            return Err(BuildError::in_file(
                &c.path,
                format!("expected kind 'Component' for path '{path}'"),
            ));
        }
        self.stack.push(path);
        let result = self.accumulate(&c, ra);
        self.stack.pop();
        result
    }
}

/// Turns the documents of a resource file into resources (expanding `List`s).
pub fn resources_from_docs(docs: Vec<Node>, path: &str) -> Result<Vec<Resource>> {
    let source: Arc<str> = Arc::from(path);
    let mut out = Vec::new();
    for doc in docs {
        if doc.as_map().is_none() {
            return Err(BuildError::at(
                &doc.pos,
                "a resource must be a YAML mapping",
            ));
        }
        let kind = doc
            .get("kind")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        if kind.ends_with("List") && doc.get("items").is_some() {
            let items = doc
                .get("items")
                .and_then(Node::as_seq)
                .cloned()
                .unwrap_or_default();
            for item in items {
                if item.as_map().is_none() {
                    return Err(BuildError::at(
                        &item.pos,
                        "a List item must be a YAML mapping",
                    ));
                }
                out.push(check_resource(Resource::new(item, source.clone()))?);
            }
            continue;
        }
        out.push(check_resource(Resource::new(doc, source.clone()))?);
    }
    Ok(out)
}

fn check_resource(r: Resource) -> Result<Resource> {
    if r.kind().is_empty() {
        return Err(BuildError::at(r.pos(), "missing kind in resource"));
    }
    if r.name().is_empty() && r.node.get_path(&["metadata", "generateName"]).is_none() {
        return Err(BuildError::at(
            r.pos(),
            format!("missing metadata.name in {} resource", r.kind()),
        ));
    }
    Ok(r)
}

/// The ids of a resource list (namespace `""` counted as `default`), for O(1) duplicate checks.
struct IdSet(std::collections::HashSet<(String, String, String, String)>);

impl IdSet {
    fn key(r: &Resource) -> (String, String, String, String) {
        let ns = r.namespace_str();
        let ns = if ns.is_empty() { "default" } else { ns };
        (
            r.api_version_str().to_string(),
            r.kind_str().to_string(),
            r.name_str().to_string(),
            ns.to_string(),
        )
    }

    fn of(ra: &[Resource]) -> IdSet {
        IdSet(ra.iter().map(IdSet::key).collect())
    }

    /// Appends resources, refusing an id that is already present.
    fn append_all(
        &mut self,
        ra: &mut Vec<Resource>,
        new: Vec<Resource>,
        ctx: impl Fn(BuildError) -> BuildError,
    ) -> Result<()> {
        for r in new {
            if !self.0.insert(IdSet::key(&r)) {
                let id = r.id();
                return Err(ctx(BuildError::at(
                    r.pos(),
                    format!("may not add resource with an already registered id: {id}"),
                )));
            }
            ra.push(r);
        }
        Ok(())
    }
}

/// Appends a resource, refusing a duplicate id.
pub fn append(ra: &mut Vec<Resource>, r: Resource) -> Result<()> {
    if ra.iter().any(|o| o.same_id(&r)) {
        let id = r.id();
        return Err(BuildError::at(
            r.pos(),
            format!("may not add resource with an already registered id: {id}"),
        ));
    }
    ra.push(r);
    Ok(())
}

/// This level's transformers, in kustomize's fixed order.
fn transform(loader: &Loader<'_>, k: &Kustomization, ra: &mut Vec<Resource>) -> Result<()> {
    let at_file = |e: BuildError| e.or_file(&k.path);
    patch::patches_strategic_merge(loader, k, ra).map_err(at_file)?;
    patch::patches(loader, k, ra).map_err(at_file)?;
    if let Some(ns) = k.string("namespace") {
        transformers::namespace(ns, ra).map_err(at_file)?;
    }
    transformers::prefix_suffix(
        k.string("namePrefix").unwrap_or(""),
        k.string("nameSuffix").unwrap_or(""),
        ra,
    );
    transformers::labels(k, ra).map_err(at_file)?;
    transformers::annotations(k, ra).map_err(at_file)?;
    patch::patches_json6902(loader, k, ra).map_err(at_file)?;
    replicas::apply(k, ra).map_err(at_file)?;
    images::apply(k, ra).map_err(at_file)?;
    replacements::apply(loader, k, ra).map_err(at_file)?;
    Ok(())
}
