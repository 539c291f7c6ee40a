//! A strict, schema-driven manifest checker.
//!
//! [`check`] walks a JSON value against a structural JSON Schema (the OpenAPI v3 subset used
//! by a CRD's `openAPIV3Schema`) and returns every problem as a [`Diagnostic`] whose `path`
//! is a JSON Pointer into the value. It never stops at the first problem and never panics.
//!
//! Supported keywords: `type` (a name or a list of names), `properties`, `required`,
//! `additionalProperties` (`false`, or a schema for map values), `propertyNames`, `items`,
//! `enum`, `pattern`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`
//! (numbers or OpenAPI v3.0 booleans), `minLength`, `maxLength` (in characters), `minItems`,
//! `maxItems`, `uniqueItems`, `format` (`int32`, `int64` ranges), `anyOf`, `oneOf` (treated
//! as `anyOf`), `$ref` to `#/definitions/...` or `#/$defs/...`, `nullable`, and
//! `x-kubernetes-int-or-string`. Other keywords (`description`, `default`, ...) are ignored.
//!
//! Three planton extensions:
//! - `x-planton-code` on a schema node replaces the generic code of the problems found at that
//!   node (not below it), so a rule written as a schema keeps a stable, specific code
//!   (e.g. `port-name-invalid` for a `pattern`);
//! - `x-planton-upstream-string: true` on a node whose upstream proto field is a string:
//!   a number there is accepted with a warning (`schema-number-for-string`), since the
//!   upstream protobuf JSON loader refuses it;
//! - [`CheckOptions::protojson_scalars`] accepts what the upstream protobuf JSON loader
//!   accepts: integers and numbers written as JSON strings (`listenerPort: "8443"`).
//!
//! A `null` member is treated as absent, as the protobuf JSON loader does: it satisfies no
//! `required` and is otherwise not checked.
//! Unknown members of an object with `additionalProperties: false` are errors
//! (`schema-unknown-field`) with a "did you mean" suggestion when a known name is close.
//!
//! Generic codes: `schema-type`, `schema-required`, `schema-unknown-field`, `schema-enum`,
//! `schema-pattern`, `schema-minimum`, `schema-maximum`, `schema-min-length`,
//! `schema-max-length`, `schema-min-items`, `schema-max-items`, `schema-unique-items`,
//! `schema-format`, `schema-invalid` (a broken schema: the plugin's bug, never the user's).

use crate::Diagnostic;
use crate::pointer::At;
use serde_json::{Map, Value};

/// How strictly scalars are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckOptions {
    /// Accept integers and numbers written as strings (`"8443"`), as protobuf JSON does.
    pub protojson_scalars: bool,
}

/// Checks `value` against `schema` with default (fully strict) options.
pub fn check(schema: &Value, value: &Value) -> Vec<Diagnostic> {
    check_with(schema, value, CheckOptions::default())
}

/// Checks `value` against `schema`; every problem, in document order.
///
/// This compiles `schema` for the one check; a plugin that checks many values against one
/// schema compiles it once, with [`Schema::new`] or [`compiled`].
pub fn check_with(schema: &Value, value: &Value, options: CheckOptions) -> Vec<Diagnostic> {
    Schema::new(schema).check(value, options)
}

/// The compiled form of a `'static` schema (such as a plugin's schema, parsed once into a
/// static), compiled on first use and kept for the life of the program.
///
/// A plugin's `planton_init` (see [`abi::init`](crate::abi::init)) can call it, so a host
/// that snapshots the instance after `planton_init` starts every call with it compiled.
pub fn compiled(schema: &'static Value) -> &'static Schema {
    static COMPILED: std::sync::Mutex<Vec<(usize, &'static Schema)>> =
        std::sync::Mutex::new(Vec::new());
    // A `'static` value is never freed, so its address names it for the rest of the program.
    let key = std::ptr::from_ref(schema).addr();
    let mut cache = COMPILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, found)) = cache.iter().find(|(k, _)| *k == key) {
        return found;
    }
    let made: &'static Schema = Box::leak(Box::new(Schema::new(schema)));
    cache.push((key, made));
    made
}

/// A schema compiled for checking: every keyword read once, `$ref`s resolved, patterns
/// compiled. [`Schema::check`] gives exactly what [`check_with`] gives for the schema's JSON.
#[derive(Debug, Clone)]
pub struct Schema {
    nodes: Vec<Node>,
    root: Link,
}

/// Where a schema position leads once its `$ref` chain is followed.
#[derive(Debug, Clone)]
enum Link {
    /// A schema node (index into [`Schema::nodes`]).
    Node(usize),
    /// A `$ref` that cannot be followed: the `schema-invalid` message.
    Broken(String),
}

/// One resolved schema: `None` when it is not an object (`true`-like: anything goes).
#[derive(Debug, Clone, Default)]
struct Node {
    keywords: Option<Box<Keywords>>,
}

/// The keywords of one object schema, read as the checker reads them.
#[derive(Debug, Clone, Default)]
struct Keywords {
    code: Option<String>,
    any_of: Option<Vec<Link>>,
    nullable: bool,
    int_or_string: bool,
    /// The `type` names; `None` when `type` is absent or neither a string nor a list.
    types: Option<Vec<String>>,
    upstream_string: bool,
    enumeration: Option<Vec<Value>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<(String, Result<crate::pattern::Pattern, String>)>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum_bool: bool,
    exclusive_maximum_bool: bool,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    format_range: Option<(f64, f64)>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    items: Option<Link>,
    properties: Option<Vec<(String, Link)>>,
    required: Option<Vec<String>>,
    property_names: Option<Link>,
    additional: Additional,
}

#[derive(Debug, Clone, Default)]
enum Additional {
    /// Absent, or neither `false` nor an object: unknown members pass unchecked.
    #[default]
    Anything,
    /// `false`: unknown members are errors.
    Refused,
    /// A schema for every member not in `properties`.
    Schema(Link),
}

impl Keywords {
    fn property(&self, name: &str) -> Option<&Link> {
        self.properties
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, l)| l)
    }

    fn expected_types(&self) -> Vec<String> {
        if self.int_or_string {
            return vec!["integer".into(), "string".into()];
        }
        match &self.types {
            Some(ts) => ts.iter().map(|t| article(t)).collect(),
            None => vec!["a value".into()],
        }
    }
}

/// Builds a [`Schema`], one node per distinct resolved schema object.
struct Compiler<'s> {
    root: &'s Value,
    nodes: Vec<Node>,
    seen: std::collections::HashMap<usize, usize>,
}

impl<'s> Compiler<'s> {
    fn resolve(&self, schema: &'s Value) -> Result<&'s Value, String> {
        let mut current = schema;
        for _ in 0..MAX_DEPTH {
            match current.get("$ref").and_then(Value::as_str) {
                None => return Ok(current),
                Some(r) => {
                    let ptr = r
                        .strip_prefix('#')
                        .ok_or_else(|| format!("unsupported $ref `{r}`"))?;
                    current = self
                        .root
                        .pointer(ptr)
                        .ok_or_else(|| format!("dangling $ref `{r}`"))?;
                }
            }
        }
        Err("$ref chain too deep".to_string())
    }

    fn link(&mut self, schema: &'s Value) -> Link {
        let target = match self.resolve(schema) {
            Ok(t) => t,
            Err(e) => return Link::Broken(e),
        };
        let key = std::ptr::from_ref(target).addr();
        if let Some(&i) = self.seen.get(&key) {
            return Link::Node(i);
        }
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        self.seen.insert(key, index);
        if let Some(obj) = target.as_object() {
            let keywords = self.keywords(obj);
            self.nodes[index].keywords = Some(Box::new(keywords));
        }
        Link::Node(index)
    }

    fn keywords(&mut self, obj: &'s Map<String, Value>) -> Keywords {
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool) == Some(true);
        let types = match obj.get("type") {
            Some(Value::String(t)) => Some(vec![t.clone()]),
            Some(Value::Array(ts)) => Some(
                ts.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => None,
        };
        let any_of = obj
            .get("anyOf")
            .or_else(|| obj.get("oneOf"))
            .and_then(Value::as_array)
            .map(|bs| bs.iter().map(|b| self.link(b)).collect());
        let items = obj.get("items").map(|i| self.link(i));
        let properties = obj
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(k, v)| (k.clone(), self.link(v))).collect());
        let property_names = obj.get("propertyNames").map(|n| self.link(n));
        let additional = match obj.get("additionalProperties") {
            Some(Value::Bool(false)) => Additional::Refused,
            Some(s @ Value::Object(_)) => Additional::Schema(self.link(s)),
            _ => Additional::Anything,
        };
        Keywords {
            code: obj
                .get("x-planton-code")
                .and_then(Value::as_str)
                .map(str::to_string),
            any_of,
            nullable: flag("nullable"),
            int_or_string: flag("x-kubernetes-int-or-string"),
            types,
            upstream_string: flag("x-planton-upstream-string"),
            enumeration: obj.get("enum").and_then(Value::as_array).cloned(),
            min_length: obj.get("minLength").and_then(Value::as_u64),
            max_length: obj.get("maxLength").and_then(Value::as_u64),
            pattern: obj
                .get("pattern")
                .and_then(Value::as_str)
                .map(|p| (p.to_string(), compile_pattern(p))),
            minimum: obj.get("minimum").and_then(Value::as_f64),
            maximum: obj.get("maximum").and_then(Value::as_f64),
            exclusive_minimum_bool: flag("exclusiveMinimum"),
            exclusive_maximum_bool: flag("exclusiveMaximum"),
            exclusive_minimum: obj.get("exclusiveMinimum").and_then(Value::as_f64),
            exclusive_maximum: obj.get("exclusiveMaximum").and_then(Value::as_f64),
            format_range: match obj.get("format").and_then(Value::as_str) {
                Some("int32") => Some((i32::MIN as f64, i32::MAX as f64)),
                Some("int64") => Some((i64::MIN as f64, i64::MAX as f64)),
                _ => None,
            },
            min_items: obj.get("minItems").and_then(Value::as_u64),
            max_items: obj.get("maxItems").and_then(Value::as_u64),
            unique_items: flag("uniqueItems"),
            items,
            properties,
            required: obj.get("required").and_then(Value::as_array).map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            }),
            property_names,
            additional,
        }
    }
}

impl Schema {
    /// Compiles a structural JSON Schema (see the module documentation). A broken part (a
    /// dangling `$ref`, a bad `pattern`) is kept and reported by [`Schema::check`] where a
    /// value reaches it, as `schema-invalid`.
    pub fn new(schema: &Value) -> Schema {
        let mut compiler = Compiler {
            root: schema,
            nodes: Vec::new(),
            seen: std::collections::HashMap::new(),
        };
        let root = compiler.link(schema);
        Schema {
            nodes: compiler.nodes,
            root,
        }
    }

    /// Checks `value`; every problem, in document order (as [`check_with`]).
    pub fn check(&self, value: &Value, options: CheckOptions) -> Vec<Diagnostic> {
        let checker = Checker {
            schema: self,
            options,
        };
        let mut out = Vec::new();
        checker.walk(&self.root, value, At::Root, &mut out, 0);
        out
    }
}

/// Deepest `$ref`/`anyOf` nesting followed before giving up (guards against cyclic schemas).
const MAX_DEPTH: usize = 64;

struct Checker<'s> {
    schema: &'s Schema,
    options: CheckOptions,
}

impl<'s> Checker<'s> {
    fn node(&self, link: &'s Link) -> Result<Option<&'s Keywords>, &'s str> {
        match link {
            Link::Node(i) => Ok(self.schema.nodes[*i].keywords.as_deref()),
            Link::Broken(e) => Err(e),
        }
    }

    fn walk(
        &self,
        link: &'s Link,
        value: &Value,
        at: At<'_>,
        out: &mut Vec<Diagnostic>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            out.push(Diagnostic::error(
                "schema-invalid",
                at.pointer(),
                "schema nesting too deep",
            ));
            return;
        }
        let obj = match self.node(link) {
            Ok(Some(obj)) => obj,
            Ok(None) => return, // `true`/`{}`-like: anything goes.
            Err(e) => {
                out.push(Diagnostic::error("schema-invalid", at.pointer(), e));
                return;
            }
        };
        let code_override = obj.code.as_deref();
        let code = |generic: &'static str| code_override.unwrap_or(generic).to_string();

        if let Some(branches) = &obj.any_of {
            self.any_of(branches, value, at, out, depth, code_override);
        }

        if value.is_null() {
            if !obj.nullable && depth == 0 {
                out.push(Diagnostic::error(
                    code("schema-type"),
                    at.pointer(),
                    "expected a value, found null",
                ));
            }
            return;
        }

        // Type.
        if !self.type_ok(obj, value) {
            let expected = obj.expected_types().join(" or ");
            out.push(Diagnostic::error(
                code("schema-type"),
                at.pointer(),
                format!("expected {expected}, found {}", describe_value(value)),
            ));
            return; // Further keywords would only repeat the same problem.
        }

        // A number where upstream's proto field is a string: upstream refuses it.
        if value.is_number() && obj.upstream_string {
            out.push(Diagnostic::warning(
                "schema-number-for-string",
                at.pointer(),
                format!("upstream reads this field as a string and refuses the number {value}; accepted, but write \"{value}\""),
            ));
        }

        // Enum.
        if let Some(allowed) = &obj.enumeration
            && !allowed.iter().any(|a| a == value)
        {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            out.push(Diagnostic::error(
                code("schema-enum"),
                at.pointer(),
                format!(
                    "{} is not one of {}",
                    describe_value(value),
                    list.join(", ")
                ),
            ));
        }

        match value {
            Value::String(s) => self.string_rules(obj, s, at, out, &code),
            Value::Number(_) => self.number_rules(obj, value, at, out, &code),
            Value::Array(items) => self.array_rules(obj, items, at, out, depth, &code),
            Value::Object(map) => self.object_rules(obj, map, at, out, depth, &code),
            _ => {}
        }
        // Strings accepted in place of numbers (protojson, int-or-string) get numeric checks too.
        if let Value::String(s) = value
            && let Some(n) = self.numeric_string(obj, s)
        {
            self.number_rules(obj, &n, at, out, &code);
        }
    }

    fn any_of(
        &self,
        branches: &'s [Link],
        value: &Value,
        at: At<'_>,
        out: &mut Vec<Diagnostic>,
        depth: usize,
        code_override: Option<&str>,
    ) {
        let mut results: Vec<(bool, Vec<Diagnostic>)> = Vec::new();
        for b in branches {
            let mut diags = Vec::new();
            self.walk(b, value, at, &mut diags, depth + 1);
            if diags.is_empty() {
                return;
            }
            let type_matches = self
                .node(b)
                .ok()
                .flatten()
                .is_some_and(|o| self.type_ok(o, value));
            results.push((type_matches, diags));
        }
        let path = at.pointer();
        // Of the branches of the value's type, the one it comes closest to explains best.
        if let Some((_, diags)) = results
            .iter()
            .filter(|(m, _)| *m)
            .min_by_key(|(_, d)| d.len())
        {
            // Problems with the value itself take the node's specific code, if it has one.
            out.extend(diags.iter().cloned().map(|mut d| {
                if let Some(c) = code_override
                    && d.path == path
                {
                    d.code = c.to_string();
                }
                d
            }));
            return;
        }
        let mut expected: Vec<String> = Vec::new();
        for b in branches {
            if let Ok(Some(o)) = self.node(b) {
                for t in o.expected_types() {
                    if !expected.contains(&t) {
                        expected.push(t);
                    }
                }
            }
        }
        out.push(Diagnostic::error(
            code_override.unwrap_or("schema-type"),
            path,
            format!(
                "expected {}, found {}",
                expected.join(" or "),
                describe_value(value)
            ),
        ));
    }

    fn type_ok(&self, obj: &Keywords, value: &Value) -> bool {
        if obj.int_or_string {
            return value.is_string() || is_integer(value);
        }
        let Some(types) = &obj.types else {
            return true;
        };
        types.iter().any(|t| match t.as_str() {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => {
                is_integer(value)
                    || (self.options.protojson_scalars
                        && value
                            .as_str()
                            .is_some_and(|s| s.trim().parse::<i64>().is_ok()))
            }
            "number" => {
                value.is_number()
                    || (self.options.protojson_scalars
                        && value
                            .as_str()
                            .is_some_and(|s| s.trim().parse::<f64>().is_ok()))
            }
            "null" => value.is_null(),
            _ => true,
        })
    }

    /// The number a string stands for, when the schema accepts it as a number.
    fn numeric_string(&self, obj: &Keywords, s: &str) -> Option<Value> {
        if !self.options.protojson_scalars {
            return None;
        }
        let types = obj.types.as_ref()?;
        let has = |t: &str| types.iter().any(|x| x == t);
        if has("string") {
            return None;
        }
        if has("integer") {
            return s.trim().parse::<i64>().ok().map(Value::from);
        }
        if has("number") {
            return s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number));
        }
        None
    }

    fn string_rules(
        &self,
        obj: &Keywords,
        s: &str,
        at: At<'_>,
        out: &mut Vec<Diagnostic>,
        code: &dyn Fn(&'static str) -> String,
    ) {
        if obj.min_length.is_some() || obj.max_length.is_some() {
            let len = s.chars().count();
            if let Some(min) = obj.min_length
                && (len as u64) < min
            {
                let msg = if min == 1 && len == 0 {
                    "must not be empty".to_string()
                } else {
                    format!("{:?} is shorter than {min} characters", s)
                };
                out.push(Diagnostic::error(
                    code("schema-min-length"),
                    at.pointer(),
                    msg,
                ));
            }
            if let Some(max) = obj.max_length
                && (len as u64) > max
            {
                out.push(Diagnostic::error(
                    code("schema-max-length"),
                    at.pointer(),
                    format!("{:?} is longer than {max} characters", s),
                ));
            }
        }
        if let Some((p, re)) = &obj.pattern {
            match re {
                Ok(re) => {
                    if !re.is_match(s) {
                        out.push(Diagnostic::error(
                            code("schema-pattern"),
                            at.pointer(),
                            format!("{:?} does not match the pattern {p}", s),
                        ));
                    }
                }
                Err(e) => out.push(Diagnostic::error(
                    "schema-invalid",
                    at.pointer(),
                    format!("bad pattern {p}: {e}"),
                )),
            }
        }
    }

    fn number_rules(
        &self,
        obj: &Keywords,
        value: &Value,
        at: At<'_>,
        out: &mut Vec<Diagnostic>,
        code: &dyn Fn(&'static str) -> String,
    ) {
        let Some(n) = value.as_f64() else { return };
        let shown = || value.to_string();
        let mut push = |generic: &'static str, message: String| {
            out.push(Diagnostic::error(code(generic), at.pointer(), message));
        };
        if let Some(min) = obj.minimum {
            if obj.exclusive_minimum_bool && n <= min {
                push(
                    "schema-minimum",
                    format!("{} must be greater than {}", shown(), num(min)),
                );
            } else if n < min {
                push(
                    "schema-minimum",
                    format!("{} is less than the minimum {}", shown(), num(min)),
                );
            }
        }
        if let Some(min) = obj.exclusive_minimum
            && n <= min
        {
            push(
                "schema-minimum",
                format!("{} must be greater than {}", shown(), num(min)),
            );
        }
        if let Some(max) = obj.maximum {
            if obj.exclusive_maximum_bool && n >= max {
                push(
                    "schema-maximum",
                    format!("{} must be less than {}", shown(), num(max)),
                );
            } else if n > max {
                push(
                    "schema-maximum",
                    format!("{} is greater than the maximum {}", shown(), num(max)),
                );
            }
        }
        if let Some(max) = obj.exclusive_maximum
            && n >= max
        {
            push(
                "schema-maximum",
                format!("{} must be less than {}", shown(), num(max)),
            );
        }
        if let Some((lo, hi)) = obj.format_range
            && (n < lo || n > hi)
        {
            push(
                "schema-format",
                format!("{} is out of range for its integer type", shown()),
            );
        }
    }

    fn array_rules(
        &self,
        obj: &'s Keywords,
        items: &[Value],
        at: At<'_>,
        out: &mut Vec<Diagnostic>,
        depth: usize,
        code: &dyn Fn(&'static str) -> String,
    ) {
        if let Some(min) = obj.min_items
            && (items.len() as u64) < min
        {
            let msg = if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("needs at least {min} items")
            };
            out.push(Diagnostic::error(
                code("schema-min-items"),
                at.pointer(),
                msg,
            ));
        }
        if let Some(max) = obj.max_items
            && (items.len() as u64) > max
        {
            out.push(Diagnostic::error(
                code("schema-max-items"),
                at.pointer(),
                format!("has more than {max} items"),
            ));
        }
        if obj.unique_items {
            for (i, item) in items.iter().enumerate() {
                if let Some(first) = items[..i].iter().position(|earlier| earlier == item) {
                    out.push(Diagnostic::error(
                        code("schema-unique-items"),
                        At::Index(&at, i).pointer(),
                        format!("duplicates item {first} ({})", describe_value(item)),
                    ));
                }
            }
        }
        if let Some(item_schema) = &obj.items {
            for (i, item) in items.iter().enumerate() {
                self.walk(item_schema, item, At::Index(&at, i), out, depth + 1);
            }
        }
    }

    fn object_rules(
        &self,
        obj: &'s Keywords,
        map: &Map<String, Value>,
        at: At<'_>,
        out: &mut Vec<Diagnostic>,
        depth: usize,
        code: &dyn Fn(&'static str) -> String,
    ) {
        if let Some(required) = &obj.required {
            for name in required {
                if map.get(name).is_none_or(Value::is_null) {
                    out.push(Diagnostic::error(
                        code("schema-required"),
                        At::Key(&at, name).pointer(),
                        format!("missing required field `{name}`"),
                    ));
                }
            }
        }
        for (key, member) in map {
            let member_at = At::Key(&at, key);
            if let Some(ns) = &obj.property_names {
                let mut diags = Vec::new();
                self.walk(
                    ns,
                    &Value::String(key.clone()),
                    member_at,
                    &mut diags,
                    depth + 1,
                );
                for mut d in diags {
                    d.message = format!("key {key:?}: {}", d.message);
                    if d.code == "schema-pattern" {
                        d.code = "schema-property-name".to_string();
                    }
                    out.push(d);
                }
            }
            if let Some(prop_schema) = obj.property(key) {
                self.walk(prop_schema, member, member_at, out, depth + 1);
                continue;
            }
            match &obj.additional {
                Additional::Refused => {
                    let known: Vec<&str> = obj
                        .properties
                        .iter()
                        .flatten()
                        .map(|(k, _)| k.as_str())
                        .collect();
                    let mut msg = format!("unknown field `{key}`");
                    match did_you_mean(key, known.iter().copied()) {
                        Some(s) => msg.push_str(&format!(": did you mean `{s}`?")),
                        None if !known.is_empty() && known.len() <= 12 => {
                            msg.push_str(&format!(" (known fields: {})", known.join(", ")));
                        }
                        None => {}
                    }
                    out.push(Diagnostic::error(
                        code("schema-unknown-field"),
                        member_at.pointer(),
                        msg,
                    ));
                }
                Additional::Schema(s) => self.walk(s, member, member_at, out, depth + 1),
                Additional::Anything => {}
            }
        }
    }
}

pub use crate::suggest::did_you_mean;

/// An integer read the way the protobuf JSON loader reads it: a JSON integer, a float with
/// no fractional part, or a string holding a decimal integer (`"8443"`).
pub fn int_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A number read the way the protobuf JSON loader reads it: a JSON number or a numeric string.
pub fn number_value(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

/// The JSON type name of a value, as used in messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
        }
        _ => false,
    }
}

fn article(t: &str) -> String {
    match t {
        "object" => "an object".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        "string" => "a string".into(),
        "number" => "a number".into(),
        "boolean" => "a boolean".into(),
        other => other.into(),
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Object(_) => "an object".into(),
        Value::Array(_) => "a list".into(),
        Value::String(s) if s.chars().count() > 40 => {
            format!("string {:?}...", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("string {s:?}"),
        other => format!("{} {other}", type_name(other)),
    }
}

fn num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(d: &[Diagnostic]) -> Vec<(String, String)> {
        d.iter().map(|d| (d.code.clone(), d.path.clone())).collect()
    }

    fn sample() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name"],
            "definitions": {
                "port": { "type": "integer", "minimum": 1, "maximum": 65535, "format": "int32" }
            },
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$", "x-planton-code": "name-invalid" },
                "port": { "$ref": "#/definitions/port" },
                "proto": { "type": "string", "enum": ["TCP", "UDP"] },
                "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                "list": { "type": "array", "items": { "type": "string" }, "uniqueItems": true, "minItems": 1 },
                "maxReplicas": { "type": "integer" },
                "ios": { "x-kubernetes-int-or-string": true, "pattern": "^[0-9]+%?$" },
                "ref": { "anyOf": [
                    { "type": "string" },
                    { "type": "object", "additionalProperties": false, "required": ["value"], "properties": { "value": { "type": "string" } } }
                ] }
            }
        })
    }

    #[test]
    fn valid_value_has_no_diagnostics() {
        let v = json!({"name": "abc", "port": 80, "proto": "TCP", "labels": {"a/b": "x"}, "list": ["a", "b"],
                       "ios": 3, "ref": {"value": "x"}, "maxReplicas": null});
        assert_eq!(check(&sample(), &v), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_pointer() {
        let v = json!({"name": "ABCDEFG", "port": 0, "proto": "ICMP", "labels": {"a/b": 1}, "list": ["a", "a"],
                       "maxReplica": 3, "ios": "x", "ref": {"valu": "x"}});
        let got = codes(&check(&sample(), &v));
        let want: Vec<(String, String)> = [
            ("name-invalid", "/name"),
            ("name-invalid", "/name"),
            ("schema-minimum", "/port"),
            ("schema-enum", "/proto"),
            ("schema-type", "/labels/a~1b"),
            ("schema-unique-items", "/list/1"),
            ("schema-unknown-field", "/maxReplica"),
            ("schema-pattern", "/ios"),
            ("schema-required", "/ref/value"),
            ("schema-unknown-field", "/ref/valu"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn unknown_field_suggests_close_name() {
        let d = check(&sample(), &json!({"name": "a", "maxReplica": 1}));
        assert_eq!(
            d[0].message,
            "unknown field `maxReplica`: did you mean `maxReplicas`?"
        );
        let d = check(&sample(), &json!({"name": "a", "max_replicas": 1}));
        assert!(
            d[0].message.contains("did you mean `maxReplicas`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn required_and_null_and_types() {
        let d = codes(&check(&sample(), &json!({"name": null, "port": "80"})));
        assert_eq!(
            d,
            vec![
                ("schema-required".into(), "/name".into()),
                ("schema-type".into(), "/port".into())
            ]
        );
        let d = codes(&check(&sample(), &json!({"name": "a", "ref": 5})));
        assert_eq!(d, vec![("schema-type".into(), "/ref".into())]);
        assert_eq!(
            codes(&check(&sample(), &json!(null))),
            vec![("schema-type".into(), "".into())]
        );
    }

    #[test]
    fn protojson_accepts_numeric_strings_and_checks_their_range() {
        let opts = CheckOptions {
            protojson_scalars: true,
        };
        assert_eq!(
            check_with(&sample(), &json!({"name": "a", "port": "8443"}), opts),
            vec![]
        );
        let d = codes(&check_with(
            &sample(),
            &json!({"name": "a", "port": "70000"}),
            opts,
        ));
        assert_eq!(d, vec![("schema-maximum".into(), "/port".into())]);
        let d = codes(&check_with(
            &sample(),
            &json!({"name": "a", "port": "eighty"}),
            opts,
        ));
        assert_eq!(d, vec![("schema-type".into(), "/port".into())]);
    }

    #[test]
    fn upstream_string_fields_warn_on_numbers() {
        let s = json!({"type": "object", "properties": {
            "maxSurge": { "x-kubernetes-int-or-string": true, "x-planton-upstream-string": true }
        }});
        let d = check(&s, &json!({"maxSurge": 2}));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "schema-number-for-string");
        assert!(!d[0].is_error());
        assert!(d[0].message.contains("write \"2\""), "{}", d[0].message);
        assert_eq!(check(&s, &json!({"maxSurge": "25%"})), vec![]);
    }

    #[test]
    fn broken_schema_is_reported_not_panicked() {
        let s = json!({"type": "object", "properties": {"a": {"$ref": "#/nope"}, "b": {"type": "string", "pattern": "("}}});
        let d = codes(&check(&s, &json!({"a": 1, "b": "x"})));
        assert_eq!(
            d,
            vec![
                ("schema-invalid".into(), "/a".into()),
                ("schema-invalid".into(), "/b".into())
            ]
        );
        let cyclic = json!({"$ref": "#"});
        assert_eq!(
            codes(&check(&cyclic, &json!(1))),
            vec![("schema-invalid".into(), "".into())]
        );
    }
}

thread_local! {
    /// Compiled `pattern`s: compiling a pattern costs far more than matching one, and the
    /// same few patterns are checked many times per manifest.
    static PATTERNS: std::cell::RefCell<std::collections::HashMap<String, crate::pattern::Pattern>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The JSON Schema `pattern` `p`, compiled (once per thread: [`Schema::new`] takes a copy).
fn compile_pattern(p: &str) -> Result<crate::pattern::Pattern, String> {
    PATTERNS.with(|cache| {
        if let Some(re) = cache.borrow().get(p) {
            return Ok(re.clone());
        }
        let re = crate::pattern::Pattern::new(p)?;
        cache.borrow_mut().insert(p.to_string(), re.clone());
        Ok(re)
    })
}

/// Compiles every `pattern` of `schema` into this thread's cache, ahead of the first check.
///
/// A plugin's `planton_init` export runs it once (see [`abi::init`](crate::abi::init)), so a
/// host that snapshots the instance after `planton_init` starts every call with the patterns
/// compiled. A bad pattern is left for [`check`] to report.
pub fn precompile_patterns(schema: &Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match value.as_str() {
                    Some(p) if key == "pattern" => {
                        let _ = compile_pattern(p);
                    }
                    _ => precompile_patterns(value),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(precompile_patterns),
        _ => {}
    }
}
