/* A module whose start function traps: instantiation fails, and the trap says why and where. The store is
 * unharmed: another module instantiates in it afterwards. */
#include "example.h"

static const char *FAILING =
    "(module\n"
    "  (memory 1)\n"
    "  (func $init (i32.store (i32.const 70000) (i32.const 1)))\n"
    "  (start $init))";

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, FAILING);

  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_trap_t *trap = NULL;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, &trap);
  printf("instance: %s\n", instance ? "made" : "none");
  wasm_frame_t *origin = wasm_trap_origin(trap);
  printf("the trap comes from function %u, 0x%zx into the module\n", wasm_frame_func_index(origin),
         wasm_frame_module_offset(origin));
  wasm_frame_delete(origin);
  report_trap("start", trap);

  wasm_module_t *fine = compile_wat(store, "(module (func (export \"answer\") (result i32) (i32.const 42)))");
  wasm_instance_t *other = wasm_instance_new(store, fine, &imports, NULL);
  wasm_extern_vec_t exports;
  wasm_instance_exports(other, &exports);
  wasm_val_t result = WASM_INIT_VAL;
  wasm_val_vec_t none = WASM_EMPTY_VEC, results = {1, &result};
  report_trap("another module afterwards", wasm_func_call(export_func(&exports, 0), &none, &results));
  printf("answer: %d\n", result.of.i32);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(other);
  wasm_module_delete(fine);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
