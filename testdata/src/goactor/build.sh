#!/usr/bin/env bash
# Rebuilds the Go actor fixtures testdata/goactor_<name>.wasm from
# src/goactor/<name>/ (all of them, or the names given) with the project's
# own command, `airssys-wasm build` (internal/gobuild: go build for
# wasip1, then wit-component through jco with the pinned WASI adapter),
# using the jco of tools/node_modules (npm ci in testdata/tools when
# missing). Needs Go and Node.js; not the rest of build.sh's toolchain.
#
#   bash testdata/src/goactor/build.sh [name...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
names=("$@")
if ((${#names[@]} == 0)); then
  for dir in src/goactor/*/; do names+=("$(basename "$dir")"); done
fi
[ -d tools/node_modules ] || (cd tools && npm ci --no-audit --no-fund)
bin="$(mktemp -d)/airssys-wasm"
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd .. && go build -o "$bin" ./cmd/airssys-wasm)
for name in "${names[@]}"; do
  printf '>> goactor_%s.wasm (%s)\n' "$name" "$(go env GOVERSION)" >&2
  "$bin" build "src/goactor/$name" -o "goactor_$name.wasm" --tools tools
done
