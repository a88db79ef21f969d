/* Globals: the host makes some and a module imports them; the module exports its own; both sides read and write
 * them, and an immutable global refuses to change. */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (import \"host\" \"limit\" (global $limit i32))\n"
    "  (import \"host\" \"counter\" (global $counter (mut i64)))\n"
    "  (global $scale (export \"scale\") (mut f64) (f64.const 1.5))\n"
    "  (global (export \"version\") i32 (i32.const 3))\n"
    "  (func (export \"bump\") (result i64)\n"
    "    (global.set $counter (i64.add (global.get $counter) (i64.extend_i32_u (global.get $limit))))\n"
    "    (global.get $counter))\n"
    "  (func (export \"scaled\") (param f64) (result f64) (f64.mul (local.get 0) (global.get $scale))))";

static wasm_global_t *host_global(wasm_store_t *store, wasm_valkind_t kind, wasm_mutability_t mutability,
                                  wasm_val_t value) {
  wasm_globaltype_t *type = wasm_globaltype_new(wasm_valtype_new(kind), mutability);
  wasm_global_t *global = wasm_global_new(store, type, &value);
  wasm_globaltype_delete(type);
  return global;
}

static wasm_val_t call0(wasm_func_t *func, wasm_val_t arg, size_t nargs) {
  wasm_val_t result = WASM_INIT_VAL;
  wasm_val_vec_t args = {nargs, &arg}, results = {1, &result};
  wasm_trap_t *trap = wasm_func_call(func, &args, &results);
  if (trap) report_trap("call", trap);
  return result;
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);

  wasm_global_t *limit = host_global(store, WASM_I32, WASM_CONST, (wasm_val_t)WASM_I32_VAL(10));
  wasm_global_t *counter = host_global(store, WASM_I64, WASM_VAR, (wasm_val_t)WASM_I64_VAL(100));
  wasm_extern_t *imports[] = {wasm_global_as_extern(limit), wasm_global_as_extern(counter)};
  wasm_instance_t *instance = instantiate(store, module, imports, 2);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_global_t *scale = wasm_extern_as_global(exports.data[0]);
  wasm_global_t *version = wasm_extern_as_global(exports.data[1]);
  wasm_func_t *bump = export_func(&exports, 2), *scaled = export_func(&exports, 3);
  wasm_val_t value;

  printf("bump() = %lld\n", (long long)call0(bump, (wasm_val_t)WASM_I32_VAL(0), 0).of.i64);
  wasm_global_get(counter, &value);
  printf("the host's counter after bump: %lld\n", (long long)value.of.i64);
  wasm_val_t reset = WASM_I64_VAL(-5);
  wasm_global_set(counter, &reset);
  printf("bump() after the host reset it to -5: %lld\n", (long long)call0(bump, (wasm_val_t)WASM_I32_VAL(0), 0).of.i64);

  printf("scaled(4) = %g\n", call0(scaled, (wasm_val_t)WASM_F64_VAL(4), 1).of.f64);
  wasm_val_t new_scale = WASM_F64_VAL(0.25);
  wasm_global_set(scale, &new_scale);
  printf("scaled(4) after the host set scale to 0.25: %g\n", call0(scaled, (wasm_val_t)WASM_F64_VAL(4), 1).of.f64);

  wasm_val_t attempt = WASM_I32_VAL(4);
  wasm_global_set(version, &attempt);
  wasm_global_get(version, &value);
  wasm_globaltype_t *type = wasm_global_type(version);
  printf("version is %s and stays %d\n", wasm_globaltype_mutability(type) == WASM_CONST ? "const" : "var",
         value.of.i32);
  wasm_globaltype_delete(type);
  wasm_val_t wrong_kind = WASM_F32_VAL(1);
  wasm_global_set(scale, &wrong_kind);
  wasm_global_get(scale, &value);
  printf("an f32 is refused by the f64 global: still %g\n", value.of.f64);
  wasm_global_t *copy = wasm_global_copy(scale);
  printf("a copy is the same global: %d; another global is not: %d\n", wasm_global_same(copy, scale),
         wasm_global_same(copy, version));
  wasm_global_delete(copy);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_global_delete(limit);
  wasm_global_delete(counter);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
