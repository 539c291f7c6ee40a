//! `planton render` output is real: the example service's prod overlay renders Kubernetes
//! objects that pass `kubernetes-validate` in strict mode (unknown fields are errors), and
//! the ECS example renders typed AWS operations whose AWS-bound values pass the botocore
//! service models' shapes (`scripts/check_rendered.py`). The plugins run sandboxed (wasm).

use crate::util::{run, temp_dir, workspace};
use std::process::Command;

fn render_and_check(overlay: &str, name: &str, expect: &[&str]) {
    let dir = temp_dir(name);
    let overlay = workspace().join(overlay);
    let out = run(&[
        "render",
        overlay.to_str().unwrap(),
        "--image",
        "ghcr.io/acme/app:3f2c1d0",
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for e in expect {
        assert!(text.contains(e), "render lacks {e}:\n{text}");
    }
    // Secret references stay references.
    assert!(
        !text.contains("s3cret"),
        "a secret value leaked into the render"
    );
    let file = dir.join("rendered.json");
    std::fs::write(&file, &out.stdout).expect("write render");
    let check = Command::new("python3")
        .arg(workspace().join("scripts/check_rendered.py"))
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "rendered objects fail the upstream schemas:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn kubernetes_render_of_the_example_prod_overlay_passes_strict_schema_validation() {
    render_and_check(
        "examples/order-api/_kustomize/overlays/prod",
        "render-k8s",
        &[
            "\"Deployment\"",
            "\"HorizontalPodAutoscaler\"",
            "\"Ingress\"",
            "secretKeyRef",
            "ghcr.io/acme/app:3f2c1d0",
        ],
    );
}

#[test]
fn ecs_render_of_the_example_prod_overlay_passes_the_aws_model() {
    render_and_check(
        "examples/checkout-ecs/_kustomize/overlays/prod",
        "render-ecs",
        &[
            "\"op\": \"taskDefinition\"",
            "\"op\": \"secret\"",
            "\"op\": \"service\"",
        ],
    );
}

#[test]
fn kubernetes_deployment_render_of_the_example_prod_overlay_passes_strict_schema_validation() {
    render_and_check(
        "examples/order-api-deployment/_kustomize/overlays/prod",
        "render-k8s-deployment",
        &[
            "\"Namespace\"",
            "\"ConfigMap\"",
            "\"PodDisruptionBudget\"",
            "\"orders.shop.example.com\"",
            "\"live-key\"",
            "ghcr.io/acme/app:3f2c1d0",
        ],
    );
}
