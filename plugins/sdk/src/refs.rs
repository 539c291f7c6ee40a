//! The reference syntax for variables and secrets held in groups.
//!
//! A manifest value `$variables-group/<group>/<entry>` or `$secrets-group/<group>/<entry>`
//! refers to an entry of a VariablesGroup or SecretsGroup; entry names may contain dots
//! (`prod.api-key`). Any other string containing `$` is a literal.
//! The SDK only recognises references; resolving them is the host's job, and secret values
//! never reach a plugin.

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
    [GroupKind::Variables, GroupKind::Secrets].into_iter().find(|k| value.starts_with(k.prefix()))
}

/// Parses a well-formed reference; `None` for literals and for malformed references.
///
/// Group and entry names are non-empty and made of ASCII letters, digits, `-`, `_` and `.`.
pub fn parse(value: &str) -> Option<GroupRef<'_>> {
    let kind = looks_like_ref(value)?;
    let rest = &value[kind.prefix().len()..];
    let (group, entry) = rest.split_once('/')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (ok(group) && ok(entry)).then_some(GroupRef { kind, group, entry })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_and_rejects_literals() {
        let r = parse("$secrets-group/database/prod.api-key");
        assert_eq!(r, Some(GroupRef { kind: GroupKind::Secrets, group: "database", entry: "prod.api-key" }));
        assert_eq!(parse("$variables-group/redis/port").map(|r| r.kind), Some(GroupKind::Variables));
        assert_eq!(parse("costs $5"), None);
        assert_eq!(parse("$secrets-group/only-group"), None);
        assert_eq!(parse("$secrets-group/a/b/c"), None);
        assert_eq!(looks_like_ref("$secrets-group/a/b/c"), Some(GroupKind::Secrets));
        assert_eq!(looks_like_ref("plain"), None);
    }
}
