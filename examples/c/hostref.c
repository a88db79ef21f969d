/* Host references: foreign objects (host data wasm cannot look into) passed to wasm as externrefs, kept in its
 * globals and tables, and handed back as the same objects, with their host info. */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (import \"host\" \"describe\" (func $describe (param externref)))\n"
    "  (global $kept (mut externref) (ref.null extern))\n"
    "  (table $shelf 4 externref)\n"
    "  (func (export \"keep\") (param externref) (global.set $kept (local.get 0)))\n"
    "  (func (export \"kept\") (result externref) (global.get $kept))\n"
    "  (func (export \"shelve\") (param i32 externref) (table.set $shelf (local.get 0) (local.get 1)))\n"
    "  (func (export \"fetch\") (param i32) (result externref) (table.get $shelf (local.get 0)))\n"
    "  (func (export \"show\") (param externref) (call $describe (local.get 0))))";

typedef struct {
  const char *name;
} thing_t;

static wasm_trap_t *describe(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)results;
  wasm_ref_t *ref = args->data[0].of.ref;
  printf("  the host is handed %s\n", ref ? ((thing_t *)wasm_ref_get_host_info(ref))->name : "null");
  return NULL;
}

static wasm_ref_t *call_ref(wasm_func_t *func, wasm_val_t *args, size_t nargs) {
  wasm_val_t result = WASM_INIT_VAL;
  wasm_val_vec_t a = {nargs, args}, r = {wasm_func_result_arity(func), &result};
  wasm_trap_t *trap = wasm_func_call(func, &a, &r);
  if (trap) report_trap("call", trap);
  return r.size ? result.of.ref : NULL;
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_functype_t *type = wasm_functype_new_1_0(wasm_valtype_new_externref());
  wasm_func_t *describe_func = wasm_func_new(store, type, describe);
  wasm_functype_delete(type);
  wasm_extern_t *imports[] = {wasm_func_as_extern(describe_func)};
  wasm_instance_t *instance = instantiate(store, module, imports, 1);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t *keep = export_func(&exports, 0), *kept = export_func(&exports, 1);
  wasm_func_t *shelve = export_func(&exports, 2), *fetch = export_func(&exports, 3), *show = export_func(&exports, 4);

  thing_t apple = {"an apple"}, pear = {"a pear"};
  wasm_foreign_t *a = wasm_foreign_new(store), *p = wasm_foreign_new(store);
  wasm_foreign_set_host_info(a, &apple);
  wasm_foreign_set_host_info(p, &pear);

  wasm_val_t arg = WASM_REF_VAL(wasm_foreign_as_ref(a));
  call_ref(keep, &arg, 1);
  wasm_ref_t *back = call_ref(kept, NULL, 0);
  printf("kept in a global and read back: %s, the same object: %d\n", ((thing_t *)wasm_ref_get_host_info(back))->name,
         wasm_ref_same(back, wasm_foreign_as_ref(a)));
  wasm_ref_delete(back);

  wasm_val_t shelve_args[] = {WASM_I32_VAL(2), WASM_REF_VAL(wasm_foreign_as_ref(p))};
  call_ref(shelve, shelve_args, 2);
  wasm_val_t slot = WASM_I32_VAL(2);
  back = call_ref(fetch, &slot, 1);
  printf("shelved in a table and fetched: %s\n", ((thing_t *)wasm_ref_get_host_info(back))->name);
  wasm_ref_delete(back);
  slot.of.i32 = 1;
  printf("an empty shelf gives null: %d\n", call_ref(fetch, &slot, 1) == NULL);

  printf("wasm passes them on to the host:\n");
  call_ref(show, &arg, 1);
  wasm_val_t null_arg = WASM_REF_VAL(NULL);
  call_ref(show, &null_arg, 1);

  /* Any object can travel as an externref, and comes back as itself. */
  wasm_val_t func_arg = WASM_REF_VAL(wasm_func_as_ref(show));
  call_ref(keep, &func_arg, 1);
  back = call_ref(kept, NULL, 0);
  printf("a function passed as an externref comes back as that function: %d\n",
         wasm_ref_as_func(back) != NULL && wasm_ref_same(back, wasm_func_as_ref(show)));
  wasm_ref_delete(back);

  wasm_foreign_delete(a);
  wasm_foreign_delete(p);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(describe_func);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
