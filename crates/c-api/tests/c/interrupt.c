/* weft.h: interrupting an infinite loop from another thread, fuel, epochs, errors. Usage: interrupt MODULE.wasm */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "weft.h"
#include "common.h"

static void *interrupt_later(void *handle) {
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL);
  weft_interrupt_handle_interrupt(handle);
  return NULL;
}

static void print_error(const char *what, weft_error_t *error) {
  if (!error) {
    printf("%s: ok\n", what);
    return;
  }
  wasm_message_t message;
  weft_error_message(error, &message);
  printf("%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  weft_error_delete(error);
}

static wasm_func_t *export_func(wasm_store_t *store, wasm_module_t *module, wasm_instance_t **instance_out,
                                wasm_extern_vec_t *exports) {
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  *instance_out = wasm_instance_new(store, module, &imports, NULL);
  wasm_instance_exports(*instance_out, exports);
  return wasm_extern_as_func(exports->data[0]);
}

int main(int argc, char **argv) {
  wasm_byte_vec_t binary;
  if (argc != 2 || read_module(argv[1], &binary) != 0) return 2;

  wasm_config_t *config = wasm_config_new();
  weft_config_interruptible_set(config, true);
  weft_config_consume_fuel_set(config, true);
  weft_config_epoch_interruption_set(config, true);
  wasm_engine_t *engine = wasm_engine_new_with_config(config);
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  wasm_instance_t *instance;
  wasm_extern_vec_t exports;
  wasm_func_t *spin = export_func(store, module, &instance, &exports);
  wasm_val_vec_t none = WASM_EMPTY_VEC;

  /* An infinite loop, stopped from another thread. */
  print_error("fuel", weft_store_set_fuel(store, UINT64_MAX / 2));
  weft_interrupt_handle_t *handle = weft_interrupt_handle_new(store);
  pthread_t thread;
  pthread_create(&thread, NULL, interrupt_later, handle);
  print_trap("spin, interrupted", wasm_func_call(spin, &none, &none), "returned");
  pthread_join(thread, NULL);
  weft_interrupt_handle_delete(handle);

  /* The same loop, stopped by fuel. */
  print_error("fuel", weft_store_set_fuel(store, 10000));
  print_trap("spin, with fuel", wasm_func_call(spin, &none, &none), "returned");
  uint64_t left = 1;
  print_error("get fuel", weft_store_get_fuel(store, &left));
  printf("fuel left: %llu\n", (unsigned long long)left);

  /* And by an epoch deadline. */
  print_error("fuel", weft_store_set_fuel(store, UINT64_MAX / 2));
  print_error("deadline", weft_store_set_epoch_deadline(store, 1));
  weft_engine_increment_epoch(engine);
  print_trap("spin, past the deadline", wasm_func_call(spin, &none, &none), "returned");

  /* Errors: an engine without interrupts has no handle; a store without fuel consumption refuses fuel. */
  wasm_engine_t *plain = wasm_engine_new();
  wasm_store_t *plain_store = wasm_store_new(plain);
  printf("handle without interrupts: %p\n", (void *)weft_interrupt_handle_new(plain_store));
  print_error("fuel without consumption", weft_store_set_fuel(plain_store, 5));
  wasm_store_delete(plain_store);
  wasm_engine_delete(plain);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
