#!/usr/bin/env bash
# Builds the built-in target plugins for wasm32 as runner/host/build.rs does (`cargo rustc
# --crate-type cdylib`, size-oriented release profile) and copies their .wasm files into
# web/plugins/, which index.html copies into dist/plugins/.
# While a plugin crate does not call `export_plugin!` (its module then exports nothing), the
# stand-in shim in web/plugin-shims/ (which calls it on the crate's Plugin type) is built instead.
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
for spec in planton-plugin-k8s:planton_plugin_k8s:k8s planton-plugin-ecs:planton_plugin_ecs:ecs \
            planton-example-plugin-configmap:planton_example_plugin_configmap:; do
  IFS=: read -r pkg stem shim <<<"$spec"
  cargo rustc --offline --release --target wasm32-unknown-unknown --crate-type cdylib -p "$pkg" \
    --target-dir "$target_dir" >&2
  src="$out/$stem.wasm"
  if [ -n "$shim" ] && ! exports_contract "$src"; then
    echo "build-plugins: $pkg does not call export_plugin! yet; building web/plugin-shims/$shim" >&2
    cargo build --offline --release --target wasm32-unknown-unknown \
      --manifest-path web/plugin-shims/Cargo.toml -p "planton-web-shim-$shim" --target-dir "$target_dir" >&2
    src="$out/planton_web_shim_$shim.wasm"
  fi
  if [ -z "$shim" ]; then
    cp "$src" "$target_dir/examples/$stem.wasm"
  else
    cmp -s "$src" "web/plugins/$stem.wasm" || cp "$src" "web/plugins/$stem.wasm"
  fi
done
