;; Prints a greeting through WASI's fd_write, like a C program's printf would.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param $fd i32) (param $iovs i32) (param $iovs_len i32) (param $nwritten i32) (result i32)))
  (memory (export "memory") 1)
  ;; One iovec at offset 0: { buf = 16, len = 23 }.
  (data (i32.const 0) "\10\00\00\00\17\00\00\00")
  (data (i32.const 16) "Hello from Weft, wasm!\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
