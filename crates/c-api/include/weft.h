/*
 * Weft's additions to the WebAssembly C API (includes wasm.h and wasi.h): configuration beyond the standard
 * (proposals, code generation, the compilation cache, profilers, pooling), resource limits, fuel, epochs,
 * interrupting running wasm from another thread, a linker with WASI, the text format, trap codes and errors.
 * Names follow Wasmtime's C API where a user would look for them
 * (wasmtime_config_consume_fuel_set -> weft_config_consume_fuel_set).
 *
 * Functions returning `weft_error_t *` return NULL on success, else an error the caller deletes.
 */
#ifndef WEFT_H
#define WEFT_H

#include "wasm.h"
#include "wasi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors and traps -------------------------------------------------------------------------------------- */

/* An error; its message (NUL-terminated) names what was wrong and where. */
typedef struct weft_error_t weft_error_t;
weft_error_t *weft_error_new(const char *message);
void weft_error_message(const weft_error_t *error, wasm_message_t *out);
/* Whether the error is a WASI program's exit (proc_exit); then its status is in `*status`. */
bool weft_error_exit_status(const weft_error_t *error, int *status);
void weft_error_delete(weft_error_t *error);

/* Why wasm trapped. */
typedef uint8_t weft_trap_code_t;
enum weft_trap_code_enum {
  WEFT_TRAP_CODE_STACK_OVERFLOW,
  WEFT_TRAP_CODE_MEMORY_OUT_OF_BOUNDS,
  WEFT_TRAP_CODE_TABLE_OUT_OF_BOUNDS,
  WEFT_TRAP_CODE_UNDEFINED_ELEMENT,      /* call_indirect past the end of the table */
  WEFT_TRAP_CODE_UNINITIALIZED_ELEMENT,  /* call_indirect through a null element */
  WEFT_TRAP_CODE_BAD_SIGNATURE,
  WEFT_TRAP_CODE_INTEGER_OVERFLOW,
  WEFT_TRAP_CODE_INTEGER_DIVISION_BY_ZERO,
  WEFT_TRAP_CODE_BAD_CONVERSION_TO_INTEGER,
  WEFT_TRAP_CODE_UNREACHABLE_CODE_REACHED,
  WEFT_TRAP_CODE_NULL_REFERENCE,
  WEFT_TRAP_CODE_INTERRUPT,              /* an interrupt handle, or the epoch deadline */
  WEFT_TRAP_CODE_OUT_OF_FUEL,
  WEFT_TRAP_CODE_NULL_FUNCTION_REFERENCE,
};
/* The trap's code, if wasm raised it; false for a trap the host made, an error, or a WASI exit. */
bool weft_trap_code(const wasm_trap_t *trap, weft_trap_code_t *code);
/* Whether the trap is a WASI program's exit (wasm_func_call on _start reports proc_exit so); status in `*status`. */
bool weft_trap_exit_status(const wasm_trap_t *trap, int *status);
/* The frame's function and module names from the name section, or NULL (borrowed from the frame). */
const wasm_name_t *weft_frame_func_name(const wasm_frame_t *frame);
const wasm_name_t *weft_frame_module_name(const wasm_frame_t *frame);

/* ---- Configuration ------------------------------------------------------------------------------------------ */

/* Configuration (before wasm_engine_new_with_config). */
void weft_config_consume_fuel_set(wasm_config_t *config, bool on);
void weft_config_epoch_interruption_set(wasm_config_t *config, bool on);
/* Makes weft_interrupt_handle_* usable: compiled code checks a flag at function entries and loop headers. */
void weft_config_interruptible_set(wasm_config_t *config, bool on);
void weft_config_explicit_bounds_checks_set(wasm_config_t *config, bool on);
void weft_config_wasm_tail_call_set(wasm_config_t *config, bool on);
void weft_config_wasm_simd_set(wasm_config_t *config, bool on);
void weft_config_wasm_multi_memory_set(wasm_config_t *config, bool on);
void weft_config_wasm_memory64_set(wasm_config_t *config, bool on);
void weft_config_wasm_exceptions_set(wasm_config_t *config, bool on);
void weft_config_parallel_compilation_set(wasm_config_t *config, bool on);
/* Inlines small functions into their callers when optimising (default on); backtraces still show every frame. */
void weft_config_inlining_set(wasm_config_t *config, bool on);
/* Describes compiled code to gdb (its JIT interface) with each module's DWARF, so gdb stops on source lines of
 * running wasm and shows its frames and variables (default off; nothing is inlined with it). docs/debugging.md. */
void weft_config_debug_info_set(wasm_config_t *config, bool on);
/* 0 none, 1 speed (the default), 2 speed and size. */
void weft_config_opt_level_set(wasm_config_t *config, uint8_t level);
void weft_config_max_wasm_stack_set(wasm_config_t *config, size_t bytes);
/* When functions are compiled: all before instantiation (EAGER), each on its first call (LAZY), or first quickly and
 * then optimised in the background when hot (TIERED); AUTO, the default, is eager below 1 MiB of code, lazy above. */
#define WEFT_COMPILATION_AUTO 0
#define WEFT_COMPILATION_EAGER 1
#define WEFT_COMPILATION_LAZY 2
#define WEFT_COMPILATION_TIERED 3
void weft_config_compilation_set(wasm_config_t *config, uint8_t mode);
void weft_config_wasm_bulk_memory_set(wasm_config_t *config, bool on);
void weft_config_wasm_reference_types_set(wasm_config_t *config, bool on);
void weft_config_wasm_multi_value_set(wasm_config_t *config, bool on);
void weft_config_wasm_extended_const_set(wasm_config_t *config, bool on);
void weft_config_wasm_function_references_set(wasm_config_t *config, bool on);
void weft_config_wasm_relaxed_simd_set(wasm_config_t *config, bool on);
/* Relaxed-SIMD instructions give the same results on every machine. */
void weft_config_relaxed_simd_deterministic_set(wasm_config_t *config, bool on);
void weft_config_cranelift_verifier_set(wasm_config_t *config, bool on);
/* Guard pages and signal handlers catch out-of-bounds accesses (off: explicit checks everywhere). */
void weft_config_signals_based_traps_set(wasm_config_t *config, bool on);
/* Data segments mapped copy-on-write from the module's image. */
void weft_config_memory_init_cow_set(wasm_config_t *config, bool on);
void weft_config_coredump_on_trap_set(wasm_config_t *config, bool on);
/* Address space reserved for each linear memory, and the guard region after it. */
void weft_config_memory_reservation_set(wasm_config_t *config, uint64_t bytes);
void weft_config_memory_guard_size_set(wasm_config_t *config, uint64_t bytes);
/* The compilation cache, in `dir` (NULL: $XDG_CACHE_HOME/weft). */
weft_error_t *weft_config_cache_set(wasm_config_t *config, const char *dir);
/* Compile for another target (e.g. "aarch64-unknown-linux-gnu"), for wasm_module_serialize. */
weft_error_t *weft_config_target_set(wasm_config_t *config, const char *triple);
typedef uint8_t weft_profiling_strategy_t;
enum weft_profiling_strategy_enum {
  WEFT_PROFILING_STRATEGY_NONE,
  WEFT_PROFILING_STRATEGY_JITDUMP, /* jit-<pid>.dump for `perf inject --jit` */
  WEFT_PROFILING_STRATEGY_PERFMAP, /* /tmp/perf-<pid>.map for `perf report` */
  WEFT_PROFILING_STRATEGY_VTUNE,   /* Intel VTune's JIT API; x86-64 only (elsewhere the engine is not made) */
};
void weft_config_profiler_set(wasm_config_t *config, weft_profiling_strategy_t strategy);

/* Cranelift settings by name; one Weft does not let code generation change is refused when the engine is made. */
weft_error_t *weft_config_cranelift_flag_set(wasm_config_t *config, const char *name, const char *value);
weft_error_t *weft_config_cranelift_flag_enable(wasm_config_t *config, const char *name);

/* Linear memories in storage the embedder provides. `new_memory` fills `*memory` for a memory of `type`, `minimum`
 * bytes long, never grown past `maximum` bytes (SIZE_MAX: no maximum). With `reserved_size_in_bytes` non-zero (a
 * guard-page memory: compiled code checks no access below reserved + guard) the memory must reserve that many
 * bytes followed by `guard_size_in_bytes`, all inaccessible past its size, at a base that never moves; with 0
 * (explicitly bounds-checked code) it may move when it grows. `get_memory` returns byte 0's address and writes the
 * size and the bytes it can grow to without moving; `grow_memory` grows it to `new_size` (a multiple of 64 KiB) or
 * returns an error refusing. These promises are what keeps wasm inside its memory: Weft checks what it can
 * (alignment, sizes, the mapping), the rest is the embedder's. Callbacks may be called from any thread running
 * the engine's stores. */
typedef struct weft_linear_memory_t {
  void *env;
  uint8_t *(*get_memory)(void *env, size_t *byte_size, size_t *byte_capacity);
  weft_error_t *(*grow_memory)(void *env, size_t new_size);
  void (*finalizer)(void *env);
} weft_linear_memory_t;
typedef struct weft_memory_creator_t {
  void *env;
  weft_error_t *(*new_memory)(void *env, const wasm_memorytype_t *type, size_t minimum, size_t maximum,
                              size_t reserved_size_in_bytes, size_t guard_size_in_bytes, weft_linear_memory_t *memory);
  void (*finalizer)(void *env);
} weft_memory_creator_t;
/* Copies `creator`; its finalizer runs when the last engine made with it goes. */
void weft_config_host_memory_creator_set(wasm_config_t *config, const weft_memory_creator_t *creator);

/* The pooling allocator: instances, memories and tables from pools reserved when the engine is made. */
typedef struct weft_pooling_config_t weft_pooling_config_t;
weft_pooling_config_t *weft_pooling_config_new(void);
void weft_pooling_config_delete(weft_pooling_config_t *pooling);
void weft_pooling_config_total_core_instances_set(weft_pooling_config_t *pooling, uint32_t n);
void weft_pooling_config_total_memories_set(weft_pooling_config_t *pooling, uint32_t n);
void weft_pooling_config_total_tables_set(weft_pooling_config_t *pooling, uint32_t n);
void weft_pooling_config_max_memory_size_set(weft_pooling_config_t *pooling, size_t bytes);
void weft_pooling_config_table_elements_set(weft_pooling_config_t *pooling, size_t elements);
void weft_pooling_config_max_core_instance_size_set(weft_pooling_config_t *pooling, size_t bytes);
void weft_pooling_config_max_memories_per_module_set(weft_pooling_config_t *pooling, uint32_t n);
void weft_pooling_config_max_tables_per_module_set(weft_pooling_config_t *pooling, uint32_t n);
/* Copies `pooling`; the caller keeps it. */
void weft_config_pooling_allocation_set(wasm_config_t *config, const weft_pooling_config_t *pooling);

/* ---- Stores: limits, fuel, epochs, interrupts ------------------------------------------------------------------ */

/* Bytes of one memory, elements of one table, and how many instances, tables and memories the store may hold
 * (negative: the default). Growth beyond a limit fails; creation beyond one is an error. */
weft_error_t *weft_store_limiter(wasm_store_t *store, int64_t memory_size, int64_t table_elements,
                                 int64_t instances, int64_t tables, int64_t memories);

/* Epochs: any thread may advance the engine's epoch; a store's wasm traps once it passes the store's deadline. */
void weft_engine_increment_epoch(const wasm_engine_t *engine);
/* These return NULL, or an error the caller deletes (also when called from a host function of the same store). */
weft_error_t *weft_store_set_epoch_deadline(wasm_store_t *store, uint64_t ticks_beyond_current);
weft_error_t *weft_store_set_fuel(wasm_store_t *store, uint64_t fuel);
weft_error_t *weft_store_get_fuel(wasm_store_t *store, uint64_t *fuel);

/* Stopping running wasm from another thread (the engine must be interruptible; NULL otherwise). The handle may be
 * used from any thread and may outlive its store. */
typedef struct weft_interrupt_handle_t weft_interrupt_handle_t;
weft_interrupt_handle_t *weft_interrupt_handle_new(wasm_store_t *store);
void weft_interrupt_handle_interrupt(const weft_interrupt_handle_t *handle);
void weft_interrupt_handle_delete(weft_interrupt_handle_t *handle);

/* ---- Modules and the text format ------------------------------------------------------------------------- */

/* The text format to the binary format. */
weft_error_t *weft_wat2wasm(const char *wat, size_t len, wasm_byte_vec_t *out);
/* wasm_module_new that says what was wrong. */
weft_error_t *weft_module_new(wasm_store_t *store, const wasm_byte_vec_t *binary, wasm_module_t **out);
/* Loads a serialized module (a .cwasm of `weft compile`, or wasm_module_serialize's bytes) by mapping the file. It
 * is native code: load only what you made or trust. */
weft_error_t *weft_module_deserialize_file(wasm_store_t *store, const char *path, wasm_module_t **out);

/* ---- Linker and WASI ------------------------------------------------------------------------------------------ */

/* Definitions by module and name, for one engine; externals defined belong to their store: use the linker with
 * it. Names are (pointer, length) pairs. */
typedef struct weft_linker_t weft_linker_t;
weft_linker_t *weft_linker_new(const wasm_engine_t *engine);
void weft_linker_delete(weft_linker_t *linker);
/* Whether a later definition of a name replaces an earlier one (off: an error). */
void weft_linker_allow_shadowing(weft_linker_t *linker, bool allow);
weft_error_t *weft_linker_define(weft_linker_t *linker, wasm_store_t *store, const char *module, size_t module_len,
                                 const char *name, size_t name_len, const wasm_extern_t *item);
/* WASI preview1, acting on the calling store's WASI context (weft_store_set_wasi). */
weft_error_t *weft_linker_define_wasi(weft_linker_t *linker);
weft_error_t *weft_linker_define_instance(weft_linker_t *linker, wasm_store_t *store, const char *name,
                                          size_t name_len, const wasm_instance_t *instance);
weft_error_t *weft_linker_define_unknown_imports_as_traps(weft_linker_t *linker, const wasm_module_t *module);
/* On success NULL with the instance in `*instance`; a trap of the start function comes back in `*trap` (NULL
 * returned); a link error (an import missing or of the wrong type) is the returned error. */
weft_error_t *weft_linker_instantiate(const weft_linker_t *linker, wasm_store_t *store, const wasm_module_t *module,
                                      wasm_instance_t **instance, wasm_trap_t **trap);
/* A command (exporting _start) is instantiated afresh per call of its exports; a reactor once, now. */
weft_error_t *weft_linker_module(weft_linker_t *linker, wasm_store_t *store, const char *name, size_t name_len,
                                 const wasm_module_t *module);
/* The module's default export (_start, or ""). */
weft_error_t *weft_linker_get_default(const weft_linker_t *linker, wasm_store_t *store, const char *name,
                                      size_t name_len, wasm_func_t **func);
bool weft_linker_get(const weft_linker_t *linker, wasm_store_t *store, const char *module, size_t module_len,
                     const char *name, size_t name_len, wasm_extern_t **item);

/* Gives the store the WASI context `config` describes (taken, even on failure). */
weft_error_t *weft_store_set_wasi(wasm_store_t *store, wasi_config_t *config);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_H */
