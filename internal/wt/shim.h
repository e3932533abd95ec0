// shim.h: the C helpers of package wt (see shim.c).
#ifndef AIRSSYS_SHIM_H
#define AIRSSYS_SHIM_H

#include <stdatomic.h>
#include <stdlib.h>

#include "wt.h"

enum { AW_STOP_TIMEOUT = 1, AW_STOP_CANCELLED = 2 };

// Per-store state, allocated in C and owned by one Go Store. Wasmtime keeps
// a pointer to it as the store's data and as the epoch callback's env.
#define AW_DROP_QUEUE 64

typedef struct aw_store_state {
  atomic_int interrupt; // set from any goroutine to stop the running guest
  int reason;           // why the epoch callback stopped the guest (AW_STOP_*)
  int host_failed;      // a host function failed during the current call
  int64_t deadline_ns;  // CLOCK_MONOTONIC deadline of the current call, 0 = none
  int64_t mem_limit;    // bytes of linear memory, all the store's memories together (our memory creator), 0 = none
  int64_t mem_used;     // bytes of linear memory the store's memories hold now
  int mem_limit_hit;    // a memory.grow was refused by mem_limit during the current call
  uintptr_t go_handle;  // cgo.Handle of the Go-side store
  // Host resources the guest dropped, queued by the destructor for the Go
  // side to forget (Store.drainDrops) at the guest's next host call or
  // when the call returns: a drop costs no callback into Go unless the
  // queue is full.
  uint32_t drop_rep[AW_DROP_QUEUE];
  uint32_t drop_ty[AW_DROP_QUEUE];
  int ndrops;
} aw_store_state;

// Engine settings, applied in one call.
typedef struct {
  int fuel, epoch, pooling, opt_level;
  uint64_t memory_reservation, memory_guard, max_wasm_stack, pool_max_memory;
  uint32_t pool_instances;
  long max_memories; // our memory creator: live memories allowed (0: no limit)
} aw_engine_opts;
wasm_engine_t *aw_engine_new(const aw_engine_opts *o);

aw_store_state *aw_state_new(uintptr_t go_handle);
void aw_state_free(aw_store_state *s);
void aw_state_interrupt(aw_store_state *s);
void aw_state_reset_interrupt(aw_store_state *s);

// The env of a host function given to Wasmtime: the cgo.Handle of the Go
// function and two references, one held by Wasmtime (dropped by the
// finalizer) and one by the Go code that defines the function (dropped by
// aw_func_env_defined). Whoever drops the last one deletes the handle, so
// it is deleted exactly once whether or not Wasmtime ran the finalizer when
// a definition failed.
typedef struct aw_func_env {
  uintptr_t handle;
  atomic_int refs;
  uint32_t tag; // a host resource type's id, for its destructor
} aw_func_env;
aw_func_env *aw_func_env_new(uintptr_t handle);
wasm_functype_t *aw_functype_new(const uint8_t *params, size_t np, const uint8_t *results, size_t nr);
void aw_func_env_defined(aw_func_env *e, int ok);
void aw_store_watch_epoch(wasmtime_store_t *st, aw_store_state *s);
void aw_config_memory_creator(wasm_config_t *c, long max_memories);
long aw_live_memories(void);
size_t aw_default_thread_stack(void);
size_t aw_malloc_in_use(void);

wasmtime_error_t *aw_component_instantiate(const wasmtime_component_linker_t *l, wasmtime_context_t *cx,
                                           aw_store_state *s, const wasmtime_component_t *c,
                                           wasmtime_component_instance_t *out, uint64_t fuel, int64_t timeout_ns,
                                           int epoch);
wasmtime_error_t *aw_component_call(wasmtime_context_t *cx, aw_store_state *s, const wasmtime_component_func_t *f,
                                    const wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *res,
                                    size_t nres, uint64_t fuel, int64_t timeout_ns, int epoch);
void aw_component_vals_delete(wasmtime_component_val_t *v, size_t n);
wasmtime_error_t *aw_module_instantiate(const wasmtime_linker_t *l, wasmtime_context_t *cx, aw_store_state *s,
                                        const wasmtime_module_t *m, wasmtime_instance_t *out, wasm_trap_t **trap,
                                        uint64_t fuel, int64_t timeout_ns, int epoch);
wasmtime_error_t *aw_module_call(wasmtime_context_t *cx, aw_store_state *s, const wasmtime_func_t *f,
                                 const wasmtime_val_t *args, size_t nargs, wasmtime_val_t *res, size_t nres,
                                 wasm_trap_t **trap, uint64_t fuel, int64_t timeout_ns, int epoch);
int aw_error_trap_code(const wasmtime_error_t *e, uint8_t *code);
wasmtime_error_t *aw_component_add_func(wasmtime_component_linker_instance_t *li, const char *name, size_t len,
                                        aw_func_env *env);
wasmtime_error_t *aw_module_add_func(wasmtime_linker_t *l, const char *mod, size_t modlen, const char *name,
                                     size_t len, const wasm_functype_t *ty, aw_func_env *env);
// aw_host_result_bytes writes a host function's result straight into
// memory Wasmtime owns: n bytes from p as a string (as_string) or a
// list<u8>, wrapped in ok(...) of a result (wrap 1), some(...) of an option
// (wrap 2), ok(some(...)) (wrap 3), or not at all (wrap 0). vk_* are the value kinds to use.
void aw_host_result_bytes(wasmtime_component_val_t *res, const uint8_t *p, size_t n, int as_string,
                          uint8_t vk_inner, uint8_t vk_u8, uint8_t vk_wrap, int wrap, uint8_t vk_option);
// Host resources. aw_component_add_resource defines resource type ty in li,
// its destructor calling Go through env (like a host function's).
wasmtime_error_t *aw_component_add_resource(wasmtime_component_linker_instance_t *li, const char *name, size_t len,
                                            uint32_t ty, aw_func_env *env);
// aw_resource_host_get reads a handle's rep, type and ownership: 1 when it
// is a host resource, 0 when it is a guest's.
int aw_resource_host_get(wasmtime_context_t *cx, const wasmtime_component_resource_any_t *r, uint32_t *rep,
                         uint32_t *ty, int *owned);
// aw_resource_host_own makes an own handle of host resource (rep, ty); NULL
// with *err set on failure.
wasmtime_component_resource_any_t *aw_resource_host_own(wasmtime_context_t *cx, uint32_t rep, uint32_t ty,
                                                        wasmtime_error_t **err);
wasmtime_error_t *aw_resource_drop(wasmtime_context_t *cx, aw_store_state *s,
                                   const wasmtime_component_resource_any_t *r, uint64_t fuel, int64_t timeout_ns,
                                   int epoch);

#endif
