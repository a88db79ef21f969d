/* Helpers the examples share: compiling a module from its text, reporting errors and traps, finding exports. */
#ifndef WEFT_EXAMPLE_H
#define WEFT_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "weft.h"

/* Prints an error's message (prefixed with `what`), deletes it and exits. */
static inline void die(const char *what, weft_error_t *error) {
  wasm_message_t message;
  weft_error_message(error, &message);
  fprintf(stderr, "%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  weft_error_delete(error);
  exit(1);
}

/* The module written in the text format `wat`, compiled for `store`; exits on error. */
static inline wasm_module_t *compile_wat(wasm_store_t *store, const char *wat) {
  wasm_byte_vec_t binary;
  weft_error_t *error = weft_wat2wasm(wat, strlen(wat), &binary);
  if (error) die("parsing the module", error);
  wasm_module_t *module;
  error = weft_module_new(store, &binary, &module);
  wasm_byte_vec_delete(&binary);
  if (error) die("compiling the module", error);
  return module;
}

/* Prints "<what>: <message>" for a trap and deletes it; "<what>: no trap" without one. */
static inline void report_trap(const char *what, wasm_trap_t *trap) {
  if (!trap) {
    printf("%s: no trap\n", what);
    return;
  }
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  printf("%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  wasm_trap_delete(trap);
}

/* Instantiates `module` with `imports` (n of them); exits if it fails. */
static inline wasm_instance_t *instantiate(wasm_store_t *store, wasm_module_t *module, wasm_extern_t **imports,
                                           size_t n) {
  wasm_extern_vec_t vec = {n, imports};
  wasm_trap_t *trap = NULL;
  wasm_instance_t *instance = wasm_instance_new(store, module, &vec, &trap);
  if (!instance) {
    report_trap("instantiation failed", trap);
    exit(1);
  }
  return instance;
}

/* Export `i` of `exports` as a function; exits if it is not one. */
static inline wasm_func_t *export_func(const wasm_extern_vec_t *exports, size_t i) {
  wasm_func_t *func = i < exports->size ? wasm_extern_as_func(exports->data[i]) : NULL;
  if (!func) {
    fprintf(stderr, "export %zu is not a function\n", i);
    exit(1);
  }
  return func;
}

#endif
