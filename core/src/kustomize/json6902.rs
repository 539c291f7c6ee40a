//! RFC 6902 JSON patches applied to a node tree.
//!
//! (Being written: this module currently refuses the fields it owns.)

use crate::yaml::Node;

/// Applies the operations in `ops` (a sequence of `{op, path, value, from}` maps) to `target`.
pub fn apply(_target: &mut Node, _ops: &Node) -> Result<(), String> {
    Err("JSON 6902 patches are not supported yet".into())
}
