//! Turning a render (which carries `$secrets-group/...` and `$variables-group/...`
//! references) into what is applied: secret values only inside the data of Kubernetes
//! Secrets, variable values as plain strings, and a keyed digest of the secret values on
//! every pod template so that a rotated secret rolls the pods.
//!
//! Pure. The values come from a caller-supplied lookup; the digest key comes from the
//! cluster (a random key kept in a Secret of the namespace, see the driver). The digest is
//! an HMAC-SHA256 under that key, never a plain hash: a plain hash of a short secret can be
//! reversed by guessing, and anyone who can read a Deployment could do so.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use planton_core::refs::{self, RefKind, Reference, SecretValue};
use serde_json::Value;
use std::collections::BTreeMap;

/// The pod-template annotation carrying the secrets digest.
pub const DIGEST_ANNOTATION: &str = "planton.dev/secrets-digest";
/// The annotation a plugin puts on a Secret whose `stringData` holds references.
pub const REFERENCES_ANNOTATION: &str = "planton.ai/secret-references";

/// A reference that did not resolve, or was used where it must not be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefError {
    /// The group does not exist in the source.
    #[error("{at}: `{reference}`: no group `{group}` in {source_name}")]
    MissingGroup {
        /// Where (object and field).
        at: String,
        /// The reference.
        reference: String,
        /// The group.
        group: String,
        /// The source consulted.
        source_name: String,
    },
    /// The group exists but lacks the entry.
    #[error("{at}: `{reference}`: group `{group}` has no entry `{entry}` in {source_name}")]
    MissingEntry {
        /// Where.
        at: String,
        /// The reference.
        reference: String,
        /// The group.
        group: String,
        /// The entry.
        entry: String,
        /// The source consulted.
        source_name: String,
    },
    /// A secret reference outside a Secret's data (its value would land in plain text).
    #[error(
        "{at}: `{reference}` is a secret reference outside a Secret; its value would be stored in plain text"
    )]
    SecretOutsideSecret {
        /// Where.
        at: String,
        /// The reference.
        reference: String,
    },
    /// A malformed reference.
    #[error("{at}: {message}")]
    Malformed {
        /// Where.
        at: String,
        /// What is wrong.
        message: String,
    },
}

/// Where values come from.
pub trait Lookup {
    /// The value of a reference.
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved>;
    /// A human name of the source, for errors ("groups directory `groups/`").
    fn describe(&self) -> String;
}

impl<T: refs::GroupSource> Lookup for T {
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved> {
        refs::resolve(r, self).cloned()
    }
    fn describe(&self) -> String {
        refs::GroupSource::describe(self)
    }
}

/// One secret value written into a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretItem {
    /// The Secret's name.
    pub secret: String,
    /// The data key.
    pub key: String,
    /// The value.
    pub value: SecretValue,
}

/// What [`materialize`] did.
#[derive(Clone, Debug, Default)]
pub struct Materialized {
    /// Every secret value written, sorted by Secret and key.
    pub secrets: Vec<SecretItem>,
    /// How many variable references were replaced.
    pub variables: usize,
}

fn object_label(obj: &Value, index: usize) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("object");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{index}"));
    format!("{kind} {name}")
}

fn unresolved(e: refs::Unresolved, at: String, r: &Reference, source: &dyn Lookup) -> RefError {
    match e {
        refs::Unresolved::MissingGroup => RefError::MissingGroup {
            at,
            reference: r.to_string(),
            group: r.group.clone(),
            source_name: source.describe(),
        },
        refs::Unresolved::MissingEntry => RefError::MissingEntry {
            at,
            reference: r.to_string(),
            group: r.group.clone(),
            entry: r.entry.clone(),
            source_name: source.describe(),
        },
    }
}

/// Resolves every reference in the rendered objects, in place:
/// - a Secret's `stringData` values that are `$secrets-group` references (or plain strings)
///   move into `data`, base64-encoded, with the resolved values; the references annotation
///   is dropped;
/// - any other string that is a `$variables-group` reference becomes its value;
/// - a `$secrets-group` reference anywhere else is an error.
///
/// Every problem is returned at once; the objects are then left unchanged. Errors never
/// carry a value.
pub fn materialize(
    objects: &mut [Value],
    source: &dyn Lookup,
) -> Result<Materialized, Vec<RefError>> {
    let mut out = Materialized::default();
    let mut errors = Vec::new();
    let mut edited: Vec<Value> = objects.to_vec();
    for (i, obj) in edited.iter_mut().enumerate() {
        let label = object_label(obj, i);
        if obj.get("kind").and_then(Value::as_str) == Some("Secret") {
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(Value::Object(string_data)) =
                obj.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                let mut data = obj
                    .get("data")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (key, v) in string_data {
                    let at = format!("{label}: stringData.{key}");
                    let text = v.as_str().unwrap_or_default();
                    let value = match refs::parse(text) {
                        None => SecretValue::new(text),
                        Some(Err(e)) => {
                            errors.push(RefError::Malformed {
                                at,
                                message: e.message,
                            });
                            continue;
                        }
                        Some(Ok(r)) => match source.lookup(&r) {
                            Ok(v) => v,
                            Err(e) => {
                                errors.push(unresolved(e, at, &r, source));
                                continue;
                            }
                        },
                    };
                    data.insert(
                        key.clone(),
                        Value::String(
                            base64::engine::general_purpose::STANDARD.encode(value.expose()),
                        ),
                    );
                    out.secrets.push(SecretItem {
                        secret: name.clone(),
                        key,
                        value,
                    });
                }
                obj["data"] = Value::Object(data);
                if let Some(Value::Object(ann)) = obj.pointer_mut("/metadata/annotations") {
                    ann.remove(REFERENCES_ANNOTATION);
                    if ann.is_empty()
                        && let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut)
                    {
                        m.remove("annotations");
                    }
                }
            }
            continue;
        }
        walk_strings(obj, &mut String::new(), &mut |path, s| {
            let at = format!("{label}: {path}");
            match refs::parse(s) {
                None => None,
                Some(Err(e)) => {
                    errors.push(RefError::Malformed {
                        at,
                        message: e.message,
                    });
                    None
                }
                Some(Ok(r)) if r.kind == RefKind::Secrets => {
                    errors.push(RefError::SecretOutsideSecret {
                        at,
                        reference: r.to_string(),
                    });
                    None
                }
                Some(Ok(r)) => match source.lookup(&r) {
                    Ok(v) => {
                        out.variables += 1;
                        Some(v.expose().to_string())
                    }
                    Err(e) => {
                        errors.push(unresolved(e, at, &r, source));
                        None
                    }
                },
            }
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.secrets
        .sort_by(|a, b| (&a.secret, &a.key).cmp(&(&b.secret, &b.key)));
    objects.clone_from_slice(&edited);
    Ok(out)
}

fn walk_strings(v: &mut Value, path: &mut String, f: &mut dyn FnMut(&str, &str) -> Option<String>) {
    match v {
        Value::String(s) => {
            if let Some(new) = f(path, s) {
                *s = new;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_strings(item, path, f);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk_strings(item, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The keyed digest of the secret values: `hmac-sha256:<hex>` over each Secret name, key and
/// value (length-prefixed, in sorted order), under `key`. `None` when there are no secrets.
pub fn digest(key: &[u8], items: &[SecretItem]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut sorted: Vec<&SecretItem> = items.iter().collect();
    sorted.sort_by(|a, b| (&a.secret, &a.key).cmp(&(&b.secret, &b.key)));
    // An HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).ok()?;
    for it in sorted {
        for part in [
            it.secret.as_bytes(),
            it.key.as_bytes(),
            it.value.expose().as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
    }
    let bytes = mac.finalize().into_bytes();
    let mut s = String::from("hmac-sha256:");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Some(s)
}

/// Kinds whose `spec.template` is a pod template.
const WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
];

/// Puts the digest on every pod template (so the pods roll when a secret changes).
pub fn annotate_pod_templates(objects: &mut [Value], digest: &str) {
    for obj in objects.iter_mut() {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !WORKLOADS.contains(&kind) {
            continue;
        }
        let Some(template) = obj.pointer_mut("/spec/template") else {
            continue;
        };
        let Some(t) = template.as_object_mut() else {
            continue;
        };
        let meta = t
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(m) = meta.as_object_mut() {
            let ann = m
                .entry("annotations")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(a) = ann.as_object_mut() {
                a.insert(
                    DIGEST_ANNOTATION.to_string(),
                    Value::String(digest.to_string()),
                );
            }
        }
    }
}

/// A lookup over a fixed map (the environment source and tests use it).
#[derive(Clone, Debug, Default)]
pub struct MapLookup {
    /// Values by reference.
    pub values: BTreeMap<Reference, SecretValue>,
    /// Groups known to exist (so a missing entry is told apart from a missing group).
    pub groups: BTreeMap<(RefKind, String), ()>,
    /// The source's name.
    pub name: String,
}

impl Lookup for MapLookup {
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved> {
        if let Some(v) = self.values.get(r) {
            return Ok(v.clone());
        }
        if self.groups.contains_key(&(r.kind, r.group.clone())) {
            Err(refs::Unresolved::MissingEntry)
        } else {
            Err(refs::Unresolved::MissingGroup)
        }
    }
    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// Several sources, first match wins; a missing entry in one beats a missing group.
pub struct Chain<'a>(pub Vec<&'a dyn Lookup>);

impl Lookup for Chain<'_> {
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved> {
        let mut worst = refs::Unresolved::MissingGroup;
        for s in &self.0 {
            match s.lookup(r) {
                Ok(v) => return Ok(v),
                Err(refs::Unresolved::MissingEntry) => worst = refs::Unresolved::MissingEntry,
                Err(refs::Unresolved::MissingGroup) => {}
            }
        }
        Err(worst)
    }
    fn describe(&self) -> String {
        let names: Vec<String> = self.0.iter().map(|s| s.describe()).collect();
        names.join(", ")
    }
}

/// Another source restricted to `$variables-group` values: the groups directory when secret
/// values come from Kubernetes Secrets (a secret must then never fall back to a file).
pub struct VariablesOnly<'a>(pub &'a dyn Lookup);

impl Lookup for VariablesOnly<'_> {
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved> {
        match r.kind {
            RefKind::Variables => self.0.lookup(r),
            RefKind::Secrets => Err(refs::Unresolved::MissingGroup),
        }
    }
    fn describe(&self) -> String {
        format!("{} (variables only)", self.0.describe())
    }
}

/// Reads values from environment variables given as pairs (the caller reads the
/// environment): `PLANTON_SECRET_<GROUP>__<ENTRY>` and `PLANTON_VARIABLE_<GROUP>__<ENTRY>`,
/// with group and entry upper-cased and every character outside `[A-Z0-9]` written `_`.
pub fn env_lookup(vars: impl IntoIterator<Item = (String, String)>) -> EnvLookup {
    EnvLookup {
        vars: vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("PLANTON_SECRET_") || k.starts_with("PLANTON_VARIABLE_"))
            .map(|(k, v)| (k, SecretValue::new(v)))
            .collect(),
    }
}

/// Values from `PLANTON_SECRET_*` / `PLANTON_VARIABLE_*` environment variables.
#[derive(Clone, Debug, Default)]
pub struct EnvLookup {
    vars: BTreeMap<String, SecretValue>,
}

/// The environment variable that holds a reference's value.
pub fn env_name(r: &Reference) -> String {
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    let prefix = match r.kind {
        RefKind::Secrets => "PLANTON_SECRET_",
        RefKind::Variables => "PLANTON_VARIABLE_",
    };
    format!("{prefix}{}__{}", norm(&r.group), norm(&r.entry))
}

impl Lookup for EnvLookup {
    fn lookup(&self, r: &Reference) -> Result<SecretValue, refs::Unresolved> {
        self.vars
            .get(&env_name(r))
            .cloned()
            .ok_or(refs::Unresolved::MissingGroup)
    }
    fn describe(&self) -> String {
        "environment (PLANTON_SECRET_<GROUP>__<ENTRY>, PLANTON_VARIABLE_<GROUP>__<ENTRY>)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CANARY: &str = "canary-7f3e-never-print-me";

    fn source() -> MapLookup {
        let mut m = MapLookup {
            name: "test groups".into(),
            ..Default::default()
        };
        let r = |s: &str| refs::parse(s).unwrap().unwrap();
        m.values
            .insert(r("$secrets-group/pg/password"), SecretValue::new(CANARY));
        m.values.insert(
            r("$variables-group/pg/host"),
            SecretValue::new("db.internal"),
        );
        m.groups.insert((RefKind::Secrets, "pg".into()), ());
        m
    }

    fn render() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api-secrets",
                "annotations": {REFERENCES_ANNOTATION: "true"}},
                "stringData": {"DB_PASSWORD": "$secrets-group/pg/password"}, "type": "Opaque"}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
                "spec": {"template": {"spec": {"containers": [{"name": "app", "env": [
                    {"name": "DB_HOST", "value": "$variables-group/pg/host"},
                    {"name": "PRICE", "value": "$5"}]}]}}}}),
        ]
    }

    #[test]
    fn secret_values_go_into_data_only_and_variables_become_values() {
        let mut objs = render();
        let m = materialize(&mut objs, &source()).unwrap();
        assert_eq!(m.variables, 1);
        assert_eq!(m.secrets.len(), 1);
        let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
        assert_eq!(objs[0]["data"]["DB_PASSWORD"], json!(b64));
        assert!(objs[0].get("stringData").is_none());
        assert!(objs[0].pointer("/metadata/annotations").is_none());
        let env = &objs[1]["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], "db.internal");
        assert_eq!(env[1]["value"], "$5");
        assert!(!serde_json::to_string(&objs[1]).unwrap().contains(CANARY));
        assert!(!format!("{m:?}").contains(CANARY));
    }

    #[test]
    fn every_problem_is_reported_and_nothing_changes() {
        let mut objs = render();
        objs[0]["stringData"]["OTHER"] = json!("$secrets-group/pg/nope");
        objs[0]["stringData"]["THIRD"] = json!("$secrets-group/vault/x");
        objs[1]["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] =
            json!("$secrets-group/pg/password");
        let before = objs.clone();
        let errs: Vec<String> = materialize(&mut objs, &source())
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(objs, before);
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            errs[0].contains("Secret api-secrets: stringData.OTHER")
                && errs[0].contains("has no entry `nope`"),
            "{errs:?}"
        );
        assert!(errs[1].contains("no group `vault`"), "{errs:?}");
        assert!(
            errs[2].contains("spec.template.spec.containers[0].env[1].value")
                && errs[2].contains("outside a Secret"),
            "{errs:?}"
        );
        assert!(!errs.concat().contains(CANARY));
    }

    #[test]
    fn digest_is_keyed_stable_and_changes_with_any_value() {
        let item = |v: &str| SecretItem {
            secret: "s".into(),
            key: "k".into(),
            value: SecretValue::new(v),
        };
        let d1 = digest(b"key-1", &[item(CANARY)]).unwrap();
        assert_eq!(d1, digest(b"key-1", &[item(CANARY)]).unwrap());
        assert_ne!(d1, digest(b"key-2", &[item(CANARY)]).unwrap(), "keyed");
        assert_ne!(
            d1,
            digest(b"key-1", &[item("rotated")]).unwrap(),
            "value-sensitive"
        );
        use sha2::Digest as _;
        let plain: String = sha2::Sha256::digest(CANARY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!d1.contains(&plain) && !d1.contains(CANARY));
        assert!(d1.starts_with("hmac-sha256:") && d1.len() == 12 + 64);
        assert_eq!(digest(b"k", &[]), None);
    }

    #[test]
    fn pod_templates_get_the_digest() {
        let mut objs = render();
        annotate_pod_templates(&mut objs, "hmac-sha256:00");
        assert_eq!(
            objs[1].pointer("/spec/template/metadata/annotations/planton.dev~1secrets-digest"),
            Some(&json!("hmac-sha256:00"))
        );
        assert!(objs[0].pointer("/spec").is_none());
    }

    #[test]
    fn env_source_names() {
        let r = refs::parse("$secrets-group/stripe/live-key")
            .unwrap()
            .unwrap();
        assert_eq!(env_name(&r), "PLANTON_SECRET_STRIPE__LIVE_KEY");
        let env = env_lookup([
            (
                "PLANTON_SECRET_STRIPE__LIVE_KEY".to_string(),
                "v".to_string(),
            ),
            ("HOME".to_string(), "/root".to_string()),
        ]);
        assert_eq!(env.lookup(&r).unwrap().expose(), "v");
    }
}
