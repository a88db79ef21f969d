/* Linear memory in storage the embedder provides: a creator that maps guard-page memories itself (reserve, then
 * make the used part accessible as it grows), counts what it made, and refuses memories above a size. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "weft.h"
#include "common.h"

typedef struct {
  uint8_t *base;
  size_t size, reserved;
} mapped_t;

typedef struct {
  int made, freed, grown;
} stats_t;

static stats_t *stats_of_creator;

static uint8_t *get_memory(void *env, size_t *size, size_t *capacity) {
  mapped_t *m = env;
  *size = m->size;
  *capacity = m->reserved;
  return m->base;
}

static weft_error_t *grow_memory(void *env, size_t new_size) {
  mapped_t *m = env;
  if (new_size > m->reserved) return weft_error_new("beyond the reservation");
  if (mprotect(m->base, new_size, PROT_READ | PROT_WRITE) != 0) return weft_error_new("mprotect failed");
  m->size = new_size;
  stats_of_creator->grown++;
  return NULL;
}

static void free_memory(void *env) {
  mapped_t *m = env;
  munmap(m->base, m->reserved);
  free(m);
  stats_of_creator->freed++;
}

static weft_error_t *new_memory(void *env, const wasm_memorytype_t *type, size_t minimum, size_t maximum,
                                size_t reserved, size_t guard, weft_linear_memory_t *out) {
  stats_t *stats = env;
  (void)type;
  if (minimum > 4 * 65536) return weft_error_new("this host gives at most 4 pages");
  size_t reserve = reserved ? reserved + guard : (maximum < (size_t)64 << 20 ? maximum : (size_t)64 << 20);
  mapped_t *m = malloc(sizeof *m);
  m->base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m->base == MAP_FAILED) {
    free(m);
    return weft_error_new("mmap failed");
  }
  m->reserved = reserve;
  m->size = minimum;
  if (minimum && mprotect(m->base, minimum, PROT_READ | PROT_WRITE) != 0) {
    munmap(m->base, reserve);
    free(m);
    return weft_error_new("mprotect failed");
  }
  *out = (weft_linear_memory_t){.env = m, .get_memory = get_memory, .grow_memory = grow_memory, .finalizer = free_memory};
  stats->made++;
  return NULL;
}

static wasm_module_t *compile(wasm_store_t *store, const char *wat) {
  wasm_byte_vec_t binary;
  weft_wat2wasm(wat, strlen(wat), &binary);
  wasm_module_t *module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  return module;
}

int main(void) {
  stats_t stats = {0, 0, 0};
  stats_of_creator = &stats;
  weft_memory_creator_t creator = {.env = &stats, .new_memory = new_memory, .finalizer = NULL};
  wasm_config_t *config = wasm_config_new();
  weft_config_host_memory_creator_set(config, &creator);
  wasm_engine_t *engine = wasm_engine_new_with_config(config);
  wasm_store_t *store = wasm_store_new(engine);

  wasm_module_t *module = compile(store,
                                  "(module (memory (export \"m\") 1 8)"
                                  " (func (export \"poke\") (param i32 i32) (i32.store (local.get 0) (local.get 1)))"
                                  " (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))");
  wasm_extern_vec_t none = WASM_EMPTY_VEC, exports;
  wasm_instance_t *instance = wasm_instance_new(store, module, &none, NULL);
  wasm_instance_exports(instance, &exports);
  wasm_memory_t *memory = wasm_extern_as_memory(exports.data[0]);
  wasm_func_t *poke = wasm_extern_as_func(exports.data[1]), *grow = wasm_extern_as_func(exports.data[2]);
  printf("memories made by the host: %d\n", stats.made);

  wasm_val_t args[2] = {WASM_I32_VAL(100), WASM_I32_VAL(0x01020304)};
  wasm_val_vec_t poke_args = {2, args}, no_results = WASM_EMPTY_VEC;
  print_trap("poke(100)", wasm_func_call(poke, &poke_args, &no_results), "no trap");
  printf("the host's storage holds what wasm wrote: %d\n", wasm_memory_data(memory)[100]);
  args[0].of.i32 = 65536;
  print_trap("poke(65536), past the size", wasm_func_call(poke, &poke_args, &no_results), "no trap");
  wasm_val_t delta = WASM_I32_VAL(2), result = WASM_INIT_VAL;
  wasm_val_vec_t grow_args = {1, &delta}, grow_results = {1, &result};
  print_trap("grow(2)", wasm_func_call(grow, &grow_args, &grow_results), "no trap");
  printf("memory.grow returned %d; the host grew it %d time(s); size now %u pages\n", result.of.i32, stats.grown,
         wasm_memory_size(memory));
  print_trap("poke(65536), now inside", wasm_func_call(poke, &poke_args, &no_results), "no trap");

  wasm_module_t *big = compile(store, "(module (memory 5))");
  wasm_trap_t *trap = NULL;
  printf("a 5-page memory: %s\n", wasm_instance_new(store, big, &none, &trap) ? "made" : "refused");
  print_trap("why", trap, "no trap");

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(big);
  wasm_module_delete(module);
  wasm_store_delete(store);
  printf("memories freed with the store: %d of %d\n", stats.freed, stats.made);
  wasm_engine_delete(engine);
  return 0;
}
