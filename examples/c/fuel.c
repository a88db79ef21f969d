/* A budget for untrusted code: with fuel on, every operator costs fuel from the store; running out traps, the host
 * sees how much was spent, and can refuel. */
#include "example.h"

static const char *WAT =
    "(module (func (export \"count\") (param $n i32) (result i32) (local $i i32)\n"
    "  (loop $again\n"
    "    (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "    (br_if $again (i32.lt_u (local.get $i) (local.get $n))))\n"
    "  (local.get $i)))";

static void check(weft_error_t *error) {
  if (error) die("fuel", error);
}

static void count(wasm_store_t *store, wasm_func_t *func, int32_t n) {
  check(weft_store_set_fuel(store, 10000));
  wasm_val_t arg = WASM_I32_VAL(n), result = WASM_INIT_VAL;
  wasm_val_vec_t args = {1, &arg}, results = {1, &result};
  wasm_trap_t *trap = wasm_func_call(func, &args, &results);
  uint64_t left;
  check(weft_store_get_fuel(store, &left));
  char what[32];
  snprintf(what, sizeof what, "count(%d)", n);
  weft_trap_code_t code;
  if (trap) {
    printf("%s ran out of fuel: %d\n", what, weft_trap_code(trap, &code) && code == WEFT_TRAP_CODE_OUT_OF_FUEL);
    report_trap(what, trap);
  } else {
    printf("%s = %d, spending %llu of 10000 fuel\n", what, result.of.i32, (unsigned long long)(10000 - left));
  }
}

int main(void) {
  wasm_config_t *config = wasm_config_new();
  weft_config_consume_fuel_set(config, true);
  wasm_engine_t *engine = wasm_engine_new_with_config(config);
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_instance_t *instance = instantiate(store, module, NULL, 0);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t *func = export_func(&exports, 0);

  count(store, func, 10);
  count(store, func, 100);
  count(store, func, 1000000);
  count(store, func, 10);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
