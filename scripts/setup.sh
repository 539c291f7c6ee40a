#!/usr/bin/env bash
# Installs what the test suite needs, idempotently; quick when everything is already there.
# Called by `cargo xtask ci` (the README's test command) and so by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The browser build of core and the plugins' WebAssembly modules.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# Python tools the tests use as real consumers/validators.
if [ -f "$here/setup-python.sh" ]; then
  bash "$here/setup-python.sh"
fi
