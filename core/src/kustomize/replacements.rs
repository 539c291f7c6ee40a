//! The replacements transformer.
//!
//! (Being written: this module currently refuses the fields it owns.)

use super::error::{BuildError, Result};
use super::{Kustomization, Loader, Resource};

/// Applies `replacements:`.
pub(super) fn apply(_loader: &Loader<'_>, k: &Kustomization, _ra: &mut [Resource]) -> Result<()> {
    if k.field("replacements").is_some() {
        return Err(BuildError::msg("replacements is not supported yet"));
    }
    Ok(())
}
