//! Cross-crate tests, one binary (see the house style): each topic is a module.

mod util;

/// A real Kubernetes control plane (the testenv, or `KUBECONFIG`) and a namespace per test.
mod cluster;

/// kustomize conformance: every case of `../shared/conformance/kustomize` must build
/// byte-identically or be refused.
mod conformance;

/// Arbitrary and mutated input never panics the build.
mod robustness;

/// Validation and planning of service repositories.
mod service;

/// The editor's incremental checks and kept sub-builds equal full checks and fresh builds.
mod incremental;

/// The WebAssembly plugin host: contract, sandbox limits, cache, built-in and external plugins.
mod plugins_host;

/// `planton service dot-env`: .env/.env_export read back by python-dotenv and shells.
mod dotenv;

/// `planton service kustomize init`: starter trees, --force, missing flags.
mod scaffold;

/// Every kind rule's diagnostic points at the base or overlay line that wrote the value.
mod rule_positions;

/// `planton validate`/`plan` end to end: exit codes, formats checked by real consumers.
mod cli_validate;

/// `planton render` output validated by the upstream Kubernetes schemas and AWS models.
mod render_schemas;

/// The test control plane itself: SSA, dry-run, conflicts, RBAC, watches, controllers, kwok stages.
mod cluster_smoke;

/// `planton deploy|diff|status|rollback` against the control plane: first deploy, no-change
/// deploys with zero writes, diffs, failing images explained, secrets, prune, rollback, locks,
/// kill -9 and re-run.
mod deploy_k8s;

/// `planton deploy|diff|status|rollback` of the ECS example against a moto server: first
/// deploy, no-change deploy, diff exit codes, status, rollback, the canary secret nowhere.
mod deploy_ecs;

/// An HTTP-level fault-injecting proxy (TLS with a generated certificate) in front of the API server.
mod fault_proxy;

/// `planton pipeline run|resume|status`, `approve`, `reject`, `runs`, `logs`: gates, locks,
/// failures, kill -9 and resume, with the embedded store and stack jobs on the control plane.
mod pipeline;

/// `planton serve` against the control plane: live health equals `planton status`, and the
/// in-cluster store with approvals decided by RBAC.
mod serve;

/// `planton serve` as a process: sessions survive a restart; sign-out and user removal end them.
mod serve_auth;
