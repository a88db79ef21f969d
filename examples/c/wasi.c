/* A WASI program given a directory: it reads input.txt there, writes its length and contents to stdout, and
 * copies them to output.txt. The program is in the text format here (it calls WASI preview1 directly); a C or
 * Rust program compiled for wasm32-wasip1 is run the same way. Usage: wasi DIR (the directory to preopen). */
#include "example.h"

static const char *WAT =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"path_open\"\n"
    "    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_read\" (func $fd_read (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 16) \"input.txt\")\n"
    "  (data (i32.const 32) \"output.txt\")\n"
    "  (data (i32.const 48) \"read: \")\n"
    "  ;; iovecs at 64 (the 6-byte prefix) and 72 (the file's bytes, read into 256)\n"
    "  (func $fail (param i32) (if (local.get 0) (then (call $proc_exit (local.get 0)))))\n"
    "  (func (export \"_start\") (local $n i32)\n"
    "    ;; open input.txt in the preopened directory (fd 3) for reading; its fd goes to 0\n"
    "    (call $fail (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 0)\n"
    "      (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))\n"
    "    (i32.store (i32.const 72) (i32.const 256)) (i32.store (i32.const 76) (i32.const 1024))\n"
    "    (call $fail (call $fd_read (i32.load (i32.const 0)) (i32.const 72) (i32.const 1) (i32.const 4)))\n"
    "    (local.set $n (i32.load (i32.const 4)))\n"
    "    (i32.store (i32.const 76) (local.get $n))\n"
    "    (i32.store (i32.const 64) (i32.const 48)) (i32.store (i32.const 68) (i32.const 6))\n"
    "    (call $fail (call $fd_write (i32.const 1) (i32.const 64) (i32.const 2) (i32.const 8)))\n"
    "    ;; create output.txt (O_CREAT|O_TRUNC) with the right to write, and copy the bytes\n"
    "    (call $fail (call $path_open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 10) (i32.const 9)\n"
    "      (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))\n"
    "    (call $fail (call $fd_write (i32.load (i32.const 0)) (i32.const 72) (i32.const 1) (i32.const 8)))\n"
    "    (call $proc_exit (i32.const 7))))";

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  wasm_engine_t *engine = wasm_engine_new();
  wasm_store_t *store = wasm_store_new(engine);

  wasi_config_t *wasi = wasi_config_new();
  const char *args[] = {"copy"};
  wasi_config_set_argv(wasi, 1, args);
  wasi_config_inherit_stdout(wasi);
  if (!wasi_config_preopen_dir(wasi, argv[1], ".", true)) {
    fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  weft_error_t *error = weft_store_set_wasi(store, wasi);
  if (error) die("setting up WASI", error);

  weft_linker_t *linker = weft_linker_new(engine);
  error = weft_linker_define_wasi(linker);
  if (error) die("defining WASI", error);
  wasm_module_t *module = compile_wat(store, WAT);
  error = weft_linker_module(linker, store, "", 0, module);
  if (error) die("linking", error);
  wasm_func_t *start;
  error = weft_linker_get_default(linker, store, "", 0, &start);
  if (error) die("finding _start", error);

  fflush(stdout);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t *trap = wasm_func_call(start, &none, &none);
  int status = 0;
  if (trap && weft_trap_exit_status(trap, &status)) {
    printf("\nthe program exited with status %d\n", status);
    wasm_trap_delete(trap);
  } else {
    report_trap("\nthe program", trap);
  }

  wasm_func_delete(start);
  wasm_module_delete(module);
  weft_linker_delete(linker);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
