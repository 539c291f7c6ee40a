//! The images transformer (`images:`, and the deprecated `imageTags:` which means the same).
//!
//! kustomize v5.5 runs two filters per `images` entry, in list order:
//! 1. the "legacy" filter walks every resource except `CustomResourceDefinition`s and, under
//!    every map key named `containers` or `initContainers` (at any depth, custom kinds
//!    included) whose value is a list, rewrites each item's `image`;
//! 2. the field-spec filter rewrites `spec/containers[]/image`, `spec/initContainers[]/image`,
//!    `spec/template/spec/containers[]/image` and `spec/template/spec/initContainers[]/image`
//!    once more. Only `tagSuffix` is not idempotent, so only it shows the double application
//!    (`nginx:1` becomes `nginx:1-s-s` there and `nginx:1-s` elsewhere).
//!
//! `ephemeralContainers` is not a match; an `image` that is a map (as in
//! `spec.container.app.image: {repo, tag}`) is left alone unless it sits in a `containers`
//! list item, where kustomize refuses it. The entry's `name` is used as an (unescaped,
//! anchored) regular expression, exactly as kustomize does.

use super::error::{BuildError, Result};
use super::{Kustomization, Resource};
use crate::yaml::{Node, Resolved, Scalar, Value};

/// One `images` entry.
#[derive(Debug, Default)]
struct Image {
    name: String,
    new_name: String,
    new_tag: String,
    digest: String,
    tag_suffix: String,
}

/// Applies `images:` (then `imageTags:`).
pub(super) fn apply(
    k: &Kustomization,
    ra: &mut [Resource],
    extra: &[super::transformers::FieldSpec],
) -> Result<()> {
    for field in ["images", "imageTags"] {
        let Some(list) = k.field(field) else { continue };
        for item in entries(list, field, "[]types.Image")? {
            let image = parse_image(item, field)?;
            // Go ignores the compile error and then never matches; so do we.
            let Some(re) = ImagePattern::new(&image.name) else {
                continue;
            };
            for r in ra.iter_mut() {
                if r.kind_str() == "CustomResourceDefinition" {
                    continue;
                }
                let done = legacy_walk(&mut r.node, &image, &re)
                    .and_then(|()| field_specs(&mut r.node, &image, &re))
                    .and_then(|()| extra_specs(&mut r.node, &image, &re, extra));
                if let Err(e) = done {
                    return Err(BuildError::at(&item.pos, format!("{e} (in {})", r.id())));
                }
            }
        }
    }
    Ok(())
}

fn parse_image(item: &Node, field: &str) -> Result<Image> {
    let mut image = Image::default();
    for (key, value) in
        &strict_map(item, &["name", "newName", "newTag", "digest", "tagSuffix"])?.entries
    {
        let s = string_value(value, &format!("Image.{field}.{}", key.value))?;
        match key.value.as_str() {
            "name" => image.name = s,
            "newName" => image.new_name = s,
            "newTag" => image.new_tag = s,
            "digest" => image.digest = s,
            _ => image.tag_suffix = s,
        }
    }
    Ok(image)
}

/// What kustomize matches an image value with:
/// `^NAME(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$`, where NAME (the entry's
/// `name`) is itself read as a regular expression.
enum ImagePattern {
    /// A name of plain characters, `.` matching any character but a line break: matched
    /// by hand (a fixed number of characters, then the optional tag and digest), which is
    /// what the expression matches.
    Plain(Vec<char>),
    Regex(regex_lite::Regex),
}

impl ImagePattern {
    /// `None` when the expression does not compile.
    fn new(name: &str) -> Option<ImagePattern> {
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-' | ':' | '@'));
        if plain {
            return Some(ImagePattern::Plain(name.chars().collect()));
        }
        let pattern = format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$");
        regex_lite::Regex::new(&pattern)
            .ok()
            .map(ImagePattern::Regex)
    }

    fn is_match(&self, value: &str) -> bool {
        let name = match self {
            ImagePattern::Regex(re) => return re.is_match(value),
            ImagePattern::Plain(name) => name,
        };
        let mut chars = value.chars();
        for &n in name {
            match chars.next() {
                Some(c) if c == n || (n == '.' && c != '\n') => {}
                _ => return false,
            }
        }
        let tag_char =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '{' | '}' | '-');
        let rest = chars.as_str();
        let rest = match rest.strip_prefix(':') {
            Some(tag) => tag.trim_start_matches(tag_char),
            None => rest,
        };
        let rest = match rest.strip_prefix("@sha256:") {
            Some(digest) => digest.trim_start_matches(tag_char),
            None => rest,
        };
        rest.is_empty()
    }
}

/// Walks the whole object: for every `containers`/`initContainers` list, updates each item's
/// `image` (children are visited before their parent key, as kustomize does).
fn legacy_walk(
    node: &mut Node,
    image: &Image,
    re: &ImagePattern,
) -> std::result::Result<(), String> {
    match &mut node.value {
        Value::Map(m) => {
            for (key, value) in m.entries.iter_mut() {
                legacy_walk(value, image, re)?;
                if (key.value == "containers" || key.value == "initContainers")
                    && let Some(items) = value.as_seq_mut()
                {
                    for item in items {
                        match &mut item.value {
                            Value::Map(c) => {
                                if let Some(img) = c.get_mut("image") {
                                    update(img, image, re)?;
                                }
                            }
                            Value::Scalar(s) if s.is_null() => {}
                            _ => return Err(wrong_kind("MappingNode", item)),
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Seq(items) => items.iter_mut().try_for_each(|i| legacy_walk(i, image, re)),
        Value::Scalar(_) => Ok(()),
    }
}

/// Image field specs added by `configurations:` (the built-in ones are handled by
/// [`field_specs`]).
fn extra_specs(
    node: &mut Node,
    image: &Image,
    re: &ImagePattern,
    extra: &[super::transformers::FieldSpec],
) -> std::result::Result<(), String> {
    use super::transformers::{Create, split_path, walk};
    const DEFAULTS: &[&str] = &[
        "spec/containers[]/image",
        "spec/initContainers[]/image",
        "spec/template/spec/containers[]/image",
        "spec/template/spec/initContainers[]/image",
    ];
    for fs in extra {
        let default = fs.group.is_empty()
            && fs.version.is_empty()
            && fs.kind.is_empty()
            && DEFAULTS.contains(&fs.path.as_str());
        if default || !fs.matches(node) {
            continue;
        }
        let path = split_path(&fs.path);
        walk(node, &path, Create::No, &mut |n| {
            if n.as_scalar().is_some() {
                update(n, image, re).map_err(super::error::BuildError::msg)
            } else {
                Ok(())
            }
        })
        .map_err(|e| e.message.to_string())?;
    }
    Ok(())
}

/// The default image field specs, applied after the legacy walk.
fn field_specs(
    node: &mut Node,
    image: &Image,
    re: &ImagePattern,
) -> std::result::Result<(), String> {
    for prefix in [&["spec"][..], &["spec", "template", "spec"][..]] {
        for list in ["containers", "initContainers"] {
            let mut path = prefix.to_vec();
            path.push(list);
            let Some(items) = node.get_path_mut(&path).and_then(Node::as_seq_mut) else {
                continue;
            };
            for item in items {
                if let Some(img) = item.get_mut("image") {
                    update(img, image, re)?;
                }
            }
        }
    }
    Ok(())
}

/// kustomize's `imageTagUpdater`: rewrites one `image` value if its name matches.
fn update(node: &mut Node, image: &Image, re: &ImagePattern) -> std::result::Result<(), String> {
    let Value::Scalar(s) = &mut node.value else {
        return Err(wrong_kind("ScalarNode", node));
    };
    if s.is_null() || !re.is_match(&s.value) {
        return Ok(());
    }
    let (mut name, mut tag, mut digest) = split(&s.value);
    if !image.new_name.is_empty() {
        name = image.new_name.clone();
    }
    match (image.new_tag.is_empty(), image.digest.is_empty()) {
        (false, false) => (tag, digest) = (image.new_tag.clone(), image.digest.clone()),
        (false, true) => (tag, digest) = (image.new_tag.clone(), String::new()),
        (true, false) => (tag, digest) = (String::new(), image.digest.clone()),
        (true, true) => {
            if !image.tag_suffix.is_empty() {
                tag.push_str(&image.tag_suffix);
                digest.clear();
            }
        }
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    // kyaml keeps the old style and drops the tag: the value is re-typed from its text.
    *s = Scalar {
        value: name,
        style: s.style,
        tag: None,
        flow_empty: false,
    };
    Ok(())
}

/// kustomize's `image.Split`: name, tag and digest of `[host[:port]/]path[:tag][@digest]`.
fn split(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (Some(c), Some(d)) if c < d => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (_, Some(d)) => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
    }
}

/// kyaml's "wrong node kind" error.
pub(super) fn wrong_kind(expected: &str, node: &Node) -> String {
    let got = match &node.value {
        Value::Map(_) => "MappingNode",
        Value::Seq(_) => "SequenceNode",
        Value::Scalar(_) => "ScalarNode",
    };
    format!(
        "wrong node kind: expected {expected} but got {got}: node contents:\n{}\n",
        flow(node)
    )
}

/// A one-line flow rendering of a node, for error messages.
pub(super) fn flow(node: &Node) -> String {
    match &node.value {
        Value::Scalar(s) => s.value.clone(),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(m) => format!(
            "{{{}}}",
            m.entries
                .iter()
                .map(|(k, v)| format!("{}: {}", k.value, flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The items of a kustomization list field, refusing a non-list like Go's JSON decoder.
pub(super) fn entries<'a>(list: &'a Node, field: &str, go_type: &str) -> Result<&'a [Node]> {
    list.as_seq().map(Vec::as_slice).ok_or_else(|| {
        BuildError::at(
            &list.pos,
            format!(
                "invalid Kustomization: json: cannot unmarshal {} into Go struct field Kustomization.{field} of type {go_type}",
                json_type(list)
            ),
        )
    })
}

/// A mapping entry whose keys must all be in `known` (kustomize decodes strictly).
pub(super) fn strict_map<'a>(item: &'a Node, known: &[&str]) -> Result<&'a crate::yaml::Map> {
    let Some(map) = item.as_map() else {
        return Err(BuildError::at(
            &item.pos,
            format!(
                "invalid Kustomization: json: cannot unmarshal {} into a list entry (a mapping)",
                json_type(item)
            ),
        ));
    };
    if let Some((key, _)) = map
        .entries
        .iter()
        .find(|(k, _)| !known.contains(&k.value.as_str()))
    {
        return Err(BuildError::at(
            &key.pos,
            format!(
                "invalid Kustomization: json: unknown field \"{}\"",
                key.value
            ),
        ));
    }
    Ok(map)
}

/// A string-typed field; null is empty. `go_field` is `Struct.json.path` for the message.
pub(super) fn string_value(node: &Node, go_field: &str) -> Result<String> {
    match &node.value {
        Value::Scalar(s) => match s.resolve() {
            Resolved::Null => Ok(String::new()),
            Resolved::Str | Resolved::Timestamp(_) | Resolved::Binary(_) => Ok(s.value.clone()),
            _ => Err(type_error(node, go_field, "string")),
        },
        _ => Err(type_error(node, go_field, "string")),
    }
}

/// The "cannot unmarshal" error of Go's JSON decoder.
pub(super) fn type_error(node: &Node, go_field: &str, go_type: &str) -> BuildError {
    let what = match (&node.value, go_type) {
        (Value::Scalar(s), "int64" | "int") if matches!(s.resolve(), Resolved::Float(_)) => {
            format!("number {}", s.value)
        }
        _ => json_type(node).to_string(),
    };
    BuildError::at(
        &node.pos,
        format!(
            "invalid Kustomization: json: cannot unmarshal {what} into Go struct field {go_field} of type {go_type}"
        ),
    )
}

/// JSON's name for a node's type.
pub(super) fn json_type(node: &Node) -> &'static str {
    match &node.value {
        Value::Map(_) => "object",
        Value::Seq(_) => "array",
        Value::Scalar(s) => match s.resolve() {
            Resolved::Null => "null",
            Resolved::Bool(_) => "bool",
            Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => "number",
            _ => "string",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{ImagePattern, split};
    use crate::kustomize::{FileTree, build};

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// The hand matcher of plain names answers as the expression does.
        #[test]
        fn plain_image_names_match_as_the_expression_does(
            name in "[a.:/@-]{0,5}",
            value in "[a.b:/@\n{-]{0,6}|(@sha256|:)?[a.:{]{0,4}",
            suffix in "(:[a1.{}_-]{0,3})?(@sha256:[a1.]{0,3}|@sha25)?[:@]?",
        ) {
            let pattern = format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$");
            let re = regex_lite::Regex::new(&pattern).unwrap();
            let plain = ImagePattern::new(&name).unwrap();
            proptest::prop_assert!(matches!(plain, ImagePattern::Plain(_)));
            for v in [value.clone(), format!("{name}{suffix}"), format!("{value}{suffix}")] {
                proptest::prop_assert_eq!(plain.is_match(&v), re.is_match(&v), "{:?} on {:?}", name, v);
            }
        }
    }

    #[test]
    fn split_like_kustomize() {
        let cases = [
            ("nginx", ("nginx", "", "")),
            ("nginx:1", ("nginx", "1", "")),
            ("nginx@sha256:abc", ("nginx", "", "sha256:abc")),
            ("nginx:1@sha256:abc", ("nginx", "1", "sha256:abc")),
            ("localhost:5000/nginx", ("localhost:5000/nginx", "", "")),
            ("localhost:5000/nginx:1", ("localhost:5000/nginx", "1", "")),
            ("reg/a/b@sha256:x", ("reg/a/b", "", "sha256:x")),
        ];
        for (input, (n, t, d)) in cases {
            assert_eq!(
                split(input),
                (n.to_string(), t.to_string(), d.to_string()),
                "{input}"
            );
        }
    }

    const POD: &str = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: nginx:1}
  - {name: b, image: nginx}
  - {name: c, image: \"nginx@sha256:abc\"}
  - {name: d, image: \"nginx:1@sha256:abc\"}
  - {name: e, image: \"localhost:5000/nginx:1\"}
  - {name: f, image: \"localhost:5000/nginx\"}
  - {name: g, image: \"nginxx:1\"}
  - {name: h, image: \"docker.io/nginx:1\"}
  - {name: i, image: 5}
  - {name: j}
  - {name: k, image: \"nginx:1.2-alpine_x{y}\"}
  - {name: l, image: \"nginx:a/b\"}
  - {name: m, image: \"nginx@sha512:abc\"}
  - {name: n, image: \"nginx:\"}
";

    /// Builds `resource` with `images` and returns the `image:` values in output order
    /// (or the error). Expectations come from `kubectl kustomize` v5.5.0.
    fn images(images: &str, resource: &str) -> String {
        let mut tree = FileTree::new();
        tree.insert(
            "kustomization.yaml",
            format!("resources: [r.yaml]\nimages:\n{images}\n"),
        );
        tree.insert("r.yaml", resource);
        match build(&tree, "").and_then(|b| b.to_yaml()) {
            Ok(out) => out
                .lines()
                .filter_map(|l| {
                    l.trim_start()
                        .strip_prefix("- image: ")
                        .or(l.trim_start().strip_prefix("image: "))
                })
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn check(entry: &str, want: &str) {
        assert_eq!(images(entry, POD), want, "{entry}");
    }

    #[test]
    fn tag_digest_name() {
        check(
            "- {name: nginx, newTag: t}",
            "nginx:t nginx:t nginx:t nginx:t localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx:t nginx:a/b nginx@sha512:abc nginx:t",
        );
        check(
            "- {name: nginx, digest: \"sha256:d\"}",
            "nginx@sha256:d nginx@sha256:d nginx@sha256:d nginx@sha256:d localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx@sha256:d nginx:a/b nginx@sha512:abc nginx@sha256:d",
        );
        check(
            "- {name: nginx, newTag: t, digest: \"sha256:d\"}",
            "nginx:t@sha256:d nginx:t@sha256:d nginx:t@sha256:d nginx:t@sha256:d localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx:t@sha256:d nginx:a/b nginx@sha512:abc nginx:t@sha256:d",
        );
        check(
            "- {name: nginx, newName: \"reg/n\"}",
            "reg/n:1 reg/n reg/n@sha256:abc reg/n:1@sha256:abc localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 reg/n:1.2-alpine_x{y} nginx:a/b nginx@sha512:abc reg/n",
        );
        check(
            "- {name: localhost:5000/nginx, newName: \"reg/n\", newTag: t}",
            "nginx:1 nginx nginx@sha256:abc nginx:1@sha256:abc reg/n:t reg/n:t nginxx:1 docker.io/nginx:1 5 nginx:1.2-alpine_x{y} nginx:a/b nginx@sha512:abc 'nginx:'",
        );
        check(
            "- {name: ngin., newTag: t}",
            "nginx:t nginx:t nginx:t nginx:t localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx:t nginx:a/b nginx@sha512:abc nginx:t",
        );
        check(
            "- {name: \"nginx:1\", newTag: t}",
            "nginx:t nginx nginx@sha256:abc nginx:t localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx:1.2-alpine_x{y} nginx:a/b nginx@sha512:abc 'nginx:'",
        );
        check(
            "- {name: \"5\", newTag: t}",
            "nginx:1 nginx nginx@sha256:abc nginx:1@sha256:abc localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5:t nginx:1.2-alpine_x{y} nginx:a/b nginx@sha512:abc 'nginx:'",
        );
        check(
            "- {name: nginx, newName: \"a:b/c\", newTag: t}",
            "a:b/c:t a:b/c:t a:b/c:t a:b/c:t localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 a:b/c:t nginx:a/b nginx@sha512:abc a:b/c:t",
        );
        check(
            "- {name: nginx, tagSuffix: -s, newTag: t}",
            "nginx:t nginx:t nginx:t nginx:t localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx:t nginx:a/b nginx@sha512:abc nginx:t",
        );
        check(
            "- {name: nginx, newTag: t}\n- {name: \"nginx:t\", newTag: u}",
            "nginx:u nginx:u nginx:u nginx:u localhost:5000/nginx:1 localhost:5000/nginx nginxx:1 docker.io/nginx:1 5 nginx:u nginx:a/b nginx@sha512:abc nginx:u",
        );
    }

    #[test]
    fn where_images_are_found() {
        let res = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  ephemeralContainers: [{name: c, image: nginx:1}]
  x: {y: [{initContainers: [{image: nginx}]}]}
  z: {containers: [{image: nginx}]}
  containers: {c: {image: nginx:1}}
  container: {app: {image: {repo: nginx, tag: \"1.0\"}}}
";
        assert_eq!(
            images("- {name: nginx, newTag: \"2\"}", res),
            "nginx:1 nginx:1 nginx:2 nginx:2"
        );
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx:1}]\n";
        assert_eq!(images("- {name: nginx, newTag: \"2\"}", crd), "nginx:1");
    }

    #[test]
    fn tag_suffix_is_applied_twice_on_field_spec_paths() {
        let res = "apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  containers: [{name: c, image: nginx:1}]
  template: {spec: {initContainers: [{name: c, image: nginx:1}]}}
  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: nginx:1}]}}}}
  x: {containers: [{image: \"nginx:1@sha256:abc\"}, {image: \"nginx@sha256:abc\"}, {image: nginx}]}
";
        assert_eq!(
            images("- {name: nginx, tagSuffix: -s}", res),
            "nginx:1-s-s nginx:1-s nginx:1-s-s nginx:1-s nginx:-s nginx:-s"
        );
    }

    #[test]
    fn refusals() {
        let pod = |c: &str| {
            format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: {c}\n")
        };
        assert!(
            images(
                "- {name: nginx, newTag: \"2\"}",
                &pod("[{name: c, image: {repo: nginx}}]")
            )
            .contains("wrong node kind: expected ScalarNode but got MappingNode")
        );
        assert!(
            images("- {name: nginx, newTag: \"2\"}", &pod("[nginx:1]"))
                .contains("wrong node kind: expected MappingNode but got ScalarNode")
        );
        assert!(images("- {name: nginx, newTag: 1.36}", &pod("[]")).contains("json: cannot unmarshal number into Go struct field Image.images.newTag of type string"));
        assert!(
            images("- {name: nginx, foo: 1}", &pod("[]")).contains("json: unknown field \"foo\"")
        );
        assert_eq!(
            images(
                "- {name: nginx, newTag: t}",
                &pod("[{name: g, image: null}, null, {name: h, image: \"\"}]")
            ),
            "null \"\""
        );
    }
}
