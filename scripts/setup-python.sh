#!/usr/bin/env bash
# Installs the Python packages the tests use as real consumers and validators
# (kubernetes-validate, botocore, python-dotenv, jsonschema, junitparser), and moto in server
# mode, which the ECS deploy tests run as a stand-in for AWS (pinned: its behaviour is what
# the tests are written against; boto3 creates their fixtures).
# Idempotent and quick when everything is present: pip runs only for missing modules.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
missing=()
# Each entry is "import-name:pip-name".
for pair in kubernetes_validate:kubernetes-validate botocore:botocore dotenv:python-dotenv jsonschema:jsonschema junitparser:junitparser boto3:boto3 'moto.server:moto[server]==5.2.1'; do
    module="${pair%%:*}"
    package="${pair#*:}"
    if ! "$PYTHON" -c "import ${module}" >/dev/null 2>&1; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-python: all packages present"
    exit 0
fi

echo "setup-python: installing ${missing[*]}"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
