//! The reference syntax for variables and secrets held in groups.
//!
//! A manifest value `$variables-group/<group>/<entry>` or `$secrets-group/<group>/<entry>`
//! refers to an entry of a VariablesGroup or SecretsGroup; entry names may contain dots
//! (`prod.api-key`). Any other string containing `$` is a literal.
//! The SDK only recognises references; resolving them is the host's job, and secret values
//! never reach a plugin.
//!
//! This is the one reference grammar: [`check`] (with a suggestion for near misses, used by
//! planton-core's validation) and [`parse`] (well-formed references only) share it.
//!
//! [`check_env`] holds the reference rules shared by every kind with an
//! `env {variables, secrets}` block.

use crate::{Diagnostic, pointer};

/// Which kind of group a reference points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKind {
    /// `$variables-group/...`: plain configuration values.
    Variables,
    /// `$secrets-group/...`: secret values.
    Secrets,
}

impl GroupKind {
    /// The reference prefix, including the leading `$` and trailing `/`.
    pub fn prefix(self) -> &'static str {
        match self {
            GroupKind::Variables => "$variables-group/",
            GroupKind::Secrets => "$secrets-group/",
        }
    }

    /// The first segment as written, without `$`: `variables-group` or `secrets-group`.
    pub fn name(self) -> &'static str {
        match self {
            GroupKind::Variables => "variables-group",
            GroupKind::Secrets => "secrets-group",
        }
    }

    /// The kind of the group manifest: `VariablesGroup` or `SecretsGroup`.
    pub fn group_kind(self) -> &'static str {
        match self {
            GroupKind::Variables => "VariablesGroup",
            GroupKind::Secrets => "SecretsGroup",
        }
    }
}

/// A value that looks like a reference but is not well-formed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefSyntaxError {
    /// What is wrong.
    pub message: String,
    /// The corrected form, when one can be guessed.
    pub suggestion: Option<String>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads a value: `None` for a literal, `Some(Ok)` for a well-formed reference, `Some(Err)`
/// for a malformed one. A `$` followed by a near miss of a prefix (`$secret-group/...`) is a
/// malformed reference with the corrected form; any other `$...` is a literal.
pub fn check(value: &str) -> Option<Result<GroupRef<'_>, RefSyntaxError>> {
    let rest = value.strip_prefix('$')?;
    let mut parts = rest.splitn(3, '/');
    let head = parts.next().unwrap_or_default();
    let kind = match head {
        "variables-group" => GroupKind::Variables,
        "secrets-group" => GroupKind::Secrets,
        other => {
            let guess = crate::suggest::did_you_mean(other, ["variables-group", "secrets-group"])?;
            let tail: Vec<&str> = parts.collect();
            let fixed = if tail.is_empty() {
                format!("${guess}/<group>/<entry>")
            } else {
                format!("${guess}/{}", tail.join("/"))
            };
            return Some(Err(RefSyntaxError {
                message: format!("unknown reference prefix `${other}`: did you mean `${guess}`?"),
                suggestion: Some(fixed),
            }));
        }
    };
    let group = parts.next().unwrap_or_default();
    let entry = parts.next().unwrap_or_default();
    if group.is_empty() || entry.is_empty() {
        let shape = format!("${}/<group>/<entry>", kind.name());
        let suggestion = (!group.is_empty()).then(|| format!("${}/{group}/<entry>", kind.name()));
        return Some(Err(RefSyntaxError {
            message: format!("malformed reference `{value}`: expected `{shape}`"),
            suggestion,
        }));
    }
    if !valid_name(group) || !valid_name(entry) {
        return Some(Err(RefSyntaxError {
            message: format!(
                "malformed reference `{value}`: group and entry names may hold letters, digits, `-`, `_` and `.` only"
            ),
            suggestion: None,
        }));
    }
    Some(Ok(GroupRef { kind, group, entry }))
}

/// A parsed `$<kind>-group/<group>/<entry>` reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupRef<'a> {
    /// Variables or secrets.
    pub kind: GroupKind,
    /// The group's `metadata.name`.
    pub group: &'a str,
    /// The entry's name within the group (may contain dots).
    pub entry: &'a str,
}

/// Whether `value` starts like a group reference (`$variables-group/` or `$secrets-group/`),
/// well-formed or not.
pub fn looks_like_ref(value: &str) -> Option<GroupKind> {
    [GroupKind::Variables, GroupKind::Secrets]
        .into_iter()
        .find(|k| value.starts_with(k.prefix()))
}

/// Parses a well-formed reference; `None` for literals and for malformed references.
///
/// Group and entry names are non-empty and made of ASCII letters, digits, `-`, `_` and `.`.
pub fn parse(value: &str) -> Option<GroupRef<'_>> {
    looks_like_ref(value)?;
    check(value)?.ok()
}

/// Checks an `env` object's `variables` and `secrets` maps for reference misuse.
///
/// `path` is the JSON Pointer of the `env` object. `local` is true for the `local` overlay,
/// where literal secret values are allowed. `external_secret` says whether a non-reference
/// secret value is nevertheless a reference to a secret store the target understands
/// (for example an AWS Secrets Manager ARN); pass `|_| false` when there is none.
///
/// Codes: `env-variable-is-secret` (a `$secrets-group` reference among plain variables),
/// `env-secret-literal` (a literal secret value outside `local`), `env-reference-malformed`
/// (starts like a reference but is not one), `env-secret-from-variables` (warning: a
/// `$variables-group` reference used as a secret), `env-name-duplicate` (a name in both maps),
/// `env-reference-unsupported` (an older project-planton reference syntax, see
/// [`unsupported_reference`]).
pub fn check_env(
    env: &serde_json::Value,
    path: &str,
    local: bool,
    external_secret: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let variables = env.get("variables").and_then(serde_json::Value::as_object);
    let secrets = env.get("secrets").and_then(serde_json::Value::as_object);
    let vars_path = pointer::child(path, "variables");
    let secrets_path = pointer::child(path, "secrets");
    for (name, value) in variables.into_iter().flatten() {
        let Some(v) = value.as_str() else { continue };
        let at = pointer::child(&vars_path, name);
        if let Some(d) = unsupported_reference(&at, v) {
            out.push(d);
            continue;
        }
        match (looks_like_ref(v), parse(v)) {
            (Some(_), None) => out.push(malformed(&at, v)),
            (Some(GroupKind::Secrets), Some(_)) => out.push(Diagnostic::error(
                "env-variable-is-secret",
                at,
                format!("`{name}` refers to a secret; move it to env.secrets so its value is never stored in plain text"),
            )),
            _ => {}
        }
    }
    for (name, value) in secrets.into_iter().flatten() {
        let Some(v) = value.as_str() else { continue };
        let at = pointer::child(&secrets_path, name);
        match (looks_like_ref(v), parse(v)) {
            (Some(_), None) => out.push(malformed(&at, v)),
            (Some(GroupKind::Variables), Some(_)) => out.push(Diagnostic::warning(
                "env-secret-from-variables",
                at,
                format!("`{name}` takes its secret value from a variables group, which is not kept secret"),
            )),
            (Some(GroupKind::Secrets), Some(_)) => {}
            (None, _) if external_secret(v) => {}
            (None, _) if let Some(d) = unsupported_reference(&at, v) => out.push(d),
            (None, _) => {
                if !local {
                    out.push(Diagnostic::error(
                        "env-secret-literal",
                        at,
                        format!("`{name}` holds a literal value; secrets must be `$secrets-group/<group>/<entry>` references outside the local overlay"),
                    ));
                }
            }
        }
    }
    if let (Some(vars), Some(secs)) = (variables, secrets) {
        for name in secs.keys().filter(|k| vars.contains_key(*k)) {
            out.push(Diagnostic::error(
                "env-name-duplicate",
                pointer::child(&secrets_path, name),
                format!("`{name}` is set both as a variable and as a secret"),
            ));
        }
    }
    out
}

/// The reference syntaxes of older project-planton manifests, which planton recognises but
/// does not resolve: `$ref::secrets-group::<group>::<entry>` (with its planton spelling as
/// the fix), `${<resource-id>.<key>}` (another resource's output) and bare cloud secret ids
/// (a `projects/<p>/secrets/<s>` name, a path-like `a/b` or `/a/b` id).
///
/// Returns an `env-reference-unsupported` error, so such a value is never deployed as the
/// literal text nor called a literal secret. `at` is the value's pointer.
pub fn unsupported_reference(at: &str, v: &str) -> Option<Diagnostic> {
    let shown: String = v.chars().take(80).collect();
    let message = if let Some(rest) = v.strip_prefix("$ref::") {
        let parts: Vec<&str> = rest.split("::").collect();
        match parts.as_slice() {
            [kind @ ("secrets-group" | "variables-group"), group, entry] => format!(
                "{shown:?} is the legacy project-planton reference syntax, which planton does not resolve; write `${kind}/{group}/{entry}`"
            ),
            _ => format!(
                "{shown:?} is a legacy project-planton reference (`$ref::...`) that planton does not recognise; use `$<variables|secrets>-group/<group>/<entry>`"
            ),
        }
    } else if v.starts_with("${") && v.ends_with('}') && v.len() > 3 {
        format!(
            "{shown:?} refers to another resource's output (`${{<resource-id>.<key>}}`), which planton does not resolve; write the value, or a `$variables-group/<group>/<entry>` or `$secrets-group/<group>/<entry>` reference"
        )
    } else if is_bare_secret_id(v) {
        format!(
            "{shown:?} looks like a bare cloud secret id, an unrecognised reference syntax; use `$secrets-group/<group>/<entry>` (or, where the target reads a secret store directly, the secret's full ARN)"
        )
    } else {
        return None;
    };
    Some(Diagnostic::error("env-reference-unsupported", at, message))
}

/// A path-like secret id (`projects/p/secrets/s`, `prod/db/password`, `/prod/db/password`):
/// at least one `/` between non-empty segments of id characters, no spaces, no scheme.
fn is_bare_secret_id(v: &str) -> bool {
    let trimmed = v.strip_prefix('/').unwrap_or(v);
    !v.contains("://")
        && trimmed.contains('/')
        && trimmed.split('/').all(|seg| {
            !seg.is_empty()
                && seg.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+' | '=')
                })
        })
}

fn malformed(at: &str, v: &str) -> Diagnostic {
    let shown: String = v.chars().take(80).collect();
    Diagnostic::error(
        "env-reference-malformed",
        at,
        format!(
            "{shown:?} is not a valid reference; expected `$<variables|secrets>-group/<group>/<entry>`"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_and_rejects_literals() {
        let r = parse("$secrets-group/database/prod.api-key");
        assert_eq!(
            r,
            Some(GroupRef {
                kind: GroupKind::Secrets,
                group: "database",
                entry: "prod.api-key"
            })
        );
        assert_eq!(
            parse("$variables-group/redis/port").map(|r| r.kind),
            Some(GroupKind::Variables)
        );
        assert_eq!(parse("costs $5"), None);
        assert_eq!(parse("$secrets-group/only-group"), None);
        assert_eq!(parse("$secrets-group/a/b/c"), None);
        assert_eq!(
            looks_like_ref("$secrets-group/a/b/c"),
            Some(GroupKind::Secrets)
        );
        assert_eq!(looks_like_ref("plain"), None);
    }

    #[test]
    fn near_misses_suggest_the_fix() {
        let e = check("$secret-group/db/pw").and_then(Result::err);
        assert_eq!(
            e.and_then(|e| e.suggestion).as_deref(),
            Some("$secrets-group/db/pw")
        );
        let e = check("$variables-group/redis").and_then(Result::err);
        assert_eq!(
            e.and_then(|e| e.suggestion).as_deref(),
            Some("$variables-group/redis/<entry>")
        );
        assert_eq!(check("$5 off"), None);
        assert!(matches!(check("$secrets-group/a/b/c"), Some(Err(_))));
    }

    #[test]
    fn env_rules() {
        let env = serde_json::json!({
            "variables": {"A": "$secrets-group/db/pw", "B": "$variables-group/x", "C": "plain $5"},
            "secrets": {"D": "literal", "E": "$secrets-group/db/pw", "F": "$variables-group/g/k", "C": "$secrets-group/a/b"}
        });
        let d = check_env(&env, "/spec/env", false, &|_| false);
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.path.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("env-variable-is-secret", "/spec/env/variables/A"),
                ("env-reference-malformed", "/spec/env/variables/B"),
                ("env-secret-literal", "/spec/env/secrets/D"),
                ("env-secret-from-variables", "/spec/env/secrets/F"),
                ("env-name-duplicate", "/spec/env/secrets/C"),
            ]
        );
        let legacy = serde_json::json!({
            "variables": {"A": "${db-1.host}"},
            "secrets": {"B": "$ref::secrets-group::db::password", "C": "projects/p/secrets/s", "D": "/prod/db/pw", "E": "no/slash here"}
        });
        let d = check_env(&legacy, "/spec/env", true, &|_| false);
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.path.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("env-reference-unsupported", "/spec/env/variables/A"),
                ("env-reference-unsupported", "/spec/env/secrets/B"),
                ("env-reference-unsupported", "/spec/env/secrets/C"),
                ("env-reference-unsupported", "/spec/env/secrets/D"),
            ]
        );
        assert!(d[1].message.contains("write `$secrets-group/db/password`"));
        let local = check_env(&env, "/spec/env", true, &|_| false);
        assert!(!local.iter().any(|d| d.code == "env-secret-literal"));
    }
}
