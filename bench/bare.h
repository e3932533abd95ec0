// bare.h: the bare C API baseline of the benchmarks. Each helper does one
// operation straight on Wasmtime's C API (declared in our own
// internal/wt/wt.h), so that Go pays one cgo transition per operation and
// nothing else.
#ifndef AIRSSYS_BENCH_BARE_H
#define AIRSSYS_BENCH_BARE_H

#include <stdint.h>

#include "wt.h"

// Value kinds of wasmtime_component_val_t that the baseline uses.
enum { BARE_VK_U8 = 2, BARE_VK_S32 = 5, BARE_VK_U32 = 6, BARE_VK_STRING = 12, BARE_VK_LIST = 13 };

// Engine flavours.
enum {
  BARE_ENGINE_DEFAULT = 0,       // wasm_engine_new(): Wasmtime's defaults
  BARE_ENGINE_SAME_FLAGS = 1,    // the flags engine.New(engine.Config{}) sets
  BARE_ENGINE_SAME_NO_EPOCH = 2, // the same, with epoch interruption off
};

wasm_engine_t *bare_engine_new(int flavour);

// A store plus one component instance in it.
typedef struct {
  wasmtime_store_t *store;
  wasmtime_context_t *cx;
  wasmtime_component_instance_t inst;
} bare_instance;

wasmtime_component_linker_t *bare_linker_new(wasm_engine_t *e, int with_host);
wasmtime_error_t *bare_instantiate(wasm_engine_t *e, const wasmtime_component_linker_t *l,
                                   const wasmtime_component_t *c, int epoch, bare_instance *out);
void bare_instance_delete(bare_instance *i);
int bare_func(bare_instance *i, const wasmtime_component_t *c, const char *name, size_t len,
              wasmtime_component_func_t *out);

// Calls with post-return. The 32-bit result goes to *out.
wasmtime_error_t *bare_call_ret32(wasmtime_context_t *cx, const wasmtime_component_func_t *f, uint32_t *out);
wasmtime_error_t *bare_call_u32_ret32(wasmtime_context_t *cx, const wasmtime_component_func_t *f, uint32_t arg,
                                      uint32_t *out);
// echo-string: passes s (n bytes), copies the result (at most cap bytes)
// into out and its length into *outlen, then frees the result.
wasmtime_error_t *bare_call_echo(wasmtime_context_t *cx, const wasmtime_component_func_t *f, const uint8_t *s,
                                 size_t n, uint8_t *out, size_t cap, size_t *outlen);
// echo-bytes: the same through list<u8>, one value per byte each way (the
// C API has no other way to pass a list). vals is scratch room for n values.
wasmtime_error_t *bare_call_echo_bytes(wasmtime_context_t *cx, const wasmtime_component_func_t *f,
                                       const uint8_t *s, size_t n, wasmtime_component_val_t *vals, uint8_t *out,
                                       size_t cap, size_t *outlen);

#endif
