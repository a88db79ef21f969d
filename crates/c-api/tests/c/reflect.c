/* Reflection, globals, host memories and serialization through Weft's C API. Usage: reflect MODULE.wasm */
#include <stdio.h>
#include <stdlib.h>
#include "common.h"

static const char *kind_name(wasm_externkind_t kind) {
  switch (kind) {
    case WASM_EXTERN_FUNC: return "func";
    case WASM_EXTERN_GLOBAL: return "global";
    case WASM_EXTERN_TABLE: return "table";
    case WASM_EXTERN_MEMORY: return "memory";
  }
  return "?";
}

static void describe(const wasm_externtype_t *type) {
  switch (wasm_externtype_kind(type)) {
    case WASM_EXTERN_FUNC: {
      const wasm_functype_t *f = wasm_externtype_as_functype_const(type);
      printf("func %zu -> %zu", wasm_functype_params(f)->size, wasm_functype_results(f)->size);
      break;
    }
    case WASM_EXTERN_GLOBAL: {
      const wasm_globaltype_t *g = wasm_externtype_as_globaltype_const(type);
      printf("global kind %d %s", wasm_valtype_kind(wasm_globaltype_content(g)),
             wasm_globaltype_mutability(g) == WASM_VAR ? "var" : "const");
      break;
    }
    case WASM_EXTERN_TABLE: {
      const wasm_limits_t *l = wasm_tabletype_limits(wasm_externtype_as_tabletype_const(type));
      printf("table %u..%u", l->min, l->max);
      break;
    }
    case WASM_EXTERN_MEMORY: {
      const wasm_limits_t *l = wasm_memorytype_limits(wasm_externtype_as_memorytype_const(type));
      printf("memory %u..%s", l->min, l->max == wasm_limits_max_default ? "none" : "max");
      break;
    }
  }
}

int main(int argc, char **argv) {
  wasm_byte_vec_t binary;
  if (argc != 2 || read_module(argv[1], &binary) != 0) return 2;

  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 3;

  wasm_importtype_vec_t imports;
  wasm_module_imports(module, &imports);
  for (size_t i = 0; i < imports.size; i++) {
    const wasm_name_t *m = wasm_importtype_module(imports.data[i]);
    const wasm_name_t *n = wasm_importtype_name(imports.data[i]);
    printf("import %.*s.%.*s: ", (int)m->size, m->data, (int)n->size, n->data);
    describe(wasm_importtype_type(imports.data[i]));
    printf("\n");
  }
  wasm_exporttype_vec_t exports;
  wasm_module_exports(module, &exports);
  wasm_exporttype_vec_t copied;
  wasm_exporttype_vec_copy(&copied, &exports);
  wasm_exporttype_vec_delete(&exports);
  for (size_t i = 0; i < copied.size; i++) {
    const wasm_name_t *n = wasm_exporttype_name(copied.data[i]);
    printf("export %.*s: ", (int)n->size, n->data);
    describe(wasm_exporttype_type(copied.data[i]));
    printf("\n");
  }
  wasm_exporttype_vec_delete(&copied);

  /* Satisfy the imports with a host global and a host memory. */
  wasm_globaltype_t *gtype = wasm_globaltype_new(wasm_valtype_new_i64(), WASM_VAR);
  wasm_val_t initial = WASM_I64_VAL(40);
  wasm_global_t *counter = wasm_global_new(store, gtype, &initial);
  wasm_globaltype_delete(gtype);
  wasm_limits_t limits = {1, 2};
  wasm_memorytype_t *mtype = wasm_memorytype_new(&limits);
  wasm_memory_t *memory = wasm_memory_new(store, mtype);
  wasm_memorytype_delete(mtype);
  wasm_extern_t *externs[] = {wasm_global_as_extern(counter), wasm_memory_as_extern(memory)};
  wasm_extern_vec_t import_values = WASM_ARRAY_VEC(externs);
  wasm_importtype_vec_delete(&imports);

  /* Through a serialized copy of the module. */
  wasm_byte_vec_t artifact;
  wasm_module_serialize(module, &artifact);
  wasm_module_t *loaded = wasm_module_deserialize(store, &artifact);
  wasm_byte_vec_delete(&artifact);
  printf("deserialized: %d\n", loaded != NULL);
  wasm_trap_t *trap = NULL;
  wasm_instance_t *instance = wasm_instance_new(store, loaded, &import_values, &trap);
  if (!instance) return 4;
  wasm_extern_vec_t values;
  wasm_instance_exports(instance, &values);
  wasm_func_t *bump = wasm_extern_as_func(values.data[0]);
  wasm_global_t *limit = wasm_extern_as_global(values.data[1]);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  for (int i = 0; i < 2; i++) wasm_trap_delete(wasm_func_call(bump, &none, &none));
  wasm_val_t value;
  wasm_global_get(counter, &value);
  printf("counter after two bumps: %lld\n", (long long)value.of.i64);
  printf("memory byte 0 (the counter's low byte): %d\n", wasm_memory_data(memory)[0]);
  wasm_global_get(limit, &value);
  printf("exported constant: %d (kind %d)\n", value.of.i32, value.kind);
  wasm_val_t attempt = WASM_I32_VAL(1);
  wasm_global_set(limit, &attempt);
  wasm_global_get(limit, &value);
  printf("after setting the constant: %d\n", value.of.i32);
  wasm_externtype_t *type = wasm_extern_type(values.data[1]);
  printf("its type: ");
  describe(type);
  printf(", kind %s\n", kind_name(wasm_extern_kind(values.data[1])));
  wasm_externtype_delete(type);

  wasm_extern_vec_delete(&values);
  wasm_instance_delete(instance);
  wasm_global_delete(counter);
  wasm_memory_delete(memory);
  wasm_module_delete(loaded);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
