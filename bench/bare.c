// bare.c: see bare.h.
#include "bare.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

// ---- a minimal host memory creator ---------------------------------------
// engine.New installs a memory creator (it enforces the per-store memory
// limit); the "same flags" baseline installs one of equal shape so that
// engine creation and instantiation are compared like for like.

typedef struct {
  uint8_t *base;
  size_t size, capacity, mapped;
} bare_mem;

static uint8_t *bare_mem_get(void *env, size_t *size, size_t *cap) {
  bare_mem *m = env;
  *size = m->size;
  *cap = m->capacity;
  return m->base;
}

static wasmtime_error_t *bare_mem_grow(void *env, size_t n) {
  bare_mem *m = env;
  if (n <= m->size) return NULL;
  if (n > m->capacity) return wasmtime_error_new("bare: memory reservation exhausted");
  if (mprotect(m->base, n, PROT_READ | PROT_WRITE) != 0) return wasmtime_error_new("bare: mprotect failed");
  m->size = n;
  return NULL;
}

static void bare_mem_free(void *env) {
  bare_mem *m = env;
  munmap(m->base, m->mapped);
  free(m);
}

static wasmtime_error_t *bare_mem_new(void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
                                      size_t reserved, size_t guard, wasmtime_linear_memory_t *out) {
  (void)env;
  (void)ty;
  (void)maximum;
  size_t cap = reserved ? reserved : (size_t)4 << 30;
  if (cap < minimum) cap = minimum;
  void *base = mmap(NULL, cap + guard, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return wasmtime_error_new("bare: mmap failed");
  if (minimum && mprotect(base, minimum, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, cap + guard);
    return wasmtime_error_new("bare: mprotect failed");
  }
  bare_mem *m = malloc(sizeof *m);
  m->base = base;
  m->size = minimum;
  m->capacity = cap;
  m->mapped = cap + guard;
  out->env = m;
  out->get_memory = bare_mem_get;
  out->grow_memory = bare_mem_grow;
  out->finalizer = bare_mem_free;
  return NULL;
}

// ---- engine ------------------------------------------------------------------

wasm_engine_t *bare_engine_new(int flavour) {
  if (flavour == BARE_ENGINE_DEFAULT) return wasm_engine_new();
  wasm_config_t *c = wasm_config_new();
  wasmtime_config_wasm_component_model_set(c, true);
  wasmtime_config_consume_fuel_set(c, false);
  wasmtime_config_epoch_interruption_set(c, flavour == BARE_ENGINE_SAME_FLAGS);
  wasmtime_config_cranelift_opt_level_set(c, 1); // speed
  wasmtime_config_memory_init_cow_set(c, false);
  wasmtime_memory_creator_t mc = {NULL, bare_mem_new, NULL};
  wasmtime_config_host_memory_creator_set(c, &mc);
  return wasm_engine_new_with_config(c);
}

// ---- host functions (the C callbacks of the host-call baseline) --------------

static wasmtime_error_t *bare_host_get(void *env, wasmtime_context_t *cx, const wasmtime_component_func_type_t *ty,
                                       wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *res,
                                       size_t nres) {
  (void)env, (void)cx, (void)ty, (void)args, (void)nargs, (void)nres;
  res[0].kind = BARE_VK_S32;
  res[0].of.s32 = 41;
  return NULL;
}

static wasmtime_error_t *bare_host_log(void *env, wasmtime_context_t *cx, const wasmtime_component_func_type_t *ty,
                                       wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *res,
                                       size_t nres) {
  (void)env, (void)cx, (void)ty, (void)args, (void)nargs, (void)res, (void)nres;
  return NULL;
}

wasmtime_component_linker_t *bare_linker_new(wasm_engine_t *e, int with_host) {
  wasmtime_component_linker_t *l = wasmtime_component_linker_new(e);
  if (!with_host) return l;
  static const char iface[] = "airssys:test/host@0.1.0";
  wasmtime_component_linker_instance_t *root = wasmtime_component_linker_root(l);
  wasmtime_component_linker_instance_t *li = NULL;
  wasmtime_error_t *err = wasmtime_component_linker_instance_add_instance(root, iface, sizeof iface - 1, &li);
  wasmtime_component_linker_instance_delete(root);
  if (err == NULL) err = wasmtime_component_linker_instance_add_func(li, "get", 3, bare_host_get, NULL, NULL);
  if (err == NULL) err = wasmtime_component_linker_instance_add_func(li, "log", 3, bare_host_log, NULL, NULL);
  if (li) wasmtime_component_linker_instance_delete(li);
  if (err) {
    wasmtime_error_delete(err);
    wasmtime_component_linker_delete(l);
    return NULL;
  }
  return l;
}

// ---- instances and calls ---------------------------------------------------------

wasmtime_error_t *bare_instantiate(wasm_engine_t *e, const wasmtime_component_linker_t *l,
                                   const wasmtime_component_t *c, int epoch, bare_instance *out) {
  out->store = wasmtime_store_new(e, NULL, NULL);
  out->cx = wasmtime_store_context(out->store);
  // With epoch interruption on, a deadline of 0 ticks would stop the guest
  // at its first check; nobody advances the bare engine's epoch, so one
  // tick means "never".
  if (epoch) wasmtime_context_set_epoch_deadline(out->cx, 1);
  wasmtime_error_t *err = wasmtime_component_linker_instantiate(l, out->cx, c, &out->inst);
  if (err) {
    wasmtime_store_delete(out->store);
    out->store = NULL;
    out->cx = NULL;
  }
  return err;
}

void bare_instance_delete(bare_instance *i) {
  if (i->store) wasmtime_store_delete(i->store);
  i->store = NULL;
  i->cx = NULL;
}

int bare_func(bare_instance *i, const wasmtime_component_t *c, const char *name, size_t len,
              wasmtime_component_func_t *out) {
  wasmtime_component_export_index_t *idx = wasmtime_component_get_export_index(c, NULL, name, len);
  if (!idx) return 0;
  bool ok = wasmtime_component_instance_get_func(&i->inst, i->cx, idx, out);
  wasmtime_component_export_index_delete(idx);
  return ok;
}

wasmtime_error_t *bare_call_ret32(wasmtime_context_t *cx, const wasmtime_component_func_t *f, uint32_t *out) {
  wasmtime_component_val_t res;
  memset(&res, 0, sizeof res);
  wasmtime_error_t *err = wasmtime_component_func_call(f, cx, NULL, 0, &res, 1);
  if (err) return err;
  *out = res.of.u32;
  return wasmtime_component_func_post_return(f, cx);
}

wasmtime_error_t *bare_call_u32_ret32(wasmtime_context_t *cx, const wasmtime_component_func_t *f, uint32_t arg,
                                      uint32_t *out) {
  wasmtime_component_val_t a, res;
  memset(&res, 0, sizeof res);
  a.kind = BARE_VK_U32;
  a.of.u32 = arg;
  wasmtime_error_t *err = wasmtime_component_func_call(f, cx, &a, 1, &res, 1);
  if (err) return err;
  *out = res.of.u32;
  return wasmtime_component_func_post_return(f, cx);
}

wasmtime_error_t *bare_call_echo(wasmtime_context_t *cx, const wasmtime_component_func_t *f, const uint8_t *s,
                                 size_t n, uint8_t *out, size_t cap, size_t *outlen) {
  wasmtime_component_val_t a, res;
  memset(&res, 0, sizeof res);
  a.kind = BARE_VK_STRING;
  a.of.string.size = n;
  a.of.string.data = (uint8_t *)s; // Wasmtime only reads arguments
  wasmtime_error_t *err = wasmtime_component_func_call(f, cx, &a, 1, &res, 1);
  if (err) return err;
  size_t m = res.kind == BARE_VK_STRING ? res.of.string.size : 0;
  if (m > cap) m = cap;
  if (m) memcpy(out, res.of.string.data, m);
  *outlen = m;
  wasmtime_component_val_delete(&res);
  return wasmtime_component_func_post_return(f, cx);
}

wasmtime_error_t *bare_call_echo_bytes(wasmtime_context_t *cx, const wasmtime_component_func_t *f,
                                       const uint8_t *s, size_t n, wasmtime_component_val_t *vals, uint8_t *out,
                                       size_t cap, size_t *outlen) {
  wasmtime_component_val_t a, res;
  memset(&res, 0, sizeof res);
  for (size_t i = 0; i < n; i++) {
    vals[i].kind = BARE_VK_U8;
    vals[i].of.u8 = s[i];
  }
  a.kind = BARE_VK_LIST;
  a.of.list.size = n;
  a.of.list.data = vals; // Wasmtime only reads arguments
  wasmtime_error_t *err = wasmtime_component_func_call(f, cx, &a, 1, &res, 1);
  if (err) return err;
  size_t m = res.kind == BARE_VK_LIST ? res.of.list.size : 0;
  if (m > cap) m = cap;
  for (size_t i = 0; i < m; i++) out[i] = res.of.list.data[i].of.u8;
  *outlen = m;
  wasmtime_component_val_delete(&res);
  return wasmtime_component_func_post_return(f, cx);
}
