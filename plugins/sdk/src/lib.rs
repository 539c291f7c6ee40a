//! The plugin SDK: the contract between planton and its target plugins.
//!
//! A target plugin knows one or more manifest kinds (for example `MicroserviceKubernetes`).
//! It describes them ([`Describe`], with a structural JSON Schema per kind), validates built
//! manifests ([`ValidateRequest`] → [`ValidateResponse`] with every [`Diagnostic`] at once) and
//! renders them into deployable objects ([`RenderRequest`] → [`RenderResponse`]).
//! The [`Plugin`] trait ties the three together; a plugin is a unit struct implementing it.
//!
//! Besides the contract types the SDK ships the helpers every plugin author needs:
//! - [`schema`]: a strict, schema-driven checker that walks a manifest against a structural
//!   JSON Schema and reports problems as [`Diagnostic`]s with JSON Pointer paths, including
//!   "did you mean" suggestions for misspelt field names;
//! - [`refs`]: the `$variables-group/<g>/<k>` and `$secrets-group/<g>/<k>` reference syntax;
//! - [`pointer`]: building and escaping JSON Pointers;
//! - [`protojson`]: what the upstream loader accepts beyond camelCase (proto field names,
//!   `{value}`/`{valueFrom}` references);
//! - [`AwsRequest`]: the shape of one AWS API request in a rendered plan, and
//!   [`resolve_output_refs`] for the `${id.path}` placeholders those requests may contain.
//!
//! What the SDK deliberately is not: it has no IO, no clock, no randomness and nothing
//! WebAssembly-specific, so plugins built on it run natively under `cargo test` and compile
//! unchanged for `wasm32-unknown-unknown`.
//! Secret *values* never pass through this contract: manifests carry references only.
//!
//! ```
//! use planton_plugin_sdk::{schema, Severity};
//! let schema = serde_json::json!({
//!     "type": "object",
//!     "additionalProperties": false,
//!     "properties": { "maxReplicas": { "type": "integer", "minimum": 1 } }
//! });
//! let manifest = serde_json::json!({ "maxReplica": 3 });
//! let diags = schema::check(&schema, &manifest);
//! assert_eq!(diags.len(), 1);
//! assert_eq!(diags[0].severity, Severity::Error);
//! assert_eq!(diags[0].path, "/maxReplica");
//! assert!(diags[0].message.contains("did you mean `maxReplicas`"));
//! ```

pub mod abi;
pub mod pointer;
pub mod protojson;
pub mod refs;
pub mod schema;
pub mod suggest;
pub mod target;
pub mod testing;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version of the plugin contract this SDK implements.
///
/// The host refuses a plugin whose [`Describe::contract_version`] it does not support.
pub const CONTRACT_VERSION: u32 = 1;

/// What a plugin is and which manifest kinds it handles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Describe {
    /// The plugin's name, e.g. `kubernetes`.
    pub name: String,
    /// The plugin's own version (its crate version).
    pub version: String,
    /// The contract version the plugin was built against; normally [`CONTRACT_VERSION`].
    pub contract_version: u32,
    /// The manifest kinds this plugin validates and renders.
    pub kinds: Vec<KindInfo>,
}

/// One manifest kind a plugin handles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindInfo {
    /// The manifest's `apiVersion`, e.g. `kubernetes.project-planton.org/v1`.
    pub api_version: String,
    /// The manifest's `kind`, e.g. `MicroserviceKubernetes`.
    pub kind: String,
    /// The whole manifest's structural JSON Schema (OpenAPI v3 subset, as a CRD's
    /// `openAPIV3Schema`), understood by [`schema::check`].
    pub schema: Value,
}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// The manifest cannot be deployed.
    Error,
    /// The manifest can be deployed but probably does not do what was meant.
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// How bad the problem is.
    pub severity: Severity,
    /// A stable, machine-matchable code, e.g. `port-name-invalid` or `schema-unknown-field`.
    pub code: String,
    /// A human-readable, lower-case sentence without a trailing period.
    pub message: String,
    /// A JSON Pointer (RFC 6901) into the manifest, e.g. `/spec/container/app/ports/0/name`.
    pub path: String,
}

impl Diagnostic {
    /// An error diagnostic.
    pub fn error(
        code: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            path: path.into(),
        }
    }

    /// A warning diagnostic.
    pub fn warning(
        code: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code: code.into(),
            message: message.into(),
            path: path.into(),
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Asks a plugin to validate one built manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateRequest {
    /// The built manifest (output of `kustomize build`), as JSON.
    pub manifest: Value,
    /// The overlay directory name the manifest was built from, e.g. `prod`.
    pub overlay: String,
    /// True for the `local` overlay, where literal secret values are allowed.
    pub local: bool,
}

/// Every problem a plugin found in a manifest; empty when the manifest is valid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResponse {
    /// All diagnostics, in a deterministic order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ValidateResponse {
    /// True when no diagnostic is an error.
    pub fn is_ok(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Asks a plugin to render one manifest into deployable objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderRequest {
    /// The built manifest, with `$secrets-group` references left unresolved.
    pub manifest: Value,
    /// Facts about this deployment that are not in the manifest.
    pub context: DeployContext,
}

/// Facts about one deployment that the host knows and the manifest does not.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployContext {
    /// `REPO:TAG` (or `REPO@DIGEST`) from the build; overrides or completes the spec image.
    /// A value without a tag or digest replaces only the repository.
    pub image: Option<String>,
    /// The target namespace, when the host decides it (Kubernetes only).
    pub namespace: Option<String>,
    /// The target environment, when the manifest's `metadata.env` is not set.
    pub env: Option<String>,
}

/// The rendered objects, in apply order.
///
/// For Kubernetes targets each object is a Kubernetes object.
/// For AWS targets each object is an [`AwsRequest`] serialised to JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderResponse {
    /// The objects, in the order the host must apply them.
    pub objects: Vec<Value>,
}

/// Why a plugin could not render a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginError {
    /// What went wrong, lower-case without a trailing period.
    pub message: String,
}

impl PluginError {
    /// A plugin error with this message.
    pub fn new(message: impl Into<String>) -> PluginError {
        PluginError {
            message: message.into(),
        }
    }

    /// A plugin error that lists every error diagnostic, one per line.
    pub fn from_diagnostics(diagnostics: &[Diagnostic]) -> PluginError {
        let mut message = String::from("the manifest is invalid:");
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            message.push_str(&format!("\n  {} [{}] {}", d.path, d.code, d.message));
        }
        PluginError { message }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// A target plugin: describes, validates and renders the kinds it knows.
///
/// Implementations are unit structs; all state lives in the requests.
/// None of the methods may panic on any input.
pub trait Plugin {
    /// The plugin's name, version, contract version and kinds.
    fn describe() -> Describe;
    /// Every problem in a built manifest, reported at once.
    fn validate(req: ValidateRequest) -> ValidateResponse;
    /// The objects that deploy the manifest, in apply order and deterministic.
    fn render(req: RenderRequest) -> Result<RenderResponse, PluginError>;
}

/// The image reference to deploy: a spec's `repo`/`tag`, overridden or completed by the
/// build's image ([`DeployContext::image`]: `REPO:TAG`, `REPO@DIGEST`, or a bare `REPO`).
///
/// A registry port (`host:5000/app`) is not mistaken for a tag. Errors when no repository or
/// no tag is known.
pub fn resolve_image(
    repo: Option<&str>,
    tag: Option<&str>,
    build: Option<&str>,
) -> Result<String, PluginError> {
    let (mut repo, mut tag) = (
        repo.filter(|s| !s.is_empty()).map(str::to_string),
        tag.filter(|s| !s.is_empty()).map(str::to_string),
    );
    if let Some(b) = build.map(str::trim).filter(|s| !s.is_empty()) {
        if b.contains('@') {
            return Ok(b.to_string());
        }
        let last_slash = b.rfind('/').map_or(0, |i| i + 1);
        match b[last_slash..].rfind(':') {
            Some(i) => {
                repo = Some(b[..last_slash + i].to_string());
                tag = Some(b[last_slash + i + 1..].to_string());
            }
            None => repo = Some(b.to_string()),
        }
    }
    match (repo, tag) {
        (Some(r), Some(t)) if !t.is_empty() => Ok(format!("{r}:{t}")),
        (None, _) => Err(PluginError::new(
            "no image repository: set the spec's image repo or pass the build's image",
        )),
        (Some(_), _) => Err(PluginError::new(
            "no image tag: set the spec's image tag or pass the build's REPO:TAG",
        )),
    }
}

/// One AWS API request in a rendered plan (the AWS counterpart of a Kubernetes object).
///
/// `input` is the AWS API's own request shape (the botocore service model's input shape,
/// member names as in the model: lowerCamelCase for ECS and CloudWatch Logs, PascalCase for
/// Elastic Load Balancing v2 and Application Auto Scaling).
///
/// Strings inside `input` (and `on_exists.input`) of the exact form `${<id>.<path>}` are
/// output references: before sending the request the host replaces them with a value from
/// the response of the earlier request whose [`AwsRequest::id`] is `<id>`
/// (see [`resolve_output_refs`] for the path syntax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsRequest {
    /// The AWS service: `ecs`, `elbv2`, `logs` or `application-autoscaling`.
    pub service: String,
    /// The API operation, e.g. `RegisterTaskDefinition`.
    pub operation: String,
    /// The operation's request, in the API's own shape.
    pub input: Value,
    /// A name under which the host keeps this request's response for later `${id...}` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What to send instead when this request fails because its resource already exists
    /// (for example `UpdateService` for `CreateService`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exists: Option<Box<AwsAlternative>>,
    /// AWS error codes that mean "already done" for this request and are not failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_errors: Vec<String>,
}

/// The request an [`AwsRequest`] falls back to when its resource already exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsAlternative {
    /// The AWS error codes that trigger the fallback, e.g. `InvalidParameterException`.
    pub when_errors: Vec<String>,
    /// The operation to send instead, on the same service.
    pub operation: String,
    /// Its request, in the API's own shape.
    pub input: Value,
}

impl AwsRequest {
    /// A request without id, fallback or ignored errors.
    pub fn new(service: &str, operation: &str, input: Value) -> AwsRequest {
        AwsRequest {
            service: service.to_string(),
            operation: operation.to_string(),
            input,
            id: None,
            on_exists: None,
            ignore_errors: Vec::new(),
        }
    }

    /// Sets the id under which the response is kept.
    pub fn with_id(mut self, id: &str) -> AwsRequest {
        self.id = Some(id.to_string());
        self
    }

    /// The request as a JSON object for [`RenderResponse::objects`].
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Replaces every `${<id>.<path>}` string in `value` by the value it refers to in `outputs`.
///
/// `outputs` maps a request id to that request's response.
/// `<path>` is a dot-separated list of steps; each step is a member name optionally followed
/// by selectors: `[N]` picks the N-th element, `[Key=text]` picks the first element whose
/// `Key` member, printed as text, equals `text` (numbers and strings compare alike).
/// Example: `${listeners.Listeners[Port=443].ListenerArn}`.
/// Returns the references that could not be resolved (left in place), in order.
pub fn resolve_output_refs(
    value: &mut Value,
    outputs: &serde_json::Map<String, Value>,
) -> Vec<String> {
    let mut unresolved = Vec::new();
    resolve_in(value, outputs, &mut unresolved);
    unresolved
}

fn resolve_in(
    value: &mut Value,
    outputs: &serde_json::Map<String, Value>,
    unresolved: &mut Vec<String>,
) {
    match value {
        Value::String(s) => {
            if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                match lookup_output(inner, outputs) {
                    Some(v) => *value = v,
                    None => unresolved.push(s.clone()),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| resolve_in(v, outputs, unresolved)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| resolve_in(v, outputs, unresolved)),
        _ => {}
    }
}

fn lookup_output(reference: &str, outputs: &serde_json::Map<String, Value>) -> Option<Value> {
    let mut steps = split_path(reference)?.into_iter();
    let first = steps.next()?;
    let (id, selectors) = parse_step(&first)?;
    let mut current = outputs.get(id)?;
    current = apply_selectors(current, &selectors)?;
    for step in steps {
        let (name, selectors) = parse_step(&step)?;
        current = current.get(name)?;
        current = apply_selectors(current, &selectors)?;
    }
    Some(current.clone())
}

/// Splits on dots that are not inside `[...]`.
fn split_path(path: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.checked_sub(1)?;
                cur.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    if depth != 0 || parts.iter().any(String::is_empty) {
        return None;
    }
    Some(parts)
}

fn parse_step(step: &str) -> Option<(&str, Vec<&str>)> {
    let (name, rest) = match step.find('[') {
        Some(i) => (&step[..i], &step[i..]),
        None => (step, ""),
    };
    let mut selectors = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        selectors.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    Some((name, selectors))
}

fn apply_selectors<'v>(mut current: &'v Value, selectors: &[&str]) -> Option<&'v Value> {
    for sel in selectors {
        let items = current.as_array()?;
        current = match sel.split_once('=') {
            None => items.get(sel.parse::<usize>().ok()?)?,
            Some((key, want)) => items.iter().find(|item| match item.get(key) {
                Some(Value::String(s)) => s == want,
                Some(other) => serde_json::from_str::<Value>(want).ok().as_ref() == Some(other),
                None => false,
            })?,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contract_types_are_camel_case() {
        let req = ValidateRequest {
            manifest: json!({}),
            overlay: "prod".into(),
            local: false,
        };
        let v = serde_json::to_value(&req).unwrap_or_default();
        assert_eq!(
            v,
            json!({"manifest": {}, "overlay": "prod", "local": false})
        );
        let d = Describe {
            name: "x".into(),
            version: "1".into(),
            contract_version: CONTRACT_VERSION,
            kinds: vec![],
        };
        let v = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(v["contractVersion"], json!(1));
        let diag = Diagnostic::error("c", "/a", "m");
        assert_eq!(
            serde_json::to_value(&diag).unwrap_or_default()["severity"],
            json!("error")
        );
    }

    #[test]
    fn image_is_completed_or_overridden_by_the_build() {
        assert_eq!(
            resolve_image(Some("r/app"), None, Some("r/app:abc")),
            Ok("r/app:abc".into())
        );
        assert_eq!(
            resolve_image(Some("r/app"), Some("1"), None),
            Ok("r/app:1".into())
        );
        assert_eq!(
            resolve_image(Some("r/app"), Some("1"), Some("host:5000/app")),
            Ok("host:5000/app:1".into())
        );
        assert_eq!(
            resolve_image(None, None, Some("r/app@sha256:ff")),
            Ok("r/app@sha256:ff".into())
        );
        assert!(resolve_image(Some("r/app"), None, None).is_err());
        assert!(resolve_image(None, Some("1"), None).is_err());
    }

    #[test]
    fn output_refs_resolve_by_index_and_key() {
        let mut outputs = serde_json::Map::new();
        outputs.insert(
            "listeners".into(),
            json!({"Listeners": [{"Port": 80, "ListenerArn": "a80"}, {"Port": 443, "ListenerArn": "a443"}]}),
        );
        outputs.insert(
            "tg".into(),
            json!({"TargetGroups": [{"TargetGroupArn": "tg-arn"}]}),
        );
        let mut v = json!({
            "ListenerArn": "${listeners.Listeners[Port=443].ListenerArn}",
            "Actions": [{"TargetGroupArn": "${tg.TargetGroups[0].TargetGroupArn}"}],
            "Other": "${missing.X}",
            "Plain": "$literal"
        });
        let unresolved = resolve_output_refs(&mut v, &outputs);
        assert_eq!(v["ListenerArn"], json!("a443"));
        assert_eq!(v["Actions"][0]["TargetGroupArn"], json!("tg-arn"));
        assert_eq!(unresolved, vec!["${missing.X}".to_string()]);
        assert_eq!(v["Plain"], json!("$literal"));
    }
}
