//! Who is asking: sessions, API tokens, the trusted proxy header, anonymous viewers; CSRF
//! protection and the sign-in rate limit.
//!
//! A request's [`Identity`] comes from, in order: a trusted proxy's header (only on a
//! connection from one of the configured proxy addresses), an `Authorization: Bearer` API
//! token, the session cookie, else anonymous (let in only when the config says
//! `anonymous: viewer`). Sessions are kept in a database of their own and survive a
//! restart ([`sessions`]).
//!
//! The session cookie is `HttpOnly; SameSite=Strict; Path=/` (plus `Secure` when
//! configured); its value is a random 256-bit id, stored only as a SHA-256 digest. A
//! state-changing request authenticated by the cookie must carry the session's CSRF token
//! in `X-CSRF-Token`, and its `Origin` (when sent) must be the server's own; a bearer token
//! or a proxy identity is not ambient, so needs neither.
//!
//! Sign-in failures are counted in a sliding window per (user name, client address), per
//! client address, and per user name over all addresses ([`LoginLimiter`]); past a limit,
//! sign-ins for that key answer 429 with `Retry-After` without checking the password. So
//! one client guessing a password locks out neither other users nor the same user
//! signing in from elsewhere; only many addresses together lock one user out. The client
//! address is the TCP peer, or, on a connection from the configured trusted proxy, the
//! address that proxy forwards ([`client_addr`]); forwarded headers from anyone else are
//! ignored.

mod sessions;

pub use sessions::Sessions;

use crate::config::{Anonymous, ServeConfig, User, hex, random_bytes, verify_secret};
use crate::error::ApiError;
use axum::http::{HeaderMap, Method, StatusCode, header};
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

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
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
        && let Some(v) = proxy.header.as_deref().and_then(|h| headers.get(h))
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
        && let Some((user, csrf)) = sessions.get(id, config)
    {
        return Ok(Some(Identity {
            user,
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

/// The sign-in rate limit: failures per (user name, client address), per client address,
/// and per user name over all addresses.
pub struct LoginLimiter {
    by_user_and_addr: RateLimiter,
    by_addr: RateLimiter,
    by_user: RateLimiter,
}

impl LoginLimiter {
    /// At most `per_user_and_addr`, `per_addr` and `per_user` failures within `window`.
    pub fn new(
        per_user_and_addr: usize,
        per_addr: usize,
        per_user: usize,
        window: Duration,
    ) -> Self {
        LoginLimiter {
            by_user_and_addr: RateLimiter::new(per_user_and_addr, window),
            by_addr: RateLimiter::new(per_addr, window),
            by_user: RateLimiter::new(per_user, window),
        }
    }

    fn keys(user: &str, client: Option<IpAddr>) -> (String, Option<String>, String) {
        // A name longer than any user's (64) is kept as its digest, so that made-up names
        // cost the table a bounded amount each.
        let user = if user.len() > 64 {
            hex(&digest(user))
        } else {
            user.to_string()
        };
        (
            format!(
                "{user}\0{}",
                client.map(|a| a.to_string()).unwrap_or_default()
            ),
            client.map(|a| a.to_string()),
            user,
        )
    }

    /// 429 with `Retry-After` when `user` may not try to sign in from `client` now.
    /// `client` is `None` when a trusted proxy named no client: then only the per-user
    /// limits apply (counting every such client as one address would let one of them lock
    /// out everybody).
    pub fn check(&self, user: &str, client: Option<IpAddr>) -> Result<(), ApiError> {
        let (pair, addr, name) = Self::keys(user, client);
        let (wait, why) = if let Some(w) = self.by_user_and_addr.blocked(&pair) {
            (w, "for this user from this address".to_string())
        } else if let Some(w) = addr.as_deref().and_then(|a| self.by_addr.blocked(a)) {
            (w, "from this address".to_string())
        } else if let Some(w) = self.by_user.blocked(&name) {
            (w, "for this user (from many addresses)".to_string())
        } else {
            return Ok(());
        };
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed sign-in attempts {why}: try again in {wait} s"),
        );
        e.retry_after = Some(wait);
        Err(e)
    }

    /// Records a failed sign-in.
    pub fn failed(&self, user: &str, client: Option<IpAddr>) {
        let (pair, addr, name) = Self::keys(user, client);
        self.by_user_and_addr.fail(&pair);
        if let Some(a) = addr {
            self.by_addr.fail(&a);
        }
        self.by_user.fail(&name);
    }

    /// Records a successful sign-in: that client's failures for that user are forgotten
    /// (not the address's or the user's totals, which others may have caused).
    pub fn succeeded(&self, user: &str, client: Option<IpAddr>) {
        self.by_user_and_addr.reset(&Self::keys(user, client).0);
    }
}

/// The client's address for the rate limit: the TCP `peer`, unless `peer` is the
/// configured trusted proxy; then the right-most address in the proxy's client header that
/// is not a proxy address (each proxy appends the address it was connected from, so the
/// left part is whatever the client claimed). `None` when a proxy sends no usable address.
pub fn client_addr(config: &ServeConfig, headers: &HeaderMap, peer: IpAddr) -> Option<IpAddr> {
    let Some(proxy) = config
        .trusted_proxy
        .as_ref()
        .filter(|p| p.addresses.contains(&peer))
    else {
        return Some(peer);
    };
    let values: Vec<&str> = headers
        .get_all(proxy.client_header())
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<_>>()?;
    for item in values.iter().flat_map(|v| v.split(',')).rev() {
        let item = item.trim();
        let ip = item
            .parse::<IpAddr>()
            .or_else(|_| item.parse::<std::net::SocketAddr>().map(|s| s.ip()))
            .ok()?;
        if !proxy.addresses.contains(&ip) {
            return Some(ip);
        }
    }
    None
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
    fn one_client_locks_out_neither_other_users_nor_other_clients() {
        let l = LoginLimiter::new(3, 10, 6, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check("ann", Some(a)).is_ok());
            l.failed("ann", Some(a));
        }
        let e = l.check("ann", Some(a)).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (429, "rate_limited"));
        assert!(e.retry_after.is_some_and(|w| (1..=60).contains(&w)));
        assert!(
            e.message.contains("this user from this address"),
            "{}",
            e.message
        );
        assert!(l.check("ann", Some(b)).is_ok(), "ann from elsewhere");
        assert!(l.check("bob", Some(a)).is_ok(), "bob from the same address");
        // Three more addresses' failures reach the per-user total: ann is locked everywhere.
        for i in 0..3u8 {
            l.failed("ann", Some(IpAddr::from([198, 51, 100, i])));
        }
        let e = l.check("ann", Some(b)).unwrap_err();
        assert!(e.message.contains("many addresses"), "{}", e.message);
        assert!(l.check("bob", Some(b)).is_ok());
        // Ten failures from one address, for any names, block that address.
        for i in 0..7 {
            l.failed(&format!("u{i}"), Some(a));
        }
        let e = l.check("carol", Some(a)).unwrap_err();
        assert!(e.message.contains("from this address"), "{}", e.message);
        // Success forgets only that client's failures for that user.
        l.succeeded("ann", Some(a));
        assert!(l.check("ann", Some(b)).is_err());
        // Unattributed (proxy named no client): per-user limits only.
        assert!(l.check("dave", None).is_ok());
    }

    #[test]
    fn client_address_comes_from_the_trusted_proxy_only() {
        let mut c = ServeConfig::default();
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let other: IpAddr = "10.0.0.9".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(
            client_addr(&c, &h, proxy),
            Some(proxy),
            "no proxy configured"
        );
        c.trusted_proxy = Some(crate::config::TrustedProxy {
            header: None,
            client_header: None,
            addresses: vec![proxy, "10.0.0.3".parse().unwrap()],
        });
        assert_eq!(
            client_addr(&c, &h, other),
            Some(other),
            "not from the proxy"
        );
        assert_eq!(
            client_addr(&c, &h, proxy),
            "203.0.113.7".parse().ok(),
            "right-most"
        );
        h.append("x-forwarded-for", "10.0.0.3".parse().unwrap());
        assert_eq!(
            client_addr(&c, &h, proxy),
            "203.0.113.7".parse().ok(),
            "chained proxies skipped"
        );
        h.insert("x-forwarded-for", "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(client_addr(&c, &h, proxy), "2001:db8::1".parse().ok());
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_addr(&c, &h, proxy), None);
        h.remove("x-forwarded-for");
        assert_eq!(client_addr(&c, &h, proxy), None, "proxy named no client");
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
