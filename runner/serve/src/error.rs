//! Errors: [`Error`] for setting the server up (config files, hashing), [`ApiError`] for
//! every HTTP answer that is not a success.
//!
//! Every error the server sends is JSON of one shape, `{"error": {"code", "message"}}`
//! ([`ErrorBody`]), with a status that says what went wrong: also for unknown routes,
//! wrong methods, malformed bodies and missing query parameters (see
//! [`crate::api::json_rejections`]). A message names what to fix and never carries a
//! password, token or session id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::path::PathBuf;
use utoipa::ToSchema;

/// `Result` with this crate's setup [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong setting the server up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read or written.
    #[error("cannot {action} the server config {path}")]
    ConfigIo {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("invalid server config {path}: {message}")]
    ConfigInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column where the YAML parser knows them.
        message: String,
    },
    /// A user definition is not acceptable (bad name, short password, unknown role).
    #[error("{0}")]
    User(String),
    /// Hashing a password or token failed.
    #[error("cannot hash the secret: {0}")]
    Hash(String),
    /// The session database could not be opened or prepared.
    #[error("cannot open the session database {path}: {message}")]
    Sessions {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The system random source failed.
    #[error("cannot read the system random source: {0}")]
    Random(String),
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error: a stable machine-readable code and a message for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `unauthenticated`, `forbidden`, `csrf`, `stale_digest`,
    /// `rate_limited`, `not_found`, `bad_request`, `conflict`, `store`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
}

/// An error answer: status, code and message, rendered as [`ErrorBody`] JSON.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Seconds to wait, for 429 answers (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 401: no (valid) session, token or proxy identity.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: POST /api/login, or send an API token as `Authorization: Bearer …`",
        )
    }
    /// 403: signed in but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 500: the state store failed.
    pub fn store(message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store",
            format!("the state store failed: {message}"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"planton\""),
            );
        }
        resp
    }
}
