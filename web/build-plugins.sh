#!/usr/bin/env bash
# Builds the built-in target plugins for wasm32 as runner/host/build.rs does (`cargo rustc
# --crate-type cdylib`, size-oriented release profile) and copies their .wasm files into
# web/plugins/, which index.html copies into dist/plugins/.
# A module that does not export the contract (a plugin crate without `export_plugin!`) fails.
# Also builds the example plugin (examples/plugin-configmap) for the browser tests.
# Run by trunk's pre_build hook from the workspace root; honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}/web-plugins"
unset CARGO_ENCODED_RUSTFLAGS RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
export CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_PANIC=abort CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_DEBUG=false
out="$target_dir/wasm32-unknown-unknown/release"
exports_contract() {
  node -e 'const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
    process.exit(WebAssembly.Module.exports(m).some((e) => e.name === "planton_contract_version") ? 0 : 1)' "$1"
}
mkdir -p web/plugins "$target_dir/examples"
for spec in planton-plugin-k8s:planton_plugin_k8s:builtin planton-plugin-ecs:planton_plugin_ecs:builtin \
            planton-example-plugin-configmap:planton_example_plugin_configmap:; do
  IFS=: read -r pkg stem builtin <<<"$spec"
  cargo rustc --offline --release --target wasm32-unknown-unknown --crate-type cdylib -p "$pkg" \
    --target-dir "$target_dir" >&2
  src="$out/$stem.wasm"
  if ! exports_contract "$src"; then
    echo "build-plugins: $pkg does not export the plugin contract (call export_plugin!)" >&2
    exit 1
  fi
  if [ -z "$builtin" ]; then
    cp "$src" "$target_dir/examples/$stem.wasm"
  else
    cmp -s "$src" "web/plugins/$stem.wasm" || cp "$src" "web/plugins/$stem.wasm"
  fi
done
