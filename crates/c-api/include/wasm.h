/*
 * The WebAssembly C API (the interface of WebAssembly/wasm-c-api), as implemented by Weft's libweft.
 *
 * The names, types and meaning are the standard's; this text is Weft's own. Every function the standard declares
 * is here and implemented (docs/c-api.md lists how Weft reads the places the standard leaves open).
 *
 * Ownership, as in the standard: a parameter or result marked `own` passes ownership (the receiver deletes it
 * with the matching `*_delete`); anything else is borrowed for the duration of the call. A vector's `*_delete`
 * deletes its elements too; a value's reference is owned by whoever owns the value.
 *
 * Objects made from a store (functions, globals, tables, memories, instances, modules, traps, foreign objects) are
 * references: `*_copy` makes a new handle to the same object, `*_same` compares objects, host info belongs to the
 * object. Deleting a handle never frees what the store still uses: a store keeps every function, global, table,
 * memory and instance it made until it is deleted. A store is used by one thread at a time; an engine and a
 * shared module by any number.
 */
#ifndef WASM_H
#define WASM_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef WASM_API_EXTERN
#define WASM_API_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Marks an owned pointer (documentation only). */
#define own

typedef char byte_t;
typedef float float32_t;
typedef double float64_t;

/* ---- Declaration families ------------------------------------------------------------------------------------ */

/* An object with a destructor. */
#define WASM_DECLARE_OWN(name)                                                                                     \
  typedef struct wasm_##name##_t wasm_##name##_t;                                                                  \
  WASM_API_EXTERN void wasm_##name##_delete(own wasm_##name##_t *);

/* `wasm_<name>_vec_t`: a size and a pointer to `size` elements, with new_empty, new_uninitialized (elements
 * zeroed), new (takes the elements), copy (deep) and delete (deletes the elements). */
#define WASM_DECLARE_VEC(name, ptr_or_none)                                                                        \
  typedef struct wasm_##name##_vec_t {                                                                             \
    size_t size;                                                                                                   \
    wasm_##name##_t ptr_or_none *data;                                                                             \
  } wasm_##name##_vec_t;                                                                                           \
  WASM_API_EXTERN void wasm_##name##_vec_new_empty(own wasm_##name##_vec_t *out);                                  \
  WASM_API_EXTERN void wasm_##name##_vec_new_uninitialized(own wasm_##name##_vec_t *out, size_t);                  \
  WASM_API_EXTERN void wasm_##name##_vec_new(own wasm_##name##_vec_t *out, size_t,                                 \
                                             own wasm_##name##_t ptr_or_none const[]);                             \
  WASM_API_EXTERN void wasm_##name##_vec_copy(own wasm_##name##_vec_t *out, const wasm_##name##_vec_t *);          \
  WASM_API_EXTERN void wasm_##name##_vec_delete(own wasm_##name##_vec_t *);

/* A type: owned, in vectors, copyable. */
#define WASM_DECLARE_TYPE(name)                                                                                    \
  WASM_DECLARE_OWN(name)                                                                                           \
  WASM_DECLARE_VEC(name, *)                                                                                        \
  WASM_API_EXTERN own wasm_##name##_t *wasm_##name##_copy(const wasm_##name##_t *);

/* A reference object: copy makes a new handle to the same object; same compares objects; host info (optionally
 * with a finalizer, called once when the object goes or the info is replaced) belongs to the object. */
#define WASM_DECLARE_REF_BASE(name)                                                                                \
  WASM_DECLARE_OWN(name)                                                                                           \
  WASM_API_EXTERN own wasm_##name##_t *wasm_##name##_copy(const wasm_##name##_t *);                                \
  WASM_API_EXTERN bool wasm_##name##_same(const wasm_##name##_t *, const wasm_##name##_t *);                       \
  WASM_API_EXTERN void *wasm_##name##_get_host_info(const wasm_##name##_t *);                                      \
  WASM_API_EXTERN void wasm_##name##_set_host_info(wasm_##name##_t *, void *);                                     \
  WASM_API_EXTERN void wasm_##name##_set_host_info_with_finalizer(wasm_##name##_t *, void *, void (*)(void *));

/* ... which is also a `wasm_ref_t` (the casts return the same handle, borrowed; ref_as_* is NULL for another kind). */
#define WASM_DECLARE_REF(name)                                                                                     \
  WASM_DECLARE_REF_BASE(name)                                                                                      \
  WASM_API_EXTERN wasm_ref_t *wasm_##name##_as_ref(wasm_##name##_t *);                                             \
  WASM_API_EXTERN wasm_##name##_t *wasm_ref_as_##name(wasm_ref_t *);                                               \
  WASM_API_EXTERN const wasm_ref_t *wasm_##name##_as_ref_const(const wasm_##name##_t *);                           \
  WASM_API_EXTERN const wasm_##name##_t *wasm_ref_as_##name##_const(const wasm_ref_t *);

/* ... which can also be shared with stores of other threads: share gives an owned thread-safe form, obtain a new
 * object of that kind in another store. */
#define WASM_DECLARE_SHARABLE_REF(name)                                                                            \
  WASM_DECLARE_REF(name)                                                                                           \
  WASM_DECLARE_OWN(shared_##name)                                                                                  \
  WASM_API_EXTERN own wasm_shared_##name##_t *wasm_##name##_share(const wasm_##name##_t *);                        \
  WASM_API_EXTERN own wasm_##name##_t *wasm_##name##_obtain(wasm_store_t *, const wasm_shared_##name##_t *);

/* ---- Bytes and names ------------------------------------------------------------------------------------------ */

typedef byte_t wasm_byte_t;
WASM_DECLARE_VEC(byte, )

/* A name or message: a byte vector (a message ends with a NUL byte, counted in `size`). */
typedef wasm_byte_vec_t wasm_name_t;
#define wasm_name wasm_byte_vec
#define wasm_name_new wasm_byte_vec_new
#define wasm_name_new_empty wasm_byte_vec_new_empty
#define wasm_name_new_new_uninitialized wasm_byte_vec_new_uninitialized
#define wasm_name_new_uninitialized wasm_byte_vec_new_uninitialized
#define wasm_name_copy wasm_byte_vec_copy
#define wasm_name_delete wasm_byte_vec_delete

/* A name holding `s`'s characters (no NUL), or (the _nt form) `s` with its NUL. */
static inline void wasm_name_new_from_string(own wasm_name_t *out, own const char *s) {
  wasm_name_new(out, strlen(s), s);
}
static inline void wasm_name_new_from_string_nt(own wasm_name_t *out, own const char *s) {
  wasm_name_new(out, strlen(s) + 1, s);
}

/* ---- Engine and store ------------------------------------------------------------------------------------------ */

WASM_DECLARE_OWN(config)
WASM_API_EXTERN own wasm_config_t *wasm_config_new(void);

WASM_DECLARE_OWN(engine)
WASM_API_EXTERN own wasm_engine_t *wasm_engine_new(void);
/* Takes the configuration; NULL if it is invalid. */
WASM_API_EXTERN own wasm_engine_t *wasm_engine_new_with_config(own wasm_config_t *);

/* Deleting the store handle frees the store once nothing made from it is still held. */
WASM_DECLARE_OWN(store)
WASM_API_EXTERN own wasm_store_t *wasm_store_new(wasm_engine_t *);

/* ---- Types ------------------------------------------------------------------------------------------------------ */

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum {
  WASM_CONST,
  WASM_VAR,
};

typedef struct wasm_limits_t {
  uint32_t min;
  uint32_t max; /* wasm_limits_max_default when there is no maximum */
} wasm_limits_t;
static const uint32_t wasm_limits_max_default = 0xffffffff;

WASM_DECLARE_TYPE(valtype)

typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
  WASM_I32,
  WASM_I64,
  WASM_F32,
  WASM_F64,
  WASM_EXTERNREF = 128,
  WASM_FUNCREF,
};

WASM_API_EXTERN own wasm_valtype_t *wasm_valtype_new(wasm_valkind_t);
WASM_API_EXTERN wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t *);

static inline bool wasm_valkind_is_num(wasm_valkind_t k) { return k < WASM_EXTERNREF; }
static inline bool wasm_valkind_is_ref(wasm_valkind_t k) { return k >= WASM_EXTERNREF; }
static inline bool wasm_valtype_is_num(const wasm_valtype_t *t) { return wasm_valkind_is_num(wasm_valtype_kind(t)); }
static inline bool wasm_valtype_is_ref(const wasm_valtype_t *t) { return wasm_valkind_is_ref(wasm_valtype_kind(t)); }

WASM_DECLARE_TYPE(functype)
/* Takes both vectors. */
WASM_API_EXTERN own wasm_functype_t *wasm_functype_new(own wasm_valtype_vec_t *params, own wasm_valtype_vec_t *results);
WASM_API_EXTERN const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *);
WASM_API_EXTERN const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *);

WASM_DECLARE_TYPE(globaltype)
/* Takes `content`. */
WASM_API_EXTERN own wasm_globaltype_t *wasm_globaltype_new(own wasm_valtype_t *, wasm_mutability_t);
WASM_API_EXTERN const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *);
WASM_API_EXTERN wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *);

WASM_DECLARE_TYPE(tabletype)
/* Takes `element` (a reference type; NULL is returned otherwise). */
WASM_API_EXTERN own wasm_tabletype_t *wasm_tabletype_new(own wasm_valtype_t *, const wasm_limits_t *);
WASM_API_EXTERN const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *);
WASM_API_EXTERN const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *);

WASM_DECLARE_TYPE(memorytype)
WASM_API_EXTERN own wasm_memorytype_t *wasm_memorytype_new(const wasm_limits_t *);
WASM_API_EXTERN const wasm_limits_t *wasm_memorytype_limits(const wasm_memorytype_t *);

/* Any of the four; the casts return the same object (NULL when it is of another kind). */
WASM_DECLARE_TYPE(externtype)

typedef uint8_t wasm_externkind_t;
enum wasm_externkind_enum {
  WASM_EXTERN_FUNC,
  WASM_EXTERN_GLOBAL,
  WASM_EXTERN_TABLE,
  WASM_EXTERN_MEMORY,
};

WASM_API_EXTERN wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *);

#define WASM_DECLARE_EXTERNTYPE_CASTS(name)                                                                        \
  WASM_API_EXTERN wasm_externtype_t *wasm_##name##_as_externtype(wasm_##name##_t *);                               \
  WASM_API_EXTERN const wasm_externtype_t *wasm_##name##_as_externtype_const(const wasm_##name##_t *);             \
  WASM_API_EXTERN wasm_##name##_t *wasm_externtype_as_##name(wasm_externtype_t *);                                 \
  WASM_API_EXTERN const wasm_##name##_t *wasm_externtype_as_##name##_const(const wasm_externtype_t *);
WASM_DECLARE_EXTERNTYPE_CASTS(functype)
WASM_DECLARE_EXTERNTYPE_CASTS(globaltype)
WASM_DECLARE_EXTERNTYPE_CASTS(tabletype)
WASM_DECLARE_EXTERNTYPE_CASTS(memorytype)

WASM_DECLARE_TYPE(importtype)
/* Takes all three. */
WASM_API_EXTERN own wasm_importtype_t *wasm_importtype_new(own wasm_name_t *module, own wasm_name_t *name,
                                                           own wasm_externtype_t *);
WASM_API_EXTERN const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *);
WASM_API_EXTERN const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *);
WASM_API_EXTERN const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *);

WASM_DECLARE_TYPE(exporttype)
/* Takes both. */
WASM_API_EXTERN own wasm_exporttype_t *wasm_exporttype_new(own wasm_name_t *, own wasm_externtype_t *);
WASM_API_EXTERN const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *);
WASM_API_EXTERN const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *);

/* ---- Values ------------------------------------------------------------------------------------------------------ */

struct wasm_ref_t;

/* A value. A reference kind holds a `wasm_ref_t` handle (NULL: the null reference); a function is passed as
 * WASM_FUNCREF, anything else (a foreign object, or any other object) may travel as WASM_EXTERNREF and comes back
 * out of wasm as the same object. */
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

/* Deletes the value's reference, if it has one. */
WASM_API_EXTERN void wasm_val_delete(own wasm_val_t *v);
/* Copies a value; the copy owns a new handle to the same reference. */
WASM_API_EXTERN void wasm_val_copy(own wasm_val_t *out, const wasm_val_t *);

WASM_DECLARE_VEC(val, )

/* ---- References and frames ------------------------------------------------------------------------------------- */

WASM_DECLARE_REF_BASE(ref)

WASM_DECLARE_OWN(frame)
WASM_DECLARE_VEC(frame, *)
WASM_API_EXTERN own wasm_frame_t *wasm_frame_copy(const wasm_frame_t *);
/* The instance the frame ran in (borrowed from the frame); NULL when the store held several instances of the
 * frame's module when the trap was made (Weft's frames record code, not instances). */
WASM_API_EXTERN struct wasm_instance_t *wasm_frame_instance(const wasm_frame_t *);
WASM_API_EXTERN uint32_t wasm_frame_func_index(const wasm_frame_t *);
/* Offset of the executing instruction from the start of its function's body. */
WASM_API_EXTERN size_t wasm_frame_func_offset(const wasm_frame_t *);
/* Offset of the executing instruction in the module's bytes. */
WASM_API_EXTERN size_t wasm_frame_module_offset(const wasm_frame_t *);

/* ---- Traps ------------------------------------------------------------------------------------------------------- */

typedef wasm_name_t wasm_message_t; /* NUL-terminated */

WASM_DECLARE_REF(trap)
/* A trap with `message` (a trailing NUL byte is not part of the text). */
WASM_API_EXTERN own wasm_trap_t *wasm_trap_new(wasm_store_t *store, const wasm_message_t *);
/* The message, NUL-terminated. */
WASM_API_EXTERN void wasm_trap_message(const wasm_trap_t *, own wasm_message_t *out);
/* The innermost wasm frame; NULL for a trap with none (one the host made outside wasm). */
WASM_API_EXTERN own wasm_frame_t *wasm_trap_origin(const wasm_trap_t *);
/* The wasm frames, innermost first. */
WASM_API_EXTERN void wasm_trap_trace(const wasm_trap_t *, own wasm_frame_vec_t *out);

/* ---- Foreign objects ------------------------------------------------------------------------------------------- */

/* An opaque host object (give it host info), which wasm can hold as an externref. */
WASM_DECLARE_REF(foreign)
WASM_API_EXTERN own wasm_foreign_t *wasm_foreign_new(wasm_store_t *);

/* ---- Modules ----------------------------------------------------------------------------------------------------- */

WASM_DECLARE_SHARABLE_REF(module)
/* NULL if `binary` is not a valid module for the store's engine. */
WASM_API_EXTERN own wasm_module_t *wasm_module_new(wasm_store_t *, const wasm_byte_vec_t *binary);
WASM_API_EXTERN bool wasm_module_validate(wasm_store_t *, const wasm_byte_vec_t *binary);
WASM_API_EXTERN void wasm_module_imports(const wasm_module_t *, own wasm_importtype_vec_t *out);
WASM_API_EXTERN void wasm_module_exports(const wasm_module_t *, own wasm_exporttype_vec_t *out);
/* Compiled code, loadable by wasm_module_deserialize into an engine with the same settings (it is native code:
 * load only what you made or trust). */
WASM_API_EXTERN void wasm_module_serialize(const wasm_module_t *, own wasm_byte_vec_t *out);
WASM_API_EXTERN own wasm_module_t *wasm_module_deserialize(wasm_store_t *, const wasm_byte_vec_t *);

/* ---- Functions --------------------------------------------------------------------------------------------------- */

WASM_DECLARE_REF(func)

/* A host function's body: reads `args`, writes `results` (sized to the result count, values owned by the
 * callee's caller); returns NULL, or a trap that the call then raises (ownership passes to the runtime). */
typedef own wasm_trap_t *(*wasm_func_callback_t)(const wasm_val_vec_t *args, own wasm_val_vec_t *results);
typedef own wasm_trap_t *(*wasm_func_callback_with_env_t)(void *env, const wasm_val_vec_t *args,
                                                          wasm_val_vec_t *results);

WASM_API_EXTERN own wasm_func_t *wasm_func_new(wasm_store_t *, const wasm_functype_t *, wasm_func_callback_t);
/* `finalizer`, if not NULL, is called with `env` when the store is deleted (the store keeps every function it
 * made, whatever handles to it the host deletes). */
WASM_API_EXTERN own wasm_func_t *wasm_func_new_with_env(wasm_store_t *, const wasm_functype_t *type,
                                                        wasm_func_callback_with_env_t, void *env,
                                                        void (*finalizer)(void *));
WASM_API_EXTERN own wasm_functype_t *wasm_func_type(const wasm_func_t *);
WASM_API_EXTERN size_t wasm_func_param_arity(const wasm_func_t *);
WASM_API_EXTERN size_t wasm_func_result_arity(const wasm_func_t *);
/* Calls the function: NULL on success (the results, owned by the caller, in `results`), else the trap (also for
 * arguments that do not match the parameters, or a results vector shorter than the result count). */
WASM_API_EXTERN own wasm_trap_t *wasm_func_call(const wasm_func_t *, const wasm_val_vec_t *args,
                                                wasm_val_vec_t *results);

/* ---- Globals ----------------------------------------------------------------------------------------------------- */

WASM_DECLARE_REF(global)
/* NULL if the value does not have the type. */
WASM_API_EXTERN own wasm_global_t *wasm_global_new(wasm_store_t *, const wasm_globaltype_t *, const wasm_val_t *);
WASM_API_EXTERN own wasm_globaltype_t *wasm_global_type(const wasm_global_t *);
WASM_API_EXTERN void wasm_global_get(const wasm_global_t *, own wasm_val_t *out);
/* A value of the wrong type, or setting an immutable global, changes nothing. */
WASM_API_EXTERN void wasm_global_set(wasm_global_t *, const wasm_val_t *);

/* ---- Tables ------------------------------------------------------------------------------------------------------ */

WASM_DECLARE_REF(table)
typedef uint32_t wasm_table_size_t;
/* Every element `init` (NULL: null). NULL if the table cannot be made. */
WASM_API_EXTERN own wasm_table_t *wasm_table_new(wasm_store_t *, const wasm_tabletype_t *, wasm_ref_t *init);
WASM_API_EXTERN own wasm_tabletype_t *wasm_table_type(const wasm_table_t *);
/* NULL for a null element or an index out of bounds. */
WASM_API_EXTERN own wasm_ref_t *wasm_table_get(const wasm_table_t *, wasm_table_size_t index);
/* False if the index is out of bounds or the reference does not fit the element type. */
WASM_API_EXTERN bool wasm_table_set(wasm_table_t *, wasm_table_size_t index, wasm_ref_t *);
WASM_API_EXTERN wasm_table_size_t wasm_table_size(const wasm_table_t *);
WASM_API_EXTERN bool wasm_table_grow(wasm_table_t *, wasm_table_size_t delta, wasm_ref_t *init);

/* ---- Memories ---------------------------------------------------------------------------------------------------- */

WASM_DECLARE_REF(memory)
typedef uint32_t wasm_memory_pages_t;
static const size_t MEMORY_PAGE_SIZE = 0x10000;
WASM_API_EXTERN own wasm_memory_t *wasm_memory_new(wasm_store_t *, const wasm_memorytype_t *);
WASM_API_EXTERN own wasm_memorytype_t *wasm_memory_type(const wasm_memory_t *);
/* The bytes stay where they are until the memory grows. */
WASM_API_EXTERN byte_t *wasm_memory_data(wasm_memory_t *);
WASM_API_EXTERN size_t wasm_memory_data_size(const wasm_memory_t *);
WASM_API_EXTERN wasm_memory_pages_t wasm_memory_size(const wasm_memory_t *);
WASM_API_EXTERN bool wasm_memory_grow(wasm_memory_t *, wasm_memory_pages_t delta);

/* ---- Externals --------------------------------------------------------------------------------------------------- */

WASM_DECLARE_REF(extern)
WASM_DECLARE_VEC(extern, *)

WASM_API_EXTERN wasm_externkind_t wasm_extern_kind(const wasm_extern_t *);
WASM_API_EXTERN own wasm_externtype_t *wasm_extern_type(const wasm_extern_t *);

#define WASM_DECLARE_EXTERN_CASTS(name)                                                                            \
  WASM_API_EXTERN wasm_extern_t *wasm_##name##_as_extern(wasm_##name##_t *);                                       \
  WASM_API_EXTERN const wasm_extern_t *wasm_##name##_as_extern_const(const wasm_##name##_t *);                     \
  WASM_API_EXTERN wasm_##name##_t *wasm_extern_as_##name(wasm_extern_t *);                                         \
  WASM_API_EXTERN const wasm_##name##_t *wasm_extern_as_##name##_const(const wasm_extern_t *);
WASM_DECLARE_EXTERN_CASTS(func)
WASM_DECLARE_EXTERN_CASTS(global)
WASM_DECLARE_EXTERN_CASTS(table)
WASM_DECLARE_EXTERN_CASTS(memory)

/* ---- Instances --------------------------------------------------------------------------------------------------- */

WASM_DECLARE_REF(instance)
/* `imports` in the module's import order. NULL on failure; then `*trap` (if `trap` is not NULL) is the trap or
 * error that stopped it (a trap of the start function, or a link error). */
WASM_API_EXTERN own wasm_instance_t *wasm_instance_new(wasm_store_t *, const wasm_module_t *,
                                                       const wasm_extern_vec_t *imports, own wasm_trap_t **trap);
/* The exports, in the module's export order. */
WASM_API_EXTERN void wasm_instance_exports(const wasm_instance_t *, own wasm_extern_vec_t *out);

/* ---- Conveniences ------------------------------------------------------------------------------------------------ */

#define WASM_EMPTY_VEC {0, NULL}
#define WASM_ARRAY_VEC(array) {sizeof(array) / sizeof(*(array)), array}

static inline own wasm_valtype_t *wasm_valtype_new_i32(void) { return wasm_valtype_new(WASM_I32); }
static inline own wasm_valtype_t *wasm_valtype_new_i64(void) { return wasm_valtype_new(WASM_I64); }
static inline own wasm_valtype_t *wasm_valtype_new_f32(void) { return wasm_valtype_new(WASM_F32); }
static inline own wasm_valtype_t *wasm_valtype_new_f64(void) { return wasm_valtype_new(WASM_F64); }
static inline own wasm_valtype_t *wasm_valtype_new_externref(void) { return wasm_valtype_new(WASM_EXTERNREF); }
static inline own wasm_valtype_t *wasm_valtype_new_funcref(void) { return wasm_valtype_new(WASM_FUNCREF); }

/* wasm_functype_new_<P>_<R>: a function type of P parameters and R results, taking the value types given. */
static inline own wasm_functype_t *wasm_functype_new_from_arrays_(size_t np, own wasm_valtype_t **ps, size_t nr,
                                                                  own wasm_valtype_t **rs) {
  wasm_valtype_vec_t params, results;
  if (np) wasm_valtype_vec_new(&params, np, ps); else wasm_valtype_vec_new_empty(&params);
  if (nr) wasm_valtype_vec_new(&results, nr, rs); else wasm_valtype_vec_new_empty(&results);
  return wasm_functype_new(&params, &results);
}
static inline own wasm_functype_t *wasm_functype_new_0_0(void) {
  return wasm_functype_new_from_arrays_(0, NULL, 0, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_1_0(own wasm_valtype_t *p) {
  wasm_valtype_t *ps[1] = {p};
  return wasm_functype_new_from_arrays_(1, ps, 0, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_2_0(own wasm_valtype_t *p1, own wasm_valtype_t *p2) {
  wasm_valtype_t *ps[2] = {p1, p2};
  return wasm_functype_new_from_arrays_(2, ps, 0, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_3_0(own wasm_valtype_t *p1, own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *p3) {
  wasm_valtype_t *ps[3] = {p1, p2, p3};
  return wasm_functype_new_from_arrays_(3, ps, 0, NULL);
}
static inline own wasm_functype_t *wasm_functype_new_0_1(own wasm_valtype_t *r) {
  wasm_valtype_t *rs[1] = {r};
  return wasm_functype_new_from_arrays_(0, NULL, 1, rs);
}
static inline own wasm_functype_t *wasm_functype_new_1_1(own wasm_valtype_t *p, own wasm_valtype_t *r) {
  wasm_valtype_t *ps[1] = {p};
  wasm_valtype_t *rs[1] = {r};
  return wasm_functype_new_from_arrays_(1, ps, 1, rs);
}
static inline own wasm_functype_t *wasm_functype_new_2_1(own wasm_valtype_t *p1, own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *r) {
  wasm_valtype_t *ps[2] = {p1, p2};
  wasm_valtype_t *rs[1] = {r};
  return wasm_functype_new_from_arrays_(2, ps, 1, rs);
}
static inline own wasm_functype_t *wasm_functype_new_3_1(own wasm_valtype_t *p1, own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *p3, own wasm_valtype_t *r) {
  wasm_valtype_t *ps[3] = {p1, p2, p3};
  wasm_valtype_t *rs[1] = {r};
  return wasm_functype_new_from_arrays_(3, ps, 1, rs);
}
static inline own wasm_functype_t *wasm_functype_new_0_2(own wasm_valtype_t *r1, own wasm_valtype_t *r2) {
  wasm_valtype_t *rs[2] = {r1, r2};
  return wasm_functype_new_from_arrays_(0, NULL, 2, rs);
}
static inline own wasm_functype_t *wasm_functype_new_1_2(own wasm_valtype_t *p, own wasm_valtype_t *r1,
                                                         own wasm_valtype_t *r2) {
  wasm_valtype_t *ps[1] = {p};
  wasm_valtype_t *rs[2] = {r1, r2};
  return wasm_functype_new_from_arrays_(1, ps, 2, rs);
}
static inline own wasm_functype_t *wasm_functype_new_2_2(own wasm_valtype_t *p1, own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *r1, own wasm_valtype_t *r2) {
  wasm_valtype_t *ps[2] = {p1, p2};
  wasm_valtype_t *rs[2] = {r1, r2};
  return wasm_functype_new_from_arrays_(2, ps, 2, rs);
}
static inline own wasm_functype_t *wasm_functype_new_3_2(own wasm_valtype_t *p1, own wasm_valtype_t *p2,
                                                         own wasm_valtype_t *p3, own wasm_valtype_t *r1,
                                                         own wasm_valtype_t *r2) {
  wasm_valtype_t *ps[3] = {p1, p2, p3};
  wasm_valtype_t *rs[2] = {r1, r2};
  return wasm_functype_new_from_arrays_(3, ps, 2, rs);
}

/* A pointer as an integer value of the pointer's width, and back. */
static inline void wasm_val_init_ptr(own wasm_val_t *out, void *p) {
#if UINTPTR_MAX == UINT32_MAX
  out->kind = WASM_I32;
  out->of.i32 = (intptr_t)p;
#else
  out->kind = WASM_I64;
  out->of.i64 = (intptr_t)p;
#endif
}
static inline void *wasm_val_ptr(const wasm_val_t *val) {
#if UINTPTR_MAX == UINT32_MAX
  return (void *)(intptr_t)val->of.i32;
#else
  return (void *)(intptr_t)val->of.i64;
#endif
}

#define WASM_I32_VAL(value) {.kind = WASM_I32, .of = {.i32 = value}}
#define WASM_I64_VAL(value) {.kind = WASM_I64, .of = {.i64 = value}}
#define WASM_F32_VAL(value) {.kind = WASM_F32, .of = {.f32 = value}}
#define WASM_F64_VAL(value) {.kind = WASM_F64, .of = {.f64 = value}}
#define WASM_REF_VAL(reference) {.kind = WASM_EXTERNREF, .of = {.ref = reference}}
#define WASM_INIT_VAL {.kind = WASM_EXTERNREF, .of = {.ref = NULL}}

#undef own

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WASM_H */
