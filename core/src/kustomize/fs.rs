//! The in-memory file tree a build reads, with kustomize's path rules.
//!
//! Paths are `/`-separated and relative to the tree's root; `..` that would leave the root
//! resolves to nothing (the file does not exist).

use std::collections::BTreeMap;
use std::sync::Arc;

/// Read access to a tree of files, by normalised `/`-separated relative path.
///
/// [`FileTree`] is the in-memory implementation; the runner implements it over the
/// real file system (lazily, so a build reads only the files it needs). Core itself never
/// touches the file system.
pub trait Files {
    /// The text of the file at `path`, if it exists.
    fn read(&self, path: &str) -> Option<Arc<str>>;
    /// Whether `path` is a directory. The root (`""`) is one.
    fn is_dir(&self, path: &str) -> bool;
    /// Whether `path` is a regular file.
    fn is_file(&self, path: &str) -> bool;
    /// Names of the direct children of a directory, sorted.
    fn list_dir(&self, dir: &str) -> Vec<String>;
    /// The bytes of the file at `path` (differs from [`Files::read`] only for a file that
    /// is not UTF-8, which a ConfigMap generator keeps as `binaryData`).
    fn read_bytes(&self, path: &str) -> Option<Arc<[u8]>> {
        self.read(path).map(|t| Arc::from(t.as_bytes()))
    }
    /// The path with every symbolic link on the way resolved (kustomize's
    /// `EvalSymlinks`); `None` when a link leads out of the tree or nowhere. Without
    /// links, the path itself.
    fn real_path(&self, path: &str) -> Option<String> {
        Some(path.to_string())
    }
}

impl Files for FileTree {
    fn read(&self, path: &str) -> Option<Arc<str>> {
        FileTree::read(self, path).cloned()
    }
    fn is_dir(&self, path: &str) -> bool {
        FileTree::is_dir(self, path)
    }
    fn is_file(&self, path: &str) -> bool {
        FileTree::is_file(self, path)
    }
    fn list_dir(&self, dir: &str) -> Vec<String> {
        FileTree::list_dir(self, dir)
    }
    fn real_path(&self, path: &str) -> Option<String> {
        FileTree::real_path(self, path)
    }
    fn read_bytes(&self, path: &str) -> Option<Arc<[u8]>> {
        match self.binary.get(path) {
            Some(b) => Some(b.clone()),
            None => self.read(path).map(|t| Arc::from(t.as_bytes())),
        }
    }
}

/// Files by normalised tree-relative path.
#[derive(Clone, Debug, Default)]
pub struct FileTree {
    files: BTreeMap<String, Arc<str>>,
    /// The original bytes of files that are not UTF-8.
    binary: BTreeMap<String, Arc<[u8]>>,
    /// Symbolic links: path of the link -> its target as written (relative to the link's
    /// directory). The link's content is inserted separately (as a file, or the files
    /// below a linked directory), so reading through a link works; links matter only for
    /// [`Files::real_path`].
    links: BTreeMap<String, String>,
}

impl FileTree {
    /// An empty tree.
    pub fn new() -> FileTree {
        FileTree::default()
    }

    /// Adds (or replaces) a file. Invalid UTF-8 is the caller's to reject; use
    /// [`FileTree::insert_bytes`] to have it replaced.
    pub fn insert(&mut self, path: &str, content: impl Into<Arc<str>>) {
        if let Some(p) = normalize(path) {
            self.binary.remove(&p);
            self.files.insert(p, content.into());
        }
    }

    /// Adds a file from bytes (as text, invalid UTF-8 sequences become U+FFFD; the bytes
    /// stay available through [`Files::read_bytes`]).
    pub fn insert_bytes(&mut self, path: &str, content: &[u8]) {
        match std::str::from_utf8(content) {
            Ok(text) => self.insert(path, text),
            Err(_) => {
                self.insert(path, String::from_utf8_lossy(content).into_owned());
                if let Some(p) = normalize(path) {
                    self.binary.insert(p, Arc::from(content));
                }
            }
        }
    }

    /// Records a symbolic link at `path` pointing to `target` (relative to the link's
    /// directory; an absolute target leads out of the tree).
    pub fn insert_link(&mut self, path: &str, target: &str) {
        if let Some(p) = normalize(path) {
            self.links.insert(p, target.to_string());
        }
    }

    /// [`Files::real_path`] over the recorded links.
    pub fn real_path(&self, path: &str) -> Option<String> {
        let mut cur = normalize(path)?;
        if self.links.is_empty() {
            return Some(cur);
        }
        // Like the kernel, give up on long chains of links (and loops).
        for _ in 0..40 {
            let parts: Vec<&str> = cur.split('/').collect();
            let hit = (1..=parts.len()).find_map(|n| {
                let prefix = parts[..n].join("/");
                self.links.get(&prefix).map(|t| (n, prefix, t))
            });
            let Some((n, prefix, target)) = hit else {
                return Some(cur);
            };
            if target.starts_with('/') {
                return None;
            }
            let resolved = join(parent(&prefix), target)?;
            let rest = parts[n..].join("/");
            cur = if rest.is_empty() {
                resolved
            } else {
                join(&resolved, &rest)?
            };
        }
        None
    }

    /// Removes a file.
    pub fn remove(&mut self, path: &str) -> Option<Arc<str>> {
        let p = normalize(path)?;
        self.binary.remove(&p);
        self.files.remove(&p)
    }

    /// The file at `path`, if it exists.
    pub fn read(&self, path: &str) -> Option<&Arc<str>> {
        self.files.get(path)
    }

    /// Whether `path` is a file.
    pub fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Whether `path` is a directory (some file lies below it). The root is a directory.
    pub fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return true;
        }
        let prefix = format!("{path}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    /// Every file path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Direct children (files and directories) of a directory, sorted, names only.
    pub fn list_dir(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<String> = Vec::new();
        for k in self.files.range(prefix.clone()..) {
            let Some(rest) = k.0.strip_prefix(&prefix) else {
                break;
            };
            let name = rest.split('/').next().unwrap_or(rest).to_string();
            if out.last() != Some(&name) {
                out.push(name);
            }
        }
        out
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the tree has no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Normalises a relative path: drops `.` and empty segments, resolves `..`.
/// Returns `None` when the path climbs above the root or is absolute.
pub fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Joins `rel` onto directory `dir` and normalises.
pub fn join(dir: &str, rel: &str) -> Option<String> {
    if dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

/// Whether `path` is `dir` or below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

/// The directory part of a path.
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert_eq!(normalize("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(join("overlays/prod", "../../base").as_deref(), Some("base"));
        assert!(is_within("base/x.yaml", "base"));
        assert!(!is_within("based/x.yaml", "base"));
        let mut t = FileTree::new();
        t.insert("a/b/c.yaml", "x");
        t.insert("a/d.yaml", "y");
        assert!(t.is_dir("a") && t.is_dir("a/b") && !t.is_dir("a/b/c.yaml"));
        assert_eq!(t.list_dir("a"), ["b", "d.yaml"]);
    }

    #[test]
    fn real_paths_follow_links() {
        let mut t = FileTree::new();
        t.insert("app/x.yaml", "x");
        t.insert_link("app/alias.yaml", "x.yaml");
        t.insert_link("app/out.yaml", "../shared/s.yaml");
        t.insert_link("app/sub", "../shared");
        t.insert_link("app/abs.yaml", "/etc/passwd");
        t.insert_link("app/escape.yaml", "../../../x");
        t.insert_link("loop/a", "b");
        t.insert_link("loop/b", "a");
        assert_eq!(t.real_path("app/alias.yaml").as_deref(), Some("app/x.yaml"));
        assert_eq!(
            t.real_path("app/out.yaml").as_deref(),
            Some("shared/s.yaml")
        );
        assert_eq!(
            t.real_path("app/sub/c.yaml").as_deref(),
            Some("shared/c.yaml")
        );
        assert_eq!(t.real_path("app/abs.yaml"), None);
        assert_eq!(t.real_path("app/escape.yaml"), None);
        assert_eq!(t.real_path("loop/a"), None);
        assert_eq!(t.real_path("app/x.yaml").as_deref(), Some("app/x.yaml"));
    }
}
