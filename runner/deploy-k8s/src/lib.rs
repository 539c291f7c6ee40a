//! planton's Kubernetes deploy driver.
//!
//! The pure parts are plain functions tested without a cluster: [`order`] (apply order),
//! [`inventory`] (what to prune), [`kstatus`] (readiness), [`state`] (the ConfigMap format),
//! [`secrets`] (references to values, the keyed digest), [`diff`] and [`prepare`] (labels).
//! The async parts talk to the API server with kube: [`client`] (connection, retries,
//! request counts), [`kube_secrets`] (secret values from Kubernetes Secrets),
//! [`resources`], [`lock`] (a Lease), [`explain`] (why a rollout is stuck), [`health`] (live
//! health, for `planton status` and `planton serve`) and [`driver`]
//! (deploy, diff, rollback).
//!
//! Not here: building, validating or rendering a service (the CLI composes core and the
//! plugin host for that and hands the driver rendered objects), and printing.
//!
//! ```
//! use planton_deploy_k8s::order::sort_for_apply;
//! let mut kinds = vec!["Deployment", "Secret", "Namespace"];
//! sort_for_apply(&mut kinds, |k| k);
//! assert_eq!(kinds, ["Namespace", "Secret", "Deployment"]);
//! ```

pub mod client;
pub mod diff;
pub mod driver;
pub mod error;
pub mod explain;
pub mod health;
pub mod inventory;
pub mod kstatus;
pub mod kube_secrets;
pub mod lock;
pub mod object;
pub mod order;
pub mod prepare;
pub mod resources;
pub mod secrets;
pub mod split;
pub mod state;

pub use error::{Error, Result};
