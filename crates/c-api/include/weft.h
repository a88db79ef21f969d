/*
 * Weft's additions to the WebAssembly C API (includes wasm.h): configuration beyond the standard, fuel, epochs,
 * interrupting running wasm from another thread, and errors. Names follow Wasmtime's C API where a user would look
 * for them (wasmtime_config_consume_fuel_set -> weft_config_consume_fuel_set).
 */
#ifndef WEFT_H
#define WEFT_H

#include "wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An error; its message is NUL-terminated. */
typedef struct weft_error_t weft_error_t;
void weft_error_message(const weft_error_t *error, wasm_message_t *out);
void weft_error_delete(weft_error_t *error);

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
/* 0 none, 1 speed (the default), 2 speed and size. */
void weft_config_opt_level_set(wasm_config_t *config, uint8_t level);
void weft_config_max_wasm_stack_set(wasm_config_t *config, size_t bytes);

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_H */
