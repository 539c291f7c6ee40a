//! The labels planton puts on every object it applies, and the label checks prune relies on.
//!
//! Pure.

use serde_json::Value;

/// `app.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGER: &str = "planton";
/// The service label.
pub const SERVICE: &str = "planton.dev/service";
/// The task (overlay) label.
pub const TASK: &str = "planton.dev/task";
/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "planton";

/// Sets the managed-by, service and task labels on every object (and on pod templates, so
/// pods can be told apart too).
pub fn label(objects: &mut [Value], service: &str, task: &str) {
    for obj in objects.iter_mut() {
        set_labels(obj.pointer_mut("/metadata"), service, task);
        if obj.pointer("/spec/template/metadata").is_some() {
            set_labels(obj.pointer_mut("/spec/template/metadata"), service, task);
        }
    }
}

fn set_labels(meta: Option<&mut Value>, service: &str, task: &str) {
    let Some(Value::Object(m)) = meta else {
        return;
    };
    let labels = m
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(l) = labels {
        l.insert(MANAGED_BY.into(), MANAGER.into());
        l.insert(SERVICE.into(), service.into());
        l.insert(TASK.into(), task.into());
    }
}

/// Whether a live object carries planton's labels for this service and task (prune deletes
/// only such objects).
pub fn owned_by(obj: &Value, service: &str, task: &str) -> bool {
    let l = |k: &str| {
        obj.pointer("/metadata/labels")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
    };
    l(MANAGED_BY) == Some(MANAGER) && l(SERVICE) == Some(service) && l(TASK) == Some(task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_objects_and_pod_templates() {
        let mut objs = vec![
            json!({"kind": "Deployment", "metadata": {"name": "d", "labels": {"x": "1"}},
                "spec": {"template": {"metadata": {}}}}),
            json!({"kind": "Namespace", "metadata": {"name": "n"}}),
        ];
        label(&mut objs, "api", "prod");
        assert!(owned_by(&objs[0], "api", "prod"));
        assert!(owned_by(&objs[1], "api", "prod"));
        assert!(!owned_by(&objs[1], "api", "staging"));
        assert_eq!(objs[0]["metadata"]["labels"]["x"], "1");
        assert_eq!(
            objs[0]["spec"]["template"]["metadata"]["labels"][TASK],
            "prod"
        );
        assert!(!owned_by(&json!({"metadata": {}}), "api", "prod"));
    }
}
