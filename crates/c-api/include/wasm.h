/*
 * The WebAssembly C API (the interface of WebAssembly/wasm-c-api), as implemented by Weft's libweft.
 *
 * The names, types and meaning are the standard's; this text is Weft's own. Weft implements the standard in
 * stages (see docs/c-api.md): this header declares what libweft provides today, and grows with it.
 *
 * Ownership, as in the standard: a parameter or result marked `own` passes ownership (the receiver deletes it
 * with the matching `*_delete`); anything else is borrowed for the duration of the call. A vector's `*_delete`
 * deletes its elements too. Objects made from a store must not outlive it; a store is used by one thread at a
 * time, an engine by any number.
 */
#ifndef WASM_H
#define WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks an owned pointer (documentation only). */
#define own

typedef char byte_t;
typedef float float32_t;
typedef double float64_t;

/* ---- Vectors ----------------------------------------------------------------------------------------------- */

/* Declares `wasm_<name>_vec_t`, a size and a pointer to `size` elements of `type`, with its functions:
 * new_empty, new_uninitialized (elements zeroed), new (copies `size` elements in, taking ownership of owned
 * ones), copy (deep) and delete. */
#define WASM_VEC_OF(name, type)                                                                                    \
  typedef struct wasm_##name##_vec_t {                                                                             \
    size_t size;                                                                                                   \
    type *data;                                                                                                    \
  } wasm_##name##_vec_t;                                                                                           \
  void wasm_##name##_vec_new_empty(own wasm_##name##_vec_t *out);                                                  \
  void wasm_##name##_vec_new_uninitialized(own wasm_##name##_vec_t *out, size_t size);                             \
  void wasm_##name##_vec_new(own wasm_##name##_vec_t *out, size_t size, own type const data[]);                    \
  void wasm_##name##_vec_copy(own wasm_##name##_vec_t *out, const wasm_##name##_vec_t *source);                    \
  void wasm_##name##_vec_delete(own wasm_##name##_vec_t *vec);

WASM_VEC_OF(byte, byte_t)

/* A name or message: a byte vector (messages end with a NUL byte, counted in `size`). */
typedef wasm_byte_vec_t wasm_name_t;
typedef wasm_name_t wasm_message_t;
#define wasm_name_new wasm_byte_vec_new
#define wasm_name_new_empty wasm_byte_vec_new_empty
#define wasm_name_new_uninitialized wasm_byte_vec_new_uninitialized
#define wasm_name_copy wasm_byte_vec_copy
#define wasm_name_delete wasm_byte_vec_delete

/* ---- Engine and store --------------------------------------------------------------------------------------- */

typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasm_store_t wasm_store_t;

own wasm_config_t *wasm_config_new(void);
void wasm_config_delete(own wasm_config_t *config);

own wasm_engine_t *wasm_engine_new(void);
/* Takes the configuration; NULL if it is invalid. */
own wasm_engine_t *wasm_engine_new_with_config(own wasm_config_t *config);
void wasm_engine_delete(own wasm_engine_t *engine);

own wasm_store_t *wasm_store_new(wasm_engine_t *engine);
void wasm_store_delete(own wasm_store_t *store);

/* ---- Types -------------------------------------------------------------------------------------------------- */

typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
  WASM_I32,
  WASM_I64,
  WASM_F32,
  WASM_F64,
  WASM_EXTERNREF = 128,
  WASM_FUNCREF,
};

typedef struct wasm_valtype_t wasm_valtype_t;
own wasm_valtype_t *wasm_valtype_new(wasm_valkind_t kind);
wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t *type);
own wasm_valtype_t *wasm_valtype_copy(const wasm_valtype_t *type);
void wasm_valtype_delete(own wasm_valtype_t *type);
WASM_VEC_OF(valtype, wasm_valtype_t *)

typedef struct wasm_functype_t wasm_functype_t;
/* Takes both vectors. */
own wasm_functype_t *wasm_functype_new(own wasm_valtype_vec_t *params, own wasm_valtype_vec_t *results);
const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *type);
const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *type);
own wasm_functype_t *wasm_functype_copy(const wasm_functype_t *type);
void wasm_functype_delete(own wasm_functype_t *type);

typedef struct wasm_limits_t {
  uint32_t min;
  uint32_t max; /* wasm_limits_max_default when there is no maximum */
} wasm_limits_t;
static const uint32_t wasm_limits_max_default = 0xffffffff;

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum { WASM_CONST, WASM_VAR };

typedef struct wasm_globaltype_t wasm_globaltype_t;
/* Takes `content`. */
own wasm_globaltype_t *wasm_globaltype_new(own wasm_valtype_t *content, wasm_mutability_t mutability);
const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *type);
wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *type);
own wasm_globaltype_t *wasm_globaltype_copy(const wasm_globaltype_t *type);
void wasm_globaltype_delete(own wasm_globaltype_t *type);

typedef struct wasm_tabletype_t wasm_tabletype_t;
/* Takes `element` (a reference type; NULL otherwise). */
own wasm_tabletype_t *wasm_tabletype_new(own wasm_valtype_t *element, const wasm_limits_t *limits);
const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *type);
const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *type);
own wasm_tabletype_t *wasm_tabletype_copy(const wasm_tabletype_t *type);
void wasm_tabletype_delete(own wasm_tabletype_t *type);

typedef struct wasm_memorytype_t wasm_memorytype_t;
own wasm_memorytype_t *wasm_memorytype_new(const wasm_limits_t *limits);
const wasm_limits_t *wasm_memorytype_limits(const wasm_memorytype_t *type);
own wasm_memorytype_t *wasm_memorytype_copy(const wasm_memorytype_t *type);
void wasm_memorytype_delete(own wasm_memorytype_t *type);

/* Any of the four; the casts below return the same object. */
typedef struct wasm_externtype_t wasm_externtype_t;
typedef uint8_t wasm_externkind_t;
enum wasm_externkind_enum {
  WASM_EXTERN_FUNC,
  WASM_EXTERN_GLOBAL,
  WASM_EXTERN_TABLE,
  WASM_EXTERN_MEMORY,
};
wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *type);
own wasm_externtype_t *wasm_externtype_copy(const wasm_externtype_t *type);
void wasm_externtype_delete(own wasm_externtype_t *type);

#define WASM_EXTERNTYPE_CASTS(name)                                                                                \
  wasm_externtype_t *wasm_##name##_as_externtype(wasm_##name##_t *type);                                           \
  const wasm_externtype_t *wasm_##name##_as_externtype_const(const wasm_##name##_t *type);                         \
  wasm_##name##_t *wasm_externtype_as_##name(wasm_externtype_t *type);                                             \
  const wasm_##name##_t *wasm_externtype_as_##name##_const(const wasm_externtype_t *type);
WASM_EXTERNTYPE_CASTS(functype)
WASM_EXTERNTYPE_CASTS(globaltype)
WASM_EXTERNTYPE_CASTS(tabletype)
WASM_EXTERNTYPE_CASTS(memorytype)

typedef struct wasm_importtype_t wasm_importtype_t;
/* Takes all three. */
own wasm_importtype_t *wasm_importtype_new(own wasm_name_t *module, own wasm_name_t *name,
                                           own wasm_externtype_t *type);
const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *import);
const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *import);
const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *import);
own wasm_importtype_t *wasm_importtype_copy(const wasm_importtype_t *import);
void wasm_importtype_delete(own wasm_importtype_t *import);
WASM_VEC_OF(importtype, wasm_importtype_t *)

typedef struct wasm_exporttype_t wasm_exporttype_t;
/* Takes both. */
own wasm_exporttype_t *wasm_exporttype_new(own wasm_name_t *name, own wasm_externtype_t *type);
const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *export_);
const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *export_);
own wasm_exporttype_t *wasm_exporttype_copy(const wasm_exporttype_t *export_);
void wasm_exporttype_delete(own wasm_exporttype_t *export_);
WASM_VEC_OF(exporttype, wasm_exporttype_t *)

/* ---- Values ------------------------------------------------------------------------------------------------- */

typedef struct wasm_ref_t wasm_ref_t;

typedef struct wasm_val_t {
  wasm_valkind_t kind;
  union {
    int32_t i32;
    int64_t i64;
    float32_t f32;
    float64_t f64;
    struct wasm_ref_t *ref;
  } of;
} wasm_val_t;
WASM_VEC_OF(val, wasm_val_t)

/* ---- Traps -------------------------------------------------------------------------------------------------- */

typedef struct wasm_trap_t wasm_trap_t;
/* A trap with `message` (which should end with a NUL byte, as messages do). */
own wasm_trap_t *wasm_trap_new(wasm_store_t *store, const wasm_message_t *message);
/* The message, NUL-terminated. */
void wasm_trap_message(const wasm_trap_t *trap, own wasm_message_t *out);
void wasm_trap_delete(own wasm_trap_t *trap);

/* A frame of a trap's backtrace (wasm frames only, innermost first). */
typedef struct wasm_frame_t wasm_frame_t;
typedef struct wasm_instance_t wasm_instance_t;
WASM_VEC_OF(frame, wasm_frame_t *)
/* The innermost frame; NULL if the trap has none (one made by the host outside wasm). */
own wasm_frame_t *wasm_trap_origin(const wasm_trap_t *trap);
void wasm_trap_trace(const wasm_trap_t *trap, own wasm_frame_vec_t *out);
uint32_t wasm_frame_func_index(const wasm_frame_t *frame);
/* Offset of the executing instruction from the start of its function's body. */
size_t wasm_frame_func_offset(const wasm_frame_t *frame);
/* Offset of the executing instruction in the module's bytes. */
size_t wasm_frame_module_offset(const wasm_frame_t *frame);
/* NULL for now: Weft's backtraces record the module's code, not the instance. */
wasm_instance_t *wasm_frame_instance(const wasm_frame_t *frame);
own wasm_frame_t *wasm_frame_copy(const wasm_frame_t *frame);
void wasm_frame_delete(own wasm_frame_t *frame);

/* ---- Modules ------------------------------------------------------------------------------------------------ */

typedef struct wasm_module_t wasm_module_t;
/* NULL if `binary` is not a valid module. */
own wasm_module_t *wasm_module_new(wasm_store_t *store, const wasm_byte_vec_t *binary);
bool wasm_module_validate(wasm_store_t *store, const wasm_byte_vec_t *binary);
void wasm_module_imports(const wasm_module_t *module, own wasm_importtype_vec_t *out);
void wasm_module_exports(const wasm_module_t *module, own wasm_exporttype_vec_t *out);
/* Compiled code, loadable by wasm_module_deserialize into an engine with the same settings (native code: load
 * only what you trust). */
void wasm_module_serialize(const wasm_module_t *module, own wasm_byte_vec_t *out);
own wasm_module_t *wasm_module_deserialize(wasm_store_t *store, const wasm_byte_vec_t *binary);
void wasm_module_delete(own wasm_module_t *module);

/* ---- Functions and other externals -------------------------------------------------------------------------- */

typedef struct wasm_extern_t wasm_extern_t;
typedef struct wasm_func_t wasm_func_t;
typedef struct wasm_memory_t wasm_memory_t;
typedef struct wasm_global_t wasm_global_t;
WASM_VEC_OF(extern, wasm_extern_t *)

wasm_externkind_t wasm_extern_kind(const wasm_extern_t *external);
own wasm_externtype_t *wasm_extern_type(const wasm_extern_t *external);
void wasm_extern_delete(own wasm_extern_t *external);

/* A host function's body: reads `args`, writes `results` (already sized to the result count); returns NULL, or
 * a trap that the call then raises (ownership passes to the caller). */
typedef own wasm_trap_t *(*wasm_func_callback_t)(const wasm_val_vec_t *args, own wasm_val_vec_t *results);
typedef own wasm_trap_t *(*wasm_func_callback_with_env_t)(void *env, const wasm_val_vec_t *args,
                                                          own wasm_val_vec_t *results);

own wasm_func_t *wasm_func_new(wasm_store_t *store, const wasm_functype_t *type, wasm_func_callback_t callback);
/* `finalizer`, if not NULL, is called with `env` when the store holding the function is deleted (the store
 * keeps every function it made, whatever handles to it the host deletes). */
own wasm_func_t *wasm_func_new_with_env(wasm_store_t *store, const wasm_functype_t *type,
                                        wasm_func_callback_with_env_t callback, void *env,
                                        void (*finalizer)(void *));
own wasm_functype_t *wasm_func_type(const wasm_func_t *func);
size_t wasm_func_param_arity(const wasm_func_t *func);
size_t wasm_func_result_arity(const wasm_func_t *func);
/* Calls `func`: `args` must match its parameters and `results` be sized to its results. NULL on success, else
 * the trap (also for wrong argument types, with a message saying so). */
own wasm_trap_t *wasm_func_call(const wasm_func_t *func, const wasm_val_vec_t *args, wasm_val_vec_t *results);
void wasm_func_delete(own wasm_func_t *func);

wasm_extern_t *wasm_func_as_extern(wasm_func_t *func);
const wasm_extern_t *wasm_func_as_extern_const(const wasm_func_t *func);
/* NULL if `external` is not a function. */
wasm_func_t *wasm_extern_as_func(wasm_extern_t *external);
const wasm_func_t *wasm_extern_as_func_const(const wasm_extern_t *external);

/* Globals. A value of the wrong type, or setting an immutable global, changes nothing. */
own wasm_global_t *wasm_global_new(wasm_store_t *store, const wasm_globaltype_t *type, const wasm_val_t *value);
own wasm_globaltype_t *wasm_global_type(const wasm_global_t *global);
void wasm_global_get(const wasm_global_t *global, own wasm_val_t *out);
void wasm_global_set(wasm_global_t *global, const wasm_val_t *value);
void wasm_global_delete(own wasm_global_t *global);
wasm_extern_t *wasm_global_as_extern(wasm_global_t *global);
wasm_global_t *wasm_extern_as_global(wasm_extern_t *external);

/* Linear memory: its bytes stay where they are until the memory grows. */
typedef uint32_t wasm_memory_pages_t;
own wasm_memory_t *wasm_memory_new(wasm_store_t *store, const wasm_memorytype_t *type);
own wasm_memorytype_t *wasm_memory_type(const wasm_memory_t *memory);
void wasm_memory_delete(own wasm_memory_t *memory);
wasm_extern_t *wasm_memory_as_extern(wasm_memory_t *memory);
wasm_memory_t *wasm_extern_as_memory(wasm_extern_t *external);
byte_t *wasm_memory_data(wasm_memory_t *memory);
size_t wasm_memory_data_size(const wasm_memory_t *memory);
wasm_memory_pages_t wasm_memory_size(const wasm_memory_t *memory);
bool wasm_memory_grow(wasm_memory_t *memory, wasm_memory_pages_t delta);

/* ---- Instances ---------------------------------------------------------------------------------------------- */

/* `imports` in the module's import order. NULL on failure; then `*trap` (if `trap` is not NULL) is the trap or
 * error that stopped it. */
own wasm_instance_t *wasm_instance_new(wasm_store_t *store, const wasm_module_t *module,
                                       const wasm_extern_vec_t *imports, own wasm_trap_t **trap);
/* The exports, in the module's export order. */
void wasm_instance_exports(const wasm_instance_t *instance, own wasm_extern_vec_t *out);
void wasm_instance_delete(own wasm_instance_t *instance);

/* ---- Conveniences (inline, as in the standard) ------------------------------------------------------------ */

#define WASM_EMPTY_VEC {0, NULL}
#define WASM_ARRAY_VEC(array) {sizeof(array) / sizeof(*(array)), array}
#define WASM_I32_VAL(value) {.kind = WASM_I32, .of = {.i32 = value}}
#define WASM_I64_VAL(value) {.kind = WASM_I64, .of = {.i64 = value}}
#define WASM_F32_VAL(value) {.kind = WASM_F32, .of = {.f32 = value}}
#define WASM_F64_VAL(value) {.kind = WASM_F64, .of = {.f64 = value}}
#define WASM_INIT_VAL {.kind = WASM_EXTERNREF, .of = {.ref = NULL}}

static inline own wasm_valtype_t *wasm_valtype_new_i32(void) { return wasm_valtype_new(WASM_I32); }
static inline own wasm_valtype_t *wasm_valtype_new_i64(void) { return wasm_valtype_new(WASM_I64); }
static inline own wasm_valtype_t *wasm_valtype_new_f32(void) { return wasm_valtype_new(WASM_F32); }
static inline own wasm_valtype_t *wasm_valtype_new_f64(void) { return wasm_valtype_new(WASM_F64); }

static inline own wasm_functype_t *wasm_functype_new_0_0(void) {
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new_empty(&params);
  wasm_valtype_vec_new_empty(&results);
  return wasm_functype_new(&params, &results);
}

static inline own wasm_functype_t *wasm_functype_new_1_1(own wasm_valtype_t *p, own wasm_valtype_t *r) {
  wasm_valtype_t *ps[1] = {p};
  wasm_valtype_t *rs[1] = {r};
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new(&params, 1, ps);
  wasm_valtype_vec_new(&results, 1, rs);
  return wasm_functype_new(&params, &results);
}

static inline own wasm_functype_t *wasm_functype_new_2_1(own wasm_valtype_t *p1, own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *r) {
  wasm_valtype_t *ps[2] = {p1, p2};
  wasm_valtype_t *rs[1] = {r};
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new(&params, 2, ps);
  wasm_valtype_vec_new(&results, 1, rs);
  return wasm_functype_new(&params, &results);
}

#undef own

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WASM_H */
