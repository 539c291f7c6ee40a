//! The target plugins as every front end sees them: one composition of kind routing, the
//! conversion of plugin diagnostics, and the render loop, generic over how one plugin is
//! called ([`Target`]).
//!
//! The runner implements [`Target`] with its wasmtime sandbox (or a plugin crate linked
//! natively), the web editor with the browser's `WebAssembly`; everything else (which plugin
//! checks which manifest, what an unserved kind means, how a failure reads) lives here once,
//! so `planton validate`/`planton render` and the page cannot disagree.
//!
//! Routing: a manifest is *checked* by the plugin serving its exact `apiVersion` and `kind`,
//! else the plugin serving that kind name (wrong `apiVersion`), else the one serving that
//! `apiVersion` (wrong kind), so the plugin itself explains what is wrong. A manifest is
//! *rendered* only by an exact match; a kind no plugin serves is an error in both places
//! (validation reports it as [`code::UNKNOWN_KIND`](crate::diag::code::UNKNOWN_KIND)).
//!
//! Rendering checks the output against the contract before anyone acts on it: it must be for
//! the target the kind declares, and an AWS render must hold only operations this host knows
//! ([`AwsOperation::parse_all`]); anything else is the plugin's [`CallError::BadOutput`].

use crate::kustomize::Build;
use crate::validate::{KindChecker, out_to_json};
use crate::yaml::{Node, Pos, to_output};
use planton_plugin_sdk::target::AwsOperation;
use planton_plugin_sdk::{
    DeployContext, Describe, Diagnostic as KindProblem, RenderOutput, RenderRequest,
    Target as DeployTarget, ValidateRequest, ValidateResponse,
};
use serde_json::Value;
use std::rc::Rc;
use std::sync::Arc;

/// Why one call into a plugin failed, as the host that ran it classifies it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The plugin broke a limit (deadline, memory, output size) and was stopped.
    #[error("{0}")]
    Limit(String),
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin's result is not what the contract says.
    #[error("returned a malformed result: {0}")]
    BadOutput(String),
    /// The plugin ran and refused the request (its own error message).
    #[error("{0}")]
    Refused(String),
    /// The host could not make the call.
    #[error("{0}")]
    Host(String),
}

/// How one plugin is called: all a front end implements.
pub trait Target {
    /// The plugin's description (name, version, contract version, kinds).
    fn describe(&self) -> &Describe;
    /// Validates one manifest.
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError>;
    /// Renders one manifest.
    fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError>;
}

macro_rules! forward_target {
    ($($ptr:ident),*) => {$(
        impl<T: Target + ?Sized> Target for $ptr<T> {
            fn describe(&self) -> &Describe {
                (**self).describe()
            }
            fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError> {
                (**self).validate(req)
            }
            fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError> {
                (**self).render(req)
            }
        }
    )*};
}
forward_target!(Box, Rc, Arc);

/// A plugin's call failed on a manifest of some kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` failed on {kind}: {error}")]
pub struct PluginFailure {
    /// The plugin's name.
    pub plugin: String,
    /// The manifest's kind.
    pub kind: String,
    /// What went wrong.
    pub error: CallError,
}

/// Why an overlay's build could not be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No plugin serves this kind.
    #[error("no target plugin serves `{api_version}/{kind}`")]
    NoPlugin {
        /// The manifest's `apiVersion`.
        api_version: String,
        /// The manifest's `kind`.
        kind: String,
    },
    /// The built manifest cannot be converted to JSON (a value kustomize would refuse).
    #[error("{pos}: {message}")]
    Manifest {
        /// Where the value was written.
        pos: Pos,
        /// What is wrong.
        message: String,
    },
    /// The build's resources deploy to different targets (one overlay deploys one way).
    #[error(
        "the build mixes kinds deploying to {first} and to {second}: one overlay deploys to one target"
    )]
    MixedTargets {
        /// The first resource's target.
        first: DeployTarget,
        /// The other target.
        second: DeployTarget,
    },
    /// The plugin failed.
    #[error("plugin `{plugin}` cannot render {kind} `{name}`: {error}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// The manifest's kind.
        kind: String,
        /// The manifest's `metadata.name`.
        name: String,
        /// What went wrong.
        error: CallError,
    },
}

/// The plugins of one run, in load order (the first plugin serving a kind wins).
pub struct Targets<T> {
    items: Vec<T>,
}

impl<T> Default for Targets<T> {
    fn default() -> Self {
        Targets { items: Vec::new() }
    }
}

impl<T: Target> Targets<T> {
    /// These plugins.
    pub fn new(items: Vec<T>) -> Targets<T> {
        Targets { items }
    }

    /// Adds a plugin after the others.
    pub fn push(&mut self, t: T) {
        self.items.push(t);
    }

    /// Every plugin.
    pub fn all(&self) -> &[T] {
        &self.items
    }

    /// Mutable access, for front ends that replace a plugin by name.
    pub fn items_mut(&mut self) -> &mut Vec<T> {
        &mut self.items
    }

    /// The plugin serving exactly `apiVersion`/`kind` (the one that renders it).
    pub fn serving(&self, api_version: &str, kind: &str) -> Option<&T> {
        self.find(|k| k.api_version == api_version && k.kind == kind)
    }

    /// The plugin that checks `apiVersion`/`kind`: an exact match, else the one serving the
    /// kind name, else the one serving the `apiVersion`.
    pub fn checking(&self, api_version: &str, kind: &str) -> Option<&T> {
        self.serving(api_version, kind)
            .or_else(|| self.find(|k| k.kind == kind))
            .or_else(|| self.find(|k| k.api_version == api_version))
    }

    /// What `apiVersion`/`kind` deploys to, as its plugin declares it.
    pub fn target_of(&self, api_version: &str, kind: &str) -> Option<DeployTarget> {
        self.serving(api_version, kind)?
            .describe()
            .kinds
            .iter()
            .find(|k| k.api_version == api_version && k.kind == kind)
            .map(|k| k.target)
    }

    fn find(&self, f: impl Fn(&planton_plugin_sdk::KindInfo) -> bool) -> Option<&T> {
        self.items
            .iter()
            .find(|t| t.describe().kinds.iter().any(&f))
    }

    /// Renders every resource of a build with the plugin serving its kind, in order, into
    /// one output for one target. `context.env` defaults to the manifest's `metadata.env`.
    ///
    /// A render is checked against the contract before anyone acts on it: it must be for the
    /// target the plugin declared for the kind, and every AWS operation must be one this
    /// host knows, with the fields it knows (else [`CallError::BadOutput`], naming the
    /// operation's index). A build with no resource renders no Kubernetes objects.
    pub fn render(
        &self,
        build: &Build,
        context: &DeployContext,
    ) -> Result<RenderOutput, RenderError> {
        let mut output: Option<RenderOutput> = None;
        for r in &build.resources {
            let (api_version, kind) = (r.api_version_str(), r.kind_str());
            let target = self
                .serving(api_version, kind)
                .ok_or_else(|| RenderError::NoPlugin {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                })?;
            let manifest = out_to_json(&to_output(&r.node).map_err(|e| RenderError::Manifest {
                pos: e.pos,
                message: e.message,
            })?);
            let mut context = context.clone();
            if context.env.is_none() {
                context.env = r
                    .node
                    .get_path(&["metadata", "env"])
                    .and_then(Node::scalar_text)
                    .map(str::to_string);
            }
            let failed = |error| RenderError::Plugin {
                plugin: target.describe().name.clone(),
                kind: kind.to_string(),
                name: r.name_str().to_string(),
                error,
            };
            let resp = target
                .render(&RenderRequest { manifest, context })
                .map_err(failed)?;
            check_output(&resp, self.target_of(api_version, kind)).map_err(failed)?;
            output = Some(match (output, resp) {
                (None, resp) => resp,
                (
                    Some(RenderOutput::Kubernetes { mut objects }),
                    RenderOutput::Kubernetes { objects: more },
                ) => {
                    objects.extend(more);
                    RenderOutput::Kubernetes { objects }
                }
                (
                    Some(RenderOutput::Aws { mut operations }),
                    RenderOutput::Aws { operations: more },
                ) => {
                    operations.extend(more);
                    RenderOutput::Aws { operations }
                }
                (Some(first), second) => {
                    return Err(RenderError::MixedTargets {
                        first: first.target(),
                        second: second.target(),
                    });
                }
            });
        }
        Ok(output.unwrap_or(RenderOutput::Kubernetes {
            objects: Vec::new(),
        }))
    }
}

/// A render must be for the kind's declared target, and an AWS render must be operations
/// this host knows.
fn check_output(out: &RenderOutput, declared: Option<DeployTarget>) -> Result<(), CallError> {
    if let Some(declared) = declared
        && declared != out.target()
    {
        return Err(CallError::BadOutput(format!(
            "the kind deploys to {declared} but the render is for {}",
            out.target()
        )));
    }
    if let RenderOutput::Aws { operations } = out {
        AwsOperation::parse_all(operations).map_err(|errors| {
            CallError::BadOutput(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
    }
    Ok(())
}

impl<T: Target> KindChecker for Targets<T> {
    fn known_kinds(&self) -> Vec<String> {
        self.items
            .iter()
            .flat_map(|t| {
                t.describe()
                    .kinds
                    .iter()
                    .map(|k| format!("{}/{}", k.api_version, k.kind))
            })
            .collect()
    }

    fn check(
        &self,
        api_version: &str,
        kind: &str,
        manifest: &Value,
        overlay: &str,
        local: bool,
    ) -> Option<Result<Vec<KindProblem>, PluginFailure>> {
        let target = self.checking(api_version, kind)?;
        let req = ValidateRequest {
            manifest: manifest.clone(),
            overlay: overlay.to_string(),
            local,
        };
        Some(
            target
                .validate(&req)
                .map(|resp| resp.diagnostics)
                .map_err(|error| PluginFailure {
                    plugin: target.describe().name.clone(),
                    kind: kind.to_string(),
                    error,
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::{FileTree, build};
    use planton_plugin_sdk::{KindInfo, Severity};

    struct Fake {
        describe: Describe,
    }

    impl Fake {
        fn new(name: &str, kinds: &[(&str, &str)]) -> Fake {
            Fake {
                describe: Describe {
                    name: name.into(),
                    version: "0".into(),
                    contract_version: 2,
                    kinds: kinds
                        .iter()
                        .map(|(a, k)| KindInfo {
                            api_version: (*a).into(),
                            kind: (*k).into(),
                            target: if *a == "aws/v1" {
                                DeployTarget::Aws
                            } else {
                                DeployTarget::Kubernetes
                            },
                            schema: Value::Null,
                        })
                        .collect(),
                },
            }
        }
    }

    impl Target for Fake {
        fn describe(&self) -> &Describe {
            &self.describe
        }
        fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError> {
            if self.describe.name == "broken" {
                return Err(CallError::Limit("exceeded its deadline".into()));
            }
            Ok(ValidateResponse {
                diagnostics: vec![KindProblem::warning(
                    "seen-by",
                    "/kind",
                    format!("{} saw {}", self.describe.name, req.manifest["kind"]),
                )],
            })
        }
        fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError> {
            let by = serde_json::json!({"by": self.describe.name, "env": req.context.env});
            Ok(match self.describe.name.as_str() {
                // Declared AWS, renders an operation this host does not know.
                "aws-bad" => RenderOutput::Aws {
                    operations: vec![serde_json::json!({"op": "createBucket"})],
                },
                // Declared Kubernetes, renders for AWS.
                "liar" => RenderOutput::Aws { operations: vec![] },
                "aws" => RenderOutput::Aws {
                    operations: vec![
                        serde_json::json!({"op": "logGroup", "name": "/ecs/m", "retentionDays": 30}),
                    ],
                },
                _ => RenderOutput::Kubernetes { objects: vec![by] },
            })
        }
    }

    fn targets() -> Targets<Fake> {
        Targets::new(vec![
            Fake::new("a", &[("x/v1", "A")]),
            Fake::new("b", &[("y/v1", "B")]),
            Fake::new("broken", &[("z/v1", "Z")]),
            Fake::new("aws", &[("aws/v1", "Service")]),
            Fake::new("aws-bad", &[("aws/v1", "Bad")]),
            Fake::new("liar", &[("l/v1", "L")]),
        ])
    }

    fn seen_by(t: &Targets<Fake>, api: &str, kind: &str) -> Option<String> {
        let r = t.check(api, kind, &serde_json::json!({"kind": kind}), "prod", false)?;
        Some(r.ok()?[0].message.split(' ').next()?.to_string())
    }

    #[test]
    fn routes_exact_then_kind_then_api_version() {
        let t = targets();
        assert_eq!(seen_by(&t, "x/v1", "A").as_deref(), Some("a"));
        assert_eq!(seen_by(&t, "y/v2", "A").as_deref(), Some("a"));
        assert_eq!(seen_by(&t, "y/v1", "Other").as_deref(), Some("b"));
        assert_eq!(seen_by(&t, "q/v1", "Other"), None);
        assert_eq!(
            t.known_kinds(),
            vec![
                "x/v1/A",
                "y/v1/B",
                "z/v1/Z",
                "aws/v1/Service",
                "aws/v1/Bad",
                "l/v1/L"
            ]
        );
        assert_eq!(
            t.check("x/v1", "A", &Value::Null, "p", false)
                .and_then(|r| r.ok())
                .map(|d| d[0].severity),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn a_failed_call_names_the_plugin_and_kind() {
        let e = targets()
            .check("z/v1", "Z", &Value::Null, "prod", false)
            .and_then(Result::err);
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("plugin `broken` failed on Z: exceeded its deadline")
        );
    }

    #[test]
    fn render_needs_an_exact_match_and_passes_the_env() {
        let mut files = FileTree::new();
        files.insert("o/kustomization.yaml", "resources:\n- m.yaml\n");
        files.insert(
            "o/m.yaml",
            "apiVersion: x/v1\nkind: A\nmetadata:\n  name: m\n  env: prod\n",
        );
        let b = build(&files, "o").expect("builds");
        let objects = targets().render(&b, &DeployContext::default());
        assert_eq!(
            objects,
            Ok(RenderOutput::Kubernetes {
                objects: vec![serde_json::json!({"by": "a", "env": "prod"})]
            })
        );
        files.insert(
            "o/m.yaml",
            "apiVersion: y/v2\nkind: A\nmetadata:\n  name: m\n",
        );
        let b = build(&files, "o").expect("builds");
        assert_eq!(
            targets().render(&b, &DeployContext::default()),
            Err(RenderError::NoPlugin {
                api_version: "y/v2".into(),
                kind: "A".into()
            })
        );
    }

    fn render_one(api_version: &str, kind: &str) -> Result<RenderOutput, RenderError> {
        let mut files = FileTree::new();
        files.insert("o/kustomization.yaml", "resources:\n- m.yaml\n");
        files.insert(
            "o/m.yaml",
            format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: m\n").as_str(),
        );
        let b = build(&files, "o").expect("builds");
        targets().render(&b, &DeployContext::default())
    }

    #[test]
    fn renders_are_checked_against_the_declared_target_and_the_operations_known() {
        assert_eq!(
            targets().target_of("aws/v1", "Service"),
            Some(DeployTarget::Aws)
        );
        assert_eq!(
            targets().target_of("x/v1", "A"),
            Some(DeployTarget::Kubernetes)
        );
        assert_eq!(targets().target_of("q/v1", "A"), None);
        assert!(matches!(
            render_one("aws/v1", "Service"),
            Ok(RenderOutput::Aws { operations }) if operations.len() == 1
        ));
        let bad = render_one("aws/v1", "Bad").map_err(|e| e.to_string());
        assert!(
            bad.as_ref().is_err_and(|e| e.contains(
                "plugin `aws-bad` cannot render Bad `m`: returned a malformed result: operation 0: unknown AWS operation `createBucket`"
            )),
            "{bad:?}"
        );
        let liar = render_one("l/v1", "L").map_err(|e| e.to_string());
        assert!(
            liar.as_ref().is_err_and(
                |e| e.contains("the kind deploys to kubernetes but the render is for aws")
            ),
            "{liar:?}"
        );
    }
}
