//! ConfigMap and Secret generators, generator options, behaviors and hash suffixes.
//!
//! (Being written: this module currently refuses the fields it owns.)

use super::error::{BuildError, Result};
use super::{Kustomization, Loader, Resource};

/// Runs `configMapGenerator` and `secretGenerator` of `k`, merging into `ra`.
pub(super) fn run(_loader: &Loader<'_>, k: &Kustomization, _ra: &mut Vec<Resource>) -> Result<()> {
    for f in ["configMapGenerator", "secretGenerator"] {
        if k.field(f).is_some() {
            return Err(BuildError::msg(format!("{f} is not supported yet")));
        }
    }
    Ok(())
}

/// Appends content-hash suffixes to generated names (end of the build).
pub(super) fn add_hashes(_ra: &mut [Resource]) -> Result<()> {
    Ok(())
}
