/* Reflection: a module's imports and exports with their types, and the types of an instance's exports. */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (import \"env\" \"log\" (func (param i32 i64) (result f32)))\n"
    "  (import \"env\" \"base\" (global i32))\n"
    "  (import \"env\" \"table\" (table 1 funcref))\n"
    "  (func (export \"pair\") (param f64) (result i32 externref) (i32.const 0) (ref.null extern))\n"
    "  (global (export \"count\") (mut i64) (i64.const 0))\n"
    "  (table (export \"refs\") 2 16 externref)\n"
    "  (memory (export \"memory\") 1))";

static const char *kind_name(wasm_valkind_t kind) {
  switch (kind) {
    case WASM_I32: return "i32";
    case WASM_I64: return "i64";
    case WASM_F32: return "f32";
    case WASM_F64: return "f64";
    case WASM_EXTERNREF: return "externref";
    case WASM_FUNCREF: return "funcref";
    default: return "?";
  }
}

/* Never called here: the import only has to fit. */
static wasm_trap_t *unused(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)args;
  results->data[0].kind = WASM_F32;
  results->data[0].of.f32 = 0;
  return NULL;
}

static void print_valtypes(const wasm_valtype_vec_t *types) {
  printf("(");
  for (size_t i = 0; i < types->size; i++) printf("%s%s", i ? " " : "", kind_name(wasm_valtype_kind(types->data[i])));
  printf(")");
}

static void print_limits(const wasm_limits_t *limits) {
  if (limits->max == wasm_limits_max_default)
    printf("%u..", limits->min);
  else
    printf("%u..%u", limits->min, limits->max);
}

static void print_externtype(const wasm_externtype_t *type) {
  switch (wasm_externtype_kind(type)) {
    case WASM_EXTERN_FUNC: {
      const wasm_functype_t *f = wasm_externtype_as_functype_const(type);
      printf("func ");
      print_valtypes(wasm_functype_params(f));
      printf(" -> ");
      print_valtypes(wasm_functype_results(f));
      break;
    }
    case WASM_EXTERN_GLOBAL: {
      const wasm_globaltype_t *g = wasm_externtype_as_globaltype_const(type);
      printf("global %s %s", wasm_globaltype_mutability(g) == WASM_VAR ? "var" : "const",
             kind_name(wasm_valtype_kind(wasm_globaltype_content(g))));
      break;
    }
    case WASM_EXTERN_TABLE: {
      const wasm_tabletype_t *t = wasm_externtype_as_tabletype_const(type);
      printf("table %s ", kind_name(wasm_valtype_kind(wasm_tabletype_element(t))));
      print_limits(wasm_tabletype_limits(t));
      break;
    }
    case WASM_EXTERN_MEMORY:
      printf("memory ");
      print_limits(wasm_memorytype_limits(wasm_externtype_as_memorytype_const(type)));
      break;
  }
  printf("\n");
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);

  wasm_importtype_vec_t imports;
  wasm_module_imports(module, &imports);
  for (size_t i = 0; i < imports.size; i++) {
    const wasm_name_t *m = wasm_importtype_module(imports.data[i]), *n = wasm_importtype_name(imports.data[i]);
    printf("import %.*s::%.*s: ", (int)m->size, m->data, (int)n->size, n->data);
    print_externtype(wasm_importtype_type(imports.data[i]));
  }
  wasm_importtype_vec_delete(&imports);

  wasm_exporttype_vec_t exports;
  wasm_module_exports(module, &exports);
  for (size_t i = 0; i < exports.size; i++) {
    const wasm_name_t *n = wasm_exporttype_name(exports.data[i]);
    printf("export %.*s: ", (int)n->size, n->data);
    print_externtype(wasm_exporttype_type(exports.data[i]));
  }
  wasm_exporttype_vec_delete(&exports);

  /* An instance's exports carry the same types (instantiated with imports made to fit). */
  wasm_functype_t *log_type = wasm_functype_new_2_1(wasm_valtype_new_i32(), wasm_valtype_new_i64(), wasm_valtype_new_f32());
  wasm_func_t *log = wasm_func_new(store, log_type, unused);
  wasm_functype_delete(log_type);
  wasm_globaltype_t *base_type = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
  wasm_val_t zero = WASM_I32_VAL(0);
  wasm_global_t *base = wasm_global_new(store, base_type, &zero);
  wasm_globaltype_delete(base_type);
  wasm_limits_t limits = {1, wasm_limits_max_default};
  wasm_tabletype_t *table_type = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
  wasm_table_t *table = wasm_table_new(store, table_type, NULL);
  wasm_tabletype_delete(table_type);
  wasm_extern_t *externs[] = {wasm_func_as_extern(log), wasm_global_as_extern(base), wasm_table_as_extern(table)};
  wasm_instance_t *instance = instantiate(store, module, externs, 3);
  wasm_extern_vec_t items;
  wasm_instance_exports(instance, &items);
  for (size_t i = 0; i < items.size; i++) {
    wasm_externtype_t *type = wasm_extern_type(items.data[i]);
    printf("instance export %zu (kind %d): ", i, wasm_extern_kind(items.data[i]));
    print_externtype(type);
    wasm_externtype_delete(type);
  }
  printf("pair takes %zu parameter(s) and returns %zu result(s)\n", wasm_func_param_arity(export_func(&items, 0)),
         wasm_func_result_arity(export_func(&items, 0)));

  wasm_extern_vec_delete(&items);
  wasm_instance_delete(instance);
  wasm_func_delete(log);
  wasm_global_delete(base);
  wasm_table_delete(table);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
