//! The API's JSON: the types live in `planton_core::api` (shared with the web app, which
//! reads them), with their OpenAPI schemas derived there under core's `openapi` feature,
//! which only this crate enables. Re-exported here so handlers name them in one place.

pub use planton_core::api::*;
