/* Weft's C API, the standard's core path: an engine and store, a module, a host function with an environment and
 * a finalizer, an instance, calling exports, traps with messages, memory access. Prints what it sees; the Rust
 * test compares the output. Usage: basics MODULE.wasm [COMPILATION_MODE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "weft.h"

static int finalized = 0;

/* host.add_env(x) = x + *env, counting calls in env[1]. */
static wasm_trap_t *add_env(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  int32_t *state = env;
  state[1]++;
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = args->data[0].of.i32 + state[0];
  return NULL;
}

static void finalize(void *env) {
  (void)env;
  finalized++;
}

static wasm_store_t *the_store;

/* host.fail() raises a trap with a message. */
static wasm_trap_t *fail(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)args;
  (void)results;
  wasm_message_t message;
  wasm_name_new(&message, sizeof("the host says no"), "the host says no");
  wasm_trap_t *trap = wasm_trap_new(the_store, &message);
  wasm_name_delete(&message);
  return trap;
}

int main(int argc, char **argv) {
  wasm_byte_vec_t binary;
  /* An optional second argument picks the compilation mode: every answer must be the same in each. */
  if (argc < 2 || argc > 3 || read_module(argv[1], &binary) != 0) return 2;

  wasm_config_t *config = wasm_config_new();
  if (argc == 3) weft_config_compilation_set(config, (uint8_t)atoi(argv[2]));
  wasm_engine_t *engine = wasm_engine_new_with_config(config);
  wasm_store_t *store = wasm_store_new(engine);
  the_store = store;
  printf("valid: %d\n", wasm_module_validate(store, &binary));
  wasm_module_t *module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 3;

  wasm_byte_vec_t garbage;
  wasm_byte_vec_new(&garbage, 8, "\0asm\2\0\0\0");
  printf("garbage valid: %d, compiles: %d\n", wasm_module_validate(store, &garbage),
         wasm_module_new(store, &garbage) != NULL);
  wasm_byte_vec_delete(&garbage);

  int32_t state[2] = {100, 0};
  wasm_functype_t *i32_to_i32 = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t *add = wasm_func_new_with_env(store, i32_to_i32, add_env, state, finalize);
  wasm_functype_delete(i32_to_i32);
  wasm_functype_t *nothing = wasm_functype_new_0_0();
  wasm_func_t *failing = wasm_func_new(store, nothing, fail);
  wasm_functype_delete(nothing);

  wasm_extern_t *imports_array[] = {wasm_func_as_extern(add), wasm_func_as_extern(failing)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_array);
  wasm_trap_t *trap = NULL;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, &trap);
  if (!instance) {
    print_trap("instantiation", trap, "no trap");
    return 4;
  }
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  printf("exports: %zu\n", exports.size);
  wasm_func_t *twice_plus = wasm_extern_as_func(exports.data[0]);
  wasm_func_t *call_fail = wasm_extern_as_func(exports.data[1]);
  wasm_func_t *divide = wasm_extern_as_func(exports.data[2]);
  wasm_memory_t *memory = wasm_extern_as_memory(exports.data[3]);
  printf("export 3 as a function: %p\n", (void *)wasm_extern_as_func(exports.data[3]));
  printf("kinds: %d %d\n", wasm_extern_kind(exports.data[0]), wasm_extern_kind(exports.data[3]));
  printf("arity: %zu -> %zu\n", wasm_func_param_arity(divide), wasm_func_result_arity(divide));

  wasm_val_t args_array[] = {WASM_I32_VAL(5)};
  wasm_val_t results_array[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(args_array);
  wasm_val_vec_t results = WASM_ARRAY_VEC(results_array);
  print_trap("twice_plus(5)", wasm_func_call(twice_plus, &args, &results), "no trap");
  printf("result: %d, host calls: %d\n", results_array[0].of.i32, state[1]);

  wasm_val_vec_t none = WASM_EMPTY_VEC;
  print_trap("call_fail()", wasm_func_call(call_fail, &none, &none), "no trap");

  wasm_val_t div_args_array[] = {WASM_I32_VAL(7), WASM_I32_VAL(0)};
  wasm_val_vec_t div_args = WASM_ARRAY_VEC(div_args_array);
  trap = wasm_func_call(divide, &div_args, &results);
  wasm_frame_t *origin = wasm_trap_origin(trap);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  printf("trap origin: function %u, offset %zu in it, %zu in the module; %zu frame(s); the instance: %d\n",
         wasm_frame_func_index(origin), wasm_frame_func_offset(origin), wasm_frame_module_offset(origin), trace.size,
         wasm_instance_same(wasm_frame_instance(origin), instance));
  wasm_frame_delete(origin);
  wasm_frame_vec_delete(&trace);
  print_trap("divide(7, 0)", trap, "no trap");
  wasm_val_t wrong_array[] = {WASM_I64_VAL(7), WASM_I32_VAL(1)};
  wasm_val_vec_t wrong = WASM_ARRAY_VEC(wrong_array);
  trap = wasm_func_call(divide, &wrong, &results);
  printf("divide with an i64: %s\n", trap ? "trap" : "no trap");
  wasm_trap_delete(trap);

  printf("memory: %u page(s), %zu bytes, byte 0 = %d\n", wasm_memory_size(memory), wasm_memory_data_size(memory),
         wasm_memory_data(memory)[0]);
  wasm_memory_data(memory)[10] = 42;
  /* One call per statement: C leaves the order of a call's arguments open. */
  bool grew = wasm_memory_grow(memory, 1);
  printf("grow: %d, now %u pages, byte 10 = %d\n", grew, wasm_memory_size(memory), wasm_memory_data(memory)[10]);
  printf("grow past the maximum: %d\n", wasm_memory_grow(memory, 5));

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(add);
  wasm_func_delete(failing);
  wasm_module_delete(module);
  printf("finalized before the store goes: %d\n", finalized);
  wasm_store_delete(store);
  printf("finalized after: %d\n", finalized);
  wasm_engine_delete(engine);
  return 0;
}
