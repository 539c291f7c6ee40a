//! Contract version 2: a kind declares its deploy target, and a render is tagged with it; an
//! AWS render is a closed set of typed operations.
//!
//! - [`Target`]: what a kind deploys to, declared in each [`crate::KindInfo`] of `describe`;
//! - [`RenderOutput`]: a render tagged with its target, Kubernetes objects or
//!   [`AwsOperation`]s;
//! - [`AwsOperation`]: one typed, declarative operation per AWS resource a kind may own (a log
//!   group, a secret it references, a task definition, a target group and listener rule, a
//!   service, a scalable target and its scaling policies).
//!
//! (Version 1 had no targets, and an AWS render was a bag of `{service, operation, input}`
//! API requests that the host had to trust; the host refuses version-1 plugins.)
//!
//! An operation says what should exist, never how to get there: whether to create or update,
//! and with which AWS API call, is the host's decision from what exists (a plugin never sees
//! live state). The host maps each operation to a typed `aws-sdk-*` builder in one table
//! (`planton-deploy-ecs`), applies them in a fixed order whatever the plugin's order (log
//! groups → secrets → task definitions → load balancing → services → scaling), and treats an
//! operation it does not know as the plugin's error ([`AwsOperation::parse_all`]).
//!
//! Secret values never appear here: a [`SecretOp`] names a `$secrets-group` entry, and a
//! container refers to it through [`ValueFrom::Secret`]; the host stores the value and puts
//! the store's ARN into the task definition.
//!
//! What this module is not: it does not know any kind (that is the plugins' job) nor any AWS
//! SDK type (that is the host's). It is plain serde data with camelCase keys, like the rest
//! of the contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a kind deploys to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// Kubernetes objects, applied server-side.
    Kubernetes,
    /// AWS resources, created and updated through the AWS APIs.
    Aws,
}

/// A render, tagged with its target.
///
/// Its JSON is an object with a `target` tag and the variant's field:
/// `{"target": "kubernetes", "objects": […]}` or `{"target": "aws", "operations": […]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "camelCase")]
pub enum RenderOutput {
    /// Kubernetes objects, in apply order.
    Kubernetes {
        /// The objects.
        objects: Vec<Value>,
    },
    /// AWS operations; the host orders them by [`AwsOperation::phase`].
    Aws {
        /// The operations, each a JSON object with an `op` tag (kept as JSON here so that an
        /// unknown operation is reported by [`AwsOperation::parse_all`] with its index, not
        /// as an opaque decoding error of the whole render).
        operations: Vec<Value>,
    },
}

/// Reads a render without buffering it: serde's derive for an internally tagged enum first
/// copies the whole document into an intermediate tree and then reads the variant from that
/// (every object key and string allocated twice). The contract's JSON is the same: a
/// `target` tag and the variant's field, in any order; unknown members are ignored.
impl<'de> Deserialize<'de> for RenderOutput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OutputVisitor)
    }
}

/// The members of a render's JSON object.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum OutputField {
    Target,
    Objects,
    Operations,
    #[serde(other)]
    Other,
}

struct OutputVisitor;

impl<'de> serde::de::Visitor<'de> for OutputVisitor {
    type Value = RenderOutput;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a render output: an object with a `target` tag")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RenderOutput, A::Error> {
        use serde::de::Error;
        let mut target: Option<Target> = None;
        let mut objects: Option<Vec<Value>> = None;
        let mut operations: Option<Vec<Value>> = None;
        while let Some(field) = map.next_key::<OutputField>()? {
            match field {
                OutputField::Target if target.is_some() => {
                    return Err(A::Error::duplicate_field("target"));
                }
                OutputField::Target => target = Some(map.next_value()?),
                OutputField::Objects if objects.is_some() => {
                    return Err(A::Error::duplicate_field("objects"));
                }
                OutputField::Objects => objects = Some(map.next_value()?),
                OutputField::Operations if operations.is_some() => {
                    return Err(A::Error::duplicate_field("operations"));
                }
                OutputField::Operations => operations = Some(map.next_value()?),
                OutputField::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        match target {
            None => Err(A::Error::missing_field("target")),
            Some(Target::Kubernetes) => Ok(RenderOutput::Kubernetes {
                objects: objects.ok_or_else(|| A::Error::missing_field("objects"))?,
            }),
            Some(Target::Aws) => Ok(RenderOutput::Aws {
                operations: operations.ok_or_else(|| A::Error::missing_field("operations"))?,
            }),
        }
    }
}

/// The order in which the host applies operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// CloudWatch Logs log groups and their retention.
    LogGroups,
    /// Secrets the task definition references.
    Secrets,
    /// ECS task definitions.
    TaskDefinitions,
    /// ELBv2 target groups and listener rules.
    LoadBalancing,
    /// ECS services.
    Services,
    /// Application Auto Scaling targets and policies.
    Scaling,
}

/// One typed AWS operation: a resource that should exist with these settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum AwsOperation {
    /// A CloudWatch Logs log group with a retention.
    LogGroup(LogGroupOp),
    /// A secret the service references: the host stores the entry's value.
    Secret(SecretOp),
    /// An ECS task definition family's desired revision.
    TaskDefinition(TaskDefinitionOp),
    /// An ELBv2 target group.
    TargetGroup(TargetGroupOp),
    /// A rule on an existing ELBv2 listener forwarding to a target group of this render.
    ListenerRule(ListenerRuleOp),
    /// An ECS service.
    Service(ServiceOp),
    /// An Application Auto Scaling scalable target (an ECS service's desired count).
    ScalableTarget(ScalableTargetOp),
    /// A target-tracking scaling policy on a scalable target.
    ScalingPolicy(ScalingPolicyOp),
}

/// The `op` tags the host knows, in [`Phase`] order.
pub const AWS_OPERATION_TAGS: &[&str] = &[
    "logGroup",
    "secret",
    "taskDefinition",
    "targetGroup",
    "listenerRule",
    "service",
    "scalableTarget",
    "scalingPolicy",
];

/// Why a v2 AWS render cannot be read: the plugin's fault, never the host's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationError {
    /// The index of the operation in the render.
    pub index: usize,
    /// What is wrong, lower-case without a trailing period.
    pub message: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Kubernetes => "kubernetes",
            Target::Aws => "aws",
        })
    }
}

impl RenderOutput {
    /// The target the render is for.
    pub fn target(&self) -> Target {
        match self {
            RenderOutput::Kubernetes { .. } => Target::Kubernetes,
            RenderOutput::Aws { .. } => Target::Aws,
        }
    }

    /// The objects or operations, in the plugin's order, taken out.
    pub fn into_items(self) -> Vec<Value> {
        match self {
            RenderOutput::Kubernetes { objects } => objects,
            RenderOutput::Aws { operations } => operations,
        }
    }

    /// The objects or operations, in the plugin's order.
    pub fn items(&self) -> &[Value] {
        match self {
            RenderOutput::Kubernetes { objects } => objects,
            RenderOutput::Aws { operations } => operations,
        }
    }
}

impl std::fmt::Display for OperationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "operation {}: {}", self.index, self.message)
    }
}

impl std::error::Error for OperationError {}

impl AwsOperation {
    /// When the host applies this operation.
    pub fn phase(&self) -> Phase {
        match self {
            AwsOperation::LogGroup(_) => Phase::LogGroups,
            AwsOperation::Secret(_) => Phase::Secrets,
            AwsOperation::TaskDefinition(_) => Phase::TaskDefinitions,
            AwsOperation::TargetGroup(_) | AwsOperation::ListenerRule(_) => Phase::LoadBalancing,
            AwsOperation::Service(_) => Phase::Services,
            AwsOperation::ScalableTarget(_) | AwsOperation::ScalingPolicy(_) => Phase::Scaling,
        }
    }

    /// The operation's `op` tag.
    pub fn tag(&self) -> &'static str {
        match self {
            AwsOperation::LogGroup(_) => "logGroup",
            AwsOperation::Secret(_) => "secret",
            AwsOperation::TaskDefinition(_) => "taskDefinition",
            AwsOperation::TargetGroup(_) => "targetGroup",
            AwsOperation::ListenerRule(_) => "listenerRule",
            AwsOperation::Service(_) => "service",
            AwsOperation::ScalableTarget(_) => "scalableTarget",
            AwsOperation::ScalingPolicy(_) => "scalingPolicy",
        }
    }

    /// Reads every operation of a render, in a stable [`Phase`] order (the plugin's order is
    /// kept within a phase). Reports every unreadable operation at once: an unknown `op` tag
    /// names the tags this contract knows; a known tag with bad fields names serde's reason.
    pub fn parse_all(values: &[Value]) -> Result<Vec<AwsOperation>, Vec<OperationError>> {
        let mut ops = Vec::new();
        let mut errors = Vec::new();
        for (index, v) in values.iter().enumerate() {
            match v.get("op").and_then(Value::as_str) {
                None => errors.push(OperationError {
                    index,
                    message: "an AWS operation needs a string `op` tag".to_string(),
                }),
                Some(tag) if !AWS_OPERATION_TAGS.contains(&tag) => errors.push(OperationError {
                    index,
                    message: format!(
                        "unknown AWS operation `{tag}` (this host knows: {})",
                        AWS_OPERATION_TAGS.join(", ")
                    ),
                }),
                Some(tag) => match serde_json::from_value::<AwsOperation>(v.clone()) {
                    Ok(op) => ops.push(op),
                    Err(e) => errors.push(OperationError {
                        index,
                        message: format!("`{tag}` is malformed: {e}"),
                    }),
                },
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        ops.sort_by_key(AwsOperation::phase);
        Ok(ops)
    }
}

/// A CloudWatch Logs log group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogGroupOp {
    /// The log group name, e.g. `/ecs/checkout`.
    pub name: String,
    /// Days to keep events (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, …).
    pub retention_days: i32,
    /// Tags set when the group is created.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A `$secrets-group/<group>/<entry>` the service references.
///
/// The host reads the value from the secret source, creates or updates the store entry
/// (a Secrets Manager secret, or an SSM SecureString parameter, as the host is configured)
/// named `planton/<group>/<entry>`, and puts its ARN into every [`ValueFrom::Secret`] that
/// names the same entry. A changed value forces a new deployment of the services.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretOp {
    /// The SecretsGroup's `metadata.name`.
    pub group: String,
    /// The entry's name within the group.
    pub entry: String,
}

/// Where a container's secret comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ValueFrom {
    /// A `$secrets-group` entry stored by the host (there must be a [`SecretOp`] for it).
    Secret {
        /// The group.
        group: String,
        /// The entry.
        entry: String,
    },
    /// An existing Secrets Manager secret or SSM parameter ARN, used as is.
    Arn(String),
}

/// An ECS task definition: the desired content of the family's newest revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskDefinitionOp {
    /// The family (also the key by which services refer to this operation).
    pub family: String,
    /// The task role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// The execution role (pulls the image, reads secrets, writes logs).
    pub execution_role_arn: String,
    /// `awsvpc`, `bridge`, `host` or `none`.
    pub network_mode: String,
    /// `FARGATE` and/or `EC2`.
    pub requires_compatibilities: Vec<String>,
    /// Task CPU units, as ECS writes them (`"256"`).
    pub cpu: String,
    /// Task memory in MiB, as ECS writes it (`"512"`).
    pub memory: String,
    /// The containers.
    pub containers: Vec<ContainerOp>,
    /// Tags of each registered revision.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One container of a task definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerOp {
    /// The container name.
    pub name: String,
    /// `REPO:TAG` or `REPO@DIGEST`.
    pub image: String,
    /// Whether the task stops when this container stops.
    pub essential: bool,
    /// TCP container ports.
    #[serde(default)]
    pub ports: Vec<i32>,
    /// Plain environment variables (never secrets).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secret environment variables, injected by ECS from the store.
    #[serde(default)]
    pub secrets: BTreeMap<String, ValueFrom>,
    /// S3 object ARNs of `.env` files.
    #[serde(default)]
    pub environment_files: Vec<String>,
    /// awslogs settings, when the container logs to CloudWatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<AwsLogsOp>,
}

/// The awslogs log driver's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsLogsOp {
    /// The log group (a [`LogGroupOp`] of the same render).
    pub group: String,
    /// The log group's region.
    pub region: String,
    /// The stream prefix.
    pub stream_prefix: String,
}

/// An ELBv2 target group for a service's tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetGroupOp {
    /// The name (at most 32 characters; also the key listener rules and services refer to).
    pub name: String,
    /// The load balancer whose VPC the target group lives in.
    pub load_balancer_arn: String,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// The traffic port.
    pub port: i32,
    /// `ip` for awsvpc tasks, `instance` for bridge networking.
    pub target_type: String,
    /// Health check settings; absent ones take ELB's defaults.
    #[serde(default)]
    pub health_check: HealthCheckOp,
    /// Tags set when the target group is created.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A target group health check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckOp {
    /// `HTTP`, `HTTPS` or `TCP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The HTTP path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A port number or `traffic-port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Seconds between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<i32>,
    /// Seconds before a check fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Successes before a target is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<i32>,
    /// Failures before a target is unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<i32>,
}

/// A rule on the existing listener `listener_port` of a load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRuleOp {
    /// The load balancer.
    pub load_balancer_arn: String,
    /// The listener's port on that load balancer.
    pub listener_port: i32,
    /// The rule priority (the rule's identity on the listener).
    pub priority: i32,
    /// What the rule matches.
    pub condition: RuleCondition,
    /// The [`TargetGroupOp::name`] the rule forwards to.
    pub target_group: String,
}

/// What a listener rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum RuleCondition {
    /// Path patterns (`/api`, `/api/*`).
    PathPattern(Vec<String>),
    /// Host headers.
    HostHeader(Vec<String>),
}

/// An ECS service running a task definition of the same render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceOp {
    /// The cluster ARN.
    pub cluster: String,
    /// The service name.
    pub name: String,
    /// The [`TaskDefinitionOp::family`] to run.
    pub task_definition: String,
    /// The desired task count (the starting point when a scalable target manages it).
    pub desired_count: i32,
    /// `FARGATE` or `EC2`.
    pub launch_type: String,
    /// awsvpc subnets.
    pub subnets: Vec<String>,
    /// awsvpc security groups.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Whether tasks get a public IP.
    #[serde(default)]
    pub assign_public_ip: bool,
    /// The load balancer attachment, when the service is behind one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<ServiceLoadBalancerOp>,
    /// Seconds ECS ignores failing load balancer health checks of a new task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i32>,
    /// Enable the deployment circuit breaker with rollback.
    #[serde(default = "yes")]
    pub circuit_breaker: bool,
    /// Tags of the service (propagated to its tasks).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// A service's attachment to a target group of the same render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceLoadBalancerOp {
    /// The [`TargetGroupOp::name`].
    pub target_group: String,
    /// The container receiving traffic.
    pub container_name: String,
    /// Its port.
    pub container_port: i32,
}

/// An ECS service's desired count as an Application Auto Scaling scalable target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalableTargetOp {
    /// The cluster's name (not its ARN).
    pub cluster_name: String,
    /// The service name.
    pub service: String,
    /// The fewest tasks.
    pub min_capacity: i32,
    /// The most tasks.
    pub max_capacity: i32,
}

/// A target-tracking scaling policy on a scalable target of the same render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingPolicyOp {
    /// The cluster's name.
    pub cluster_name: String,
    /// The service name.
    pub service: String,
    /// The policy name.
    pub name: String,
    /// The metric tracked.
    pub metric: ScalingMetric,
    /// The target value, in percent.
    pub target_value: f64,
}

/// A predefined ECS service metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScalingMetric {
    /// `ECSServiceAverageCPUUtilization`.
    Cpu,
    /// `ECSServiceAverageMemoryUtilization`.
    Memory,
}

impl ScalingMetric {
    /// The Application Auto Scaling name of the metric.
    pub fn predefined_metric_type(self) -> &'static str {
        match self {
            ScalingMetric::Cpu => "ECSServiceAverageCPUUtilization",
            ScalingMetric::Memory => "ECSServiceAverageMemoryUtilization",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn render_output_reads_the_tag_in_any_position_and_refuses_what_is_missing() {
        let read = |v: Value| serde_json::from_value::<RenderOutput>(v).map_err(|e| e.to_string());
        let k8s = RenderOutput::Kubernetes {
            objects: vec![json!({"kind": "Service"})],
        };
        let text = serde_json::to_string(&k8s).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"target":"kubernetes","objects":[{"kind":"Service"}]}"#
        );
        assert_eq!(
            serde_json::from_str::<RenderOutput>(&text).ok(),
            Some(k8s.clone())
        );
        // The tag after the field, and an unknown member, as the derived reader accepted.
        assert_eq!(
            read(json!({"objects": [{"kind": "Service"}], "extra": 1, "target": "kubernetes"})),
            Ok(k8s)
        );
        assert_eq!(
            read(json!({"operations": [], "target": "aws"})),
            Ok(RenderOutput::Aws { operations: vec![] })
        );
        let err = |v: Value| read(v).err().unwrap_or_default();
        assert!(err(json!({"objects": []})).contains("missing field `target`"));
        assert!(
            err(json!({"target": "aws", "objects": []})).contains("missing field `operations`")
        );
        assert!(err(json!({"target": "gcp"})).contains("unknown variant `gcp`"));
        assert!(err(json!([])).contains("a render output"));
        let dup = serde_json::from_str::<RenderOutput>(
            r#"{"target":"kubernetes","objects":[],"objects":[]}"#,
        );
        assert!(dup.is_err_and(|e| e.to_string().contains("duplicate field `objects`")));
    }

    #[test]
    fn operations_are_tagged_and_ordered_by_phase() {
        let values = vec![
            json!({"op": "scalableTarget", "clusterName": "c", "service": "s", "minCapacity": 1, "maxCapacity": 2}),
            json!({"op": "logGroup", "name": "/ecs/s", "retentionDays": 30}),
            json!({"op": "secret", "group": "g", "entry": "e"}),
        ];
        let ops = AwsOperation::parse_all(&values).unwrap_or_default();
        let tags: Vec<_> = ops.iter().map(AwsOperation::tag).collect();
        assert_eq!(tags, ["logGroup", "secret", "scalableTarget"]);
        // Serialising gives back the input shape.
        assert_eq!(
            serde_json::to_value(&ops[1]).unwrap_or_default(),
            values[2].clone()
        );
    }

    #[test]
    fn unknown_and_malformed_operations_are_plugin_errors_with_their_index() {
        let values = vec![
            json!({"op": "logGroup", "name": "/x", "retentionDays": 30}),
            json!({"op": "createBucket", "name": "b"}),
            json!({"op": "logGroup", "name": "/x", "retentionDays": 30, "color": "red"}),
            json!({"name": "no tag"}),
        ];
        let errors = AwsOperation::parse_all(&values).err().unwrap_or_default();
        assert_eq!(
            errors.iter().map(|e| e.index).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(
            errors[0]
                .message
                .contains("unknown AWS operation `createBucket`")
        );
        assert!(errors[0].message.contains("taskDefinition"));
        assert!(errors[1].message.contains("unknown field `color`"));
        assert!(errors[2].to_string().starts_with("operation 3: "));
    }

    #[test]
    fn every_tag_is_listed_once_in_phase_order() {
        let mut phases = Vec::new();
        for tag in AWS_OPERATION_TAGS {
            // A tag with no fields fails on missing fields, not as unknown.
            let errs = AwsOperation::parse_all(&[json!({"op": tag})])
                .err()
                .unwrap_or_default();
            assert!(errs[0].message.contains("malformed"), "{tag}: {errs:?}");
            phases.push(tag);
        }
        assert_eq!(phases.len(), 8);
    }

    #[test]
    fn render_output_is_tagged_with_its_target() {
        let out = RenderOutput::Aws { operations: vec![] };
        assert_eq!(
            serde_json::to_value(&out).unwrap_or_default(),
            json!({"target": "aws", "operations": []})
        );
    }
}
