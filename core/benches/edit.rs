//! The web editor's core work after one edit, natively: what `web/src/state.rs` runs for
//! every keystroke (`Session::check`: build, validate, plan; then the views of the edited
//! overlay: its printed YAML and its render), replayed on
//!
//! - `example`: `examples/order-api`, editing `minReplicas` of the prod overlay's patch;
//! - `wide`: `../shared/bench/kustomize/wide` as a service (as `tests/browser/bench.mjs`
//!   lays it out), editing `replicas` in the overlay's first patch.
//!
//! Each iteration alternates the edited and the original text, so every iteration is a real
//! change. The check's result, with the builds the session retired, is dropped outside the
//! timing, as the page frees it after showing it (`web/src/services/clock.rs`). The plugins are the built-in crates linked natively (the page calls the same code
//! compiled to wasm). Run with `cargo bench -p planton-core --bench edit`; for a profile,
//! `perf record -g target/release/deps/edit-* --bench --profile-time 10 wide`.
//!
//! Times are the benchmark thread's CPU time (`cpu_time::ThreadTime`), not wall time, so
//! that the numbers stay comparable on a machine shared with other work.

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planton_core::incremental::{Checked, Session};
use planton_core::kustomize::memo::{BuildMemo, Recorder};
use planton_core::kustomize::{FileTree, build_with_memo};
use planton_core::plugins::{CallError, Target, Targets};
use planton_core::service::{Layout, ServiceConfig};
use planton_plugin_sdk::{
    DeployContext, Describe, Plugin, RenderOutput, RenderRequest, ValidateRequest, ValidateResponse,
};
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// A plugin crate called directly.
struct Native<P: Plugin>(Describe, std::marker::PhantomData<P>);

impl<P: Plugin> Target for Native<P> {
    fn describe(&self) -> &Describe {
        &self.0
    }
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError> {
        Ok(P::validate(req.clone()))
    }
    fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError> {
        P::render(req.clone()).map_err(|e| CallError::Refused(e.message))
    }
}

fn plugins() -> Targets<Box<dyn Target>> {
    Targets::new(vec![
        Box::new(Native::<planton_plugin_k8s::KubernetesPlugin>(
            planton_plugin_k8s::KubernetesPlugin::describe(),
            std::marker::PhantomData,
        )),
        Box::new(Native::<planton_plugin_ecs::EcsPlugin>(
            planton_plugin_ecs::EcsPlugin::describe(),
            std::marker::PhantomData,
        )),
    ])
}

/// Every file under `from`, inserted under `to` in `tree`.
fn load(tree: &mut FileTree, from: &Path, to: &str) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(from)
        .expect("a readable directory")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name");
        let dest = format!("{to}/{name}");
        if p.is_dir() {
            load(tree, &p, &dest);
        } else {
            tree.insert(&dest, std::fs::read_to_string(&p).expect("a text file"));
        }
    }
}

/// One open service and the edit to replay.
struct Workload {
    tree: FileTree,
    path: String,
    texts: [String; 2],
}

fn example() -> Workload {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/order-api");
    let mut tree = FileTree::new();
    load(&mut tree, &root, "service");
    let path = "service/_kustomize/overlays/prod/service.yaml".to_string();
    let text = tree.read(&path).expect("the prod patch").to_string();
    let edited = text.replace("minReplicas: 3", "minReplicas: 4");
    assert_ne!(edited, text, "the edit changes the patch");
    Workload {
        tree,
        path,
        texts: [edited, text],
    }
}

fn wide() -> Option<Workload> {
    let wide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/kustomize/wide");
    if !wide.is_dir() {
        eprintln!("wide workload not found at {}", wide.display());
        return None;
    }
    let mut tree = FileTree::new();
    load(
        &mut tree,
        &wide.join("input/base"),
        "service/_kustomize/base",
    );
    load(
        &mut tree,
        &wide.join("input/overlay"),
        "service/_kustomize/overlays/prod",
    );
    let k = "service/_kustomize/overlays/prod/kustomization.yaml";
    let text = tree
        .read(k)
        .expect("the overlay")
        .replace("- ../base", "- ../../base");
    tree.insert(k, text);
    let path = "service/_kustomize/overlays/prod/patches/deploy-000.yaml".to_string();
    let text = tree.read(&path).expect("the first patch").to_string();
    let edited = match text.find("replicas: ") {
        Some(i) => {
            let rest = &text[i + "replicas: ".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let n: u64 = digits.parse().expect("a replica count");
            text.replacen(
                &format!("replicas: {digits}"),
                &format!("replicas: {}", n + 1),
                1,
            )
        }
        None => format!("{text}# edited\n"),
    };
    // The build is kustomize's: the bench measures the real output.
    let expected = std::fs::read_to_string(wide.join("expected.yaml")).expect("expected.yaml");
    let built = planton_core::kustomize::build(&tree, "service/_kustomize/overlays/prod")
        .expect("wide builds")
        .to_yaml()
        .expect("wide prints");
    assert_eq!(built, expected, "wide builds to kustomize's output");
    Some(Workload {
        tree,
        path,
        texts: [edited, text],
    })
}

/// One edit as the page handles it: insert the text, check, then the edited overlay's views.
/// Returns the check, which the page frees only after showing it (so the benchmark drops it
/// outside the timing, with the builds the session retired).
fn edit(
    w: &mut Workload,
    i: usize,
    session: &mut Session,
    plugins: &Targets<Box<dyn Target>>,
) -> (usize, Checked) {
    w.tree.insert(&w.path, w.texts[i % 2].as_str());
    let (layout, _) = Layout::discover(&w.tree, "service").expect("a service layout");
    let (config, _) = ServiceConfig::load(&w.tree, &layout);
    let check = session.check(&w.tree, &layout, None, &config, plugins, None);
    let mut n = check.diagnostics.len();
    let ob = check
        .overlays
        .iter()
        .find(|o| o.name == "prod")
        .expect("a prod overlay");
    if check.rebuilt.iter().any(|r| r == "prod") {
        n += ob.yaml().and_then(Result::ok).map_or(0, str::len);
        if let Ok(b) = &ob.build {
            n += plugins
                .render(b, &DeployContext::default())
                .map_or(0, |o| o.into_items().len());
        }
    }
    (n, check)
}

fn bench_workload(c: &mut Criterion<CpuTime>, name: &str, mut w: Workload) {
    let plugins = plugins();
    let mut session = Session::new();
    for i in 0..4 {
        edit(&mut w, i, &mut session, &plugins);
    }
    // What one edit redoes (printed once, so a change in the reuse shows).
    w.tree.insert(&w.path, w.texts[0].as_str());
    let (layout, _) = Layout::discover(&w.tree, "service").expect("a service layout");
    let (config, _) = ServiceConfig::load(&w.tree, &layout);
    let check = session.check(&w.tree, &layout, None, &config, &plugins, None);
    let resources: usize = check
        .overlays
        .iter()
        .filter_map(|o| o.build.as_ref().ok())
        .map(|b| b.resources.len())
        .sum();
    eprintln!(
        "{name}: one edit rebuilt {:?}, rechecked {:?}; {} of {resources} resources kept their checks",
        check.rebuilt, check.rechecked, check.reused_resources
    );
    // Edits shorter than a millisecond are timed in batches: the thread CPU clock of some
    // machines advances in ticks, which a single short edit can fall between.
    let batch = if name == "wide" { 1 } else { 10 };
    let mut i = 0;
    c.bench_function(&format!("edit/{name} (x{batch})"), |b| {
        b.iter_with_large_drop(|| {
            let mut out = Vec::with_capacity(batch);
            for _ in 0..batch {
                i += 1;
                out.push(edit(&mut w, i, &mut session, &plugins));
            }
            black_box(out)
        })
    });
}

/// The parts of one `wide` edit: the overlay's build alone (its base reused), printing it,
/// and rendering its service manifests.
fn bench_parts(c: &mut Criterion<CpuTime>, mut w: Workload) {
    let memo = BuildMemo::new();
    let dir = "service/_kustomize/overlays/prod";
    let build = |w: &mut Workload, i: usize| {
        w.tree.insert(&w.path, w.texts[i % 2].as_str());
        let rec = Recorder::new(&w.tree);
        build_with_memo(&rec, dir, &memo).expect("wide builds")
    };
    for i in 0..2 {
        build(&mut w, i);
    }
    let mut i = 0;
    c.bench_function("parts/wide/build", |b| {
        b.iter(|| {
            i += 1;
            black_box(build(&mut w, i).resources.len())
        })
    });
    let built = build(&mut w, 0);
    c.bench_function("parts/wide/to_yaml", |b| {
        b.iter(|| black_box(built.to_yaml().map_or(0, |y| y.len())))
    });
    let plugins = plugins();
    c.bench_function("parts/wide/render", |b| {
        b.iter(|| {
            black_box(
                plugins
                    .render(&built, &DeployContext::default())
                    .map_or(0, |o| o.into_items().len()),
            )
        })
    });
}

fn benches(c: &mut Criterion<CpuTime>) {
    bench_workload(c, "example", example());
    if let Some(w) = wide() {
        bench_parts(c, w);
    }
    if let Some(w) = wide() {
        bench_workload(c, "wide", w);
    }
}

/// Criterion's measurement of CPU time spent by the benchmark thread (see the module doc).
struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = ThreadTime;
    type Value = u64;
    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> u64 {
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self
    }
}

impl ValueFormatter for CpuTime {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else {
            (1e-6, "ms")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }
    fn scale_throughputs(&self, _: f64, _: &Throughput, _: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn cpu_time() -> Criterion<CpuTime> {
    Criterion::default().with_measurement(CpuTime)
}

criterion_group! {
    name = edit_benches;
    config = cpu_time();
    targets = benches
}
criterion_main!(edit_benches);
