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

# The official SARIF 2.1.0 JSON Schema, to validate `planton validate --output sarif`.
# It ships in Microsoft's SARIF multitool package on npm (a 43 MB tarball): fetched once per
# machine into the cache outside the checkout (a fresh clone reuses it), then copied into target/.
sarif_schema="$here/../target/test-tools/sarif-2.1.0.json"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/planton/test-tools"
if [ ! -s "$sarif_schema" ]; then
  if [ ! -s "$cache/sarif-2.1.0.json" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent @microsoft/sarif-multitool-linux@5.7.0 >/dev/null \
      && tar xzf microsoft-sarif-multitool-linux-5.7.0.tgz package/sarif-2.1.0.json)
    mkdir -p "$cache"
    mv "$tmp/package/sarif-2.1.0.json" "$cache/sarif-2.1.0.json.tmp.$$"
    mv -f "$cache/sarif-2.1.0.json.tmp.$$" "$cache/sarif-2.1.0.json"
    rm -rf "$tmp"
  fi
  mkdir -p "$(dirname "$sarif_schema")"
  cp "$cache/sarif-2.1.0.json" "$sarif_schema"
fi
