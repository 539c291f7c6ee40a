//! The replicas transformer.
//!
//! (Being written: this module currently refuses the fields it owns.)

use super::error::{BuildError, Result};
use super::{Kustomization, Resource};

/// Applies `replicas:`.
pub(super) fn apply(k: &Kustomization, _ra: &mut [Resource]) -> Result<()> {
    if k.field("replicas").is_some() {
        return Err(BuildError::msg("replicas is not supported yet"));
    }
    Ok(())
}
