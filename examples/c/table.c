/* Tables of function references: read, write and grow an exported table from the host, and see call_indirect
 * follow what the host put there (or trap on a null element). */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (table (export \"table\") 2 8 funcref)\n"
    "  (elem (i32.const 0) $double)\n"
    "  (type $unary (func (param i32) (result i32)))\n"
    "  (func $double (export \"double\") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))\n"
    "  (func $negate (export \"negate\") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))\n"
    "  (func (export \"call\") (param $slot i32) (param $x i32) (result i32)\n"
    "    (call_indirect (type $unary) (local.get $x) (local.get $slot))))";

static void call_slot(wasm_func_t *call, int32_t slot, int32_t x) {
  wasm_val_t args_array[] = {WASM_I32_VAL(slot), WASM_I32_VAL(x)};
  wasm_val_t results_array[] = {WASM_I32_VAL(0)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(args_array), results = WASM_ARRAY_VEC(results_array);
  wasm_trap_t *trap = wasm_func_call(call, &args, &results);
  char what[64];
  snprintf(what, sizeof what, "call(slot %d, %d)", slot, x);
  if (trap)
    report_trap(what, trap);
  else
    printf("%s = %d\n", what, results_array[0].of.i32);
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_instance_t *instance = instantiate(store, module, NULL, 0);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_table_t *table = wasm_extern_as_table(exports.data[0]);
  wasm_func_t *double_ = export_func(&exports, 1), *negate = export_func(&exports, 2), *call = export_func(&exports, 3);

  printf("size %u\n", wasm_table_size(table));
  wasm_ref_t *slot0 = wasm_table_get(table, 0);
  printf("slot 0 holds double: %d; slot 1 is null: %d\n", wasm_ref_same(slot0, wasm_func_as_ref(double_)),
         wasm_table_get(table, 1) == NULL);
  wasm_ref_delete(slot0);
  call_slot(call, 0, 21);
  call_slot(call, 1, 21);

  printf("set slot 1 to negate: %d\n", wasm_table_set(table, 1, wasm_func_as_ref(negate)));
  call_slot(call, 1, 21);
  printf("set slot 9 (out of bounds): %d\n", wasm_table_set(table, 9, NULL));
  bool grown = wasm_table_grow(table, 3, wasm_func_as_ref(negate));
  printf("grow by 3 with negate: %d, size %u\n", grown, wasm_table_size(table));
  call_slot(call, 4, 5);
  printf("grow by 10 (past the maximum of 8): %d\n", wasm_table_grow(table, 10, NULL));
  call_slot(call, 5, 5);

  /* A host-made table. */
  wasm_limits_t limits = {3, wasm_limits_max_default};
  wasm_tabletype_t *type = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
  wasm_table_t *host_table = wasm_table_new(store, type, wasm_func_as_ref(double_));
  wasm_tabletype_delete(type);
  wasm_ref_t *element = wasm_table_get(host_table, 2);
  printf("host table: size %u, element 2 is double: %d\n", wasm_table_size(host_table),
         wasm_ref_same(element, wasm_func_as_ref(double_)));
  wasm_ref_delete(element);

  wasm_table_delete(host_table);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
