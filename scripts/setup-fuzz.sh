#!/usr/bin/env bash
# Installs what the fuzz run needs, idempotently and quickly when already there:
# a nightly toolchain (libFuzzer's sanitizer flags need it) and cargo-fuzz.
set -euo pipefail
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz@0.13.2
fi
