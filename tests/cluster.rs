//! A real Kubernetes control plane for the tests that need one.
//!
//! [`cluster()`] picks the cluster once per test process:
//! - `KUBECONFIG` set (non-empty, naming one file): that cluster, e.g. kind or EKS. The restricted
//!   identity is then the admin impersonating [`RESTRICTED_USER`] (the admin needs the
//!   `impersonate` verb, which cluster-admin has).
//! - otherwise the testenv of this checkout (`scripts/testenv.sh`: kube-apiserver on kine,
//!   kube-controller-manager, kube-scheduler and kwok as the kubelets), brought up if it is not
//!   up yet. It stays up after the tests for the next run; `scripts/testenv.sh down` stops it.
//!   The restricted identity is a second client certificate whose user is [`RESTRICTED_USER`].
//!
//! Every test gets its own namespace from [`Cluster::namespace`], deleted when the returned
//! [`TestNamespace`] drops (also when the test panics). Clients are made per test, since a
//! `kube::Client` belongs to the tokio runtime it was made on and every `#[tokio::test]` has its
//! own.
//!
//! Deliberately not here: anything planton-specific. Tests that run the `planton` CLI pass it
//! [`Cluster::kubeconfig`].

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Resource;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The user name of the restricted identity, in the testenv and (impersonated) on real clusters.
/// It has no RBAC binding of its own: a test grants what it needs in its namespace.
pub const RESTRICTED_USER: &str = "planton-test-restricted";

/// The label put on every test namespace, so leftovers of killed runs are easy to find:
/// `kubectl delete ns -l planton.dev/test-namespace=true`.
pub const NAMESPACE_LABEL: &str = "planton.dev/test-namespace";

/// The cluster the tests of this process run against.
#[derive(Debug)]
pub struct Cluster {
    kubeconfig: PathBuf,
    restricted: Restricted,
    testenv: bool,
}

#[derive(Debug)]
enum Restricted {
    /// A kubeconfig with the restricted user's own credentials (the testenv).
    Kubeconfig(PathBuf),
    /// The admin kubeconfig impersonating [`RESTRICTED_USER`] (any real cluster).
    Impersonate,
}

/// The cluster for this test process: `KUBECONFIG` when set, else the testenv of this checkout
/// (started with `scripts/testenv.sh up` on first use; a cold start builds the binaries first).
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| match std::env::var_os("KUBECONFIG") {
        Some(k) if !k.is_empty() => {
            let paths: Vec<PathBuf> = std::env::split_paths(&k).collect();
            assert!(
                paths.len() == 1,
                "KUBECONFIG names {} files; the cluster tests need exactly one (they pass it to `planton --kubeconfig`)",
                paths.len()
            );
            Cluster {
                kubeconfig: paths.into_iter().next().expect("one path"),
                restricted: Restricted::Impersonate,
                testenv: false,
            }
        }
        _ => testenv_up(),
    })
}

/// Runs `scripts/testenv.sh up` (idempotent) and reads the kubeconfig paths it prints.
fn testenv_up() -> Cluster {
    let script = crate::util::workspace().join("scripts/testenv.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("up")
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "`scripts/testenv.sh up` failed ({}); its log is above. stdout:\n{stdout}",
        out.status
    );
    let var = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("`scripts/testenv.sh up` printed no {name}:\n{stdout}"))
    };
    Cluster {
        kubeconfig: var("KUBECONFIG"),
        restricted: Restricted::Kubeconfig(var("PLANTON_TESTENV_RESTRICTED_KUBECONFIG")),
        testenv: true,
    }
}

impl Cluster {
    /// The admin kubeconfig file (for `planton --kubeconfig`).
    #[allow(
        dead_code,
        reason = "for the tests that run the planton CLI against the cluster"
    )]
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The restricted identity's own kubeconfig file, when it has one (the testenv; on a real
    /// cluster the restricted identity is impersonation, see [`Cluster::restricted_client`]).
    pub fn restricted_kubeconfig(&self) -> Option<&Path> {
        match &self.restricted {
            Restricted::Kubeconfig(p) => Some(p),
            Restricted::Impersonate => None,
        }
    }

    /// Whether this is the testenv (kwok kubelets with the failure stages of
    /// `tests/testenv/stages/`), not a real cluster.
    pub fn is_testenv(&self) -> bool {
        self.testenv
    }

    /// A client with the admin identity.
    pub async fn client(&self) -> Client {
        client_from(&self.kubeconfig, None).await
    }

    /// A client with the restricted identity ([`RESTRICTED_USER`], no permissions of its own).
    pub async fn restricted_client(&self) -> Client {
        match &self.restricted {
            Restricted::Kubeconfig(path) => client_from(path, None).await,
            Restricted::Impersonate => client_from(&self.kubeconfig, Some(RESTRICTED_USER)).await,
        }
    }

    /// A fresh namespace `planton-test-<label>-<unique>`, deleted when the result drops. It
    /// returns once the namespace's `default` ServiceAccount exists, so pods can be created
    /// right away (the ServiceAccount admission plugin refuses them before).
    pub async fn namespace(&self, label: &str) -> TestNamespace {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "planton-test-{label}-{:x}{:x}{}",
            std::process::id(),
            nanos % 0xfff,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        assert!(
            name.len() <= 63,
            "namespace name {name} is longer than 63 characters: shorten the label"
        );
        let client = self.client().await;
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": { NAMESPACE_LABEL: "true" } }
        }))
        .expect("namespace object");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        let guard = TestNamespace {
            name,
            kubeconfig: self.kubeconfig.clone(),
        };
        let sas: Api<ServiceAccount> = Api::namespaced(client, &guard.name);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while sas
            .get_opt("default")
            .await
            .unwrap_or_else(|e| panic!("cannot read serviceaccount {}/default: {e}", guard.name))
            .is_none()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "namespace {}: no default ServiceAccount after 30 s (is kube-controller-manager running?)",
                guard.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        guard
    }
}

/// How long [`wait_until`] waits: generous, since the machine may be busy.
pub const WAIT: Duration = Duration::from_secs(90);

/// Polls the object `name` until `ready` holds for it and returns it; fails the test after
/// [`WAIT`] with `what` and the object's last state. A missing object counts as not ready.
pub async fn wait_until<K>(api: &Api<K>, name: &str, what: &str, ready: impl Fn(&K) -> bool) -> K
where
    K: Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let last = api
            .get_opt(name)
            .await
            .unwrap_or_else(|e| panic!("cannot read {name} while waiting until {what}: {e}"));
        if let Some(obj) = &last
            && ready(obj)
        {
            return obj.clone();
        }
        if tokio::time::Instant::now() >= deadline {
            let state = last
                .map(|o| serde_json::to_string_pretty(&o).unwrap_or_default())
                .unwrap_or_else(|| "(absent)".to_owned());
            panic!("{name}: not {what} after {WAIT:?}; last state:\n{state}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client from one kubeconfig file, optionally impersonating a user.
async fn client_from(path: &Path, impersonate: Option<&str>) -> Client {
    let kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("cannot read kubeconfig {}: {e}", path.display()));
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.display()));
    if let Some(user) = impersonate {
        config.auth_info.impersonate = Some(user.to_owned());
    }
    Client::try_from(config)
        .unwrap_or_else(|e| panic!("cannot make a client from {}: {e}", path.display()))
}

/// A namespace that exists for one test; dropping it deletes the namespace (without waiting
/// for its contents to go).
#[derive(Debug)]
pub struct TestNamespace {
    name: String,
    kubeconfig: PathBuf,
}

impl TestNamespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: delete from a thread
        // with a runtime (and a client) of its own.
        let name = self.name.clone();
        let kubeconfig = self.kubeconfig.clone();
        let deleted = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let client = client_from(&kubeconfig, None).await;
                Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match deleted {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: cannot delete test namespace {}: {e}", self.name),
            Err(_) => eprintln!("warning: deleting test namespace {} panicked", self.name),
        }
    }
}
