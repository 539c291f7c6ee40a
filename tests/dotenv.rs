//! `planton service dot-env` end to end: the files round-trip through their real readers
//! (python-dotenv, bash, dash), provenance comments, reference errors, and no secret in
//! the command's output.

use crate::util::{run, temp_dir, text, write_tree};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A YAML double-quoted scalar holding exactly `s`.
fn yq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Values that are hard to quote, by key. Every one must read back exactly in
/// python-dotenv (default settings) and in sh/bash.
const HARD: &[(&str, &str)] = &[
    ("A_PLAIN", "8080"),
    ("B_SPACES", "two words  inside"),
    ("C_SINGLE", "it's"),
    ("D_DOUBLE", "say \"hi\""),
    ("E_BOTH", "both ' and \" quotes"),
    ("F_DOLLAR", "$HOME and $1 and $$ and $"),
    ("G_BACKSLASH", "C:\\dir\\sub \\n \\t \\\\ double"),
    ("H_TRAILING_BACKSLASH", "ends\\"),
    ("I_HASH", "#not-a-comment"),
    ("J_SPACE_HASH", "a # b"),
    ("K_EQUALS", "key=value=x"),
    ("L_NEWLINES", "line1\nline2\n\nline4"),
    ("M_MIXED", "multi\nline 'single' \"double\" $VAR # x = y"),
    ("N_UNICODE", "ünïcödé ✓ 日本語 🚀"),
    ("O_EMPTY", ""),
    ("P_SURROUNDING", "  leading and trailing  "),
    ("Q_TAB", "tab\there"),
    ("R_DOLLAR_QUOTE", "it's $5 \\o/"),
    ("S_BACKSLASH_QUOTE", "a\\\"b"),
    ("T_CR", "carriage\rreturn"),
    (
        "U_URL",
        "postgres://user:p%40ss@db:5432/app?sslmode=disable",
    ),
];

/// Values only sh/bash read back exactly (python-dotenv expands `${...}` everywhere and
/// cannot read some mixes); planton warns about them by key.
const SHELL_ONLY: &[(&str, &str)] = &[
    ("V_BRACES", "${HOME} and ${X:-y}"),
    ("W_DOLLAR_BACKSLASHES", "$x \\\\ y\\"),
];

fn service_with(values: &[(&str, &str)], secret_keys: &[&str]) -> PathBuf {
    let root = temp_dir(&format!("dotenv-{}", values.len()));
    let mut vars = String::new();
    let mut secrets = String::new();
    for (k, v) in values {
        let line = format!("          {k}: {}\n", yq(v));
        if secret_keys.contains(k) {
            secrets.push_str(&line)
        } else {
            vars.push_str(&line)
        }
    }
    let service = format!(
        "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: svc\n  org: acme\nspec:\n  version: main\n  container:\n    app:\n      env:\n        variables:\n{vars}        secrets:\n{secrets}"
    );
    write_tree(
        &root,
        &[
            (
                "_kustomize/base/kustomization.yaml",
                "resources:\n- service.yaml\n",
            ),
            ("_kustomize/base/service.yaml", &service),
            (
                "_kustomize/overlays/local/kustomization.yaml",
                "resources:\n- ../../base\n",
            ),
        ],
    );
    root
}

fn python_reads(env_file: &Path) -> BTreeMap<String, String> {
    let script = "import sys\nfrom dotenv import dotenv_values\nfor k, v in dotenv_values(sys.argv[1]).items():\n    sys.stdout.buffer.write(k.encode() + b'\\0' + (v or '').encode() + b'\\0')\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(env_file)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python-dotenv failed (install it with scripts/setup-python.sh): {}",
        text(&out.stderr)
    );
    let s = text(&out.stdout);
    let parts: Vec<&str> = s.split('\0').collect();
    parts
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].to_string(), c[1].to_string()))
        .collect()
}

fn shell_reads(shell: &str, export_file: &Path) -> BTreeMap<String, String> {
    let out = Command::new("env")
        .args(["-i", shell, "-c", ". \"$0\" && env -0"])
        .arg(export_file)
        .output()
        .expect("run shell");
    assert!(
        out.status.success(),
        "{shell} failed to source .env_export: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| !matches!(*k, "PWD" | "OLDPWD" | "SHLVL" | "_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn expected(values: &[(&str, &str)]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn env_files_round_trip_through_python_dotenv_and_shells() {
    let all: Vec<(&str, &str)> = HARD.iter().chain(SHELL_ONLY).copied().collect();
    let secret_keys = ["F_DOLLAR", "M_MIXED", "W_DOLLAR_BACKSLASHES"];
    let root = service_with(&all, &secret_keys);
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    // python-dotenv reads every HARD value exactly.
    let py = python_reads(&root.join(".env"));
    for (k, v) in HARD {
        assert_eq!(
            py.get(*k).map(String::as_str),
            Some(*v),
            "python-dotenv read {k} wrong; .env:\n{}",
            text(&std::fs::read(root.join(".env")).unwrap())
        );
    }
    // The values it cannot read are named (by key, never by value) in warnings.
    for (k, _) in SHELL_ONLY {
        assert!(
            stderr.contains(&format!("warning: .env: {k}:")),
            "no warning for {k}: {stderr}"
        );
    }
    // bash and dash export exactly every value.
    for shell in ["bash", "sh"] {
        assert_eq!(
            shell_reads(shell, &root.join(".env_export")),
            expected(&all),
            "{shell}"
        );
    }
    // bash's `set -a; source .env_export` works too.
    let out = Command::new("env")
        .args([
            "-i",
            "bash",
            "-c",
            "set -a; source \"$0\"; printf '%s' \"$M_MIXED\"",
        ])
        .arg(root.join(".env_export"))
        .output()
        .expect("run bash");
    assert_eq!(
        text(&out.stdout),
        "multi\nline 'single' \"double\" $VAR # x = y"
    );

    // No value reaches the output, secret or not (the plain digits excepted).
    for (k, v) in &all {
        if v.len() > 4 {
            assert!(
                !stdout.contains(v) && !stderr.contains(v),
                "value of {k} printed:\n{stdout}\n{stderr}"
            );
        }
    }
    // Atomic writes leave no temporary files behind.
    let leftovers: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn set_values_round_trip_and_win() {
    let root = service_with(&[("KEEP", "x"), ("OVERRIDE", "old")], &[]);
    let tricky = "v'a\"l $u e\n2";
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
        "--set",
        "OVERRIDE=first",
        "--set",
        &format!("OVERRIDE={tricky}"),
        "--set",
        "NEW_ONE=a=b",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want = expected(&[("KEEP", "x"), ("OVERRIDE", tricky), ("NEW_ONE", "a=b")]);
    assert_eq!(python_reads(&root.join(".env")), want);
    assert_eq!(shell_reads("bash", &root.join(".env_export")), want);
    let env = std::fs::read_to_string(root.join(".env")).unwrap();
    assert!(env.contains("# from --set\nNEW_ONE=a=b\n"), "{env}");
    assert!(!text(&out.stdout).contains(tricky) && !text(&out.stderr).contains(tricky));
    // A malformed --set names no value.
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
        "--set",
        "hunter2-no-key",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !text(&out.stderr).contains("hunter2"),
        "{}",
        text(&out.stderr)
    );
}

const GROUPS: &str = "\
apiVersion: service-hub.planton.ai/v1
kind: SecretsGroup
metadata:
  name: database
spec:
  entries:
  - name: password
    value: \"s3cr3t-from-group 'q' $x\"
---
apiVersion: service-hub.planton.ai/v1
kind: VariablesGroup
metadata:
  name: database
spec:
  entries:
  - name: host
    value: db.internal
";

fn provenance_service(root: &Path, local_patch: &str) {
    write_tree(
        root,
        &[
            (
                "_kustomize/base/kustomization.yaml",
                "resources:\n- service.yaml\n",
            ),
            (
                "_kustomize/base/service.yaml",
                "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: svc\nspec:\n  container:\n    app:\n      env:\n        variables:\n          LOG_LEVEL: info\n          PORT: \"8080\"\n          DATABASE_HOST: $variables-group/database/host\n        secrets:\n          DATABASE_PASSWORD: $secrets-group/database/password\n",
            ),
            (
                "_kustomize/overlays/local/kustomization.yaml",
                "resources:\n- ../../base\npatches:\n- path: service.yaml\n",
            ),
            ("_kustomize/overlays/local/service.yaml", local_patch),
            ("groups/database.yaml", GROUPS),
        ],
    );
}

#[test]
fn every_key_names_where_its_value_came_from() {
    let root = temp_dir("dotenv-provenance");
    provenance_service(
        &root,
        "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: svc\nspec:\n  container:\n    app:\n      env:\n        variables:\n          LOG_LEVEL: debug\n        secrets:\n          API_TOKEN: local-literal-token\n",
    );
    let out_dir = root.join("out");
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
        "--out-dir",
        out_dir.to_str().unwrap(),
        "--set",
        "DEBUG=true",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let env = std::fs::read_to_string(out_dir.join(".env")).unwrap();
    let body: Vec<&str> = env.lines().skip(1).collect();
    assert_eq!(
        body,
        [
            "# from overlay local",
            "API_TOKEN=local-literal-token",
            "# from variables group database",
            "DATABASE_HOST=db.internal",
            "# from secrets group database",
            "DATABASE_PASSWORD='s3cr3t-from-group \\'q\\' $x'",
            "# from --set",
            "DEBUG=true",
            "# from overlay local",
            "LOG_LEVEL=debug",
            "# from base",
            "PORT=8080",
        ]
    );
    let export = std::fs::read_to_string(out_dir.join(".env_export")).unwrap();
    assert!(
        export.contains("# from secrets group database\nexport DATABASE_PASSWORD='s3cr3t-from-group '\\''q'\\'' $x'\n"),
        "{export}"
    );
    assert!(!root.join(".env").exists(), "--out-dir writes only there");
    for secret in ["s3cr3t", "local-literal-token"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{stdout}\n{stderr}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out_dir.join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "secrets files are private: {mode:o}");
    }
}

#[test]
fn unresolved_references_are_reported_together_without_values() {
    let root = temp_dir("dotenv-unresolved");
    provenance_service(
        &root,
        "apiVersion: kubernetes.project-planton.org/v1\nkind: MicroserviceKubernetes\nmetadata:\n  name: svc\nspec:\n  container:\n    app:\n      env:\n        variables:\n          CACHE_HOST: $variables-group/cache/host\n          TYPO: $variable-group/database/host\n        secrets:\n          API_KEY: $secrets-group/database/api-key\n          LITERAL: top-secret-literal\n",
    );
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // A missing group and a missing entry are different errors, each naming the overlay,
    // the field, the group and the entry.
    let missing_group = stderr
        .lines()
        .find(|l| l.contains("CACHE_HOST"))
        .expect("missing group reported");
    assert!(
        missing_group.contains("ref-missing-group"),
        "{missing_group}"
    );
    assert!(
        missing_group.contains("overlay local")
            && missing_group.contains("variables group `cache`"),
        "{missing_group}"
    );
    assert!(
        missing_group.contains("spec.container.app.env.variables.CACHE_HOST")
            && missing_group.contains("/host"),
        "{missing_group}"
    );
    assert!(
        missing_group.contains("_kustomize/overlays/local/service.yaml:"),
        "points at the patch: {missing_group}"
    );
    let missing_entry = stderr
        .lines()
        .find(|l| l.contains("API_KEY"))
        .expect("missing entry reported");
    assert!(
        missing_entry.contains("ref-missing-entry") && missing_entry.contains("no entry `api-key`"),
        "{missing_entry}"
    );
    assert!(
        missing_entry.contains("secrets group `database`")
            && missing_entry.contains("overlay local"),
        "{missing_entry}"
    );
    let typo = stderr
        .lines()
        .find(|l| l.contains("TYPO"))
        .expect("malformed reference reported");
    assert!(
        typo.contains("did you mean") && typo.contains("$variables-group/database/host"),
        "{typo}"
    );
    assert!(stderr.contains("3 problems"), "{stderr}");
    assert!(
        !root.join(".env").exists() && !root.join(".env_export").exists(),
        "nothing written"
    );
    for secret in ["s3cr3t", "top-secret-literal", "db.internal"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn ecs_services_and_unknown_overlays() {
    let root = temp_dir("dotenv-ecs");
    write_tree(
        &root,
        &[
            (
                "_kustomize/base/kustomization.yaml",
                "resources:\n- service.yaml\n",
            ),
            (
                "_kustomize/base/service.yaml",
                "apiVersion: aws.project-planton.org/v1\nkind: AwsEcsService\nmetadata:\n  name: svc\nspec:\n  container:\n    env:\n      variables:\n        REGION: eu-west-1\n      secrets:\n        TOKEN: ecs-literal\n",
            ),
            (
                "_kustomize/overlays/local/kustomization.yaml",
                "resources:\n- ../../base\n",
            ),
        ],
    );
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        python_reads(&root.join(".env")),
        expected(&[("REGION", "eu-west-1"), ("TOKEN", "ecs-literal")])
    );
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "nope",
        "--dir",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no overlay `nope`") && text(&out.stderr).contains("local"),
        "{}",
        text(&out.stderr)
    );
}

/// `KubernetesDeployment` env values are objects: `{value}` is read, `valueFrom` and
/// `secretRef` (nothing a local file can hold) are left out with a warning.
#[test]
fn kubernetes_deployment_object_values() {
    let root = temp_dir("dotenv-kd");
    write_tree(
        &root,
        &[
            (
                "_kustomize/base/kustomization.yaml",
                "resources:\n- service.yaml\n",
            ),
            (
                "_kustomize/base/service.yaml",
                "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesDeployment\nmetadata:\n  name: svc\nspec:\n  namespace: svc\n  container:\n    app:\n      env:\n        variables:\n          PORT:\n            value: \"8080\"\n          PLAIN: as-string\n          DB_HOST:\n            valueFrom:\n              name: db\n        secrets:\n          TOKEN:\n            value: kd-literal\n          API_KEY:\n            secretRef:\n              name: api\n              key: key\n",
            ),
            (
                "_kustomize/overlays/local/kustomization.yaml",
                "resources:\n- ../../base\n",
            ),
        ],
    );
    let out = run(&[
        "service",
        "dot-env",
        "--env",
        "local",
        "--dir",
        root.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("dotenv-reference-skipped") && stderr.contains("DB_HOST"),
        "{stderr}"
    );
    assert_eq!(
        python_reads(&root.join(".env")),
        expected(&[
            ("PLAIN", "as-string"),
            ("PORT", "8080"),
            ("TOKEN", "kd-literal")
        ])
    );
}

#[test]
fn secret_values_leave_only_the_local_overlay_unless_asked() {
    let root = temp_dir("dotenv-prod-secrets");
    provenance_service(&root, "metadata:\n  name: svc\n");
    write_tree(
        &root,
        &[(
            "_kustomize/overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\n",
        )],
    );
    let out_dir = root.join("out");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "service",
            "dot-env",
            "--env",
            "prod",
            "--dir",
            root.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    let out = args(&[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let env = std::fs::read_to_string(out_dir.join(".env")).unwrap();
    assert!(
        !env.contains("DATABASE_PASSWORD") && !env.contains("s3cr3t"),
        "{env}"
    );
    assert!(env.contains("DATABASE_HOST=db.internal"), "{env}");
    assert!(
        stderr.contains("left out 1 secret value (DATABASE_PASSWORD)")
            && stderr.contains("--include-secrets"),
        "{stderr}"
    );
    let out = args(&["--include-secrets"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let env = std::fs::read_to_string(out_dir.join(".env")).unwrap();
    assert!(
        env.contains("DATABASE_PASSWORD='s3cr3t-from-group"),
        "{env}"
    );
}
