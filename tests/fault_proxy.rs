//! An HTTP-level fault-injecting proxy in front of the API server, for the deploy tests.
//!
//! It terminates TLS with a certificate generated here (rcgen, for `127.0.0.1`), so it sees
//! every request and can answer it itself: a 429 with `Retry-After`, a 503, or no answer at
//! all (a hung server). Everything else is forwarded to the real API server through a kube
//! client made from the cluster's own kubeconfig (its credentials, its CA). [`FaultProxy::kubeconfig`]
//! is a copy of the cluster's kubeconfig whose server is the proxy and whose CA is the
//! generated certificate, for `planton --kubeconfig`.
//!
//! The proxy only injects; whether and how the client retries is the client's business (the
//! product's retry policy in `planton-deploy-k8s`), which is what the tests check through the
//! requests the proxy records.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a Kubernetes `Status` body, and `Retry-After: <s>` when given.
    Status {
        /// The HTTP status.
        code: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u64>,
    },
    /// Read the request and never answer.
    Hang,
}

/// A rule: the first `times` requests whose method is `method` and whose path contains
/// `path` get `fault`; later ones are forwarded.
#[derive(Clone, Debug)]
pub struct Rule {
    /// `GET`, `PATCH`, ...
    pub method: &'static str,
    /// A substring of the path (with the query).
    pub path: String,
    /// How many matching requests get the fault (`usize::MAX`: all).
    pub times: usize,
    /// The fault.
    pub fault: Fault,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// When it arrived.
    pub at: Instant,
    /// The fault injected, `None` when forwarded.
    pub fault: Option<Fault>,
}

/// A running proxy (it lives as long as the test's runtime).
pub struct FaultProxy {
    kubeconfig: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultProxy {
    /// Starts a proxy in front of the cluster of `kubeconfig` with these rules; writes the
    /// proxy's kubeconfig into `dir`.
    pub async fn start(kubeconfig: &Path, dir: &Path, rules: Vec<Rule>) -> FaultProxy {
        // ring, the provider kube is built with here (its post-quantum-less default is fine for
        // a loopback test proxy).
        #[allow(
            deprecated,
            reason = "ring's provider is deprecated only for lacking post-quantum key exchange"
        )]
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("generate a certificate");
        let cert_der = cert.cert.der().clone();
        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()),
        );
        let tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .expect("server TLS config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();

        // Upstream: the real API server with the real credentials, no retries of its own.
        let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
        let mut config = kube::Config::from_custom_kubeconfig(
            kc.clone(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("config");
        config.default_retry = false;
        let upstream = kube::Client::try_from(config).expect("upstream client");

        // The client's kubeconfig: the same user, the proxy's address and CA.
        let mut v = serde_json::to_value(&kc).expect("kubeconfig json");
        for c in v["clusters"].as_array_mut().expect("clusters") {
            c["cluster"]["server"] = serde_json::json!(format!("https://127.0.0.1:{port}"));
            c["cluster"]["certificate-authority-data"] =
                serde_json::json!(b64(cert.cert.pem().as_bytes()));
            if let Some(m) = c["cluster"].as_object_mut() {
                m.remove("certificate-authority");
            }
        }
        std::fs::create_dir_all(dir).expect("mkdir");
        let path = dir.join("proxy.kubeconfig");
        std::fs::write(&path, serde_json::to_string(&v).expect("json")).expect("write kubeconfig");

        let seen = Arc::new(Mutex::new(Vec::new()));
        let rules = Arc::new(Mutex::new(rules));
        let state = (seen.clone(), rules, upstream);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (seen, rules, upstream) = state.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = service_fn(move |req| {
                        handle(req, seen.clone(), rules.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        FaultProxy {
            kubeconfig: path,
            seen,
        }
    }

    /// The kubeconfig that reaches the cluster through the proxy.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    upstream: kube::Client,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let fault = {
        let mut rules = rules.lock().expect("lock");
        rules
            .iter_mut()
            .find(|r| r.method == method && path.contains(&r.path) && r.times > 0)
            .map(|r| {
                r.times = r.times.saturating_sub(1);
                r.fault
            })
    };
    seen.lock().expect("lock").push(Seen {
        method: method.clone(),
        path: path.clone(),
        at: Instant::now(),
        fault,
    });
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    match fault {
        Some(Fault::Hang) => {
            // Longer than any request timeout of the tests; the client gives up first.
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(status_response(504, None))
        }
        Some(Fault::Status { code, retry_after }) => Ok(status_response(code, retry_after)),
        None => {
            let mut out = http::Request::builder()
                .method(parts.method)
                .uri(parts.uri)
                .body(kube::client::Body::from(body.to_vec()))
                .expect("request");
            for (k, v) in &parts.headers {
                if k != http::header::HOST && k != http::header::AUTHORIZATION {
                    out.headers_mut().append(k.clone(), v.clone());
                }
            }
            match upstream.send(out).await {
                Ok(resp) => {
                    let (p, b) = resp.into_parts();
                    let bytes = b.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let mut r = hyper::Response::new(Full::new(bytes));
                    *r.status_mut() = p.status;
                    for (k, v) in &p.headers {
                        if k != http::header::TRANSFER_ENCODING
                            && k != http::header::CONTENT_LENGTH
                            && k != http::header::CONNECTION
                        {
                            r.headers_mut().append(k.clone(), v.clone());
                        }
                    }
                    Ok(r)
                }
                Err(e) => {
                    eprintln!("fault proxy: upstream failed: {e}");
                    Ok(status_response(502, None))
                }
            }
        }
    }
}

/// A Kubernetes `Status` answer, as the API server (or a load balancer in front of it) gives.
fn status_response(code: u16, retry_after: Option<u64>) -> hyper::Response<Full<Bytes>> {
    let reason = match code {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    };
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": format!("injected by the fault proxy: {code}"), "reason": reason, "code": code,
        "details": retry_after.map(|s| serde_json::json!({"retryAfterSeconds": s}))});
    let mut r = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(code).expect("status");
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Some(s) = retry_after {
        r.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_str(&s.to_string()).expect("header"),
        );
    }
    r
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
