/* Helpers shared by the C test programs. */
#ifndef WEFT_TEST_COMMON_H
#define WEFT_TEST_COMMON_H

#include <stdio.h>
#include "wasm.h"

/* Reads the file at `path` into `out` (a new vector); 0 on success. */
static inline int read_module(const char *path, wasm_byte_vec_t *out) {
  FILE *file = fopen(path, "rb");
  if (!file) return -1;
  fseek(file, 0, SEEK_END);
  size_t size = (size_t)ftell(file);
  fseek(file, 0, SEEK_SET);
  wasm_byte_vec_new_uninitialized(out, size);
  size_t read = fread(out->data, 1, size, file);
  fclose(file);
  if (read != size) {
    wasm_byte_vec_delete(out);
    return -1;
  }
  return 0;
}

/* Prints "what: <message>" and deletes the trap, or "what: <if_none>" when there is none. */
static inline void print_trap(const char *what, wasm_trap_t *trap, const char *if_none) {
  if (!trap) {
    printf("%s: %s\n", what, if_none);
    return;
  }
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  printf("%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  wasm_trap_delete(trap);
}

#endif
