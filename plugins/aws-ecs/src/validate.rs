//! Validation of an `AwsEcsService` manifest: the schema, then the rules a schema cannot
//! express, all reported at once.
//!
//! Cross-field rules read the manifest leniently (numbers may be numeric strings, as the
//! upstream protobuf JSON loader allows); a value of the wrong type has already been reported
//! by the schema check and is skipped here. Rule codes are listed in the crate documentation.

use crate::schema;
use planton_plugin_sdk::protojson::{self, ValueOrRef, value_or_ref};
use planton_plugin_sdk::schema::{self as checker, int_value};
use planton_plugin_sdk::{Diagnostic, ValidateRequest, refs};
use serde_json::Value;

/// Valid Fargate task sizes: CPU units → (lowest MiB, highest MiB, step MiB).
pub const FARGATE_SIZES: [(i64, i64, i64, i64); 7] = [
    (256, 512, 2048, 0), // 512, 1024, 2048 (special-cased below)
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Whether `cpu`/`memory` is a task size Fargate accepts.
pub fn fargate_pair_ok(cpu: i64, memory: i64) -> bool {
    match FARGATE_SIZES.iter().find(|(c, ..)| *c == cpu) {
        Some((256, ..)) => matches!(memory, 512 | 1024 | 2048),
        Some((_, lo, hi, step)) => memory >= *lo && memory <= *hi && (memory - lo) % step == 0,
        None => false,
    }
}

/// A plain-string or `{value: ...}` reference's string.
pub fn ref_str(v: Option<&Value>) -> Option<&str> {
    match v? {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("value").and_then(Value::as_str),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// Parts of an ARN: (partition, service, region, account, resource).
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    let (partition, service, region, account, resource) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    (partition.starts_with("aws") && !service.is_empty() && !resource.is_empty())
        .then_some((partition, service, region, account, resource))
}

/// The ECS cluster ARN's (partition, region, account, cluster name), when it is one.
pub fn cluster_arn_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let (partition, service, region, account, resource) = parse_arn(arn)?;
    let name = resource.strip_prefix("cluster/")?;
    let ok = service == "ecs"
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !name.is_empty();
    ok.then_some((partition, region, account, name))
}

/// An ARN of an existing secret store entry that ECS can read directly (Secrets Manager, SSM).
pub fn is_secret_store_arn(v: &str) -> bool {
    parse_arn(v).is_some_and(|(_, service, ..)| service == "secretsmanager" || service == "ssm")
}

/// Every problem in the request's manifest, schema problems first, then rule problems.
///
/// Fields written under their proto names (`container_port`) are read as their camelCase
/// names with a warning, and every diagnostic points at the field as written.
pub fn validate(req: &ValidateRequest) -> Vec<Diagnostic> {
    let normalized = protojson::normalize_field_names(schema(), &req.manifest);
    let diagnostics = validate_normalized(&normalized.value, req.local);
    normalized.restore(diagnostics)
}

/// [`validate`] for a manifest whose field names are already camelCase.
pub fn validate_normalized(m: &Value, local: bool) -> Vec<Diagnostic> {
    let mut out = checker::compiled(schema()).check(
        m,
        checker::CheckOptions {
            protojson_scalars: true,
        },
    );
    let Some(spec) = m.get("spec").filter(|s| s.is_object()) else {
        return out;
    };

    if let Some(arn) = ref_str(spec.get("clusterArn"))
        && cluster_arn_parts(arn).is_none()
    {
        out.push(Diagnostic::error(
            "cluster-arn-invalid",
            "/spec/clusterArn",
            format!(
                "{arn:?} is not an ECS cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)"
            ),
        ));
    }

    let launch_type = spec
        .get("launchType")
        .and_then(Value::as_str)
        .unwrap_or("FARGATE");
    let container = spec.get("container");
    let cpu = container.and_then(|c| c.get("cpu")).and_then(int_value);
    let memory = container.and_then(|c| c.get("memory")).and_then(int_value);
    if launch_type == "FARGATE"
        && let (Some(cpu), Some(memory)) = (cpu, memory)
        && !fargate_pair_ok(cpu, memory)
    {
        let (path, msg) = if FARGATE_SIZES.iter().any(|(c, ..)| *c == cpu) {
            (
                "/spec/container/memory",
                format!("Fargate does not offer {memory} MiB with {cpu} CPU units"),
            )
        } else {
            (
                "/spec/container/cpu",
                format!(
                    "Fargate does not offer {cpu} CPU units (256, 512, 1024, 2048, 4096, 8192, 16384)"
                ),
            )
        };
        out.push(Diagnostic::error("fargate-cpu-memory-invalid", path, msg));
    }

    if let Some(env) = container.and_then(|c| c.get("env")) {
        out.extend(refs::check_env(
            env,
            "/spec/container/env",
            local,
            &is_secret_store_arn,
        ));
    }

    let port = container
        .and_then(|c| c.get("port"))
        .and_then(int_value)
        .unwrap_or(0);
    let alb = spec.get("alb").filter(|a| a.is_object());
    let alb_enabled = alb.and_then(|a| a.get("enabled")).and_then(Value::as_bool) == Some(true);
    // Upstream (buf.validate) refuses an `alb` block without these (a proto3 string `in`
    // rule and a `required` int32 refuse their zero values). planton checks them on an
    // enabled ALB only: the product spec's own local overlay writes `alb: {enabled: false}`.
    if let Some(alb) = alb.filter(|_| alb_enabled) {
        if alb.get("routingType").is_none_or(Value::is_null) {
            out.push(Diagnostic::error(
                "alb-routing-type-required",
                "/spec/alb/routingType",
                "an alb block needs routingType: path or hostname",
            ));
        }
        if alb.get("listenerPort").is_none_or(Value::is_null) {
            out.push(Diagnostic::error(
                "alb-listener-port-required",
                "/spec/alb/listenerPort",
                "an alb block needs a listenerPort (1-65535), e.g. 80 or 443",
            ));
        }
    }
    if let Some(alb) = alb.filter(|_| alb_enabled) {
        match value_or_ref(alb.get("arn")) {
            ValueOrRef::Absent => out.push(Diagnostic::error(
                "alb-arn-required",
                "/spec/alb/arn",
                "arn is required when the ALB is enabled",
            )),
            // Resolved at deployment; nothing to check here.
            ValueOrRef::From(_) => {}
            ValueOrRef::Literal(arn) => {
                let ok = parse_arn(arn).is_some_and(|(_, s, _, _, r)| {
                    s == "elasticloadbalancing" && r.starts_with("loadbalancer/app/")
                });
                if !ok {
                    out.push(Diagnostic::error(
                        "alb-arn-invalid",
                        "/spec/alb/arn",
                        format!("{arn:?} is not an application load balancer ARN"),
                    ));
                }
            }
        }
        let nonempty = |k: &str| {
            alb.get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        match alb.get("routingType").and_then(Value::as_str) {
            Some("path") if !nonempty("path") => out.push(Diagnostic::error(
                "alb-routing-incomplete",
                "/spec/alb/path",
                "path routing needs a path, e.g. /my-service",
            )),
            Some("hostname") if !nonempty("hostname") => out.push(Diagnostic::error(
                "alb-routing-incomplete",
                "/spec/alb/hostname",
                "hostname routing needs a hostname, e.g. api.example.com",
            )),
            _ => {}
        }
        if port == 0 {
            out.push(Diagnostic::warning(
                "alb-without-port",
                "/spec/container/port",
                "the ALB is enabled but the container has no port, so no target group is attached",
            ));
        }
    }

    let hc_top = spec.get("healthCheck").filter(|h| h.is_object());
    let hc_alb = alb
        .and_then(|a| a.get("healthCheck"))
        .filter(|h| h.is_object());
    if hc_top.is_some() && hc_alb.is_some() {
        out.push(Diagnostic::error(
            "health-check-duplicate",
            "/spec/healthCheck",
            "set the health check in alb.healthCheck or spec.healthCheck, not both",
        ));
    }
    for (hc, base) in [
        (hc_alb, "/spec/alb/healthCheck"),
        (hc_top, "/spec/healthCheck"),
    ] {
        let Some(hc) = hc else { continue };
        // Upstream's rule, on upstream's field only: `spec.healthCheck` is the older
        // spelling the conformance overlays use, and they leave the protocol to its default.
        if base == "/spec/alb/healthCheck" && hc.get("protocol").is_none_or(Value::is_null) {
            out.push(Diagnostic::error(
                "health-check-protocol-required",
                format!("{base}/protocol"),
                "a health check needs protocol: HTTP or HTTPS (TCP without an ALB)",
            ));
        }
        let interval = hc.get("interval").and_then(int_value).unwrap_or(30);
        if let Some(timeout) = hc.get("timeout").and_then(int_value)
            && timeout >= interval
        {
            out.push(Diagnostic::error(
                "health-check-timeout-exceeds-interval",
                format!("{base}/timeout"),
                format!("timeout {timeout}s must be less than the interval {interval}s"),
            ));
        }
        if hc.get("protocol").and_then(Value::as_str) == Some("TCP") && alb_enabled {
            out.push(Diagnostic::error(
                "health-check-tcp-unsupported",
                format!("{base}/protocol"),
                "an application load balancer target group checks health over HTTP or HTTPS only",
            ));
        }
    }

    // Upstream checks minTasks/maxTasks >= 1 on every `autoscaling` block, enabled or not.
    let autoscaling = spec.get("autoscaling").filter(|a| a.is_object());
    for (field, code) in [
        ("minTasks", "autoscaling-min-tasks-required"),
        ("maxTasks", "autoscaling-max-tasks-required"),
    ] {
        if let Some(a) = autoscaling
            && a.get(field).is_none_or(Value::is_null)
        {
            out.push(Diagnostic::error(
                code,
                format!("/spec/autoscaling/{field}"),
                format!("an autoscaling block needs {field} of at least 1"),
            ));
        }
    }
    if let Some(a) = autoscaling.filter(|a| a.get("enabled").and_then(Value::as_bool) == Some(true))
    {
        let min = a.get("minTasks").and_then(int_value).unwrap_or(1);
        match a.get("maxTasks").and_then(int_value) {
            Some(max) if max < min => out.push(Diagnostic::error(
                "autoscaling-max-below-min",
                "/spec/autoscaling/maxTasks",
                format!("maxTasks {max} is less than minTasks {min}"),
            )),
            _ => {}
        }
    }
    out
}
