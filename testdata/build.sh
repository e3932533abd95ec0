#!/usr/bin/env bash
# Rebuilds every WebAssembly fixture in testdata/ from testdata/src/.
#
# The built *.wasm files are committed, so `go test` never needs this
# script's toolchain. Run it after changing anything under src/:
#
#   bash testdata/build.sh
#
# It installs what it needs: Debian packages (wabt, clang-19, lld-19,
# wasi-libc, libclang-rt-19-dev-wasm32) when missing, and the npm packages
# pinned in tools/package-lock.json (jco, componentize-js) with `npm ci`
# into tools/node_modules. Safe to run again; needs only the Debian and
# npm registries. types.wasm is rebuilt only when its inputs changed (see
# tools/build.mjs); FORCE=1 rebuilds it anyway. The actor components
# (actor_*.wasm and actor2_*.wasm, freestanding C) are built by
# tools/actors.mjs (actor2_kv.wasm too: actor_glue2.c and
# src/actorskv/kv_glue.c with the world src/actorskv/kv-actor.wit).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
start=$SECONDS

log() { printf '>> %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------
apt_pkgs=(wabt clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32)
missing=()
for p in "${apt_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is required" >&2; exit 1; }
done

# --- npm packages (pinned by tools/package-lock.json) --------------------------
# `npm ci` runs only when the lock file changed since the last install.
stamp=tools/node_modules/.airssys-lock.sha256
want="$(sha256sum tools/package-lock.json | cut -d' ' -f1)"
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  log "npm ci (tools/)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# --- core modules (wat2wasm) ---------------------------------------------------
for name in core_minimal core_host core_start_host core_multimem core_table core_grow; do
  log "$name.wasm"
  wat2wasm --debug-names --enable-multi-memory "src/core/$name.wat" -o "$scratch/$name.wasm"
  wasm-validate --enable-multi-memory "$scratch/$name.wasm"
  mv "$scratch/$name.wasm" "$name.wasm"
done

# A core module whose start function traps while instantiating.
log "core_start_trap.wasm"
wat2wasm --debug-names src/core/core_start_trap.wat -o "$scratch/core_start_trap.wasm"
wasm-validate "$scratch/core_start_trap.wasm"
mv "$scratch/core_start_trap.wasm" core_start_trap.wasm

# --- C with wasi-libc (preview1 reactors) ----------------------------------------
# Debian's wasi-libc installs its sysroot under the wasm32-wasi triple, the
# older name of wasm32-wasip1; both produce the same preview1 module.
cflags=(--target=wasm32-wasi -O2 -mexec-model=reactor -Wall -Wextra -Werror
  -Wl,--strip-debug)

log "core_wasi.wasm"
clang-19 "${cflags[@]}" -o "$scratch/core_wasi.wasm" src/core_wasi/core_wasi.c
wasm-validate --enable-all "$scratch/core_wasi.wasm"
chmod 644 "$scratch/core_wasi.wasm"
mv "$scratch/core_wasi.wasm" core_wasi.wasm

log "wasi.core.wasm (input of wasi.wasm)"
clang-19 "${cflags[@]}" -o "$scratch/wasi.core.wasm" src/wasi/wasi.c
wasm-validate --enable-all "$scratch/wasi.core.wasm"

# A WASI command (C main): core_cmd.wasm as is, and the input of cmd.wasm.
cmd_cflags=(--target=wasm32-wasi -O2 -Wall -Wextra -Werror -Wl,--strip-debug)
log "core_cmd.wasm (and the input of cmd.wasm)"
clang-19 "${cmd_cflags[@]}" -o "$scratch/core_cmd.wasm" src/cmd/cmd.c
wasm-validate --enable-all "$scratch/core_cmd.wasm"
chmod 644 "$scratch/core_cmd.wasm"
cp "$scratch/core_cmd.wasm" "$scratch/cmd.core.wasm"
mv "$scratch/core_cmd.wasm" core_cmd.wasm

# --- actor components: freestanding C, no libc, no WASI ---------------------------
# Each src/actors/<name>.c (a behaviour) is linked with actor_glue.c into
# the core module of actor_<name>.wasm. One 64 KiB page of initial memory:
# an 8 KiB stack first (an overflow traps), then static data, then the heap.
actor_cflags=(--target=wasm32 -O2 -ffreestanding -nostdlib -mbulk-memory -Wall -Wextra -Werror
  -Wl,--no-entry -Wl,--strip-debug -Wl,--initial-memory=65536 -Wl,-z,stack-size=8192
  -Wl,--stack-first)
for src in src/actors/*.c; do
  name="$(basename "$src" .c)"
  [[ $name == actor_glue ]] && continue
  log "actor_$name.core.wasm (input of actor_$name.wasm)"
  clang-19 "${actor_cflags[@]}" -o "$scratch/actor_$name.core.wasm" src/actors/actor_glue.c "$src"
  wasm-validate --enable-all "$scratch/actor_$name.core.wasm"
done

# The same for the world airssys:actor/component@0.2.0 (actor2_<name>.wasm):
# the 0.1.0 behaviours listed here, unchanged, and every src/actors2/<name>.c,
# each linked with src/actors2/actor_glue2.c (which implements the API of
# actor_glue.h, and more, for 0.2.0).
actor2_srcs=()
for name in echo counter trapper pingpong agent silent hostile; do
  actor2_srcs+=("src/actors/$name.c")
done
for src in src/actors2/*.c; do
  [[ $(basename "$src" .c) == actor_glue2 ]] && continue
  actor2_srcs+=("$src")
done
for src in "${actor2_srcs[@]}"; do
  name="$(basename "$src" .c)"
  out="$scratch/actor2_$name.core.wasm"
  [[ -e $out ]] && { echo "build.sh: two sources for actor2_$name" >&2; exit 1; }
  log "actor2_$name.core.wasm (input of actor2_$name.wasm)"
  clang-19 "${actor_cflags[@]}" -o "$out" src/actors2/actor_glue2.c "$src"
  wasm-validate --enable-all "$out"
done

# The key-value actor actor2_kv.wasm (world src/actorskv/kv-actor.wit: world
# 0.2.0 plus wasi:keyvalue draft2 and airssys:storage): src/actorskv/kvagent.c
# with actor_glue2.c and src/actorskv/kv_glue.c. Its core module goes in a
# subdirectory so that tools/actors.mjs does not take it for one of the
# actor2_ components of the plain 0.2.0 world.
mkdir -p "$scratch/kv"
log "actor2_kv.core.wasm (input of actor2_kv.wasm)"
clang-19 "${actor_cflags[@]}" -o "$scratch/kv/actor2_kv.core.wasm" src/actors2/actor_glue2.c \
  src/actorskv/kv_glue.c src/actorskv/kvagent.c
wasm-validate --enable-all "$scratch/kv/actor2_kv.core.wasm"

# The demo actors of the host service's example app (src/demo/): the
# counter, built twice from counter.c as demo_counter_v1.wasm (DEMO_VERSION
# 1.0.0) and demo_counter_v2.wasm (1.1.0), and demo_audit.wasm (audit.c),
# each with actor_glue2.c and src/actorskv/kv_glue.c. -Dused=unused turns
# the glue's KEEP (__attribute__((used))) off, so the linker drops the
# wrappers a behaviour never calls and each component imports only what
# it uses; src/demo/build.mjs makes the components and checks those imports.
mkdir -p "$scratch/demo"
demo_glue=(src/actors2/actor_glue2.c src/actorskv/kv_glue.c)
for v in 1:1.0.0 2:1.1.0; do
  log "demo_counter_v${v%%:*}.core.wasm (input of demo_counter_v${v%%:*}.wasm)"
  clang-19 "${actor_cflags[@]}" -Dused=unused -DDEMO_VERSION="\"${v#*:}\"" \
    -o "$scratch/demo/demo_counter_v${v%%:*}.core.wasm" "${demo_glue[@]}" src/demo/counter.c
  wasm-validate --enable-all "$scratch/demo/demo_counter_v${v%%:*}.core.wasm"
done
log "demo_audit.core.wasm (input of demo_audit.wasm)"
clang-19 "${actor_cflags[@]}" -Dused=unused -o "$scratch/demo/demo_audit.core.wasm" "${demo_glue[@]}" \
  src/demo/audit.c
wasm-validate --enable-all "$scratch/demo/demo_audit.core.wasm"

# --- components (jco's wasm-tools, componentize-js) -------------------------------
log "components"
node tools/build.mjs "$here" "$scratch"
node tools/actors.mjs "$here" "$scratch"
node src/demo/build.mjs "$here" "$scratch"
node tools/cmd.mjs "$here" "$scratch"
# kvdraft.wasm: wasi:keyvalue 0.2.0-draft from freestanding C (src/kvdraft).
clang-19 --target=wasm32 -O2 -ffreestanding -nostdlib -Wall -Wextra -Werror -Wl,--no-entry -Wl,--strip-debug \
  -o "$scratch/kvdraft.core.wasm" src/kvdraft/kvdraft.c
wasm-validate "$scratch/kvdraft.core.wasm"
node tools/kvdraft.mjs "$here" "$scratch"
node tools/jsactor.mjs "$here" "$scratch"

log "done in $((SECONDS - start)) s"
ls -l ./*.wasm >&2

# --- actors in Go (guest package, standard Go toolchain) -------------------------
# Each src/goactor/<name>/ (a main package using ../../../guest) becomes
# goactor_<name>.wasm through the project's own `airssys-wasm build`
# (src/goactor/build.sh): the Go toolchain of this module (GOOS=wasip1
# GOARCH=wasm, c-shared), then wit-component through the jco of
# tools/node_modules with its preview1 reactor adapter (sha256 checked).
command -v go >/dev/null || { echo "build.sh: go is required for src/goactor" >&2; exit 1; }
SCRATCH="$scratch" bash src/goactor/build.sh
ls -l ./goactor_*.wasm >&2
