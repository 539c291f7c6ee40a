//! Local development files: choosing the environment of a built service manifest and
//! rendering it as `.env` (for docker compose and python-dotenv) and `.env_export` (for
//! `source` in sh/bash).
//!
//! The steps, each a pure function:
//! 1. [`service_manifest`] finds the one service manifest in a build;
//! 2. [`declared`] reads its `env.variables` / `env.secrets` with the position of each value;
//! 3. [`choose`] resolves `$variables-group/...` / `$secrets-group/...` references against a
//!    [`GroupSource`], applies `--set` last, and records where each value came from
//!    ([`Origin`]): every unresolved reference is reported at once, without the value;
//! 4. [`render_dotenv`] and [`render_export`] write the two files, keys sorted, each key
//!    preceded by a `# from ...` comment.
//!
//! This module does no IO. Values live in [`SecretValue`] from step 3 on, so no `Debug`
//! output of the chosen environment can show a value; only the renderers expose them.
//!
//! # Quoting in `.env`
//!
//! docker compose (compose-go) and python-dotenv read quotes differently, so each value
//! gets the first form that both read back exactly (see [`dotenv_value`]):
//! 1. unquoted, when it is non-empty and only `A-Z a-z 0-9 _ - . / : @ % + , = ~`;
//! 2. `'single quoted'`, when it holds no `\`, `'` or carriage return (both read single
//!    quotes literally, newlines included);
//! 3. `"double quoted"` with `\\`, `\"`, `\n`, `\r` escapes, when it holds no `$` (compose
//!    would interpolate it) and does not end with `\` (python-dotenv's quote scan would
//!    take the closing quote as escaped);
//! 4. unquoted, when it ends with `\` but needs no quoting otherwise (no `$`, `#`, line
//!    break, surrounding space or leading quote);
//! 5. `'single quoted'` with `\'` for `'`, when every `\` is followed by a character other
//!    than `\` and `'` (compose-go v2 and python-dotenv both unescape `\'` only);
//! 6. otherwise compose's exact form (double quotes, `\$` for `$`) with
//!    [`Caveat::PythonCannotRead`]: no quoting reads back exactly in both.
//!
//! python-dotenv also expands `${NAME}` in every value, quoted or not, and has no escape
//! for it; such values get [`Caveat::PythonInterpolates`] (read them with
//! `dotenv_values(..., interpolate=False)`).
//!
//! `.env_export` is always `export KEY='value'` with each `'` written `'\''`, which sh and
//! bash read back exactly whatever the value holds (a NUL byte cannot be in a variable;
//! such values are refused by [`choose`]).

use crate::diag::{Diagnostic, code};
use crate::refs::{self, GroupSource, RefKind, SecretValue, Unresolved};
use crate::service::Layout;
use crate::yaml::{Node, Pos, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The service kinds whose environment dot-env reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// `MicroserviceKubernetes`: `spec.container.app.env`.
    Kubernetes,
    /// `AwsEcsService`: `spec.container.env`.
    AwsEcs,
    /// `KubernetesDeployment`: `spec.container.app.env`, whose values are objects
    /// (`{value: ...}`; a plain string is read too).
    KubernetesDeployment,
}

impl ServiceKind {
    /// The kind for a manifest `kind`, if it is a service kind.
    pub fn from_kind(kind: &str) -> Option<ServiceKind> {
        match kind {
            "MicroserviceKubernetes" => Some(ServiceKind::Kubernetes),
            "AwsEcsService" => Some(ServiceKind::AwsEcs),
            "KubernetesDeployment" => Some(ServiceKind::KubernetesDeployment),
            _ => None,
        }
    }

    /// The path of the `env` mapping in the manifest.
    pub fn env_path(self) -> &'static [&'static str] {
        match self {
            ServiceKind::Kubernetes | ServiceKind::KubernetesDeployment => {
                &["spec", "container", "app", "env"]
            }
            ServiceKind::AwsEcs => &["spec", "container", "env"],
        }
    }
}

/// Where a value in the generated files came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Written in the base (`_kustomize/base`).
    Base,
    /// Written in the overlay being built (its directory name).
    Overlay(String),
    /// Written in another file of the build (a component, an intermediate
    /// kustomization), shown relative to the service root.
    File(String),
    /// Resolved from a `VariablesGroup` of this name.
    VariablesGroup(String),
    /// Resolved from a `SecretsGroup` of this name.
    SecretsGroup(String),
    /// Given with `--set`.
    Set,
}

impl fmt::Display for Origin {
    /// The words after `# from `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Base => f.write_str("base"),
            Origin::Overlay(o) => write!(f, "overlay {o}"),
            Origin::File(p) => f.write_str(p),
            Origin::VariablesGroup(g) => write!(f, "variables group {g}"),
            Origin::SecretsGroup(g) => write!(f, "secrets group {g}"),
            Origin::Set => f.write_str("--set"),
        }
    }
}

/// One `env.variables` or `env.secrets` entry as the built manifest has it.
#[derive(Clone, PartialEq)]
pub struct Declared {
    /// The variable name.
    pub key: String,
    /// The value as written: a literal or a reference. Secret literals are possible (the
    /// local overlay), so this is never shown in messages.
    pub raw: SecretValue,
    /// Whether it is under `secrets`.
    pub secret: bool,
    /// Dotted field path (`spec.container.app.env.secrets.DATABASE_PASSWORD`).
    pub field: String,
    /// Where the value was written.
    pub pos: Pos,
}

impl fmt::Debug for Declared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Declared")
            .field("key", &self.key)
            .field("secret", &self.secret)
            .field("field", &self.field)
            .finish()
    }
}

/// One variable of the generated files.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    /// The variable name.
    pub key: String,
    /// Its value (redacted in `Debug`).
    pub value: SecretValue,
    /// Whether it was declared under `secrets` (or overrides one).
    pub secret: bool,
    /// Where the value came from.
    pub origin: Origin,
}

/// What a reader may get wrong about a value in `.env`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caveat {
    /// python-dotenv expands `${...}` in the value unless read with `interpolate=False`.
    PythonInterpolates,
    /// No form reads back exactly in both readers; the file holds compose's exact form.
    PythonCannotRead,
}

impl fmt::Display for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Caveat::PythonInterpolates => {
                "python-dotenv expands `${...}` in it; read .env with dotenv_values(..., interpolate=False) to get it exactly"
            }
            Caveat::PythonCannotRead => {
                "no quoting reads it back exactly in both docker compose and python-dotenv (it mixes `$` or a trailing `\\` with quoting); .env holds docker compose's form, .env_export is exact"
            }
        })
    }
}

/// The one service manifest among built resources, or why there is none.
pub fn service_manifest<'a>(
    resources: impl IntoIterator<Item = &'a Node>,
) -> Result<(ServiceKind, &'a Node), String> {
    let mut found: Vec<(ServiceKind, &Node)> = Vec::new();
    let mut kinds = Vec::new();
    for node in resources {
        let kind = node.get("kind").and_then(Node::scalar_text).unwrap_or("");
        match ServiceKind::from_kind(kind) {
            Some(k) => found.push((k, node)),
            None => kinds.push(kind.to_string()),
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "the build holds no MicroserviceKubernetes, KubernetesDeployment or AwsEcsService manifest{}",
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" (it holds: {})", kinds.join(", "))
            }
        )),
        n => {
            let names: Vec<String> = found
                .iter()
                .map(|(_, n)| {
                    n.get_path(&["metadata", "name"])
                        .and_then(Node::scalar_text)
                        .unwrap_or("?")
                        .to_string()
                })
                .collect();
            Err(format!(
                "the build holds {n} service manifests ({}); dot-env needs exactly one",
                names.join(", ")
            ))
        }
    }
}

/// The variables and secrets a service manifest declares, in key order (variables first),
/// and problems with their shape.
pub fn declared(
    doc: &Node,
    kind: ServiceKind,
    overlay: &str,
    layout: &Layout,
) -> (Vec<Declared>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let env_path = kind.env_path();
    let Some(env) = doc.get_path(env_path) else {
        return (out, diags);
    };
    if env.is_null() {
        return (out, diags);
    }
    let prefix = env_path.join(".");
    let at = |d: Diagnostic, pos: &Pos, field: &str| {
        d.at(&layout.relative(&pos.file), pos.line, pos.col)
            .in_overlay(overlay)
            .with_path(&pointer(field))
    };
    if env.as_map().is_none() {
        diags.push(at(
            Diagnostic::error("dotenv-shape", format!("{prefix} must be a mapping")),
            &env.pos,
            &prefix,
        ));
        return (out, diags);
    }
    for (section, secret) in [("variables", false), ("secrets", true)] {
        let Some(map_node) = env.get(section) else {
            continue;
        };
        if map_node.is_null() {
            continue;
        }
        let field = format!("{prefix}.{section}");
        let Some(map) = map_node.as_map() else {
            diags.push(at(
                Diagnostic::error(
                    "dotenv-shape",
                    format!("{field} must be a mapping of names to strings"),
                ),
                &map_node.pos,
                &field,
            ));
            continue;
        };
        for (key, value) in map.iter() {
            let mut field = format!("{field}.{key}");
            let mut value = value;
            if kind == ServiceKind::KubernetesDeployment && value.as_map().is_some() {
                match value.get("value").filter(|v| v.scalar_text().is_some()) {
                    Some(inner) => {
                        field.push_str(".value");
                        value = inner;
                    }
                    None => {
                        // `valueFrom` (another resource's output) or `secretRef` (an existing
                        // Kubernetes Secret): nothing a local .env can be given.
                        diags.push(at(
                            Diagnostic::warning(
                                "dotenv-reference-skipped",
                                format!("{field} refers to another resource or an existing Kubernetes Secret, which dot-env cannot read; it is left out"),
                            ),
                            &value.pos,
                            &field,
                        ));
                        continue;
                    }
                }
            }
            let raw = match &value.value {
                Value::Scalar(_) => value.scalar_text().unwrap_or_default().to_string(),
                _ => {
                    diags.push(at(
                        Diagnostic::error("dotenv-shape", format!("{field} must be a string")),
                        &value.pos,
                        &field,
                    ));
                    continue;
                }
            };
            out.push(Declared {
                key: key.to_string(),
                raw: SecretValue::new(raw),
                secret,
                field,
                pos: value.pos.clone(),
            });
        }
    }
    (out, diags)
}

fn pointer(dotted: &str) -> String {
    dotted
        .split('.')
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// How to tell the base from the overlay when recording where a value came from.
#[derive(Clone, Debug)]
pub struct Provenance<'a> {
    /// The service layout (paths are core paths).
    pub layout: &'a Layout,
    /// The overlay directory name being built.
    pub overlay: &'a str,
    /// For values the build synthesised (no file position): the base build's declared
    /// values by `(secret, key)`; an equal value there means "from base".
    pub base: Option<&'a [Declared]>,
}

impl Provenance<'_> {
    /// The origin of a declared (literal) value.
    pub fn origin(&self, d: &Declared) -> Origin {
        let file = &*d.pos.file;
        let base_dir = format!("{}/base/", self.layout.kustomize_dir);
        let overlay_dir = format!("{}/", self.layout.overlay_dir(self.overlay));
        if file.starts_with(&overlay_dir) {
            return Origin::Overlay(self.overlay.to_string());
        }
        if file.starts_with(&base_dir) {
            return Origin::Base;
        }
        if !file.is_empty() {
            return Origin::File(self.layout.relative(file));
        }
        let in_base = self.base.is_some_and(|b| {
            b.iter()
                .any(|x| x.key == d.key && x.secret == d.secret && x.raw == d.raw)
        });
        if in_base {
            Origin::Base
        } else {
            Origin::Overlay(self.overlay.to_string())
        }
    }
}

/// Whether `key` is a name sh/bash can `export` (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a `--set KEY=VALUE` argument (the value may be empty and may hold `=`).
pub fn parse_set(arg: &str) -> Result<(String, String), String> {
    let Some((key, value)) = arg.split_once('=') else {
        // The argument is not echoed: it may be a secret value given without its key.
        return Err("--set: expected KEY=VALUE".to_string());
    };
    if !valid_key(key) {
        return Err(format!(
            "--set: `{key}` is not a valid variable name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Chooses the value of every variable: resolves references, applies `sets` last (in
/// order; a later `--set` of the same key wins) and records origins. Problems (unresolved
/// or malformed references, invalid names, a key both a variable and a secret, NUL bytes)
/// are all returned, never with a value in the message; the variables are sorted by key.
pub fn choose(
    declared: &[Declared],
    provenance: &Provenance<'_>,
    groups: &dyn GroupSource,
    sets: &[(String, String)],
) -> (Vec<EnvVar>, Vec<Diagnostic>) {
    let layout = provenance.layout;
    let overlay = provenance.overlay;
    let mut diags = Vec::new();
    let mut vars: BTreeMap<String, EnvVar> = BTreeMap::new();
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let at = |d: Diagnostic, decl: &Declared| {
        d.at(
            &layout.relative(&decl.pos.file),
            decl.pos.line,
            decl.pos.col,
        )
        .in_overlay(overlay)
        .with_path(&pointer(&decl.field))
    };
    for d in declared {
        let field = &d.field;
        if !valid_key(&d.key) {
            diags.push(at(
                Diagnostic::error(
                    "dotenv-name",
                    format!("{field}: `{}` is not a valid variable name for .env files (letters, digits and `_`, not starting with a digit)", d.key),
                ),
                d,
            ));
            continue;
        }
        if let Some(other) = fields.get(&d.key) {
            diags.push(at(
                Diagnostic::error(
                    "dotenv-duplicate",
                    format!("{field}: `{}` is also declared as {other}; keep one", d.key),
                ),
                d,
            ));
            continue;
        }
        fields.insert(d.key.clone(), field.clone());
        let (value, origin) = match refs::parse(d.raw.expose()) {
            None => (d.raw.clone(), provenance.origin(d)),
            Some(Err(e)) => {
                // A secret literal could resemble a reference; never echo it.
                let message = if d.secret {
                    format!(
                        "{field}: malformed reference: expected `$secrets-group/<group>/<entry>` or `$variables-group/<group>/<entry>`"
                    )
                } else {
                    match &e.suggestion {
                        Some(s) => format!("{field}: {} (did you mean `{s}`?)", e.message),
                        None => format!("{field}: {}", e.message),
                    }
                };
                diags.push(at(Diagnostic::error(code::REF_MALFORMED, message), d));
                continue;
            }
            Some(Ok(r)) => match refs::resolve(&r, groups) {
                Ok(v) => {
                    let origin = match r.kind {
                        RefKind::Variables => Origin::VariablesGroup(r.group.clone()),
                        RefKind::Secrets => Origin::SecretsGroup(r.group.clone()),
                    };
                    (v.clone(), origin)
                }
                Err(why) => {
                    let what = match r.kind {
                        RefKind::Variables => "variables group",
                        RefKind::Secrets => "secrets group",
                    };
                    let message = match why {
                        Unresolved::MissingGroup => {
                            format!(
                                "{field}: {what} `{}` not found in {} (reference `{r}`)",
                                r.group,
                                groups.describe()
                            )
                        }
                        Unresolved::MissingEntry => {
                            let hint = groups
                                .group(r.kind, &r.group)
                                .and_then(|g| {
                                    crate::suggest::did_you_mean(
                                        &r.entry,
                                        g.entries.keys().map(String::as_str),
                                    )
                                })
                                .map(|s| format!("; did you mean `{s}`?"))
                                .unwrap_or_default();
                            format!(
                                "{field}: {what} `{}` has no entry `{}` (reference `{r}`, {}){hint}",
                                r.group,
                                r.entry,
                                groups.describe()
                            )
                        }
                    };
                    let code = match why {
                        Unresolved::MissingGroup => code::REF_MISSING_GROUP,
                        Unresolved::MissingEntry => code::REF_MISSING_ENTRY,
                    };
                    diags.push(at(Diagnostic::error(code, message), d));
                    continue;
                }
            },
        };
        if value.expose().contains('\0') {
            diags.push(at(
                Diagnostic::error(
                    "dotenv-nul",
                    format!(
                        "{field}: the value holds a NUL byte, which no environment variable can"
                    ),
                ),
                d,
            ));
            continue;
        }
        vars.insert(
            d.key.clone(),
            EnvVar {
                key: d.key.clone(),
                value,
                secret: d.secret,
                origin,
            },
        );
    }
    for (key, value) in sets {
        if !valid_key(key) {
            diags.push(
                Diagnostic::error(
                    "dotenv-name",
                    format!("--set: `{key}` is not a valid variable name"),
                )
                .in_overlay(overlay),
            );
            continue;
        }
        if value.contains('\0') {
            diags.push(
                Diagnostic::error(
                    "dotenv-nul",
                    format!("--set {key}: the value holds a NUL byte"),
                )
                .in_overlay(overlay),
            );
            continue;
        }
        let secret = vars.get(key).is_some_and(|v| v.secret);
        vars.insert(
            key.clone(),
            EnvVar {
                key: key.clone(),
                value: SecretValue::new(value.clone()),
                secret,
                origin: Origin::Set,
            },
        );
    }
    (vars.into_values().collect(), diags)
}

/// The overlay whose secret values `.env` files hold by default.
pub const LOCAL_OVERLAY: &str = "local";

/// Outside the `local` overlay, secret values are written only when asked for
/// (`include_secrets`): the others are left out, and their keys returned so the caller can
/// say so. A secret given explicitly with `--set` is kept (the user typed it).
pub fn withhold_secrets(
    vars: Vec<EnvVar>,
    overlay: &str,
    include_secrets: bool,
) -> (Vec<EnvVar>, Vec<String>) {
    if overlay == LOCAL_OVERLAY || include_secrets {
        return (vars, Vec::new());
    }
    let (kept, left): (Vec<EnvVar>, Vec<EnvVar>) = vars
        .into_iter()
        .partition(|v| !v.secret || v.origin == Origin::Set);
    (kept, left.into_iter().map(|v| v.key).collect())
}

fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '=' | '~'
        )
}

/// Whether python-dotenv's `${NAME}` / `${NAME:-default}` interpolation matches in `v`.
pub fn python_interpolates(v: &str) -> bool {
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        if let Some(close) = after.find('}') {
            let inner = &after[..close];
            match inner.split_once(':') {
                None => return true,
                Some((_, tail)) if tail.starts_with('-') => return true,
                Some(_) => {}
            }
        }
        rest = after;
    }
    false
}

fn double_quoted(v: &str, escape_dollar: bool) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '$' if escape_dollar => s.push_str("\\$"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn unquoted_ok(v: &str) -> bool {
    let first = v.chars().next();
    let last = v.chars().next_back();
    first.is_some_and(|c| !c.is_whitespace() && c != '\'' && c != '"')
        && last.is_some_and(|c| !c.is_whitespace())
        && !v.contains(['$', '#', '\n', '\r'])
}

fn single_escaped_ok(v: &str) -> bool {
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_none_or(|n| *n == '\\' || *n == '\'') {
            return false;
        }
    }
    true
}

/// The text after `KEY=` in `.env` for a value, and what a reader may get wrong about it.
/// The rules are in the [module docs](self).
pub fn dotenv_value(v: &str) -> (String, Option<Caveat>) {
    let (text, exact) = if !v.is_empty() && v.chars().all(plain_char) {
        (v.to_string(), true)
    } else if !v.contains(['\\', '\'', '\r']) {
        (format!("'{v}'"), true)
    } else if !v.contains('$') && !v.ends_with('\\') {
        (double_quoted(v, false), true)
    } else if unquoted_ok(v) {
        (v.to_string(), true)
    } else if single_escaped_ok(v) {
        (format!("'{}'", v.replace('\'', "\\'")), true)
    } else {
        (double_quoted(v, true), false)
    };
    let caveat = if !exact {
        Some(Caveat::PythonCannotRead)
    } else if python_interpolates(v) {
        Some(Caveat::PythonInterpolates)
    } else {
        None
    };
    (text, caveat)
}

/// A value single-quoted for sh/bash: `'...'`, each `'` written `'\''`.
pub fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// The header both files start with.
fn header(command: &str) -> String {
    // One comment line whatever the overlay name holds.
    let command: String = command
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!(
        "# Generated by `{command}`. Do not edit: change _kustomize/ or the groups and re-run it.\n"
    )
}

/// `.env`: a header, then for each variable (sorted) `# from <origin>` and `KEY=value`.
/// Returns the text and, per key, what a reader may get wrong.
pub fn render_dotenv(vars: &[EnvVar], command: &str) -> (String, Vec<(String, Caveat)>) {
    let mut sorted: Vec<&EnvVar> = vars.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = header(command);
    let mut caveats = Vec::new();
    for v in sorted {
        let (text, caveat) = dotenv_value(v.value.expose());
        if let Some(c) = caveat {
            caveats.push((v.key.clone(), c));
        }
        out.push_str(&format!("# from {}\n{}={text}\n", v.origin, v.key));
    }
    (out, caveats)
}

/// `.env_export`: a header, then for each variable (sorted) `# from <origin>` and
/// `export KEY='value'`.
pub fn render_export(vars: &[EnvVar], command: &str) -> String {
    let mut sorted: Vec<&EnvVar> = vars.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = header(command);
    for v in sorted {
        out.push_str(&format!(
            "# from {}\nexport {}={}\n",
            v.origin,
            v.key,
            shell_quote(v.value.expose())
        ));
    }
    out
}

#[cfg(test)]
mod withhold_tests {
    use super::*;

    fn var(key: &str, secret: bool, origin: Origin) -> EnvVar {
        EnvVar {
            key: key.into(),
            value: SecretValue::new("v"),
            secret,
            origin,
        }
    }

    #[test]
    fn secrets_leave_only_local_unless_asked() {
        let vars = || {
            vec![
                var("A", false, Origin::Set),
                var("B", true, Origin::SecretsGroup("db".into())),
                var("C", true, Origin::Set),
            ]
        };
        let keys = |v: &[EnvVar]| v.iter().map(|v| v.key.clone()).collect::<Vec<_>>();
        let (kept, left) = withhold_secrets(vars(), "prod", false);
        assert_eq!(
            (keys(&kept), left),
            (vec!["A".into(), "C".into()], vec!["B".to_string()])
        );
        assert_eq!(withhold_secrets(vars(), "prod", true).0.len(), 3);
        assert_eq!(withhold_secrets(vars(), "local", false).0.len(), 3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: &str, expect: &str) {
        assert_eq!(dotenv_value(v).0, expect, "value {v:?}");
    }

    #[test]
    fn plain_values_stay_unquoted() {
        check("8080", "8080");
        check("http://localhost:8080/a?", "'http://localhost:8080/a?'");
        check("a=b", "a=b");
    }

    #[test]
    fn quoting_picks_the_first_form_both_readers_agree_on() {
        check("", "''");
        check("two words", "'two words'");
        check("say \"hi\" #1 $HOME\nnext", "'say \"hi\" #1 $HOME\nnext'");
        check("it's", "\"it's\"");
        check("C:\\dir", "\"C:\\\\dir\"");
        check("a\\", "a\\");
        check("it's $5 \\o/", "'it\\'s $5 \\o/'");
        assert_eq!(
            dotenv_value("$x\\\\"),
            (
                "\"\\$x\\\\\\\\\"".to_string(),
                Some(Caveat::PythonCannotRead)
            )
        );
        assert_eq!(dotenv_value("${HOME}").1, Some(Caveat::PythonInterpolates));
        assert_eq!(dotenv_value("${a:b}").1, None);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn set_arguments() {
        assert_eq!(parse_set("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_set("A="), Ok(("A".into(), String::new())));
        assert!(parse_set("A").is_err());
        assert!(parse_set("1A=x").is_err());
    }
}
