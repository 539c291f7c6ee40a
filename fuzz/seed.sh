#!/usr/bin/env bash
# Writes the fixed seed corpora into fuzz/corpus/<target>/ (idempotent): every conformance case
# of ../shared/conformance/kustomize encoded for the `kustomize_build` target, its YAML files for `yaml`,
# and references with group manifests for `refs_dotenv`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${PLANTON_SHARED:-$here/../../shared}"
python3 - "$here" "$shared/conformance/kustomize" <<'PY'
import hashlib, os, sys
here, corpus = sys.argv[1], sys.argv[2]
def put(target, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
for case in sorted(os.listdir(corpus)):
    root = os.path.join(corpus, case)
    if not os.path.isfile(os.path.join(root, "build-dir")):
        continue
    build_dir = open(os.path.join(root, "build-dir")).read().strip()
    inp = os.path.join(root, "input")
    enc = (build_dir + "\n").encode()
    for dp, _, fs in sorted(os.walk(inp)):
        for fn in sorted(fs):
            p = os.path.join(dp, fn)
            data = open(p, "rb").read()
            rel = os.path.relpath(p, inp)
            enc += rel.encode() + b"\0" + data + b"\0"
            if fn.endswith((".yaml", ".yml")) and len(data) < 20000:
                put("yaml", data)
    if len(enc) < 60000:
        put("kustomize_build", enc)
groups = b"""apiVersion: service-hub.planton.ai/v1
kind: VariablesGroup
metadata:
  name: app
spec:
  entries:
  - name: url
    value: https://example.com/a b
---
apiVersion: service-hub.planton.ai/v1
kind: SecretsGroup
metadata:
  name: creds
spec:
  entries:
  - name: token
    value: s3cr3t'"$x
"""
for ref in [b"$variables-group/app/url", b"$secrets-group/creds/token", b"KEY=$x{y}", b"$variables-group//", b"plain"]:
    put("refs_dotenv", ref + b"\n" + groups)
PY
