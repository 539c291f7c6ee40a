//! The inventory: which objects a revision applied, stored with the revision so that a later
//! deploy can prune what is no longer rendered without re-rendering old revisions.
//!
//! Pure set arithmetic over [`ObjectRef`]s.

use crate::object::ObjectRef;
use crate::order::sort_for_delete;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One inventory entry: the object's id and the API version it was applied with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// `<namespace>_<name>_<group>_<kind>` ([`ObjectRef::id`]).
    pub id: String,
    /// The version (`v1`), so the object can be addressed again.
    pub v: String,
}

impl Entry {
    /// The entry for an object.
    pub fn of(r: &ObjectRef) -> Entry {
        Entry {
            id: r.id(),
            v: r.version.clone(),
        }
    }

    /// The object this entry names, when the id is well-formed.
    pub fn object(&self) -> Option<ObjectRef> {
        ObjectRef::from_id(&self.id, &self.v)
    }
}

/// The inventory of a set of objects, sorted by id.
pub fn inventory(objects: &[ObjectRef]) -> Vec<Entry> {
    let set: BTreeSet<Entry> = objects.iter().map(Entry::of).collect();
    set.into_iter().collect()
}

/// Objects in any of `previous` that are not in `next` (compared by id, so a changed
/// apiVersion is not stale), in delete order. Namespaces are never returned: deleting one
/// deletes everything in it, including what planton does not own.
pub fn stale(previous: &[&[Entry]], next: &[Entry]) -> Vec<ObjectRef> {
    let keep: BTreeSet<&str> = next.iter().map(|e| e.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    let mut out: Vec<ObjectRef> = previous
        .iter()
        .flat_map(|p| p.iter())
        .filter(|e| !keep.contains(e.id.as_str()) && seen.insert(e.id.clone()))
        .filter_map(Entry::object)
        .filter(|r| r.kind != "Namespace")
        .collect();
    sort_for_delete(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: if kind == "Deployment" {
                "apps".into()
            } else {
                String::new()
            },
            version: "v1".into(),
            kind: kind.into(),
            namespace: (kind != "Namespace").then(|| "ns".to_string()),
            name: name.into(),
        }
    }

    #[test]
    fn stale_is_old_minus_new_in_delete_order_without_namespaces() {
        let old = inventory(&[
            r("Namespace", "ns"),
            r("Secret", "s"),
            r("Deployment", "d"),
            r("Service", "svc"),
        ]);
        let pending = inventory(&[r("ConfigMap", "leftover")]);
        let new = inventory(&[r("Deployment", "d")]);
        let gone: Vec<String> = stale(&[&old, &pending], &new)
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(
            gone,
            ["Service ns/svc", "ConfigMap ns/leftover", "Secret ns/s"]
        );
    }

    #[test]
    fn a_version_change_is_not_stale() {
        let mut d2 = r("Deployment", "d");
        d2.version = "v2".into();
        assert!(stale(&[&inventory(&[r("Deployment", "d")])], &inventory(&[d2])).is_empty());
    }

    #[test]
    fn duplicates_across_previous_sets_are_deleted_once() {
        let a = inventory(&[r("Secret", "s")]);
        assert_eq!(stale(&[&a, &a], &[]).len(), 1);
    }
}
