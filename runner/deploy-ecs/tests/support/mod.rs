//! The test harness: a moto server started and stopped per test on a free loopback port, a
//! recording and fault-injecting HTTP proxy in front of it, moto fixtures, and the botocore
//! check of every recorded request.

#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use planton_deploy_ecs::{AwsOptions, Clients};
use serde_json::Value;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A moto server, killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Moto {
    /// Starts `python3 -m moto.server` with these extra environment variables.
    pub fn start(env: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("start moto (run scripts/setup-python.sh to install moto[server])");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The moto port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// The SigV4 signing name (`ecs`, `logs`, `elasticloadbalancing`, …).
    pub signing_name: String,
    /// `X-Amz-Target` for JSON protocols, empty for the query protocol.
    pub target: String,
    /// The content type.
    pub content_type: String,
    /// The body.
    pub body: String,
}

impl Recorded {
    /// `RegisterTaskDefinition`, `CreateRule`, …
    pub fn operation(&self) -> String {
        if let Some((_, op)) = self.target.split_once('.') {
            return op.to_string();
        }
        self.body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or_default()
            .to_string()
    }

    /// True for calls on the deploy lock's parameters (`/planton/ecs-lock/…`).
    pub fn is_lock(&self) -> bool {
        self.body.contains("/planton/ecs-lock/")
    }

    /// True for calls that change something.
    pub fn is_write(&self) -> bool {
        let op = self.operation();
        !["Describe", "Get", "List"]
            .iter()
            .any(|p| op.starts_with(p))
    }
}

/// A canned error for the next `times` requests of `operation`.
struct Fault {
    operation: String,
    times: u32,
    code: String,
    message: String,
}

/// A loopback HTTP proxy in front of moto that records every request and can answer chosen
/// operations with throttling errors.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
}

impl Proxy {
    /// Starts the proxy (on the current tokio runtime) forwarding to `upstream_port`.
    pub async fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::new(Mutex::new(Vec::new()));
        let (l2, f2) = (log.clone(), faults.clone());
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (l3, f3) = (l2.clone(), f2.clone());
                tokio::spawn(async move {
                    let _ = serve(conn, upstream_port, l3, f3).await;
                });
            }
        });
        Proxy {
            endpoint,
            log,
            faults,
        }
    }

    /// Answers the next `times` requests of `operation` with a throttling error.
    pub fn throttle(&self, operation: &str, times: u32) {
        self.fail(operation, times, "ThrottlingException", "Rate exceeded");
    }

    /// Answers the next `times` requests of `operation` with the error `code` (HTTP 400).
    pub fn fail(&self, operation: &str, times: u32, code: &str, message: &str) {
        self.faults.lock().expect("faults").push(Fault {
            operation: operation.to_string(),
            times,
            code: code.to_string(),
            message: message.to_string(),
        });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log").clone()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.log.lock().expect("log").clear();
    }
}

async fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, body)))
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn serve(
    mut conn: TcpStream,
    upstream: u16,
    log: Arc<Mutex<Vec<Recorded>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut conn).await? else {
        return Ok(());
    };
    let signing_name = header(&head, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string();
    let rec = Recorded {
        signing_name,
        target: header(&head, "x-amz-target")
            .unwrap_or_default()
            .to_string(),
        content_type: header(&head, "content-type")
            .unwrap_or_default()
            .to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let op = rec.operation();
    let json = !rec.target.is_empty();
    log.lock().expect("log").push(rec);
    let fault = {
        let mut f = faults.lock().expect("faults");
        f.iter_mut()
            .find(|f| f.operation == op && f.times > 0)
            .map(|fault| {
                fault.times -= 1;
                (fault.code.clone(), fault.message.clone())
            })
    };
    if let Some((code, message)) = fault {
        let (ctype, body) = if json {
            (
                "application/x-amz-json-1.1",
                format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
            )
        } else {
            // The query protocol's throttling code is `Throttling`.
            let code = if code == "ThrottlingException" {
                "Throttling"
            } else {
                &code
            };
            (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>t</RequestId></ErrorResponse>"
                ),
            )
        };
        let resp = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: {ctype}\r\nx-amzn-ErrorType: {code}\r\nx-amzn-RequestId: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(resp.as_bytes()).await?;
        return conn.shutdown().await;
    }
    // Forward with `Connection: close` and relay the whole response.
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream)).await?;
    let mut new_head = String::new();
    for line in head.trim_end().lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            new_head.push_str(line);
            new_head.push_str("\r\n");
        }
    }
    new_head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(new_head.as_bytes()).await?;
    upstream.write_all(&body).await?;
    let mut resp = Vec::new();
    upstream.read_to_end(&mut resp).await?;
    conn.write_all(&resp).await?;
    conn.shutdown().await
}

/// What the fixture created.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub cluster_arn: String,
    pub subnets: Vec<String>,
    pub security_group: String,
    pub alb_arn: String,
}

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Creates a VPC, subnets, a security group, a cluster and an ALB with a port-80 listener.
pub fn fixture(moto: &Moto, cluster: &str) -> Fixture {
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(here().join("moto_fixture.py"))
        .args([&moto.endpoint, cluster])
        .output()
        .expect("run moto_fixture.py");
    assert!(
        out.status.success(),
        "moto fixture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("fixture JSON");
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Fixture {
        cluster_arn: s("clusterArn"),
        subnets: v["subnets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        security_group: s("securityGroup"),
        alb_arn: s("albArn"),
    }
}

/// An SDK configuration for `endpoint` with static test credentials (access key `key`), the
/// driver's HTTP client and retry settings (short backoff), loaded as `aws-config` does.
pub async fn sdk_config(endpoint: &str, key: &str, max_attempts: u32) -> SdkConfig {
    let opts = AwsOptions {
        max_attempts,
        initial_backoff: Duration::from_millis(20),
        ..AwsOptions::default()
    };
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(key, "testing-secret", None, None, "tests"))
        .http_client(planton_deploy_ecs::config::http_client())
        .retry_config(planton_deploy_ecs::config::retry_config(&opts))
        .load()
        .await
}

/// Clients through `endpoint`.
pub async fn clients(endpoint: &str) -> Clients {
    Clients::new(&sdk_config(endpoint, "testing", 4).await)
}

/// Runs `check_requests.py` over recorded requests: (success, report).
pub fn botocore_report(requests: &[Recorded], name: &str) -> (bool, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-ecs");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join(format!("{name}.requests.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(requests).expect("json")).expect("write");
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(here().join("check_requests.py"))
        .arg(&file)
        .output()
        .expect("run check_requests.py");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `check_requests.py` over recorded requests; panics with its report when any fails.
pub fn check_with_botocore(requests: &[Recorded], name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-ecs");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join(format!("{name}.requests.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(requests).expect("json")).expect("write");
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(here().join("check_requests.py"))
        .arg(&file)
        .output()
        .expect("run check_requests.py");
    assert!(
        out.status.success(),
        "requests rejected by botocore's models:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
