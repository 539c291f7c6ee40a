//! `planton serve` as a process: a sign-in survives the server being killed and started
//! again; sign-out and `planton serve user remove` (also while the server runs) end
//! sessions for good.
//!
//! The server is the real binary on a loopback port it picks itself; requests are plain
//! HTTP/1.1 over a TCP socket.

use crate::util::{planton, temp_dir};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const PW: &str = "correct horse battery staple";

struct Server(Child, SocketAddr);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `planton serve` on a free loopback port; returns once it listens.
fn start(service: &Path, config: &Path) -> Server {
    let mut child = Command::new(planton())
        .args(["serve", "--listen", "127.0.0.1:0", "--service"])
        .arg(service)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start planton serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = String::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("planton serve stopped before listening:\n{seen}");
        };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split(" on http://").nth(1) {
            let addr = rest.split('/').next().unwrap_or_default();
            break addr.parse::<SocketAddr>().expect("listen address");
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server(child, addr)
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn http(s: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut tcp = TcpStream::connect(s.1).expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        s.1,
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    tcp.write_all(req.as_bytes()).expect("send");
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Signs in; returns (cookie, CSRF token).
fn login(s: &Server, user: &str) -> (String, String) {
    let r = http(
        s,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        &serde_json::json!({"user": user, "password": PW}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    (cookie, r.json()["csrfToken"].as_str().unwrap().to_string())
}

fn whoami(s: &Server, cookie: &str) -> Resp {
    http(s, "GET", "/api/session", &[("Cookie", cookie)], "")
}

fn user_cmd(args: &[&str], config: &Path, stdin: &str) {
    let mut child = Command::new(planton())
        .args(["serve", "user"])
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run planton serve user");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_sessions_survive_a_restart_and_end_on_sign_out_or_removal() {
    let dir = temp_dir("serve-sessions-restart");
    let config = dir.join("planton-serve.yaml");
    let pw = format!("{PW}\n");
    user_cmd(
        &["add", "ann", "--role", "admin", "--password-stdin"],
        &config,
        &pw,
    );
    for viewer in ["bob", "cy"] {
        user_cmd(
            &["add", viewer, "--role", "viewer", "--password-stdin"],
            &config,
            &pw,
        );
    }

    let server = start(&dir, &config);
    let (ann, ann_csrf) = login(&server, "ann");
    let (bob, _) = login(&server, "bob");
    let (cy, _) = login(&server, "cy");
    assert_eq!(whoami(&server, &ann).status, 200);
    assert_eq!(whoami(&server, &cy).status, 200);
    // Removed while the server runs: their session ends at once.
    user_cmd(&["remove", "cy"], &config, "");
    let r = whoami(&server, &cy);
    assert_eq!(r.status, 401, "{}", r.body);
    // Killed, not shut down: what a crash or a node loss does.
    drop(server);

    let db = dir.join("planton-serve.sessions.db");
    assert!(db.is_file(), "sessions are kept next to the config");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only, got {mode:o}");
    }
    let id = ann.split_once('=').unwrap().1;
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            assert!(!text.contains(id), "{} holds the session id", p.display());
        }
    }

    user_cmd(&["remove", "bob"], &config, "");
    let server = start(&dir, &config);
    let r = whoami(&server, &ann);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["user"], "ann");
    assert_eq!(r.json()["csrfToken"], ann_csrf.as_str());
    let r = whoami(&server, &bob);
    assert_eq!(
        r.status, 401,
        "a removed user's session is refused: {}",
        r.body
    );
    assert_eq!(r.json()["error"]["code"], "unauthenticated");

    let r = http(
        &server,
        "POST",
        "/api/logout",
        &[("Cookie", &ann), ("X-CSRF-Token", &ann_csrf)],
        "",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(whoami(&server, &ann).status, 401);
    drop(server);
    let server = start(&dir, &config);
    assert_eq!(
        whoami(&server, &ann).status,
        401,
        "signed out stays signed out"
    );
}
