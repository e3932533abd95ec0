// shim.c: small C helpers that keep each host->guest call to one cgo
// transition and give Wasmtime C callbacks that forward to Go.
#include "shim.h"
#include "_cgo_export.h"

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int64_t aw_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

wasm_engine_t *aw_engine_new(const aw_engine_opts *o) {
  wasm_config_t *c = wasm_config_new();
  wasmtime_config_wasm_component_model_set(c, true);
  wasmtime_config_consume_fuel_set(c, o->fuel != 0);
  wasmtime_config_epoch_interruption_set(c, o->epoch != 0);
  if (o->memory_reservation) wasmtime_config_memory_reservation_set(c, o->memory_reservation);
  if (o->memory_guard) wasmtime_config_memory_guard_size_set(c, o->memory_guard);
  if (o->max_wasm_stack) wasmtime_config_max_wasm_stack_set(c, (size_t)o->max_wasm_stack);
  if (o->opt_level >= 0 && o->opt_level <= 2) wasmtime_config_cranelift_opt_level_set(c, (uint8_t)o->opt_level);
  if (o->pooling) {
    wasmtime_pooling_allocation_config_t *pc = wasmtime_pooling_allocation_config_new();
    uint32_t n = o->pool_instances;
    wasmtime_pooling_allocation_config_total_component_instances_set(pc, n);
    wasmtime_pooling_allocation_config_total_core_instances_set(pc, n * 4);
    wasmtime_pooling_allocation_config_total_memories_set(pc, n * 2);
    wasmtime_pooling_allocation_config_total_tables_set(pc, n * 4);
    wasmtime_pooling_allocation_config_total_stacks_set(pc, n);
    if (o->pool_max_memory) wasmtime_pooling_allocation_config_max_memory_size_set(pc, (size_t)o->pool_max_memory);
    wasmtime_pooling_allocation_strategy_set(c, pc);
    wasmtime_pooling_allocation_config_delete(pc);
  } else {
    // Our own linear memories enforce the per-store limit and report hits;
    // copy-on-write images need Wasmtime's own memories, so they are off.
    wasmtime_config_memory_init_cow_set(c, false);
    aw_config_memory_creator(c, o->max_memories);
  }
  return wasm_engine_new_with_config(c); // takes c
}

// The C heap in use: malloc'd chunks and mmapped blocks (Wasmtime allocates
// through malloc too). For leak checks.
size_t aw_malloc_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// The stack size of threads the Go runtime creates (it uses the default
// attributes): guest code runs on them, inside cgo calls.
size_t aw_default_thread_stack(void) {
  pthread_attr_t a;
  size_t size = 0;
  if (pthread_attr_init(&a) != 0) return 0;
  if (pthread_attr_getstacksize(&a, &size) != 0) size = 0;
  pthread_attr_destroy(&a);
  return size;
}

aw_store_state *aw_state_new(uintptr_t go_handle) {
  aw_store_state *s = calloc(1, sizeof *s);
  if (s) s->go_handle = go_handle;
  return s;
}

void aw_state_free(aw_store_state *s) { free(s); }

void aw_state_interrupt(aw_store_state *s) { atomic_store(&s->interrupt, 1); }

void aw_state_reset_interrupt(aw_store_state *s) { atomic_store(&s->interrupt, 0); }

// Called by Wasmtime each time the store's epoch deadline passes while guest
// code runs (the engine ticks the epoch from a Go goroutine).
static wasmtime_error_t *aw_epoch_cb(wasmtime_context_t *cx, void *env, uint64_t *delta, uint8_t *kind) {
  (void)cx;
  aw_store_state *s = env;
  if (atomic_load(&s->interrupt)) {
    s->reason = AW_STOP_CANCELLED;
    return wasmtime_error_new("airssys: guest interrupted: call cancelled");
  }
  if (s->deadline_ns > 0 && aw_now_ns() >= s->deadline_ns) {
    s->reason = AW_STOP_TIMEOUT;
    return wasmtime_error_new("airssys: guest interrupted: call timed out");
  }
  *delta = 1;
  *kind = 0;
  return NULL;
}

void aw_store_watch_epoch(wasmtime_store_t *st, aw_store_state *s) {
  wasmtime_store_epoch_deadline_callback(st, aw_epoch_cb, s, NULL);
}

// ---- linear memories --------------------------------------------------------
// The engine creates every (non-pooled) linear memory through these
// callbacks, so a per-store byte limit can be enforced and, unlike with
// Wasmtime's store limiter, we learn that a guest hit it.

// The store being instantiated or called on this thread: memories created
// during instantiation attach to it.
static _Thread_local aw_store_state *aw_current;

// Live linear memories made by our creator, in the whole process: each
// holds two kernel mappings (the reserved range and its accessible part),
// and the kernel's limit on mappings (vm.max_map_count) is per process,
// shared by every engine. Past it, mmap fails anywhere in the process
// (Wasmtime, malloc, the Go runtime) and the process dies; so each engine
// refuses new memories before that (aw_mem_env.max_memories).
static atomic_long aw_mem_live;

long aw_live_memories(void) { return atomic_load(&aw_mem_live); }

// Serialises the address-space check with the reservation it allows.
static pthread_mutex_t aw_reserve_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
  long max_memories; // 0: no limit
} aw_mem_env;

typedef struct {
  uint8_t *base;
  size_t size;     // accessible bytes
  size_t capacity; // reserved bytes (not counting the guard)
  size_t mapped;   // whole mapping, guard included
  size_t maximum;  // from the memory type
  aw_store_state *state;
} aw_memory;

static uint8_t *aw_mem_get(void *env, size_t *size, size_t *cap) {
  aw_memory *m = env;
  *size = m->size;
  *cap = m->capacity;
  return m->base;
}

// aw_mem_take accounts for delta more bytes of linear memory in the store:
// the limit is for all the store's memories together (a component may hold
// many core modules, each with memories of its own). Memories, their growth
// and their finalizers all run on the thread that uses the store.
static int aw_mem_take(aw_store_state *s, size_t delta) {
  if (!s) return 1;
  if (s->mem_limit > 0 && (uint64_t)s->mem_used + delta > (uint64_t)s->mem_limit) {
    s->mem_limit_hit = 1;
    return 0;
  }
  s->mem_used += (int64_t)delta;
  return 1;
}

static wasmtime_error_t *aw_mem_grow(void *env, size_t new_size) {
  aw_memory *m = env;
  if (new_size <= m->size) return NULL;
  if (new_size > m->maximum) return wasmtime_error_new("airssys: memory maximum reached");
  if (new_size > m->capacity) {
    // The reservation (Config.MemoryReservation) is as far as a memory that
    // never moves can grow: to the guest, the host is out of memory.
    if (m->state) m->state->mem_limit_hit = 1;
    return wasmtime_error_new("airssys: memory reservation exhausted");
  }
  if (!aw_mem_take(m->state, new_size - m->size)) return wasmtime_error_new("airssys: linear memory limit reached");
  if (mprotect(m->base, new_size, PROT_READ | PROT_WRITE) != 0) {
    if (m->state) m->state->mem_used -= (int64_t)(new_size - m->size);
    return wasmtime_error_new("airssys: mprotect failed");
  }
  m->size = new_size;
  return NULL;
}

static void aw_mem_free(void *env) {
  aw_memory *m = env;
  if (m->state) m->state->mem_used -= (int64_t)m->size;
  if (m->base) munmap(m->base, m->mapped);
  free(m);
  atomic_fetch_sub(&aw_mem_live, 1);
}

// aw_address_room reports whether `want` more bytes of address space can be
// reserved under the address-space limit `limit` while leaving room for the
// rest of the process.
static int aw_address_room(size_t want, uint64_t limit) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0; // cannot tell (out of descriptors?): refuse rather than guess
  unsigned long pages = 0;
  int ok = fscanf(f, "%lu", &pages) == 1;
  fclose(f);
  if (!ok) return 0;
  uint64_t used = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
  // Room for the Go heap, malloc, compiled code and thread stacks.
  uint64_t headroom = limit / 8;
  if (headroom < ((uint64_t)512 << 20)) headroom = (uint64_t)512 << 20;
  return used + want + headroom <= limit;
}

static wasmtime_error_t *aw_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static wasmtime_error_t *aw_errorf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return wasmtime_error_new(buf);
}

static wasmtime_error_t *aw_mem_new(void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
                                    size_t reserved, size_t guard, wasmtime_linear_memory_t *out) {
  (void)ty;
  aw_mem_env *me = env;
  aw_store_state *s = aw_current;
  if (!aw_mem_take(s, minimum))
    return wasmtime_error_new("airssys: memory minimum size exceeds the instance's memory limit");
  // Reserve what Wasmtime asks for (Config.MemoryReservation: compiled code
  // relies on it, and such a memory never moves, so it is also the most it
  // can grow to). Only when Wasmtime asks for no reservation (a memory that
  // may move) do we choose: room for every size up to the type's maximum,
  // capped at 4 GiB (all a 32-bit memory can address).
  size_t cap = reserved;
  if (cap == 0) {
    cap = (size_t)4 << 30;
    if (maximum < cap) cap = maximum;
  }
  if (cap < minimum) cap = minimum;
  size_t total = cap + guard;
  long live = atomic_fetch_add(&aw_mem_live, 1) + 1;
  if (me && me->max_memories > 0 && live > me->max_memories) {
    atomic_fetch_sub(&aw_mem_live, 1);
    if (s) s->mem_used -= (int64_t)minimum;
    return aw_errorf("airssys: cannot create a linear memory: %ld are live, the limit (Config.MaxMemories, "
                     "from the kernel's vm.max_map_count) is %ld",
                     live - 1, me->max_memories);
  }
  // The room check and the reservation are one step, so concurrent
  // instantiations cannot each pass the check and together eat the headroom.
  // (Without an address-space limit, there is nothing to check.)
  struct rlimit rl;
  int limited = getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
  if (limited) pthread_mutex_lock(&aw_reserve_mu);
  int room = !limited || aw_address_room(total, rl.rlim_cur);
  void *base = room ? mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) : MAP_FAILED;
  if (limited) pthread_mutex_unlock(&aw_reserve_mu);
  if (!room) {
    atomic_fetch_sub(&aw_mem_live, 1);
    if (s) s->mem_used -= (int64_t)minimum;
    return aw_errorf("airssys: cannot reserve %zu MiB of address space for a linear memory: the process's "
                     "address space limit (RLIMIT_AS) would be reached (lower Config.MemoryReservation)",
                     total >> 20);
  }
  if (base == MAP_FAILED) {
    atomic_fetch_sub(&aw_mem_live, 1);
    if (s) s->mem_used -= (int64_t)minimum;
    return aw_errorf("airssys: cannot reserve %zu MiB of address space for a linear memory", total >> 20);
  }
  if (minimum > 0 && mprotect(base, minimum, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, total);
    atomic_fetch_sub(&aw_mem_live, 1);
    if (s) s->mem_used -= (int64_t)minimum;
    return wasmtime_error_new("airssys: cannot commit linear memory");
  }
  aw_memory *m = calloc(1, sizeof *m);
  if (!m) {
    munmap(base, total);
    atomic_fetch_sub(&aw_mem_live, 1);
    if (s) s->mem_used -= (int64_t)minimum;
    return wasmtime_error_new("airssys: out of memory");
  }
  m->base = base;
  m->size = minimum;
  m->capacity = cap;
  m->mapped = total;
  m->maximum = maximum;
  m->state = s;
  out->env = m;
  out->get_memory = aw_mem_get;
  out->grow_memory = aw_mem_grow;
  out->finalizer = aw_mem_free;
  return NULL;
}

void aw_config_memory_creator(wasm_config_t *c, long max_memories) {
  aw_mem_env *me = calloc(1, sizeof *me);
  if (me) me->max_memories = max_memories;
  wasmtime_memory_creator_t mc = {me, aw_mem_new, free};
  wasmtime_config_host_memory_creator_set(c, &mc);
}

static wasmtime_error_t *aw_prepare(wasmtime_context_t *cx, aw_store_state *s, uint64_t fuel, int64_t timeout_ns,
                                    int epoch) {
  s->reason = 0;
  s->host_failed = 0;
  s->mem_limit_hit = 0;
  if (fuel) {
    wasmtime_error_t *err = wasmtime_context_set_fuel(cx, fuel);
    if (err) return err;
  }
  if (epoch) {
    s->deadline_ns = timeout_ns > 0 ? aw_now_ns() + timeout_ns : 0;
    wasmtime_context_set_epoch_deadline(cx, 1);
  }
  return NULL;
}

wasmtime_error_t *aw_component_instantiate(const wasmtime_component_linker_t *l, wasmtime_context_t *cx,
                                           aw_store_state *s, const wasmtime_component_t *c,
                                           wasmtime_component_instance_t *out, uint64_t fuel, int64_t timeout_ns,
                                           int epoch) {
  wasmtime_error_t *err = aw_prepare(cx, s, fuel, timeout_ns, epoch);
  if (err) return err;
  // Save and restore: a host function may instantiate another store while
  // this one is being instantiated, and memories created after it returns
  // must still attach to this store.
  aw_store_state *prev = aw_current;
  aw_current = s;
  err = wasmtime_component_linker_instantiate(l, cx, c, out);
  aw_current = prev;
  return err;
}

wasmtime_error_t *aw_component_call(wasmtime_context_t *cx, aw_store_state *s, const wasmtime_component_func_t *f,
                                    const wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *res,
                                    size_t nres, uint64_t fuel, int64_t timeout_ns, int epoch) {
  wasmtime_error_t *err = aw_prepare(cx, s, fuel, timeout_ns, epoch);
  if (err) return err;
  // Wasmtime overwrites (and so drops) whatever the result slots hold.
  memset(res, 0, nres * sizeof *res);
  err = wasmtime_component_func_call(f, cx, args, nargs, res, nres);
  if (err) return err;
  err = wasmtime_component_func_post_return(f, cx);
  // The results are ours to free; when post-return fails (out of fuel, a
  // timeout) the caller discards them, so free them here.
  if (err) aw_component_vals_delete(res, nres);
  return err;
}

wasmtime_error_t *aw_resource_drop(wasmtime_context_t *cx, aw_store_state *s,
                                   const wasmtime_component_resource_any_t *r, uint64_t fuel, int64_t timeout_ns,
                                   int epoch) {
  wasmtime_error_t *err = aw_prepare(cx, s, fuel, timeout_ns, epoch);
  if (err) return err;
  return wasmtime_component_resource_any_drop(cx, r);
}

void aw_component_vals_delete(wasmtime_component_val_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) wasmtime_component_val_delete(&v[i]);
}

wasmtime_error_t *aw_module_instantiate(const wasmtime_linker_t *l, wasmtime_context_t *cx, aw_store_state *s,
                                        const wasmtime_module_t *m, wasmtime_instance_t *out, wasm_trap_t **trap,
                                        uint64_t fuel, int64_t timeout_ns, int epoch) {
  wasmtime_error_t *err = aw_prepare(cx, s, fuel, timeout_ns, epoch);
  if (err) return err;
  aw_store_state *prev = aw_current;
  aw_current = s;
  err = wasmtime_linker_instantiate(l, cx, m, out, trap);
  aw_current = prev;
  return err;
}

wasmtime_error_t *aw_module_call(wasmtime_context_t *cx, aw_store_state *s, const wasmtime_func_t *f,
                                 const wasmtime_val_t *args, size_t nargs, wasmtime_val_t *res, size_t nres,
                                 wasm_trap_t **trap, uint64_t fuel, int64_t timeout_ns, int epoch) {
  wasmtime_error_t *err = aw_prepare(cx, s, fuel, timeout_ns, epoch);
  if (err) return err;
  return wasmtime_func_call(cx, f, args, nargs, res, nres, trap);
}

int aw_error_trap_code(const wasmtime_error_t *e, uint8_t *code) {
  // A wasmtime_error_t and a wasm_trap_t are both a single boxed error value
  // in the C API's implementation; the trap-code query only inspects it.
  return wasmtime_trap_code((const wasm_trap_t *)e, code) ? 1 : 0;
}

// ---- callbacks into Go -------------------------------------------------------

static wasmtime_error_t *aw_component_host_tramp(void *env, wasmtime_context_t *cx,
                                                 const wasmtime_component_func_type_t *ty,
                                                 wasmtime_component_val_t *args, size_t nargs,
                                                 wasmtime_component_val_t *res, size_t nres) {
  (void)ty;
  aw_store_state *s = wasmtime_context_get_data(cx);
  return awGoComponentHostCall(((aw_func_env *)env)->handle, s ? s->go_handle : 0, args, nargs, res, nres);
}

static wasm_trap_t *aw_module_host_tramp(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args,
                                         size_t nargs, wasmtime_val_t *res, size_t nres) {
  return awGoModuleHostCall(((aw_func_env *)env)->handle, wasmtime_caller_context(caller), (wasmtime_val_t *)args,
                            nargs, res, nres);
}

// aw_valtypes fills out with n value types of the given kinds.
static int aw_valtypes(wasm_valtype_vec_t *out, const uint8_t *kinds, size_t n) {
  if (n == 0) {
    wasm_valtype_vec_new(out, 0, NULL);
    return 1;
  }
  wasm_valtype_t **arr = malloc(n * sizeof *arr);
  if (!arr) return 0;
  for (size_t i = 0; i < n; i++) arr[i] = wasm_valtype_new(kinds[i]);
  wasm_valtype_vec_new(out, n, arr); // copies the pointers, takes the valtypes
  free(arr);
  return 1;
}

// aw_functype_new builds a core function type. The vectors live here, in
// C: an empty one holds a dangling non-null pointer (Rust's empty Vec),
// which the Go runtime refuses to find in a pointer slot of a Go stack.
wasm_functype_t *aw_functype_new(const uint8_t *params, size_t np, const uint8_t *results, size_t nr) {
  wasm_valtype_vec_t p, r;
  if (!aw_valtypes(&p, params, np)) return NULL;
  if (!aw_valtypes(&r, results, nr)) {
    wasm_valtype_vec_delete(&p);
    return NULL;
  }
  return wasm_functype_new(&p, &r); // takes both
}

aw_func_env *aw_func_env_new(uintptr_t handle) {
  aw_func_env *e = malloc(sizeof *e);
  if (!e) return NULL;
  e->handle = handle;
  atomic_init(&e->refs, 2);
  return e;
}

static void aw_func_env_unref(aw_func_env *e) {
  if (atomic_fetch_sub(&e->refs, 1) == 1) {
    awGoDeleteHandle(e->handle);
    free(e);
  }
}

// Wasmtime's finalizer: it may run on any thread, once the linker and every
// store that holds the function are gone.
static void aw_func_env_finalizer(void *env) { aw_func_env_unref(env); }

void aw_func_env_defined(aw_func_env *e, int ok) {
  // A failed definition never calls the finalizer later: it has run already
  // (refs is 1) or never will (refs is 2, so drop Wasmtime's reference too).
  if (!ok && atomic_load(&e->refs) == 2) aw_func_env_unref(e);
  aw_func_env_unref(e);
}

wasmtime_error_t *aw_component_add_func(wasmtime_component_linker_instance_t *li, const char *name, size_t len,
                                        aw_func_env *env) {
  return wasmtime_component_linker_instance_add_func(li, name, len, aw_component_host_tramp, env,
                                                     aw_func_env_finalizer);
}

wasmtime_error_t *aw_module_add_func(wasmtime_linker_t *l, const char *mod, size_t modlen, const char *name,
                                     size_t len, const wasm_functype_t *ty, aw_func_env *env) {
  return wasmtime_linker_define_func(l, mod, modlen, name, len, ty, aw_module_host_tramp, env,
                                     aw_func_env_finalizer);
}

// ---- host-defined resources --------------------------------------------------

static wasmtime_error_t *aw_resource_dtor_tramp(void *env, wasmtime_context_t *cx, uint32_t rep) {
  aw_store_state *s = wasmtime_context_get_data(cx);
  aw_func_env *e = env;
  if (s && s->ndrops < AW_DROP_QUEUE) {
    s->drop_rep[s->ndrops] = rep;
    s->drop_ty[s->ndrops] = e->tag;
    s->ndrops++;
    return NULL;
  }
  return awGoResourceDrop(e->handle, s ? s->go_handle : 0, rep);
}

wasmtime_error_t *aw_component_add_resource(wasmtime_component_linker_instance_t *li, const char *name, size_t len,
                                            uint32_t ty, aw_func_env *env) {
  wasmtime_component_resource_type_t *t = wasmtime_component_resource_type_new_host(ty);
  wasmtime_error_t *err =
      wasmtime_component_linker_instance_add_resource(li, name, len, t, aw_resource_dtor_tramp, env, aw_func_env_finalizer);
  wasmtime_component_resource_type_delete(t);
  return err;
}

int aw_resource_host_get(wasmtime_context_t *cx, const wasmtime_component_resource_any_t *r, uint32_t *rep,
                         uint32_t *ty, int *owned) {
  wasmtime_component_resource_host_t *h = NULL;
  wasmtime_error_t *err = wasmtime_component_resource_any_to_host(cx, r, &h);
  if (err) {
    wasmtime_error_delete(err);
    return 0;
  }
  *rep = wasmtime_component_resource_host_rep(h);
  *ty = wasmtime_component_resource_host_type(h);
  *owned = wasmtime_component_resource_any_owned(r);
  wasmtime_component_resource_host_delete(h);
  return 1;
}

wasmtime_component_resource_any_t *aw_resource_host_own(wasmtime_context_t *cx, uint32_t rep, uint32_t ty,
                                                        wasmtime_error_t **err) {
  // Only own: a borrow made here, outside a host call, makes Wasmtime
  // abort the process when it is converted (v39).
  wasmtime_component_resource_host_t *h = wasmtime_component_resource_host_new(true, rep, ty);
  wasmtime_component_resource_any_t *out = NULL;
  *err = wasmtime_component_resource_host_to_any(cx, h, &out);
  wasmtime_component_resource_host_delete(h);
  return *err ? NULL : out;
}

void aw_host_result_bytes(wasmtime_component_val_t *res, const uint8_t *p, size_t n, int as_string,
                          uint8_t vk_inner, uint8_t vk_u8, uint8_t vk_wrap, int wrap, uint8_t vk_option) {
  static const uint8_t none;
  if (!p) p = &none; // never a null pointer into Wasmtime, even for 0 bytes
  wasmtime_component_val_t v;
  memset(&v, 0, sizeof v);
  v.kind = vk_inner;
  if (as_string) {
    wasm_byte_vec_new(&v.of.string, n, p);
  } else {
    wasmtime_component_vallist_new_uninit(&v.of.list, n);
    for (size_t i = 0; i < n; i++) {
      v.of.list.data[i].kind = vk_u8;
      v.of.list.data[i].of.u8 = p[i];
    }
  }
  if (!wrap) {
    *res = v;
    return;
  }
  res->kind = vk_wrap;
  if (wrap == 3) { // ok(some(v))
    wasmtime_component_val_t opt;
    memset(&opt, 0, sizeof opt);
    opt.kind = vk_option;
    opt.of.option = wasmtime_component_val_new(&v);
    res->of.result.is_ok = true;
    res->of.result.val = wasmtime_component_val_new(&opt);
  } else if (wrap == 1) {
    res->of.result.is_ok = true;
    res->of.result.val = wasmtime_component_val_new(&v);
  } else {
    res->of.option = wasmtime_component_val_new(&v);
  }
}
