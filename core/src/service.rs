//! The service repository: its layout (`_kustomize/base`, `_kustomize/overlays/<env>`) and
//! its config file `planton.yaml`, which sits next to `_kustomize/`.
//!
//! ```yaml
//! apiVersion: planton.dev/v1
//! kind: ServiceConfig
//! deploymentEnvironments: [staging, prod]   # overlay directories to deploy; empty = all but local
//! promotionOrder: [staging, prod]           # order tasks run in; unlisted overlays follow, by name
//! manualGates: [prod]                       # overlays that wait for approval before deploying
//! approvers:                                # who may decide each gate (default: anyone)
//!   prod: [alice, release-bot]
//! gateExpiry: 72h                           # a pending gate fails after this (s, m, h, d)
//! groups:
//!   dir: groups                             # VariablesGroup / SecretsGroup manifests
//!   secretsNamespace: shop-secrets          # secret values from Kubernetes Secrets (optional)
//! plugins:                                  # external target plugins, pinned by digest
//!   - path: plugins/configmap.wasm
//!     sha256: 3f1c...
//! environments:                             # where each overlay deploys (optional)
//!   staging: {namespace: order-api-staging, context: dev-cluster}
//!   prod: {namespace: order-api-prod, secretsNamespace: shop-secrets-prod}
//!   ecs-prod: {profile: prod-deployer}      # an AwsEcsService overlay: the AWS profile
//! ```
//! For an `AwsEcsService` overlay the place is in the manifest (`spec.clusterArn` names
//! partition, region, account and cluster; `spec.ecsServiceName` the service), so an
//! environment gives only the identity that deploys it: `profile`, the AWS profile (as
//! `context` picks the kubeconfig context). `context`, `namespace` and `secretsNamespace`
//! apply to Kubernetes kinds, `profile` to AWS kinds; the plan warns about the others.
//! With a secrets namespace (per environment, else `groups.secretsNamespace`), a deploy reads
//! `$secrets-group/<group>/<entry>` from key `<entry>` of the Secret `<group>` in that namespace
//! of the environment's cluster, and never from the groups directory; validation then leaves
//! secret references to the deploy.
//! Unknown fields are errors (with a suggestion); the seed's `deployment_environments`
//! spelling is accepted with a warning.

use crate::diag::Diagnostic;
use crate::kustomize::Files;
use crate::kustomize::fs::join;
use crate::yaml::{Node, parse_stream};

/// Reads a duration such as `30s`, `90m`, `72h` or `7d` into seconds.
pub fn parse_duration_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let mul = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return None,
    };
    n.checked_mul(mul).filter(|v| *v > 0)
}

impl ServiceConfig {
    /// Who may decide the gate of `overlay` (empty: anyone).
    pub fn approvers_of(&self, overlay: &str) -> &[String] {
        self.approvers
            .iter()
            .find(|(o, _)| o == overlay)
            .map(|(_, a)| a.as_slice())
            .unwrap_or_default()
    }
}

/// The config file's name.
pub const CONFIG_FILE: &str = "planton.yaml";

/// An external plugin pinned by digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginPin {
    /// Path relative to the service root.
    pub path: String,
    /// Expected sha256 (hex) of the `.wasm` file.
    pub sha256: String,
}

/// Where one overlay deploys (`environments.<overlay>` of `planton.yaml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentTarget {
    /// The overlay directory name.
    pub overlay: String,
    /// The kubeconfig context (default: the current context).
    pub context: Option<String>,
    /// The namespace (default: the manifest's namespace label, else its name).
    pub namespace: Option<String>,
    /// The namespace holding one Kubernetes Secret per secrets group (default:
    /// `groups.secretsNamespace`).
    pub secrets_namespace: Option<String>,
    /// AWS kinds: the AWS profile that deploys it (default: `AWS_PROFILE`, then `default`).
    pub profile: Option<String>,
}

/// `planton.yaml`, with defaults when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Overlay directories to deploy; empty means every overlay except `local`.
    pub deployment_environments: Vec<String>,
    /// Task order.
    pub promotion_order: Vec<String>,
    /// Overlays that require a manual gate.
    pub manual_gates: Vec<String>,
    /// Directory of group manifests, relative to the service root.
    pub groups_dir: Option<String>,
    /// The namespace holding one Kubernetes Secret per secrets group (`groups.secretsNamespace`).
    pub secrets_namespace: Option<String>,
    /// External plugins.
    pub plugins: Vec<PluginPin>,
    /// Where overlays deploy, in file order.
    pub environments: Vec<EnvironmentTarget>,
    /// Who may decide each overlay's gate (`approvers.<overlay>`), in file order.
    pub approvers: Vec<(String, Vec<String>)>,
    /// How long a pending gate waits before the task fails, in seconds.
    pub gate_expiry_secs: Option<u64>,
    /// Whether the file existed.
    pub present: bool,
}

const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "deploymentEnvironments",
    "deployment_environments",
    "promotionOrder",
    "manualGates",
    "groups",
    "plugins",
    "environments",
    "approvers",
    "gateExpiry",
];

/// Why no service layout was found. `path` is the core path asked about; the front end shows
/// it its own way ([`LayoutError::shown_as`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The path is not a service root, its `_kustomize` folder, or an overlay.
    #[error(
        "no _kustomize/ folder at '{path}': give the service root, its _kustomize folder, or one overlay"
    )]
    NoKustomize {
        /// The path given.
        path: String,
    },
    /// The path looks like an overlay, but there is no such overlay directory.
    #[error("'{path}' is not an overlay directory")]
    NotAnOverlay {
        /// The path given.
        path: String,
    },
}

impl LayoutError {
    /// The path asked about (a core path).
    pub fn path(&self) -> &str {
        match self {
            LayoutError::NoKustomize { path } | LayoutError::NotAnOverlay { path } => path,
        }
    }

    /// The same error naming the path as the user knows it.
    pub fn shown_as(mut self, shown: impl Into<String>) -> LayoutError {
        match &mut self {
            LayoutError::NoKustomize { path } | LayoutError::NotAnOverlay { path } => {
                *path = shown.into()
            }
        }
        self
    }
}

/// A service repository's layout, as core paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The service root (the directory holding `_kustomize/`).
    pub root: String,
    /// `_kustomize/`.
    pub kustomize_dir: String,
    /// Overlay directory names, sorted.
    pub overlays: Vec<String>,
}

impl Layout {
    /// Finds the layout from the service root, the `_kustomize` folder, or one overlay.
    /// Returns the layout and, when the user pointed at one overlay, its name.
    pub fn discover(
        files: &dyn Files,
        path: &str,
    ) -> Result<(Layout, Option<String>), LayoutError> {
        let (root, only) = if files.is_dir(&format!("{path}/_kustomize")) {
            (path.to_string(), None)
        } else if path.ends_with("_kustomize") || path == "_kustomize" {
            (crate::kustomize::fs::parent(path).to_string(), None)
        } else if let Some((overlays, name)) = path
            .rsplit_once('/')
            .filter(|(d, _)| d.ends_with("overlays"))
        {
            let k = crate::kustomize::fs::parent(overlays);
            (
                crate::kustomize::fs::parent(k).to_string(),
                Some(name.to_string()),
            )
        } else {
            return Err(LayoutError::NoKustomize {
                path: path.to_string(),
            });
        };
        let kustomize_dir = if root.is_empty() {
            "_kustomize".to_string()
        } else {
            format!("{root}/_kustomize")
        };
        let overlays_dir = format!("{kustomize_dir}/overlays");
        let mut overlays: Vec<String> = files
            .list_dir(&overlays_dir)
            .into_iter()
            .filter(|d| files.is_dir(&format!("{overlays_dir}/{d}")))
            .collect();
        overlays.sort();
        if let Some(o) = &only
            && !overlays.contains(o)
        {
            return Err(LayoutError::NotAnOverlay {
                path: path.to_string(),
            });
        }
        Ok((
            Layout {
                root,
                kustomize_dir,
                overlays,
            },
            only,
        ))
    }

    /// The core path of an overlay directory.
    pub fn overlay_dir(&self, name: &str) -> String {
        format!("{}/overlays/{name}", self.kustomize_dir)
    }

    /// Rewrites the files of diagnostics (core paths) relative to the service root.
    pub fn relativize(&self, diags: &mut [crate::diag::Diagnostic]) {
        for d in diags {
            d.file = self.relative(&d.file);
        }
    }

    /// A path as a message names it: relative to the service root (the root itself is
    /// `.`; a path outside it stays a core path).
    pub fn shown(&self, path: &str) -> String {
        match self.relative(path) {
            p if p.is_empty() || p == self.root => ".".to_string(),
            p => p,
        }
    }

    /// A core path shown relative to the service root.
    pub fn relative(&self, path: &str) -> String {
        if self.root.is_empty() {
            return path.to_string();
        }
        path.strip_prefix(&format!("{}/", self.root))
            .unwrap_or(path)
            .to_string()
    }
}

/// The default groups directory, relative to the service root, when `planton.yaml` names none.
pub const DEFAULT_GROUPS_DIR: &str = "groups";

/// Where a service's groups come from, decided once for every command and the web editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupsDir {
    /// A directory (core path) that exists.
    Dir(String),
    /// A directory that was asked for (flag or `groups.dir`) but does not exist.
    Missing(String),
    /// No directory: none configured and no `groups/` next to `_kustomize/`.
    None,
}

impl ServiceConfig {
    /// The namespace whose Kubernetes Secrets hold the secret values of `overlay`:
    /// `environments.<overlay>.secretsNamespace`, else `groups.secretsNamespace`.
    pub fn secrets_namespace(&self, overlay: &str) -> Option<&str> {
        self.environments
            .iter()
            .find(|e| e.overlay == overlay)
            .and_then(|e| e.secrets_namespace.as_deref())
            .or(self.secrets_namespace.as_deref())
    }

    /// The groups directory: `flag` (a core path, from `--groups`), else `groups.dir` of
    /// `planton.yaml` (relative to the service root), else `<root>/groups` when it exists.
    pub fn groups_dir(&self, files: &dyn Files, layout: &Layout, flag: Option<&str>) -> GroupsDir {
        let under_root = |d: &str| {
            if layout.root.is_empty() {
                d.to_string()
            } else {
                format!("{}/{d}", layout.root)
            }
        };
        let asked = flag
            .map(str::to_string)
            .or_else(|| self.groups_dir.as_deref().map(under_root));
        match asked {
            Some(d) if files.is_dir(&d) => GroupsDir::Dir(d),
            Some(d) => GroupsDir::Missing(d),
            None => {
                let d = under_root(DEFAULT_GROUPS_DIR);
                if files.is_dir(&d) {
                    GroupsDir::Dir(d)
                } else {
                    GroupsDir::None
                }
            }
        }
    }

    /// Reads `planton.yaml` in the service root, if any. Problems are diagnostics; the
    /// config returned is the best reading of what is there.
    pub fn load(files: &dyn Files, layout: &Layout) -> (ServiceConfig, Vec<Diagnostic>) {
        let mut cfg = ServiceConfig::default();
        let mut diags = Vec::new();
        let Some(path) = join(&layout.root, CONFIG_FILE) else {
            return (cfg, diags);
        };
        let Some(text) = files.read(&path) else {
            return (cfg, diags);
        };
        cfg.present = true;
        let file = layout.relative(&path);
        let docs = match parse_stream(&text, &file) {
            Ok(d) => d,
            Err(e) => {
                diags.push(
                    Diagnostic::error("config-yaml", format!("malformed YAML: {}", e.message))
                        .at(&file, e.line, e.col),
                );
                return (cfg, diags);
            }
        };
        let Some(doc) = docs.first() else {
            return (cfg, diags);
        };
        let at = |n: &Node, d: Diagnostic| d.at(&file, n.pos.line, n.pos.col);
        let Some(map) = doc.as_map() else {
            diags.push(at(
                doc,
                Diagnostic::error("config-shape", format!("{CONFIG_FILE} must be a mapping")),
            ));
            return (cfg, diags);
        };
        for (key, value) in &map.entries {
            let k = key.value.as_str();
            if !FIELDS.contains(&k) {
                let hint = crate::suggest::did_you_mean(k, FIELDS.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                diags.push(
                    Diagnostic::error(
                        "config-unknown-field",
                        format!("unknown field `{k}` in {CONFIG_FILE}{hint}"),
                    )
                    .at(&file, key.pos.line, key.pos.col),
                );
                continue;
            }
            let list = |diags: &mut Vec<Diagnostic>| -> Vec<String> {
                match value.as_seq() {
                    Some(items) => items
                        .iter()
                        .filter_map(|i| match i.scalar_text() {
                            Some(s) => Some(s.to_string()),
                            None => {
                                diags.push(at(
                                    i,
                                    Diagnostic::error(
                                        "config-type",
                                        format!("`{k}` entries must be strings"),
                                    ),
                                ));
                                None
                            }
                        })
                        .collect(),
                    None if value.is_null() => Vec::new(),
                    None => {
                        diags.push(at(
                            value,
                            Diagnostic::error(
                                "config-type",
                                format!("`{k}` must be a list of overlay names"),
                            ),
                        ));
                        Vec::new()
                    }
                }
            };
            match k {
                "apiVersion" if value.scalar_text() != Some("planton.dev/v1") => {
                    diags.push(at(
                        value,
                        Diagnostic::error("config-version", "apiVersion must be `planton.dev/v1`"),
                    ));
                }
                "kind" if value.scalar_text() != Some("ServiceConfig") => {
                    diags.push(at(
                        value,
                        Diagnostic::error("config-kind", "kind must be `ServiceConfig`"),
                    ));
                }
                "deploymentEnvironments" => cfg.deployment_environments = list(&mut diags),
                "deployment_environments" => {
                    diags.push(
                        Diagnostic::warning(
                            "config-deprecated-field",
                            "`deployment_environments` is the seed's spelling; write `deploymentEnvironments`",
                        )
                        .at(&file, key.pos.line, key.pos.col),
                    );
                    cfg.deployment_environments = list(&mut diags);
                }
                "promotionOrder" => cfg.promotion_order = list(&mut diags),
                "approvers" => {
                    match value.as_map() {
                        Some(m) => {
                            for (name, who) in &m.entries {
                                let ids: Option<Vec<String>> = who.as_seq().and_then(|items| {
                                    items
                                        .iter()
                                        .map(|i| i.scalar_text().map(str::to_string))
                                        .collect()
                                });
                                match ids {
                                    Some(ids) => cfg.approvers.push((name.value.clone(), ids)),
                                    None => diags.push(at(
                                        who,
                                        Diagnostic::error(
                                            "config-type",
                                            format!(
                                                "`approvers.{}` must be a list of user names",
                                                name.value
                                            ),
                                        ),
                                    )),
                                }
                                if !layout.overlays.contains(&name.value) {
                                    diags.push(
                                    Diagnostic::warning(
                                        "config-unknown-overlay",
                                        format!(
                                            "`approvers` names `{}`, but there is no overlays/{}/",
                                            name.value, name.value
                                        ),
                                    )
                                    .at(&file, name.pos.line, name.pos.col),
                                );
                                }
                            }
                        }
                        None => diags.push(at(
                            value,
                            Diagnostic::error(
                                "config-type",
                                "`approvers` must map overlay names to lists of user names",
                            ),
                        )),
                    }
                }
                "gateExpiry" => match value.scalar_text().and_then(parse_duration_secs) {
                    Some(secs) => cfg.gate_expiry_secs = Some(secs),
                    None => diags.push(at(
                        value,
                        Diagnostic::error(
                            "config-type",
                            "`gateExpiry` must be a duration such as `90m`, `72h` or `7d`",
                        ),
                    )),
                },
                "manualGates" => cfg.manual_gates = list(&mut diags),
                "groups" => {
                    let dir = value.get("dir").and_then(Node::scalar_text);
                    let ns = value.get("secretsNamespace").and_then(Node::scalar_text);
                    cfg.groups_dir = dir.map(str::to_string);
                    cfg.secrets_namespace = ns.map(str::to_string);
                    if dir.is_none() && ns.is_none() {
                        diags.push(at(
                            value,
                            Diagnostic::error(
                                "config-type",
                                "`groups` must be `{dir: <directory>, secretsNamespace: <namespace>}` (either or both)",
                            ),
                        ));
                    }
                    for (f, _) in value
                        .as_map()
                        .map(|m| m.entries.as_slice())
                        .unwrap_or_default()
                    {
                        if !matches!(f.value.as_str(), "dir" | "secretsNamespace") {
                            diags.push(
                                Diagnostic::error(
                                    "config-unknown-field",
                                    format!(
                                        "unknown field `{}` in `groups` (known: dir, secretsNamespace)",
                                        f.value
                                    ),
                                )
                                .at(&file, f.pos.line, f.pos.col),
                            );
                        }
                    }
                }
                "plugins" => {
                    for item in value.as_seq().cloned().unwrap_or_default() {
                        match (
                            item.get("path").and_then(Node::scalar_text),
                            item.get("sha256").and_then(Node::scalar_text),
                        ) {
                            (Some(p), Some(h))
                                if h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()) =>
                            {
                                cfg.plugins.push(PluginPin {
                                    path: p.to_string(),
                                    sha256: h.to_ascii_lowercase(),
                                })
                            }
                            _ => diags.push(at(
                                &item,
                                Diagnostic::error(
                                    "config-plugin",
                                    "a plugin needs `path` and a 64-hex-digit `sha256`",
                                ),
                            )),
                        }
                    }
                }
                "environments" => match value.as_map() {
                    Some(m) => {
                        for (name, target) in &m.entries {
                            let mut t = EnvironmentTarget {
                                overlay: name.value.clone(),
                                ..Default::default()
                            };
                            match target.as_map() {
                                Some(tm) => {
                                    for (f, v) in &tm.entries {
                                        let text = v.scalar_text().map(str::to_string);
                                        match f.value.as_str() {
                                            "context" => t.context = text,
                                            "namespace" => t.namespace = text,
                                            "secretsNamespace" => t.secrets_namespace = text,
                                            "profile" => t.profile = text,
                                            other => diags.push(
                                                Diagnostic::error(
                                                    "config-unknown-field",
                                                    format!(
                                                        "unknown field `{other}` in `environments.{}` (known: context, namespace, secretsNamespace, profile)",
                                                        name.value
                                                    ),
                                                )
                                                .at(&file, f.pos.line, f.pos.col),
                                            ),
                                        }
                                    }
                                }
                                None => diags.push(at(
                                    target,
                                    Diagnostic::error(
                                        "config-type",
                                        "an environment must be `{namespace: <name>, context: <name>}`",
                                    ),
                                )),
                            }
                            if !layout.overlays.contains(&t.overlay) {
                                diags.push(
                                    Diagnostic::warning(
                                        "config-unknown-overlay",
                                        format!(
                                            "`environments` names `{}`, but there is no overlays/{}/",
                                            t.overlay, t.overlay
                                        ),
                                    )
                                    .at(&file, name.pos.line, name.pos.col),
                                );
                            }
                            cfg.environments.push(t);
                        }
                    }
                    None => diags.push(at(
                        value,
                        Diagnostic::error(
                            "config-type",
                            "`environments` must map overlay names to `{namespace, context}`",
                        ),
                    )),
                },
                _ => {}
            }
        }
        for (field, names) in [
            ("deploymentEnvironments", &cfg.deployment_environments),
            ("promotionOrder", &cfg.promotion_order),
            ("manualGates", &cfg.manual_gates),
        ] {
            for n in names.iter() {
                if n == "local" {
                    diags.push(
                        Diagnostic::warning(
                            "config-local",
                            format!("`{field}` lists `local`, which is never deployed"),
                        )
                        .at(&file, 1, 1),
                    );
                } else if !layout.overlays.contains(n) {
                    diags.push(
                        Diagnostic::warning(
                            "config-unknown-overlay",
                            format!("`{field}` names `{n}`, but there is no overlays/{n}/"),
                        )
                        .at(&file, 1, 1),
                    );
                }
            }
        }
        (cfg, diags)
    }
}
