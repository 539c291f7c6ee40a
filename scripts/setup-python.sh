#!/usr/bin/env bash
# Installs the Python packages the tests use as real consumers and validators
# (kubernetes-validate, botocore, python-dotenv, jsonschema, junitparser), and moto in server
# mode, which the ECS deploy tests run as a stand-in for AWS (pinned: its behaviour is what
# the tests are written against; boto3 creates their fixtures).
# Idempotent and quick when everything is present: one Python process reads the installed
# distributions' metadata (importing moto and boto3 to check took seconds), and pip runs only
# for what is missing or at another version.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
read -r -a missing <<<"$("$PYTHON" - <<'PY'
import importlib.metadata as md

# pip requirement -> the distributions (and pinned versions) it must have installed.
wanted = {
    "kubernetes-validate": [("kubernetes-validate", None)],
    "botocore": [("botocore", None)],
    "python-dotenv": [("python-dotenv", None)],
    "jsonschema": [("jsonschema", None)],
    "junitparser": [("junitparser", None)],
    "boto3": [("boto3", None)],
    # The server extra: flask and flask-cors.
    "moto[server]==5.2.1": [("moto", "5.2.1"), ("flask", None), ("flask-cors", None)],
}

def ok(dist, version):
    try:
        have = md.version(dist)
    except md.PackageNotFoundError:
        return False
    return version is None or have == version

print(" ".join(req for req, dists in wanted.items() if not all(ok(*d) for d in dists)))
PY
)"

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-python: all packages present"
    exit 0
fi

echo "setup-python: installing ${missing[*]}"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
