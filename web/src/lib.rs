//! planton's in-browser overlay editor: open a service's `_kustomize/` folder, edit it, and
//! see every overlay built, validated, rendered and planned live — by `planton-core` and the
//! target plugins, compiled to WebAssembly and run in the page.
//!
//! Shape (house style rule 6):
//! - [`App`] (in `app`) owns the state and wires browser events to [`state::Action`]s;
//! - [`state`] holds the [`state::State`] and its `Reducible` impl, whose `reduce` calls core
//!   (through [`analysis`]);
//! - `components/` and `pages/` are pure views of the state;
//! - `services/` is the only place that touches browser APIs (file pickers, the File System
//!   Access API, drag and drop, `WebAssembly`, downloads, `performance.now`).
//!
//! What this crate deliberately is not: it has no overlay, validation or reference logic.
//! Every diagnostic comes from `planton_core` (and the plugins it calls through
//! [`planton_core::validate::KindChecker`]), so the page reports exactly what
//! `planton validate` reports for the same files.
//! The pure helpers here are view helpers: a line [`diff`], a YAML [`highlight`]er and a
//! [`zip`] writer for "save as download".

pub mod analysis;
mod app;
pub mod components;
pub mod diff;
pub mod example;
pub mod highlight;
pub mod ops;
pub mod pages;
pub mod service_files;
pub mod services;
pub mod state;
pub mod zip;

pub use app::App;
pub use ops::Root;
