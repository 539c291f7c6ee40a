//! The deploy state planton keeps in the cluster: one ConfigMap per service in the target
//! namespace, holding for each deployment task (overlay) the revisions deployed, each with
//! the manifest as built (references, never secret values), its digest, the image, when,
//! by whom, the result, and the inventory of applied objects. The format is documented in
//! `docs/deploy-state.md`; this module is its only reader and writer.
//!
//! Pure: encoding, decoding, revision bookkeeping and the size check. The driver reads and
//! writes the ConfigMap.
//!
//! Lessons from Helm's release Secrets: the format is versioned (`format` key), large
//! entries are gzip-compressed (stored in `binaryData`, readers sniff the gzip magic), and
//! the encoded size is checked before writing so that a too-large state fails with a clear
//! message instead of the API server's raw 422. A revision in progress is recorded as
//! `pending` with its owner, so a crashed deploy is visible and the next one takes over.

use crate::inventory::Entry;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The value of the `format` key; readers refuse any other.
pub const FORMAT: &str = "planton.dev/deploy-state/v1";
/// The key holding [`FORMAT`].
pub const FORMAT_KEY: &str = "format";
/// Label on the state ConfigMap naming the service.
pub const SERVICE_LABEL: &str = "planton.dev/service";
/// Label on the state ConfigMap marking it as planton state (value `v1`).
pub const STATE_LABEL: &str = "planton.dev/deploy-state";
/// Revisions kept per task by default.
pub const DEFAULT_KEEP: usize = 10;
/// Entries whose JSON is longer than this are gzip-compressed by default.
pub const DEFAULT_COMPRESS_OVER: usize = 32 * 1024;
/// The default limit on the encoded state, well below the API server's 1 MiB object limit
/// (leaving room for metadata and managedFields).
pub const DEFAULT_MAX_BYTES: usize = 900 * 1024;

/// The name of the state ConfigMap of a service.
pub fn configmap_name(service: &str) -> String {
    format!("planton.state.{service}")
}

/// The outcome of a revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Being deployed (or the deploy died; see `owner`).
    Pending,
    /// Applied and ready.
    Succeeded,
    /// Applied, but not ready in time, or an apply failed.
    Failed,
}

/// One deployed revision of one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// 1, 2, 3, ... per task.
    pub revision: u64,
    /// The result.
    pub result: Outcome,
    /// The service manifest as built (`kubectl kustomize` output; references only).
    pub manifest: String,
    /// `sha256:<hex>` of `manifest`.
    pub manifest_digest: String,
    /// The image deployed (`repo:tag`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// RFC 3339 time the deploy started.
    pub started_at: String,
    /// RFC 3339 time it finished (absent while pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Who deployed (`user@host`, or the service account in a cluster).
    pub actor: String,
    /// The process that holds a pending revision (`host:pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `deploy`, or `rollback to N`.
    pub source: String,
    /// A one-line summary of the result.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The objects applied.
    pub inventory: Vec<Entry>,
}

/// The state of one task (overlay) of the service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    /// The overlay directory name.
    pub task: String,
    /// `metadata.env` of the built manifest.
    pub env: String,
    /// The service kind (`MicroserviceKubernetes`).
    pub kind: String,
    /// Revisions, oldest first.
    pub revisions: Vec<Revision>,
}

impl TaskState {
    /// An empty state for a task.
    pub fn new(task: &str, env: &str, kind: &str) -> TaskState {
        TaskState {
            task: task.to_string(),
            env: env.to_string(),
            kind: kind.to_string(),
            revisions: Vec::new(),
        }
    }

    /// The number the next revision gets.
    pub fn next_revision(&self) -> u64 {
        self.revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
    }

    /// The newest revision that is not pending.
    pub fn last_finished(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.result != Outcome::Pending)
    }

    /// The newest succeeded revision.
    pub fn last_succeeded(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.result == Outcome::Succeeded)
    }

    /// A revision by number.
    pub fn revision(&self, n: u64) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.revision == n)
    }

    /// Pending revisions (deploys in progress, or ones that died).
    pub fn pending(&self) -> impl Iterator<Item = &Revision> {
        self.revisions
            .iter()
            .filter(|r| r.result == Outcome::Pending)
    }

    /// Adds or replaces (by number) a revision, then keeps the newest `keep` revisions.
    pub fn record(&mut self, rev: Revision, keep: usize) {
        self.revisions.retain(|r| r.revision != rev.revision);
        self.revisions.push(rev);
        self.revisions.sort_by_key(|r| r.revision);
        let keep = keep.max(1);
        if self.revisions.len() > keep {
            let drop = self.revisions.len() - keep;
            self.revisions.drain(..drop);
        }
    }
}

/// The state of a service in one namespace: its tasks by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceState {
    /// Tasks by overlay name.
    pub tasks: BTreeMap<String, TaskState>,
}

/// How to encode.
#[derive(Clone, Copy, Debug)]
pub struct EncodeOptions {
    /// Compress entries whose JSON is longer than this many bytes.
    pub compress_over: usize,
    /// Refuse to encode more than this many bytes.
    pub max_bytes: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            compress_over: DEFAULT_COMPRESS_OVER,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// The `data` and `binaryData` of the state ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// `data`: the format key and uncompressed task entries (JSON).
    pub data: BTreeMap<String, String>,
    /// `binaryData`: gzip-compressed task entries (JSON).
    pub binary_data: BTreeMap<String, Vec<u8>>,
}

impl Encoded {
    /// The size the entries take in the ConfigMap (binary data counted base64-encoded, as
    /// the API server stores it).
    pub fn size(&self) -> usize {
        self.data
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
            + self
                .binary_data
                .iter()
                .map(|(k, v)| k.len() + v.len().div_ceil(3) * 4)
                .sum::<usize>()
    }
}

/// A state that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The ConfigMap has another format (newer planton, or not planton's).
    #[error("the state ConfigMap has format `{found}`; this planton reads `{FORMAT}` only")]
    Format {
        /// What the `format` key holds (empty when missing).
        found: String,
    },
    /// An entry is not valid JSON of the expected shape.
    #[error("the state entry of task `{task}` cannot be read: {source}")]
    Entry {
        /// The task key.
        task: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A compressed entry is not gzip, or is corrupt.
    #[error("the compressed state entry of task `{task}` cannot be decompressed: {source}")]
    Gzip {
        /// The task key.
        task: String,
        /// The IO error of the decoder.
        #[source]
        source: std::io::Error,
    },
    /// The encoded state would exceed the limit.
    #[error(
        "the deploy state would take {bytes} bytes, over the limit of {limit} bytes (a ConfigMap holds at most 1 MiB): keep fewer revisions"
    )]
    TooLarge {
        /// Encoded size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

/// gzip's magic bytes and the deflate method: readers sniff these.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Encodes the state, compressing large entries, and checks the size.
pub fn encode(state: &ServiceState, opts: EncodeOptions) -> Result<Encoded, StateError> {
    let mut out = Encoded::default();
    out.data.insert(FORMAT_KEY.to_string(), FORMAT.to_string());
    for (name, task) in &state.tasks {
        let json = serde_json::to_string(task).map_err(|source| StateError::Entry {
            task: name.clone(),
            source,
        })?;
        if json.len() > opts.compress_over {
            let mut enc = GzEncoder::new(Vec::new(), Compression::best());
            let bytes = enc
                .write_all(json.as_bytes())
                .and_then(|_| enc.finish())
                .map_err(|source| StateError::Gzip {
                    task: name.clone(),
                    source,
                })?;
            out.binary_data.insert(name.clone(), bytes);
        } else {
            out.data.insert(name.clone(), json);
        }
    }
    let bytes = out.size();
    if bytes > opts.max_bytes {
        return Err(StateError::TooLarge {
            bytes,
            limit: opts.max_bytes,
        });
    }
    Ok(out)
}

/// Decodes the state from a ConfigMap's `data` and `binaryData`.
pub fn decode(enc: &Encoded) -> Result<ServiceState, StateError> {
    let found = enc.data.get(FORMAT_KEY).cloned().unwrap_or_default();
    if found != FORMAT {
        return Err(StateError::Format { found });
    }
    let mut state = ServiceState::default();
    let parse = |name: &str, text: &str| {
        serde_json::from_str::<TaskState>(text).map_err(|source| StateError::Entry {
            task: name.to_string(),
            source,
        })
    };
    for (name, text) in enc.data.iter().filter(|(k, _)| *k != FORMAT_KEY) {
        state.tasks.insert(name.clone(), parse(name, text)?);
    }
    for (name, bytes) in &enc.binary_data {
        let text = if bytes.starts_with(&GZIP_MAGIC) {
            let mut s = String::new();
            GzDecoder::new(bytes.as_slice())
                .read_to_string(&mut s)
                .map_err(|source| StateError::Gzip {
                    task: name.clone(),
                    source,
                })?;
            s
        } else {
            String::from_utf8_lossy(bytes).into_owned()
        };
        state.tasks.insert(name.clone(), parse(name, &text)?);
    }
    Ok(state)
}

/// `sha256:<hex>` of a manifest.
pub fn manifest_digest(manifest: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(manifest.as_bytes());
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(n: u64, manifest: &str, result: Outcome) -> Revision {
        Revision {
            revision: n,
            result,
            manifest: manifest.to_string(),
            manifest_digest: manifest_digest(manifest),
            image: Some("ghcr.io/acme/api:1".into()),
            started_at: "2026-12-05T10:00:00Z".into(),
            finished_at: None,
            actor: "ci@runner".into(),
            owner: None,
            source: "deploy".into(),
            message: String::new(),
            inventory: vec![Entry {
                id: "ns_api_apps_Deployment".into(),
                v: "v1".into(),
            }],
        }
    }

    #[test]
    fn round_trip_small_and_compressed() {
        let mut s = ServiceState::default();
        let mut t = TaskState::new("prod", "app-prod", "MicroserviceKubernetes");
        t.record(rev(1, "kind: A\n", Outcome::Succeeded), 10);
        s.tasks.insert("prod".into(), t);
        let mut big = TaskState::new("staging", "app-staging", "MicroserviceKubernetes");
        big.record(rev(1, &"x: 1\n".repeat(20_000), Outcome::Failed), 10);
        s.tasks.insert("staging".into(), big);
        let enc = encode(&s, EncodeOptions::default()).unwrap();
        assert_eq!(enc.data.get(FORMAT_KEY).map(String::as_str), Some(FORMAT));
        assert!(enc.data.contains_key("prod"));
        assert!(enc.binary_data["staging"].starts_with(&GZIP_MAGIC));
        assert!(enc.size() < 10_000, "compressed: {}", enc.size());
        assert_eq!(decode(&enc).unwrap(), s);
    }

    #[test]
    fn refuses_other_formats_and_too_large_states() {
        let mut enc = Encoded::default();
        enc.data
            .insert(FORMAT_KEY.into(), "planton.dev/deploy-state/v9".into());
        assert!(matches!(decode(&enc), Err(StateError::Format { found }) if found.ends_with("v9")));
        assert!(matches!(
            decode(&Encoded::default()),
            Err(StateError::Format { .. })
        ));

        let mut s = ServiceState::default();
        let mut t = TaskState::new("prod", "p", "K");
        t.record(rev(1, &"x".repeat(5000), Outcome::Succeeded), 10);
        s.tasks.insert("prod".into(), t);
        let opts = EncodeOptions {
            compress_over: usize::MAX,
            max_bytes: 4096,
        };
        let err = encode(&s, opts).unwrap_err();
        assert!(
            matches!(err, StateError::TooLarge { limit: 4096, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("keep fewer revisions"));
    }

    #[test]
    fn records_keep_the_newest_and_replace_by_number() {
        let mut t = TaskState::new("prod", "p", "K");
        for n in 1..=12 {
            t.record(rev(n, "m", Outcome::Succeeded), 10);
        }
        assert_eq!(t.revisions.len(), 10);
        assert_eq!(t.revisions[0].revision, 3);
        assert_eq!(t.next_revision(), 13);
        t.record(rev(13, "m", Outcome::Pending), 10);
        assert_eq!(t.pending().count(), 1);
        assert_eq!(t.last_finished().map(|r| r.revision), Some(12));
        t.record(rev(13, "m", Outcome::Failed), 10);
        assert_eq!(t.pending().count(), 0);
        assert_eq!(t.last_succeeded().map(|r| r.revision), Some(12));
        assert_eq!(t.revisions.len(), 10);
    }

    #[test]
    fn corrupt_entries_name_the_task() {
        let mut enc = Encoded::default();
        enc.data.insert(FORMAT_KEY.into(), FORMAT.into());
        enc.binary_data
            .insert("prod".into(), vec![0x1f, 0x8b, 0x08, 0, 1, 2]);
        let e = decode(&enc).unwrap_err().to_string();
        assert!(e.contains("task `prod`"), "{e}");
    }
}
