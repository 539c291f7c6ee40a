//! One full check of a service, exactly as `planton validate` reports it and as the web
//! editor shows it: groups named by the config, every overlay built and validated (kind
//! rules through a [`KindChecker`], references), then the plan, whose problems (a
//! deployable overlay without `metadata.env`, two overlays deploying the same thing) are
//! validation errors too. The CLI and the browser both call [`check_service`], so they
//! cannot drift apart.

use crate::diag::{Diagnostic, code};
use crate::kustomize::Files;
use crate::plan::{Plan, plan};
use crate::refs::{DirGroupSource, GroupSource};
use crate::service::{CONFIG_FILE, GroupsDir, Layout, ServiceConfig};
use crate::validate::{KindChecker, Report, validate};

/// What one check found.
#[derive(Clone, Debug)]
pub struct ServiceCheck {
    /// Every problem: groups, builds, kinds, references, planning. (The config's own
    /// problems are the caller's, from [`ServiceConfig::load`].)
    pub diagnostics: Vec<Diagnostic>,
    /// The builds.
    pub report: Report,
    /// The plan for the configured environments.
    pub plan: Plan,
    /// The plan's own problems (also included in `diagnostics`, except build failures,
    /// which validation already reports).
    pub plan_diagnostics: Vec<Diagnostic>,
}

/// The groups directory to read ([`ServiceConfig::groups_dir`]), reporting one that is named
/// but missing (at `planton.yaml`, or at no file when it came from the `--groups` flag).
pub(crate) fn groups_dir_or_report(
    files: &dyn Files,
    layout: &Layout,
    config: &ServiceConfig,
    groups_dir: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    match config.groups_dir(files, layout, groups_dir) {
        GroupsDir::Dir(d) => Some(d),
        GroupsDir::Missing(d) => {
            let at = if groups_dir.is_some() {
                ""
            } else {
                CONFIG_FILE
            };
            diagnostics.push(
                Diagnostic::error(
                    code::GROUP_INVALID,
                    format!(
                        "the groups directory `{}` does not exist",
                        layout.relative(&d)
                    ),
                )
                .at(at, 0, 0),
            );
            None
        }
        GroupsDir::None => None,
    }
}

/// Checks the overlays of `layout` (all, or only `only`). Groups come from
/// [`ServiceConfig::groups_dir`] (`groups_dir`, a core path, is the `--groups` flag); with no
/// groups directory references are only syntax-checked.
pub fn check_service(
    files: &dyn Files,
    layout: &Layout,
    only: Option<&str>,
    config: &ServiceConfig,
    checker: &dyn KindChecker,
    groups_dir: Option<&str>,
) -> ServiceCheck {
    let mut diagnostics = Vec::new();
    let dir = groups_dir_or_report(files, layout, config, groups_dir, &mut diagnostics);
    let source = dir.and_then(|d| match DirGroupSource::load(files, &d) {
        Ok(s) => Some(s.shown_as(layout.shown(&d))),
        Err(errors) => {
            for e in errors {
                diagnostics.push(Diagnostic::error(code::GROUP_INVALID, e.message).at(
                    &layout.relative(&e.pos.file),
                    e.pos.line,
                    e.pos.col,
                ));
            }
            None
        }
    });
    let source = source.map(|s| SecretsFromCluster {
        dir: s,
        config: config.clone(),
    });
    let report = validate(
        files,
        layout,
        only,
        checker,
        source.as_ref().map(|s| s as &dyn GroupSource),
    );
    diagnostics.extend(report.diagnostics.iter().cloned());
    let (plan, mut plan_diagnostics) = plan(&report.overlays, config, None);
    layout.relativize(&mut plan_diagnostics);
    diagnostics.extend(
        plan_diagnostics
            .iter()
            .filter(|d| d.code != code::PLAN_BUILD)
            .cloned(),
    );
    ServiceCheck {
        diagnostics,
        report,
        plan,
        plan_diagnostics,
    }
}

/// The groups directory, knowing which overlays take their secret values from Kubernetes
/// Secrets (`secretsNamespace` in `planton.yaml`): those are checked at deploy time.
struct SecretsFromCluster {
    dir: DirGroupSource,
    config: ServiceConfig,
}

impl GroupSource for SecretsFromCluster {
    fn group(&self, kind: crate::refs::RefKind, name: &str) -> Option<&crate::refs::Group> {
        self.dir.group(kind, name)
    }
    fn describe(&self) -> String {
        self.dir.describe()
    }
    fn holds_secrets_of(&self, overlay: &str) -> bool {
        self.config.secrets_namespace(overlay).is_none()
    }
}
