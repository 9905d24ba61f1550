#!/usr/bin/env bash
# Packages the built policies (run by `make plugins` after the cargo build):
#   wasm-plugins/dist/<policy>.wasm
#   wasm-plugins/dist/plugins-local/src/switchyard/<policy>/{.traefik.yml,plugin.wasm}
# One policy per manifest in traefik-plugin/manifests/. The dist tree is a build output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
release="${CARGO_TARGET_DIR:-$root/target}/wasm32-wasip1/release"
dist="$root/dist"

rm -rf "$dist/plugins-local"
mkdir -p "$dist"
for manifest in "$root"/traefik-plugin/manifests/*.traefik.yml; do
  policy="$(basename "$manifest" .traefik.yml)"
  wasm="$release/$policy.wasm"
  if [ ! -f "$wasm" ]; then
    echo "package.sh: $wasm is missing (did the cargo build run?)" >&2
    exit 1
  fi
  cp "$wasm" "$dist/$policy.wasm"
  module="$dist/plugins-local/src/switchyard/$policy"
  mkdir -p "$module"
  cp "$manifest" "$module/.traefik.yml"
  cp "$wasm" "$module/plugin.wasm"
done
