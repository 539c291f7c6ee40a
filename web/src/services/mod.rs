//! The only modules that touch browser APIs.
//!
//! - [`plugins`] — target plugins run by the browser's `WebAssembly` (core's `Target`);
//! - [`fs`] — folder pickers, drag and drop, the File System Access API, downloads;
//! - [`dom`] — prompts, confirmations, editor caret and scrolling;
//! - [`clock`] — `performance.now()`, freeing after the update is shown;
//! - [`assets`] — fetching the files served with the app (the built-in plugins);
//! - [`recovery`] — surviving a trap of the page's WebAssembly instance;
//! - [`api`] — `planton serve`'s pipeline API and event streams (pipelines views only).

pub mod api;
pub mod assets;
pub mod clock;
pub mod dom;
pub mod fs;
pub mod plugins;
pub mod recovery;
