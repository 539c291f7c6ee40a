//! Built-in metadata transformers: namespace, name prefix/suffix, labels, annotations.
//!
//! (Being written: this module currently refuses the fields it owns.)

use super::error::{BuildError, Result};
use super::{Kustomization, Resource};

/// Sets the namespace of every namespaced resource.
pub(super) fn namespace(_ns: &str, _ra: &mut [Resource]) {}

/// Adds a name prefix and suffix to every resource.
pub(super) fn prefix_suffix(_prefix: &str, _suffix: &str, _ra: &mut [Resource]) {}

/// Applies `commonLabels` and `labels`.
pub(super) fn labels(k: &Kustomization, _ra: &mut [Resource]) -> Result<()> {
    for f in ["commonLabels", "labels"] {
        if k.field(f).is_some() {
            return Err(BuildError::msg(format!("{f} is not supported yet")));
        }
    }
    Ok(())
}

/// Applies `commonAnnotations`.
pub(super) fn annotations(k: &Kustomization, _ra: &mut [Resource]) -> Result<()> {
    if k.field("commonAnnotations").is_some() {
        return Err(BuildError::msg("commonAnnotations is not supported yet"));
    }
    Ok(())
}
