//! One deploy per ECS service at a time, across machines, with nothing but SSM Parameter
//! Store: the lock of service `S` in cluster `C` is a chain of parameters
//! `/planton/ecs-lock/C/S/<generation>`, and whoever creates the next generation holds it.
//!
//! SSM offers one atomic step, a create that fails when the name exists (`PutParameter`
//! without `Overwrite`: `ParameterAlreadyExists`); it has no compare-and-swap on a version.
//! So every transition of the lock is the *creation of a new name*, never an overwrite of
//! someone else's:
//!
//! - **acquire**: list the chain (`GetParametersByPath`); when the newest generation `g` is
//!   released or stale (or there is none), create `g + 1`. Of any number of racing deploys
//!   exactly one creation succeeds; the others read the chain again and find a live holder.
//! - **verify**: the creator lists again; a newer generation means its name had been deleted
//!   and re-created by this (slow) run, which then lost: it deletes its own and starts over.
//! - **renew**: the holder overwrites *its own* generation with a new `renewedAt` every third
//!   of its TTL, and stops (the lock is lost) once generation `g + 1` exists.
//! - **release**: the holder marks its own generation `released` (one `PutParameter`). The
//!   newest generation is never deleted, so generations only grow; older ones are deleted by
//!   the next holder once it has verified its own.
//! - **stale takeover**: a holder is stale when this run has seen its generation at the same
//!   parameter version for the holder's TTL, measured with this process's monotonic clock.
//!   Other machines' clocks are shown (the holder's `acquiredAt`, AWS's `LastModifiedDate`)
//!   but never trusted, so a skewed clock cannot steal a live lock; the price is that a lock
//!   left by a killed deploy is taken over only after the next run has watched it for one TTL.
//!
//! The lock is per ECS service (cluster and service name), not per overlay: two overlays or
//! two repositories that name the same service are serialized too.
//!
//! What this module is not: a fence for writes. Like every lease, a holder that stalls longer
//! than its TTL (a suspended laptop) can find, on waking, that another run took over; the
//! renewal notices and [`Held::lost`] turns true, and the deploy stops at its next step.
//!
//! Assumption: SSM answers a `GetParametersByPath` after a `PutParameter` with the written
//! value (read-after-write). moto does; AWS documents no weaker behaviour for Parameter Store.

use crate::error::{Error, Result, aws, code_of};
use aws_sdk_ssm::primitives::{DateTime, DateTimeFormat};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a deploy takes the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// Who takes it: `user@host:pid`.
    pub holder: String,
    /// How long a holder that stopped renewing keeps the lock; renewed at a third of it.
    pub ttl: Duration,
    /// How long to wait for a live holder before refusing.
    pub wait: Duration,
    /// How often to look while waiting.
    pub poll: Duration,
}

impl Default for LockOptions {
    fn default() -> LockOptions {
        LockOptions {
            holder: "unknown".to_string(),
            ttl: Duration::from_secs(60),
            wait: Duration::from_secs(120),
            poll: Duration::from_secs(2),
        }
    }
}

/// The value of one generation (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockRecord {
    /// `user@host:pid`.
    pub holder: String,
    /// The environment (overlay) the holder deploys.
    pub environment: String,
    /// Unix seconds, by the holder's clock, when it took the lock.
    pub acquired_at: u64,
    /// Unix seconds, by the holder's clock, of its last renewal.
    pub renewed_at: u64,
    /// The holder's TTL in seconds.
    pub ttl_seconds: u64,
    /// Released: the next deploy may take the lock at once.
    #[serde(default)]
    pub released: bool,
}

/// One generation as listed.
#[derive(Debug, Clone)]
struct Generation {
    number: u64,
    name: String,
    /// `None` when the value is not a lock record (treated as a holder with the default TTL).
    record: Option<LockRecord>,
    version: i64,
    /// AWS's `LastModifiedDate`, shown, never compared with the local clock.
    modified: Option<DateTime>,
}

/// The parameter path of the lock of a service (names cleaned as [`crate::state`] does).
pub fn lock_path(cluster_name: &str, service: &str) -> String {
    use crate::state::clean;
    format!(
        "/planton/ecs-lock/{}/{}",
        clean(cluster_name),
        clean(service)
    )
}

fn generation_name(path: &str, number: u64) -> String {
    // Zero-padded so that the names sort as the numbers do in every listing.
    format!("{path}/{number:012}")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Unix seconds as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// Every generation of the lock at `path`, oldest first.
async fn list(ssm: &aws_sdk_ssm::Client, path: &str) -> Result<Vec<Generation>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ssm
            .get_parameters_by_path()
            .path(path)
            .recursive(false)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws("ssm:GetParametersByPath", e))?;
        for p in page.parameters() {
            let Some(name) = p.name() else { continue };
            let Some(number) = name
                .rsplit_once('/')
                .and_then(|(_, n)| n.parse::<u64>().ok())
            else {
                continue;
            };
            out.push(Generation {
                number,
                name: name.to_string(),
                record: p.value().and_then(|v| serde_json::from_str(v).ok()),
                version: p.version(),
                modified: p.last_modified_date().copied(),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    out.sort_by_key(|g| g.number);
    Ok(out)
}

/// Creates a generation; `Ok(false)` when it exists (another run won).
async fn create(ssm: &aws_sdk_ssm::Client, name: &str, record: &LockRecord) -> Result<bool> {
    let value = serde_json::to_string(record).unwrap_or_default();
    match ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(false)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if code_of(&e) == Some("ParameterAlreadyExists") => Ok(false),
        Err(e) => Err(aws("ssm:PutParameter", e)),
    }
}

/// Overwrites this run's own generation.
async fn overwrite(ssm: &aws_sdk_ssm::Client, name: &str, record: &LockRecord) -> Result<()> {
    ssm.put_parameter()
        .name(name)
        .value(serde_json::to_string(record).unwrap_or_default())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws("ssm:PutParameter", e))
}

/// Deletes generations (ten per call, SSM's limit); failures are left for the next holder.
async fn delete(ssm: &aws_sdk_ssm::Client, names: &[String]) {
    for chunk in names.chunks(10) {
        let _ = ssm
            .delete_parameters()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await;
    }
}

/// A held lock, renewed in the background until [`Held::release`] (or until dropped: then
/// the renewal stops and the lock expires after its TTL).
#[derive(Debug)]
pub struct Held {
    ssm: aws_sdk_ssm::Client,
    name: String,
    record: LockRecord,
    lost: Arc<AtomicBool>,
    renew: tokio::task::JoinHandle<()>,
    /// The holder this run took the lock over from (it had stopped renewing).
    pub took_over: Option<LockRecord>,
    /// How long this run waited for another holder.
    pub waited: Duration,
    /// The parameter of this run's generation.
    pub parameter: String,
}

impl Held {
    /// True once another run took the lock over (this run stopped renewing for a TTL).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and marks this run's generation released (unless the lock was lost:
    /// then there is nothing of this run's to release).
    pub async fn release(self) -> Result<()> {
        self.renew.abort();
        if self.lost() {
            return Ok(());
        }
        let record = LockRecord {
            released: true,
            renewed_at: unix_now(),
            ..self.record.clone()
        };
        overwrite(&self.ssm, &self.name, &record).await
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renew.abort();
    }
}

/// What [`acquire`] reports while it waits: the holder, once, when waiting starts.
pub type OnWait<'a> = &'a (dyn Fn(&LockRecord) + Sync);

/// Takes the lock at `path` for `environment`, waiting for a live holder up to `opts.wait`
/// and taking over a stale one; fails with [`Error::Locked`] naming the holder.
pub async fn acquire(
    ssm: &aws_sdk_ssm::Client,
    path: &str,
    environment: &str,
    opts: &LockOptions,
    on_wait: OnWait<'_>,
) -> Result<Held> {
    let start = Instant::now();
    // (generation, version) → when this run first saw it: the only clock staleness uses.
    let mut seen: BTreeMap<(u64, i64), Instant> = BTreeMap::new();
    let mut told = false;
    loop {
        let chain = list(ssm, path).await?;
        let newest = chain.last();
        let mut took_over = None;
        if let Some(g) = newest {
            let first_seen = *seen
                .entry((g.number, g.version))
                .or_insert_with(Instant::now);
            let ttl = g.record.as_ref().map_or(LockOptions::default().ttl, |r| {
                Duration::from_secs(r.ttl_seconds)
            });
            let released = g.record.as_ref().is_some_and(|r| r.released);
            if !released {
                if first_seen.elapsed() < ttl {
                    // A live holder (or one not yet watched for its TTL).
                    if start.elapsed() >= opts.wait {
                        return Err(locked(path, g, start.elapsed()));
                    }
                    if !told {
                        if let Some(r) = &g.record {
                            on_wait(r);
                        }
                        told = true;
                    }
                    tokio::time::sleep(opts.poll.min(ttl / 4).max(Duration::from_millis(50))).await;
                    continue;
                }
                took_over = Some(g.record.clone().unwrap_or_else(|| LockRecord {
                    holder: "(unreadable lock record)".to_string(),
                    environment: String::new(),
                    acquired_at: 0,
                    renewed_at: 0,
                    ttl_seconds: ttl.as_secs(),
                    released: false,
                }));
            }
        }
        let number = newest.map_or(1, |g| g.number + 1);
        let name = generation_name(path, number);
        let now = unix_now();
        let record = LockRecord {
            holder: opts.holder.clone(),
            environment: environment.to_string(),
            acquired_at: now,
            renewed_at: now,
            ttl_seconds: opts.ttl.as_secs().max(1),
            released: false,
        };
        if !create(ssm, &name, &record).await? {
            continue;
        }
        // Verify: a newer generation means this name had been deleted and re-created.
        let chain = list(ssm, path).await?;
        if chain.iter().any(|g| g.number > number) {
            delete(ssm, std::slice::from_ref(&name)).await;
            continue;
        }
        let older: Vec<String> = chain
            .iter()
            .filter(|g| g.number < number)
            .map(|g| g.name.clone())
            .collect();
        delete(ssm, &older).await;
        let lost = Arc::new(AtomicBool::new(false));
        let renew = tokio::spawn(renew_loop(
            ssm.clone(),
            path.to_string(),
            number,
            record.clone(),
            opts.ttl,
            lost.clone(),
        ));
        return Ok(Held {
            ssm: ssm.clone(),
            parameter: name.clone(),
            name,
            record,
            lost,
            renew,
            took_over,
            waited: if told {
                start.elapsed()
            } else {
                Duration::ZERO
            },
        });
    }
}

fn locked(path: &str, g: &Generation, waited: Duration) -> Error {
    let r = g.record.clone().unwrap_or_else(|| LockRecord {
        holder: "(unreadable lock record)".to_string(),
        environment: String::new(),
        acquired_at: 0,
        renewed_at: 0,
        ttl_seconds: 0,
        released: false,
    });
    Error::Locked(Box::new(crate::error::LockedBy {
        parameter: g.name.clone(),
        service: path.rsplit('/').next().unwrap_or(path).to_string(),
        holder: r.holder,
        environment: r.environment,
        since: rfc3339(r.acquired_at),
        renewed: g
            .modified
            .and_then(|d| d.fmt(DateTimeFormat::DateTime).ok())
            .unwrap_or_else(|| rfc3339(r.renewed_at)),
        waited_s: waited.as_secs(),
    }))
}

async fn renew_loop(
    ssm: aws_sdk_ssm::Client,
    path: String,
    number: u64,
    mut record: LockRecord,
    ttl: Duration,
    lost: Arc<AtomicBool>,
) {
    let period = (ttl / 3).max(Duration::from_millis(200));
    let own = generation_name(&path, number);
    let next = generation_name(&path, number + 1);
    loop {
        tokio::time::sleep(period).await;
        match ssm.get_parameter().name(&next).send().await {
            Ok(_) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) if code_of(&e) == Some("ParameterNotFound") => {}
            // A failed look is retried at the next period; the TTL leaves room for two.
            Err(_) => continue,
        }
        record.renewed_at = unix_now();
        let _ = overwrite(&ssm, &own, &record).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_generations_and_are_ssm_safe() {
        let p = lock_path("shared", "check out");
        assert_eq!(p, "/planton/ecs-lock/shared/check_out");
        assert!(generation_name(&p, 9) < generation_name(&p, 10));
        assert_eq!(
            generation_name(&p, 10),
            "/planton/ecs-lock/shared/check_out/000000000010"
        );
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_950_400), "2025-12-05T16:00:00Z");
    }

    #[test]
    fn records_round_trip_and_default_to_held() {
        let r: LockRecord = serde_json::from_str(
            r#"{"holder":"a@b:1","environment":"prod","acquiredAt":1,"renewedAt":2,"ttlSeconds":60}"#,
        )
        .expect("a record");
        assert!(!r.released);
        assert_eq!(
            serde_json::from_str::<LockRecord>(&serde_json::to_string(&r).unwrap_or_default()).ok(),
            Some(r)
        );
    }
}
