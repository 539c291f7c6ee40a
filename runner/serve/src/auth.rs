//! Who is asking: sessions, API tokens, the trusted proxy header, anonymous viewers; CSRF
//! protection and the login rate limit.
//!
//! A request's [`Identity`] comes from, in order: a trusted proxy's header (only on a
//! connection from one of the configured proxy addresses), an `Authorization: Bearer` API
//! token, the session cookie, else anonymous (let in only when the config says
//! `anonymous: viewer`). Sessions live in memory: a restart signs everyone out.
//!
//! The session cookie is `HttpOnly; SameSite=Strict; Path=/` (plus `Secure` when
//! configured); its value is a random 256-bit id, stored only as a SHA-256 digest. A
//! state-changing request authenticated by the cookie must carry the session's CSRF token
//! in `X-CSRF-Token`, and its `Origin` (when sent) must be the server's own; a bearer token
//! or a proxy identity is not ambient, so needs neither.
//!
//! Login failures are counted per user name and per client address in a sliding window;
//! past the limit, logins from there (or for that name) answer 429 with `Retry-After`
//! without checking the password.

use crate::config::{Anonymous, ServeConfig, User, hex, random_bytes, verify_secret};
use crate::error::ApiError;
use axum::http::{HeaderMap, Method, StatusCode, header};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "planton_session";
/// The CSRF header's name.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The session cookie (ambient: needs CSRF protection).
    Session,
    /// An API token.
    Token,
    /// The trusted proxy's header.
    Proxy,
    /// Nobody signed in; the config lets anonymous viewers read.
    Anonymous,
}

/// The user behind a request.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user (anonymous: a viewer named `anonymous`).
    pub user: User,
    /// How they were recognised.
    pub via: Via,
    /// The session's CSRF token (sessions only).
    pub csrf: Option<String>,
}

struct Session {
    user: String,
    csrf: String,
    expires: Instant,
}

/// The live sessions, keyed by the SHA-256 of the cookie value.
pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn random_token() -> Result<String, ApiError> {
    random_bytes::<32>()
        .map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

impl Sessions {
    /// No sessions; new ones live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Sessions {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session for `user`: returns (cookie value, CSRF token).
    pub fn create(&self, user: &str) -> Result<(String, String), ApiError> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.expires > now);
        map.insert(
            digest(&id),
            Session {
                user: user.to_string(),
                csrf: csrf.clone(),
                expires: now + self.ttl,
            },
        );
        Ok((id, csrf))
    }

    /// The user name and CSRF token of a live session.
    fn get(&self, id: &str) -> Option<(String, String)> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&digest(id))
            .filter(|s| s.expires > Instant::now())
            .map(|s| (s.user.clone(), s.csrf.clone()))
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&digest(id));
    }

    /// The `Set-Cookie` value that starts a session.
    pub fn cookie(&self, id: &str, secure: bool) -> String {
        format!(
            "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
            self.ttl.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn clear_cookie(secure: bool) -> String {
        format!(
            "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
            if secure { "; Secure" } else { "" }
        )
    }
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Verified API tokens, so a client's every request does not pay for Argon2: the SHA-256
/// of the whole token → the user name. Cleared when the config changes (it does not while
/// serving).
#[derive(Default)]
pub struct TokenCache(Mutex<HashMap<[u8; 32], String>>);

/// Finds who is asking. `peer` is the TCP peer's address. Errors: 401 for a bad token or
/// a proxy identity naming an unknown user; `Ok(None)` when nobody is signed in and
/// anonymous access is off.
pub fn identify(
    config: &ServeConfig,
    sessions: &Sessions,
    tokens: &TokenCache,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Option<Identity>, ApiError> {
    if let (Some(proxy), Some(peer)) = (&config.trusted_proxy, peer)
        && proxy.addresses.contains(&peer)
        && let Some(v) = headers.get(proxy.header.as_str())
    {
        let name = v.to_str().unwrap_or_default().trim();
        let user = config.user(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                format!("the proxy names user `{name}`, who is not in the server config"),
            )
        })?;
        return Ok(Some(Identity {
            user: user.clone(),
            via: Via::Proxy,
            csrf: None,
        }));
    }
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let bad = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the API token is not valid (expected `Authorization: Bearer plt_<id>_<secret>`)",
            )
        };
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(bad)?
            .trim();
        let key = digest(token);
        let cached = tokens
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let name = match cached {
            Some(n) => n,
            None => {
                let (id, secret) = token
                    .strip_prefix("plt_")
                    .and_then(|t| t.split_once('_'))
                    .ok_or_else(bad)?;
                let user = config
                    .users
                    .iter()
                    .find(|u| {
                        u.tokens
                            .iter()
                            .any(|t| t.id == id && verify_secret(secret, &t.hash))
                    })
                    .ok_or_else(bad)?;
                tokens
                    .0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, user.name.clone());
                user.name.clone()
            }
        };
        let user = config.user(&name).ok_or_else(bad)?;
        return Ok(Some(Identity {
            user: user.clone(),
            via: Via::Token,
            csrf: None,
        }));
    }
    if let Some(id) = session_cookie(headers)
        && let Some((name, csrf)) = sessions.get(id)
        && let Some(user) = config.user(&name)
    {
        return Ok(Some(Identity {
            user: user.clone(),
            via: Via::Session,
            csrf: Some(csrf),
        }));
    }
    if config.anonymous == Anonymous::Viewer {
        return Ok(Some(Identity {
            user: User {
                name: "anonymous".to_string(),
                role: crate::config::Role::Viewer,
                environments: Vec::new(),
                password_hash: None,
                tokens: Vec::new(),
            },
            via: Via::Anonymous,
            csrf: None,
        }));
    }
    Ok(None)
}

/// Refuses a cross-origin browser request: an `Origin` header that is not this server's
/// (`Host`), or `Sec-Fetch-Site: cross-site`.
pub fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let refuse = |why: String| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("cross-site request refused: {why}"),
        )
    };
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return Err(refuse("the browser marks it cross-site".to_string()));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or("");
        if host.is_empty() || authority != host {
            return Err(refuse(format!(
                "Origin {origin} is not this server ({host})"
            )));
        }
    }
    Ok(())
}

/// CSRF check for a state-changing request by `who`.
pub fn check_csrf(method: &Method, headers: &HeaderMap, who: &Identity) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if who.via != Via::Session {
        return Ok(());
    }
    check_origin(headers)?;
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let want = who.csrf.as_deref().unwrap_or_default();
    if sent.is_empty() || want.is_empty() || !bool::from(sent.as_bytes().ct_eq(want.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "missing or wrong X-CSRF-Token header: read the token from GET /api/session",
        ));
    }
    Ok(())
}

/// Login failures per key, in a sliding window.
pub struct RateLimiter {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl RateLimiter {
    /// At most `max` failures per key within `window`.
    pub fn new(max: usize, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until a key may try again, if it is over the limit.
    pub fn blocked(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let v = map.get_mut(key)?;
        v.retain(|t| now.duration_since(*t) < self.window);
        if v.len() >= self.max {
            let oldest = v.first().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            Some(wait.as_secs().max(1))
        } else {
            None
        }
    }

    /// Records a failure.
    pub fn fail(&self, key: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        map.entry(key.to_string()).or_default().push(now);
    }

    /// Forgets a key's failures (after a successful login).
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Checks a user name and password. Unknown users cost as much as known ones (a dummy
/// hash is verified), so timing does not tell which names exist.
pub fn check_password<'c>(config: &'c ServeConfig, name: &str, password: &str) -> Option<&'c User> {
    // The hash of a random string nobody knows, made once (only its cost matters).
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        random_bytes::<16>()
            .ok()
            .and_then(|b| crate::config::hash_secret(&hex(&b)).ok())
            .unwrap_or_default()
    });
    match config.user(name) {
        Some(u) => match &u.password_hash {
            Some(h) if verify_secret(password, h) => Some(u),
            _ => None,
        },
        None => {
            verify_secret(password, dummy);
            None
        }
    }
}

/// A short random hex id (for request-independent ids such as event stream ids).
pub fn short_id() -> String {
    random_bytes::<8>().map(|b| hex(&b)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_blocks_after_max_and_resets() {
        let r = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(r.blocked("k"), None);
            r.fail("k");
        }
        let wait = r.blocked("k").expect("blocked after 3 failures");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(r.blocked("other"), None);
        r.reset("k");
        assert_eq!(r.blocked("k"), None);
    }

    #[test]
    fn origin_must_be_this_server() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://127.0.0.1:9999".parse().unwrap());
        assert_eq!(check_origin(&h).unwrap_err().code, "csrf");
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert_eq!(check_origin(&h).unwrap_err().code, "csrf");
    }

    #[test]
    fn cookie_is_parsed_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; planton_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h), Some("xyz"));
    }
}
