//! Fixing references (configMapRef, secretKeyRef, serviceAccountName, ...) to renamed objects.
//!
//! (Being written: this module currently refuses the fields it owns.)

use super::error::Result;
use super::Resource;

/// Rewrites references to objects whose names changed during the build.
pub(super) fn fix_back_references(_ra: &mut [Resource]) -> Result<()> {
    Ok(())
}
