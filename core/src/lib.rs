//! planton's pure core: a kustomize-compatible build engine and (later) the validation,
//! reference resolution and planning that the browser and the CLI share.
//!
//! This crate does no IO, reads no clock, environment or randomness, and never panics on
//! user input; it compiles natively and for `wasm32-unknown-unknown`.
//! Callers hand in files as an in-memory [`kustomize::FileTree`] and get plain data back.
//!
//! Main entry points:
//! - [`kustomize::build`]: build one kustomization directory into resources;
//!   [`kustomize::Build::to_yaml`] prints them exactly as `kubectl kustomize` does.
//! - [`check::check_service`]: everything `planton validate` reports; [`plugins::Targets`]:
//!   kind routing and the render loop over the target plugins, however they are called.
//! - [`yaml`]: the position-carrying YAML node tree, parser and kustomize-exact emitter.
//!
//! ```
//! use planton_core::kustomize::{build, FileTree};
//! let mut tree = FileTree::new();
//! tree.insert("app/kustomization.yaml", "resources:\n- cm.yaml\nnamePrefix: dev-\n");
//! tree.insert("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  port: \"8080\"\n");
//! let out = build(&tree, "app").unwrap().to_yaml().unwrap();
//! assert_eq!(out, "apiVersion: v1\ndata:\n  port: \"8080\"\nkind: ConfigMap\nmetadata:\n  name: dev-cfg\n");
//! ```

pub mod api;
pub mod check;
pub mod diag;
pub mod dotenv;
pub mod incremental;
pub mod kustomize;
pub mod pipeline;
pub mod plan;
pub mod plugins;
pub mod refs;
pub mod scaffold;
pub mod service;
pub mod suggest;
pub mod validate;
pub mod yaml;
