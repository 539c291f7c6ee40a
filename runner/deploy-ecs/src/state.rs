//! The stored deploy state: one versioned record per service and environment, kept next to
//! the service in an SSM parameter (`/planton/ecs/<cluster>/<service>/<environment>`).
//!
//! The record has the same shape as the Kubernetes driver's: the environment, the generated
//! manifest, the revisions (newest first, at most [`MAX_REVISIONS`]) with their digest,
//! image, actor, times and result. It never holds a secret value: the manifest and the
//! operations carry `$secrets-group` references only, and secret ARNs are not secret.
//!
//! On the wire the record is JSON, gzip-compressed and base64-encoded with a `gz:` prefix;
//! a reader also accepts plain JSON. Records above the SSM standard tier's 4 KiB use the
//! advanced tier; above [`MAX_ENCODED`] the write fails clearly instead of at the API.

use crate::compare::ServiceFields;
use base64::Engine;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{Read, Write};

/// The record format written by this version.
pub const FORMAT: &str = "planton.ai/deploy-state/v1";
/// Revisions kept per environment.
pub const MAX_REVISIONS: usize = 10;
/// The largest encoded record written (the SSM advanced tier holds 8 KiB).
pub const MAX_ENCODED: usize = 8 * 1024;
/// The SSM standard tier's limit.
pub const STANDARD_TIER_MAX: usize = 4 * 1024;

/// One environment's deploy state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployState {
    /// [`FORMAT`].
    pub format: String,
    /// The ECS cluster ARN.
    pub cluster: String,
    /// The service name.
    pub service: String,
    /// The environment.
    pub environment: String,
    /// The generated manifest of the newest revision (references, never values).
    pub manifest: String,
    /// Revisions, newest first.
    pub revisions: Vec<Revision>,
}

/// One deploy of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// 1, 2, … per environment.
    pub number: u64,
    /// sha256 of the rendered operations (references only).
    pub digest: String,
    /// The image deployed.
    pub image: String,
    /// Who deployed.
    pub actor: String,
    /// The task definition revision ARN deployed.
    pub task_definition_arn: String,
    /// The service settings applied (compared with fields the live service omits).
    pub service: ServiceFields,
    /// Unix seconds when the deploy started.
    pub started_at: u64,
    /// Unix seconds when it ended (`None` while pending).
    pub finished_at: Option<u64>,
    /// The outcome.
    pub result: RevisionResult,
    /// The failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The rendered operations (references only), for rollback and diff.
    #[serde(default)]
    pub operations: Vec<Value>,
}

/// How a revision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RevisionResult {
    /// Started and not finished: a crash, or still running.
    Pending,
    /// Live and stable.
    Succeeded,
    /// Failed; the message says why.
    Failed,
}

impl DeployState {
    /// An empty record.
    pub fn new(cluster: &str, service: &str, environment: &str) -> DeployState {
        DeployState {
            format: FORMAT.to_string(),
            cluster: cluster.to_string(),
            service: service.to_string(),
            environment: environment.to_string(),
            manifest: String::new(),
            revisions: Vec::new(),
        }
    }

    /// The newest successful revision.
    pub fn last_succeeded(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .find(|r| r.result == RevisionResult::Succeeded)
    }

    /// Adds a revision as the newest, keeping at most [`MAX_REVISIONS`]; returns its number.
    pub fn push(&mut self, mut rev: Revision) -> u64 {
        rev.number = self.revisions.first().map_or(1, |r| r.number + 1);
        let n = rev.number;
        self.revisions.insert(0, rev);
        self.revisions.truncate(MAX_REVISIONS);
        n
    }
}

/// The SSM parameter name of a service's environment. Characters SSM does not allow in a
/// name become `_`.
pub fn parameter_name(cluster_name: &str, service: &str, environment: &str) -> String {
    format!(
        "/planton/ecs/{}/{}/{}",
        clean(cluster_name),
        clean(service),
        clean(environment)
    )
}

/// A name as one level of an SSM parameter path: characters SSM does not allow become `_`.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Encodes a record for SSM (`gz:` + base64(gzip(json))).
pub fn encode(state: &DeployState) -> Result<String, String> {
    let json = serde_json::to_vec(state).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json).map_err(|e| e.to_string())?;
    let bytes = gz.finish().map_err(|e| e.to_string())?;
    let text = format!(
        "gz:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    if text.len() > MAX_ENCODED {
        return Err(format!(
            "the encoded record is {} bytes, more than the {MAX_ENCODED} an SSM parameter holds",
            text.len()
        ));
    }
    Ok(text)
}

/// Decodes a record written by [`encode`], or plain JSON.
pub fn decode(text: &str) -> Result<DeployState, String> {
    let json = match text.strip_prefix("gz:") {
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("not base64: {e}"))?;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .map_err(|e| format!("not gzip: {e}"))?;
            out
        }
        None => text.as_bytes().to_vec(),
    };
    let state: DeployState =
        serde_json::from_slice(&json).map_err(|e| format!("not a deploy state record: {e}"))?;
    if state.format != FORMAT {
        return Err(format!(
            "record format {:?}, this planton reads {FORMAT:?}",
            state.format
        ));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(digest: &str, result: RevisionResult) -> Revision {
        Revision {
            number: 0,
            digest: digest.into(),
            image: "r/app:1".into(),
            actor: "ci".into(),
            task_definition_arn: "arn:td:1".into(),
            service: ServiceFields::default(),
            started_at: 1,
            finished_at: Some(2),
            result,
            message: None,
            operations: vec![serde_json::json!({"op": "secret", "group": "g", "entry": "e"})],
        }
    }

    #[test]
    fn records_round_trip_compressed_and_plain() {
        let mut s = DeployState::new("arn:cluster", "app", "prod");
        s.manifest = "kind: AwsEcsService\n".repeat(200);
        s.push(rev("a", RevisionResult::Succeeded));
        let text = encode(&s).unwrap_or_default();
        assert!(text.starts_with("gz:"));
        assert!(
            text.len() < s.manifest.len() / 4,
            "compressed: {}",
            text.len()
        );
        assert_eq!(decode(&text), Ok(s.clone()));
        let plain = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(decode(&plain), Ok(s));
        assert!(decode("gz:???").is_err_and(|e| e.contains("base64")));
        assert!(decode("{\"format\": \"other\"}").is_err());
    }

    #[test]
    fn revisions_are_numbered_newest_first_and_capped() {
        let mut s = DeployState::new("c", "app", "prod");
        for i in 0..12 {
            let result = if i == 11 {
                RevisionResult::Failed
            } else {
                RevisionResult::Succeeded
            };
            s.push(rev(&i.to_string(), result));
        }
        assert_eq!(s.revisions.len(), MAX_REVISIONS);
        assert_eq!(s.revisions[0].number, 12);
        assert_eq!(s.last_succeeded().map(|r| r.number), Some(11));
    }

    #[test]
    fn oversized_records_fail_clearly() {
        let mut s = DeployState::new("c", "app", "prod");
        // Incompressible text.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        s.manifest = (0..20_000)
            .map(|_| {
                // xorshift64: incompressible enough for gzip.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        assert!(encode(&s).is_err_and(|e| e.contains("more than the 8192")));
    }

    #[test]
    fn parameter_names_are_ssm_safe() {
        assert_eq!(
            parameter_name("shared", "checkout", "prod eu"),
            "/planton/ecs/shared/checkout/prod_eu"
        );
    }
}
