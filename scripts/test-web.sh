#!/usr/bin/env bash
# Browser tests of the web editor: production build (`trunk build --release`), served on
# loopback by `python3 -m http.server`, driven in headless Debian Chromium by playwright-core
# (node's test runner). Exits non-zero on any failure.
#
# Artifacts (screenshots) go to target/web-artifacts/. Honours CARGO_TARGET_DIR.
# Set PLANTON_WEB_SKIP_SETUP=1 to skip scripts/setup-web.sh. PLANTON_BIN: a planton binary
# the caller has just built (`cargo xtask ci` does); without it this script builds one.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export PATH="$root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ "${PLANTON_WEB_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup-web.sh
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

if [ -z "${PLANTON_BIN:-}" ]; then
  echo "test-web: building planton (the CLI the page is compared with)" >&2
  cargo build --offline -p planton-runner --bin planton >&2
  PLANTON_BIN="$target_dir/debug/planton"
fi
echo "test-web: trunk build --release" >&2
trunk build --release >&2

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
python3 -m http.server --bind 127.0.0.1 --directory dist "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
  sleep 0.1
done

export PLANTON_WEB_URL="http://127.0.0.1:$port/"
export PLANTON_BIN
export PLANTON_CONFIGMAP_WASM="$target_dir/web-plugins/examples/planton_example_plugin_configmap.wasm"
export PLANTON_WEB_ARTIFACTS="$root/target/web-artifacts"
node --test --test-concurrency=1 tests/browser/
