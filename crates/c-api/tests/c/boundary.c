/* The boundary holds: NULL and wrong-kind arguments, objects of another store, values of the wrong type and bad
 * bytes are reported (NULL, false, a trap or an error), never undefined behaviour. */
#include <stdio.h>
#include <string.h>
#include "weft.h"

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      printf("FAILED: %s (line %d)\n", #cond, __LINE__);              \
      failures++;                                                     \
    }                                                                 \
  } while (0)

static wasm_trap_t *nothing(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)args;
  (void)results;
  return NULL;
}

static wasm_module_t *compile(wasm_store_t *store, const char *wat) {
  wasm_byte_vec_t binary;
  weft_error_t *error = weft_wat2wasm(wat, strlen(wat), &binary);
  if (error) return NULL;
  wasm_module_t *module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  return module;
}

static void print_error(const char *what, weft_error_t *error) {
  wasm_message_t message;
  weft_error_message(error, &message);
  printf("%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  weft_error_delete(error);
}

static void print_trap(const char *what, wasm_trap_t *trap) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  printf("%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  wasm_trap_delete(trap);
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine), *other = wasm_store_new(engine);

  /* NULL everywhere the standard lets us look. */
  CHECK(wasm_store_new(NULL) == NULL);
  CHECK(wasm_module_new(store, NULL) == NULL);
  CHECK(!wasm_module_validate(NULL, NULL));
  CHECK(wasm_extern_as_func(NULL) == NULL);
  CHECK(wasm_ref_as_func(NULL) == NULL);
  CHECK(!wasm_ref_same(NULL, NULL));
  CHECK(wasm_ref_get_host_info(NULL) == NULL);
  CHECK(wasm_func_new(store, NULL, nothing) == NULL);
  CHECK(wasm_table_size(NULL) == 0);
  CHECK(wasm_memory_data(NULL) == NULL);
  CHECK(wasm_frame_instance(NULL) == NULL);
  wasm_func_delete(NULL);
  wasm_ref_delete(NULL);
  wasm_val_delete(NULL);
  wasm_trap_t *trap = wasm_func_call(NULL, NULL, NULL);
  CHECK(trap != NULL);
  print_trap("calling NULL", trap);
  trap = NULL;
  CHECK(wasm_instance_new(store, NULL, NULL, &trap) == NULL && trap != NULL);
  print_trap("instantiating NULL", trap);

  /* Bad bytes, with the reason from weft_module_new. */
  wasm_byte_vec_t garbage;
  wasm_byte_vec_new(&garbage, 12, "\0asm\x01\0\0\0\x01\x05\x01\x60");
  CHECK(wasm_module_new(store, &garbage) == NULL);
  wasm_module_t *module = NULL;
  print_error("a truncated module", weft_module_new(store, &garbage, &module));
  CHECK(module == NULL);
  wasm_byte_vec_delete(&garbage);
  wasm_byte_vec_t text;
  print_error("bad text", weft_wat2wasm("(module (func (result i32) (i64.const 1)))x", 43, &text));

  /* Wrong kinds: casts give NULL, tables refuse what does not fit. */
  module = compile(store,
                   "(module (global (export \"g\") (mut i32) (i32.const 1)) (table (export \"t\") 2 funcref)"
                   " (func (export \"f\") (param i32) (result i32) (local.get 0)))");
  wasm_extern_vec_t imports = WASM_EMPTY_VEC, exports;
  wasm_instance_t *instance = wasm_instance_new(store, module, &imports, NULL);
  wasm_instance_exports(instance, &exports);
  wasm_extern_t *g = exports.data[0], *t = exports.data[1], *f = exports.data[2];
  CHECK(wasm_extern_as_func(g) == NULL && wasm_extern_as_global(g) != NULL);
  CHECK(wasm_extern_as_memory(t) == NULL && wasm_extern_as_table(t) != NULL);
  CHECK(wasm_ref_as_instance(wasm_extern_as_ref(f)) == NULL);
  CHECK(wasm_ref_as_func(wasm_extern_as_ref(f)) != NULL);
  wasm_foreign_t *foreign = wasm_foreign_new(store);
  CHECK(!wasm_table_set(wasm_extern_as_table(t), 0, wasm_foreign_as_ref(foreign)));
  CHECK(!wasm_table_set(wasm_extern_as_table(t), 0, wasm_extern_as_ref(g)));
  CHECK(wasm_table_set(wasm_extern_as_table(t), 0, wasm_extern_as_ref(f)));

  /* Values of the wrong type. */
  wasm_val_t wrong = WASM_F64_VAL(1.0), result = WASM_INIT_VAL;
  wasm_val_vec_t args = {1, &wrong}, results = {1, &result}, none = WASM_EMPTY_VEC;
  trap = wasm_func_call(wasm_extern_as_func(f), &args, &results);
  CHECK(trap != NULL);
  print_trap("an f64 for an i32", trap);
  trap = wasm_func_call(wasm_extern_as_func(f), &none, &results);
  CHECK(trap != NULL);
  print_trap("no argument", trap);
  wasm_global_set(wasm_extern_as_global(g), &wrong);
  wasm_global_get(wasm_extern_as_global(g), &result);
  CHECK(result.kind == WASM_I32 && result.of.i32 == 1);
  wasm_globaltype_t *i32_const = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
  CHECK(wasm_global_new(store, i32_const, &wrong) == NULL);
  CHECK(wasm_tabletype_new(wasm_valtype_new_i32(), &(wasm_limits_t){1, 2}) == NULL);

  /* Objects of another store. */
  wasm_func_t *foreign_store_func;
  {
    wasm_functype_t *type = wasm_functype_new_0_0();
    foreign_store_func = wasm_func_new(other, type, nothing);
    wasm_functype_delete(type);
  }
  CHECK(!wasm_table_set(wasm_extern_as_table(t), 1, wasm_func_as_ref(foreign_store_func)));
  wasm_module_t *importer = compile(store, "(module (import \"\" \"f\" (func)))");
  wasm_extern_t *import_array[] = {wasm_func_as_extern(foreign_store_func)};
  wasm_extern_vec_t cross = WASM_ARRAY_VEC(import_array);
  trap = NULL;
  CHECK(wasm_instance_new(store, importer, &cross, &trap) == NULL);
  print_trap("an import from another store", trap);
  wasm_extern_vec_t too_few = WASM_EMPTY_VEC;
  trap = NULL;
  CHECK(wasm_instance_new(store, importer, &too_few, &trap) == NULL);
  print_trap("too few imports", trap);

  /* The linker names what is missing. */
  weft_linker_t *linker = weft_linker_new(engine);
  wasm_instance_t *linked = NULL;
  print_error("linking with nothing defined", weft_linker_instantiate(linker, store, importer, &linked, &trap));
  CHECK(linked == NULL && trap == NULL);
  weft_linker_delete(linker);

  /* Fuel without fuel consumption is an error, not a crash. */
  print_error("fuel when it is off", weft_store_set_fuel(store, 10));

  wasm_module_delete(importer);
  wasm_func_delete(foreign_store_func);
  wasm_globaltype_delete(i32_const);
  wasm_foreign_delete(foreign);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(other);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("failures: %d\n", failures);
  return failures != 0;
}
