//! The JSON of `planton serve`'s API, as the page reads it: the types of
//! `planton_core::api`, which the server serves (its OpenAPI document is at
//! `/api/openapi.json`). One definition for both sides; unknown fields are ignored, so a
//! newer server does not break an older page.

pub use planton_core::api::*;
