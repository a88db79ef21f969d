/* One engine, many threads: a module compiled once is shared, and each thread runs it in a store of its own. */
#include <pthread.h>
#include "example.h"

#define THREADS 4

static const char *WAT =
    "(module\n"
    "  (import \"host\" \"id\" (global $id i32))\n"
    "  (func (export \"work\") (param $n i32) (result i32) (local $sum i32)\n"
    "    (loop $again\n"
    "      (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $n) (global.get $id))))\n"
    "      (local.set $n (i32.sub (local.get $n) (i32.const 1)))\n"
    "      (br_if $again (local.get $n)))\n"
    "    (local.get $sum)))";

typedef struct {
  wasm_engine_t *engine;
  wasm_shared_module_t *shared;
  int id;
  int32_t result;
} job_t;

static void *run(void *arg) {
  job_t *job = arg;
  wasm_store_t *store = wasm_store_new(job->engine);
  wasm_module_t *module = wasm_module_obtain(store, job->shared);
  wasm_globaltype_t *type = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
  wasm_val_t id = WASM_I32_VAL(job->id);
  wasm_global_t *global = wasm_global_new(store, type, &id);
  wasm_globaltype_delete(type);
  wasm_extern_t *imports[] = {wasm_global_as_extern(global)};
  wasm_instance_t *instance = instantiate(store, module, imports, 1);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_val_t n = WASM_I32_VAL(1000), result = WASM_INIT_VAL;
  wasm_val_vec_t args = {1, &n}, results = {1, &result};
  wasm_trap_t *trap = wasm_func_call(export_func(&exports, 0), &args, &results);
  job->result = trap ? -1 : result.of.i32;
  if (trap) wasm_trap_delete(trap);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_global_delete(global);
  wasm_module_delete(module);
  wasm_store_delete(store);
  return NULL;
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_shared_module_t *shared = wasm_module_share(module);
  wasm_module_delete(module);
  wasm_store_delete(store);

  pthread_t threads[THREADS];
  job_t jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (job_t){.engine = engine, .shared = shared, .id = i + 1, .result = 0};
    pthread_create(&threads[i], NULL, run, &jobs[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    printf("thread %d: %d (expected %d)\n", jobs[i].id, jobs[i].result, 500500 * jobs[i].id);
  }
  wasm_shared_module_delete(shared);
  wasm_engine_delete(engine);
  return 0;
}
