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
pub mod memo;
pub mod resource;

mod configurations;
mod generators;
mod images;
mod json6902;
mod merge_keys;
mod namereference;
mod patch;
mod plugins;
mod replacements;
mod replicas;
pub mod smp;
mod sort;
mod transformers;
mod vars;

pub use error::{BuildError, ErrorKind, Message, Result};
pub use fs::{FileTree, Files};
pub use kustomization::Kustomization;
pub use resource::{ResId, Resource};

use crate::yaml::{Node, emit_node_into, parse_stream, to_output};
use error::ErrorKind as K;
use fs::{is_within, join, normalize};
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
    ///
    /// Each resource is written straight from its tree (as `emit_documents` writes what
    /// `to_output` makes of it, without that copy).
    pub fn to_yaml(&self) -> Result<String> {
        let mut out = String::new();
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            if let Err(e) = emit_node_into(&mut out, &r.node) {
                // The error `to_output` reports (its walk is in source order, the
                // emitter's in output order): the first unprintable value as written.
                let e = to_output(&r.node).err().unwrap_or(e);
                return Err(BuildError::at(&e.pos, e.message));
            }
        }
        Ok(out)
    }
}

/// Builds the kustomization in directory `dir` of `tree`.
pub fn build(tree: &dyn Files, dir: &str) -> Result<Build> {
    build_inner(tree, dir, None)
}

/// [`build`] through `rec` (which records what the build read), reusing the sub-builds
/// `memo` kept from earlier builds whose files did not change, and keeping this build's.
/// The result equals [`build`]'s on the same files.
pub fn build_with_memo(
    rec: &memo::Recorder<'_>,
    dir: &str,
    memo: &memo::BuildMemo,
) -> Result<Build> {
    build_inner(rec, dir, Some((memo, rec)))
}

fn build_inner(
    tree: &dyn Files,
    dir: &str,
    memo: Option<(&memo::BuildMemo, &memo::Recorder<'_>)>,
) -> Result<Build> {
    let Some(dir) = normalize(dir) else {
        return Err(BuildError::new(
            K::NotFound,
            format!("must build at directory: not a valid directory: '{dir}'"),
        ));
    };
    if tree.is_file(&dir) {
        return Err(BuildError::new(
            K::WrongFileType,
            Message::text("must build at directory: '")
                .path(&dir)
                .then("': file is not directory"),
        ));
    }
    if !tree.is_dir(&dir) {
        return Err(BuildError::new(
            K::NotFound,
            Message::text("must build at directory: not a valid directory: '")
                .path(&dir)
                .then("'"),
        ));
    }
    let budget = CopyBudget::default();
    let mut b = Builder {
        tree,
        budget: &budget,
        warnings: Vec::new(),
        stack: Vec::new(),
        built: HashMap::new(),
        memo,
        deepest: 0,
    };
    // The root is the directory's real path (kustomize evaluates its symlinks).
    let dir = tree.real_path(&dir).unwrap_or(dir);
    // A directory whose kustomization is a Component builds like a Kustomization.
    let (k, mut ra, extras) = b.target(&dir)?;
    generators::add_hashes(&mut ra)?;
    namereference::fix_back_references(&mut ra, &extras.config.name_reference)?;
    let unused = vars::resolve(&mut ra, &extras.vars, &extras.config.var_reference)?;
    if !unused.is_empty() {
        b.warnings.push(format!(
            "well-defined vars that were never replaced: {}",
            unused.join(",")
        ));
    }
    // kustomize's IgnoreLocal: objects annotated `config.kubernetes.io/local-config`
    // (with any value but "false") served the build (e.g. as replacement sources) and are
    // not printed.
    ra.retain(|r| {
        r.node
            .get_path(&[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ])
            .is_none_or(|v| v.scalar_text() == Some("false"))
    });
    drop_empty_annotations(&mut ra);
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

/// kustomize rewrites every resource's annotations when it removes its internal build
/// annotations, and kyaml clears an empty annotation map: `annotations: {}` (or null) is
/// not printed, while an empty `labels` is.
fn drop_empty_annotations(ra: &mut [Resource]) {
    for r in ra {
        let Some(meta) = r.node.get_mut("metadata").and_then(Node::as_map_mut) else {
            continue;
        };
        let empty = meta
            .get("annotations")
            .is_some_and(|a| a.is_null() || a.as_map().is_some_and(|m| m.is_empty()));
        if empty {
            meta.remove("annotations");
        }
    }
}

/// Reads files on behalf of one kustomization, enforcing kustomize's load restriction:
/// a file must be in or below the kustomization's directory.
pub struct Loader<'a> {
    /// The tree.
    pub tree: &'a dyn Files,
    /// The kustomization's directory.
    pub dir: &'a str,
    /// What copying may still create in this build.
    pub(crate) budget: &'a CopyBudget,
    /// Parsed files kept across builds ([`build_with_memo`]).
    pub(crate) memo: Option<&'a memo::BuildMemo>,
}

/// The most nodes that copying (JSON patch `copy`, replacements) may create in one build:
/// far beyond any real use (a large CRD has some tens of thousands of nodes), and small enough
/// that a build stays well inside 2 GB of memory.
pub const MAX_COPIED_NODES: usize = 2_000_000;

/// What copying may still create in one build (see [`MAX_COPIED_NODES`]).
#[derive(Debug)]
pub struct CopyBudget(std::cell::Cell<usize>);

impl Default for CopyBudget {
    fn default() -> CopyBudget {
        CopyBudget(std::cell::Cell::new(MAX_COPIED_NODES))
    }
}

impl CopyBudget {
    /// Spends `nodes`, or refuses when the build would exceed [`MAX_COPIED_NODES`].
    pub fn spend(&self, nodes: usize) -> std::result::Result<(), String> {
        let left = self.0.get();
        if nodes > left {
            return Err(format!(
                "copying {nodes} more nodes would exceed the {MAX_COPIED_NODES} nodes a build may create by copying"
            ));
        }
        self.0.set(left - nodes);
        Ok(())
    }
}

impl Loader<'_> {
    /// Reads `rel` (relative to the kustomization directory). Returns the normalised path
    /// and the text.
    pub fn read(&self, rel: &str) -> Result<(String, Arc<str>)> {
        check_not_remote(rel)?;
        let Some(path) = join(self.dir, rel) else {
            return Err(BuildError::new(
                K::OutsideRoot,
                format!("'{rel}': no such file or directory (it is outside the tree)"),
            ));
        };
        // kustomize's load restrictor compares real paths: a link that leads out of the
        // kustomization root is refused like a path that does.
        let inside = is_within(&path, self.dir)
            && match (self.tree.real_path(&path), self.tree.real_path(self.dir)) {
                (Some(real), Some(root)) => is_within(&real, &root),
                _ => false,
            };
        if !inside && (self.tree.is_file(&path) || !is_within(&path, self.dir)) {
            return Err(BuildError::new(
                K::OutsideRoot,
                Message::text("security; file '")
                    .path(&path)
                    .then("' is not in or below '")
                    .path(self.dir)
                    .then("'"),
            ));
        }
        match self.tree.read(&path) {
            Some(text) => Ok((path, text)),
            None if self.tree.is_dir(&path) => Err(BuildError::new(
                K::WrongFileType,
                Message::text("'")
                    .path(&path)
                    .then("' is a directory, not a file"),
            )),
            None => Err(not_found(&path)),
        }
    }

    /// Reads and parses a YAML file into its documents (shared with the memo, when the
    /// build has one, so an unchanged file is neither parsed nor copied again).
    pub fn read_yaml(&self, rel: &str) -> Result<(String, memo::Docs)> {
        let (path, text) = self.read(rel)?;
        if let Some(docs) = self.memo.and_then(|m| m.parsed(&path, &text)) {
            return Ok((path, docs));
        }
        let docs: memo::Docs = parse_stream(&text, &path)?.into();
        if let Some(m) = self.memo {
            m.keep_parsed(&path, &text, docs.clone());
        }
        Ok((path, docs))
    }
}

/// kustomize's "no such file or directory" for a tree path.
fn not_found(path: &str) -> BuildError {
    BuildError::new(
        K::NotFound,
        Message::text("'")
            .path(path)
            .then("': no such file or directory"),
    )
}

fn check_not_remote(path: &str) -> Result<()> {
    let remote = path.contains("://")
        || path.starts_with("git@")
        || path.starts_with("github.com/")
        || path.starts_with("gitlab.com/")
        || path.starts_with("bitbucket.org/");
    if remote {
        return Err(BuildError::new(
            K::Unsupported,
            format!(
                "remote resource '{path}' is not supported: planton builds offline; vendor it into the repository"
            ),
        ));
    }
    Ok(())
}

/// What an accumulation carries besides its resources: the field specs added by
/// `configurations:` and the `vars` defined so far (kustomize's `ResAccumulator`).
#[derive(Clone, Debug, Default)]
struct Extras {
    config: configurations::Config,
    vars: Vec<vars::Var>,
}

impl Extras {
    /// kustomize's `MergeAccumulator` (without the resources).
    fn absorb(&mut self, other: &Extras) -> Result<()> {
        self.config.merge(&other.config)?;
        vars::merge_set(&mut self.vars, &other.vars)
    }
}

struct Builder<'a> {
    tree: &'a dyn Files,
    budget: &'a CopyBudget,
    warnings: Vec<String>,
    /// Directories being built, to refuse cycles.
    stack: Vec<String>,
    /// Finished sub-builds by directory: a base shared by many overlays is built once.
    /// `None` marks a directory built once and not kept.
    built: HashMap<String, Option<(Kustomization, Vec<Resource>, Extras)>>,
    /// Sub-builds kept across builds, and the recorder of what this build reads.
    memo: Option<(&'a memo::BuildMemo, &'a memo::Recorder<'a>)>,
    /// The deepest the stack has been (for reusing a kept sub-build only where a fresh one
    /// would not nest too deeply).
    deepest: usize,
}

/// How deeply kustomizations and components may nest (each level one recursion of the
/// build, so the bound also protects the stack, the browser's included).
const MAX_NESTING: usize = 100;

impl Builder<'_> {
    /// Refuses one more level of resources or components beyond [`MAX_NESTING`].
    fn check_nesting(&self) -> Result<()> {
        if self.stack.len() >= MAX_NESTING {
            return Err(BuildError::new(
                K::Limit,
                format!(
                    "kustomizations and components are nested more than {MAX_NESTING} levels deep"
                ),
            ));
        }
        Ok(())
    }

    /// Builds one kustomization directory into a fresh resource list.
    fn target(&mut self, dir: &str) -> Result<(Kustomization, Vec<Resource>, Extras)> {
        if self.stack.iter().any(|d| d == dir) {
            let mut via = Message::text("cycle detected: '")
                .path(dir)
                .then("' includes itself (via ");
            for (i, d) in self.stack.iter().enumerate() {
                via = if i == 0 { via } else { via.then(" -> ") }.path(d);
            }
            return Err(BuildError::new(K::Cycle, via.then(")")));
        }
        self.check_nesting()?;
        if let Some((memo, rec)) = self.memo
            && !self.stack.is_empty()
        {
            return self.target_memo(dir, memo, rec);
        }
        if let Some(Some((k, ra, ex))) = self.built.get(dir) {
            // The same directory always builds the same way (its warnings were already
            // recorded the first time).
            return Ok((k.clone(), ra.clone(), ex.clone()));
        }
        // Keep a copy only from the second request on: most directories are built once.
        let keep = self.built.contains_key(dir);
        let k = Kustomization::load_with(self.tree, dir, self.memo.map(|(m, _)| m))?;
        k.check_empty()?;
        self.stack.push(dir.to_string());
        self.deepest = self.deepest.max(self.stack.len());
        let mut ra = Vec::new();
        let mut ex = Extras::default();
        let result = self.accumulate(&k, &mut ra, &mut ex);
        self.stack.pop();
        result?;
        let copy = if keep {
            Some((k.clone(), ra.clone(), ex.clone()))
        } else {
            None
        };
        self.built.insert(dir.to_string(), copy);
        Ok((k, ra, ex))
    }

    /// [`Builder::target`] of a directory built as a resource of another, through the
    /// memo: a kept build whose files did not change is reused (its warnings counted once
    /// per build, as a fresh build counts them), else the directory is built and kept.
    fn target_memo(
        &mut self,
        dir: &str,
        memo: &memo::BuildMemo,
        rec: &memo::Recorder<'_>,
    ) -> Result<(Kustomization, Vec<Resource>, Extras)> {
        let first = !self.built.contains_key(dir);
        if let Some(kept) = memo.get(dir, rec)
            && self.stack.len() + kept.depth <= MAX_NESTING
        {
            if first {
                self.warnings.extend(kept.warnings.iter().cloned());
                self.built.insert(dir.to_string(), None);
            }
            self.deepest = self.deepest.max(self.stack.len() + kept.depth);
            return Ok((kept.k.clone(), kept.ra.clone(), kept.ex.clone()));
        }
        let mark = rec.mark();
        let warned = self.warnings.len();
        let (outer, start) = (self.deepest, self.stack.len());
        self.deepest = start;
        let k = Kustomization::load_with(self.tree, dir, self.memo.map(|(m, _)| m))?;
        k.check_empty()?;
        self.stack.push(dir.to_string());
        self.deepest = self.deepest.max(self.stack.len());
        let mut ra = Vec::new();
        let mut ex = Extras::default();
        let result = self.accumulate(&k, &mut ra, &mut ex);
        self.stack.pop();
        let depth = self.deepest.saturating_sub(start);
        self.deepest = outer.max(self.deepest);
        result?;
        let warnings = self.warnings.get(warned..).unwrap_or_default().to_vec();
        if !first {
            // A repeat within one build adds no warnings (see `target`).
            self.warnings.truncate(warned);
        }
        self.built.insert(dir.to_string(), None);
        memo.put(
            dir,
            memo::Kept {
                deps: rec.deps_since(mark),
                k: k.clone(),
                ra: ra.clone(),
                ex: ex.clone(),
                warnings,
                depth,
            },
        );
        Ok((k, ra, ex))
    }

    /// kustomize's `accumulateTarget`, into `ra`.
    fn accumulate(
        &mut self,
        k: &Kustomization,
        ra: &mut Vec<Resource>,
        ex: &mut Extras,
    ) -> Result<()> {
        self.warnings.extend(k.warnings());
        let loader = Loader {
            tree: self.tree,
            dir: &k.dir,
            budget: self.budget,
            memo: self.memo.map(|(m, _)| m),
        };
        let mut entries = k.string_list("resources")?;
        entries.extend(k.string_list("bases")?);
        // Ids already present, so that duplicate checks stay O(1) per resource.
        let mut seen = IdSet::of(ra);
        for (entry, node) in entries {
            self.resource_entry(k, &entry, ra, &mut seen, ex)
                .map_err(|e| {
                    e.context(format!("accumulating resources from '{entry}'"))
                        .or_at(&k.path, &node.pos)
                })?;
        }
        let config = configurations::Config::load(&loader, k)?;
        ex.config.merge(&config).map_err(|e| e.or_file(&k.path))?;
        plugins::refuse_helm(k)?;
        generators::run(&loader, k, ra).map_err(|e| e.or_file(&k.path))?;
        let configs = self.plugin_configs(k, "generators")?;
        plugins::generators(&loader, k, &configs, ra).map_err(|e| e.or_file(&k.path))?;
        for (entry, node) in k.string_list("components")? {
            self.component(k, &entry, ra, ex).map_err(|e| {
                e.context(format!("accumulating components from '{entry}'"))
                    .or_at(&k.path, &node.pos)
            })?;
        }
        transform(&loader, k, ra, &ex.config)?;
        let configs = self.plugin_configs(k, "transformers")?;
        plugins::transformers(&loader, k, &configs, ra).map_err(|e| e.or_file(&k.path))?;
        let configs = self.plugin_configs(k, "validators")?;
        plugins::validators(&configs)?;
        vars::merge_level(k, ra, &mut ex.vars).map_err(|e| e.or_file(&k.path))
    }

    /// The plugin configurations listed under `generators:`, `transformers:` or
    /// `validators:`: inline YAML objects, files, or kustomization directories (whose
    /// built output is the list of configurations), as kustomize reads them.
    fn plugin_configs(&mut self, k: &Kustomization, field: &str) -> Result<Vec<Resource>> {
        let mut out = Vec::new();
        for (entry, node) in k.string_list(field)? {
            if let Some(inline) = plugins::inline(&entry, &k.path)? {
                out.extend(inline);
                continue;
            }
            let mut seen = IdSet::of(&out);
            let mut ex = Extras::default();
            self.resource_entry(k, &entry, &mut out, &mut seen, &mut ex)
                .map_err(|e| {
                    e.context(format!("accumulating resources from '{entry}'"))
                        .or_at(&k.path, &node.pos)
                })?;
        }
        Ok(out)
    }

    fn resource_entry(
        &mut self,
        k: &Kustomization,
        entry: &str,
        ra: &mut Vec<Resource>,
        seen: &mut IdSet,
        ex: &mut Extras,
    ) -> Result<()> {
        check_not_remote(entry)?;
        let Some(path) = join(&k.dir, entry) else {
            return Err(BuildError::new(
                K::OutsideRoot,
                format!("'{entry}': no such file or directory (it is outside the tree)"),
            ));
        };
        if self.tree.is_file(&path) {
            let loader = Loader {
                tree: self.tree,
                dir: &k.dir,
                budget: self.budget,
                memo: self.memo.map(|(m, _)| m),
            };
            let (path, docs) = loader.read_yaml(entry)?;
            seen.append_all(ra, resources_from_docs(docs.to_vec(), &path)?, |e| e)
        } else if self.tree.is_dir(&path) {
            // A directory may be anywhere (it is a root of its own), at its real path.
            let path = self.tree.real_path(&path).unwrap_or(path);
            let (sub, sub_ra, sub_ex) = self.target(&path)?;
            if sub.is_component() {
                return Err(BuildError::in_file(
                    &sub.path,
                    Message::text("expected kind != 'Component' for path '")
                        .path(&path)
                        .then("': list a Component under 'components:'"),
                ));
            }
            let ctx = || {
                Message::text("recursed merging from path '")
                    .path(&path)
                    .then("'")
            };
            seen.append_all(ra, sub_ra, |e| e.context(ctx()))?;
            ex.absorb(&sub_ex).map_err(|e| e.context(ctx()))
        } else {
            Err(not_found(&path))
        }
    }

    fn component(
        &mut self,
        k: &Kustomization,
        entry: &str,
        ra: &mut Vec<Resource>,
        ex: &mut Extras,
    ) -> Result<()> {
        check_not_remote(entry)?;
        let Some(path) = join(&k.dir, entry).filter(|p| self.tree.is_dir(p)) else {
            return Err(BuildError::new(
                K::NotFound,
                format!("'{entry}': component must be a directory"),
            ));
        };
        let path = self.tree.real_path(&path).unwrap_or(path);
        if self.stack.contains(&path) {
            return Err(BuildError::new(
                K::Cycle,
                Message::text("cycle detected: component '")
                    .path(&path)
                    .then("' includes itself"),
            ));
        }
        self.check_nesting()?;
        let c = Kustomization::load_with(self.tree, &path, self.memo.map(|(m, _)| m))?;
        c.check_empty()?;
        if !c.is_component() {
            return Err(BuildError::in_file(
                &c.path,
                Message::text("expected kind 'Component' for path '")
                    .path(&path)
                    .then("'"),
            ));
        }
        self.stack.push(path);
        self.deepest = self.deepest.max(self.stack.len());
        let result = self.accumulate(&c, ra, ex);
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
                )
                .kind(K::DuplicateId)));
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
        )
        .kind(K::DuplicateId));
    }
    ra.push(r);
    Ok(())
}

/// This level's transformers, in kustomize's fixed order.
fn transform(
    loader: &Loader<'_>,
    k: &Kustomization,
    ra: &mut Vec<Resource>,
    config: &configurations::Config,
) -> Result<()> {
    let at_file = |e: BuildError| e.or_file(&k.path);
    patch::patches_strategic_merge(loader, k, ra).map_err(at_file)?;
    patch::patches(loader, k, ra).map_err(at_file)?;
    if let Some(ns) = k.string("namespace") {
        transformers::namespace(ns, ra, &config.namespace).map_err(at_file)?;
    }
    transformers::prefix_suffix(
        k.string("namePrefix").unwrap_or(""),
        k.string("nameSuffix").unwrap_or(""),
        ra,
        config,
    )
    .map_err(at_file)?;
    transformers::labels(k, ra, config).map_err(at_file)?;
    transformers::annotations(k, ra, &config.common_annotations).map_err(at_file)?;
    patch::patches_json6902(loader, k, ra).map_err(at_file)?;
    replicas::apply(k, ra).map_err(at_file)?;
    images::apply(k, ra, &config.images).map_err(at_file)?;
    replacements::apply(loader, k, ra).map_err(at_file)?;
    Ok(())
}
