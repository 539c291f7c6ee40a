//! The real file system as a [`planton_core::kustomize::Files`] tree.
//!
//! Core addresses files by `/`-separated paths relative to a virtual root; here that root
//! is the file system root, so `../../base` works from any overlay exactly as with kustomize.
//! Files are read lazily (a build reads only what it needs) and cached for the life of the
//! value, so building many overlays that share a base reads the base once.

use planton_core::kustomize::Files;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Lazily read, cached view of the local file system.
#[derive(Default)]
pub struct DiskFiles {
    cache: RefCell<HashMap<String, Option<Arc<str>>>>,
    real: RefCell<HashMap<String, Option<String>>>,
    stats: RefCell<HashMap<String, Stat>>,
}

/// What one `lstat` (and, for a link, one `stat`) said about a path: a build asks
/// `is_file`, then the real path, then reads, so one system call answers the first two and
/// sizes the read.
#[derive(Clone, Copy, Default)]
struct Stat {
    /// The path itself is a symbolic link.
    link: bool,
    /// What it is, links followed (both false when missing).
    file: bool,
    dir: bool,
    /// The file's length, links followed.
    len: u64,
}

impl DiskFiles {
    /// A fresh view with an empty cache.
    pub fn new() -> DiskFiles {
        DiskFiles::default()
    }

    /// The core path for a local directory or file (absolute, without the leading `/`).
    pub fn core_path(path: &Path) -> std::io::Result<String> {
        let abs = std::path::absolute(path)?;
        let mut parts: Vec<String> = Vec::new();
        for c in abs.components() {
            match c {
                std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                std::path::Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        Ok(parts.join("/"))
    }

    /// How the CLI names a core path: relative to `cwd` (a core path) when inside it (`.`
    /// for `cwd` itself), else as an absolute local path.
    pub fn shown(cwd: Option<&str>, path: &str) -> String {
        let Some(cwd) = cwd else {
            return DiskFiles::local_path(path).display().to_string();
        };
        if path == cwd {
            return ".".to_string();
        }
        let inside = if cwd.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(cwd)
                .and_then(|rest| rest.strip_prefix('/'))
        };
        match inside {
            Some(rest) => rest.to_string(),
            None => DiskFiles::local_path(path).display().to_string(),
        }
    }

    /// The local path for a core path.
    pub fn local_path(path: &str) -> PathBuf {
        Path::new("/").join(path)
    }

    /// The cached [`Stat`] of a core path.
    fn stat(&self, path: &str) -> Stat {
        if let Some(hit) = self.stats.borrow().get(path) {
            return *hit;
        }
        let local = DiskFiles::local_path(path);
        let of = |m: &std::fs::Metadata| (m.is_file(), m.is_dir(), m.len());
        let stat = match std::fs::symlink_metadata(&local) {
            Ok(m) if m.file_type().is_symlink() => {
                let (file, dir, len) = std::fs::metadata(&local)
                    .map(|m| of(&m))
                    .unwrap_or_default();
                Stat {
                    link: true,
                    file,
                    dir,
                    len,
                }
            }
            Ok(m) => {
                let (file, dir, len) = of(&m);
                Stat {
                    link: false,
                    file,
                    dir,
                    len,
                }
            }
            Err(_) => Stat::default(),
        };
        self.stats.borrow_mut().insert(path.to_string(), stat);
        stat
    }

    /// Reads a whole file: `read` calls into a buffer sized from the cached stat (no `fstat`,
    /// as `std::fs::read` makes).
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        let len = self.stat(path).len;
        let mut f = std::fs::File::open(DiskFiles::local_path(path))?;
        let mut buf = Vec::new();
        // One more byte than the file had, so the read that finds the end is the second.
        buf.try_reserve_exact(usize::try_from(len).unwrap_or(0).saturating_add(1))
            .map_err(std::io::Error::other)?;
        read_to_end_unsized(&mut f, &mut buf)?;
        Ok(buf)
    }
}

/// `read_to_end` without the size probe `File`'s own implementation makes (`fstat` and
/// `lseek`): plain reads into the spare capacity until the end.
fn read_to_end_unsized(f: &mut std::fs::File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    let mut filled = buf.len();
    loop {
        if filled == buf.capacity() {
            buf.reserve(buf.capacity().max(4096));
        }
        buf.resize(buf.capacity(), 0);
        match f.read(&mut buf[filled..]) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(());
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(filled);
                return Err(e);
            }
        }
    }
}

/// How the CLI names a core path in a message: relative to the working directory when
/// inside it, else as an absolute local path ([`DiskFiles::shown`]).
pub fn shown_path(path: &str) -> String {
    let cwd = std::env::current_dir()
        .and_then(|c| DiskFiles::core_path(&c))
        .ok();
    DiskFiles::shown(cwd.as_deref(), path)
}

/// A position (`file:line:col`) with its file shown by [`shown_path`].
pub fn shown_pos(pos: &planton_core::yaml::Pos) -> String {
    format!("{}:{}:{}", shown_path(&pos.file), pos.line, pos.col)
}

/// A layout error naming the path as a local path.
pub fn layout_error(e: planton_core::service::LayoutError) -> anyhow::Error {
    let shown = DiskFiles::local_path(e.path()).display().to_string();
    anyhow::Error::new(e.shown_as(shown))
}

impl Files for DiskFiles {
    fn read(&self, path: &str) -> Option<Arc<str>> {
        if let Some(hit) = self.cache.borrow().get(path) {
            return hit.clone();
        }
        let bytes = self.read_file(path).ok();
        let text: Option<Arc<str>> = bytes.map(|b| match String::from_utf8(b) {
            Ok(s) => Arc::from(s),
            Err(e) => Arc::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        });
        self.cache
            .borrow_mut()
            .insert(path.to_string(), text.clone());
        text
    }

    fn real_path(&self, path: &str) -> Option<String> {
        if let Some(hit) = self.real.borrow().get(path) {
            return hit.clone();
        }
        // The parent's real path (cached), then one `lstat` for the last component: a
        // build asks for many files in few directories.
        let real = match path.rsplit_once('/') {
            None if path.is_empty() => Some(String::new()),
            split => {
                let (parent, name) = split.unwrap_or(("", path));
                let parent = self.real_path(parent)?;
                let joined = if parent.is_empty() {
                    name.to_string()
                } else {
                    format!("{parent}/{name}")
                };
                if self.stat(&joined).link {
                    std::fs::canonicalize(DiskFiles::local_path(&joined))
                        .ok()
                        .and_then(|p| DiskFiles::core_path(&p).ok())
                } else {
                    // Not a link, or missing (the caller reports a missing file).
                    Some(joined)
                }
            }
        };
        self.real
            .borrow_mut()
            .insert(path.to_string(), real.clone());
        real
    }

    fn read_bytes(&self, path: &str) -> Option<Arc<[u8]>> {
        // Only generator file sources ask for bytes; they are read once, so no cache.
        std::fs::read(DiskFiles::local_path(path))
            .ok()
            .map(Arc::from)
    }

    fn is_dir(&self, path: &str) -> bool {
        self.stat(path).dir
    }

    fn is_file(&self, path: &str) -> bool {
        self.stat(path).file
    }

    fn list_dir(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(DiskFiles::local_path(dir))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::DiskFiles;

    #[test]
    fn paths_are_shown_relative_to_the_working_directory_when_inside_it() {
        let cwd = Some("home/u/svc");
        assert_eq!(
            DiskFiles::shown(cwd, "home/u/svc/_kustomize/base"),
            "_kustomize/base"
        );
        assert_eq!(DiskFiles::shown(cwd, "home/u/svc"), ".");
        assert_eq!(DiskFiles::shown(cwd, "home/u/svc2/x"), "/home/u/svc2/x");
        assert_eq!(DiskFiles::shown(cwd, "home/u"), "/home/u");
        assert_eq!(DiskFiles::shown(Some(""), "etc/x"), "etc/x");
        assert_eq!(DiskFiles::shown(None, "etc/x"), "/etc/x");
    }
}
