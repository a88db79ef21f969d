/* Traps with their backtraces: which function, where in it and in the module, with names from the name section;
 * a trap raised by a host function; and the trap codes that tell the reasons apart. */
#include "example.h"

static const char *WAT =
    "(module $calc\n"
    "  (import \"host\" \"check\" (func $check (param i32)))\n"
    "  (func $divide (export \"divide\") (param i32 i32) (result i32)\n"
    "    (i32.div_u (local.get 0) (local.get 1)))\n"
    "  (func $average (export \"average\") (param i32 i32) (result i32)\n"
    "    (call $divide (i32.add (local.get 0) (local.get 1)) (i32.const 0)))\n"
    "  (func $checked (export \"checked\") (param i32) (call $check (local.get 0))))";

/* Refuses negative numbers with a trap of its own. */
static wasm_store_t *the_store;
static wasm_trap_t *check(const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)results;
  if (args->data[0].of.i32 >= 0) return NULL;
  wasm_message_t message;
  wasm_name_new_from_string_nt(&message, "negative input");
  wasm_trap_t *trap = wasm_trap_new(the_store, &message);
  wasm_byte_vec_delete(&message);
  return trap;
}

static void print_name(const wasm_name_t *name) {
  if (name)
    printf("%.*s", (int)name->size, name->data);
  else
    printf("?");
}

static void show(const char *what, wasm_trap_t *trap) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  printf("%s: %s\n", what, message.data);
  wasm_byte_vec_delete(&message);
  weft_trap_code_t code;
  if (weft_trap_code(trap, &code))
    printf("  trap code %d\n", code);
  else
    printf("  raised by the host (no trap code)\n");
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  for (size_t i = 0; i < trace.size; i++) {
    wasm_frame_t *frame = trace.data[i];
    printf("  #%zu ", i);
    print_name(weft_frame_module_name(frame));
    printf("!");
    print_name(weft_frame_func_name(frame));
    printf(" (function %u) at 0x%zx, 0x%zx into the function\n", wasm_frame_func_index(frame),
           wasm_frame_module_offset(frame), wasm_frame_func_offset(frame));
  }
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);
}

int main(void) {
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = the_store = wasm_store_new(engine);
  wasm_module_t *module = compile_wat(store, WAT);
  wasm_functype_t *type = wasm_functype_new_1_0(wasm_valtype_new_i32());
  wasm_func_t *check_func = wasm_func_new(store, type, check);
  wasm_functype_delete(type);
  wasm_extern_t *imports[] = {wasm_func_as_extern(check_func)};
  wasm_instance_t *instance = instantiate(store, module, imports, 1);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t args_array[] = {WASM_I32_VAL(3), WASM_I32_VAL(4)};
  wasm_val_t result = WASM_INIT_VAL;
  wasm_val_vec_t args = WASM_ARRAY_VEC(args_array), results = {1, &result};
  show("average(3, 4)", wasm_func_call(export_func(&exports, 1), &args, &results));

  wasm_val_t negative = WASM_I32_VAL(-1);
  wasm_val_vec_t one_arg = {1, &negative}, none = WASM_EMPTY_VEC;
  wasm_trap_t *trap = wasm_func_call(export_func(&exports, 2), &one_arg, &none);
  wasm_frame_t *origin = wasm_trap_origin(trap);
  printf("the host's trap has its origin in wasm function %u, of this instance: %d\n", wasm_frame_func_index(origin),
         wasm_instance_same(wasm_frame_instance(origin), instance));
  wasm_frame_delete(origin);
  show("checked(-1)", trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(check_func);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
