/* Compiling once and loading the compiled code later: serialize a module, deserialize the bytes in a new store
 * (no compilation), and run it; bytes that are not a serialized module are refused. */
#include "example.h"

static const char *WAT =
    "(module (func (export \"fib\") (param i32) (result i32)\n"
    "  (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))\n"
    "    (else (i32.add (call 0 (i32.sub (local.get 0) (i32.const 1))) (call 0 (i32.sub (local.get 0) (i32.const 2))))))))";

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_byte_vec_t serialized;
  {
    wasm_store_t *store = wasm_store_new(engine);
    wasm_module_t *module = compile_wat(store, WAT);
    wasm_module_serialize(module, &serialized);
    printf("serialized: %s\n", serialized.size > 0 ? "yes" : "no");
    wasm_module_delete(module);
    wasm_store_delete(store);
  }

  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = wasm_module_deserialize(store, &serialized);
  wasm_byte_vec_delete(&serialized);
  if (!module) {
    fprintf(stderr, "deserializing failed\n");
    return 1;
  }
  wasm_instance_t *instance = instantiate(store, module, NULL, 0);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_val_t arg = WASM_I32_VAL(20), result = WASM_INIT_VAL;
  wasm_val_vec_t args = {1, &arg}, results = {1, &result};
  report_trap("fib(20) from the deserialized module", wasm_func_call(export_func(&exports, 0), &args, &results));
  printf("fib(20) = %d\n", result.of.i32);

  wasm_byte_vec_t garbage;
  wasm_byte_vec_new(&garbage, 8, "WEFTnope");
  printf("deserializing garbage: %s\n", wasm_module_deserialize(store, &garbage) ? "accepted" : "refused");
  wasm_byte_vec_delete(&garbage);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
