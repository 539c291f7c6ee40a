//! Reuse of sub-builds across builds, for front ends that build again after every edit (the
//! web editor): [`BuildMemo`] keeps the result of each kustomization directory built as a
//! resource of another (a base shared by overlays), with every question the build asked the
//! file tree and the answer it got ([`Deps`]). A later build reuses the result when every one
//! of those questions still gets the same answer, so it is the result a fresh build would
//! compute. [`Recorder`] is the [`Files`] wrapper that writes the questions down.
//!
//! Answers are compared by content; a file whose `Arc` was not replaced compares in O(1).
//! The memo also keeps the documents of each YAML file the builds parsed, by path and text.

use super::fs::Files;
use super::resource::Resource;
use super::{Extras, Kustomization};
use crate::yaml::Node;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

/// One question a build asked the file tree, with its answer.
#[derive(Clone, Debug)]
enum Answer {
    Read(Option<Arc<str>>),
    Bytes(Option<Arc<[u8]>>),
    IsDir(bool),
    IsFile(bool),
    List(Vec<String>),
    Real(Option<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Question {
    Read,
    Bytes,
    IsDir,
    IsFile,
    List,
    Real,
}

fn same_text(a: &Option<Arc<str>>, b: &Option<Arc<str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    }
}

impl Answer {
    fn ask(q: Question, files: &dyn Files, path: &str) -> Answer {
        match q {
            Question::Read => Answer::Read(files.read(path)),
            Question::Bytes => Answer::Bytes(files.read_bytes(path)),
            Question::IsDir => Answer::IsDir(files.is_dir(path)),
            Question::IsFile => Answer::IsFile(files.is_file(path)),
            Question::List => Answer::List(files.list_dir(path)),
            Question::Real => Answer::Real(files.real_path(path)),
        }
    }

    /// Whether `files` still answers `q` about `path` this way.
    fn holds(&self, q: Question, files: &dyn Files, path: &str) -> bool {
        match (self, Answer::ask(q, files, path)) {
            (Answer::Read(a), Answer::Read(b)) => same_text(a, &b),
            (Answer::Bytes(a), Answer::Bytes(b)) => match (a, &b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                (None, None) => true,
                _ => false,
            },
            (Answer::IsDir(a), Answer::IsDir(b)) | (Answer::IsFile(a), Answer::IsFile(b)) => {
                *a == b
            }
            (Answer::List(a), Answer::List(b)) => *a == b,
            (Answer::Real(a), Answer::Real(b)) => *a == b,
            _ => false,
        }
    }
}

/// What a computation read from the file tree: each question once, with its answer.
#[derive(Clone, Debug, Default)]
pub struct Deps(Rc<[(Question, String, Answer)]>);

impl Deps {
    /// Whether `files` gives every recorded answer again (so the computation would too).
    pub fn hold(&self, files: &dyn Files) -> bool {
        self.0.iter().all(|(q, p, a)| a.holds(*q, files, p))
    }

    /// How many distinct questions were asked.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was asked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A [`Files`] that writes down every question and answer, so that what a computation
/// read can be checked again later ([`Recorder::deps_since`]).
pub struct Recorder<'a> {
    inner: &'a dyn Files,
    log: RefCell<Vec<(Question, String, Answer)>>,
}

impl<'a> Recorder<'a> {
    /// Records the questions asked of `inner`.
    pub fn new(inner: &'a dyn Files) -> Recorder<'a> {
        Recorder {
            inner,
            log: RefCell::new(Vec::new()),
        }
    }

    /// A mark to pass to [`Recorder::deps_since`].
    pub fn mark(&self) -> usize {
        self.log.borrow().len()
    }

    /// Every distinct question asked since `mark`.
    pub fn deps_since(&self, mark: usize) -> Deps {
        let log = self.log.borrow();
        let mut seen: BTreeMap<(Question, &str), &Answer> = BTreeMap::new();
        for (q, p, a) in log.get(mark..).unwrap_or(&[]) {
            seen.entry((*q, p.as_str())).or_insert(a);
        }
        Deps(
            seen.into_iter()
                .map(|((q, p), a)| (q, p.to_string(), a.clone()))
                .collect(),
        )
    }

    /// Adds `deps` to the record as if they were asked now (a reused result read them).
    fn replay(&self, deps: &Deps) {
        self.log.borrow_mut().extend(deps.0.iter().cloned());
    }

    fn note(&self, q: Question, path: &str, a: Answer) {
        self.log.borrow_mut().push((q, path.to_string(), a));
    }
}

impl Files for Recorder<'_> {
    fn read(&self, path: &str) -> Option<Arc<str>> {
        let r = self.inner.read(path);
        self.note(Question::Read, path, Answer::Read(r.clone()));
        r
    }
    fn is_dir(&self, path: &str) -> bool {
        let r = self.inner.is_dir(path);
        self.note(Question::IsDir, path, Answer::IsDir(r));
        r
    }
    fn is_file(&self, path: &str) -> bool {
        let r = self.inner.is_file(path);
        self.note(Question::IsFile, path, Answer::IsFile(r));
        r
    }
    fn list_dir(&self, dir: &str) -> Vec<String> {
        let r = self.inner.list_dir(dir);
        self.note(Question::List, dir, Answer::List(r.clone()));
        r
    }
    fn read_bytes(&self, path: &str) -> Option<Arc<[u8]>> {
        let r = self.inner.read_bytes(path);
        self.note(Question::Bytes, path, Answer::Bytes(r.clone()));
        r
    }
    fn real_path(&self, path: &str) -> Option<String> {
        let r = self.inner.real_path(path);
        self.note(Question::Real, path, Answer::Real(r.clone()));
        r
    }
}

/// A finished sub-build.
#[derive(Clone)]
pub(super) struct Kept {
    pub(super) deps: Deps,
    pub(super) k: Kustomization,
    pub(super) ra: Vec<Resource>,
    pub(super) ex: Extras,
    /// The warnings the sub-build added.
    pub(super) warnings: Vec<String>,
    /// How many levels of kustomizations and components it nested below itself.
    pub(super) depth: usize,
}

/// A parsed file's documents, shared by every build that reads the same text.
pub type Docs = Rc<[Node]>;

/// A parsed file: the text parsed and its documents.
type Parsed = (Arc<str>, Docs);

/// A kustomization file: the text read and its document.
type KeptKustomization = (Arc<str>, Rc<Node>);

/// Sub-builds kept across builds ([`super::build_with_memo`]), by directory: the last
/// successful build of each kustomization directory that was built as a resource of
/// another. A front end keeps one per open service and builds through it after each edit.
#[derive(Default)]
pub struct BuildMemo {
    kept: RefCell<HashMap<String, Rc<Kept>>>,
    /// Files parsed by earlier builds: path → (the text parsed, its documents).
    parsed: RefCell<HashMap<String, Parsed>>,
    /// Kustomization files read by earlier builds: path → (the text, its one document).
    kustomizations: RefCell<HashMap<String, KeptKustomization>>,
    hits: std::cell::Cell<u64>,
}

impl BuildMemo {
    /// An empty memo.
    pub fn new() -> BuildMemo {
        BuildMemo::default()
    }

    /// How many sub-builds were reused so far.
    pub fn hits(&self) -> u64 {
        self.hits.get()
    }

    /// The kept build of `dir`, when `rec`'s tree still answers everything it asked; its
    /// questions are added to `rec`'s record.
    pub(super) fn get(&self, dir: &str, rec: &Recorder<'_>) -> Option<Rc<Kept>> {
        let kept = self.kept.borrow().get(dir).cloned()?;
        if !kept.deps.hold(rec.inner) {
            return None;
        }
        rec.replay(&kept.deps);
        self.hits.set(self.hits.get() + 1);
        Some(kept)
    }

    pub(super) fn put(&self, dir: &str, kept: Kept) {
        self.kept
            .borrow_mut()
            .insert(dir.to_string(), Rc::new(kept));
    }

    /// The documents of file `path` when `text` is what was parsed last time (shared, not
    /// copied: a build reads them and copies only what it keeps).
    pub(super) fn parsed(&self, path: &str, text: &Arc<str>) -> Option<Docs> {
        let parsed = self.parsed.borrow();
        let (t, docs) = parsed.get(path)?;
        (Arc::ptr_eq(t, text) || **t == **text).then(|| docs.clone())
    }

    /// Keeps the documents parsed from `text` at `path`.
    pub(super) fn keep_parsed(&self, path: &str, text: &Arc<str>, docs: Docs) {
        self.parsed
            .borrow_mut()
            .insert(path.to_string(), (text.clone(), docs));
    }

    /// The document of kustomization file `path` when `text` is what was read last time.
    pub(super) fn kustomization(&self, path: &str, text: &Arc<str>) -> Option<Rc<Node>> {
        let kept = self.kustomizations.borrow();
        let (t, node) = kept.get(path)?;
        (Arc::ptr_eq(t, text) || **t == **text).then(|| node.clone())
    }

    /// Keeps the document of kustomization file `path`, read from `text`.
    pub(super) fn keep_kustomization(&self, path: &str, text: &Arc<str>, node: Rc<Node>) {
        self.kustomizations
            .borrow_mut()
            .insert(path.to_string(), (text.clone(), node));
    }

    /// The documents of `text`, the file at `path`: kept from an earlier parse of the same
    /// text, else parsed (and kept). `None` when it is not valid YAML.
    pub fn parse(&self, path: &str, text: &Arc<str>) -> Option<Docs> {
        if let Some(docs) = self.parsed(path, text) {
            return Some(docs);
        }
        let docs: Docs = crate::yaml::parse_stream(text, path).ok()?.into();
        self.keep_parsed(path, text, docs.clone());
        Some(docs)
    }

    /// Forgets every kept build and parsed file.
    pub fn clear(&self) {
        self.kept.borrow_mut().clear();
        self.parsed.borrow_mut().clear();
        self.kustomizations.borrow_mut().clear();
    }
}
