//! The driver's error type: every failure names what was being done (verb, resource,
//! namespace, object), and none carries a secret value.

use crate::object::ObjectRef;

/// What the driver was doing when an API call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// `get`, `list`, `patch` (apply), `create`, `update`, `delete`.
    pub verb: &'static str,
    /// The resource (plural, with group: `deployments.apps`, `secrets`).
    pub resource: String,
    /// The namespace, when namespaced.
    pub namespace: Option<String>,
    /// The object's name, when one.
    pub name: Option<String>,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(n) = &self.name {
            write!(f, " `{n}`")?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, " in namespace `{ns}`")?;
        }
        Ok(())
    }
}

/// A failed deploy step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster configuration could not be loaded.
    #[error("cannot load the cluster configuration: {0}")]
    Config(String),
    /// RBAC refused a call.
    #[error("forbidden: cannot {action}: {message}")]
    Forbidden {
        /// The refused call.
        action: Action,
        /// The API server's message.
        message: String,
    },
    /// Server-side apply found fields owned by another field manager.
    #[error("conflict applying {object}: {message} (take the fields with --force-conflicts)")]
    Conflict {
        /// The object.
        object: String,
        /// The API server's message, which names the manager and the fields.
        message: String,
    },
    /// The API server refused an object (invalid, unknown kind, ...).
    #[error("the API server refused to {action}: {message}")]
    Refused {
        /// The call.
        action: Action,
        /// HTTP status code.
        code: u16,
        /// The API server's message.
        message: String,
    },
    /// A call failed after the retries (network, timeouts, 5xx).
    #[error("cannot {action} after {attempts} attempt(s): {source}")]
    Api {
        /// The call.
        action: Action,
        /// How many times it was tried.
        attempts: u32,
        /// The last error (boxed: kube's error is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// The API server did not answer in time, on every attempt.
    #[error(
        "cannot {action}: the API server did not answer within {} s, {attempts} attempt(s) (--request-timeout)", .after.as_secs_f64()
    )]
    Timeout {
        /// The call.
        action: Action,
        /// How many times it was tried.
        attempts: u32,
        /// The timeout of one attempt.
        after: std::time::Duration,
    },
    /// The kind is not served by the cluster.
    #[error("the cluster does not serve {kind} (apiVersion {api_version}): {message}")]
    UnknownKind {
        /// Kind.
        kind: String,
        /// apiVersion.
        api_version: String,
        /// Why.
        message: String,
    },
    /// A rendered object is unusable.
    #[error(transparent)]
    Object(#[from] crate::object::MissingField),
    /// A rendered object belongs to another namespace than the target.
    #[error(
        "{object} is rendered into namespace `{found}`, but this environment deploys to `{expected}`"
    )]
    WrongNamespace {
        /// The object (boxed, to keep the error small).
        object: Box<ObjectRef>,
        /// Its namespace.
        found: String,
        /// The target namespace.
        expected: String,
    },
    /// References did not resolve (every one is listed).
    #[error("{} reference(s) did not resolve:\n  {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    References(Vec<crate::secrets::RefError>),
    /// The stored state cannot be used.
    #[error("deploy state ConfigMap `{name}` in namespace `{namespace}`: {source}")]
    State {
        /// ConfigMap name.
        name: String,
        /// Namespace.
        namespace: String,
        /// Why.
        #[source]
        source: crate::state::StateError,
    },
    /// Another environment of the service already lives in the target namespace.
    #[error(
        "namespace `{namespace}` already holds task `{other_task}` (env `{other_env}`) of service `{service}`; two environments cannot share a namespace of one cluster: give this one its own namespace (planton.yaml `environments.<task>.namespace` or --namespace)"
    )]
    NamespaceTaken {
        /// The service.
        service: String,
        /// The namespace.
        namespace: String,
        /// The task there.
        other_task: String,
        /// Its env.
        other_env: String,
    },
    /// Another deploy holds the lock.
    #[error(
        "another deploy of {service}/{task} is running (lock held by `{holder}`, renewed {renewed}); waited {waited_s} s"
    )]
    Locked {
        /// Service.
        service: String,
        /// Task.
        task: String,
        /// The holder.
        holder: String,
        /// Its last renewal.
        renewed: String,
        /// How long this run waited.
        waited_s: u64,
    },
    /// A secret source holds something unusable (never a value).
    #[error("secret source: {message}")]
    SecretSource {
        /// What is wrong (names the Secret and key).
        message: String,
    },
    /// Nothing to roll back to.
    #[error("{0}")]
    NoRevision(String),
    /// Interrupted (Ctrl-C or SIGTERM) while holding the lock; the lock was released and
    /// the revision stays pending, which the next deploy continues from.
    #[error(
        "interrupted; the deploy lock was released and the next deploy continues from here (this revision stays pending)"
    )]
    Interrupted,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
