#!/usr/bin/env bash
# Builds the built-in target plugins for wasm32 exactly as runner/build.rs does
# (`cargo rustc --crate-type cdylib`, size-oriented release profile) and copies their .wasm
# files into web/plugins/, which index.html copies into dist/plugins/.
# Also builds the example plugin (examples/plugin-configmap) for the browser tests.
# Run by trunk's pre_build hook from the workspace root; honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}/web-plugins"
unset CARGO_ENCODED_RUSTFLAGS RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
export CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_PANIC=abort CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_DEBUG=false
mkdir -p web/plugins
for pkg in planton-plugin-k8s:planton_plugin_k8s planton-plugin-ecs:planton_plugin_ecs \
           planton-example-plugin-configmap:planton_example_plugin_configmap; do
  name="${pkg%%:*}" stem="${pkg##*:}"
  cargo rustc --offline --release --target wasm32-unknown-unknown --crate-type cdylib -p "$name" \
    --target-dir "$target_dir" >&2
  src="$target_dir/wasm32-unknown-unknown/release/$stem.wasm"
  case "$stem" in
    planton_example_*) mkdir -p "$target_dir/examples" && cp "$src" "$target_dir/examples/$stem.wasm" ;;
    *) cmp -s "$src" "web/plugins/$stem.wasm" || cp "$src" "web/plugins/$stem.wasm" ;;
  esac
done
