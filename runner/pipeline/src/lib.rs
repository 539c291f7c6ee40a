//! planton's pipeline stage: one run takes an image through every deployment task of a
//! service in promotion order, stopping at manual gates, with one lock per service and
//! environment, a log per task, and everything in a state store.
//!
//! The decisions are pure and live in `planton_core::pipeline` (the data model, promotion
//! order, the task state machine, the gate rule), shared with the web UI. This crate keeps
//! state: [`store::StateStore`] is the one interface, [`sqlite::SqliteStore`] the embedded
//! default in the service's `.planton/` folder, [`kube_store::KubeStore`] the in-cluster one
//! (Kubernetes objects in a namespace; RBAC decides who may approve).
//!
//! Not here: building, validating or deploying (the CLI composes core, the plugins and the
//! drivers; a task's stack job is a `planton deploy` the engine starts), and printing.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use planton_pipeline::{sqlite::SqliteStore, store::{StateStore, LockOutcome}};
//! use planton_core::pipeline::Lock;
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::for_service(dir.path()).unwrap();
//! let lock = Lock { key: "order-api/app-prod".into(), owner: "me@host:1".into(),
//!     run_id: "1".into(), acquired_at: 0, expires_at: 60_000 };
//! assert_eq!(store.acquire_lock(&lock, None).await.unwrap(), LockOutcome::Acquired { took_over: None });
//! # });
//! ```

pub mod engine;
pub mod error;
pub mod executor;
pub mod kube_executor;
pub mod kube_store;
pub mod sqlite;
pub mod store;
pub mod testing;

pub use error::{Error, Result};
pub use store::StateStore;
