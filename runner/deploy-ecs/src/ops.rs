//! The table from typed contract-v2 operations to AWS SDK calls: one function per
//! [`AwsOperation`] variant, dispatched by the one `match` in `apply`.
//!
//! Each function reads what exists, decides create, update or nothing, and builds the typed
//! `aws-sdk-*` request. Before its first write, a deploy takes the deploy lock and records a
//! pending revision (`Run::mutating`), so a crash leaves a trace and a re-run finishes the job (every step
//! is idempotent: it compares before it writes).
//!
//! | operation | reads | writes |
//! |---|---|---|
//! | `logGroup` | `logs:DescribeLogGroups` | `logs:CreateLogGroup`, `logs:PutRetentionPolicy` |
//! | `secret` (Secrets Manager) | `secretsmanager:DescribeSecret`, `GetSecretValue` | `CreateSecret`, `PutSecretValue` |
//! | `secret` (SSM) | `ssm:GetParameter` | `ssm:PutParameter` (SecureString) |
//! | `taskDefinition` | `ecs:DescribeTaskDefinition` | `ecs:RegisterTaskDefinition` |
//! | `targetGroup` | `elbv2:DescribeLoadBalancers`, `DescribeTargetGroups` | `CreateTargetGroup`, `ModifyTargetGroup` |
//! | `listenerRule` | `elbv2:DescribeListeners`, `DescribeRules` | `CreateRule`, `ModifyRule` |
//! | `service` | `ecs:DescribeServices` | `ecs:CreateService`, `ecs:UpdateService` |
//! | `scalableTarget` | `application-autoscaling:DescribeScalableTargets` | `RegisterScalableTarget` |
//! | `scalingPolicy` | `application-autoscaling:DescribeScalingPolicies` | `PutScalingPolicy` |
//!
//! Tags of existing resources follow the render ([`tag_changes`]): a log group by
//! `logs:ListTagsForResource` → `TagResource`/`UntagResource`, the running task definition
//! revision and the service by `ecs:ListTagsForResource` → `TagResource`/`UntagResource`
//! (a tag change alone registers no revision and starts no deployment), a target group by
//! `elbv2:DescribeTags` → `AddTags`/`RemoveTags`. Keys under [`OWNED_TAG_PREFIX`] that the
//! render no longer has are removed; tags others set are left alone.

use crate::compare::{self, FieldChange, ServiceFields};
use crate::config::Clients;
use crate::error::{Error, Result, aws, built, code_of};
use crate::state::{self, DeployState, Revision, RevisionResult};
use crate::{Action, Change, SecretStore};
use planton_core::refs::SecretValue;
use planton_plugin_sdk::target::{
    AwsOperation, ListenerRuleOp, LogGroupOp, RuleCondition, ScalableTargetOp, ScalingPolicyOp,
    SecretOp, ServiceOp, TargetGroupOp, TaskDefinitionOp, ValueFrom,
};
use std::collections::{BTreeMap, BTreeSet};

/// What a deploy learns and decides while it applies operations.
pub(crate) struct Run<'a> {
    pub clients: &'a Clients,
    pub secrets: &'a BTreeMap<(String, String), SecretValue>,
    pub store: SecretStore,
    pub progress: &'a (dyn Fn(&str) + Sync),
    /// `(group, entry)` → store ARN.
    pub secret_arns: BTreeMap<(String, String), String>,
    /// A stored secret value changed: the service must roll even if nothing else did.
    pub rotated: bool,
    /// Task definition family → the ARN to run.
    pub task_definitions: BTreeMap<String, String>,
    /// Target group name → ARN.
    pub target_groups: BTreeMap<String, String>,
    /// Services whose desired count a scalable target of this render manages.
    pub scaled: BTreeSet<String>,
    /// The last applied service fields (from the state).
    pub last_applied: Option<ServiceFields>,
    /// The service fields this deploy wants.
    pub applied: ServiceFields,
    /// Set when the service was created or updated: what was there before, and the task
    /// definition to wait for.
    pub rolled: Option<(crate::wait::Before, String)>,
    /// What happened, in order.
    pub actions: Vec<Action>,
    /// The state parameter and the record to write before the first change.
    pub state_parameter: String,
    pub state: DeployState,
    pub pending: Option<Revision>,
    pub pending_written: bool,
    /// Decide only: no write at all (`diff`).
    pub dry_run: bool,
    /// The deploy lock, taken before the first write (`None`: `diff`, or already held by
    /// the caller).
    pub lock: Option<&'a crate::LockSlot>,
    /// The lock's parameter path ([`crate::lock::lock_path`]).
    pub lock_path: String,
    /// The state parameter's version when this run read it (`None`: no state yet).
    pub state_version: Option<i64>,
}

impl Run<'_> {
    /// Called before every write: the first call stores a pending revision. False in a dry
    /// run, where the caller records what it would do and skips the write.
    pub async fn mutating(&mut self) -> Result<bool> {
        if self.dry_run {
            return Ok(false);
        }
        if self.pending_written {
            return Ok(true);
        }
        if let Some(slot) = self.lock {
            self.take_lock(slot).await?;
        }
        if let Some(rev) = self.pending.clone() {
            self.state.push(rev);
            write_state(self.clients, &self.state_parameter, &self.state).await?;
        }
        self.pending_written = true;
        Ok(true)
    }

    /// Takes the deploy lock (unless held), then makes sure the state is still the one
    /// this run decided on: a different version means another deploy wrote in between, and
    /// [`Error::StateMoved`] makes the caller decide again under the lock.
    async fn take_lock(&mut self, slot: &crate::LockSlot) -> Result<()> {
        if slot.is_held() {
            return Ok(());
        }
        let progress = self.progress;
        let on_wait = |r: &crate::lock::LockRecord| {
            progress(&format!(
                "waiting for the deploy lock of {} held by {} (environment {}) since {}",
                self.state.service,
                r.holder,
                r.environment,
                crate::lock::rfc3339(r.acquired_at)
            ))
        };
        let held = crate::lock::acquire(
            &self.clients.ssm,
            &self.lock_path,
            &self.state.environment,
            &slot.opts,
            &on_wait,
        )
        .await?;
        if let Some(prev) = &held.took_over {
            (self.progress)(&format!(
                "took over the deploy lock of {} (environment {}): it stopped renewing",
                prev.holder, prev.environment
            ));
        }
        slot.put(held);
        let (_, version) = read_state_versioned(self.clients, &self.state_parameter).await?;
        if version != self.state_version {
            return Err(Error::StateMoved {
                parameter: self.state_parameter.clone(),
            });
        }
        Ok(())
    }

    fn record(&mut self, resource: String, change: Change) {
        let line = match &change {
            Change::Created => format!("{resource}: created"),
            Change::Updated(fields) => format!("{resource}: updated ({})", fields.join(", ")),
            Change::Unchanged => format!("{resource}: unchanged"),
        };
        (self.progress)(&line);
        self.actions.push(Action { resource, change });
    }
}

/// Applies one operation: the table.
pub(crate) async fn apply(run: &mut Run<'_>, op: &AwsOperation) -> Result<()> {
    match op {
        AwsOperation::LogGroup(o) => log_group(run, o).await,
        AwsOperation::Secret(o) => secret(run, o).await,
        AwsOperation::TaskDefinition(o) => task_definition(run, o).await,
        AwsOperation::TargetGroup(o) => target_group(run, o).await,
        AwsOperation::ListenerRule(o) => listener_rule(run, o).await,
        AwsOperation::Service(o) => service(run, o).await,
        AwsOperation::ScalableTarget(o) => scalable_target(run, o).await,
        AwsOperation::ScalingPolicy(o) => scaling_policy(run, o).await,
    }
}

async fn log_group(run: &mut Run<'_>, o: &LogGroupOp) -> Result<()> {
    let clients = run.clients;
    let logs = &clients.logs;
    let found = logs
        .describe_log_groups()
        .log_group_name_prefix(&o.name)
        .send()
        .await
        .map_err(|e| aws("logs:DescribeLogGroups", e))?;
    let live = found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(o.name.as_str()))
        .cloned();
    let resource = format!("log group {}", o.name);
    let Some(live) = live else {
        if run.mutating().await? {
            let r = logs
                .create_log_group()
                .log_group_name(&o.name)
                .set_tags(Some(o.tags.clone().into_iter().collect()))
                .send()
                .await;
            match r {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("ResourceAlreadyExistsException") => {}
                Err(e) => return Err(aws("logs:CreateLogGroup", e)),
            }
            logs.put_retention_policy()
                .log_group_name(&o.name)
                .retention_in_days(o.retention_days)
                .send()
                .await
                .map_err(|e| aws("logs:PutRetentionPolicy", e))?;
        }
        run.record(resource, Change::Created);
        return Ok(());
    };
    let mut changed = Vec::new();
    if live.retention_in_days() != Some(o.retention_days) {
        changed.push("retentionInDays".to_string());
        if run.mutating().await? {
            logs.put_retention_policy()
                .log_group_name(&o.name)
                .retention_in_days(o.retention_days)
                .send()
                .await
                .map_err(|e| aws("logs:PutRetentionPolicy", e))?;
        }
    }
    // The ARN without the `:*` that `arn` carries.
    let arn = live
        .log_group_arn()
        .map(str::to_string)
        .or_else(|| live.arn().map(|a| a.trim_end_matches(":*").to_string()))
        .unwrap_or_default();
    let live_tags: BTreeMap<String, String> = logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| aws("logs:ListTagsForResource", e))?
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let tags = tag_changes(&live_tags, &o.tags);
    if !tags.is_empty() && run.mutating().await? {
        if !tags.set.is_empty() {
            logs.tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(tags.set.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws("logs:TagResource", e))?;
        }
        if !tags.remove.is_empty() {
            logs.untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(tags.remove.clone()))
                .send()
                .await
                .map_err(|e| aws("logs:UntagResource", e))?;
        }
    }
    changed.extend(tags.fields);
    run.record(resource, Change::updated_or_unchanged(changed));
    Ok(())
}

/// Tag keys planton owns: set from the render, and removed from a resource when the render
/// no longer has them. Other tags on a resource are left alone.
pub const OWNED_TAG_PREFIX: &str = "planton.ai/";

/// What to change on a resource's tags so that they match the render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Tags to add or overwrite.
    pub set: BTreeMap<String, String>,
    /// Keys to remove (owned keys the render no longer has).
    pub remove: Vec<String>,
    /// `tags.<key>: "old" → "new"`, one per change, for the report.
    pub fields: Vec<String>,
}

impl TagChanges {
    /// True when the tags already match.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// The tag changes from `live` to `want`.
pub fn tag_changes(live: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> TagChanges {
    let quoted = |v: Option<&String>| v.map_or("null".to_string(), |v| format!("{v:?}"));
    let mut out = TagChanges::default();
    for (k, v) in want {
        if live.get(k) != Some(v) {
            out.fields.push(format!(
                "tags.{k}: {} → {}",
                quoted(live.get(k)),
                quoted(Some(v))
            ));
            out.set.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in live {
        if k.starts_with(OWNED_TAG_PREFIX) && !want.contains_key(k) {
            out.fields
                .push(format!("tags.{k}: {} → null", quoted(Some(v))));
            out.remove.push(k.clone());
        }
    }
    out
}

/// Brings the tags of an ECS resource (a task definition revision or a service) to `want`;
/// returns the changed fields.
async fn sync_ecs_tags(
    run: &mut Run<'_>,
    arn: &str,
    want: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let ecs = &run.clients.ecs;
    let live: BTreeMap<String, String> = ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws("ecs:ListTagsForResource", e))?
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    let tags = tag_changes(&live, want);
    if !tags.is_empty() && run.mutating().await? {
        let ecs = &run.clients.ecs;
        if let Some(set) = ecs_tags(&tags.set) {
            ecs.tag_resource()
                .resource_arn(arn)
                .set_tags(Some(set))
                .send()
                .await
                .map_err(|e| aws("ecs:TagResource", e))?;
        }
        if !tags.remove.is_empty() {
            ecs.untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(tags.remove.clone()))
                .send()
                .await
                .map_err(|e| aws("ecs:UntagResource", e))?;
        }
    }
    Ok(tags.fields)
}

/// Brings the tags of a target group to `want`; returns the changed fields.
async fn sync_elb_tags(
    run: &mut Run<'_>,
    arn: &str,
    want: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let elb = &run.clients.elb;
    let live: BTreeMap<String, String> = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .map_err(|e| aws("elbv2:DescribeTags", e))?
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    let tags = tag_changes(&live, want);
    if !tags.is_empty() && run.mutating().await? {
        let elb = &run.clients.elb;
        if let Some(set) = elb_tags(&tags.set) {
            elb.add_tags()
                .resource_arns(arn)
                .set_tags(Some(set))
                .send()
                .await
                .map_err(|e| aws("elbv2:AddTags", e))?;
        }
        if !tags.remove.is_empty() {
            elb.remove_tags()
                .resource_arns(arn)
                .set_tag_keys(Some(tags.remove.clone()))
                .send()
                .await
                .map_err(|e| aws("elbv2:RemoveTags", e))?;
        }
    }
    Ok(tags.fields)
}

/// The store name of a group entry: `planton/<group>/<entry>` in Secrets Manager,
/// `/planton/<group>/<entry>` in SSM.
pub fn secret_name(store: SecretStore, group: &str, entry: &str) -> String {
    match store {
        SecretStore::SecretsManager => format!("planton/{group}/{entry}"),
        SecretStore::SsmSecureString => format!("/planton/{group}/{entry}"),
    }
}

async fn secret(run: &mut Run<'_>, o: &SecretOp) -> Result<()> {
    let key = (o.group.clone(), o.entry.clone());
    let value = run
        .secrets
        .get(&key)
        .ok_or_else(|| Error::MissingSecret {
            group: o.group.clone(),
            entry: o.entry.clone(),
        })?
        .clone();
    let name = secret_name(run.store, &o.group, &o.entry);
    let resource = format!("secret {name}");
    let (arn, change) = match run.store {
        SecretStore::SecretsManager => secrets_manager(run, &name, &value).await?,
        SecretStore::SsmSecureString => ssm_secure_string(run, &name, &value).await?,
    };
    if change == Change::Updated(vec!["value".to_string()]) {
        run.rotated = true;
    }
    run.secret_arns.insert(key, arn);
    run.record(resource, change);
    Ok(())
}

async fn secrets_manager(
    run: &mut Run<'_>,
    name: &str,
    value: &SecretValue,
) -> Result<(String, Change)> {
    let clients = run.clients;
    let sm = &clients.secrets;
    match sm.describe_secret().secret_id(name).send().await {
        Ok(found) => {
            let arn = found.arn().unwrap_or(name).to_string();
            let current = sm
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| aws("secretsmanager:GetSecretValue", e))?;
            if current.secret_string() == Some(value.expose()) {
                return Ok((arn, Change::Unchanged));
            }
            if !run.mutating().await? {
                return Ok((arn, Change::Updated(vec!["value".to_string()])));
            }
            sm.put_secret_value()
                .secret_id(&arn)
                .secret_string(value.expose())
                .send()
                .await
                .map_err(|e| aws("secretsmanager:PutSecretValue", e))?;
            Ok((arn, Change::Updated(vec!["value".to_string()])))
        }
        Err(e) if code_of(&e) == Some("ResourceNotFoundException") => {
            if !run.mutating().await? {
                return Ok((format!("(new secret {name})"), Change::Created));
            }
            let created = sm
                .create_secret()
                .name(name)
                .description("managed by planton")
                .secret_string(value.expose())
                .tags(
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key("planton.ai/managed-by")
                        .value("planton")
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws("secretsmanager:CreateSecret", e))?;
            Ok((created.arn().unwrap_or(name).to_string(), Change::Created))
        }
        Err(e) => Err(aws("secretsmanager:DescribeSecret", e)),
    }
}

async fn ssm_secure_string(
    run: &mut Run<'_>,
    name: &str,
    value: &SecretValue,
) -> Result<(String, Change)> {
    let clients = run.clients;
    let ssm = &clients.ssm;
    let change = match ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(found) => {
            let p = found.parameter();
            if p.and_then(|p| p.value()) == Some(value.expose()) {
                let arn = p.and_then(|p| p.arn()).unwrap_or(name).to_string();
                return Ok((arn, Change::Unchanged));
            }
            Change::Updated(vec!["value".to_string()])
        }
        Err(e) if code_of(&e) == Some("ParameterNotFound") => Change::Created,
        Err(e) => return Err(aws("ssm:GetParameter", e)),
    };
    if !run.mutating().await? {
        return Ok((format!("(SSM parameter {name})"), change));
    }
    clients
        .ssm
        .put_parameter()
        .name(name)
        .value(value.expose())
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| aws("ssm:PutParameter", e))?;
    let arn = run
        .clients
        .ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .map_err(|e| aws("ssm:GetParameter", e))?
        .parameter()
        .and_then(|p| p.arn())
        .unwrap_or(name)
        .to_string();
    Ok((arn, change))
}

async fn task_definition(run: &mut Run<'_>, o: &TaskDefinitionOp) -> Result<()> {
    let clients = run.clients;
    let desired = compare::desired_task_def(o, &run.secret_arns).map_err(|(group, entry)| {
        Error::Plugin {
            message: format!(
                "task definition {} references $secrets-group/{group}/{entry} without a `secret` operation for it",
                o.family
            ),
        }
    })?;
    let ecs = &clients.ecs;
    let live = match ecs
        .describe_task_definition()
        .task_definition(&o.family)
        .send()
        .await
    {
        Ok(out) => out.task_definition().cloned(),
        Err(e) if code_of(&e) == Some("ClientException") => None,
        Err(e) => return Err(aws("ecs:DescribeTaskDefinition", e)),
    };
    let resource = format!("task definition {}", o.family);
    let live_normal = live.as_ref().map(compare::live_task_def);
    // A new revision of an existing family says what changed; a new family is created.
    let change = match &live_normal {
        Some(l) => Change::Updated(compare::json_changes(l, &desired)),
        None => Change::Created,
    };
    if let Some(live) = live.filter(|_| live_normal.as_ref() == Some(&desired)) {
        let arn = live.task_definition_arn().unwrap_or_default().to_string();
        // Only the tags differ: tag the revision in use, register nothing.
        let tags = sync_ecs_tags(run, &arn, &o.tags).await?;
        run.task_definitions.insert(o.family.clone(), arn);
        run.record(resource, Change::updated_or_unchanged(tags));
        return Ok(());
    }
    let mut containers = Vec::new();
    for c in &o.containers {
        let mut b = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name(&c.name)
            .image(&c.image)
            .essential(c.essential);
        for p in &c.ports {
            b = b.port_mappings(
                aws_sdk_ecs::types::PortMapping::builder()
                    .container_port(*p)
                    .protocol(aws_sdk_ecs::types::TransportProtocol::Tcp)
                    .build(),
            );
        }
        for (k, v) in &c.environment {
            b = b.environment(
                aws_sdk_ecs::types::KeyValuePair::builder()
                    .name(k)
                    .value(v)
                    .build(),
            );
        }
        for (name, arn) in &desired.containers[&c.name].secrets {
            b = b.secrets(built(
                "ecs:RegisterTaskDefinition",
                aws_sdk_ecs::types::Secret::builder()
                    .name(name)
                    .value_from(arn)
                    .build(),
            )?);
        }
        for f in &c.environment_files {
            b = b.environment_files(built(
                "ecs:RegisterTaskDefinition",
                aws_sdk_ecs::types::EnvironmentFile::builder()
                    .value(f)
                    .r#type(aws_sdk_ecs::types::EnvironmentFileType::S3)
                    .build(),
            )?);
        }
        if let Some(l) = &c.logs {
            b = b.log_configuration(built(
                "ecs:RegisterTaskDefinition",
                aws_sdk_ecs::types::LogConfiguration::builder()
                    .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
                    .options("awslogs-group", &l.group)
                    .options("awslogs-region", &l.region)
                    .options("awslogs-stream-prefix", &l.stream_prefix)
                    .build(),
            )?);
        }
        containers.push(b.build());
    }
    if !run.mutating().await? {
        run.task_definitions
            .insert(o.family.clone(), format!("(new revision of {})", o.family));
        run.record(resource, change);
        return Ok(());
    }
    let out = ecs
        .register_task_definition()
        .family(&o.family)
        .set_task_role_arn(o.task_role_arn.clone())
        .execution_role_arn(&o.execution_role_arn)
        .network_mode(aws_sdk_ecs::types::NetworkMode::from(
            o.network_mode.as_str(),
        ))
        .set_requires_compatibilities(Some(
            o.requires_compatibilities
                .iter()
                .map(|c| aws_sdk_ecs::types::Compatibility::from(c.as_str()))
                .collect(),
        ))
        .cpu(&o.cpu)
        .memory(&o.memory)
        .set_container_definitions(Some(containers))
        .set_tags(ecs_tags(&o.tags))
        .send()
        .await
        .map_err(|e| aws("ecs:RegisterTaskDefinition", e))?;
    let arn = out
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap_or_default()
        .to_string();
    run.task_definitions.insert(o.family.clone(), arn.clone());
    run.record(format!("{resource} ({})", crate::wait::short(&arn)), change);
    Ok(())
}

fn ecs_tags(tags: &BTreeMap<String, String>) -> Option<Vec<aws_sdk_ecs::types::Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
            .collect()
    })
}

fn elb_tags(
    tags: &BTreeMap<String, String>,
) -> Option<Vec<aws_sdk_elasticloadbalancingv2::types::Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| {
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    })
}

async fn target_group(run: &mut Run<'_>, o: &TargetGroupOp) -> Result<()> {
    let clients = run.clients;
    use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
    let elb = &clients.elb;
    let resource = format!("target group {}", o.name);
    let lb = elb
        .describe_load_balancers()
        .load_balancer_arns(&o.load_balancer_arn)
        .send()
        .await
        .map_err(|e| aws("elbv2:DescribeLoadBalancers", e))?;
    let vpc = lb
        .load_balancers()
        .first()
        .and_then(|l| l.vpc_id())
        .unwrap_or_default()
        .to_string();
    let live = match elb.describe_target_groups().names(&o.name).send().await {
        Ok(out) => out.target_groups().first().cloned(),
        Err(e) if code_of(&e) == Some("TargetGroupNotFound") => None,
        Err(e) => return Err(aws("elbv2:DescribeTargetGroups", e)),
    };
    let hc = &o.health_check;
    let Some(live) = live else {
        if !run.mutating().await? {
            run.target_groups
                .insert(o.name.clone(), format!("(new target group {})", o.name));
            run.record(resource, Change::Created);
            return Ok(());
        }
        let out = elb
            .create_target_group()
            .name(&o.name)
            .protocol(ProtocolEnum::from(o.protocol.as_str()))
            .port(o.port)
            .vpc_id(&vpc)
            .target_type(TargetTypeEnum::from(o.target_type.as_str()))
            .set_health_check_protocol(hc.protocol.as_deref().map(ProtocolEnum::from))
            .set_health_check_path(hc.path.clone())
            .set_health_check_port(hc.port.clone())
            .set_health_check_interval_seconds(hc.interval_seconds)
            .set_health_check_timeout_seconds(hc.timeout_seconds)
            .set_healthy_threshold_count(hc.healthy_threshold)
            .set_unhealthy_threshold_count(hc.unhealthy_threshold)
            .set_tags(elb_tags(&o.tags))
            .send()
            .await
            .map_err(|e| aws("elbv2:CreateTargetGroup", e))?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .unwrap_or_default()
            .to_string();
        run.target_groups.insert(o.name.clone(), arn);
        run.record(resource, Change::Created);
        return Ok(());
    };
    let arn = live.target_group_arn().unwrap_or_default().to_string();
    let fixed = [
        (
            "Port",
            live.port().map(|p| p.to_string()),
            Some(o.port.to_string()),
        ),
        (
            "Protocol",
            live.protocol().map(|p| p.as_str().to_string()),
            Some(o.protocol.clone()),
        ),
        (
            "VpcId",
            live.vpc_id().map(str::to_string),
            Some(vpc.clone()),
        ),
        (
            "TargetType",
            live.target_type().map(|t| t.as_str().to_string()),
            Some(o.target_type.clone()),
        ),
    ];
    for (field, have, want) in fixed {
        if have != want {
            return Err(Error::Conflict {
                resource,
                message: format!(
                    "{field} is {} and cannot change in place (wanted {}): delete the target group or rename the service",
                    have.unwrap_or_default(),
                    want.unwrap_or_default()
                ),
            });
        }
    }
    let mut changed = Vec::new();
    let mut check = |field: &str, have: Option<String>, want: Option<String>| {
        if want.is_some() && have != want {
            changed.push(field.to_string());
        }
    };
    check(
        "HealthCheckProtocol",
        live.health_check_protocol().map(|p| p.as_str().to_string()),
        hc.protocol.clone(),
    );
    check(
        "HealthCheckPath",
        live.health_check_path().map(str::to_string),
        hc.path.clone(),
    );
    check(
        "HealthCheckPort",
        live.health_check_port().map(str::to_string),
        hc.port.clone(),
    );
    let num = |v: Option<i32>| v.map(|n| n.to_string());
    check(
        "HealthCheckIntervalSeconds",
        num(live.health_check_interval_seconds()),
        num(hc.interval_seconds),
    );
    check(
        "HealthCheckTimeoutSeconds",
        num(live.health_check_timeout_seconds()),
        num(hc.timeout_seconds),
    );
    check(
        "HealthyThresholdCount",
        num(live.healthy_threshold_count()),
        num(hc.healthy_threshold),
    );
    check(
        "UnhealthyThresholdCount",
        num(live.unhealthy_threshold_count()),
        num(hc.unhealthy_threshold),
    );
    if !changed.is_empty() && run.mutating().await? {
        elb.modify_target_group()
            .target_group_arn(&arn)
            .set_health_check_protocol(hc.protocol.as_deref().map(ProtocolEnum::from))
            .set_health_check_path(hc.path.clone())
            .set_health_check_port(hc.port.clone())
            .set_health_check_interval_seconds(hc.interval_seconds)
            .set_health_check_timeout_seconds(hc.timeout_seconds)
            .set_healthy_threshold_count(hc.healthy_threshold)
            .set_unhealthy_threshold_count(hc.unhealthy_threshold)
            .send()
            .await
            .map_err(|e| aws("elbv2:ModifyTargetGroup", e))?;
    }
    changed.extend(sync_elb_tags(run, &arn, &o.tags).await?);
    run.target_groups.insert(o.name.clone(), arn);
    run.record(resource, Change::updated_or_unchanged(changed));
    Ok(())
}

async fn listener_rule(run: &mut Run<'_>, o: &ListenerRuleOp) -> Result<()> {
    let clients = run.clients;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action as ElbAction, ActionTypeEnum, HostHeaderConditionConfig, PathPatternConditionConfig,
        RuleCondition as ElbCondition,
    };
    let elb = &clients.elb;
    let resource = format!("listener rule {} on port {}", o.priority, o.listener_port);
    let tg_arn = run
        .target_groups
        .get(&o.target_group)
        .cloned()
        .ok_or_else(|| Error::Plugin {
            message: format!(
                "listener rule {} forwards to target group {} that the render does not create",
                o.priority, o.target_group
            ),
        })?;
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&o.load_balancer_arn)
        .send()
        .await
        .map_err(|e| aws("elbv2:DescribeListeners", e))?;
    let listener = listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(o.listener_port))
        .and_then(|l| l.listener_arn())
        .ok_or_else(|| Error::Conflict {
            resource: resource.clone(),
            message: format!(
                "the load balancer has no listener on port {}",
                o.listener_port
            ),
        })?
        .to_string();
    let (field, values) = match &o.condition {
        RuleCondition::PathPattern(v) => ("path-pattern", v.clone()),
        RuleCondition::HostHeader(v) => ("host-header", v.clone()),
    };
    let condition = match &o.condition {
        RuleCondition::PathPattern(v) => ElbCondition::builder()
            .field(field)
            .path_pattern_config(
                PathPatternConditionConfig::builder()
                    .set_values(Some(v.clone()))
                    .build(),
            )
            .build(),
        RuleCondition::HostHeader(v) => ElbCondition::builder()
            .field(field)
            .host_header_config(
                HostHeaderConditionConfig::builder()
                    .set_values(Some(v.clone()))
                    .build(),
            )
            .build(),
    };
    let action = ElbAction::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(&tg_arn)
        .build();
    let rules = elb
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .map_err(|e| aws("elbv2:DescribeRules", e))?;
    let priority = o.priority.to_string();
    let live = rules
        .rules()
        .iter()
        .find(|r| r.priority() == Some(priority.as_str()));
    let Some(live) = live else {
        if !run.mutating().await? {
            run.record(resource, Change::Created);
            return Ok(());
        }
        elb.create_rule()
            .listener_arn(&listener)
            .priority(o.priority)
            .conditions(condition)
            .actions(action)
            .send()
            .await
            .map_err(|e| aws("elbv2:CreateRule", e))?;
        run.record(resource, Change::Created);
        return Ok(());
    };
    let live_values: Vec<String> = live
        .conditions()
        .iter()
        .filter(|c| c.field() == Some(field))
        .flat_map(|c| {
            let mut v: Vec<String> = c.values().to_vec();
            v.extend(
                c.path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_default(),
            );
            v.extend(
                c.host_header_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_default(),
            );
            v
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let want_values: Vec<String> = values
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let live_target = live
        .actions()
        .iter()
        .find_map(|a| a.target_group_arn())
        .map(str::to_string);
    let mut changed = Vec::new();
    if live.conditions().len() != 1 || live_values != want_values {
        changed.push("Conditions".to_string());
    }
    if live.actions().len() != 1 || live_target.as_deref() != Some(tg_arn.as_str()) {
        changed.push("Actions".to_string());
    }
    if !changed.is_empty() {
        if run.mutating().await? {
            elb.modify_rule()
                .rule_arn(live.rule_arn().unwrap_or_default())
                .conditions(condition)
                .actions(action)
                .send()
                .await
                .map_err(|e| aws("elbv2:ModifyRule", e))?;
        }
        run.record(resource, Change::Updated(changed));
    } else {
        run.record(resource, Change::Unchanged);
    }
    Ok(())
}

async fn service(run: &mut Run<'_>, o: &ServiceOp) -> Result<()> {
    let clients = run.clients;
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
        LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags,
    };
    let ecs = &clients.ecs;
    let resource = format!("service {}", o.name);
    let td = run
        .task_definitions
        .get(&o.task_definition)
        .cloned()
        .ok_or_else(|| Error::Plugin {
            message: format!(
                "service {} runs task definition {} that the render does not define",
                o.name, o.task_definition
            ),
        })?;
    let mut lbs = Vec::new();
    if let Some(lb) = &o.load_balancer {
        let tg = run
            .target_groups
            .get(&lb.target_group)
            .cloned()
            .ok_or_else(|| Error::Plugin {
                message: format!(
                    "service {} uses target group {} that the render does not create",
                    o.name, lb.target_group
                ),
            })?;
        lbs.push((tg, lb.container_name.clone(), lb.container_port));
    }
    let mut subnets = o.subnets.clone();
    subnets.sort();
    let mut groups = o.security_groups.clone();
    groups.sort();
    let found = ecs
        .describe_services()
        .cluster(&o.cluster)
        .services(&o.name)
        .send()
        .await
        .map_err(|e| aws("ecs:DescribeServices", e))?;
    let live = found
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .cloned();
    let scaled = run.scaled.contains(&o.name);
    let desired = ServiceFields {
        task_definition: Some(td.clone()),
        // A scalable target owns the count of an existing service.
        desired_count: (!scaled || live.is_none()).then_some(o.desired_count),
        subnets: Some(subnets.clone()),
        security_groups: Some(groups.clone()),
        assign_public_ip: Some(o.assign_public_ip),
        load_balancers: Some(lbs.clone()),
        health_check_grace_period_seconds: o.health_check_grace_period_seconds,
        circuit_breaker: Some((o.circuit_breaker, o.circuit_breaker)),
    };
    let vpc = built(
        "ecs:CreateService",
        AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets))
            .set_security_groups((!groups.is_empty()).then_some(groups))
            .assign_public_ip(if o.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build(),
    )?;
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build();
    let load_balancers: Vec<LoadBalancer> = lbs
        .iter()
        .map(|(tg, c, p)| {
            LoadBalancer::builder()
                .target_group_arn(tg)
                .container_name(c)
                .container_port(*p)
                .build()
        })
        .collect();
    let deployment = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(o.circuit_breaker)
                .rollback(o.circuit_breaker)
                .build(),
        )
        .build();
    let Some(live) = live else {
        if !run.mutating().await? {
            run.applied = desired;
            run.record(resource, Change::Created);
            return Ok(());
        }
        ecs.create_service()
            .cluster(&o.cluster)
            .service_name(&o.name)
            .task_definition(&td)
            .desired_count(o.desired_count)
            .launch_type(LaunchType::from(o.launch_type.as_str()))
            .network_configuration(network)
            .set_load_balancers((!load_balancers.is_empty()).then_some(load_balancers))
            .set_health_check_grace_period_seconds(o.health_check_grace_period_seconds)
            .deployment_configuration(deployment)
            .propagate_tags(PropagateTags::Service)
            .set_tags(ecs_tags(&o.tags))
            .send()
            .await
            .map_err(|e| aws("ecs:CreateService", e))?;
        run.applied = desired;
        run.rolled = Some((crate::wait::Before::default(), td));
        run.record(resource, Change::Created);
        return Ok(());
    };
    let changes: Vec<FieldChange> = compare::service_changes(
        &desired,
        &compare::live_service(&live),
        run.last_applied.as_ref(),
    );
    run.applied = desired.clone();
    // Tags change in place: alone, they start no deployment.
    let tag_fields = sync_ecs_tags(run, live.service_arn().unwrap_or_default(), &o.tags).await?;
    if changes.is_empty() && !run.rotated {
        run.record(resource, Change::updated_or_unchanged(tag_fields));
        return Ok(());
    }
    let before = crate::wait::Before {
        deployments: live
            .deployments()
            .iter()
            .filter_map(|d| d.id().map(str::to_string))
            .collect(),
        events: live
            .events()
            .iter()
            .filter_map(|e| e.id().map(str::to_string))
            .collect(),
    };
    let mut fields: Vec<String> = changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, c.live, c.desired))
        .collect();
    if run.rotated {
        fields.push("new deployment for a rotated secret".to_string());
    }
    fields.extend(tag_fields);
    if !run.mutating().await? {
        run.record(resource, Change::Updated(fields));
        return Ok(());
    }
    ecs.update_service()
        .cluster(&o.cluster)
        .service(&o.name)
        .task_definition(&td)
        .set_desired_count(desired.desired_count)
        .network_configuration(network)
        .set_load_balancers((!lbs.is_empty()).then_some(load_balancers))
        .set_health_check_grace_period_seconds(o.health_check_grace_period_seconds)
        .deployment_configuration(deployment)
        .force_new_deployment(run.rotated)
        .send()
        .await
        .map_err(|e| aws("ecs:UpdateService", e))?;
    run.rolled = Some((before, td));
    run.record(resource, Change::Updated(fields));
    Ok(())
}

fn resource_id(cluster_name: &str, service: &str) -> String {
    format!("service/{cluster_name}/{service}")
}

async fn scalable_target(run: &mut Run<'_>, o: &ScalableTargetOp) -> Result<()> {
    let clients = run.clients;
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let aas = &clients.scaling;
    let rid = resource_id(&o.cluster_name, &o.service);
    let resource = format!("scalable target {rid}");
    let found = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .map_err(|e| aws("application-autoscaling:DescribeScalableTargets", e))?;
    let live = found.scalable_targets().first();
    let change = match live {
        None => Change::Created,
        Some(t) => {
            let mut f = Vec::new();
            if t.min_capacity() != o.min_capacity {
                f.push(format!(
                    "MinCapacity: {} → {}",
                    t.min_capacity(),
                    o.min_capacity
                ));
            }
            if t.max_capacity() != o.max_capacity {
                f.push(format!(
                    "MaxCapacity: {} → {}",
                    t.max_capacity(),
                    o.max_capacity
                ));
            }
            if f.is_empty() {
                Change::Unchanged
            } else {
                Change::Updated(f)
            }
        }
    };
    if change != Change::Unchanged && run.mutating().await? {
        aas.register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&rid)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(o.min_capacity)
            .max_capacity(o.max_capacity)
            .send()
            .await
            .map_err(|e| aws("application-autoscaling:RegisterScalableTarget", e))?;
    }
    run.record(resource, change);
    Ok(())
}

async fn scaling_policy(run: &mut Run<'_>, o: &ScalingPolicyOp) -> Result<()> {
    let clients = run.clients;
    use aws_sdk_applicationautoscaling::types::{
        MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
        TargetTrackingScalingPolicyConfiguration,
    };
    let aas = &clients.scaling;
    let rid = resource_id(&o.cluster_name, &o.service);
    let resource = format!("scaling policy {}", o.name);
    let metric = o.metric.predefined_metric_type();
    let found = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_names(&o.name)
        .send()
        .await
        .map_err(|e| aws("application-autoscaling:DescribeScalingPolicies", e))?;
    let live = found
        .scaling_policies()
        .iter()
        .find(|p| p.policy_name() == o.name);
    let change = match live {
        None => Change::Created,
        Some(p) => {
            let cfg = p.target_tracking_scaling_policy_configuration();
            let mut f = Vec::new();
            if cfg.map(|c| c.target_value()) != Some(o.target_value) {
                f.push("TargetValue".to_string());
            }
            if cfg
                .and_then(|c| c.predefined_metric_specification())
                .map(|m| m.predefined_metric_type().as_str())
                != Some(metric)
            {
                f.push("PredefinedMetricType".to_string());
            }
            if f.is_empty() {
                Change::Unchanged
            } else {
                Change::Updated(f)
            }
        }
    };
    if change != Change::Unchanged {
        let spec = built(
            "application-autoscaling:PutScalingPolicy",
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(metric))
                .build(),
        )?;
        let cfg = built(
            "application-autoscaling:PutScalingPolicy",
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(o.target_value)
                .predefined_metric_specification(spec)
                .build(),
        )?;
        if run.mutating().await? {
            aas.put_scaling_policy()
                .policy_name(&o.name)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&rid)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(cfg)
                .send()
                .await
                .map_err(|e| aws("application-autoscaling:PutScalingPolicy", e))?;
        }
    }
    run.record(resource, change);
    Ok(())
}

/// Reads the stored state; `None` when the parameter does not exist.
pub(crate) async fn read_state(clients: &Clients, parameter: &str) -> Result<Option<DeployState>> {
    Ok(read_state_versioned(clients, parameter).await?.0)
}

/// Reads the stored state and the parameter's version; `(None, None)` when it does not exist.
pub(crate) async fn read_state_versioned(
    clients: &Clients,
    parameter: &str,
) -> Result<(Option<DeployState>, Option<i64>)> {
    match clients.ssm.get_parameter().name(parameter).send().await {
        Ok(out) => {
            let text = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            let version = out.parameter().map(|p| p.version());
            state::decode(text)
                .map(|s| (Some(s), version))
                .map_err(|message| Error::State {
                    parameter: parameter.to_string(),
                    message,
                })
        }
        Err(e) if code_of(&e) == Some("ParameterNotFound") => Ok((None, None)),
        Err(e) => Err(aws("ssm:GetParameter", e)),
    }
}

/// Writes the state (advanced tier when it needs more than 4 KiB).
pub(crate) async fn write_state(
    clients: &Clients,
    parameter: &str,
    record: &DeployState,
) -> Result<()> {
    let text = state::encode(record).map_err(|message| Error::State {
        parameter: parameter.to_string(),
        message,
    })?;
    let tier = if text.len() > state::STANDARD_TIER_MAX {
        aws_sdk_ssm::types::ParameterTier::Advanced
    } else {
        aws_sdk_ssm::types::ParameterTier::Standard
    };
    clients
        .ssm
        .put_parameter()
        .name(parameter)
        .value(text)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .tier(tier)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| aws("ssm:PutParameter", e))?;
    Ok(())
}

/// Marks a revision finished.
pub(crate) fn finish(
    rev: &mut Revision,
    result: RevisionResult,
    message: Option<String>,
    now: u64,
) {
    rev.result = result;
    rev.message = message;
    rev.finished_at = Some(now);
}

/// The secret values a render's operations need, checked up front (all missing at once).
pub(crate) fn missing_secrets(
    ops: &[AwsOperation],
    secrets: &BTreeMap<(String, String), SecretValue>,
) -> Vec<String> {
    let mut missing = BTreeSet::new();
    for op in ops {
        if let AwsOperation::TaskDefinition(td) = op {
            for c in &td.containers {
                for from in c.secrets.values() {
                    if let ValueFrom::Secret { group, entry } = from
                        && !secrets.contains_key(&(group.clone(), entry.clone()))
                    {
                        missing.insert(format!("$secrets-group/{group}/{entry}"));
                    }
                }
            }
        }
    }
    missing.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags_follow_the_render_and_foreign_tags_stay() {
        let live = map(&[
            ("planton.ai/name", "checkout"),
            ("planton.ai/organization", "acme"),
            ("planton.ai/environment", "staging"),
            ("team", "payments"),
        ]);
        let want = map(&[
            ("planton.ai/name", "checkout"),
            ("planton.ai/environment", "prod"),
            ("planton.ai/id", "svc-42"),
        ]);
        let c = tag_changes(&live, &want);
        assert_eq!(
            c.set,
            map(&[
                ("planton.ai/environment", "prod"),
                ("planton.ai/id", "svc-42")
            ])
        );
        assert_eq!(c.remove, ["planton.ai/organization"]);
        assert_eq!(
            c.fields,
            [
                r#"tags.planton.ai/environment: "staging" → "prod""#,
                r#"tags.planton.ai/id: null → "svc-42""#,
                r#"tags.planton.ai/organization: "acme" → null"#,
            ]
        );
        assert!(tag_changes(&want, &want).is_empty());
    }
}
