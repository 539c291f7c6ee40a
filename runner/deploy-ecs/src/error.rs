//! The driver's error type: every way a deploy can fail, with the AWS operation and the
//! resource it concerns, and never a secret value or a credential.

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A deploy failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The plugin's render cannot be carried out (unknown or malformed operation, a
    /// reference to an operation the render lacks). The plugin's fault.
    #[error("the plugin's render is not a valid contract-v2 AWS render: {message}")]
    Plugin {
        /// Every problem, one per line.
        message: String,
    },
    /// No usable credentials, or AWS rejected them.
    #[error(
        "AWS credentials {problem}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or another source the AWS CLI reads"
    )]
    Credentials {
        /// What is wrong (never the credentials themselves).
        problem: String,
    },
    /// The ECS cluster does not exist or is not active.
    #[error("ECS cluster {cluster} {problem} (region {region})")]
    Cluster {
        /// The cluster ARN or name.
        cluster: String,
        /// `was not found` or `is INACTIVE`.
        problem: String,
        /// The region asked.
        region: String,
    },
    /// A secret the render references has no value in the secret source.
    #[error("no value for $secrets-group/{group}/{entry} in the secret source")]
    MissingSecret {
        /// The group.
        group: String,
        /// The entry.
        entry: String,
    },
    /// Secrets the render references that the secret source lacks (all at once).
    #[error("{source_name} lacks {}", missing.join(", "))]
    UnresolvedSecrets {
        /// The source, as it describes itself.
        source_name: String,
        /// `$secrets-group/<group>/<entry> (no such group)` or `… (no such entry)`.
        missing: Vec<String>,
    },
    /// A resource exists in a shape the deploy cannot change in place.
    #[error("{resource}: {message}")]
    Conflict {
        /// The resource.
        resource: String,
        /// What differs and what to do.
        message: String,
    },
    /// An AWS API call failed (after the SDK's retries).
    #[error("{operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Aws {
        /// The API operation, e.g. `ecs:CreateService`.
        operation: &'static str,
        /// The AWS error code, when the service sent one.
        code: Option<String>,
        /// The error and its causes.
        message: String,
    },
    /// The rollout failed: the circuit breaker tripped, or ECS rolled back.
    #[error("the deployment of {service} failed: {reason}")]
    RolloutFailed {
        /// The service.
        service: String,
        /// Why, with the stopped tasks' reasons.
        reason: String,
    },
    /// The rollout did not finish in time.
    #[error("timed out after {seconds} s waiting for {service}: {last}")]
    Timeout {
        /// The service.
        service: String,
        /// The timeout.
        seconds: u64,
        /// The last status seen.
        last: String,
    },
    /// The stored deploy state cannot be read or written.
    #[error("deploy state {parameter}: {message}")]
    State {
        /// The SSM parameter.
        parameter: String,
        /// What is wrong.
        message: String,
    },
    /// Another deploy of the same ECS service holds the lock ([`crate::lock`]).
    #[error("{0}")]
    Locked(Box<LockedBy>),
    /// This run stalled past its lock's TTL and another run took the lock over.
    #[error(
        "the deploy lock {parameter} was taken over by another run while this one stalled; stopped before the next step"
    )]
    LockLost {
        /// The SSM parameter of this run's generation.
        parameter: String,
    },
    /// The deploy state changed after this run read it and before it took the lock (another
    /// deploy finished in between); the driver decides again once, under the lock.
    #[error(
        "the deploy state {parameter} changed while this deploy held the lock (a deploy without the lock?)"
    )]
    StateMoved {
        /// The SSM parameter.
        parameter: String,
    },
    /// Interrupted (Ctrl-C or SIGTERM); the lock was released, the state shows a pending
    /// revision that the next deploy finishes.
    #[error("interrupted; the deploy lock was released and the next deploy continues from here")]
    Interrupted,
    /// Nothing to roll back to.
    #[error("no earlier successful revision of {service} in {environment} to roll back to")]
    NoRollbackTarget {
        /// The service.
        service: String,
        /// The environment.
        environment: String,
    },
}

/// Who holds the deploy lock another run was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "another deploy of ECS service {service} is running: the lock {parameter} is held by `{holder}` (environment {environment}) since {since}, last renewed {renewed}; waited {waited_s} s"
)]
pub struct LockedBy {
    /// The ECS service.
    pub service: String,
    /// The SSM parameter of the holder's generation.
    pub parameter: String,
    /// `user@host:pid` of the holder.
    pub holder: String,
    /// The environment it deploys.
    pub environment: String,
    /// When it took the lock (RFC 3339, by its clock).
    pub since: String,
    /// When it last renewed (RFC 3339, AWS's `LastModifiedDate`).
    pub renewed: String,
    /// How long this run waited.
    pub waited_s: u64,
}

/// The driver's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// AWS error codes that mean the credentials are missing, wrong or expired.
const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "AuthFailure",
    "MissingAuthenticationToken",
];

/// The AWS error code of a failed call, if the service sent one.
pub(crate) fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
}

/// Converts an SDK error of `operation` into an [`Error`], recognising credential problems:
/// a credential error code, or an HTTP 403 whose body the SDK could not read as an error of
/// the service's protocol (moto answers bad keys on JSON services with an XML 403).
pub(crate) fn aws<E>(operation: &'static str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = code_of(&e).map(str::to_string);
    if let Some(c) = code.as_deref().filter(|c| CREDENTIAL_CODES.contains(c)) {
        return Error::Credentials {
            problem: format!("were rejected by AWS ({c} from {operation})"),
        };
    }
    if code.is_none() && e.raw_response().map(|r| r.status().as_u16()) == Some(403) {
        return Error::Credentials {
            problem: format!("were rejected by AWS (HTTP 403 from {operation})"),
        };
    }
    let message = match e.as_service_error().and_then(ProvideErrorMetadata::message) {
        Some(m) => m.to_string(),
        None => DisplayErrorContext(&e).to_string(),
    };
    if code.is_none() && message.contains("credentials") {
        return Error::Credentials {
            problem: format!("could not be loaded ({operation}: {message})"),
        };
    }
    Error::Aws {
        operation,
        code,
        message,
    }
}

/// Converts a builder's error (a required field the driver failed to set: a bug here).
pub(crate) fn built<T>(
    what: &'static str,
    r: std::result::Result<T, aws_sdk_ecs::error::BuildError>,
) -> Result<T> {
    r.map_err(|e| Error::Aws {
        operation: what,
        code: None,
        message: format!("cannot build the request: {e}"),
    })
}
