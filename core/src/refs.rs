//! `$variables-group/<group>/<entry>` and `$secrets-group/<group>/<entry>` references:
//! parsing (with suggestions for near misses), group manifests, and resolution.
//!
//! A `$` anywhere else is literal: only values that start with `$` and whose first segment
//! is (or is a near miss of) `variables-group` / `secrets-group` are references.
//!
//! Secret values are held in [`SecretValue`], whose `Debug` and `Display` never show the
//! value; only [`SecretValue::expose`] does, and only the code that writes a secret to its
//! destination (a `.env` file, a Kubernetes Secret, AWS) calls it.

use crate::kustomize::Files;
use crate::yaml::{Node, Pos, parse_stream};
use std::collections::BTreeMap;
use std::fmt;

/// Which kind of group a reference points into (the SDK's [`GroupKind`]).
///
/// [`GroupKind`]: planton_plugin_sdk::refs::GroupKind
pub use planton_plugin_sdk::refs::GroupKind as RefKind;
/// A value that looks like a reference but is not well-formed (the SDK's).
pub use planton_plugin_sdk::refs::RefSyntaxError;

/// A well-formed reference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// Variables or secrets.
    pub kind: RefKind,
    /// Group name.
    pub group: String,
    /// Entry name (may contain dots: `prod.api-key`).
    pub entry: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}/{}", self.kind.prefix(), self.group, self.entry)
    }
}

/// Parses a value with the one reference grammar ([`planton_plugin_sdk::refs::check`]):
/// `None` if it is not reference-like (a literal), `Some(Ok)` for a reference, `Some(Err)`
/// for a malformed one (with the corrected form for near misses).
pub fn parse(value: &str) -> Option<Result<Reference, RefSyntaxError>> {
    Some(planton_plugin_sdk::refs::check(value)?.map(|r| Reference {
        kind: r.kind,
        group: r.group.to_string(),
        entry: r.entry.to_string(),
    }))
}

/// A secret value. `Debug`/`Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(v: impl Into<String>) -> SecretValue {
        SecretValue(v.into())
    }

    /// The value itself. Call only where the secret is written to its destination.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One entry of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Entry name.
    pub name: String,
    /// Human description.
    pub description: String,
    /// The value (redacted in debug output whatever the group kind).
    pub value: SecretValue,
}

/// A `VariablesGroup` or `SecretsGroup` (`apiVersion: service-hub.planton.ai/v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Variables or secrets.
    pub kind: RefKind,
    /// `metadata.name`.
    pub name: String,
    /// Entries by name.
    pub entries: BTreeMap<String, Entry>,
}

/// Where groups come from. The embedded default is a directory of group manifests
/// ([`DirGroupSource`]); the runner adds Kubernetes Secrets and AWS stores behind the same
/// interface.
pub trait GroupSource {
    /// The group, if the source has it.
    fn group(&self, kind: RefKind, name: &str) -> Option<&Group>;
    /// A human name for messages ("groups directory `groups/`").
    fn describe(&self) -> String;
    /// Whether this source holds the secret values of `overlay`; when it does not (they come
    /// from Kubernetes Secrets at deploy time), validation leaves `$secrets-group` references
    /// of that overlay to the deploy.
    fn holds_secrets_of(&self, overlay: &str) -> bool {
        let _ = overlay;
        true
    }
}

/// Why a reference did not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// No group of that name.
    MissingGroup,
    /// The group exists but lacks the entry.
    MissingEntry,
}

/// Resolves one reference against a source.
pub fn resolve<'a>(
    r: &Reference,
    source: &'a dyn GroupSource,
) -> Result<&'a SecretValue, Unresolved> {
    let group = source
        .group(r.kind, &r.group)
        .ok_or(Unresolved::MissingGroup)?;
    group
        .entries
        .get(&r.entry)
        .map(|e| &e.value)
        .ok_or(Unresolved::MissingEntry)
}

/// Groups read from `*.yaml` files in one directory (and its subdirectories).
#[derive(Clone, Debug, Default)]
pub struct DirGroupSource {
    dir: String,
    /// How messages name the directory (the core path unless a front end says otherwise).
    shown: Option<String>,
    groups: BTreeMap<(RefKind, String), Group>,
}

/// A problem in a group manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl DirGroupSource {
    /// The same source, named in messages as `shown` (the directory as the user knows it).
    pub fn shown_as(mut self, shown: impl Into<String>) -> DirGroupSource {
        self.shown = Some(shown.into());
        self
    }

    /// Reads every `.yaml`/`.yml` file under `dir`; documents of other kinds are ignored.
    /// Problems are reported without the values.
    pub fn load(files: &dyn Files, dir: &str) -> Result<DirGroupSource, Vec<GroupError>> {
        let mut src = DirGroupSource {
            dir: dir.to_string(),
            shown: None,
            groups: BTreeMap::new(),
        };
        let mut errors = Vec::new();
        let mut stack = vec![dir.to_string()];
        while let Some(d) = stack.pop() {
            for name in files.list_dir(&d) {
                let path = if d.is_empty() {
                    name.clone()
                } else {
                    format!("{d}/{name}")
                };
                if files.is_dir(&path) {
                    stack.push(path);
                } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                    let text = files.read(&path).unwrap_or_default();
                    match parse_stream(&text, &path) {
                        Ok(docs) => {
                            for doc in docs {
                                if let Err(e) = src.add(&doc) {
                                    errors.push(e);
                                }
                            }
                        }
                        Err(e) => errors.push(GroupError {
                            pos: Pos {
                                file: e.file.clone(),
                                line: e.line,
                                col: e.col,
                            },
                            message: format!("malformed YAML: {}", e.message),
                        }),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(src)
        } else {
            Err(errors)
        }
    }

    /// Adds one group manifest (ignores other kinds).
    pub fn add(&mut self, doc: &Node) -> Result<(), GroupError> {
        let err = |n: &Node, m: String| GroupError {
            pos: n.pos.clone(),
            message: m,
        };
        let kind = match doc.get("kind").and_then(Node::scalar_text) {
            Some("VariablesGroup") => RefKind::Variables,
            Some("SecretsGroup") => RefKind::Secrets,
            _ => return Ok(()),
        };
        let name = doc
            .get_path(&["metadata", "name"])
            .and_then(Node::scalar_text)
            .ok_or_else(|| err(doc, format!("{} without metadata.name", kind.group_kind())))?
            .to_string();
        let mut entries = BTreeMap::new();
        if let Some(list) = doc.get_path(&["spec", "entries"]) {
            let items = list
                .as_seq()
                .ok_or_else(|| err(list, "spec.entries must be a list".into()))?;
            for item in items {
                let ename = item
                    .get("name")
                    .and_then(Node::scalar_text)
                    .ok_or_else(|| err(item, "entry without a name".into()))?
                    .to_string();
                let value = item
                    .get("value")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default()
                    .to_string();
                let description = item
                    .get("description")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default()
                    .to_string();
                if entries.contains_key(&ename) {
                    return Err(err(
                        item,
                        format!(
                            "entry `{ename}` is defined twice in {} `{name}`",
                            kind.group_kind()
                        ),
                    ));
                }
                entries.insert(
                    ename.clone(),
                    Entry {
                        name: ename,
                        description,
                        value: SecretValue::new(value),
                    },
                );
            }
        }
        if self.groups.contains_key(&(kind, name.clone())) {
            return Err(err(
                doc,
                format!("{} `{name}` is defined twice", kind.group_kind()),
            ));
        }
        self.groups.insert(
            (kind, name.clone()),
            Group {
                kind,
                name,
                entries,
            },
        );
        Ok(())
    }
}

impl GroupSource for DirGroupSource {
    fn group(&self, kind: RefKind, name: &str) -> Option<&Group> {
        self.groups.get(&(kind, name.to_string()))
    }

    fn describe(&self) -> String {
        format!(
            "groups directory `{}`",
            self.shown.as_deref().unwrap_or(&self.dir)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        let ok = |s: &str| {
            parse(s)
                .and_then(Result::ok)
                .map(|r| (r.kind, r.group, r.entry))
        };
        assert_eq!(
            ok("$secrets-group/db/password"),
            Some((RefKind::Secrets, "db".into(), "password".into()))
        );
        assert_eq!(
            ok("$variables-group/api/prod.api-key"),
            Some((RefKind::Variables, "api".into(), "prod.api-key".into()))
        );
        assert!(parse("$HOME").is_none());
        assert!(parse("plain").is_none());
        assert!(parse("pa$$word").is_none());
    }

    #[test]
    fn malformed_references_suggest() {
        let e = parse("$secret-group/db/password")
            .and_then(Result::err)
            .expect("typo is an error");
        assert_eq!(e.suggestion.as_deref(), Some("$secrets-group/db/password"));
        let e = parse("$secrets-group/db")
            .and_then(Result::err)
            .expect("missing entry is an error");
        assert_eq!(e.suggestion.as_deref(), Some("$secrets-group/db/<entry>"));
        assert!(parse("$variables-group//x").and_then(Result::err).is_some());
    }

    #[test]
    fn secrets_never_print() {
        let v = SecretValue::new("hunter2");
        assert_eq!(format!("{v} {v:?}"), "<redacted> <redacted>");
        assert_eq!(v.expose(), "hunter2");
    }

    #[test]
    fn resolution_distinguishes_group_and_entry() {
        let mut src = DirGroupSource::default();
        let doc = &parse_stream(
            "apiVersion: service-hub.planton.ai/v1\nkind: SecretsGroup\nmetadata:\n  name: db\nspec:\n  entries:\n  - name: password\n    value: s3cret\n",
            "g.yaml",
        )
        .unwrap()[0];
        src.add(doc).unwrap();
        let r = |g: &str, e: &str| Reference {
            kind: RefKind::Secrets,
            group: g.into(),
            entry: e.into(),
        };
        assert_eq!(
            resolve(&r("db", "password"), &src).map(SecretValue::expose),
            Ok("s3cret")
        );
        assert_eq!(
            resolve(&r("db", "nope"), &src),
            Err(Unresolved::MissingEntry)
        );
        assert_eq!(
            resolve(&r("cache", "x"), &src),
            Err(Unresolved::MissingGroup)
        );
    }
}
