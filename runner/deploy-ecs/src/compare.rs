//! Pure comparisons that decide whether anything must change: a task definition's
//! normalized form (desired from the render, live from `DescribeTaskDefinition`), and an ECS
//! service's fields, desired against live.
//!
//! Normalizing drops what ECS adds or reorders on its own (container `cpu: 0`, empty lists,
//! the order of ports, variables, secrets and files, revision numbers and tags), so a deploy
//! registers a new revision only when the definition really changed.
//!
//! A service field that the live service does not report is compared with the value the last
//! successful deploy applied (from the stored state) instead: moto drops
//! `deploymentConfiguration` and `healthCheckGracePeriodSeconds` on create, and ECS omits
//! some fields when they hold their default, so a missing field alone is no change.

use planton_plugin_sdk::target::{TaskDefinitionOp, ValueFrom};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A task definition as compared: only what the render sets, in a canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalTaskDef {
    /// The family.
    pub family: String,
    /// The task role.
    pub task_role_arn: Option<String>,
    /// The execution role.
    pub execution_role_arn: Option<String>,
    /// The network mode.
    pub network_mode: Option<String>,
    /// Required compatibilities, sorted.
    pub requires_compatibilities: Vec<String>,
    /// Task cpu.
    pub cpu: Option<String>,
    /// Task memory.
    pub memory: Option<String>,
    /// Containers by name.
    pub containers: BTreeMap<String, NormalContainer>,
}

/// A container as compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalContainer {
    /// The image.
    pub image: String,
    /// Essential or not.
    pub essential: bool,
    /// Container ports (tcp), sorted.
    pub ports: Vec<i32>,
    /// Variables.
    pub environment: BTreeMap<String, String>,
    /// Secret name → store ARN.
    pub secrets: BTreeMap<String, String>,
    /// Environment file ARNs, sorted.
    pub environment_files: Vec<String>,
    /// Log driver and its options.
    pub log: Option<(String, BTreeMap<String, String>)>,
}

/// The desired definition, with `$secrets-group` entries replaced by their store ARNs
/// (`secret_arns`: `(group, entry)` → ARN). `None` names the first entry without an ARN.
pub fn desired_task_def(
    op: &TaskDefinitionOp,
    secret_arns: &BTreeMap<(String, String), String>,
) -> Result<NormalTaskDef, (String, String)> {
    let mut containers = BTreeMap::new();
    for c in &op.containers {
        let mut secrets = BTreeMap::new();
        for (name, from) in &c.secrets {
            let arn = match from {
                ValueFrom::Arn(a) => a.clone(),
                ValueFrom::Secret { group, entry } => secret_arns
                    .get(&(group.clone(), entry.clone()))
                    .cloned()
                    .ok_or_else(|| (group.clone(), entry.clone()))?,
            };
            secrets.insert(name.clone(), arn);
        }
        let mut ports = c.ports.clone();
        ports.sort_unstable();
        let mut files = c.environment_files.clone();
        files.sort();
        containers.insert(
            c.name.clone(),
            NormalContainer {
                image: c.image.clone(),
                essential: c.essential,
                ports,
                environment: c.environment.clone(),
                secrets,
                environment_files: files,
                log: c.logs.as_ref().map(|l| {
                    (
                        "awslogs".to_string(),
                        BTreeMap::from([
                            ("awslogs-group".to_string(), l.group.clone()),
                            ("awslogs-region".to_string(), l.region.clone()),
                            ("awslogs-stream-prefix".to_string(), l.stream_prefix.clone()),
                        ]),
                    )
                }),
            },
        );
    }
    let mut compat = op.requires_compatibilities.clone();
    compat.sort();
    Ok(NormalTaskDef {
        family: op.family.clone(),
        task_role_arn: op.task_role_arn.clone(),
        execution_role_arn: Some(op.execution_role_arn.clone()),
        network_mode: Some(op.network_mode.clone()),
        requires_compatibilities: compat,
        cpu: Some(op.cpu.clone()),
        memory: Some(op.memory.clone()),
        containers,
    })
}

/// The live definition as ECS describes it.
pub fn live_task_def(td: &aws_sdk_ecs::types::TaskDefinition) -> NormalTaskDef {
    let mut containers = BTreeMap::new();
    for c in td.container_definitions() {
        let mut ports: Vec<i32> = c
            .port_mappings()
            .iter()
            .filter_map(|p| p.container_port())
            .collect();
        ports.sort_unstable();
        let mut files: Vec<String> = c
            .environment_files()
            .iter()
            .map(|f| f.value().to_string())
            .collect();
        files.sort();
        containers.insert(
            c.name().unwrap_or_default().to_string(),
            NormalContainer {
                image: c.image().unwrap_or_default().to_string(),
                essential: c.essential().unwrap_or(true),
                ports,
                environment: c
                    .environment()
                    .iter()
                    .map(|kv| {
                        (
                            kv.name().unwrap_or_default().to_string(),
                            kv.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                secrets: c
                    .secrets()
                    .iter()
                    .map(|s| (s.name().to_string(), s.value_from().to_string()))
                    .collect(),
                environment_files: files,
                log: c.log_configuration().map(|l| {
                    (
                        l.log_driver().as_str().to_string(),
                        l.options()
                            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    )
                }),
            },
        );
    }
    let mut compat: Vec<String> = td
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    compat.sort();
    NormalTaskDef {
        family: td.family().unwrap_or_default().to_string(),
        task_role_arn: td.task_role_arn().map(str::to_string),
        execution_role_arn: td.execution_role_arn().map(str::to_string),
        network_mode: td.network_mode().map(|m| m.as_str().to_string()),
        requires_compatibilities: compat,
        cpu: td.cpu().map(str::to_string),
        memory: td.memory().map(str::to_string),
        containers,
    }
}

/// The leaf values that differ between two serialisable values, as
/// `path: old → new` lines (JSON text), in a stable order.
pub fn json_changes<T: Serialize>(old: &T, new: &T) -> Vec<String> {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            _ if a != b => out.push(format!("{path}: {a} → {b}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        &serde_json::to_value(old).unwrap_or_default(),
        &serde_json::to_value(new).unwrap_or_default(),
        &mut out,
    );
    out
}

/// An ECS service's settings as compared (and as stored as "last applied").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFields {
    /// The task definition ARN.
    pub task_definition: Option<String>,
    /// The desired count (`None` when a scalable target manages it).
    pub desired_count: Option<i32>,
    /// Subnets, sorted.
    pub subnets: Option<Vec<String>>,
    /// Security groups, sorted.
    pub security_groups: Option<Vec<String>>,
    /// Public IP.
    pub assign_public_ip: Option<bool>,
    /// `(target group ARN, container, port)`, sorted.
    pub load_balancers: Option<Vec<(String, String, i32)>>,
    /// The grace period.
    pub health_check_grace_period_seconds: Option<i32>,
    /// Circuit breaker `(enable, rollback)`.
    pub circuit_breaker: Option<(bool, bool)>,
}

/// One field that differs: its name, the live (or last applied) value and the desired one,
/// both as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field, as the ECS API names it.
    pub field: String,
    /// What is there now.
    pub live: String,
    /// What the deploy wants.
    pub desired: String,
}

/// The fields of `desired` that differ from `live`; a field `live` does not report
/// (`None`) is compared with `last_applied` instead; a desired `None` is "leave as is".
pub fn service_changes(
    desired: &ServiceFields,
    live: &ServiceFields,
    last_applied: Option<&ServiceFields>,
) -> Vec<FieldChange> {
    fn text<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }
    let mut out = Vec::new();
    macro_rules! field {
        ($f:ident, $name:literal) => {
            if let Some(want) = &desired.$f {
                let have = live
                    .$f
                    .as_ref()
                    .or_else(|| last_applied.and_then(|l| l.$f.as_ref()));
                if have != Some(want) {
                    out.push(FieldChange {
                        field: $name.to_string(),
                        live: have.map(text).unwrap_or_else(|| "(unset)".to_string()),
                        desired: text(want),
                    });
                }
            }
        };
    }
    field!(task_definition, "taskDefinition");
    field!(desired_count, "desiredCount");
    field!(subnets, "networkConfiguration.awsvpcConfiguration.subnets");
    field!(
        security_groups,
        "networkConfiguration.awsvpcConfiguration.securityGroups"
    );
    field!(
        assign_public_ip,
        "networkConfiguration.awsvpcConfiguration.assignPublicIp"
    );
    field!(load_balancers, "loadBalancers");
    field!(
        health_check_grace_period_seconds,
        "healthCheckGracePeriodSeconds"
    );
    field!(
        circuit_breaker,
        "deploymentConfiguration.deploymentCircuitBreaker"
    );
    out
}

/// The comparable fields of a live service.
pub fn live_service(s: &aws_sdk_ecs::types::Service) -> ServiceFields {
    let vpc = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let mut lbs: Vec<(String, String, i32)> = s
        .load_balancers()
        .iter()
        .map(|l| {
            (
                l.target_group_arn().unwrap_or_default().to_string(),
                l.container_name().unwrap_or_default().to_string(),
                l.container_port().unwrap_or_default(),
            )
        })
        .collect();
    lbs.sort();
    ServiceFields {
        task_definition: s.task_definition().map(str::to_string),
        desired_count: Some(s.desired_count()),
        subnets: vpc.map(|v| sorted(v.subnets())),
        security_groups: vpc.map(|v| sorted(v.security_groups())),
        assign_public_ip: vpc
            .and_then(|v| v.assign_public_ip())
            .map(|a| a.as_str() == "ENABLED"),
        load_balancers: Some(lbs),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds(),
        circuit_breaker: s
            .deployment_configuration()
            .and_then(|d| d.deployment_circuit_breaker())
            .map(|c| (c.enable(), c.rollback())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{
        ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, PortMapping, Secret,
        TaskDefinition,
    };
    use planton_plugin_sdk::target::{AwsLogsOp, ContainerOp};

    fn op() -> TaskDefinitionOp {
        TaskDefinitionOp {
            family: "app".into(),
            task_role_arn: None,
            execution_role_arn: "arn:role/exec".into(),
            network_mode: "awsvpc".into(),
            requires_compatibilities: vec!["FARGATE".into()],
            cpu: "256".into(),
            memory: "512".into(),
            containers: vec![ContainerOp {
                name: "app".into(),
                image: "r/app:1".into(),
                essential: true,
                ports: vec![8080],
                environment: BTreeMap::from([("B".into(), "2".into()), ("A".into(), "1".into())]),
                secrets: BTreeMap::from([(
                    "DB".into(),
                    ValueFrom::Secret {
                        group: "g".into(),
                        entry: "db".into(),
                    },
                )]),
                environment_files: vec![],
                logs: Some(AwsLogsOp {
                    group: "/ecs/app".into(),
                    region: "us-east-1".into(),
                    stream_prefix: "app".into(),
                }),
            }],
            tags: BTreeMap::new(),
        }
    }

    fn live(image: &str) -> TaskDefinition {
        let log = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-stream-prefix", "app")
            .options("awslogs-group", "/ecs/app")
            .options("awslogs-region", "us-east-1")
            .build()
            .ok();
        TaskDefinition::builder()
            .family("app")
            .revision(7)
            .execution_role_arn("arn:role/exec")
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(image)
                    .cpu(0)
                    .essential(true)
                    .port_mappings(PortMapping::builder().container_port(8080).build())
                    // ECS may return variables in another order.
                    .environment(KeyValuePair::builder().name("B").value("2").build())
                    .environment(KeyValuePair::builder().name("A").value("1").build())
                    .set_secrets(
                        Secret::builder()
                            .name("DB")
                            .value_from("arn:secret:db-AbC")
                            .build()
                            .ok()
                            .map(|s| vec![s]),
                    )
                    .set_log_configuration(log)
                    .build(),
            )
            .build()
    }

    fn arns() -> BTreeMap<(String, String), String> {
        BTreeMap::from([(("g".into(), "db".into()), "arn:secret:db-AbC".into())])
    }

    #[test]
    fn an_unchanged_definition_compares_equal_despite_ecs_additions_and_order() {
        let desired = desired_task_def(&op(), &arns()).ok();
        assert_eq!(desired, Some(live_task_def(&live("r/app:1"))));
    }

    #[test]
    fn an_image_or_secret_arn_change_is_a_change() {
        let desired = desired_task_def(&op(), &arns()).ok();
        assert_ne!(desired, Some(live_task_def(&live("r/app:2"))));
        let other = BTreeMap::from([(("g".into(), "db".into()), "arn:secret:db-XyZ".into())]);
        assert_ne!(
            desired_task_def(&op(), &other).ok(),
            Some(live_task_def(&live("r/app:1")))
        );
    }

    #[test]
    fn changes_name_the_leaf_paths() {
        let desired = desired_task_def(&op(), &arns()).ok();
        let live = live_task_def(&live("r/app:2"));
        assert_eq!(
            desired.map(|d| json_changes(&live, &d)),
            Some(vec![
                r#"containers.app.image: "r/app:2" → "r/app:1""#.to_string()
            ])
        );
    }

    #[test]
    fn a_secret_without_a_stored_arn_is_named() {
        assert_eq!(
            desired_task_def(&op(), &BTreeMap::new()),
            Err(("g".into(), "db".into()))
        );
    }

    #[test]
    fn unreported_service_fields_fall_back_to_the_last_applied_ones() {
        let desired = ServiceFields {
            task_definition: Some("td:2".into()),
            desired_count: Some(2),
            health_check_grace_period_seconds: Some(60),
            circuit_breaker: Some((true, true)),
            ..ServiceFields::default()
        };
        let live = ServiceFields {
            task_definition: Some("td:2".into()),
            desired_count: Some(2),
            ..ServiceFields::default()
        };
        // Without a record, unreported fields are changes.
        let changes = service_changes(&desired, &live, None);
        assert_eq!(
            changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            [
                "healthCheckGracePeriodSeconds",
                "deploymentConfiguration.deploymentCircuitBreaker"
            ]
        );
        assert_eq!(changes[0].live, "(unset)");
        // With the last applied values, nothing changed.
        assert!(service_changes(&desired, &live, Some(&desired)).is_empty());
        // A reported field wins over the record.
        let moved = ServiceFields {
            desired_count: Some(5),
            ..live.clone()
        };
        let changes = service_changes(&desired, &moved, Some(&desired));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].live.as_str(), changes[0].desired.as_str()),
            ("5", "2")
        );
        // A desired None leaves the field alone (a scaler owns the count).
        let scaled = ServiceFields {
            desired_count: None,
            ..desired.clone()
        };
        assert!(service_changes(&scaled, &moved, Some(&desired)).is_empty());
    }
}
