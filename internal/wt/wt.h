// wt.h: this project's own declarations of the part of Wasmtime's C API
// (v39) that airssys-wasm uses. Written by hand from the API's documented
// signatures and layouts; the static library comes from the wasmtime-go
// module. layout_test.go compares every size and offset with a probe
// compiled against the headers shipped in that module (read, not copied).
#ifndef AIRSSYS_WT_H
#define AIRSSYS_WT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ---- opaque handles --------------------------------------------------------
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasm_config_t wasm_config_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasm_frame_t wasm_frame_t;
typedef struct wasi_config_t wasi_config_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_externtype_t wasm_externtype_t;
typedef struct wasm_importtype_t wasm_importtype_t;
typedef struct wasm_exporttype_t wasm_exporttype_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;
typedef struct wasmtime_pooling_allocation_config_t wasmtime_pooling_allocation_config_t;

typedef struct wasmtime_component_t wasmtime_component_t;
typedef struct wasmtime_component_export_index_t wasmtime_component_export_index_t;
typedef struct wasmtime_component_linker_t wasmtime_component_linker_t;
typedef struct wasmtime_component_linker_instance_t wasmtime_component_linker_instance_t;
typedef struct wasmtime_component_type_t wasmtime_component_type_t;
typedef struct wasmtime_component_instance_type wasmtime_component_instance_type_t;
typedef struct wasmtime_module_type wasmtime_module_type_t;
typedef struct wasmtime_component_func_type_t wasmtime_component_func_type_t;
typedef struct wasmtime_component_resource_type wasmtime_component_resource_type_t;
typedef struct wasmtime_component_resource_any wasmtime_component_resource_any_t;
typedef struct wasmtime_component_list_type wasmtime_component_list_type_t;
typedef struct wasmtime_component_record_type wasmtime_component_record_type_t;
typedef struct wasmtime_component_tuple_type wasmtime_component_tuple_type_t;
typedef struct wasmtime_component_variant_type wasmtime_component_variant_type_t;
typedef struct wasmtime_component_enum_type wasmtime_component_enum_type_t;
typedef struct wasmtime_component_option_type wasmtime_component_option_type_t;
typedef struct wasmtime_component_result_type wasmtime_component_result_type_t;
typedef struct wasmtime_component_flags_type wasmtime_component_flags_type_t;

// ---- vectors ---------------------------------------------------------------
// Every C API vector is {size, data}; a name is a byte vector.
typedef struct { size_t size; uint8_t *data; } wasm_byte_vec_t;
typedef wasm_byte_vec_t wasm_name_t;
typedef struct { size_t size; wasm_frame_t **data; } wasm_frame_vec_t;
typedef struct { size_t size; wasm_valtype_t **data; } wasm_valtype_vec_t;
typedef struct { size_t size; wasm_importtype_t **data; } wasm_importtype_vec_t;
typedef struct { size_t size; wasm_exporttype_t **data; } wasm_exporttype_vec_t;

void wasm_byte_vec_new(wasm_byte_vec_t *out, size_t size, const uint8_t *src);
void wasm_byte_vec_new_uninitialized(wasm_byte_vec_t *out, size_t size);
void wasm_byte_vec_delete(wasm_byte_vec_t *v);
void wasm_frame_vec_delete(wasm_frame_vec_t *v);
void wasm_valtype_vec_new(wasm_valtype_vec_t *out, size_t size, wasm_valtype_t *const *src);
void wasm_valtype_vec_delete(wasm_valtype_vec_t *);
void wasm_importtype_vec_delete(wasm_importtype_vec_t *v);
void wasm_exporttype_vec_delete(wasm_exporttype_vec_t *v);

// ---- config and engine -----------------------------------------------------
wasm_config_t *wasm_config_new(void);
void wasmtime_config_consume_fuel_set(wasm_config_t *, bool);
void wasmtime_config_epoch_interruption_set(wasm_config_t *, bool);
void wasmtime_config_max_wasm_stack_set(wasm_config_t *, size_t);
void wasmtime_config_memory_reservation_set(wasm_config_t *, uint64_t);
void wasmtime_config_memory_guard_size_set(wasm_config_t *, uint64_t);
void wasmtime_config_wasm_component_model_set(wasm_config_t *, bool);
void wasmtime_config_parallel_compilation_set(wasm_config_t *, bool);
void wasmtime_config_cranelift_opt_level_set(wasm_config_t *, uint8_t);
wasmtime_pooling_allocation_config_t *wasmtime_pooling_allocation_config_new(void);
void wasmtime_pooling_allocation_config_delete(wasmtime_pooling_allocation_config_t *);
void wasmtime_pooling_allocation_config_total_component_instances_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_core_instances_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_memories_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_tables_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_stacks_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_max_memory_size_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_strategy_set(wasm_config_t *, const wasmtime_pooling_allocation_config_t *);

wasm_engine_t *wasm_engine_new(void);
wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *); // takes the config
void wasm_engine_delete(wasm_engine_t *);
void wasmtime_engine_increment_epoch(wasm_engine_t *);

// Host-provided linear memories (engine-wide).
typedef uint8_t *(*wasmtime_memory_get_callback_t)(void *env, size_t *byte_size, size_t *byte_capacity);
typedef wasmtime_error_t *(*wasmtime_memory_grow_callback_t)(void *env, size_t new_size);
typedef struct {
  void *env;
  wasmtime_memory_get_callback_t get_memory;
  wasmtime_memory_grow_callback_t grow_memory;
  void (*finalizer)(void *);
} wasmtime_linear_memory_t;
typedef wasmtime_error_t *(*wasmtime_new_memory_callback_t)(void *env, const wasm_memorytype_t *ty, size_t minimum,
                                                            size_t maximum, size_t reserved_size_in_bytes,
                                                            size_t guard_size_in_bytes,
                                                            wasmtime_linear_memory_t *memory_ret);
typedef struct {
  void *env;
  wasmtime_new_memory_callback_t new_memory;
  void (*finalizer)(void *);
} wasmtime_memory_creator_t;
void wasmtime_config_host_memory_creator_set(wasm_config_t *, wasmtime_memory_creator_t *);
void wasmtime_config_memory_init_cow_set(wasm_config_t *, bool);

// ---- errors and traps ------------------------------------------------------
wasmtime_error_t *wasmtime_error_new(const char *msg);
void wasmtime_error_delete(wasmtime_error_t *);
void wasmtime_error_message(const wasmtime_error_t *, wasm_name_t *out);
bool wasmtime_error_exit_status(const wasmtime_error_t *, int *status);
void wasmtime_error_wasm_trace(const wasmtime_error_t *, wasm_frame_vec_t *out);
wasm_trap_t *wasmtime_trap_new(const char *msg, size_t len);
bool wasmtime_trap_code(const wasm_trap_t *, uint8_t *code);
void wasm_trap_message(const wasm_trap_t *, wasm_name_t *out);
void wasm_trap_trace(const wasm_trap_t *, wasm_frame_vec_t *out);
void wasm_trap_delete(wasm_trap_t *);
uint32_t wasm_frame_func_index(const wasm_frame_t *);
size_t wasm_frame_module_offset(const wasm_frame_t *);
const wasm_name_t *wasmtime_frame_func_name(const wasm_frame_t *);
const wasm_name_t *wasmtime_frame_module_name(const wasm_frame_t *);

// ---- store -----------------------------------------------------------------
wasmtime_store_t *wasmtime_store_new(wasm_engine_t *, void *data, void (*finalizer)(void *));
wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *);
void wasmtime_store_delete(wasmtime_store_t *);
void wasmtime_store_limiter(wasmtime_store_t *, int64_t memory_size, int64_t table_elements,
                            int64_t instances, int64_t tables, int64_t memories);
void *wasmtime_context_get_data(const wasmtime_context_t *);
wasmtime_error_t *wasmtime_context_set_fuel(wasmtime_context_t *, uint64_t);
wasmtime_error_t *wasmtime_context_get_fuel(const wasmtime_context_t *, uint64_t *);
wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *, wasi_config_t *); // takes wasi
void wasmtime_context_set_epoch_deadline(wasmtime_context_t *, uint64_t ticks);
void wasmtime_store_epoch_deadline_callback(
    wasmtime_store_t *,
    wasmtime_error_t *(*cb)(wasmtime_context_t *, void *env, uint64_t *delta, uint8_t *kind),
    void *env, void (*finalizer)(void *));

// ---- WASI ------------------------------------------------------------------
wasi_config_t *wasi_config_new(void);
void wasi_config_delete(wasi_config_t *);
bool wasi_config_set_argv(wasi_config_t *, size_t argc, const char *argv[]);
bool wasi_config_set_env(wasi_config_t *, size_t n, const char *names[], const char *values[]);
void wasi_config_set_stdin_bytes(wasi_config_t *, wasm_byte_vec_t *bytes); // takes bytes
bool wasi_config_set_stdin_file(wasi_config_t *, const char *path);  // opens path for reading
bool wasi_config_set_stdout_file(wasi_config_t *, const char *path); // creates or truncates path
bool wasi_config_set_stderr_file(wasi_config_t *, const char *path);
bool wasi_config_preopen_dir(wasi_config_t *, const char *host, const char *guest,
                             size_t dir_perms, size_t file_perms);

// ---- core modules ----------------------------------------------------------
typedef struct { uint64_t store_id; void *priv; } wasmtime_func_t;
typedef struct { uint64_t store_id; size_t priv; } wasmtime_instance_t;
// The id and first private word form an inner struct, padded to 16 bytes.
typedef struct { struct { uint64_t store_id; uint32_t p1; } id; uint32_t p2; } wasmtime_memory_t;
typedef union {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
  wasmtime_func_t funcref;
  uint8_t v128[16];
  struct { uint64_t a; uint32_t b; uint32_t c; void *d; } anyref;
} wasmtime_valunion_t;
typedef struct { uint8_t kind; wasmtime_valunion_t of; } wasmtime_val_t;
typedef union {
  wasmtime_func_t func;
  wasmtime_memory_t memory;
  struct { uint64_t a; uint32_t b; uint32_t c; uint32_t d; } other;
  void *sharedmemory;
} wasmtime_extern_union_t;
typedef struct { uint8_t kind; wasmtime_extern_union_t of; } wasmtime_extern_t;

wasmtime_error_t *wasmtime_module_new(wasm_engine_t *, const uint8_t *wasm, size_t len, wasmtime_module_t **out);
wasmtime_error_t *wasmtime_module_serialize(wasmtime_module_t *, wasm_byte_vec_t *out);
wasmtime_error_t *wasmtime_module_deserialize(wasm_engine_t *, const uint8_t *bytes, size_t len, wasmtime_module_t **out);
void wasmtime_module_delete(wasmtime_module_t *);
void wasmtime_module_imports(const wasmtime_module_t *, wasm_importtype_vec_t *out);
void wasmtime_module_exports(const wasmtime_module_t *, wasm_exporttype_vec_t *out);
const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *);
const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *);
const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *);
const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *);
const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *);
uint8_t wasm_externtype_kind(const wasm_externtype_t *);
const wasm_functype_t *wasm_externtype_as_functype_const(const wasm_externtype_t *);
const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *);
const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *);
wasm_functype_t *wasm_functype_new(wasm_valtype_vec_t *params, wasm_valtype_vec_t *results); // takes both
void wasm_functype_delete(wasm_functype_t *);
wasm_valtype_t *wasm_valtype_new(uint8_t kind);
uint8_t wasm_valtype_kind(const wasm_valtype_t *);

wasmtime_linker_t *wasmtime_linker_new(wasm_engine_t *);
void wasmtime_linker_delete(wasmtime_linker_t *);
wasmtime_error_t *wasmtime_linker_define_wasi(wasmtime_linker_t *);
typedef wasm_trap_t *(*wasmtime_func_callback_t)(void *env, wasmtime_caller_t *caller,
                                                 const wasmtime_val_t *args, size_t nargs,
                                                 wasmtime_val_t *results, size_t nresults);
wasmtime_error_t *wasmtime_linker_define_func(wasmtime_linker_t *, const char *module, size_t module_len,
                                              const char *name, size_t name_len, const wasm_functype_t *ty,
                                              wasmtime_func_callback_t cb, void *env, void (*finalizer)(void *));
wasmtime_error_t *wasmtime_linker_instantiate(const wasmtime_linker_t *, wasmtime_context_t *,
                                              const wasmtime_module_t *, wasmtime_instance_t *out,
                                              wasm_trap_t **trap);
bool wasmtime_instance_export_get(wasmtime_context_t *, const wasmtime_instance_t *, const char *name,
                                  size_t len, wasmtime_extern_t *out);
wasmtime_context_t *wasmtime_caller_context(wasmtime_caller_t *);
wasmtime_error_t *wasmtime_func_call(wasmtime_context_t *, const wasmtime_func_t *, const wasmtime_val_t *args,
                                     size_t nargs, wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap);
size_t wasmtime_memory_data_size(const wasmtime_context_t *, const wasmtime_memory_t *);

// ---- component model: values -----------------------------------------------
struct wasmtime_component_val;
struct wasmtime_component_valrecord_entry;
typedef struct { size_t size; struct wasmtime_component_val *data; } wasmtime_component_vallist_t;
typedef struct { size_t size; struct wasmtime_component_valrecord_entry *data; } wasmtime_component_valrecord_t;
typedef wasmtime_component_vallist_t wasmtime_component_valtuple_t;
typedef struct { size_t size; wasm_name_t *data; } wasmtime_component_valflags_t;
typedef struct { wasm_name_t discriminant; struct wasmtime_component_val *val; } wasmtime_component_valvariant_t;
typedef struct { bool is_ok; struct wasmtime_component_val *val; } wasmtime_component_valresult_t;
typedef union {
  bool boolean;
  int8_t s8;
  uint8_t u8;
  int16_t s16;
  uint16_t u16;
  int32_t s32;
  uint32_t u32;
  int64_t s64;
  uint64_t u64;
  float f32;
  double f64;
  uint32_t character;
  wasm_name_t string;
  wasmtime_component_vallist_t list;
  wasmtime_component_valrecord_t record;
  wasmtime_component_valtuple_t tuple;
  wasmtime_component_valvariant_t variant;
  wasm_name_t enumeration;
  struct wasmtime_component_val *option;
  wasmtime_component_valresult_t result;
  wasmtime_component_valflags_t flags;
  wasmtime_component_resource_any_t *resource;
} wasmtime_component_valunion_t;
typedef struct wasmtime_component_val {
  uint8_t kind;
  wasmtime_component_valunion_t of;
} wasmtime_component_val_t;
typedef struct wasmtime_component_valrecord_entry {
  wasm_name_t name;
  wasmtime_component_val_t val;
} wasmtime_component_valrecord_entry_t;

void wasmtime_component_vallist_new_uninit(wasmtime_component_vallist_t *out, size_t n);
void wasmtime_component_valrecord_new_uninit(wasmtime_component_valrecord_t *out, size_t n);
void wasmtime_component_valtuple_new_uninit(wasmtime_component_valtuple_t *out, size_t n);
void wasmtime_component_valflags_new_uninit(wasmtime_component_valflags_t *out, size_t n);
wasmtime_component_val_t *wasmtime_component_val_new(wasmtime_component_val_t *val); // moves *val to the heap
void wasmtime_component_val_delete(wasmtime_component_val_t *val);                   // drops contents only
void wasmtime_component_val_clone(const wasmtime_component_val_t *src, wasmtime_component_val_t *dst); // deep copy
wasmtime_component_resource_any_t *wasmtime_component_resource_any_clone(const wasmtime_component_resource_any_t *);
bool wasmtime_component_resource_any_owned(const wasmtime_component_resource_any_t *);
wasmtime_error_t *wasmtime_component_resource_any_drop(wasmtime_context_t *, const wasmtime_component_resource_any_t *);
void wasmtime_component_resource_any_delete(wasmtime_component_resource_any_t *);

// Host-defined resources: a 32-bit "rep" the host chooses and a 32-bit type
// tag; the guest can neither forge nor read either.
typedef struct wasmtime_component_resource_host wasmtime_component_resource_host_t;
wasmtime_component_resource_host_t *wasmtime_component_resource_host_new(bool owned, uint32_t rep, uint32_t ty);
uint32_t wasmtime_component_resource_host_rep(const wasmtime_component_resource_host_t *);
uint32_t wasmtime_component_resource_host_type(const wasmtime_component_resource_host_t *);
bool wasmtime_component_resource_host_owned(const wasmtime_component_resource_host_t *);
void wasmtime_component_resource_host_delete(wasmtime_component_resource_host_t *);
wasmtime_error_t *wasmtime_component_resource_any_to_host(wasmtime_context_t *, const wasmtime_component_resource_any_t *,
                                                          wasmtime_component_resource_host_t **out);
wasmtime_error_t *wasmtime_component_resource_host_to_any(wasmtime_context_t *, const wasmtime_component_resource_host_t *,
                                                          wasmtime_component_resource_any_t **out);
wasmtime_component_resource_type_t *wasmtime_component_resource_type_new_host(uint32_t ty);
void wasmtime_component_resource_type_delete(wasmtime_component_resource_type_t *);

// ---- component model: compile, link, call ----------------------------------
typedef struct { struct { uint64_t store_id; uint32_t p1; } id; uint32_t p2; } wasmtime_component_func_t;
typedef struct { uint64_t store_id; uint32_t p; } wasmtime_component_instance_t;

wasmtime_error_t *wasmtime_component_new(const wasm_engine_t *, const uint8_t *buf, size_t len, wasmtime_component_t **out);
wasmtime_error_t *wasmtime_component_serialize(const wasmtime_component_t *, wasm_byte_vec_t *out);
wasmtime_error_t *wasmtime_component_deserialize(const wasm_engine_t *, const uint8_t *buf, size_t len, wasmtime_component_t **out);
void wasmtime_component_delete(wasmtime_component_t *);
wasmtime_component_type_t *wasmtime_component_type(const wasmtime_component_t *);
wasmtime_component_export_index_t *wasmtime_component_get_export_index(
    const wasmtime_component_t *, const wasmtime_component_export_index_t *parent, const char *name, size_t len);
void wasmtime_component_export_index_delete(wasmtime_component_export_index_t *);

wasmtime_component_linker_t *wasmtime_component_linker_new(const wasm_engine_t *);
void wasmtime_component_linker_delete(wasmtime_component_linker_t *);
wasmtime_component_linker_instance_t *wasmtime_component_linker_root(wasmtime_component_linker_t *);
void wasmtime_component_linker_instance_delete(wasmtime_component_linker_instance_t *);
wasmtime_error_t *wasmtime_component_linker_instance_add_instance(
    wasmtime_component_linker_instance_t *, const char *name, size_t len, wasmtime_component_linker_instance_t **out);
typedef wasmtime_error_t *(*wasmtime_component_func_callback_t)(
    void *env, wasmtime_context_t *, const wasmtime_component_func_type_t *, wasmtime_component_val_t *args,
    size_t nargs, wasmtime_component_val_t *results, size_t nresults);
wasmtime_error_t *wasmtime_component_linker_instance_add_func(
    wasmtime_component_linker_instance_t *, const char *name, size_t len,
    wasmtime_component_func_callback_t cb, void *env, void (*finalizer)(void *));
typedef wasmtime_error_t *(*wasmtime_component_resource_destructor_t)(void *env, wasmtime_context_t *, uint32_t rep);
wasmtime_error_t *wasmtime_component_linker_instance_add_resource(
    wasmtime_component_linker_instance_t *, const char *name, size_t len, const wasmtime_component_resource_type_t *ty,
    wasmtime_component_resource_destructor_t dtor, void *env, void (*finalizer)(void *));
wasmtime_error_t *wasmtime_component_linker_add_wasip2(wasmtime_component_linker_t *);
wasmtime_error_t *wasmtime_component_linker_define_unknown_imports_as_traps(
    wasmtime_component_linker_t *, const wasmtime_component_t *);
wasmtime_error_t *wasmtime_component_linker_instantiate(
    const wasmtime_component_linker_t *, wasmtime_context_t *, const wasmtime_component_t *,
    wasmtime_component_instance_t *out);
bool wasmtime_component_instance_get_func(const wasmtime_component_instance_t *, wasmtime_context_t *,
                                          const wasmtime_component_export_index_t *, wasmtime_component_func_t *out);
wasmtime_error_t *wasmtime_component_func_call(const wasmtime_component_func_t *, wasmtime_context_t *,
                                               const wasmtime_component_val_t *args, size_t nargs,
                                               wasmtime_component_val_t *results, size_t nresults);
wasmtime_error_t *wasmtime_component_func_post_return(const wasmtime_component_func_t *, wasmtime_context_t *);

// ---- component model: types ------------------------------------------------
typedef struct {
  uint8_t kind;
  union {
    wasmtime_component_list_type_t *list;
    wasmtime_component_record_type_t *record;
    wasmtime_component_tuple_type_t *tuple;
    wasmtime_component_variant_type_t *variant;
    wasmtime_component_enum_type_t *enum_;
    wasmtime_component_option_type_t *option;
    wasmtime_component_result_type_t *result;
    wasmtime_component_flags_type_t *flags;
    wasmtime_component_resource_type_t *resource;
    void *other;
  } of;
} wasmtime_component_valtype_t;
typedef struct {
  uint8_t kind;
  union {
    wasmtime_component_type_t *component;
    wasmtime_component_instance_type_t *instance;
    wasmtime_module_type_t *module;
    wasmtime_component_func_type_t *func;
    wasmtime_component_resource_type_t *resource;
    wasm_functype_t *core_func;
    wasmtime_component_valtype_t type;
  } of;
} wasmtime_component_item_t;

void wasmtime_component_type_delete(wasmtime_component_type_t *);
size_t wasmtime_component_type_import_count(const wasmtime_component_type_t *, const wasm_engine_t *);
bool wasmtime_component_type_import_nth(const wasmtime_component_type_t *, const wasm_engine_t *, size_t n,
                                        const char **name, size_t *len, wasmtime_component_item_t *out);
size_t wasmtime_component_type_export_count(const wasmtime_component_type_t *, const wasm_engine_t *);
bool wasmtime_component_type_export_nth(const wasmtime_component_type_t *, const wasm_engine_t *, size_t n,
                                        const char **name, size_t *len, wasmtime_component_item_t *out);
void wasmtime_component_item_delete(wasmtime_component_item_t *);
size_t wasmtime_component_instance_type_export_count(const wasmtime_component_instance_type_t *, const wasm_engine_t *);
bool wasmtime_component_instance_type_export_nth(const wasmtime_component_instance_type_t *, const wasm_engine_t *,
                                                 size_t n, const char **name, size_t *len, wasmtime_component_item_t *out);
size_t wasmtime_module_type_import_count(const wasmtime_module_type_t *, const wasm_engine_t *);
size_t wasmtime_module_type_export_count(const wasmtime_module_type_t *, const wasm_engine_t *);
void wasmtime_component_func_type_delete(wasmtime_component_func_type_t *);
size_t wasmtime_component_func_type_param_count(const wasmtime_component_func_type_t *);
bool wasmtime_component_func_type_param_nth(const wasmtime_component_func_type_t *, size_t n, const char **name,
                                            size_t *len, wasmtime_component_valtype_t *out);
bool wasmtime_component_func_type_result(const wasmtime_component_func_type_t *, wasmtime_component_valtype_t *out);
void wasmtime_component_valtype_delete(wasmtime_component_valtype_t *);
void wasmtime_component_list_type_element(const wasmtime_component_list_type_t *, wasmtime_component_valtype_t *out);
size_t wasmtime_component_record_type_field_count(const wasmtime_component_record_type_t *);
bool wasmtime_component_record_type_field_nth(const wasmtime_component_record_type_t *, size_t n, const char **name,
                                              size_t *len, wasmtime_component_valtype_t *out);
size_t wasmtime_component_tuple_type_types_count(const wasmtime_component_tuple_type_t *);
bool wasmtime_component_tuple_type_types_nth(const wasmtime_component_tuple_type_t *, size_t n,
                                             wasmtime_component_valtype_t *out);
size_t wasmtime_component_variant_type_case_count(const wasmtime_component_variant_type_t *);
bool wasmtime_component_variant_type_case_nth(const wasmtime_component_variant_type_t *, size_t n, const char **name,
                                              size_t *len, bool *has_payload, wasmtime_component_valtype_t *out);
size_t wasmtime_component_enum_type_names_count(const wasmtime_component_enum_type_t *);
bool wasmtime_component_enum_type_names_nth(const wasmtime_component_enum_type_t *, size_t n, const char **name,
                                            size_t *len);
void wasmtime_component_option_type_ty(const wasmtime_component_option_type_t *, wasmtime_component_valtype_t *out);
bool wasmtime_component_result_type_ok(const wasmtime_component_result_type_t *, wasmtime_component_valtype_t *out);
bool wasmtime_component_result_type_err(const wasmtime_component_result_type_t *, wasmtime_component_valtype_t *out);
size_t wasmtime_component_flags_type_names_count(const wasmtime_component_flags_type_t *);
bool wasmtime_component_flags_type_names_nth(const wasmtime_component_flags_type_t *, size_t n, const char **name,
                                             size_t *len);

#endif
