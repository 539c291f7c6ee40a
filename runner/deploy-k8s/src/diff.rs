//! Comparing what a server-side dry-run says an object would become with what is live:
//! normalisation (fields the server or controllers own, which never mean a change), the
//! change test that decides whether an object is written, and `kubectl diff`-style unified
//! diffs. Secrets are never shown: only whether they change.
//!
//! Pure. YAML is printed with `planton-core`'s emitter (the same output as `planton build`).

use planton_core::validate::out_from_json;
use planton_core::yaml::emit_documents;
use serde_json::Value;

/// Metadata fields set by the server, removed before comparing and printing.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// The object without server-owned metadata and without `status`.
pub fn normalize(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if let Some(Value::Object(m)) = v.get_mut("metadata") {
        for f in SERVER_METADATA {
            m.remove(*f);
        }
        if let Some(Value::Object(a)) = m.get("annotations")
            && a.is_empty()
        {
            m.remove("annotations");
        }
    }
    v
}

/// Whether applying would change the live object: the dry-run result differs from it in
/// anything but server-owned fields. An absent live object always changes.
pub fn changes(live: Option<&Value>, dry_run: &Value) -> bool {
    match live {
        None => true,
        Some(l) => normalize(l) != normalize(dry_run),
    }
}

fn yaml(v: &Value) -> String {
    emit_documents(&[out_from_json(v)])
}

/// A unified diff of one object, `kubectl diff` style: `--- <label> (live)` and
/// `+++ <label> (after apply)`, normalised YAML, 3 lines of context. Empty when unchanged.
/// Secrets must not be passed here (see [`secret_line`]).
pub fn unified(label: &str, live: Option<&Value>, after: &Value) -> String {
    let before = live.map(|l| yaml(&normalize(l))).unwrap_or_default();
    let after = yaml(&normalize(after));
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{label} (live)"),
            &format!("{label} (after apply)"),
        )
        .to_string()
}

/// The line shown for a Secret instead of a diff: never a value, never a key's content.
pub fn secret_line(label: &str, exists: bool, changed: bool) -> String {
    match (exists, changed) {
        (false, _) => format!("{label}: will be created (values not shown)\n"),
        (true, true) => format!("{label}: changes (values not shown)\n"),
        (true, false) => format!("{label}: unchanged\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_are_not_changes() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "7",
            "managedFields": [{"manager": "planton"}], "uid": "u"}, "data": {"a": "1"}});
        let dry = json!({"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "7",
            "managedFields": [{"manager": "planton", "time": "later"}]}, "data": {"a": "1"}});
        assert!(!changes(Some(&live), &dry));
        assert_eq!(unified("ConfigMap ns/c", Some(&live), &dry), "");
        let dry2 = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
        assert!(changes(Some(&live), &dry2));
        assert!(changes(None, &dry));
    }

    #[test]
    fn unified_diff_like_kubectl() {
        let live =
            json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "x"}});
        let after =
            json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2", "b": "x"}});
        let d = unified("ConfigMap ns/c", Some(&live), &after);
        assert!(
            d.starts_with("--- ConfigMap ns/c (live)\n+++ ConfigMap ns/c (after apply)\n"),
            "{d}"
        );
        assert!(d.contains("-  a: \"1\"\n+  a: \"2\"\n"), "{d}");
        let created = unified("ConfigMap ns/c", None, &after);
        assert!(created.contains("+kind: ConfigMap"), "{created}");
    }

    #[test]
    fn secret_lines_carry_no_values() {
        assert_eq!(
            secret_line("Secret ns/s", true, false),
            "Secret ns/s: unchanged\n"
        );
        assert_eq!(
            secret_line("Secret ns/s", true, true),
            "Secret ns/s: changes (values not shown)\n"
        );
        assert_eq!(
            secret_line("Secret ns/s", false, true),
            "Secret ns/s: will be created (values not shown)\n"
        );
    }
}
