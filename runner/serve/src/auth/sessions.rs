//! Sign-in sessions that survive a restart: a small SQLite database of their own (by
//! default next to the server config, see `planton serve --sessions`), or in memory.
//!
//! A row holds the SHA-256 of the session id (never the id: a copy of the file signs
//! nobody in), the user name, a stamp of the user's password hash at sign-in, and the
//! sign-in and last-use times (Unix milliseconds, wall clock, so they mean the same after
//! a restart). The CSRF token is derived from the session id (SHA-256 with a domain
//! prefix), so it is not stored either.
//!
//! A session is honoured only while all hold: younger than the absolute lifetime
//! (`sessionMinutes`), used within the idle lifetime (`sessionIdleMinutes`), its user is
//! still in the config, and that user's password is the one they signed in with. Otherwise
//! the row is deleted on sight; at start, [`Sessions::for_config`] deletes every such row
//! at once (a user removed from the config, or given a new password, is signed out
//! everywhere), and `planton serve user add|remove` deletes that user's rows
//! ([`Sessions::end_user`]), which a running server sharing the file sees at once.
//! Sign-out deletes the row. The last-use time is written at most once a
//! minute per session, so reads stay reads.
//!
//! Every change is one SQLite transaction (WAL journal), so a crash leaves the last
//! committed state; the file is created readable by its owner only. Several servers may
//! share the file on one machine (SQLite's locking); it is not meant for network file
//! systems, so replicas of a server on different machines do not share sessions.

use crate::config::{ServeConfig, User, random_bytes};
use crate::error::{ApiError, Error};
use axum::http::StatusCode;
use base64::Engine as _;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id_hash BLOB PRIMARY KEY,
    user TEXT NOT NULL,
    stamp TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    used_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user, created_ms);
";

/// At most this many live sessions per user; signing in again ends the oldest.
const MAX_PER_USER: i64 = 100;

/// The live sessions. Cloning shares them.
#[derive(Clone)]
pub struct Sessions {
    db: Option<Arc<Mutex<Connection>>>,
    path: Option<PathBuf>,
    absolute: Duration,
    idle: Duration,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("path", &self.path)
            .field("absolute", &self.absolute)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The CSRF token of the session whose cookie value is `id`.
fn csrf_of(id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"planton csrf\0");
    h.update(id.as_bytes());
    b64(&h.finalize())
}

/// What a session remembers of its user's credentials: a change of password ends it.
fn stamp(user: &User) -> String {
    let h = Sha256::digest(user.password_hash.as_deref().unwrap_or("").as_bytes());
    crate::config::hex(&h[..16])
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("the session database failed: {e}"),
    )
}

fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    // WAL: readers never wait for the writer; NORMAL: a power cut may lose the last
    // sign-in, never corrupt the file.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
    conn.execute_batch(SCHEMA)
}

impl Sessions {
    /// Opens (creating when missing, owner-only on Unix) the session database at `path`.
    pub fn open(path: &Path) -> Result<Sessions, Error> {
        let fail = |message: String| Error::Sessions {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        match opts.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        let conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        prepare(&conn).map_err(|e| fail(e.to_string()))?;
        Ok(Sessions {
            db: Some(Arc::new(Mutex::new(conn))),
            path: Some(path.to_path_buf()),
            ..Sessions::memory()
        })
    }

    /// Sessions in memory only: a restart signs everyone out.
    pub fn memory() -> Sessions {
        let db = Connection::open_in_memory()
            .and_then(|c| prepare(&c).map(|()| c))
            .ok()
            .map(|c| Arc::new(Mutex::new(c)));
        Sessions {
            db,
            path: None,
            absolute: Duration::from_secs(720 * 60),
            idle: Duration::from_secs(120 * 60),
        }
    }

    /// Takes the lifetimes from `config` and deletes every session it no longer honours:
    /// expired, of a user no longer in it, or of a user whose password changed since.
    pub fn for_config(mut self, config: &ServeConfig) -> Sessions {
        self.absolute = Duration::from_secs(60 * config.session_minutes.unwrap_or(720));
        self.idle = Duration::from_secs(60 * config.session_idle_minutes.unwrap_or(120));
        // Best effort: a session that is not pruned here is refused when it is used.
        let _ = self.prune(config);
        self
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, ApiError> {
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| internal("no in-memory database"))?;
        // A panic while holding the guard leaves a connection whose open transaction
        // SQLite rolled back; it is safe to go on using it.
        Ok(db.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn prune(&self, config: &ServeConfig) -> Result<(), ApiError> {
        let conn = self.conn()?;
        let now = now_ms();
        conn.execute(
            "DELETE FROM sessions WHERE created_ms <= ?1 OR used_ms <= ?2",
            params![
                now.saturating_sub(ms(self.absolute)),
                now.saturating_sub(ms(self.idle))
            ],
        )
        .map_err(internal)?;
        let held: Vec<(String, String)> = {
            let mut q = conn
                .prepare("SELECT DISTINCT user, stamp FROM sessions")
                .map_err(internal)?;
            q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(internal)?
                .collect::<rusqlite::Result<_>>()
                .map_err(internal)?
        };
        for (user, st) in held {
            if config.user(&user).is_none_or(|u| stamp(u) != st) {
                conn.execute(
                    "DELETE FROM sessions WHERE user = ?1 AND stamp = ?2",
                    params![user, st],
                )
                .map_err(internal)?;
            }
        }
        Ok(())
    }

    /// Starts a session for `user`: returns (cookie value, CSRF token). The cookie value
    /// is 256 random bits; only its SHA-256 is stored.
    pub fn create(&self, user: &User) -> Result<(String, String), ApiError> {
        let id = b64(&random_bytes::<32>().map_err(internal)?);
        let now = now_ms();
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(internal)?;
        tx.execute(
            "DELETE FROM sessions WHERE created_ms <= ?1 OR used_ms <= ?2",
            params![
                now.saturating_sub(ms(self.absolute)),
                now.saturating_sub(ms(self.idle))
            ],
        )
        .map_err(internal)?;
        tx.execute(
            "INSERT INTO sessions (id_hash, user, stamp, created_ms, used_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![digest(&id).as_slice(), user.name, stamp(user), now],
        )
        .map_err(internal)?;
        tx.execute(
            "DELETE FROM sessions WHERE user = ?1 AND id_hash NOT IN \
             (SELECT id_hash FROM sessions WHERE user = ?1 ORDER BY created_ms DESC, rowid DESC LIMIT ?2)",
            params![user.name, MAX_PER_USER],
        )
        .map_err(internal)?;
        tx.commit().map_err(internal)?;
        let csrf = csrf_of(&id);
        Ok((id, csrf))
    }

    /// The user (as `config` has them now) and CSRF token of a session the server still
    /// honours; a session it does not is deleted.
    pub fn get(&self, id: &str, config: &ServeConfig) -> Option<(User, String)> {
        let key = digest(id);
        let conn = self.conn().ok()?;
        let row: Option<(String, String, i64, i64)> = conn
            .query_row(
                "SELECT user, stamp, created_ms, used_ms FROM sessions WHERE id_hash = ?1",
                params![key.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .ok()?;
        let (name, st, created, used) = row?;
        let now = now_ms();
        let user = config
            .user(&name)
            .filter(|u| stamp(u) == st)
            .filter(|_| now < created.saturating_add(ms(self.absolute)))
            .filter(|_| now < used.saturating_add(ms(self.idle)));
        let Some(user) = user else {
            let _ = conn.execute(
                "DELETE FROM sessions WHERE id_hash = ?1",
                params![key.as_slice()],
            );
            return None;
        };
        if now - used > ms(self.idle / 4).min(60_000) {
            // Best effort: a failed write only makes the session look idle sooner.
            let _ = conn.execute(
                "UPDATE sessions SET used_ms = ?2 WHERE id_hash = ?1",
                params![key.as_slice(), now],
            );
        }
        Some((user.clone(), csrf_of(id)))
    }

    /// Ends a session (sign-out).
    pub fn remove(&self, id: &str) {
        if let Ok(conn) = self.conn() {
            let _ = conn.execute(
                "DELETE FROM sessions WHERE id_hash = ?1",
                params![digest(id).as_slice()],
            );
        }
    }

    /// Ends every session of `user` (removed, or given a new password): a running server
    /// sharing the file refuses them at once. Returns how many ended.
    pub fn end_user(&self, user: &str) -> Result<usize, ApiError> {
        self.conn()?
            .execute("DELETE FROM sessions WHERE user = ?1", params![user])
            .map_err(internal)
    }

    /// How many sessions are stored (expired ones not yet deleted included).
    pub fn stored(&self) -> usize {
        self.conn()
            .ok()
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))
                    .ok()
            })
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    /// The `Set-Cookie` value that starts a session.
    pub fn cookie(&self, id: &str, secure: bool) -> String {
        format!(
            "{}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
            super::SESSION_COOKIE,
            self.absolute.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn clear_cookie(secure: bool) -> String {
        format!(
            "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
            super::SESSION_COOKIE,
            if secure { "; Secure" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    fn config() -> ServeConfig {
        let mut c = ServeConfig::default();
        c.upsert_user("ann", Role::Admin, vec![], Some("a long password!"))
            .unwrap();
        c.upsert_user("bob", Role::Viewer, vec![], Some("another password"))
            .unwrap();
        c
    }

    #[test]
    fn a_session_survives_reopening_and_stores_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.db");
        let c = config();
        let s = Sessions::open(&path).unwrap().for_config(&c);
        let (id, csrf) = s.create(c.user("ann").unwrap()).unwrap();
        drop(s);
        let s = Sessions::open(&path).unwrap().for_config(&c);
        let (user, csrf2) = s.get(&id, &c).expect("the session is still there");
        assert_eq!(user.name, "ann");
        assert_eq!(csrf2, csrf);
        assert!(s.get("someone else's guess", &c).is_none());
        drop(s);
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&id), "the session id is stored");
            assert!(!text.contains(&csrf), "the CSRF token is stored");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[test]
    fn removed_users_and_new_passwords_end_sessions_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.db");
        let mut c = config();
        let s = Sessions::open(&path).unwrap().for_config(&c);
        let (ann, _) = s.create(c.user("ann").unwrap()).unwrap();
        let (bob, _) = s.create(c.user("bob").unwrap()).unwrap();
        assert_eq!(s.stored(), 2);
        assert!(c.remove_user("bob"));
        c.upsert_user("ann", Role::Admin, vec![], Some("a new long password"))
            .unwrap();
        let s = Sessions::open(&path).unwrap().for_config(&c);
        assert_eq!(s.stored(), 0, "both sessions deleted at start");
        assert!(s.get(&ann, &c).is_none());
        assert!(s.get(&bob, &c).is_none());
    }

    #[test]
    fn sign_out_and_lifetimes_end_sessions() {
        let mut c = config();
        let s = Sessions::memory().for_config(&c);
        let (id, _) = s.create(c.user("ann").unwrap()).unwrap();
        assert!(s.get(&id, &c).is_some());
        s.remove(&id);
        assert!(s.get(&id, &c).is_none());
        assert_eq!(s.stored(), 0);
        // A session older than the lifetime (rewritten as if signed in long ago).
        let (id, _) = s.create(c.user("ann").unwrap()).unwrap();
        let old = now_ms() - 11 * 60_000;
        s.conn()
            .unwrap()
            .execute("UPDATE sessions SET created_ms = ?1", params![old])
            .unwrap();
        c.session_minutes = Some(10);
        let s = s.for_config(&c);
        assert!(s.get(&id, &c).is_none(), "past the absolute lifetime");
        // Idle: used 11 minutes ago with a 10-minute idle limit.
        c.session_minutes = None;
        c.session_idle_minutes = Some(10);
        let s = s.for_config(&c);
        let (id, _) = s.create(c.user("ann").unwrap()).unwrap();
        s.conn()
            .unwrap()
            .execute("UPDATE sessions SET used_ms = ?1", params![old])
            .unwrap();
        assert!(s.get(&id, &c).is_none(), "idle too long");
        assert_eq!(s.stored(), 0, "refused sessions are deleted");
    }

    #[test]
    fn each_user_keeps_at_most_the_newest_sessions() {
        let c = config();
        let s = Sessions::memory().for_config(&c);
        let ann = c.user("ann").unwrap();
        let (first, _) = s.create(ann).unwrap();
        for _ in 0..MAX_PER_USER {
            s.create(ann).unwrap();
        }
        assert_eq!(s.stored(), MAX_PER_USER as usize);
        assert!(s.get(&first, &c).is_none(), "the oldest was ended");
        let (bob, _) = s.create(c.user("bob").unwrap()).unwrap();
        assert_eq!(s.end_user("ann").unwrap(), MAX_PER_USER as usize);
        assert_eq!(s.stored(), 1);
        assert!(s.get(&bob, &c).is_some());
    }
}
