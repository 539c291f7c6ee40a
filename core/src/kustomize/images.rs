//! The images transformer.
//!
//! (Being written: this module currently refuses the fields it owns.)

use super::error::{BuildError, Result};
use super::{Kustomization, Resource};

/// Applies `images:`.
pub(super) fn apply(k: &Kustomization, _ra: &mut [Resource]) -> Result<()> {
    if k.field("images").is_some() {
        return Err(BuildError::msg("images is not supported yet"));
    }
    Ok(())
}
