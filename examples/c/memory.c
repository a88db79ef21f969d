/* Linear memory from the host's side: read and write the exported memory's bytes, grow it, see wasm trap on an
 * access past its end, and give a module a memory the host made. */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (memory (export \"memory\") 1 3)\n"
    "  (data (i32.const 0x1000) \"\\01\\02\\03\\04\")\n"
    "  (func (export \"load\") (param i32) (result i32) (i32.load8_u (local.get 0)))\n"
    "  (func (export \"store\") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))\n"
    "  (func (export \"size\") (result i32) (memory.size)))";

static const char *IMPORTER = "(module (import \"host\" \"memory\" (memory 1)) (func (export \"first\") (result i32)"
                              " (i32.load (i32.const 0))))";

static int32_t call_i32(wasm_func_t *func, int32_t a, int32_t b, size_t nargs, wasm_trap_t **trap) {
  wasm_val_t args_array[] = {WASM_I32_VAL(a), WASM_I32_VAL(b)};
  wasm_val_t results_array[] = {WASM_I32_VAL(0)};
  wasm_val_vec_t args = {nargs, args_array};
  wasm_val_vec_t results = {wasm_func_result_arity(func), results_array};
  *trap = wasm_func_call(func, &args, &results);
  return results_array[0].of.i32;
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_instance_t *instance = instantiate(store, module, NULL, 0);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_memory_t *memory = wasm_extern_as_memory(exports.data[0]);
  wasm_func_t *load = export_func(&exports, 1), *store_byte = export_func(&exports, 2), *size = export_func(&exports, 3);
  wasm_trap_t *trap;

  printf("pages: %u, bytes: %zu\n", wasm_memory_size(memory), wasm_memory_data_size(memory));
  byte_t *data = wasm_memory_data(memory);
  printf("data segment as the host sees it: %d %d %d %d\n", data[0x1000], data[0x1001], data[0x1002], data[0x1003]);
  data[0x2000] = 42;
  printf("wasm loads what the host wrote: %d\n", call_i32(load, 0x2000, 0, 1, &trap));
  call_i32(store_byte, 0x3000, 99, 2, &trap);
  printf("the host reads what wasm stored: %d\n", wasm_memory_data(memory)[0x3000]);

  bool grown = wasm_memory_grow(memory, 1);
  printf("grow by 1: %s, now %d pages (wasm's memory.size)\n", grown ? "ok" : "refused", call_i32(size, 0, 0, 0, &trap));
  printf("grow by 5, past the maximum of 3: %s\n", wasm_memory_grow(memory, 5) ? "ok" : "refused");
  call_i32(load, 0x20000, 0, 1, &trap);
  weft_trap_code_t code;
  printf("load past the end traps with code %d (memory out of bounds: %d)\n", weft_trap_code(trap, &code) ? code : -1,
         WEFT_TRAP_CODE_MEMORY_OUT_OF_BOUNDS);
  report_trap("load(0x20000)", trap);

  /* A memory the host makes and a module imports. */
  wasm_limits_t limits = {1, 2};
  wasm_memorytype_t *type = wasm_memorytype_new(&limits);
  wasm_memory_t *host_memory = wasm_memory_new(store, type);
  wasm_memorytype_delete(type);
  memcpy(wasm_memory_data(host_memory), "\x78\x56\x34\x12", 4);
  wasm_module_t *importer = compile_wat(store, IMPORTER);
  wasm_extern_t *imports[] = {wasm_memory_as_extern(host_memory)};
  wasm_instance_t *importing = instantiate(store, importer, imports, 1);
  wasm_extern_vec_t importer_exports;
  wasm_instance_exports(importing, &importer_exports);
  printf("the importer reads the host's memory: 0x%x\n", call_i32(export_func(&importer_exports, 0), 0, 0, 0, &trap));

  wasm_extern_vec_delete(&importer_exports);
  wasm_instance_delete(importing);
  wasm_module_delete(importer);
  wasm_memory_delete(host_memory);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
