//! Benchmarks of the plugin host with the built-in Kubernetes plugin and the seed manifest
//! (`plugins/kubernetes/testdata/manifests/seed-prod-built.json`).
//!
//! - `warm_render`: one render on a loaded plugin (fresh store + instantiate + call + copy
//!   out + JSON decode). Goal: < 50 µs. `…_without_snapshot` is the same call started from
//!   the module as shipped rather than from its snapshot after `planton_init`.
//! - `warm_render_cpu/kubernetes_seed`: the same call, timed by the calling thread's CPU
//!   clock rather than the wall clock (Linux only), so a benchmark on a busy machine does not
//!   count the time the thread waited for a core. It still counts the slowdown from sharing
//!   caches with other processes, so an idle machine gives the lower number.
//! - `first_call/cached`: what a fresh `planton` process pays before its first render with a
//!   warm precompiled cache: build the engine, load the plugin from the cache (deserialize,
//!   contract version, describe), render once. Goal: < 20 ms.
//! - `first_call/uncached`: the same, compiling the module with Cranelift.
//!
//! - `warm_call/sandbox_only`: a call with none of the plugin's work (`Plugin::probe`: fresh
//!   store, instantiation from the snapshot, `planton_contract_version`, the slot's reset):
//!   the floor under every warm call.
//!
//! The benchmark links mimalloc as its global allocator, as the `planton` binary does.
//! Run with `cargo bench -p planton-host --bench plugin_calls`. With
//! `PLANTON_BENCH_PLUGIN=path/to/plugin.wasm` the warm cases call that module instead of the
//! built-in Kubernetes plugin (to compare builds of a plugin with one host binary).

use std::hint::black_box;

/// The global allocator of the `planton` binary (runner/src/main.rs), so the host's share of
/// a call (encoding the request, decoding the result) costs what it costs there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use planton_host::{CacheOutcome, Host, HostConfig, PluginSource};
use planton_plugin_sdk::{DeployContext, RenderRequest};
use serde_json::Value;

const API: &str = "kubernetes.project-planton.org/v1";
const KIND: &str = "MicroserviceKubernetes";

fn seed_request() -> RenderRequest {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/kubernetes/testdata");
    let read = |p: PathBuf| -> Value {
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .expect("valid JSON")
    };
    let manifest = read(testdata.join("manifests/seed-prod-built.json"));
    let input = read(testdata.join("render/seed-prod.input.json"));
    let context: DeployContext =
        serde_json::from_value(input["context"].clone()).expect("a deploy context");
    RenderRequest { manifest, context }
}

fn first_render(config: &HostConfig, req: &RenderRequest) -> CacheOutcome {
    let host = Host::new(config.clone()).expect("engine");
    let plugin = host
        .compile(PluginSource::Builtin("kubernetes".into()))
        .expect("built-in kubernetes plugin");
    black_box(plugin.render(req).expect("render"));
    plugin.cache_outcome().clone()
}

fn benches(c: &mut Criterion) {
    let req = seed_request();

    let mut host = Host::new(HostConfig::default()).expect("engine");
    match std::env::var_os("PLANTON_BENCH_PLUGIN") {
        Some(path) => {
            let bytes = std::fs::read(&path).expect("PLANTON_BENCH_PLUGIN names a readable file");
            let label = Path::new(&path).display().to_string();
            host.load(PluginSource::Bytes { label, bytes })
                .expect("PLANTON_BENCH_PLUGIN is a plugin");
        }
        None => {
            host.load_builtin().expect("built-in plugins");
        }
    }
    let plugin = host
        .plugin_for_kind(API, KIND)
        .expect("a plugin for MicroserviceKubernetes")
        .clone();
    c.bench_function("warm_render/kubernetes_seed", |b| {
        b.iter(|| black_box(plugin.render(&req).expect("render")))
    });
    // The sandbox alone: a fresh store and instance from the same snapshot, one export call
    // (`planton_contract_version`) and the slot's reset; the floor under any warm call.
    c.bench_function("warm_call/sandbox_only", |b| {
        b.iter(|| black_box(plugin.probe().expect("contract version")))
    });
    #[cfg(target_os = "linux")]
    c.bench_function("warm_render_cpu/kubernetes_seed", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                black_box(plugin.render(&req).expect("render"));
            }
            thread_cpu_time().saturating_sub(start)
        })
    });

    // The same without the snapshot after `planton_init`: every call parses the schema and
    // compiles its patterns again (what each call cost before the snapshot).
    let unsnapshotted = Host::new(HostConfig {
        preinit: false,
        ..HostConfig::default()
    })
    .expect("engine")
    .compile(PluginSource::Builtin("kubernetes".into()))
    .expect("built-in kubernetes plugin");
    c.bench_function("warm_render/kubernetes_seed_without_snapshot", |b| {
        b.iter(|| black_box(unsnapshotted.render(&req).expect("render")))
    });

    let cache_dir =
        std::env::temp_dir().join(format!("planton-bench-cache-{}", std::process::id()));
    let cached = HostConfig::default().with_cache_dir(&cache_dir);
    first_render(&cached, &req);
    assert_eq!(
        first_render(&cached, &req),
        CacheOutcome::Hit,
        "the cache is warm"
    );
    let mut group = c.benchmark_group("first_call");
    group.sample_size(20);
    group.bench_function("cached", |b| b.iter(|| first_render(&cached, &req)));
    group.bench_function("uncached", |b| {
        b.iter(|| first_render(&HostConfig::default(), &req))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&cache_dir);
}

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and the
    // clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

criterion_group!(plugin_calls, benches);
criterion_main!(plugin_calls);
