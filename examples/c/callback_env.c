/* Host functions with an environment: the callback gets a pointer the host chose, and a finalizer frees it when
 * the store goes. Here two functions share one counter, and wasm calls them in a loop. */
#include "example.h"

typedef struct {
  const char *name;
  int calls;
  long total;
} counter_t;

static const char *WAT =
    "(module\n"
    "  (import \"env\" \"count\" (func $count (param i32) (result i32)))\n"
    "  (func (export \"run\") (param $n i32) (result i32) (local $i i32) (local $sum i32)\n"
    "    (loop $again\n"
    "      (local.set $sum (i32.add (local.get $sum) (call $count (local.get $i))))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $again (i32.lt_u (local.get $i) (local.get $n))))\n"
    "    (local.get $sum)))";

/* Adds its argument to the counter and returns the running total. */
static wasm_trap_t *count(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  counter_t *counter = env;
  counter->calls++;
  counter->total += args->data[0].of.i32;
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = (int32_t)counter->total;
  return NULL;
}

static void finalize(void *env) {
  counter_t *counter = env;
  printf("finalizing the counter \"%s\" after %d calls\n", counter->name, counter->calls);
  free(counter);
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);

  counter_t *counter = malloc(sizeof *counter);
  *counter = (counter_t){.name = "count", .calls = 0, .total = 0};
  wasm_functype_t *type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t *count_func = wasm_func_new_with_env(store, type, count, counter, finalize);
  wasm_functype_delete(type);

  wasm_extern_t *imports[] = {wasm_func_as_extern(count_func)};
  wasm_instance_t *instance = instantiate(store, module, imports, 1);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t args_array[] = {WASM_I32_VAL(5)};
  wasm_val_t results_array[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(args_array), results = WASM_ARRAY_VEC(results_array);
  report_trap("run(5)", wasm_func_call(export_func(&exports, 0), &args, &results));
  printf("sum of running totals: %d (the host saw %d calls, total %ld)\n", results_array[0].of.i32, counter->calls,
         counter->total);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(count_func);
  wasm_module_delete(module);
  printf("deleting the store\n");
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
