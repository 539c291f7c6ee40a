//! `planton schema`: the kinds' JSON Schemas, as the plugins publish them.

use super::Outcome;
use crate::cli::SchemaArgs;
use crate::plugins::Plugins;
use anyhow::{Result, bail};

/// Runs `planton schema`.
pub fn run(args: &SchemaArgs) -> Result<Outcome> {
    let plugins = Plugins::builtin();
    let kinds: Vec<_> = plugins
        .all()
        .iter()
        .flat_map(|p| p.describe().kinds.clone())
        .collect();
    let out = match &args.kind {
        Some(k) => match kinds.iter().find(|i| &i.kind == k) {
            Some(info) => info.schema.clone(),
            None => {
                let known: Vec<&str> = kinds.iter().map(|i| i.kind.as_str()).collect();
                bail!("unknown kind `{k}`; known kinds: {}", known.join(", "))
            }
        },
        None => serde_json::Value::Object(
            kinds
                .iter()
                .map(|i| (i.kind.clone(), i.schema.clone()))
                .collect(),
        ),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(Outcome::Success)
}
