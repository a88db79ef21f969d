/* Host info with finalizers: attach host data to objects and have it freed at the right moment. A module's runs
 * when its last handle goes; objects a store owns (instances, functions, foreign objects) keep theirs until the
 * store is deleted, since wasm may still reach them. */
#include "example.h"

static int live = 0;

typedef struct {
  char label[32];
} info_t;

static void *new_info(const char *label) {
  info_t *info = malloc(sizeof *info);
  snprintf(info->label, sizeof info->label, "%s", label);
  live++;
  return info;
}

static void finalize(void *data) {
  info_t *info = data;
  printf("  finalized %s\n", info->label);
  free(info);
  live--;
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, "(module (func (export \"f\")))");

  wasm_module_set_host_info_with_finalizer(module, new_info("the module"), finalize);
  wasm_module_t *module_copy = wasm_module_copy(module);
  printf("the copy sees the module's info: %s\n", ((info_t *)wasm_module_get_host_info(module_copy))->label);

  for (int i = 0; i < 3; i++) {
    wasm_instance_t *instance = instantiate(store, module, NULL, 0);
    char label[32];
    snprintf(label, sizeof label, "instance %d", i);
    wasm_instance_set_host_info_with_finalizer(instance, new_info(label), finalize);
    if (i == 2) {
      wasm_extern_vec_t exports;
      wasm_instance_exports(instance, &exports);
      wasm_func_set_host_info_with_finalizer(wasm_extern_as_func(exports.data[0]), new_info("an export"), finalize);
      wasm_extern_vec_delete(&exports);
      wasm_instance_exports(instance, &exports);
      printf("the export read again has its info: %s\n",
             ((info_t *)wasm_func_get_host_info(wasm_extern_as_func(exports.data[0])))->label);
      wasm_extern_vec_delete(&exports);
    }
    wasm_instance_delete(instance);
  }
  wasm_foreign_t *foreign = wasm_foreign_new(store);
  wasm_foreign_set_host_info_with_finalizer(foreign, new_info("a foreign object"), finalize);
  wasm_foreign_delete(foreign);

  printf("replacing the module's info:\n");
  wasm_module_set_host_info_with_finalizer(module, new_info("the module, again"), finalize);
  printf("deleting the module's handles:\n");
  wasm_module_delete(module);
  wasm_module_delete(module_copy);
  printf("live before the store goes: %d\n", live);
  printf("deleting the store:\n");
  wasm_store_delete(store);
  printf("live after: %d\n", live);
  wasm_engine_delete(engine);
  return live == 0 ? 0 : 1;
}
