//! What a service's `planton.yaml` points at beyond `_kustomize/`, so that opening a folder
//! reads what `planton validate` reads: the groups directory (`groups.dir`, else `groups/`
//! when present, decided by core's `ServiceConfig::groups_dir` once the files are in) and
//! the pinned plugins (`plugins: [{path, sha256}]`).
//!
//! Pure: the page reads the paths (`services::fs::read_more`) and loads the plugins
//! (`services::plugins::load_pinned`). Checked by the browser suite (`tests/browser/`), which
//! opens services whose config names a groups directory and a pinned plugin.

use crate::analysis::{ROOT, tree_path};
use planton_core::kustomize::FileTree;
use planton_core::kustomize::fs::normalize;
use planton_core::service::{DEFAULT_GROUPS_DIR, Layout, PluginPin, ServiceConfig};

/// What to read besides `planton.yaml` and `_kustomize/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Service-relative directories whose files to read (the groups directory).
    pub dirs: Vec<String>,
    /// The pinned plugins, with service-relative paths.
    pub plugins: Vec<PluginPin>,
    /// Paths the config names outside the opened folder (a browser cannot reach them).
    pub outside: Vec<String>,
}

/// What the config among `files` (service-relative paths and texts) points at.
pub fn wanted(files: &[(String, String)]) -> Wanted {
    let mut tree = FileTree::new();
    for (p, t) in files {
        tree.insert(&tree_path(p), t.as_str());
    }
    let mut out = Wanted::default();
    let Ok((layout, _)) = Layout::discover(&tree, ROOT) else {
        return out;
    };
    let (config, _) = ServiceConfig::load(&tree, &layout);
    let inside = |p: &str, out: &mut Wanted| match normalize(p) {
        Some(n) if !n.is_empty() => Some(n),
        _ => {
            out.outside.push(p.to_string());
            None
        }
    };
    let groups = config.groups_dir.as_deref().unwrap_or(DEFAULT_GROUPS_DIR);
    if let Some(d) = inside(groups, &mut out) {
        out.dirs.push(d);
    }
    for pin in &config.plugins {
        if let Some(path) = inside(&pin.path, &mut out) {
            out.plugins.push(PluginPin {
                path,
                sha256: pin.sha256.clone(),
            });
        }
    }
    out
}
