#!/usr/bin/env bash
# Benchmark of the web editor (not a timed test): edit → updated diagnostics in headless
# Chromium for the bundled example and the `wide` workload of ../shared/bench/kustomize, and
# the gzipped size of what the page loads. Builds with `trunk build --release` unless
# PLANTON_WEB_NO_BUILD=1 (then it reuses dist/). Honours CARGO_TARGET_DIR. PLANTON_BENCH_N edits are
# measured (100) after PLANTON_BENCH_WARMUP unmeasured ones (20: V8 tiers WebAssembly up as it runs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ "${PLANTON_WEB_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup-web.sh
[ "${PLANTON_WEB_NO_BUILD:-0}" = 1 ] || trunk build --release >&2
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
python3 -m http.server --bind 127.0.0.1 --directory dist "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
  sleep 0.1
done
PLANTON_WEB_URL="http://127.0.0.1:$port/" node tests/browser/bench.mjs
