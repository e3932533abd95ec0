#!/usr/bin/env bash
# Rebuilds the Go actor fixtures testdata/goactor_<name>.wasm from
# src/goactor/<name>/ (all of them, or the names given), without the rest
# of testdata/build.sh's toolchain: needs Go, Node.js and tools/node_modules
# (npm ci in testdata/tools).
#
#   bash testdata/src/goactor/build.sh [name...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
scratch="${SCRATCH:-$(mktemp -d)}"
mkdir -p "$scratch/goactor"
names=("$@")
if ((${#names[@]} == 0)); then
  for dir in src/goactor/*/; do names+=("$(basename "$dir")"); done
fi
[ -d tools/node_modules ] || (cd tools && npm ci --no-audit --no-fund)
for name in "${names[@]}"; do
  printf '>> goactor %s.core.wasm (%s)\n' "$name" "$(go env GOVERSION)" >&2
  (cd "src/goactor/$name" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -trimpath \
    -ldflags=-s -o "$scratch/goactor/$name.core.wasm" .)
done
node src/goactor/build.mjs "$here" "$scratch" "${names[@]}"
