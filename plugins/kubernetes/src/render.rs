//! Rendering a valid `MicroserviceKubernetes` or `KubernetesDeployment` manifest into
//! Kubernetes objects.
//!
//! Output, in apply order: Namespace (always for `MicroserviceKubernetes`; with
//! `createNamespace: true` for `KubernetesDeployment`), ServiceAccount, ConfigMaps
//! (`KubernetesDeployment`'s `configMaps`, each named `<name>-<key>` as upstream names them),
//! Secret (when there are env secrets), Service (when there are ports), Deployment,
//! HorizontalPodAutoscaler (when enabled), PodDisruptionBudget (when enabled), Ingress (when
//! enabled; to the last port marked `isIngressPort`, as upstream).
//!
//! A `KubernetesDeployment` is first read into the `MicroserviceKubernetes` shape (env values
//! as strings, `volumeMounts` as volumes with their sources) plus what only it has
//! ([`Shape`]), so both kinds go through one render. Its `{secretRef: {name, key}}` secrets
//! become `secretKeyRef`s to that existing Secret; a `valueFrom` reference (env variable or
//! namespace) stops the render with an "unresolved reference" error naming the field.
//! Rendering is a pure function of the manifest and the context: map keys come out in a fixed
//! order and env entries sorted by name, so the same input always gives the same bytes.
//!
//! Secret values never pass through here. The Secret object's `stringData` holds the
//! manifest's `$secrets-group/<group>/<entry>` references verbatim and carries the annotation
//! [`SECRET_REFERENCES_ANNOTATION`]; the host replaces each reference by its resolved value
//! just before applying, and never shows the resolved object.
//! `$variables-group` references in env variables are likewise left for the host to resolve.

use crate::validate::{APP_CONTAINER, ingress_ports, is_dns_label, is_label_value};
use crate::{DEPLOYMENT_KIND, KIND, NAMESPACE_LABEL, is_deployment_kind};
use planton_plugin_sdk::protojson::{self, ValueOrRef, value_or_ref};
use planton_plugin_sdk::schema::{int_value, number_value};
use planton_plugin_sdk::{DeployContext, PluginError, RenderRequest, RenderResponse, pointer};
use serde_json::{Map, Value, json};

/// Annotation on the rendered Secret: its `stringData` values are unresolved references.
pub const SECRET_REFERENCES_ANNOTATION: &str = "planton.ai/secret-references";

/// Value of `app.kubernetes.io/managed-by` on every rendered object.
pub const MANAGED_BY: &str = "planton";

/// Requests and limits used when the manifest has no `resources` at all (upstream defaults).
const DEFAULT_RESOURCES: (&str, &str, &str, &str) = ("1000m", "1Gi", "50m", "100Mi");

/// What a kind decides beyond the `MicroserviceKubernetes` shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shape {
    /// The `planton.ai/kind` label value.
    pub kind: &'static str,
    /// The target namespace.
    pub namespace: String,
    /// Whether to render the Namespace object.
    pub create_namespace: bool,
    /// The ingress host, when the ingress is enabled.
    pub ingress_host: Option<String>,
    /// ConfigMaps to render: (key, content); each is named `<name>-<key>`.
    pub config_maps: Vec<(String, String)>,
    /// Env entries taken from existing Secrets: (env name, Secret name, key).
    pub secret_refs: Vec<(String, String, String)>,
    /// The app container's `command` and `args`.
    pub command: Vec<String>,
    /// See [`Shape::command`].
    pub args: Vec<String>,
}

/// The objects for a manifest (either kind, camelCase field names) that has already passed
/// validation.
pub fn render(req: &RenderRequest) -> Result<RenderResponse, PluginError> {
    if is_deployment_kind(&req.manifest) {
        let (m, shape) = deployment_shape(&req.manifest, &req.context)?;
        return render_shaped(&m, &req.context, &shape);
    }
    let m = &req.manifest;
    let namespace = namespace(m, &req.context)?;
    let ingress_host = if pointer::get(m, &["spec", "ingress", "enabled"]).and_then(Value::as_bool)
        == Some(true)
    {
        let domain = str_at(m, &["spec", "ingress", "dnsDomain"])
            .ok_or_else(|| PluginError::new("ingress is enabled without dnsDomain"))?;
        Some(format!("{namespace}.{domain}"))
    } else {
        None
    };
    let shape = Shape {
        kind: KIND,
        namespace,
        create_namespace: true,
        ingress_host,
        ..Shape::default()
    };
    render_shaped(m, &req.context, &shape)
}

/// A `KubernetesDeployment` read into the `MicroserviceKubernetes` shape, and its [`Shape`].
pub fn deployment_shape(m: &Value, ctx: &DeployContext) -> Result<(Value, Shape), PluginError> {
    let mut out = m.clone();
    let namespace = match ctx.namespace.as_deref().filter(|s| !s.is_empty()) {
        Some(ns) => ns.to_string(),
        None => match value_or_ref(pointer::get(m, &["spec", "namespace"])) {
            ValueOrRef::Literal(ns) => ns.to_string(),
            ValueOrRef::From(f) => {
                return Err(protojson::unresolved_reference("/spec/namespace", f));
            }
            ValueOrRef::Absent => return Err(PluginError::new("spec.namespace is required")),
        },
    };
    if !is_dns_label(&namespace) {
        return Err(PluginError::new(format!(
            "namespace {namespace:?} is not a DNS-1123 label"
        )));
    }
    let mut shape = Shape {
        kind: DEPLOYMENT_KIND,
        namespace,
        create_namespace: pointer::get(m, &["spec", "createNamespace"]).and_then(Value::as_bool)
            == Some(true),
        config_maps: sorted_map(pointer::get(m, &["spec", "configMaps"])),
        ..Shape::default()
    };
    if pointer::get(m, &["spec", "ingress", "enabled"]).and_then(Value::as_bool) == Some(true) {
        shape.ingress_host = Some(
            str_at(m, &["spec", "ingress", "hostname"])
                .ok_or_else(|| PluginError::new("ingress is enabled without hostname"))?
                .to_string(),
        );
    }
    let strings = |key: &str| -> Vec<String> {
        pointer::get(m, &["spec", "container", "app", key])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    shape.command = strings("command");
    shape.args = strings("args");

    let env = pointer::get(m, &["spec", "container", "app", "env"]);
    let mut variables = Map::new();
    for (k, v) in env
        .and_then(|e| e.get("variables"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match v {
            Value::String(s) => {
                variables.insert(k.clone(), json!(s));
            }
            _ => match value_or_ref(Some(v)) {
                ValueOrRef::From(f) => {
                    return Err(protojson::unresolved_reference(
                        &format!("/spec/container/app/env/variables/{}", pointer::escape(k)),
                        f,
                    ));
                }
                _ => {
                    let s = v.get("value").and_then(Value::as_str).unwrap_or_default();
                    variables.insert(k.clone(), json!(s));
                }
            },
        }
    }
    let mut secrets = Map::new();
    for (k, v) in env
        .and_then(|e| e.get("secrets"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(r) = v.get("secretRef").filter(|r| r.is_object()) {
            let field = |f: &str| {
                r.get(f)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            shape
                .secret_refs
                .push((k.clone(), field("name"), field("key")));
        } else if let Some(s) = v
            .as_str()
            .or_else(|| v.get("value").and_then(Value::as_str))
        {
            secrets.insert(k.clone(), json!(s));
        }
    }
    let volumes: Vec<Value> = pointer::get(m, &["spec", "container", "app", "volumeMounts"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|vm| {
            let mut v = Map::new();
            for k in ["name", "mountPath", "readOnly", "subPath"] {
                if let Some(x) = vm.get(k) {
                    v.insert(k.into(), x.clone());
                }
            }
            v.insert("spec".into(), volume_source(vm));
            Value::Object(v)
        })
        .collect();
    if let Some(app) = out
        .pointer_mut("/spec/container/app")
        .and_then(Value::as_object_mut)
    {
        app.insert(
            "env".into(),
            obj([
                ("variables", Value::Object(variables)),
                ("secrets", Value::Object(secrets)),
            ]),
        );
        app.shift_remove("volumeMounts");
        if !volumes.is_empty() {
            app.insert("volumes".into(), Value::Array(volumes));
        }
    }
    Ok((out, shape))
}

/// The pod volume source of a `KubernetesDeployment` volume mount, as upstream builds it
/// (`{}` when none is given: an emptyDir).
fn volume_source(vm: &Value) -> Value {
    let keyed = |src: &Value, name_field: &str| {
        let mut o = Map::new();
        o.insert(
            name_field.into(),
            src.get("name").cloned().unwrap_or(Value::Null),
        );
        if let Some(key) = src
            .get("key")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            let path = src
                .get("path")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(key);
            o.insert("items".into(), json!([{ "key": key, "path": path }]));
        }
        if let Some(mode) = src
            .get("defaultMode")
            .and_then(int_value)
            .filter(|m| *m > 0)
        {
            o.insert("defaultMode".into(), json!(mode));
        }
        Value::Object(o)
    };
    let nonempty = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(c) = vm.get("configMap").filter(|v| v.is_object()) {
        obj([("configMap", keyed(c, "name"))])
    } else if let Some(c) = vm.get("secret").filter(|v| v.is_object()) {
        obj([("secret", keyed(c, "secretName"))])
    } else if let Some(h) = vm.get("hostPath").filter(|v| v.is_object()) {
        let mut o = Map::new();
        o.insert("path".into(), h.get("path").cloned().unwrap_or(Value::Null));
        if let Some(t) = nonempty(h, "type") {
            o.insert("type".into(), json!(t));
        }
        obj([("hostPath", Value::Object(o))])
    } else if let Some(e) = vm.get("emptyDir").filter(|v| v.is_object()) {
        let mut o = Map::new();
        for k in ["medium", "sizeLimit"] {
            if let Some(x) = nonempty(e, k) {
                o.insert(k.into(), json!(x));
            }
        }
        obj([("emptyDir", Value::Object(o))])
    } else if let Some(p) = vm.get("pvc").filter(|v| v.is_object()) {
        let mut o = Map::new();
        o.insert(
            "claimName".into(),
            p.get("claimName").cloned().unwrap_or(Value::Null),
        );
        if p.get("readOnly").and_then(Value::as_bool) == Some(true) {
            o.insert("readOnly".into(), json!(true));
        }
        obj([("persistentVolumeClaim", Value::Object(o))])
    } else {
        json!({})
    }
}

/// The objects for a manifest in the `MicroserviceKubernetes` shape, as `shape` says.
fn render_shaped(
    m: &Value,
    ctx: &DeployContext,
    shape: &Shape,
) -> Result<RenderResponse, PluginError> {
    let name = str_at(m, &["metadata", "name"])
        .ok_or_else(|| PluginError::new("metadata.name is required"))?
        .to_string();
    let namespace = shape.namespace.as_str();
    let labels = labels(m, ctx, &name, shape.kind)?;
    let selector = || obj([("app.kubernetes.io/name", string(&name))]);
    let empty = Value::Object(Map::new());
    let app = pointer::get(m, &["spec", "container", "app"]).unwrap_or(&empty);
    let image = image(app, ctx)?;
    let meta = |obj_name: &str| {
        obj([
            ("name", string(obj_name)),
            ("namespace", string(namespace)),
            ("labels", Value::Object(labels.clone())),
        ])
    };
    // `apiVersion`, `kind`, `metadata`, then the object's own fields.
    let object = |api_version: &str, kind: &str, metadata: Value, rest: Vec<(&str, Value)>| {
        let mut o = Map::with_capacity(3 + rest.len());
        o.insert("apiVersion".into(), string(api_version));
        o.insert("kind".into(), string(kind));
        o.insert("metadata".into(), metadata);
        for (k, v) in rest {
            o.insert(k.into(), v);
        }
        Value::Object(o)
    };

    let mut objects = Vec::new();
    if shape.create_namespace {
        let md = obj([
            ("name", string(namespace)),
            ("labels", Value::Object(labels.clone())),
        ]);
        objects.push(object("v1", "Namespace", md, vec![]));
    }
    objects.push(object("v1", "ServiceAccount", meta(&name), vec![]));
    for (key, content) in &shape.config_maps {
        let data = obj([(key.as_str(), string(content))]);
        objects.push(object(
            "v1",
            "ConfigMap",
            meta(&format!("{name}-{key}")),
            vec![("data", data)],
        ));
    }

    let secrets = sorted_map(pointer::get(app, &["env", "secrets"]));
    let secret_name = format!("{name}-secrets");
    if !secrets.is_empty() {
        let mut md = meta(&secret_name);
        md["annotations"] = obj([(SECRET_REFERENCES_ANNOTATION, string("true"))]);
        let data: Map<String, Value> = secrets
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        objects.push(object(
            "v1",
            "Secret",
            md,
            vec![
                ("type", string("Opaque")),
                ("stringData", Value::Object(data)),
            ],
        ));
    }

    let ports: &[Value] = app
        .get("ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !ports.is_empty() {
        let service_ports: Vec<Value> = ports
            .iter()
            .map(|p| {
                let mut sp = Map::new();
                sp.insert("name".into(), p.get("name").cloned().unwrap_or(Value::Null));
                sp.insert(
                    "protocol".into(),
                    string(
                        p.get("networkProtocol")
                            .and_then(Value::as_str)
                            .unwrap_or("TCP"),
                    ),
                );
                if let Some(ap) = p.get("appProtocol").and_then(Value::as_str) {
                    sp.insert("appProtocol".into(), string(ap));
                }
                sp.insert(
                    "port".into(),
                    json!(p.get("servicePort").and_then(int_value)),
                );
                sp.insert(
                    "targetPort".into(),
                    json!(p.get("containerPort").and_then(int_value)),
                );
                Value::Object(sp)
            })
            .collect();
        let spec = obj([
            ("type", string("ClusterIP")),
            ("selector", selector()),
            ("ports", Value::Array(service_ports)),
        ]);
        objects.push(object("v1", "Service", meta(&name), vec![("spec", spec)]));
    }

    let availability = pointer::get(m, &["spec", "availability"]).unwrap_or(&empty);
    let min_replicas = availability
        .get("minReplicas")
        .and_then(int_value)
        .unwrap_or(1);
    let mut deployment_spec = Map::new();
    deployment_spec.insert("replicas".into(), json!(min_replicas));
    deployment_spec.insert("selector".into(), obj([("matchLabels", selector())]));
    if let Some(ds) = availability
        .get("deploymentStrategy")
        .filter(|v| v.is_object())
    {
        let mut ru = Map::new();
        for k in ["maxUnavailable", "maxSurge"] {
            if let Some(v) = ds.get(k).and_then(int_or_percent) {
                ru.insert(k.into(), v);
            }
        }
        deployment_spec.insert(
            "strategy".into(),
            obj([
                ("type", string("RollingUpdate")),
                ("rollingUpdate", Value::Object(ru)),
            ]),
        );
    }
    deployment_spec.insert(
        "template".into(),
        obj([
            ("metadata", obj([("labels", Value::Object(labels.clone()))])),
            ("spec", pod_spec(&name, app, &image, &secret_name, m, shape)),
        ]),
    );
    objects.push(object(
        "apps/v1",
        "Deployment",
        meta(&name),
        vec![("spec", Value::Object(deployment_spec))],
    ));

    if let Some(hpa) = availability.get("horizontalPodAutoscaling")
        && hpa.get("isEnabled").and_then(Value::as_bool) == Some(true)
    {
        let max = hpa
            .get("maxReplicas")
            .and_then(int_value)
            .unwrap_or(min_replicas.max(1) * 2);
        let mut metrics = Vec::new();
        let cpu = hpa
            .get("targetCpuUtilizationPercent")
            .and_then(number_value)
            .or_else(|| {
                hpa.get("targetCpuUtilizationPercentage")
                    .and_then(number_value)
            });
        let memory = hpa
            .get("targetMemoryUtilization")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if cpu.is_some() || memory.is_none() {
            let pct = cpu.unwrap_or(80.0).round() as i64;
            metrics.push(json!({ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": pct } } }));
        }
        if let Some(mem) = memory {
            metrics.push(json!({ "type": "Resource", "resource": { "name": "memory", "target": { "type": "AverageValue", "averageValue": mem } } }));
        }
        let spec = obj([
            (
                "scaleTargetRef",
                json!({ "apiVersion": "apps/v1", "kind": "Deployment", "name": name }),
            ),
            ("minReplicas", Value::from(min_replicas.max(1))),
            ("maxReplicas", Value::from(max)),
            ("metrics", Value::Array(metrics)),
        ]);
        objects.push(object(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            meta(&name),
            vec![("spec", spec)],
        ));
    }

    if let Some(pdb) = availability.get("podDisruptionBudget")
        && pdb.get("enabled").and_then(Value::as_bool) == Some(true)
    {
        let mut spec = Map::new();
        spec.insert("selector".into(), obj([("matchLabels", selector())]));
        match (
            pdb.get("minAvailable").and_then(int_or_percent),
            pdb.get("maxUnavailable").and_then(int_or_percent),
        ) {
            (_, Some(max)) => spec.insert("maxUnavailable".into(), max),
            (Some(min), None) => spec.insert("minAvailable".into(), min),
            (None, None) => spec.insert("minAvailable".into(), json!(1)),
        };
        objects.push(object(
            "policy/v1",
            "PodDisruptionBudget",
            meta(&name),
            vec![("spec", Value::Object(spec))],
        ));
    }

    if let Some(host) = &shape.ingress_host {
        let port = ingress_ports(ports)
            .last()
            .and_then(|&i| ports[i].get("servicePort").and_then(int_value))
            .ok_or_else(|| {
                PluginError::new("ingress is enabled but no port has isIngressPort: true")
            })?;
        let spec = json!({ "rules": [ {
            "host": host,
            "http": { "paths": [ {
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": name, "port": { "number": port } } }
            } ] }
        } ] });
        objects.push(object(
            "networking.k8s.io/v1",
            "Ingress",
            meta(&name),
            vec![("spec", spec)],
        ));
    }

    Ok(RenderResponse { objects })
}

/// An object with these members, in this order (the values are moved, not re-serialized as
/// `json!` would).
fn obj<const N: usize>(members: [(&str, Value); N]) -> Value {
    let mut o = Map::with_capacity(N);
    for (k, v) in members {
        o.insert(k.to_string(), v);
    }
    Value::Object(o)
}

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

fn str_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    pointer::get(v, keys)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The namespace: the context's, else the namespace label, else `metadata.name`.
fn namespace(m: &Value, ctx: &DeployContext) -> Result<String, PluginError> {
    let label = pointer::get(m, &["metadata", "labels"])
        .and_then(|l| l.get(NAMESPACE_LABEL))
        .and_then(Value::as_str);
    let ns = ctx
        .namespace
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(label.filter(|s| !s.is_empty()))
        .or_else(|| str_at(m, &["metadata", "name"]))
        .unwrap_or_default();
    if !is_dns_label(ns) {
        return Err(PluginError::new(format!(
            "namespace {ns:?} is not a DNS-1123 label"
        )));
    }
    Ok(ns.to_string())
}

fn labels(
    m: &Value,
    ctx: &DeployContext,
    name: &str,
    kind: &str,
) -> Result<Map<String, Value>, PluginError> {
    let mut l = Map::new();
    l.insert("app.kubernetes.io/name".into(), json!(name));
    l.insert("app.kubernetes.io/managed-by".into(), json!(MANAGED_BY));
    l.insert("planton.ai/name".into(), json!(name));
    l.insert("planton.ai/kind".into(), json!(kind));
    let env = str_at(m, &["metadata", "env"]).or(ctx.env.as_deref().filter(|s| !s.is_empty()));
    for (key, value) in [
        ("planton.ai/id", str_at(m, &["metadata", "id"])),
        ("planton.ai/organization", str_at(m, &["metadata", "org"])),
        ("planton.ai/environment", env),
    ] {
        if let Some(v) = value {
            if !is_label_value(v) {
                return Err(PluginError::new(format!(
                    "{v:?} is not a valid value for label {key}"
                )));
            }
            l.insert(key.into(), json!(v));
        }
    }
    Ok(l)
}

/// The image reference: the spec's repo and tag, overridden or completed by the build's.
fn image(app: &Value, ctx: &DeployContext) -> Result<String, PluginError> {
    planton_plugin_sdk::resolve_image(
        pointer::get(app, &["image", "repo"]).and_then(Value::as_str),
        pointer::get(app, &["image", "tag"]).and_then(Value::as_str),
        ctx.image.as_deref(),
    )
}

fn sorted_map(v: Option<&Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `2`, `"2"` → `2`; `"25%"` → `"25%"`; anything else → `None`.
fn int_or_percent(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if s.ends_with('%') => Some(json!(s)),
        Value::String(s) if s.is_empty() => None,
        other => int_value(other).map(|i| json!(i)),
    }
}

fn pod_spec(
    name: &str,
    app: &Value,
    image: &str,
    secret_name: &str,
    m: &Value,
    shape: &Shape,
) -> Value {
    let mut spec = Map::new();
    spec.insert("serviceAccountName".into(), json!(name));
    if let Some(ps) = pointer::get(app, &["image", "pullSecretName"])
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        spec.insert("imagePullSecrets".into(), json!([{ "name": ps }]));
    }
    let mut containers = vec![app_container(app, image, secret_name, shape)];
    for s in pointer::get(m, &["spec", "container", "sidecars"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        containers.push(sidecar(s));
    }
    spec.insert("containers".into(), Value::Array(containers));
    let volumes: Vec<Value> = app
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            let mut vol = Map::new();
            vol.insert("name".into(), v.get("name").cloned().unwrap_or(Value::Null));
            match v
                .get("spec")
                .and_then(Value::as_object)
                .filter(|o| !o.is_empty())
            {
                Some(source) => vol.extend(source.clone()),
                None => {
                    vol.insert("emptyDir".into(), json!({}));
                }
            }
            Value::Object(vol)
        })
        .collect();
    if !volumes.is_empty() {
        spec.insert("volumes".into(), Value::Array(volumes));
    }
    Value::Object(spec)
}

fn app_container(app: &Value, image: &str, secret_name: &str, shape: &Shape) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), json!(APP_CONTAINER));
    c.insert("image".into(), json!(image));
    if !shape.command.is_empty() {
        c.insert("command".into(), json!(shape.command));
    }
    if !shape.args.is_empty() {
        c.insert("args".into(), json!(shape.args));
    }
    let ports: Vec<Value> = app
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            json!({
                "name": p.get("name"),
                "containerPort": p.get("containerPort").and_then(int_value),
                "protocol": p.get("networkProtocol").and_then(Value::as_str).unwrap_or("TCP"),
            })
        })
        .collect();
    if !ports.is_empty() {
        c.insert("ports".into(), Value::Array(ports));
    }
    let mut env: Vec<(String, Value)> = sorted_map(pointer::get(app, &["env", "variables"]))
        .into_iter()
        .map(|(k, v)| {
            let entry = obj([("name", string(&k)), ("value", Value::String(v))]);
            (k, entry)
        })
        .collect();
    env.extend(sorted_map(pointer::get(app, &["env", "secrets"])).into_iter().map(|(k, _)| {
        let entry = json!({ "name": k, "valueFrom": { "secretKeyRef": { "name": secret_name, "key": k } } });
        (k, entry)
    }));
    env.extend(shape.secret_refs.iter().map(|(k, secret, key)| {
        let entry =
            json!({ "name": k, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } });
        (k.clone(), entry)
    }));
    env.sort_by(|a, b| a.0.cmp(&b.0));
    if !env.is_empty() {
        c.insert(
            "env".into(),
            Value::Array(env.into_iter().map(|(_, v)| v).collect()),
        );
    }
    c.insert("resources".into(), resources(app.get("resources"), true));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = app.get(probe).filter(|p| p.is_object()) {
            c.insert(probe.into(), render_probe(p));
        }
    }
    let mounts: Vec<Value> = app
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            let mut mnt = Map::new();
            mnt.insert("name".into(), v.get("name").cloned().unwrap_or(Value::Null));
            mnt.insert(
                "mountPath".into(),
                v.get("mountPath").cloned().unwrap_or(Value::Null),
            );
            if v.get("readOnly").and_then(Value::as_bool) == Some(true) {
                mnt.insert("readOnly".into(), json!(true));
            }
            if let Some(sp) = v
                .get("subPath")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                mnt.insert("subPath".into(), json!(sp));
            }
            Value::Object(mnt)
        })
        .collect();
    if !mounts.is_empty() {
        c.insert("volumeMounts".into(), Value::Array(mounts));
    }
    Value::Object(c)
}

fn resources(r: Option<&Value>, with_defaults: bool) -> Value {
    let Some(r) = r.filter(|r| r.is_object()) else {
        if with_defaults {
            let (lc, lm, rc, rm) = DEFAULT_RESOURCES;
            return json!({ "limits": { "cpu": lc, "memory": lm }, "requests": { "cpu": rc, "memory": rm } });
        }
        return json!({});
    };
    let mut out = Map::new();
    for kind in ["limits", "requests"] {
        let mut cm = Map::new();
        for res in ["cpu", "memory"] {
            if let Some(q) = r
                .get(kind)
                .and_then(|k| k.get(res))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                cm.insert(res.into(), json!(q));
            }
        }
        if !cm.is_empty() {
            out.insert(kind.into(), Value::Object(cm));
        }
    }
    Value::Object(out)
}

fn render_probe(p: &Value) -> Value {
    let mut out = Map::new();
    let port = |a: &Value| match a.get("portNumber").and_then(int_value) {
        Some(n) => json!(n),
        None => a.get("portName").cloned().unwrap_or(Value::Null),
    };
    if let Some(h) = p.get("httpGet").filter(|v| v.is_object()) {
        let mut g = Map::new();
        for k in ["path", "host", "scheme"] {
            if let Some(v) = h.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                g.insert(k.into(), json!(v));
            }
        }
        g.insert("port".into(), port(h));
        if let Some(hs) = h
            .get("httpHeaders")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            g.insert("httpHeaders".into(), json!(hs));
        }
        out.insert("httpGet".into(), Value::Object(g));
    }
    if let Some(g) = p.get("grpc").filter(|v| v.is_object()) {
        let mut o = Map::new();
        o.insert("port".into(), json!(g.get("port").and_then(int_value)));
        if let Some(s) = g
            .get("service")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            o.insert("service".into(), json!(s));
        }
        out.insert("grpc".into(), Value::Object(o));
    }
    if let Some(t) = p.get("tcpSocket").filter(|v| v.is_object()) {
        let mut o = Map::new();
        if let Some(h) = t
            .get("host")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            o.insert("host".into(), json!(h));
        }
        o.insert("port".into(), port(t));
        out.insert("tcpSocket".into(), Value::Object(o));
    }
    if let Some(e) = p.get("exec").filter(|v| v.is_object()) {
        out.insert(
            "exec".into(),
            json!({ "command": e.get("command").cloned().unwrap_or_else(|| json!([])) }),
        );
    }
    for k in [
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        if let Some(v) = p.get(k).and_then(int_value) {
            out.insert(k.into(), json!(v));
        }
    }
    Value::Object(out)
}

fn sidecar(s: &Value) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), s.get("name").cloned().unwrap_or(Value::Null));
    c.insert(
        "image".into(),
        s.get("image").cloned().unwrap_or(Value::Null),
    );
    let ports: Vec<Value> = s
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let mut o = Map::new();
            if let Some(n) = p
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                o.insert("name".into(), json!(n));
            }
            o.insert(
                "containerPort".into(),
                json!(p.get("containerPort").and_then(int_value)),
            );
            o.insert(
                "protocol".into(),
                json!(p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")),
            );
            Value::Object(o)
        })
        .collect();
    if !ports.is_empty() {
        c.insert("ports".into(), Value::Array(ports));
    }
    let env: Vec<Value> = s
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| json!({ "name": e.get("name"), "value": e.get("value").and_then(Value::as_str).unwrap_or("") }))
        .collect();
    if !env.is_empty() {
        c.insert("env".into(), Value::Array(env));
    }
    let r = resources(s.get("resources"), false);
    if r.as_object().is_some_and(|o| !o.is_empty()) {
        c.insert("resources".into(), r);
    }
    Value::Object(c)
}
