//! Native benchmarks of the Kubernetes plugin's own work on the seed manifest
//! (`testdata/manifests/seed-prod-built.json`), without the WebAssembly sandbox: what a warm
//! plugin call (`planton-host`'s `warm_render/kubernetes_seed`) spends inside the guest.
//!
//! - `abi/render_json`: the whole guest side of a render (parse the request, validate,
//!   render, serialize the result), as `planton_render` runs it;
//! - `validate`, `schema_check`, `normalize`, `render_only`: its parts.
//!
//! Run with `cargo bench -p planton-plugin-k8s --bench native`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use planton_plugin_k8s::KubernetesPlugin;
use planton_plugin_k8s::sdk::{DeployContext, RenderRequest, ValidateRequest, abi, schema};
use serde_json::Value;

fn seed() -> (Value, DeployContext) {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let read = |p: &str| -> Value {
        let path = testdata.join(p);
        serde_json::from_slice(&std::fs::read(&path).expect("test data")).expect("valid JSON")
    };
    let manifest = read("manifests/seed-prod-built.json");
    let input = read("render/seed-prod.input.json");
    let context = serde_json::from_value(input["context"].clone()).expect("a deploy context");
    (manifest, context)
}

fn benches(c: &mut Criterion) {
    let (manifest, context) = seed();
    let request = RenderRequest {
        manifest: manifest.clone(),
        context: context.clone(),
    };
    let request_json = serde_json::to_vec(&request).expect("serializable");

    c.bench_function("abi/render_json", |b| {
        b.iter(|| {
            black_box(abi::render_json::<KubernetesPlugin>(black_box(
                &request_json,
            )))
        })
    });
    let validate_req = ValidateRequest {
        manifest: manifest.clone(),
        overlay: String::new(),
        local: false,
    };
    c.bench_function("validate", |b| {
        b.iter(|| {
            black_box(planton_plugin_k8s::validate::validate(black_box(
                &validate_req,
            )))
        })
    });
    let schema = planton_plugin_k8s::schema_for(&manifest);
    let options = schema::CheckOptions {
        protojson_scalars: true,
    };
    c.bench_function("schema_check", |b| {
        b.iter(|| black_box(schema::compiled(schema).check(black_box(&manifest), options)))
    });
    c.bench_function("normalize", |b| {
        b.iter(|| {
            black_box(planton_plugin_k8s::sdk::protojson::normalize_field_names(
                schema,
                black_box(&manifest),
            ))
        })
    });
    c.bench_function("render_only", |b| {
        b.iter(|| black_box(planton_plugin_k8s::render::render(black_box(&request))))
    });
}

criterion_group!(native, benches);
criterion_main!(native);
