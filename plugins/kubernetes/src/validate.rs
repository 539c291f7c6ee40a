//! Validation of a `MicroserviceKubernetes` manifest: the schema, then the rules a schema
//! cannot express, all reported at once.
//!
//! The cross-field rules read the manifest leniently: a value of the wrong type has already
//! been reported by the schema check and is simply skipped here, so one mistake yields one
//! diagnostic. Rule codes are listed in the crate documentation.

use crate::{NAMESPACE_LABEL, is_deployment_kind, quantity, schema_for};
use planton_plugin_sdk::protojson::{self, ValueOrRef, value_or_ref};
use planton_plugin_sdk::schema::{self as checker, int_value};
use planton_plugin_sdk::{Diagnostic, ValidateRequest, pointer, refs};
use serde_json::{Map, Value};

/// The name of the app container in the rendered Deployment (as upstream names it).
pub const APP_CONTAINER: &str = "microservice";

/// Every problem in the request's manifest, schema problems first, then rule problems.
///
/// Fields written under their proto names (`container_port`) are read as their camelCase
/// names with a warning, and every diagnostic points at the field as written.
pub fn validate(req: &ValidateRequest) -> Vec<Diagnostic> {
    validate_manifest(&req.manifest, req.local).0
}

/// [`validate`], and the manifest with its field names in camelCase (what `render` reads)
/// when that differs from `manifest`; `None` when `manifest` already is (no copy is made).
pub fn validate_manifest(manifest: &Value, local: bool) -> (Vec<Diagnostic>, Option<Value>) {
    if !protojson::has_proto_names(manifest) {
        return (validate_normalized(manifest, local), None);
    }
    let normalized = protojson::normalize_field_names(schema_for(manifest), manifest);
    let diagnostics = validate_normalized(&normalized.value, local);
    (normalized.restore(diagnostics), Some(normalized.value))
}

/// [`validate`] for a manifest whose field names are already camelCase.
pub fn validate_normalized(m: &Value, local: bool) -> Vec<Diagnostic> {
    let deployment = is_deployment_kind(m);
    let mut out = checker::compiled(schema_for(m)).check(
        m,
        checker::CheckOptions {
            protojson_scalars: true,
        },
    );
    if !m.is_object() {
        return out;
    }
    // Upstream's `min_len: 1`. The local overlay is never deployed, and the seed's own local
    // overlay removes the version, so there it may be missing.
    if !local
        && m.get("spec").is_some_and(Value::is_object)
        && pointer::get(m, &["spec", "version"]).is_none_or(Value::is_null)
    {
        out.push(Diagnostic::error(
            "version-required",
            "/spec/version",
            "spec.version is required, e.g. main or review-42",
        ));
    }
    metadata_rules(m, &mut out);
    let app = pointer::get(m, &["spec", "container", "app"]);
    if let Some(app) = app {
        const APP: &str = "/spec/container/app";
        resources_rule(
            app.get("resources"),
            &pointer::child(APP, "resources"),
            &mut out,
        );
        port_rules(app, &mut out);
        if let Some(env) = app.get("env") {
            let at = pointer::child(APP, "env");
            if deployment {
                deployment_env_rules(m, env, &at, local, &mut out);
            } else {
                out.extend(refs::check_env(env, &at, local, &|_| false));
            }
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if let Some(p) = app.get(probe).filter(|p| p.is_object()) {
                probe_rules(probe, p, app, &pointer::child(APP, probe), &mut out);
            }
        }
        if deployment {
            volume_mount_rules(app, &mut out);
        } else {
            volume_rules(app, &mut out);
        }
    }
    sidecar_rules(m, &mut out);
    if deployment {
        deployment_rules(m, app, &mut out);
    } else {
        ingress_rules(m, app, &mut out);
    }
    availability_rules(m, deployment, &mut out);
    out
}

/// The env rules of [`refs::check_env`] on a `KubernetesDeployment`'s object-valued env:
/// `{value}` and plain strings are checked as values (the diagnostic points at the string),
/// `{valueFrom}` and `{secretRef}` are references and pass.
fn deployment_env_rules(m: &Value, env: &Value, at: &str, local: bool, out: &mut Vec<Diagnostic>) {
    let mut view = Map::new();
    let mut object_form: Vec<String> = Vec::new();
    for map in ["variables", "secrets"] {
        let Some(entries) = env.get(map).and_then(Value::as_object) else {
            continue;
        };
        let mut strings = Map::new();
        for (name, v) in entries {
            match v {
                Value::String(s) => {
                    strings.insert(name.clone(), Value::String(s.clone()));
                }
                Value::Object(o) => {
                    if let Some(s) = o.get("value").and_then(Value::as_str) {
                        strings.insert(name.clone(), Value::String(s.to_string()));
                        object_form.push(pointer::child(&pointer::child(at, map), name));
                    }
                    if let Some(ns) =
                        pointer::get(v, &["secretRef", "namespace"]).and_then(Value::as_str)
                        && !ns.is_empty()
                        && let ValueOrRef::Literal(own) =
                            value_or_ref(pointer::get(m, &["spec", "namespace"]))
                        && ns != own
                    {
                        out.push(Diagnostic::warning(
                            "secret-ref-namespace-mismatch",
                            format!("{}/secretRef/namespace", pointer::child(&pointer::child(at, map), name)),
                            format!("a pod reads Secrets of its own namespace only: the Secret is read from {own:?}, not {ns:?} (upstream ignores this field too)"),
                        ));
                    }
                }
                _ => {}
            }
        }
        view.insert(map.to_string(), Value::Object(strings));
    }
    for mut d in refs::check_env(&Value::Object(view), at, local, &|_| false) {
        if object_form.contains(&d.path) {
            d.path = pointer::child(&d.path, "value");
        }
        out.push(d);
    }
}

/// `KubernetesDeployment` rules on the namespace and the ingress.
fn deployment_rules(m: &Value, app: Option<&Value>, out: &mut Vec<Diagnostic>) {
    let ns = pointer::get(m, &["spec", "namespace"]);
    if let ValueOrRef::Literal(v) = value_or_ref(ns)
        && !is_dns_label(v)
    {
        let path = if ns.is_some_and(Value::is_object) {
            "/spec/namespace/value"
        } else {
            "/spec/namespace"
        };
        out.push(Diagnostic::error(
            "namespace-invalid",
            path,
            format!("namespace {v:?} must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters)"),
        ));
    }
    let Some(ingress) = pointer::get(m, &["spec", "ingress"]) else {
        return;
    };
    if ingress.get("enabled").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if ingress
        .get("hostname")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        out.push(Diagnostic::error(
            "ingress-hostname-required",
            "/spec/ingress/hostname",
            "hostname is required when ingress is enabled",
        ));
    }
    if let Some(app) = app
        && ingress_ports(ports(app)).is_empty()
    {
        out.push(Diagnostic::error(
            "ingress-port-required",
            "/spec/container/app/ports",
            "ingress is enabled but no port has isIngressPort: true",
        ));
    }
}

/// `KubernetesDeployment` volume mounts: unique names and paths, at most one source each.
fn volume_mount_rules(app: &Value, out: &mut Vec<Diagnostic>) {
    let Some(mounts) = app.get("volumeMounts").and_then(Value::as_array) else {
        return;
    };
    unique_fields(mounts, "/spec/container/app/volumeMounts", out);
    for (i, v) in mounts.iter().enumerate() {
        let sources: Vec<&str> = ["configMap", "secret", "hostPath", "emptyDir", "pvc"]
            .into_iter()
            .filter(|s| v.get(*s).is_some_and(|x| !x.is_null()))
            .collect();
        if sources.len() > 1 {
            out.push(Diagnostic::error(
                "volume-source-multiple",
                format!("/spec/container/app/volumeMounts/{i}/{}", sources[1]),
                format!(
                    "a volume mount takes one source, found {}",
                    sources.join(", ")
                ),
            ));
        }
    }
}

fn metadata_rules(m: &Value, out: &mut Vec<Diagnostic>) {
    // Values that become label values on every rendered object.
    for field in ["id", "org", "env"] {
        if let Some(v) = m
            .get("metadata")
            .and_then(|md| md.get(field))
            .and_then(Value::as_str)
            && !is_label_value(v)
        {
            out.push(Diagnostic::error(
                "metadata-label-value-invalid",
                format!("/metadata/{field}"),
                format!("{v:?} is used as a Kubernetes label value: at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric"),
            ));
        }
    }
    if let Some(ns) = pointer::get(m, &["metadata", "labels"])
        .and_then(|l| l.get(NAMESPACE_LABEL))
        .and_then(Value::as_str)
        && !is_dns_label(ns)
    {
        out.push(Diagnostic::error(
            "namespace-label-invalid",
            pointer::child("/metadata/labels", NAMESPACE_LABEL),
            format!("namespace {ns:?} must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters)"),
        ));
    }
}

/// A valid Kubernetes label value.
pub fn is_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// A valid DNS-1123 label (namespace and object names).
pub fn is_dns_label(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

fn resources_rule(resources: Option<&Value>, path: &str, out: &mut Vec<Diagnostic>) {
    let Some(r) = resources else { return };
    for res in ["cpu", "memory"] {
        let req = r
            .get("requests")
            .and_then(|x| x.get(res))
            .and_then(Value::as_str);
        let lim = r
            .get("limits")
            .and_then(|x| x.get(res))
            .and_then(Value::as_str);
        if let (Some(req), Some(lim)) = (req, lim)
            && let (Some(rq), Some(lm)) = (quantity::parse(req), quantity::parse(lim))
            && rq > lm
        {
            out.push(Diagnostic::error(
                "resources-request-exceeds-limit",
                format!("{path}/requests/{res}"),
                format!("{res} request {req} exceeds the limit {lim}"),
            ));
        }
    }
}

fn ports(app: &Value) -> &[Value] {
    app.get("ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn port_rules(app: &Value, out: &mut Vec<Diagnostic>) {
    let ports = ports(app);
    let base = "/spec/container/app/ports";
    for (i, p) in ports.iter().enumerate() {
        let earlier = &ports[..i];
        if let Some(name) = p.get("name").and_then(Value::as_str)
            && earlier
                .iter()
                .any(|e| e.get("name").and_then(Value::as_str) == Some(name))
        {
            out.push(Diagnostic::error(
                "port-name-duplicate",
                format!("{base}/{i}/name"),
                format!("port name {name:?} is used by an earlier port"),
            ));
        }
        if let Some(cp) = p.get("containerPort").and_then(int_value) {
            let proto = |v: &Value| {
                v.get("networkProtocol")
                    .and_then(Value::as_str)
                    .unwrap_or("TCP")
                    .to_string()
            };
            if earlier.iter().any(|e| {
                e.get("containerPort").and_then(int_value) == Some(cp) && proto(e) == proto(p)
            }) {
                out.push(Diagnostic::error(
                    "port-container-port-duplicate",
                    format!("{base}/{i}/containerPort"),
                    format!("container port {cp} is used by an earlier port"),
                ));
            }
        }
        if let Some(sp) = p.get("servicePort").and_then(int_value) {
            let proto = |v: &Value| {
                v.get("networkProtocol")
                    .and_then(Value::as_str)
                    .unwrap_or("TCP")
                    .to_string()
            };
            if earlier.iter().any(|e| {
                e.get("servicePort").and_then(int_value) == Some(sp) && proto(e) == proto(p)
            }) {
                out.push(Diagnostic::error(
                    "port-service-port-duplicate",
                    format!("{base}/{i}/servicePort"),
                    format!("service port {sp} is used by an earlier port"),
                ));
            }
        }
    }
    // Upstream has no rule and routes the ingress to the last marked port; so does planton.
    let ingress: Vec<usize> = ingress_ports(ports);
    if let Some((&used, earlier)) = ingress.split_last() {
        for &i in earlier {
            out.push(Diagnostic::warning(
                "ingress-port-multiple",
                format!("{base}/{i}/isIngressPort"),
                format!("more than one port is the ingress port; the ingress uses the last one, port {used}, not this one"),
            ));
        }
    }
}

/// Indexes of the ports marked `isIngressPort: true`.
pub fn ingress_ports(ports: &[Value]) -> Vec<usize> {
    ports
        .iter()
        .enumerate()
        .filter(|(_, p)| p.get("isIngressPort").and_then(Value::as_bool) == Some(true))
        .map(|(i, _)| i)
        .collect()
}

fn probe_rules(which: &str, probe: &Value, app: &Value, path: &str, out: &mut Vec<Diagnostic>) {
    let handlers: Vec<&str> = ["httpGet", "grpc", "tcpSocket", "exec"]
        .into_iter()
        .filter(|h| probe.get(*h).is_some_and(|v| !v.is_null()))
        .collect();
    if handlers.len() != 1 {
        let msg = if handlers.is_empty() {
            "a probe needs exactly one handler: httpGet, grpc, tcpSocket or exec".to_string()
        } else {
            format!(
                "a probe needs exactly one handler, found {}",
                handlers.join(", ")
            )
        };
        out.push(Diagnostic::error(
            "probe-handler-count",
            path.to_string(),
            msg,
        ));
    }
    for h in ["httpGet", "tcpSocket"] {
        let Some(action) = probe.get(h).filter(|a| a.is_object()) else {
            continue;
        };
        let hp = pointer::child(path, h);
        let number = action.get("portNumber").is_some_and(|v| !v.is_null());
        let name = action.get("portName").and_then(Value::as_str);
        if number == name.is_some() {
            out.push(Diagnostic::error(
                "probe-port-invalid",
                hp.clone(),
                "set exactly one of portNumber and portName",
            ));
        }
        if let Some(name) = name
            && !ports(app)
                .iter()
                .any(|p| p.get("name").and_then(Value::as_str) == Some(name))
        {
            out.push(Diagnostic::error(
                "probe-port-name-unknown",
                pointer::child(&hp, "portName"),
                format!("no port of the app container is named {name:?}"),
            ));
        }
    }
    if which != "readinessProbe"
        && let Some(st) = probe.get("successThreshold").and_then(int_value)
        && st != 1
    {
        out.push(Diagnostic::error(
            "probe-success-threshold-not-one",
            pointer::child(path, "successThreshold"),
            format!("successThreshold must be 1 for a {which}"),
        ));
    }
}

fn volume_rules(app: &Value, out: &mut Vec<Diagnostic>) {
    let Some(vols) = app.get("volumes").and_then(Value::as_array) else {
        return;
    };
    unique_fields(vols, "/spec/container/app/volumes", out);
}

/// `volume-name-duplicate` and `volume-mount-path-duplicate` over a list at `base`.
fn unique_fields(vols: &[Value], base: &str, out: &mut Vec<Diagnostic>) {
    for (i, v) in vols.iter().enumerate() {
        for (field, code) in [
            ("name", "volume-name-duplicate"),
            ("mountPath", "volume-mount-path-duplicate"),
        ] {
            if let Some(x) = v.get(field).and_then(Value::as_str)
                && vols[..i]
                    .iter()
                    .any(|e| e.get(field).and_then(Value::as_str) == Some(x))
            {
                out.push(Diagnostic::error(
                    code,
                    format!("{base}/{i}/{field}"),
                    format!("{field} {x:?} is used by an earlier volume"),
                ));
            }
        }
    }
}

fn sidecar_rules(m: &Value, out: &mut Vec<Diagnostic>) {
    let Some(sidecars) =
        pointer::get(m, &["spec", "container", "sidecars"]).and_then(Value::as_array)
    else {
        return;
    };
    for (i, s) in sidecars.iter().enumerate() {
        let path = format!("/spec/container/sidecars/{i}");
        if let Some(name) = s.get("name").and_then(Value::as_str) {
            let dup = sidecars[..i]
                .iter()
                .any(|e| e.get("name").and_then(Value::as_str) == Some(name));
            if dup || name == APP_CONTAINER {
                out.push(Diagnostic::error(
                    "sidecar-name-duplicate",
                    format!("{path}/name"),
                    format!("container name {name:?} is already used (the app container is {APP_CONTAINER:?})"),
                ));
            }
        }
        resources_rule(s.get("resources"), &format!("{path}/resources"), out);
    }
}

fn ingress_rules(m: &Value, app: Option<&Value>, out: &mut Vec<Diagnostic>) {
    let Some(ingress) = pointer::get(m, &["spec", "ingress"]) else {
        return;
    };
    if ingress.get("enabled").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if ingress
        .get("dnsDomain")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        out.push(Diagnostic::error(
            "ingress-dns-domain-required",
            "/spec/ingress/dnsDomain",
            "dnsDomain is required when ingress is enabled",
        ));
    }
    // A missing app container has already been reported by the schema.
    if let Some(app) = app
        && ingress_ports(ports(app)).is_empty()
    {
        out.push(Diagnostic::error(
            "ingress-port-required",
            "/spec/container/app/ports",
            "ingress is enabled but no port has isIngressPort: true",
        ));
    }
}

fn availability_rules(m: &Value, deployment: bool, out: &mut Vec<Diagnostic>) {
    let Some(a) = pointer::get(m, &["spec", "availability"]) else {
        return;
    };
    let min = a.get("minReplicas").and_then(int_value).unwrap_or(1);
    if let Some(hpa) = a.get("horizontalPodAutoscaling") {
        let enabled = hpa.get("isEnabled").and_then(Value::as_bool) == Some(true);
        if let Some(max) = hpa.get("maxReplicas").and_then(int_value)
            && max < min
        {
            out.push(Diagnostic::error(
                "hpa-max-below-min",
                "/spec/availability/horizontalPodAutoscaling/maxReplicas",
                format!("maxReplicas {max} is less than minReplicas {min}"),
            ));
        }
        if enabled && min < 1 {
            out.push(Diagnostic::error(
                "hpa-min-replicas-zero",
                "/spec/availability/minReplicas",
                "autoscaling needs minReplicas of at least 1",
            ));
        }
        // The alias is a `MicroserviceKubernetes` field; the schema refuses it elsewhere.
        if !deployment
            && hpa
                .get("targetCpuUtilizationPercent")
                .is_some_and(|v| !v.is_null())
            && hpa
                .get("targetCpuUtilizationPercentage")
                .is_some_and(|v| !v.is_null())
        {
            out.push(Diagnostic::error(
                "hpa-cpu-target-duplicate",
                "/spec/availability/horizontalPodAutoscaling/targetCpuUtilizationPercentage",
                "set targetCpuUtilizationPercent or its alias targetCpuUtilizationPercentage, not both",
            ));
        }
    }
    if let Some(pdb) = a.get("podDisruptionBudget") {
        let set = |k: &str| {
            pdb.get(k)
                .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
        };
        if set("minAvailable") && set("maxUnavailable") {
            out.push(Diagnostic::error(
                "pdb-min-available-and-max-unavailable",
                "/spec/availability/podDisruptionBudget/maxUnavailable",
                "set minAvailable or maxUnavailable, not both",
            ));
        }
    }
    if let Some(ds) = a.get("deploymentStrategy") {
        let zero = |k: &str| match ds.get(k) {
            Some(v @ Value::Number(_)) => int_value(v) == Some(0),
            Some(Value::String(s)) => s == "0" || s == "0%",
            _ => false,
        };
        if zero("maxUnavailable") && zero("maxSurge") {
            out.push(Diagnostic::error(
                "deployment-strategy-zero",
                "/spec/availability/deploymentStrategy",
                "maxUnavailable and maxSurge cannot both be zero: the rollout could never progress",
            ));
        }
    }
}
