//! The server config: users, their roles, their password and API-token hashes, whether
//! anonymous viewers are let in, and an optional trusted proxy.
//!
//! A YAML file (`planton-serve.yaml` by convention), written by `planton serve user add`
//! and read at start. Secrets are never stored: a password or token is kept only as an
//! Argon2id hash (PHC string: salt and parameters inside), verified in constant time by
//! the `argon2` crate. A token is `plt_<id>_<secret>`: the id finds the user's hash, the
//! secret is what is hashed.
//!
//! Roles: a `viewer` reads everything; an `approver` also approves and rejects gated tasks
//! of the environments listed in `environments` (`"*"` for all); an `admin` may do all.

use crate::error::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::Path;

/// The whole server config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServeConfig {
    /// Who is let in without signing in: nobody (default) or read-only viewers.
    #[serde(default)]
    pub anonymous: Anonymous,
    /// Set the `Secure` attribute on the session cookie (serve behind HTTPS).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secure_cookies: bool,
    /// Session lifetime in minutes from sign-in (default 720, 12 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_minutes: Option<u64>,
    /// A session unused this many minutes ends (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_idle_minutes: Option<u64>,
    /// A reverse proxy in front of the server: it may name the signed-in user in a header,
    /// and names the client's address (for the sign-in rate limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_proxy: Option<TrustedProxy>,
    /// The users.
    #[serde(default)]
    pub users: Vec<User>,
}

/// Who is let in without signing in.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Anonymous {
    /// Nobody: every API call needs a session, token or proxy identity.
    #[default]
    None,
    /// Anyone may read (never decide).
    Viewer,
}

/// A reverse proxy the operator trusts. Its headers are believed only on connections from
/// its `addresses`; from anywhere else they are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedProxy {
    /// The header carrying the signed-in user's name, e.g. `X-Forwarded-User` (none: the
    /// proxy does not authenticate; users sign in to planton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The header carrying the client's address, a comma-separated list of addresses to
    /// which each proxy appends its peer (default `X-Forwarded-For`). The client is the
    /// right-most address that is not one of `addresses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_header: Option<String>,
    /// The proxy's addresses.
    pub addresses: Vec<IpAddr>,
}

impl TrustedProxy {
    /// The client-address header's name.
    pub fn client_header(&self) -> &str {
        self.client_header.as_deref().unwrap_or("x-forwarded-for")
    }
}

/// A user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    /// The user name (shown in decisions).
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// For approvers: the environments they may approve (`"*"`: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// The Argon2id hash of the password (none: token or proxy only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// API tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Token>,
}

/// An API token: its public id and the hash of its secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Token {
    /// The public part, `plt_<id>_…`.
    pub id: String,
    /// The Argon2id hash of the secret part.
    pub hash: String,
}

/// A role: the API's own type, so the config and the API cannot disagree.
pub use planton_core::api::Role;

/// Parses `viewer`, `approver` or `admin`.
pub fn parse_role(s: &str) -> Result<Role> {
    match s {
        "viewer" => Ok(Role::Viewer),
        "approver" => Ok(Role::Approver),
        "admin" => Ok(Role::Admin),
        other => Err(Error::User(format!(
            "unknown role `{other}`: expected viewer, approver or admin"
        ))),
    }
}

impl User {
    /// Whether this user may approve or reject a gated task of `environment`.
    pub fn may_decide(&self, environment: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Viewer => false,
            Role::Approver => self
                .environments
                .iter()
                .any(|e| e == "*" || e == environment),
        }
    }
}

impl ServeConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<ServeConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigIo {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks config text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<ServeConfig> {
        let config: ServeConfig = if text.trim().is_empty() {
            ServeConfig::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| Error::ConfigInvalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        };
        config.check().map_err(|message| Error::ConfigInvalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, u) in self.users.iter().enumerate() {
            check_name(&u.name).map_err(|e| format!("users[{i}].name: {e}"))?;
            if !seen.insert(u.name.as_str()) {
                return Err(format!(
                    "users[{i}].name: user `{}` is defined twice",
                    u.name
                ));
            }
            if u.role == Role::Approver && u.environments.is_empty() {
                return Err(format!(
                    "users[{i}].environments: approver `{}` names no environment (use \"*\" for all)",
                    u.name
                ));
            }
            if let Some(h) = &u.password_hash {
                PasswordHash::new(h)
                    .map_err(|e| format!("users[{i}].passwordHash: not a PHC hash string ({e})"))?;
            }
            for (j, t) in u.tokens.iter().enumerate() {
                PasswordHash::new(&t.hash).map_err(|e| {
                    format!("users[{i}].tokens[{j}].hash: not a PHC hash string ({e})")
                })?;
            }
        }
        if let Some(p) = &self.trusted_proxy {
            for (field, h) in [("header", &p.header), ("clientHeader", &p.client_header)] {
                if let Some(h) = h
                    && axum::http::HeaderName::from_bytes(h.as_bytes()).is_err()
                {
                    return Err(format!("trustedProxy.{field}: `{h}` is not a header name"));
                }
            }
            if p.addresses.is_empty() {
                return Err("trustedProxy.addresses: name the proxy's addresses".to_string());
            }
        }
        for (field, v) in [
            ("sessionMinutes", self.session_minutes),
            ("sessionIdleMinutes", self.session_idle_minutes),
        ] {
            if v == Some(0) || v.is_some_and(|m| m > 366 * 24 * 60) {
                return Err(format!("{field}: use 1 to 527040 minutes (a year)"));
            }
        }
        Ok(())
    }

    /// Writes the config atomically (temporary file, fsync, rename), readable by the owner
    /// only on Unix.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::ConfigIo {
            action: "write",
            path: path.to_path_buf(),
            source,
        };
        let text = format!(
            "# planton serve config: users and roles. Passwords and tokens are stored only as\n# Argon2id hashes; edit with `planton serve user add`.\n{}",
            serde_yaml::to_string(self).map_err(|e| Error::User(e.to_string()))?
        );
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = dir.join(format!(
            ".{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        {
            use std::io::Write as _;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// Adds a user, or replaces the role, environments and password of an existing one
    /// (its tokens are kept). Returns whether the user was new.
    pub fn upsert_user(
        &mut self,
        name: &str,
        role: Role,
        environments: Vec<String>,
        password: Option<&str>,
    ) -> Result<bool> {
        check_name(name).map_err(Error::User)?;
        if role == Role::Approver && environments.is_empty() {
            return Err(Error::User(format!(
                "approver `{name}` needs --env ENV (repeatable; \"*\" for all)"
            )));
        }
        let password_hash = match password {
            Some(p) => {
                if p.chars().count() < 12 {
                    return Err(Error::User(
                        "the password is too short: use at least 12 characters".to_string(),
                    ));
                }
                Some(hash_secret(p)?)
            }
            None => None,
        };
        if let Some(u) = self.users.iter_mut().find(|u| u.name == name) {
            u.role = role;
            u.environments = environments;
            if password_hash.is_some() {
                u.password_hash = password_hash;
            }
            return Ok(false);
        }
        self.users.push(User {
            name: name.to_string(),
            role,
            environments,
            password_hash,
            tokens: Vec::new(),
        });
        Ok(true)
    }

    /// Creates an API token for an existing user, stores its hash and returns the token
    /// (shown once; it cannot be recovered).
    pub fn add_token(&mut self, name: &str) -> Result<String> {
        let user = self
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| Error::User(format!("no user `{name}`: add the user first")))?;
        let id = hex(&random_bytes::<6>()?);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<24>()?);
        user.tokens.push(Token {
            id: id.clone(),
            hash: hash_secret(&secret)?,
        });
        Ok(format!("plt_{id}_{secret}"))
    }

    /// Removes a user (their sessions end: a session is only honoured for a user in the
    /// config). Returns whether the user existed.
    pub fn remove_user(&mut self, name: &str) -> bool {
        let before = self.users.len();
        self.users.retain(|u| u.name != name);
        self.users.len() != before
    }

    /// The user with this name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }
}

fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(format!(
            "`{name}` is not a user name: use 1 to 64 letters, digits, `.`, `_`, `-`, `@`"
        ));
    }
    Ok(())
}

/// Hashes a password or token secret with Argon2id and a fresh random salt.
pub fn hash_secret(secret: &str) -> Result<String> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| Error::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

/// Whether `secret` matches the PHC `hash` (constant time; false on a malformed hash).
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// `N` bytes from the system random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(b)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verify() {
        let a = hash_secret("correct horse battery").unwrap();
        let b = hash_secret("correct horse battery").unwrap();
        assert_ne!(a, b, "two hashes of one secret differ by salt");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse battery", &a));
        assert!(!verify_secret("correct horse batterx", &a));
        assert!(!verify_secret("x", "not a hash"));
    }

    #[test]
    fn config_round_trips_and_never_holds_the_password() {
        let mut c = ServeConfig::default();
        assert!(
            c.upsert_user("alice", Role::Admin, vec![], Some("a long password!"))
                .unwrap()
        );
        let token = c.add_token("alice").unwrap();
        let dir = std::env::temp_dir().join(format!("planton-serve-cfg-{}", std::process::id()));
        let path = dir.join("serve.yaml");
        c.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("a long password!"));
        // The secret is everything after `plt_<id>_` (base64url, so it may hold `_` too).
        let secret = token.splitn(3, '_').nth(2).unwrap();
        assert!(secret.len() >= 32, "{token}");
        assert!(!text.contains(secret));
        assert_eq!(ServeConfig::load(&path).unwrap(), c);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_configs_are_refused_with_the_field() {
        let p = Path::new("serve.yaml");
        let e = ServeConfig::parse("users:\n  - name: bob\n    role: approver\n", p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid server config serve.yaml: users[0].environments: approver `bob` names no environment (use \"*\" for all)"
        );
        let e = ServeConfig::parse("users:\n  - name: bob\n    role: boss\n", p).unwrap_err();
        assert!(e.to_string().contains("unknown variant `boss`"), "{e}");
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = ServeConfig::parse("userz: []\n", p).unwrap_err();
        assert!(e.to_string().contains("unknown field `userz`"), "{e}");
        let e = ServeConfig::parse("sessionIdleMinutes: 0\n", p).unwrap_err();
        assert!(
            e.to_string().contains("sessionIdleMinutes: use 1 to"),
            "{e}"
        );
        let e = ServeConfig::parse(
            "trustedProxy: {clientHeader: 'a b', addresses: [10.0.0.2]}\n",
            p,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("trustedProxy.clientHeader: `a b` is not a header name"),
            "{e}"
        );
        // A proxy that only forwards client addresses needs no identity header.
        let c = ServeConfig::parse("trustedProxy: {addresses: [10.0.0.2]}\n", p).unwrap();
        let proxy = c.trusted_proxy.unwrap();
        assert_eq!(
            (proxy.header.as_deref(), proxy.client_header()),
            (None, "x-forwarded-for")
        );
    }

    #[test]
    fn approvers_decide_only_their_environments() {
        let u = User {
            name: "a".into(),
            role: Role::Approver,
            environments: vec!["prod".into()],
            password_hash: None,
            tokens: vec![],
        };
        assert!(u.may_decide("prod"));
        assert!(!u.may_decide("staging"));
        let v = User {
            role: Role::Viewer,
            ..u.clone()
        };
        assert!(!v.may_decide("prod"));
        let a = User {
            role: Role::Admin,
            environments: vec![],
            ..u
        };
        assert!(a.may_decide("anything"));
    }
}
