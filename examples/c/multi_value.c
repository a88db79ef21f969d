/* Several parameters and results across the boundary both ways: wasm calls a host function returning two values
 * and returns three of its own. */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (import \"host\" \"divmod\" (func $divmod (param i64 i64) (result i64 i64)))\n"
    "  (func (export \"stats\") (param $a i64) (param $b i64) (result i64 i64 f64)\n"
    "    (call $divmod (local.get $a) (local.get $b))\n"
    "    (f64.div (f64.convert_i64_s (local.get $a)) (f64.convert_i64_s (local.get $b)))))";

static wasm_trap_t *divmod(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  int64_t a = args->data[0].of.i64, b = args->data[1].of.i64;
  results->data[0] = (wasm_val_t)WASM_I64_VAL(a / b);
  results->data[1] = (wasm_val_t)WASM_I64_VAL(a % b);
  return NULL;
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_functype_t *type = wasm_functype_new_2_2(wasm_valtype_new_i64(), wasm_valtype_new_i64(), wasm_valtype_new_i64(),
                                                wasm_valtype_new_i64());
  wasm_func_t *divmod_func = wasm_func_new(store, type, divmod);
  wasm_functype_delete(type);
  wasm_extern_t *imports[] = {wasm_func_as_extern(divmod_func)};
  wasm_instance_t *instance = instantiate(store, module, imports, 1);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t args_array[] = {WASM_I64_VAL(47), WASM_I64_VAL(5)};
  wasm_val_t results_array[3] = {WASM_INIT_VAL, WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(args_array), results = WASM_ARRAY_VEC(results_array);
  report_trap("stats(47, 5)", wasm_func_call(export_func(&exports, 0), &args, &results));
  printf("quotient %lld, remainder %lld, ratio %.1f\n", (long long)results_array[0].of.i64,
         (long long)results_array[1].of.i64, results_array[2].of.f64);
  wasm_val_vec_t too_few = {2, results_array};
  report_trap("stats with room for 2 results", wasm_func_call(export_func(&exports, 0), &args, &too_few));

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(divmod_func);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
