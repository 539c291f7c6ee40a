//! The plugins built into the planton binary.
//!
//! `runner/host/build.rs` compiles `plugins/kubernetes` and `plugins/aws-ecs` for
//! `wasm32-unknown-unknown` and this module embeds the results with `include_bytes!`.
//! When the build was told to skip them (`PLANTON_SKIP_PLUGIN_BUILD=1`) the embedded files
//! are empty and loading a built-in fails with [`Error::BuiltinMissing`].

use crate::error::{Error, Result};

/// The built-ins, by name, with their `.wasm`.
const BUILTINS: &[(&str, &[u8])] = &[
    (
        "kubernetes",
        include_bytes!(concat!(env!("OUT_DIR"), "/planton_plugin_k8s.wasm")),
    ),
    (
        "aws-ecs",
        include_bytes!(concat!(env!("OUT_DIR"), "/planton_plugin_ecs.wasm")),
    ),
];

/// The names of the built-in plugins, in load order.
pub fn names() -> &'static [&'static str] {
    &["kubernetes", "aws-ecs"]
}

/// The `.wasm` of a built-in plugin.
pub(crate) fn bytes(name: &str) -> Result<&'static [u8]> {
    match BUILTINS.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) if !bytes.is_empty() => Ok(bytes),
        Some(_) => Err(Error::BuiltinMissing {
            name: name.to_string(),
        }),
        None => Err(Error::UnknownBuiltin {
            name: name.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_match_the_table() {
        let table: Vec<&str> = super::BUILTINS.iter().map(|(n, _)| *n).collect();
        assert_eq!(table, super::names());
    }
}
