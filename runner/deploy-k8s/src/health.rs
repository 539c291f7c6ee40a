//! Live health of one deployed task: its newest stored revision and the kstatus readiness
//! of every object of its newest finished revision, as [`planton_core::api::ServiceHealth`].
//!
//! [`service_health`] is the one health function: `planton status` prints what it returns
//! and `planton serve`'s health endpoint serves it, so the two cannot disagree.
//! [`Place`] says where a task lives (namespace and kubeconfig context); the CLI resolves
//! it from the build and `planton.yaml` for both.
//!
//! Cost: one GET of the state ConfigMap, then per object one discovery lookup (cached by
//! the client after the first) and one GET.

use crate::client::Cluster;
use crate::driver::read_state;
use crate::inventory::Entry;
use crate::kstatus::compute;
use crate::object::ObjectRef;
use crate::order::sort_for_apply;
use crate::resources;
use crate::state::{Outcome, Revision};
pub use planton_core::api::{LiveObject, RevisionResult, RevisionSummary, ServiceHealth};

/// Where a task of a service lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The task (overlay name).
    pub task: String,
    /// The service (`metadata.name` of its manifest).
    pub service: String,
    /// The namespace.
    pub namespace: String,
    /// The kubeconfig context (none: the current one).
    pub context: Option<String>,
}

/// A stored revision as the API shows it (without its manifest).
pub fn summary(r: &Revision) -> RevisionSummary {
    RevisionSummary {
        revision: r.revision,
        result: match r.result {
            Outcome::Pending => RevisionResult::Pending,
            Outcome::Succeeded => RevisionResult::Succeeded,
            Outcome::Failed => RevisionResult::Failed,
        },
        image: r.image.clone(),
        manifest_digest: r.manifest_digest.clone(),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        actor: r.actor.clone(),
        source: r.source.clone(),
        message: r.message.clone(),
    }
}

/// The live health of `task` of `service` in `namespace`. A task never deployed there is
/// reported with no revision and no objects (not an error).
pub async fn service_health(
    cluster: &Cluster,
    namespace: &str,
    service: &str,
    task: &str,
) -> crate::Result<ServiceHealth> {
    let st = read_state(cluster, namespace, service).await?;
    let Some(ts) = st.tasks.get(task) else {
        return Ok(ServiceHealth {
            task: task.to_string(),
            env: String::new(),
            namespace: namespace.to_string(),
            revision: None,
            objects: Vec::new(),
        });
    };
    let mut objects = Vec::new();
    if let Some(rev) = ts.last_finished() {
        let mut refs: Vec<ObjectRef> = rev.inventory.iter().filter_map(Entry::object).collect();
        sort_for_apply(&mut refs, |r| r.kind.as_str());
        for r in refs {
            let res = resources::resolve(cluster, &r).await?;
            let live = resources::get(cluster, &res, &r)
                .await?
                .and_then(|o| serde_json::to_value(o).ok());
            objects.push(LiveObject {
                object: r.to_string(),
                health: compute(live.as_ref()),
            });
        }
    }
    Ok(ServiceHealth {
        task: task.to_string(),
        env: ts.env.clone(),
        namespace: namespace.to_string(),
        revision: ts.revisions.last().map(summary),
        objects,
    })
}
