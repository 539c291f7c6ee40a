//! The plugin host end to end: hostile `.wat` guests from `fixtures/plugins/` against each
//! sandbox limit (obeyed/violated pairs), the contract checks at load, the precompiled cache,
//! the built-in plugins, and the example plugin built for wasm32 and loaded pinned by digest.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use planton_host::{CacheOutcome, Error, Host, HostConfig, Limits, Op, Plugin, PluginSource};
use planton_plugin_sdk::{DeployContext, RenderRequest, ValidateRequest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::workspace;

const API: &str = "fixtures.planton.dev/v1";

/// A fixture compiled from `fixtures/plugins/<name>.wat`.
fn fixture(name: &str) -> PluginSource {
    let path = workspace()
        .join("tests/fixtures/plugins")
        .join(format!("{name}.wat"));
    let bytes = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    PluginSource::Bytes {
        label: name.to_string(),
        bytes,
    }
}

/// A host with the given limits and a cache shared by the tests (compiling the example
/// plugin with a debug build of Cranelift takes seconds; a cache hit takes milliseconds).
fn host_with(limits: Limits) -> Host {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugins_host/shared-cache");
    Host::new(
        HostConfig::default()
            .with_limits(limits)
            .with_cache_dir(cache),
    )
    .expect("engine")
}

fn host() -> Host {
    host_with(Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    })
}

fn request(kind: &str) -> RenderRequest {
    RenderRequest {
        manifest: json!({ "apiVersion": API, "kind": kind, "metadata": { "name": "x" }, "spec": {} }),
        context: DeployContext::default(),
    }
}

/// Loads a fixture and renders its own kind.
fn render_fixture(host: &mut Host, name: &str) -> (Arc<Plugin>, Result<Vec<Value>, Error>) {
    let plugin = host
        .load(fixture(name))
        .unwrap_or_else(|e| panic!("load {name}: {e}"));
    let kind = plugin.describe().kinds[0].kind.clone();
    let result = plugin.render(&request(&kind)).map(|r| r.into_items());
    (plugin, result)
}

/// Asserts that an error names the plugin, render and the kind.
fn assert_site(err: &Error, plugin: &str, kind: &str) {
    let site = err
        .site()
        .unwrap_or_else(|| panic!("no call site in {err}"));
    assert_eq!(
        (site.plugin.as_str(), site.op, site.kind.as_deref()),
        (plugin, Op::Render, Some(kind)),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("plugin `{plugin}`: render of {kind}")),
        "{err}"
    );
}

/// A fresh, empty directory under cargo's per-target temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plugins_host")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Builds `examples/plugin-configmap` for wasm32 once per test run, as a plugin author would.
fn example_wasm() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("example-plugins");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let output = Command::new(cargo)
            .args(["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "planton-example-plugin-configmap"])
            .arg("--manifest-path")
            .arg(workspace().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
            .env("CARGO_PROFILE_RELEASE_LTO", "true")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
            .env("CARGO_PROFILE_RELEASE_STRIP", "true")
            .output()
            .expect("run cargo");
        assert!(
            output.status.success(),
            "building the example plugin for wasm32 failed (is the target installed? `rustup target add wasm32-unknown-unknown`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        target_dir.join("wasm32-unknown-unknown/release/planton_example_plugin_configmap.wasm")
    })
}

fn load_example(host: &mut Host) -> Arc<Plugin> {
    let path = example_wasm();
    let digest = sha256_hex(&std::fs::read(path).expect("read example wasm"));
    host.load_file(path, &format!("sha256:{digest}"))
        .expect("load the example plugin")
}

fn config_map_request() -> RenderRequest {
    RenderRequest {
        manifest: json!({
            "apiVersion": "example.planton.dev/v1",
            "kind": "ConfigMapKubernetes",
            "metadata": { "name": "greeting", "env": "prod" },
            "spec": { "data": { "GREETING": "hello" } }
        }),
        context: DeployContext::default(),
    }
}

// --- the contract ---------------------------------------------------------------------

#[test]
fn well_behaved_wat_plugin_describes_validates_and_renders() {
    let mut host = host();
    let (plugin, objects) = render_fixture(&mut host, "well_behaved");
    assert_eq!(plugin.name(), "fixture-well-behaved");
    assert_eq!(plugin.contract_version(), 2);
    assert_eq!(
        objects.unwrap(),
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-wat"}})]
    );
    let req = ValidateRequest {
        manifest: request("WellBehaved").manifest,
        overlay: "prod".into(),
        local: false,
    };
    assert!(plugin.validate(&req).unwrap().diagnostics.is_empty());
    assert!(Arc::ptr_eq(
        host.plugin_for_kind(API, "WellBehaved").unwrap(),
        &plugin
    ));
    assert!(host.plugin_for_kind(API, "Nothing").is_none());
}

#[test]
fn contract_version_supported_is_loaded_unsupported_is_refused_before_describe() {
    let host = host();
    assert!(host.compile(fixture("well_behaved")).is_ok());
    // wrong_contract_version's describe is `unreachable`: a trap here would mean describe ran.
    let err = host.compile(fixture("wrong_contract_version")).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedContract { found: 1, supported, .. } if supported == &[2]),
        "{err}"
    );
    // A version-1 plugin is told what to change.
    let text = err.to_string();
    assert!(
        text.contains("uses contract version 1, this planton supports [2]")
            && text.contains("declare each kind's `target`")
            && text.contains("return `RenderOutput` from `Plugin::render`"),
        "{err}"
    );
}

#[test]
fn describe_must_agree_with_the_exported_version() {
    let err = host().compile(fixture("describe_mismatch")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ContractMismatch {
                exported: 2,
                described: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_module_that_imports_anything_is_refused_at_load() {
    let err = host().compile(fixture("imports_clock")).unwrap_err();
    assert!(
        matches!(&err, Error::Imports { imports, .. } if imports == &["env::clock"]),
        "{err}"
    );
    assert!(
        err.to_string().contains("must not import anything"),
        "{err}"
    );
}

#[test]
fn a_module_missing_an_export_is_refused_at_load() {
    let err = host().compile(fixture("missing_render")).unwrap_err();
    assert!(
        matches!(&err, Error::MissingExport { export, .. } if export == "planton_render"),
        "{err}"
    );
    assert!(
        err.to_string().contains("func (i32, i32) -> (i64)"),
        "{err}"
    );
}

#[test]
fn invalid_wasm_is_a_compile_error() {
    let err = host()
        .compile(PluginSource::Bytes {
            label: "junk".into(),
            bytes: b"not wasm".to_vec(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::Compile { .. }), "{err}");
}

#[test]
fn two_plugins_cannot_claim_the_same_kind() {
    let mut host = host();
    host.load(fixture("well_behaved")).unwrap();
    let err = host.load(fixture("well_behaved")).unwrap_err();
    assert!(matches!(err, Error::DuplicateKind { .. }), "{err}");
    assert_eq!(host.plugins().len(), 1);
}

// --- sandbox limits: obeyed / violated pairs --------------------------------------------

#[test]
fn deadline_obeyed_by_a_quick_call() {
    let (_, result) = render_fixture(&mut host(), "well_behaved");
    assert!(result.is_ok());
}

#[test]
fn deadline_violated_by_an_infinite_loop_is_stopped_within_a_second() {
    let mut host = host();
    let plugin = host.load(fixture("infinite_loop")).unwrap();
    // Only the call is timed: loading compiles the fixture, which a loaded machine slows.
    let start = Instant::now();
    let result = plugin.render(&request("InfiniteLoop"));
    let elapsed = start.elapsed();
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::Deadline { timeout, .. } if timeout == Duration::from_millis(300)),
        "{err}"
    );
    assert_site(&err, "fixture-infinite-loop", "InfiniteLoop");
    assert!(
        err.to_string().contains("exceeded its deadline of 300ms"),
        "{err}"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "stopped after {elapsed:?}"
    );
}

#[test]
fn memory_limit_obeyed_by_a_modest_growth() {
    let (_, result) = render_fixture(&mut host(), "grows_2mib");
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn memory_limit_violated_by_growth_past_it() {
    let mut host = host_with(Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    });
    let (_, result) = render_fixture(&mut host, "grows_2mib");
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            Error::MemoryLimit {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    assert_site(&err, "fixture-grows-2mib", "GrowsTwoMiB");
}

#[test]
fn memory_limit_violated_by_unbounded_growth() {
    let mut host = host_with(Limits {
        memory_bytes: 16 << 20,
        ..Limits::default()
    });
    let (_, result) = render_fixture(&mut host, "memory_hog");
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::MemoryLimit { limit, requested, .. } if limit == 16 << 20 && requested > limit),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("exceeded its memory limit of 16777216 bytes"),
        "{err}"
    );
}

#[test]
fn output_cap_obeyed_by_a_large_result_under_it() {
    let (_, result) = render_fixture(&mut host(), "huge_output");
    let objects = result.unwrap();
    assert_eq!(objects[0].as_str().map(str::len), Some(2 << 20));
}

#[test]
fn output_cap_violated_by_a_result_over_it() {
    let mut host = host_with(Limits {
        max_output_bytes: 1 << 20,
        ..Limits::default()
    });
    let (_, result) = render_fixture(&mut host, "huge_output");
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::OutputTooLarge { size, limit: 1_048_576, .. } if size > 2 << 20),
        "{err}"
    );
    assert_site(&err, "fixture-huge-output", "HugeOutput");
}

#[test]
fn malformed_output_is_a_bad_output_error() {
    let (_, result) = render_fixture(&mut host(), "malformed_output");
    let err = result.unwrap_err();
    assert!(matches!(err, Error::BadOutput { .. }), "{err}");
    assert!(
        err.to_string().contains("not a valid render result"),
        "{err}"
    );
    assert_site(&err, "fixture-malformed-output", "MalformedOutput");
}

#[test]
fn output_pointer_outside_memory_is_a_bad_output_error() {
    let (_, result) = render_fixture(&mut host(), "out_of_bounds_output");
    let err = result.unwrap_err();
    assert!(matches!(err, Error::BadOutput { .. }), "{err}");
    assert!(err.to_string().contains("outside the"), "{err}");
}

#[test]
fn a_trap_is_a_trap_error() {
    let (_, result) = render_fixture(&mut host(), "trap");
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Trap { message, .. } if message.contains("unreachable")),
        "{err}"
    );
    assert_site(&err, "fixture-trap", "Trap");
    assert!(err.is_sandbox_failure());
}

// --- a plugin that broke a limit is not run again: obeyed / violated ----------------------

#[test]
fn a_plugin_within_its_limits_or_failing_otherwise_is_run_on_every_call() {
    let mut host = host();
    // Obeyed: growth under the memory limit, a result under the output cap, a quick call.
    for name in ["grows_2mib", "huge_output", "well_behaved"] {
        let plugin = host.load(fixture(name)).unwrap();
        let kind = plugin.describe().kinds[0].kind.clone();
        for _ in 0..3 {
            assert!(plugin.render(&request(&kind)).is_ok(), "{name}");
        }
        assert!(plugin.tripped().is_none(), "{name}");
    }
    // A trap or a malformed result fails only its own call: the guest runs again each time
    // (a trap error carries wasmtime's own error as its source; a replayed one would not).
    let trap = host.load(fixture("trap")).unwrap();
    for _ in 0..3 {
        let err = trap.render(&request("Trap")).unwrap_err();
        assert!(matches!(err, Error::Trap { .. }), "{err}");
        assert!(std::error::Error::source(&err).is_some(), "{err}");
    }
    assert!(trap.tripped().is_none());
    let malformed = host.load(fixture("malformed_output")).unwrap();
    for _ in 0..2 {
        let err = malformed.render(&request("MalformedOutput")).unwrap_err();
        assert!(matches!(err, Error::BadOutput { .. }), "{err}");
    }
    assert!(malformed.tripped().is_none());
}

#[test]
fn a_plugin_that_broke_a_limit_fails_its_later_calls_at_once_with_the_same_error() {
    let timeout = Duration::from_millis(300);
    let mut host = host_with(Limits {
        timeout,
        ..Limits::default()
    });
    // The deadline: the first call runs until it is stopped; the next ones do not run the
    // guest at all, so together they take less than one deadline.
    let looping = host.load(fixture("infinite_loop")).unwrap();
    let first = looping.render(&request("InfiniteLoop")).unwrap_err();
    assert!(matches!(first, Error::Deadline { .. }), "{first}");
    assert_eq!(
        looping.tripped().map(ToString::to_string),
        Some(first.to_string())
    );
    let start = Instant::now();
    for _ in 0..3 {
        let again = looping.render(&request("InfiniteLoop")).unwrap_err();
        assert!(matches!(again, Error::Deadline { .. }), "{again}");
        assert_eq!(again.to_string(), first.to_string());
        let validate = looping
            .validate(&ValidateRequest {
                manifest: request("InfiniteLoop").manifest,
                overlay: "prod".into(),
                local: false,
            })
            .unwrap_err();
        assert_eq!(validate.to_string(), first.to_string());
    }
    assert!(
        start.elapsed() < timeout,
        "six calls after the deadline took {:?}: the guest ran again",
        start.elapsed()
    );

    // The memory limit and the output cap stop a plugin the same way.
    let small_memory = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    let small_output = Limits {
        max_output_bytes: 1 << 20,
        ..Limits::default()
    };
    for (limits, name, kind) in [
        (small_memory, "grows_2mib", "GrowsTwoMiB"),
        (small_output, "huge_output", "HugeOutput"),
    ] {
        let plugin = host_with(limits).load(fixture(name)).unwrap();
        let first = plugin.render(&request(kind)).unwrap_err();
        let expected = if name == "grows_2mib" {
            matches!(first, Error::MemoryLimit { .. })
        } else {
            matches!(first, Error::OutputTooLarge { .. })
        };
        assert!(expected, "{name}: {first}");
        let tripped = plugin.tripped().map(ToString::to_string);
        assert_eq!(tripped, Some(first.to_string()), "{name}");
        let again = plugin.render(&request(kind)).unwrap_err();
        assert_eq!(again.to_string(), first.to_string(), "{name}");
        assert!(again.is_sandbox_failure(), "{name}");
    }
}

#[test]
fn every_hostile_guest_fails_alone_and_a_good_plugin_next_to_them_still_works() {
    let mut host = host();
    let good = load_example(&mut host);
    let hostile = [
        "infinite_loop",
        "memory_hog",
        "huge_output",
        "malformed_output",
        "out_of_bounds_output",
        "trap",
    ];
    let tight = Limits {
        timeout: Duration::from_millis(300),
        memory_bytes: 16 << 20,
        max_output_bytes: 1 << 20,
    };
    let mut host_tight = host_with(tight);
    for name in hostile {
        let (_, result) = render_fixture(&mut host_tight, name);
        let err = result.unwrap_err();
        assert!(err.is_sandbox_failure(), "{name}: {err}");
        // The same plugin object keeps working after each failure of another plugin.
        assert_eq!(
            good.render(&config_map_request()).unwrap().items()[0]["kind"],
            "ConfigMap"
        );
    }
    for name in [
        "wrong_contract_version",
        "imports_clock",
        "missing_render",
        "describe_mismatch",
    ] {
        assert!(host.load(fixture(name)).is_err(), "{name} loaded");
    }
    assert_eq!(host.plugins().len(), 1);
    // A hostile plugin that failed once is still callable and fails the same way, and a
    // successful call after it sees no state from it (fresh store per call).
    let looping = host_tight
        .plugin_for_kind(API, "InfiniteLoop")
        .unwrap()
        .clone();
    assert!(matches!(
        looping.render(&request("InfiniteLoop")),
        Err(Error::Deadline { .. })
    ));
    assert_eq!(
        good.render(&config_map_request()).unwrap().items()[0]["data"]["GREETING"],
        "hello"
    );
}

#[test]
fn plugins_can_be_called_from_many_threads() {
    let mut host = host();
    let good = load_example(&mut host);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let plugin = Arc::clone(&good);
            std::thread::spawn(move || {
                (0..20).all(|_| plugin.render(&config_map_request()).is_ok())
            })
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
}

// --- the example plugin, external and pinned ------------------------------------------------

#[test]
fn example_plugin_loads_pinned_by_digest_and_validates_and_renders() {
    let mut host = host();
    let plugin = load_example(&mut host);
    assert_eq!(plugin.name(), "configmap-example");
    assert!(
        host.plugin_for_kind("example.planton.dev/v1", "ConfigMapKubernetes")
            .is_some()
    );
    let rendered = plugin.render(&config_map_request()).unwrap();
    assert_eq!(
        rendered.items()[0]["metadata"]["labels"]["planton.ai/environment"],
        "prod"
    );

    let mut bad = config_map_request().manifest;
    bad["spec"]["data"] = json!({ "no spaces": "x" });
    let diagnostics = plugin
        .validate(&ValidateRequest {
            manifest: bad.clone(),
            overlay: "prod".into(),
            local: false,
        })
        .unwrap()
        .diagnostics;
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, "data-key-invalid");
    // A refusal by the plugin is its own error kind, not a sandbox failure.
    let err = plugin
        .render(&RenderRequest {
            manifest: bad,
            context: DeployContext::default(),
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Plugin { .. }) && !err.is_sandbox_failure(),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("plugin `configmap-example`: render of ConfigMapKubernetes: "),
        "{err}"
    );
}

#[test]
fn a_file_whose_digest_does_not_match_its_pin_is_refused() {
    let path = example_wasm();
    let wrong = "0".repeat(64);
    let err = host().load_file(path, &wrong).unwrap_err();
    assert!(
        matches!(&err, Error::DigestMismatch { expected, .. } if expected == &wrong),
        "{err}"
    );
    let err = host().load_file(path, "sha256:abc").unwrap_err();
    assert!(matches!(err, Error::InvalidDigest { .. }), "{err}");
    let err = host()
        .load_file(temp_dir("missing").join("nothing.wasm"), &wrong)
        .unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err}");
}

// --- the precompiled cache ------------------------------------------------------------------

#[test]
fn precompiled_cache_is_written_then_reused_and_a_corrupt_artifact_is_replaced() {
    let dir = temp_dir("cache");
    let config = HostConfig::default().with_cache_dir(&dir);
    let load = || {
        Host::new(config.clone())
            .unwrap()
            .compile(fixture("well_behaved"))
            .unwrap()
    };

    let first = load();
    assert_eq!(first.cache_outcome(), &CacheOutcome::Stored);
    let artifacts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let name = artifacts[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(first.sha256()) && name.ends_with(".cwasm"),
        "{name}"
    );

    let second = load();
    assert_eq!(second.cache_outcome(), &CacheOutcome::Hit);
    assert!(second.render(&request("WellBehaved")).is_ok());

    // The runner mmaps artifacts and never modifies one in place; a broken artifact (say,
    // from a disk error) is replaced by a new file, as here.
    drop((first, second));
    let broken = dir.join("broken.tmp");
    std::fs::write(&broken, b"garbage").unwrap();
    std::fs::rename(&broken, &artifacts[0]).unwrap();
    let third = load();
    assert_eq!(third.cache_outcome(), &CacheOutcome::Stored);
    assert!(third.render(&request("WellBehaved")).is_ok());
    assert_eq!(load().cache_outcome(), &CacheOutcome::Hit);
}

// --- the built-in plugins ---------------------------------------------------------------------

#[test]
fn builtin_plugins_load_and_the_wasm_render_equals_the_native_one() {
    let mut host = host();
    let plugins = host.load_builtin().expect("built-in plugins");
    let names: Vec<&str> = plugins.iter().map(|p| p.name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        host.plugin_for_kind(
            "kubernetes.project-planton.org/v1",
            "MicroserviceKubernetes"
        )
        .is_some()
    );
    assert!(
        host.plugin_for_kind("aws.project-planton.org/v1", "AwsEcsService")
            .is_some()
    );

    let testdata = workspace().join("plugins/kubernetes/testdata");
    let read =
        |p: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap() };
    let manifest = read(testdata.join("manifests/seed-prod-built.json"));
    let input = read(testdata.join("render/seed-prod.input.json"));
    let context: DeployContext = serde_json::from_value(input["context"].clone()).unwrap();
    let golden = read(testdata.join("render/seed-prod.golden.json"));
    let plugin = host
        .plugin_for_kind(
            "kubernetes.project-planton.org/v1",
            "MicroserviceKubernetes",
        )
        .unwrap();
    let rendered = plugin.render(&RenderRequest { manifest, context }).unwrap();
    assert_eq!(Value::Array(rendered.into_items()), golden);
    // A call with none of the plugin's work (the benchmark's sandbox floor) still runs the
    // snapshot in a fresh store.
    assert_eq!(plugin.probe().unwrap(), plugin.contract_version());

    // KubernetesDeployment: the same plugin, the same sandboxed render as natively.
    let plugin = host
        .plugin_for_kind("kubernetes.project-planton.org/v1", "KubernetesDeployment")
        .expect("a plugin for KubernetesDeployment");
    let manifest = read(testdata.join("manifests/kubernetes-deployment-prod.json"));
    let input = read(testdata.join("render/kubernetes-deployment-prod.input.json"));
    let context: DeployContext = serde_json::from_value(input["context"].clone()).unwrap();
    let golden = read(testdata.join("render/kubernetes-deployment-prod.golden.json"));
    let rendered = plugin.render(&RenderRequest { manifest, context }).unwrap();
    assert_eq!(Value::Array(rendered.into_items()), golden);
}
