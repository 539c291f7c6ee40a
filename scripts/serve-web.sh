#!/usr/bin/env bash
# Builds the web editor (production build) and serves it on loopback.
# Usage: scripts/serve-web.sh [PORT]   (default 8080), then open http://127.0.0.1:PORT/
# and click "Open example". Installs what the build needs first (idempotent, quick when done).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8080}"
bash scripts/setup-web.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build --release
echo "serving the editor at http://127.0.0.1:$port/ (Ctrl-C to stop)"
exec python3 -m http.server --bind 127.0.0.1 --directory dist "$port"
