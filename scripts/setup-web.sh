#!/usr/bin/env bash
# Installs what the web editor's build and browser tests need, pinned, idempotently.
# Each step is guarded by a version check, so a kept machine skips it in well under a second.
#   trunk 0.21.14, wasm-bindgen-cli 0.2.130 (must equal the wasm-bindgen crate in Cargo.lock),
#   npm deps from package-lock.json (binaryen@132 for wasm-opt, playwright-core),
#   Debian chromium (only if /usr/bin/chromium is missing), the wasm32 target.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'setup-web: %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]; then
  log "installing trunk $TRUNK_VERSION (several minutes when cold)"
  cargo install --locked "trunk@$TRUNK_VERSION"
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No --locked: its lock file pins a webpki-roots version the registry mirror lacks.
  cargo install --force "wasm-bindgen-cli@$WASM_BINDGEN_VERSION"
fi

npm_ok() {
  [ -x node_modules/.bin/wasm-opt ] && [ -f node_modules/playwright-core/package.json ] &&
    node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q 'version 132'
}
if ! npm_ok; then
  log "installing npm dependencies from package-lock.json"
  npm ci --no-audit --no-fund
fi

if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium
fi

# trunk builds with `cargo build --offline`: make sure every crate is in the local cache.
cargo fetch >/dev/null 2>&1 || cargo fetch
log "ready"
