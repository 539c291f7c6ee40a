//! Starter `_kustomize/` trees: `service kustomize init --new` (templates for a new
//! service) and `init --from <manifest>` (an existing service manifest split into a base and
//! one overlay).
//!
//! Everything here is pure: it returns the files to write as `(path relative to the service
//! root, content)` pairs, in a fixed order. The runner checks for existing files, asks for
//! missing values and writes. The starter manifests build with [`crate::kustomize::build`]
//! and follow the kind rules of the specification (a Kubernetes service with resources and
//! one port; an ECS service with a cluster ARN, two subnets and a valid Fargate cpu/memory
//! pair), with `CHANGE-ME` placeholders where only the user knows the value.

use crate::service::CONFIG_FILE;
use crate::yaml::{Node, emit, parse_stream, to_output};
use std::fmt;

/// The deployment platform of a new service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// `MicroserviceKubernetes`.
    Kubernetes,
    /// `AwsEcsService`.
    AwsEcs,
    /// `KubernetesDeployment`, upstream project-planton's successor of `MicroserviceKubernetes`.
    KubernetesDeployment,
}

impl Platform {
    /// The name used on the command line (`kubernetes`, `aws-ecs`).
    pub fn flag_value(self) -> &'static str {
        match self {
            Platform::Kubernetes => "kubernetes",
            Platform::AwsEcs => "aws-ecs",
            Platform::KubernetesDeployment => "kubernetes-deployment",
        }
    }

    /// Parses a command-line name (also accepts `k8s`, `ecs` and the kind names).
    pub fn parse(s: &str) -> Option<Platform> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kubernetes" | "k8s" | "microservicekubernetes" | "1" => Some(Platform::Kubernetes),
            "aws-ecs" | "ecs" | "awsecsservice" | "2" => Some(Platform::AwsEcs),
            "kubernetes-deployment" | "kubernetesdeployment" | "k8s-deployment" | "3" => {
                Some(Platform::KubernetesDeployment)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Kubernetes => "Kubernetes (MicroserviceKubernetes)",
            Platform::AwsEcs => "AWS ECS (AwsEcsService)",
            Platform::KubernetesDeployment => "Kubernetes (KubernetesDeployment)",
        })
    }
}

/// What `init --new` needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewService {
    /// Where it runs.
    pub platform: Platform,
    /// The first deployable environment: overlay directory name and `metadata.env`.
    pub env: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.org`.
    pub org: String,
}

/// One file to write: path relative to the service root, and content.
pub type ScaffoldFile = (String, String);

/// Checks a name used as `metadata.name`, `metadata.org` or an overlay directory:
/// 1..63 characters of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn check_name(what: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} `{value}` is not valid: use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
        ))
    }
}

const KUSTOMIZATION_BASE: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - service.yaml
";

const KUSTOMIZATION_OVERLAY: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patches:
  - path: service.yaml
";

fn api_version(p: Platform) -> &'static str {
    match p {
        Platform::Kubernetes | Platform::KubernetesDeployment => {
            "kubernetes.project-planton.org/v1"
        }
        Platform::AwsEcs => "aws.project-planton.org/v1",
    }
}

fn kind(p: Platform) -> &'static str {
    match p {
        Platform::Kubernetes => "MicroserviceKubernetes",
        Platform::AwsEcs => "AwsEcsService",
        Platform::KubernetesDeployment => "KubernetesDeployment",
    }
}

fn base_service(s: &NewService) -> String {
    let head = format!(
        "# The {name} service as every environment starts from it.\n\
         # Overlays under ../overlays/<env>/ patch it; metadata.env in an overlay names the real\n\
         # target environment. Values written `$variables-group/<group>/<entry>` or\n\
         # `$secrets-group/<group>/<entry>` are resolved at deployment time.\n\
         apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  org: {org}\n",
        name = s.name,
        org = s.org,
        api = api_version(s.platform),
        kind = kind(s.platform),
    );
    let spec = match s.platform {
        Platform::Kubernetes => format!(
            "spec:
  version: main
  container:
    app:
      image:
        repo: ghcr.io/{org}/{name}
        # tag: supplied by the build (commit SHA)
      env:
        variables:
          PORT: \"8080\"
          LOG_LEVEL: info
      resources:
        limits:
          cpu: 500m
          memory: 512Mi
        requests:
          cpu: 50m
          memory: 128Mi
      ports:
        - name: http
          appProtocol: http
          networkProtocol: TCP
          containerPort: 8080
          servicePort: 80
          isIngressPort: false
  availability:
    minReplicas: 1
",
            org = s.org,
            name = s.name
        ),
        Platform::KubernetesDeployment => format!(
            "spec:
  # The target namespace (created by the deployment when createNamespace is true).
  namespace:
    value: {name}
  createNamespace: true
  version: main
  container:
    app:
      image:
        repo: ghcr.io/{org}/{name}
        # tag: supplied by the build (commit SHA)
      env:
        variables:
          PORT:
            value: \"8080\"
          LOG_LEVEL:
            value: info
        # secrets:
        #   DATABASE_PASSWORD:
        #     value: $secrets-group/<group>/<entry>
      resources:
        limits:
          cpu: 500m
          memory: 512Mi
        requests:
          cpu: 50m
          memory: 128Mi
      ports:
        - name: http
          appProtocol: http
          networkProtocol: TCP
          containerPort: 8080
          servicePort: 80
          isIngressPort: false
  availability:
    minReplicas: 1
",
            org = s.org,
            name = s.name
        ),
        Platform::AwsEcs => format!(
            "spec:
  # CHANGE-ME: the ECS cluster, subnets and security group of your AWS account.
  clusterArn: arn:aws:ecs:us-east-1:123456789012:cluster/CHANGE-ME
  launchType: FARGATE
  container:
    image:
      repo: 123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}
      # tag: supplied by the build (commit SHA)
    env:
      variables:
        PORT: \"8080\"
        LOG_LEVEL: info
    port: 8080
    replicas: 1
    # A valid Fargate pair: 256 CPU units with 512, 1024 or 2048 MiB.
    cpu: 256
    memory: 512
    logging:
      enabled: true
  network:
    subnets:
      - subnet-00000000000000001
      - subnet-00000000000000002
    securityGroups:
      - sg-00000000000000001
",
            name = s.name
        ),
    };
    format!("{head}{spec}")
}

fn env_overlay(s: &NewService) -> String {
    let replicas = match s.platform {
        Platform::Kubernetes | Platform::KubernetesDeployment => {
            "  availability:\n    minReplicas: 2\n"
        }
        Platform::AwsEcs => "  container:\n    replicas: 2\n",
    };
    format!(
        "# The {env} environment: a strategic-merge patch over ../../base.\n\
         apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  env: {env}  # the real target environment\n\
         spec:\n{replicas}",
        env = s.env,
        api = api_version(s.platform),
        kind = kind(s.platform),
        name = s.name,
    )
}

fn local_overlay(s: &NewService) -> String {
    let (indent, path) = match s.platform {
        Platform::Kubernetes => ("      ", "  container:\n    app:\n      env:\n"),
        Platform::AwsEcs => ("    ", "  container:\n    env:\n"),
        // Env values are objects: `NAME: {value: ...}`.
        Platform::KubernetesDeployment => {
            return format!(
                "# Never deployed: feeds `planton service dot-env --env local` only.\n\
                 apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n  container:\n    app:\n      env:\n\
                 \x20       variables:\n\
                 \x20         LOG_LEVEL:\n\
                 \x20           value: debug\n\
                 \x20       # secrets:\n\
                 \x20       #   DATABASE_PASSWORD:\n\
                 \x20       #     value: local-dev-password\n",
                api = api_version(s.platform),
                kind = kind(s.platform),
                name = s.name,
            );
        }
    };
    format!(
        "# Never deployed: feeds `planton service dot-env --env local` only.\n\
         apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{path}\
         {indent}  variables:\n\
         {indent}    LOG_LEVEL: debug\n\
         {indent}  # secrets:\n\
         {indent}  #   DATABASE_PASSWORD: local-dev-password\n",
        api = api_version(s.platform),
        kind = kind(s.platform),
        name = s.name,
    )
}

/// The service config file for a new service.
pub fn config_file(envs: &[&str]) -> String {
    format!(
        "# planton service configuration (see `planton service --help`).\n\
         apiVersion: planton.dev/v1\n\
         kind: ServiceConfig\n\
         # Overlay directories to deploy; empty = every overlay except local.\n\
         deploymentEnvironments: [{}]\n",
        envs.join(", ")
    )
}

/// The files of a new service: base, the `env` overlay, the `local` overlay (once when
/// `env` is `local`), and `planton.yaml` last.
pub fn new_service(s: &NewService) -> Vec<ScaffoldFile> {
    let mut files = vec![
        (
            "_kustomize/base/kustomization.yaml".to_string(),
            KUSTOMIZATION_BASE.to_string(),
        ),
        ("_kustomize/base/service.yaml".to_string(), base_service(s)),
    ];
    if s.env != "local" {
        files.push((
            format!("_kustomize/overlays/{}/kustomization.yaml", s.env),
            KUSTOMIZATION_OVERLAY.to_string(),
        ));
        files.push((
            format!("_kustomize/overlays/{}/service.yaml", s.env),
            env_overlay(s),
        ));
    }
    files.push((
        "_kustomize/overlays/local/kustomization.yaml".to_string(),
        KUSTOMIZATION_OVERLAY.to_string(),
    ));
    files.push((
        "_kustomize/overlays/local/service.yaml".to_string(),
        local_overlay(s),
    ));
    let envs: Vec<&str> = if s.env == "local" {
        Vec::new()
    } else {
        vec![s.env.as_str()]
    };
    files.push((CONFIG_FILE.to_string(), config_file(&envs)));
    files
}

/// Splits an existing service manifest (`text`, read from `file`) into a base (the manifest
/// without `metadata.env`) and one overlay whose patch holds `metadata.env`.
///
/// The overlay directory is `env` when given, else the manifest's `metadata.env`;
/// the patch's `metadata.env` is the manifest's, else `env`. Comments of the manifest are
/// not kept (the base is re-emitted the way `kubectl kustomize` prints YAML).
pub fn from_manifest(
    text: &str,
    file: &str,
    env: Option<&str>,
) -> Result<Vec<ScaffoldFile>, String> {
    let docs = parse_stream(text, file)
        .map_err(|e| format!("{file}:{}:{}: malformed YAML: {}", e.line, e.col, e.message))?;
    let mut docs: Vec<Node> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if docs.len() != 1 {
        return Err(format!(
            "{file}: expected one service manifest, found {} documents",
            docs.len()
        ));
    }
    let mut doc = docs.remove(0);
    let kind = doc
        .get("kind")
        .and_then(Node::scalar_text)
        .unwrap_or_default()
        .to_string();
    if !matches!(
        kind.as_str(),
        "MicroserviceKubernetes" | "KubernetesDeployment" | "AwsEcsService"
    ) {
        return Err(format!(
            "{file}: kind `{kind}` is not a service kind (MicroserviceKubernetes, KubernetesDeployment or AwsEcsService)"
        ));
    }
    let api = doc
        .get("apiVersion")
        .and_then(Node::scalar_text)
        .unwrap_or_default()
        .to_string();
    let name = doc
        .get_path(&["metadata", "name"])
        .and_then(Node::scalar_text)
        .ok_or_else(|| format!("{file}: the manifest has no metadata.name"))?
        .to_string();
    let manifest_env = doc
        .get_path(&["metadata", "env"])
        .and_then(Node::scalar_text)
        .map(str::to_string);
    if let Some(meta) = doc.get_mut("metadata").and_then(Node::as_map_mut) {
        meta.remove("env");
    }
    let dir = match (env, &manifest_env) {
        (Some(e), _) => e.to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => {
            return Err(format!(
                "{file}: the manifest has no metadata.env; pass --env to name the environment"
            ));
        }
    };
    check_name("environment", &dir)?;
    let patch_env = manifest_env.unwrap_or_else(|| dir.clone());
    let out = to_output(&doc).map_err(|e| format!("{}: {}", e.pos, e.message))?;
    let base = format!(
        "# Made by `planton service kustomize init --from {file}`.\n{}",
        emit(&out)
    );
    let patch = format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {}\n  env: {}  # the real target environment\n",
        yaml_scalar(&name),
        yaml_scalar(&patch_env)
    );
    Ok(vec![
        (
            "_kustomize/base/kustomization.yaml".to_string(),
            KUSTOMIZATION_BASE.to_string(),
        ),
        ("_kustomize/base/service.yaml".to_string(), base),
        (
            format!("_kustomize/overlays/{dir}/kustomization.yaml"),
            KUSTOMIZATION_OVERLAY.to_string(),
        ),
        (format!("_kustomize/overlays/{dir}/service.yaml"), patch),
    ])
}

/// A string as a YAML scalar (emitted the kustomize way, quoted when needed).
fn yaml_scalar(s: &str) -> String {
    emit(&crate::yaml::Out::Str(s.to_string()))
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::{FileTree, build};

    fn builds(files: &[ScaffoldFile], overlay: &str) -> String {
        let mut tree = FileTree::new();
        for (p, c) in files {
            tree.insert(p, c.as_str());
        }
        build(&tree, &format!("_kustomize/overlays/{overlay}"))
            .and_then(|b| b.to_yaml())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn names() {
        assert!(check_name("name", "order-api").is_ok());
        assert!(check_name("name", "Order").is_err());
        assert!(check_name("name", "-a").is_err());
        assert!(check_name("name", "").is_err());
    }

    #[test]
    fn from_manifest_splits_env_out() {
        let text = "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: api\n  env: app-prod\nspec:\n  version: main\n";
        let files = from_manifest(text, "m.yaml", None).unwrap();
        assert_eq!(files[3].0, "_kustomize/overlays/app-prod/service.yaml");
        assert!(!files[1].1.contains("env:"));
        assert!(files[3].1.contains("env: app-prod"));
        assert!(from_manifest(&text.replace("  env: app-prod\n", ""), "m.yaml", None).is_err());
        let files = from_manifest(
            &text.replace("  env: app-prod\n", ""),
            "m.yaml",
            Some("prod"),
        )
        .unwrap();
        assert!(files[3].1.contains("env: prod"));
    }

    #[test]
    fn templates_build() {
        for platform in [
            Platform::Kubernetes,
            Platform::AwsEcs,
            Platform::KubernetesDeployment,
        ] {
            let s = NewService {
                platform,
                env: "dev".into(),
                name: "api".into(),
                org: "acme".into(),
            };
            let files = new_service(&s);
            let dev = builds(&files, "dev");
            assert!(dev.contains("env: dev"), "{dev}");
            let local = builds(&files, "local");
            let debug = match platform {
                Platform::KubernetesDeployment => "LOG_LEVEL:\n            value: debug",
                _ => "LOG_LEVEL: debug",
            };
            assert!(local.contains(debug), "{local}");
        }
    }
}
