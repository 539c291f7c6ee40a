//! Rendering a valid `AwsEcsService` manifest into AWS API requests, in apply order.
//!
//! Each object is an [`AwsRequest`] whose `input` is the AWS API's own request shape:
//!
//! 1. `logs CreateLogGroup` `/ecs/<name>` (already-exists ignored) and `logs PutRetentionPolicy`
//!    (30 days), when logging is enabled (the default);
//! 2. `ecs RegisterTaskDefinition` (id `taskDefinition`): family `<name>`, one essential
//!    container `<name>`, `awsvpc` networking, task cpu/memory, env variables sorted by name,
//!    secrets as `secrets[].valueFrom` (never plain environment), `s3Files` as
//!    `environmentFiles`, awslogs to `/ecs/<name>`;
//! 3. when the ALB is enabled and the container has a port: `elbv2 DescribeLoadBalancers`
//!    (id `loadBalancer`, for the VPC), `elbv2 CreateTargetGroup` (id `targetGroup`, IP
//!    targets), `elbv2 DescribeListeners` (id `listeners`), `elbv2 DescribeRules` (id `rules`)
//!    and `elbv2 CreateRule` on the listener with the configured port, falling back to
//!    `ModifyRule` of the rule holding the configured priority;
//! 4. `ecs CreateService` (id `service`), falling back to `UpdateService` to the new revision
//!    when the service exists;
//! 5. when autoscaling is enabled: `application-autoscaling RegisterScalableTarget` and one
//!    target-tracking `PutScalingPolicy` for CPU (default 75 %) and, if set, one for memory.
//!
//! `<name>` is `spec.ecsServiceName`, else `metadata.name`. The target group is named
//! `<name>` with `_` turned into `-`, cut to 32 characters (the ELB limit).
//!
//! Secret values never pass through here. A `$secrets-group/<group>/<entry>` reference
//! becomes the deterministic placeholder ARN
//! `arn:<partition>:secretsmanager:<region>:<account>:secret:planton/<group>/<entry>`
//! (partition, region and account from `clusterArn`): the host stores the resolved value in
//! the Secrets Manager secret named `planton/<group>/<entry>` before registering the task
//! definition, and may replace the placeholder by that secret's full ARN. A value that is
//! already a Secrets Manager or SSM Parameter Store ARN is used as is. Without
//! `iam.taskExecutionRoleArn` the account's `ecsTaskExecutionRole` is used.

use crate::KIND;
use crate::validate::{cluster_arn_parts, ref_str};
use planton_plugin_sdk::protojson::{self, ValueOrRef, value_or_ref};
use planton_plugin_sdk::refs::{self, GroupKind};
use planton_plugin_sdk::schema::int_value;
use planton_plugin_sdk::{
    AwsAlternative, AwsRequest, DeployContext, PluginError, RenderRequest, RenderResponse,
};
use serde_json::{Map, Value, json};

/// Days CloudWatch keeps the service's logs.
pub const LOG_RETENTION_DAYS: i64 = 30;

/// The Secrets Manager secret name the host stores a group entry under.
pub fn secret_name(group: &str, entry: &str) -> String {
    format!("planton/{group}/{entry}")
}

/// The requests for a manifest that has already passed validation.
pub fn render(req: &RenderRequest) -> Result<RenderResponse, PluginError> {
    let m = &req.manifest;
    let spec = m.get("spec").cloned().unwrap_or_else(|| json!({}));
    refuse_unresolved_references(&spec)?;
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
    let container = spec.get("container").cloned().unwrap_or_else(|| json!({}));
    let image = planton_plugin_sdk::resolve_image(
        container.pointer("/image/repo").and_then(Value::as_str),
        container.pointer("/image/tag").and_then(Value::as_str),
        req.context.image.as_deref(),
    )?;
    let tags = tags(m, &req.context, &name);
    let tag_list = |key: &str, value: &str| -> Vec<Value> {
        tags.iter()
            .map(|(k, v)| json!({ key: k, value: v }))
            .collect()
    };
    let tag_map: Map<String, Value> = tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();

    let launch_type = spec
        .get("launchType")
        .and_then(Value::as_str)
        .unwrap_or("FARGATE");
    let logging = container
        .pointer("/logging/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let log_group = format!("/ecs/{name}");
    let port = container.get("port").and_then(int_value).unwrap_or(0);
    let alb = spec.get("alb").cloned().unwrap_or_else(|| json!({}));
    let with_lb = alb.get("enabled").and_then(Value::as_bool) == Some(true) && port > 0;

    let mut ops: Vec<AwsRequest> = Vec::new();

    if logging {
        let mut create = AwsRequest::new(
            "logs",
            "CreateLogGroup",
            json!({ "logGroupName": log_group, "tags": tag_map }),
        );
        create.ignore_errors = vec!["ResourceAlreadyExistsException".to_string()];
        ops.push(create);
        ops.push(AwsRequest::new(
            "logs",
            "PutRetentionPolicy",
            json!({ "logGroupName": log_group, "retentionInDays": LOG_RETENTION_DAYS }),
        ));
    }

    // Task definition.
    let mut cdef = Map::new();
    cdef.insert("name".into(), json!(name));
    cdef.insert("image".into(), json!(image));
    cdef.insert("essential".into(), json!(true));
    if port > 0 {
        cdef.insert(
            "portMappings".into(),
            json!([{ "containerPort": port, "protocol": "tcp" }]),
        );
    }
    let environment: Vec<Value> = sorted(container.pointer("/env/variables"))
        .into_iter()
        .map(|(k, v)| json!({ "name": k, "value": v }))
        .collect();
    if !environment.is_empty() {
        cdef.insert("environment".into(), Value::Array(environment));
    }
    let mut secrets = Vec::new();
    for (k, v) in sorted(container.pointer("/env/secrets")) {
        let value_from = match refs::parse(&v) {
            Some(r) if r.kind == GroupKind::Secrets => {
                format!(
                    "arn:{partition}:secretsmanager:{region}:{account}:secret:{}",
                    secret_name(r.group, r.entry)
                )
            }
            _ => v.clone(),
        };
        secrets.push(json!({ "name": k, "valueFrom": value_from }));
    }
    if !secrets.is_empty() {
        cdef.insert("secrets".into(), Value::Array(secrets));
    }
    let files: Vec<Value> = container
        .pointer("/env/s3Files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|f| json!({ "value": s3_object_arn(f, partition), "type": "s3" }))
        .collect();
    if !files.is_empty() {
        cdef.insert("environmentFiles".into(), Value::Array(files));
    }
    if logging {
        cdef.insert(
            "logConfiguration".into(),
            json!({ "logDriver": "awslogs", "options": {
                "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": name
            } }),
        );
    }
    let execution_role = ref_str(spec.pointer("/iam/taskExecutionRoleArn"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/ecsTaskExecutionRole"));
    let mut td = Map::new();
    td.insert("family".into(), json!(name));
    if let Some(task_role) = ref_str(spec.pointer("/iam/taskRoleArn")) {
        td.insert("taskRoleArn".into(), json!(task_role));
    }
    td.insert("executionRoleArn".into(), json!(execution_role));
    td.insert("networkMode".into(), json!("awsvpc"));
    td.insert("containerDefinitions".into(), json!([Value::Object(cdef)]));
    td.insert("requiresCompatibilities".into(), json!([launch_type]));
    td.insert(
        "cpu".into(),
        json!(
            container
                .get("cpu")
                .and_then(int_value)
                .unwrap_or(256)
                .to_string()
        ),
    );
    td.insert(
        "memory".into(),
        json!(
            container
                .get("memory")
                .and_then(int_value)
                .unwrap_or(512)
                .to_string()
        ),
    );
    td.insert("tags".into(), Value::Array(tag_list("key", "value")));
    ops.push(
        AwsRequest::new("ecs", "RegisterTaskDefinition", Value::Object(td))
            .with_id("taskDefinition"),
    );

    // Load balancer wiring.
    if with_lb {
        let alb_arn = ref_str(alb.get("arn"))
            .ok_or_else(|| PluginError::new("alb.arn is required when the ALB is enabled"))?;
        let listener_port = alb.get("listenerPort").and_then(int_value).unwrap_or(80);
        let priority = alb
            .get("listenerPriority")
            .and_then(int_value)
            .unwrap_or(100);
        ops.push(
            AwsRequest::new(
                "elbv2",
                "DescribeLoadBalancers",
                json!({ "LoadBalancerArns": [alb_arn] }),
            )
            .with_id("loadBalancer"),
        );
        let hc = alb
            .get("healthCheck")
            .filter(|h| h.is_object())
            .or_else(|| spec.get("healthCheck").filter(|h| h.is_object()));
        let mut tg = Map::new();
        tg.insert("Name".into(), json!(target_group_name(&name)));
        tg.insert("Protocol".into(), json!("HTTP"));
        tg.insert("Port".into(), json!(port));
        tg.insert(
            "VpcId".into(),
            json!("${loadBalancer.LoadBalancers[0].VpcId}"),
        );
        tg.insert("TargetType".into(), json!("ip"));
        if let Some(hc) = hc {
            if let Some(p) = hc.get("protocol").and_then(Value::as_str) {
                tg.insert("HealthCheckProtocol".into(), json!(p));
            }
            if let Some(p) = hc
                .get("path")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                tg.insert("HealthCheckPath".into(), json!(p));
            }
            match hc.get("port") {
                Some(Value::String(s)) if !s.is_empty() => {
                    tg.insert("HealthCheckPort".into(), json!(s));
                }
                Some(v @ Value::Number(_)) => {
                    tg.insert(
                        "HealthCheckPort".into(),
                        json!(int_value(v).unwrap_or_default().to_string()),
                    );
                }
                _ => {}
            }
            for (from, to) in [
                ("interval", "HealthCheckIntervalSeconds"),
                ("timeout", "HealthCheckTimeoutSeconds"),
                ("healthyThreshold", "HealthyThresholdCount"),
                ("unhealthyThreshold", "UnhealthyThresholdCount"),
            ] {
                if let Some(v) = hc.get(from).and_then(int_value) {
                    tg.insert(to.into(), json!(v));
                }
            }
        }
        tg.insert("Tags".into(), Value::Array(tag_list("Key", "Value")));
        ops.push(
            AwsRequest::new("elbv2", "CreateTargetGroup", Value::Object(tg)).with_id("targetGroup"),
        );
        ops.push(
            AwsRequest::new(
                "elbv2",
                "DescribeListeners",
                json!({ "LoadBalancerArn": alb_arn }),
            )
            .with_id("listeners"),
        );
        let listener_arn = format!("${{listeners.Listeners[Port={listener_port}].ListenerArn}}");
        ops.push(
            AwsRequest::new(
                "elbv2",
                "DescribeRules",
                json!({ "ListenerArn": listener_arn }),
            )
            .with_id("rules"),
        );
        let conditions = match (
            alb.get("routingType").and_then(Value::as_str),
            alb.get("hostname").and_then(Value::as_str),
        ) {
            (Some("hostname"), Some(h)) | (None, Some(h)) if !h.is_empty() => {
                json!([{ "Field": "host-header", "HostHeaderConfig": { "Values": [h] } }])
            }
            _ => {
                let path = alb
                    .get("path")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/");
                let trimmed = path.trim_end_matches('/');
                let values = if trimmed.is_empty() {
                    json!(["/*"])
                } else {
                    json!([trimmed, format!("{trimmed}/*")])
                };
                json!([{ "Field": "path-pattern", "PathPatternConfig": { "Values": values } }])
            }
        };
        let actions = json!([{ "Type": "forward", "TargetGroupArn": "${targetGroup.TargetGroups[0].TargetGroupArn}" }]);
        let mut rule = AwsRequest::new(
            "elbv2",
            "CreateRule",
            json!({
                "ListenerArn": listener_arn, "Priority": priority, "Conditions": conditions,
                "Actions": actions, "Tags": tag_list("Key", "Value")
            }),
        );
        rule.on_exists = Some(Box::new(AwsAlternative {
            when_errors: vec!["PriorityInUse".to_string()],
            operation: "ModifyRule".to_string(),
            input: json!({
                "RuleArn": format!("${{rules.Rules[Priority={priority}].RuleArn}}"),
                "Conditions": conditions, "Actions": actions
            }),
        }));
        ops.push(rule);
    }

    // The service.
    let autoscaling = spec
        .get("autoscaling")
        .filter(|a| a.get("enabled").and_then(Value::as_bool) == Some(true));
    let min_tasks = autoscaling
        .and_then(|a| a.get("minTasks"))
        .and_then(int_value)
        .unwrap_or(1);
    let max_tasks = autoscaling
        .and_then(|a| a.get("maxTasks"))
        .and_then(int_value)
        .unwrap_or(min_tasks);
    let mut desired = container.get("replicas").and_then(int_value).unwrap_or(1);
    if autoscaling.is_some() {
        desired = desired.clamp(min_tasks, max_tasks.max(min_tasks));
    }
    let subnets: Vec<&str> = spec
        .pointer("/network/subnets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| ref_str(Some(s)))
        .collect();
    let groups: Vec<&str> = spec
        .pointer("/network/securityGroups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| ref_str(Some(s)))
        .collect();
    let mut awsvpc = Map::new();
    awsvpc.insert("subnets".into(), json!(subnets));
    if !groups.is_empty() {
        awsvpc.insert("securityGroups".into(), json!(groups));
    }
    awsvpc.insert("assignPublicIp".into(), json!("DISABLED"));
    let network = json!({ "awsvpcConfiguration": awsvpc });
    let task_definition = "${taskDefinition.taskDefinition.taskDefinitionArn}";
    let load_balancers = json!([{
        "targetGroupArn": "${targetGroup.TargetGroups[0].TargetGroupArn}", "containerName": name, "containerPort": port
    }]);
    let grace = spec
        .get("healthCheckGracePeriodSeconds")
        .and_then(int_value)
        .unwrap_or(60);

    let mut create = Map::new();
    create.insert("cluster".into(), json!(cluster_arn));
    create.insert("serviceName".into(), json!(name));
    create.insert("taskDefinition".into(), json!(task_definition));
    create.insert("desiredCount".into(), json!(desired));
    create.insert("launchType".into(), json!(launch_type));
    create.insert("networkConfiguration".into(), network.clone());
    if with_lb {
        create.insert("loadBalancers".into(), load_balancers.clone());
        create.insert("healthCheckGracePeriodSeconds".into(), json!(grace));
    }
    create.insert("propagateTags".into(), json!("SERVICE"));
    create.insert("tags".into(), Value::Array(tag_list("key", "value")));

    let mut update = Map::new();
    update.insert("cluster".into(), json!(cluster_arn));
    update.insert("service".into(), json!(name));
    update.insert("taskDefinition".into(), json!(task_definition));
    update.insert("desiredCount".into(), json!(desired));
    update.insert("networkConfiguration".into(), network);
    if with_lb {
        update.insert("loadBalancers".into(), load_balancers);
        update.insert("healthCheckGracePeriodSeconds".into(), json!(grace));
    }
    let mut service =
        AwsRequest::new("ecs", "CreateService", Value::Object(create)).with_id("service");
    service.on_exists = Some(Box::new(AwsAlternative {
        when_errors: vec!["InvalidParameterException".to_string()],
        operation: "UpdateService".to_string(),
        input: Value::Object(update),
    }));
    ops.push(service);

    // Auto scaling.
    if let Some(a) = autoscaling {
        let resource_id = format!("service/{cluster_name}/{name}");
        let target = json!({
            "ServiceNamespace": "ecs", "ResourceId": resource_id, "ScalableDimension": "ecs:service:DesiredCount"
        });
        let mut register = target.clone();
        register["MinCapacity"] = json!(min_tasks);
        register["MaxCapacity"] = json!(max_tasks);
        register["Tags"] = Value::Object(tag_map.clone());
        ops.push(AwsRequest::new(
            "application-autoscaling",
            "RegisterScalableTarget",
            register,
        ));
        let cpu = a.get("targetCpuPercent").and_then(int_value).unwrap_or(75);
        let mut policies = vec![("cpu", "ECSServiceAverageCPUUtilization", cpu)];
        if let Some(mem) = a.get("targetMemoryPercent").and_then(int_value) {
            policies.push(("memory", "ECSServiceAverageMemoryUtilization", mem));
        }
        for (suffix, metric, value) in policies {
            let mut policy = target.clone();
            policy["PolicyName"] = json!(format!("{name}-{suffix}"));
            policy["PolicyType"] = json!("TargetTrackingScaling");
            policy["TargetTrackingScalingPolicyConfiguration"] = json!({
                "TargetValue": value as f64,
                "PredefinedMetricSpecification": { "PredefinedMetricType": metric }
            });
            ops.push(AwsRequest::new(
                "application-autoscaling",
                "PutScalingPolicy",
                policy,
            ));
        }
    }

    Ok(RenderResponse {
        objects: ops.iter().map(AwsRequest::to_value).collect(),
    })
}

/// `s3://bucket/key` → `arn:<partition>:s3:::bucket/key`; ARNs pass through.
fn s3_object_arn(uri: &str, partition: &str) -> String {
    match uri.strip_prefix("s3://") {
        Some(rest) => format!("arn:{partition}:s3:::{rest}"),
        None => uri.to_string(),
    }
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

fn sorted(v: Option<&Value>) -> Vec<(String, String)> {
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

fn tags(m: &Value, ctx: &DeployContext, name: &str) -> Vec<(String, String)> {
    let get = |p: &str| {
        m.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let env = get("/metadata/env").or_else(|| ctx.env.clone().filter(|s| !s.is_empty()));
    let mut t = vec![
        ("planton.ai/name".to_string(), name.to_string()),
        ("planton.ai/kind".to_string(), KIND.to_string()),
    ];
    for (k, v) in [
        ("planton.ai/id", get("/metadata/id")),
        ("planton.ai/organization", get("/metadata/org")),
        ("planton.ai/environment", env),
    ] {
        if let Some(v) = v {
            t.push((k.to_string(), v));
        }
    }
    t
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
