//! The three patch fields (`patches`, `patchesStrategicMerge`, `patchesJson6902`): loading
//! patch content, choosing between strategic merge and JSON 6902, selecting targets, and
//! applying through [`super::smp`] and [`super::json6902`].

use super::error::{BuildError, Result};
use super::memo::Docs;
use super::resource::{ResId, Resource, is_cluster_scoped};
use super::{CopyBudget, Kustomization, Loader, json6902, smp};
use crate::yaml::{Node, Value, parse_stream};

/// `patchesStrategicMerge:` entries are file paths or inline YAML.
pub(super) fn patches_strategic_merge(
    loader: &Loader<'_>,
    k: &Kustomization,
    ra: &mut Vec<Resource>,
) -> Result<()> {
    for (entry, node) in k.string_list("patchesStrategicMerge")? {
        let docs = load_patch_text(loader, &entry, node)?;
        for doc in docs.iter() {
            apply_smp_by_id(ra, doc)?;
        }
    }
    Ok(())
}

/// `patches:` entries: `{path | patch, target?, options?}`.
pub(super) fn patches(
    loader: &Loader<'_>,
    k: &Kustomization,
    ra: &mut Vec<Resource>,
) -> Result<()> {
    let Some(list) = k.field("patches") else {
        return Ok(());
    };
    let Some(items) = list.as_seq() else {
        return Err(BuildError::at(
            &list.pos,
            "invalid Kustomization: patches must be a list",
        ));
    };
    for item in items {
        let Some(map) = item.as_map() else {
            return Err(BuildError::at(
                &item.pos,
                "invalid Kustomization: a patches entry must be a mapping",
            ));
        };
        for (key, _) in &map.entries {
            if !["path", "patch", "target", "options"].contains(&key.value.as_str()) {
                return Err(BuildError::at(
                    &key.pos,
                    format!(
                        "invalid Kustomization: json: unknown field \"{}\"",
                        key.value
                    ),
                ));
            }
        }
        let docs = match (
            map.get("path").and_then(Node::scalar_text),
            map.get("patch").and_then(Node::scalar_text),
        ) {
            (Some(_), Some(_)) => {
                return Err(BuildError::at(
                    &item.pos,
                    "patch and path can't be set at the same time",
                ));
            }
            (Some(path), None) => loader.read_yaml(path).map(|(_, d)| d)?,
            (None, Some(inline)) => parse_inline(loader, inline, item)?,
            (None, None) => {
                return Err(BuildError::at(
                    &item.pos,
                    "must specify one of patch and path",
                ));
            }
        };
        let options = map.get("options");
        let allow = |name: &str| {
            options
                .and_then(|o| o.get(name))
                .and_then(Node::scalar_text)
                .is_some_and(|v| v == "true")
        };
        let (allow_name, allow_kind) = (allow("allowNameChange"), allow("allowKindChange"));
        let target = map.get("target").filter(|t| !t.is_null());
        let is_json = docs.len() == 1 && docs[0].as_seq().is_some();
        if is_json {
            let Some(target) = target else {
                return Err(BuildError::at(
                    &item.pos,
                    "must specify a target for JSON patch",
                ));
            };
            let selector = Selector::from_node(target)?;
            for r in ra.iter_mut().filter(|r| selector.matches(r)) {
                apply_json6902(r, &docs[0], loader.budget)?;
            }
            continue;
        }
        if docs.iter().any(|d| d.as_map().is_none()) {
            return Err(BuildError::at(
                &item.pos,
                "unable to parse SM or JSON patch: documents must all be mappings or one list of operations",
            ));
        }
        match target {
            None => {
                for doc in docs.iter() {
                    apply_smp_by_id_opts(ra, doc, allow_name, allow_kind)?;
                }
            }
            Some(target) => {
                let selector = Selector::from_node(target)?;
                for doc in docs.iter() {
                    let mut i = 0;
                    while i < ra.len() {
                        if !selector.matches(&ra[i]) {
                            i += 1;
                            continue;
                        }
                        if apply_smp(&mut ra[i], doc, allow_name, allow_kind)? {
                            i += 1;
                        } else {
                            ra.remove(i);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Legacy `patchesJson6902:` entries: `{target, path | patch}`.
pub(super) fn patches_json6902(
    loader: &Loader<'_>,
    k: &Kustomization,
    ra: &mut [Resource],
) -> Result<()> {
    let Some(list) = k.field("patchesJson6902") else {
        return Ok(());
    };
    let Some(items) = list.as_seq() else {
        return Err(BuildError::at(
            &list.pos,
            "invalid Kustomization: patchesJson6902 must be a list",
        ));
    };
    for item in items {
        let Some(target) = item.get("target") else {
            return Err(BuildError::at(
                &item.pos,
                "must specify a target for JSON patch",
            ));
        };
        let docs = match (
            item.get("path").and_then(Node::scalar_text),
            item.get("patch").and_then(Node::scalar_text),
        ) {
            (Some(path), None) => loader.read_yaml(path).map(|(_, d)| d)?,
            (None, Some(inline)) => parse_inline(loader, inline, item)?,
            _ => {
                return Err(BuildError::at(
                    &item.pos,
                    "must specify exactly one of patch and path",
                ));
            }
        };
        let empty;
        let ops = match docs.first() {
            Some(d) => d,
            None => {
                empty = Node::seq(Vec::new());
                &empty
            }
        };
        let selector = Selector::from_node(target)?;
        for r in ra.iter_mut().filter(|r| selector.matches(r)) {
            apply_json6902(r, ops, loader.budget)?;
        }
    }
    Ok(())
}

fn apply_json6902(r: &mut Resource, ops: &Node, budget: &CopyBudget) -> Result<()> {
    let before = (r.name(), r.namespace());
    json6902::apply(&mut r.node, ops, budget).map_err(|m| BuildError::at(&ops.pos, m))?;
    let after = (r.name(), r.namespace());
    if before != after {
        r.previous.push(before);
    }
    Ok(())
}

fn parse_inline(loader: &Loader<'_>, text: &str, item: &Node) -> Result<Docs> {
    // Inline patches are positioned at the entry that holds them.
    let file = item.pos.file.to_string();
    // Kept in the memo under the place of the entry (the same text there parses the same).
    let kept = loader.memo.map(|m| {
        let key = format!("{file}\0{}:{}", item.pos.line, item.pos.col);
        (m, key, std::sync::Arc::<str>::from(text))
    });
    if let Some((m, key, text)) = &kept
        && let Some(docs) = m.parsed(key, text)
    {
        return Ok(docs);
    }
    let docs: Docs = parse_stream(text, &file)
        .map_err(|e| BuildError {
            line: item.pos.line + e.line,
            col: e.col,
            ..BuildError::from(e)
        })?
        .into();
    if let Some((m, key, text)) = &kept {
        m.keep_parsed(key, text, docs.clone());
    }
    Ok(docs)
}

/// A `patchesStrategicMerge` entry: a file if one exists at that path, else inline YAML.
fn load_patch_text(loader: &Loader<'_>, entry: &str, node: &Node) -> Result<Docs> {
    if entry.contains('\n') || !looks_like_path(entry) {
        return parse_inline(loader, entry, node);
    }
    loader.read_yaml(entry).map(|(_, docs)| docs)
}

fn looks_like_path(s: &str) -> bool {
    !s.trim_start().starts_with('{') && !s.contains(": ")
}

fn apply_smp_by_id(ra: &mut Vec<Resource>, patch: &Node) -> Result<()> {
    apply_smp_by_id_opts(ra, patch, false, false)
}

fn patch_id(patch: &Node) -> ResId {
    Resource::new(patch.clone(), "".into()).id()
}

fn apply_smp_by_id_opts(
    ra: &mut Vec<Resource>,
    patch: &Node,
    allow_name: bool,
    allow_kind: bool,
) -> Result<()> {
    let id = patch_id(patch);
    let matches: Vec<usize> = ra
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            // The name first: it rules out almost every resource at once.
            let named = (r.name_str() == id.name
                && ResId::ns_equal(r.namespace_str(), &id.namespace))
                || r.previous
                    .iter()
                    .any(|(n, ns)| *n == id.name && ResId::ns_equal(ns, &id.namespace));
            named && r.kind_str() == id.kind && {
                let av = r.api_version_str();
                let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
                g == id.group && v == id.version
            }
        })
        .map(|(i, _)| i)
        .collect();
    let i = match matches.as_slice() {
        [i] => *i,
        [] => {
            return Err(BuildError::at(
                &patch.pos,
                format!(
                    "no resource matches strategic merge patch \"{id}\": no matches for Id {id}; failed to find unique target for patch {id}"
                ),
            ));
        }
        _ => {
            return Err(BuildError::at(
                &patch.pos,
                format!(
                    "multiple matches for Id {id}; failed to find unique target for patch {id}"
                ),
            ));
        }
    };
    if !apply_smp(&mut ra[i], patch, allow_name, allow_kind)? {
        ra.remove(i);
    }
    Ok(())
}

/// Applies one strategic merge patch to a resource. Returns false when the patch deleted it.
fn apply_smp(r: &mut Resource, patch: &Node, allow_name: bool, allow_kind: bool) -> Result<bool> {
    let (name, ns, kind) = (r.name(), r.namespace(), r.kind());
    let api_version = r
        .node
        .get("apiVersion")
        .and_then(Node::scalar_text)
        .unwrap_or_default()
        .to_string();
    // The resource is patched in place: on an error the build stops, so its node is not
    // needed again.
    let target = std::mem::replace(&mut r.node, Node::null());
    let merged = smp::merge(target, patch, &api_version, &kind)
        .map_err(|m| BuildError::at(&patch.pos, m))?;
    let Some(merged) = merged else {
        return Ok(false);
    };
    if merged.as_map().is_none_or(|m| m.is_empty()) {
        return Ok(false);
    }
    r.node = merged;
    if !allow_kind && let Some(m) = r.node.as_map_mut() {
        m.insert("kind", Node::string(kind.as_str()));
    }
    if allow_name && r.name() != name {
        r.previous.push((name, ns.clone()));
    } else if r.name() != name {
        restore_meta(&mut r.node, "name", &name);
    }
    if r.namespace() != ns {
        restore_meta(&mut r.node, "namespace", &ns);
    }
    Ok(true)
}

fn restore_meta(node: &mut Node, key: &str, value: &str) {
    if let Some(meta) = node.get_mut("metadata").and_then(Node::as_map_mut) {
        if value.is_empty() {
            meta.remove(key);
        } else {
            meta.insert(key, Node::string(value));
        }
    }
}

/// A patch/replacement `target:` selector: anchored regexes on group, version, kind, name and
/// namespace, plus label and annotation selectors.
pub(crate) struct Selector {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

const SELECTOR_FIELDS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "labelSelector",
    "annotationSelector",
];

impl Selector {
    /// Reads a selector mapping.
    pub(crate) fn from_node(node: &Node) -> Result<Selector> {
        let Some(map) = node.as_map() else {
            return Err(BuildError::at(&node.pos, "a target must be a mapping"));
        };
        for (key, _) in &map.entries {
            if !SELECTOR_FIELDS.contains(&key.value.as_str()) {
                return Err(BuildError::at(
                    &key.pos,
                    format!("json: unknown field \"{}\" in target", key.value),
                ));
            }
        }
        let re = |key: &str| -> Result<Option<Pattern>> {
            match map
                .get(key)
                .and_then(Node::scalar_text)
                .filter(|s| !s.is_empty())
            {
                None => Ok(None),
                Some(s)
                    if s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/') =>
                {
                    Ok(Some(Pattern::Literal(s.to_string())))
                }
                Some(s) => regex_lite::Regex::new(&format!("^(?:{s})$"))
                    .map(|r| Some(Pattern::Regex(literal_prefix(s), r)))
                    .map_err(|e| {
                        BuildError::at(
                            &node.pos,
                            format!("invalid {key} regex {s:?} in target: {e}"),
                        )
                    }),
            }
        };
        let sel = |key: &str| -> Result<Option<LabelSelector>> {
            match map
                .get(key)
                .and_then(Node::scalar_text)
                .filter(|s| !s.is_empty())
            {
                None => Ok(None),
                Some(s) => LabelSelector::parse(s)
                    .map(Some)
                    .map_err(|e| BuildError::at(&node.pos, e)),
            }
        };
        Ok(Selector {
            group: re("group")?,
            version: re("version")?,
            kind: re("kind")?,
            name: re("name")?,
            namespace: re("namespace")?,
            labels: sel("labelSelector")?,
            annotations: sel("annotationSelector")?,
        })
    }

    /// Whether a resource is selected (by original or current name and namespace).
    pub(crate) fn matches(&self, r: &Resource) -> bool {
        // Cheapest checks first; nothing here allocates except the label selectors.
        let kind = r.kind_str();
        if self.kind.as_ref().is_some_and(|re| !re.is_match(kind)) {
            return false;
        }
        let av = r.api_version_str();
        let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
        if self.group.as_ref().is_some_and(|re| !re.is_match(g))
            || self.version.as_ref().is_some_and(|re| !re.is_match(v))
        {
            return false;
        }
        let (cur_name, cur_ns) = (r.name_str(), r.namespace_str());
        let (org_name, org_ns) = r
            .previous
            .first()
            .map(|(n, ns)| (n.as_str(), ns.as_str()))
            .unwrap_or((cur_name, cur_ns));
        if let Some(re) = &self.name
            && !re.is_match(org_name)
            && !re.is_match(cur_name)
        {
            return false;
        }
        if let Some(re) = &self.namespace {
            let cluster = is_cluster_scoped(kind);
            let effective = |ns: &'_ str| -> String {
                if cluster {
                    "~X".into()
                } else if ns.is_empty() {
                    "default".into()
                } else {
                    ns.into()
                }
            };
            if !re.is_match(&effective(org_ns)) && !re.is_match(&effective(cur_ns)) {
                return false;
            }
        }
        self.labels.as_ref().is_none_or(|s| s.matches(&r.labels()))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&r.annotations()))
    }
}

/// An anchored selector pattern; plain names skip the regex engine, and a regex runs only
/// on values that start with the literal text every match starts with.
enum Pattern {
    Literal(String),
    Regex(String, regex_lite::Regex),
}

/// The text every match of the anchored pattern `^(?:re)$` starts with: its leading plain
/// characters, less the last one when a quantifier follows it (quantifiers stack: `a+?`,
/// `a+{0,2}`); nothing when the pattern has groups or alternatives.
fn literal_prefix(re: &str) -> String {
    if re.contains(['|', '(', ')']) {
        return String::new();
    }
    let plain: Vec<char> = re
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'))
        .collect();
    let keep = match re.chars().nth(plain.len()) {
        Some('?' | '*' | '+' | '{') => plain.len().saturating_sub(1),
        _ => plain.len(),
    };
    plain[..keep].iter().collect()
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Literal(l) => l == s,
            Pattern::Regex(prefix, r) => s.starts_with(prefix.as_str()) && r.is_match(s),
        }
    }
}

/// A Kubernetes label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
pub(crate) struct LabelSelector {
    reqs: Vec<Requirement>,
}

enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl LabelSelector {
    pub(crate) fn parse(s: &str) -> std::result::Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        // Split on commas outside parentheses.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0i32, 0usize);
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        for part in parts {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let set = |rest: &str| -> std::result::Result<Vec<String>, String> {
                let rest = rest.trim();
                let inner = rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| {
                        format!("invalid label selector {s:?}: expected (values) in {p:?}")
                    })?;
                Ok(inner
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect())
            };
            let words: Vec<&str> = p.splitn(2, char::is_whitespace).collect();
            if words.len() == 2 {
                let rest = words[1].trim_start();
                if let Some(r) = rest.strip_prefix("notin") {
                    reqs.push(Requirement::NotIn(words[0].to_string(), set(r)?));
                    continue;
                }
                if let Some(r) = rest.strip_prefix("in") {
                    reqs.push(Requirement::In(words[0].to_string(), set(r)?));
                    continue;
                }
            }
            if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Requirement::NotEq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push(Requirement::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push(Requirement::Eq(k.trim().into(), v.trim().into()));
            } else if let Some(k) = p.strip_prefix('!') {
                reqs.push(Requirement::NotExists(k.trim().into()));
            } else if p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                reqs.push(Requirement::Exists(p.into()));
            } else {
                return Err(format!("invalid label selector {s:?}: cannot parse {p:?}"));
            }
        }
        Ok(LabelSelector { reqs })
    }

    pub(crate) fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map(|(_, v)| v.as_str())
        };
        self.reqs.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v),
            Requirement::NotEq(k, v) => get(k) != Some(v),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

#[allow(dead_code)]
fn is_map(n: &Node) -> bool {
    matches!(n.value, Value::Map(_))
}

#[cfg(test)]
mod tests {
    use super::{LabelSelector, literal_prefix};

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// Every string a selector pattern matches starts with the pattern's literal prefix.
        #[test]
        fn matches_start_with_the_literal_prefix(
            re in "[ab/_-]{0,4}[?*+.]?[ab]{0,2}(\\[0-9\\]|\\{0,2\\}|\\||\\(a\\))?[ab.*]{0,2}",
            s in "[ab/_-]{0,6}",
        ) {
            if let Ok(r) = regex_lite::Regex::new(&format!("^(?:{re})$")) {
                let prefix = literal_prefix(&re);
                for v in [s.clone(), format!("{prefix}{s}"), re.clone()] {
                    if r.is_match(&v) {
                        proptest::prop_assert!(v.starts_with(&prefix), "{:?} matches {:?}, prefix {:?}", v, re, prefix);
                    }
                }
            }
        }
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("svc-04.*"), "svc-04");
        assert_eq!(literal_prefix("app-04[0-9]"), "app-04");
        assert_eq!(literal_prefix("abc?"), "ab");
        assert_eq!(literal_prefix("abc{0,1}"), "ab");
        assert_eq!(literal_prefix("abc+"), "ab");
        assert_eq!(literal_prefix("ab/+{0,2}"), "ab");
        assert_eq!(literal_prefix("a|b"), "");
        assert_eq!(literal_prefix("(?i)abc"), "");
    }

    #[test]
    fn label_selectors() {
        let labels = vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "front".to_string()),
        ];
        let cases = [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("env notin (prod)", true),
            ("tier notin (front)", false),
            ("app", true),
            ("!env", true),
            ("!app", false),
        ];
        for (sel, want) in cases {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&labels),
                want,
                "{sel}"
            );
        }
    }
}
