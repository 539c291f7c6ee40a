//! Rendering a valid `AwsEcsService` manifest into typed AWS operations (contract version 2):
//! what should exist, not which API call makes it so. The host decides create versus update
//! from what exists and applies the operations in its fixed phase order:
//!
//! 1. a `logGroup` `/ecs/<name>` with 30 days' retention, when logging is enabled (the default);
//! 2. one `secret` per distinct `$secrets-group/<group>/<entry>` in `container.env.secrets`
//!    (the host stores the value and puts the store's ARN into the task definition);
//! 3. a `taskDefinition`: family `<name>`, one essential container `<name>`, `awsvpc`, task
//!    cpu/memory, env variables, secrets as [`ValueFrom`] (a group entry, or an existing
//!    Secrets Manager or SSM Parameter Store ARN used as is), `s3Files` as environment files,
//!    awslogs to `/ecs/<name>`; without `iam.taskExecutionRoleArn` the account's
//!    `ecsTaskExecutionRole`;
//! 4. with the ALB enabled and a port: a `targetGroup` (IP targets) named `<name>` cut to the
//!    ELB rules ([`target_group_name`]) and a `listenerRule` on the listener with the
//!    configured port;
//! 5. the `service`, with the deployment circuit breaker (rollback on) enabled;
//! 6. with autoscaling enabled: a `scalableTarget` and a CPU (and optional memory)
//!    target-tracking `scalingPolicy`.
//!
//! `<name>` is `spec.ecsServiceName`, else `metadata.name`. Every resource carries the
//! `planton.ai/*` tags (name, kind, id, organization, environment). A `valueFrom` reference
//! stops the render naming the field: planton does not read other resources' outputs.

use crate::KIND;
use crate::validate::{cluster_arn_parts, ref_str};
use planton_plugin_sdk::protojson::{self, ValueOrRef, value_or_ref};
use planton_plugin_sdk::refs::{self, GroupKind};
use planton_plugin_sdk::schema::int_value;
use planton_plugin_sdk::target::{
    AwsLogsOp, AwsOperation, ContainerOp, HealthCheckOp, ListenerRuleOp, LogGroupOp, RenderOutput,
    RuleCondition, ScalableTargetOp, ScalingMetric, ScalingPolicyOp, SecretOp,
    ServiceLoadBalancerOp, ServiceOp, TargetGroupOp, TaskDefinitionOp, ValueFrom,
};
use planton_plugin_sdk::{DeployContext, PluginError, RenderRequest};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Days CloudWatch keeps the service's logs.
pub const LOG_RETENTION_DAYS: i32 = 30;

/// The typed operations for a manifest that has already passed validation.
pub fn render(req: &RenderRequest) -> Result<RenderOutput, PluginError> {
    let ops = operations(req)?;
    Ok(RenderOutput::Aws {
        operations: ops
            .iter()
            .map(|op| serde_json::to_value(op).unwrap_or(Value::Null))
            .collect(),
    })
}

/// The typed operations (what [`render`] serialises).
pub fn operations(req: &RenderRequest) -> Result<Vec<AwsOperation>, PluginError> {
    let m = &req.manifest;
    let empty = json!({});
    let spec = m.get("spec").unwrap_or(&empty);
    refuse_unresolved_references(spec)?;
    let name = spec
        .get("ecsServiceName")
        .and_then(Value::as_str)
        .or_else(|| m.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PluginError::new("metadata.name is required"))?
        .to_string();
    let cluster_arn = ref_str(spec.get("clusterArn"))
        .ok_or_else(|| PluginError::new("spec.clusterArn is required"))?;
    let (partition, region, account, cluster_name) = cluster_arn_parts(cluster_arn)
        .ok_or_else(|| PluginError::new(format!("{cluster_arn:?} is not an ECS cluster ARN")))?;
    let container = spec.get("container").unwrap_or(&empty);
    let image = planton_plugin_sdk::resolve_image(
        container.pointer("/image/repo").and_then(Value::as_str),
        container.pointer("/image/tag").and_then(Value::as_str),
        req.context.image.as_deref(),
    )?;
    let tags = tags(m, &req.context, &name);
    let launch_type = spec
        .get("launchType")
        .and_then(Value::as_str)
        .unwrap_or("FARGATE")
        .to_string();
    let logging = container
        .pointer("/logging/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let log_group = format!("/ecs/{name}");
    let port = container
        .get("port")
        .and_then(int_value)
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or(0);
    let alb = spec.get("alb").unwrap_or(&empty);
    let with_lb = alb.get("enabled").and_then(Value::as_bool) == Some(true) && port > 0;
    let int = |v: Option<&Value>| v.and_then(int_value).and_then(|n| i32::try_from(n).ok());

    let mut ops = Vec::new();
    if logging {
        ops.push(AwsOperation::LogGroup(LogGroupOp {
            name: log_group.clone(),
            retention_days: LOG_RETENTION_DAYS,
            tags: tags.clone(),
        }));
    }

    let mut secrets = BTreeMap::new();
    let mut secret_ops = BTreeSet::new();
    for (k, v) in string_map(container.pointer("/env/secrets")) {
        let from = match refs::parse(&v) {
            Some(r) if r.kind == GroupKind::Secrets => {
                secret_ops.insert(SecretOp {
                    group: r.group.to_string(),
                    entry: r.entry.to_string(),
                });
                ValueFrom::Secret {
                    group: r.group.to_string(),
                    entry: r.entry.to_string(),
                }
            }
            _ => ValueFrom::Arn(v),
        };
        secrets.insert(k, from);
    }
    ops.extend(secret_ops.into_iter().map(AwsOperation::Secret));

    let environment_files = container
        .pointer("/env/s3Files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|f| match f.strip_prefix("s3://") {
            Some(rest) => format!("arn:{partition}:s3:::{rest}"),
            None => f.to_string(),
        })
        .collect();
    let execution_role_arn = ref_str(spec.pointer("/iam/taskExecutionRoleArn"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/ecsTaskExecutionRole"));
    ops.push(AwsOperation::TaskDefinition(TaskDefinitionOp {
        family: name.clone(),
        task_role_arn: ref_str(spec.pointer("/iam/taskRoleArn")).map(str::to_string),
        execution_role_arn,
        network_mode: "awsvpc".to_string(),
        requires_compatibilities: vec![launch_type.clone()],
        cpu: int(container.get("cpu")).unwrap_or(256).to_string(),
        memory: int(container.get("memory")).unwrap_or(512).to_string(),
        containers: vec![ContainerOp {
            name: name.clone(),
            image,
            essential: true,
            ports: if port > 0 { vec![port] } else { vec![] },
            environment: string_map(container.pointer("/env/variables")),
            secrets,
            environment_files,
            logs: logging.then(|| AwsLogsOp {
                group: log_group.clone(),
                region: region.to_string(),
                stream_prefix: name.clone(),
            }),
        }],
        tags: tags.clone(),
    }));

    let tg_name = target_group_name(&name);
    if with_lb {
        let alb_arn = ref_str(alb.get("arn"))
            .ok_or_else(|| PluginError::new("alb.arn is required when the ALB is enabled"))?
            .to_string();
        let hc = alb
            .get("healthCheck")
            .filter(|h| h.is_object())
            .or_else(|| spec.get("healthCheck").filter(|h| h.is_object()));
        let text = |k: &str| {
            hc.and_then(|h| h.get(k))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let health_check = HealthCheckOp {
            protocol: text("protocol"),
            path: text("path"),
            port: match hc.and_then(|h| h.get("port")) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(v @ Value::Number(_)) => int_value(v).map(|n| n.to_string()),
                _ => None,
            },
            interval_seconds: int(hc.and_then(|h| h.get("interval"))),
            timeout_seconds: int(hc.and_then(|h| h.get("timeout"))),
            healthy_threshold: int(hc.and_then(|h| h.get("healthyThreshold"))),
            unhealthy_threshold: int(hc.and_then(|h| h.get("unhealthyThreshold"))),
        };
        ops.push(AwsOperation::TargetGroup(TargetGroupOp {
            name: tg_name.clone(),
            load_balancer_arn: alb_arn.clone(),
            protocol: "HTTP".to_string(),
            port,
            target_type: "ip".to_string(),
            health_check,
            tags: tags.clone(),
        }));
        let condition = match (
            alb.get("routingType").and_then(Value::as_str),
            alb.get("hostname").and_then(Value::as_str),
        ) {
            (Some("hostname"), Some(h)) | (None, Some(h)) if !h.is_empty() => {
                RuleCondition::HostHeader(vec![h.to_string()])
            }
            _ => {
                let path = alb
                    .get("path")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/");
                let trimmed = path.trim_end_matches('/');
                RuleCondition::PathPattern(if trimmed.is_empty() {
                    vec!["/*".to_string()]
                } else {
                    vec![trimmed.to_string(), format!("{trimmed}/*")]
                })
            }
        };
        ops.push(AwsOperation::ListenerRule(ListenerRuleOp {
            load_balancer_arn: alb_arn,
            listener_port: int(alb.get("listenerPort")).unwrap_or(80),
            priority: int(alb.get("listenerPriority")).unwrap_or(100),
            condition,
            target_group: tg_name.clone(),
        }));
    }

    let autoscaling = spec
        .get("autoscaling")
        .filter(|a| a.get("enabled").and_then(Value::as_bool) == Some(true));
    let min_tasks = int(autoscaling.and_then(|a| a.get("minTasks"))).unwrap_or(1);
    let max_tasks = int(autoscaling.and_then(|a| a.get("maxTasks"))).unwrap_or(min_tasks);
    let mut desired = int(container.get("replicas")).unwrap_or(1);
    if autoscaling.is_some() {
        desired = desired.clamp(min_tasks, max_tasks.max(min_tasks));
    }
    let strings = |p: &str| -> Vec<String> {
        spec.pointer(p)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| ref_str(Some(s)).map(str::to_string))
            .collect()
    };
    ops.push(AwsOperation::Service(ServiceOp {
        cluster: cluster_arn.to_string(),
        name: name.clone(),
        task_definition: name.clone(),
        desired_count: desired,
        launch_type,
        subnets: strings("/network/subnets"),
        security_groups: strings("/network/securityGroups"),
        assign_public_ip: false,
        load_balancer: with_lb.then(|| ServiceLoadBalancerOp {
            target_group: tg_name.clone(),
            container_name: name.clone(),
            container_port: port,
        }),
        health_check_grace_period_seconds: with_lb
            .then(|| int(spec.get("healthCheckGracePeriodSeconds")).unwrap_or(60)),
        circuit_breaker: true,
        tags: tags.clone(),
    }));

    if let Some(a) = autoscaling {
        ops.push(AwsOperation::ScalableTarget(ScalableTargetOp {
            cluster_name: cluster_name.to_string(),
            service: name.clone(),
            min_capacity: min_tasks,
            max_capacity: max_tasks,
        }));
        let mut policies = vec![(
            "cpu",
            ScalingMetric::Cpu,
            int(a.get("targetCpuPercent")).unwrap_or(75),
        )];
        if let Some(mem) = int(a.get("targetMemoryPercent")) {
            policies.push(("memory", ScalingMetric::Memory, mem));
        }
        for (suffix, metric, value) in policies {
            ops.push(AwsOperation::ScalingPolicy(ScalingPolicyOp {
                cluster_name: cluster_name.to_string(),
                service: name.clone(),
                name: format!("{name}-{suffix}"),
                metric,
                target_value: f64::from(value),
            }));
        }
    }
    Ok(ops)
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn tags(m: &Value, ctx: &DeployContext, name: &str) -> BTreeMap<String, String> {
    let get = |p: &str| {
        m.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let env = get("/metadata/env").or_else(|| ctx.env.clone().filter(|s| !s.is_empty()));
    let mut t = BTreeMap::from([
        ("planton.ai/name".to_string(), name.to_string()),
        ("planton.ai/kind".to_string(), KIND.to_string()),
    ]);
    for (k, v) in [
        ("planton.ai/id", get("/metadata/id")),
        ("planton.ai/organization", get("/metadata/org")),
        ("planton.ai/environment", env),
    ] {
        if let Some(v) = v {
            t.insert(k.to_string(), v);
        }
    }
    t
}

/// An ELB target group name: at most 32 characters of alphanumerics and `-`,
/// not starting or ending with `-`.
pub fn target_group_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    cleaned.trim_matches('-').to_string()
}

/// Stops at the first `valueFrom` reference (in field order): planton does not read other
/// resources' recorded outputs, so it cannot deploy such a manifest (and makes no request).
fn refuse_unresolved_references(spec: &Value) -> Result<(), PluginError> {
    let mut fields: Vec<(String, Option<&Value>)> = [
        "/clusterArn",
        "/iam/taskExecutionRoleArn",
        "/iam/taskRoleArn",
        "/alb/arn",
    ]
    .iter()
    .map(|p| (format!("/spec{p}"), spec.pointer(p)))
    .collect();
    for list in ["subnets", "securityGroups"] {
        for (i, v) in spec
            .pointer(&format!("/network/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            fields.push((format!("/spec/network/{list}/{i}"), Some(v)));
        }
    }
    for (path, v) in fields {
        if let ValueOrRef::From(f) = value_or_ref(v) {
            return Err(protojson::unresolved_reference(&path, f));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Value {
        json!({
            "apiVersion": "aws.project-planton.org/v1",
            "kind": "AwsEcsService",
            "metadata": { "name": "checkout", "env": "prod" },
            "spec": {
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/shared",
                "container": {
                    "image": { "repo": "r/checkout", "tag": "1" },
                    "port": 8080, "cpu": 256, "memory": 512, "replicas": 2,
                    "env": {
                        "variables": { "MODE": "prod" },
                        "secrets": {
                            "DB_PASSWORD": "$secrets-group/payments/db.password",
                            "DB_PASSWORD_AGAIN": "$secrets-group/payments/db.password",
                            "API": "arn:aws:ssm:us-east-1:123456789012:parameter/api"
                        }
                    }
                },
                "network": { "subnets": ["subnet-1"], "securityGroups": ["sg-1"] },
                "alb": { "enabled": true, "arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1", "path": "/pay/" },
                "autoscaling": { "enabled": true, "minTasks": 3, "maxTasks": 6, "targetMemoryPercent": 60 }
            }
        })
    }

    #[test]
    fn renders_every_operation_with_one_secret_per_entry() {
        let req = RenderRequest {
            manifest: manifest(),
            context: DeployContext::default(),
        };
        let ops = operations(&req).unwrap_or_default();
        let tags: Vec<_> = ops.iter().map(AwsOperation::tag).collect();
        assert_eq!(
            tags,
            [
                "logGroup",
                "secret",
                "taskDefinition",
                "targetGroup",
                "listenerRule",
                "service",
                "scalableTarget",
                "scalingPolicy",
                "scalingPolicy"
            ]
        );
        let AwsOperation::TaskDefinition(td) = &ops[2] else {
            panic!("not a task definition: {:?}", ops[2]);
        };
        assert_eq!(
            td.containers[0].secrets["DB_PASSWORD"],
            ValueFrom::Secret {
                group: "payments".into(),
                entry: "db.password".into()
            }
        );
        assert!(
            matches!(&td.containers[0].secrets["API"], ValueFrom::Arn(a) if a.contains(":ssm:"))
        );
        let AwsOperation::Service(svc) = &ops[5] else {
            panic!("not a service");
        };
        // The desired count starts inside the scaling bounds.
        assert_eq!(svc.desired_count, 3);
        assert_eq!(svc.health_check_grace_period_seconds, Some(60));
        let AwsOperation::ListenerRule(rule) = &ops[4] else {
            panic!("not a rule");
        };
        assert_eq!(
            rule.condition,
            RuleCondition::PathPattern(vec!["/pay".into(), "/pay/*".into()])
        );
        // The serialised render reads back through the host's parser unchanged.
        let RenderOutput::Aws { operations: values } =
            render(&req).unwrap_or(RenderOutput::Aws { operations: vec![] })
        else {
            panic!("not an AWS render");
        };
        assert_eq!(AwsOperation::parse_all(&values).unwrap_or_default(), ops);
    }
}
