/* Stopping runaway wasm from another thread: an infinite loop is interrupted through an interrupt handle, and the
 * store runs wasm again afterwards. Epoch deadlines do the same by ticking the engine (see fuel.c for a budget). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (func (export \"spin\") (loop $forever (br $forever)))\n"
    "  (func (export \"answer\") (result i32) (i32.const 42)))";

static void *interrupt_soon(void *handle) {
  struct timespec delay = {0, 100 * 1000 * 1000};
  nanosleep(&delay, NULL);
  printf("interrupting from another thread\n");
  fflush(stdout);
  weft_interrupt_handle_interrupt(handle);
  return NULL;
}

int main(void) {
  wasm_config_t *config = wasm_config_new();
  weft_config_interruptible_set(config, true);
  wasm_engine_t *engine = wasm_engine_new_with_config(config);
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_instance_t *instance = instantiate(store, module, NULL, 0);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  weft_interrupt_handle_t *handle = weft_interrupt_handle_new(store);
  pthread_t thread;
  pthread_create(&thread, NULL, interrupt_soon, handle);
  printf("spinning\n");
  fflush(stdout);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t *trap = wasm_func_call(export_func(&exports, 0), &none, &none);
  pthread_join(thread, NULL);
  weft_trap_code_t code;
  printf("stopped by an interrupt: %d\n", trap && weft_trap_code(trap, &code) && code == WEFT_TRAP_CODE_INTERRUPT);
  report_trap("spin", trap);

  wasm_val_t result = WASM_INIT_VAL;
  wasm_val_vec_t results = {1, &result};
  report_trap("answer afterwards", wasm_func_call(export_func(&exports, 1), &none, &results));
  printf("answer: %d\n", result.of.i32);

  weft_interrupt_handle_delete(handle);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
