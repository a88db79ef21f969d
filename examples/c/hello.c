/* The smallest embedding: compile a module from text, give it a host function, call its export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "weft.h"

static const char *WAT =
    "(module\n"
    "  (import \"host\" \"hello\" (func $hello))\n"
    "  (func (export \"run\") (call $hello)))";

static wasm_trap_t *hello(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)args;
  (void)results;
  printf("Hello from the host, called by wasm!\n");
  return NULL;
}

/* Prints an error's message and exits. */
static void die(const char *what, weft_error_t *error) {
  wasm_message_t message;
  weft_error_message(error, &message);
  fprintf(stderr, "%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  weft_error_delete(error);
  exit(1);
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);

  wasm_byte_vec_t binary;
  weft_error_t *error = weft_wat2wasm(WAT, strlen(WAT), &binary);
  if (error) die("parsing the module", error);
  wasm_module_t *module;
  error = weft_module_new(store, &binary, &module);
  if (error) die("compiling the module", error);
  wasm_byte_vec_delete(&binary);

  wasm_functype_t *type = wasm_functype_new_0_0();
  wasm_func_t *hello_func = wasm_func_new(store, type, hello);
  wasm_functype_delete(type);

  wasm_extern_t *imports_array[] = {wasm_func_as_extern(hello_func)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_array);
  wasm_trap_t *trap = NULL;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, &trap);
  if (!instance) {
    fprintf(stderr, "instantiating failed\n");
    return 1;
  }

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t *run = wasm_extern_as_func(exports.data[0]);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  trap = wasm_func_call(run, &none, &none);
  if (trap) {
    fprintf(stderr, "run trapped\n");
    return 1;
  }
  printf("Done.\n");

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(hello_func);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
