;; A WASI program that throws and catches wasm exceptions through direct calls, call_indirect, a rethrow, and
;; across two instances (run with `weft run --preload lib=lib.wat main.wat`): every step prints a line, then "ok".
(module
  (type $callback (func (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "lib" "fail" (tag $fail (param i32)))
  (import "lib" "throw_via_table" (func $throw_via_table (param i32 i32)))
  (import "lib" "call_back" (func $call_back (param (ref null $callback)) (param i32)))
  (memory (export "memory") 1)
  (tag $local (param i32))
  (tag $other (param i32))
  (table $t 1 funcref)
  (elem (table $t) (i32.const 0) func $throw_local)
  (elem declare func $throw_local)

  ;; Prints the string at [ptr, ptr+len) then the decimal `n` and a newline.
  (func $print (param $ptr i32) (param $len i32) (param $n i32)
    (local $p i32) (local $end i32)
    (memory.copy (i32.const 1024) (local.get $ptr) (local.get $len))
    ;; Digits are written backwards from 1200, then copied after the text.
    (local.set $end (i32.const 1200))
    (local.set $p (local.get $end))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (memory.copy (i32.add (i32.const 1024) (local.get $len)) (local.get $p) (i32.sub (local.get $end) (local.get $p)))
    (local.set $len (i32.add (local.get $len) (i32.sub (local.get $end) (local.get $p))))
    (i32.store8 (i32.add (i32.const 1024) (local.get $len)) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.add (local.get $len) (i32.const 1)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (data (i32.const 100) "direct: caught ")              ;; 15
  (data (i32.const 130) "indirect: caught ")            ;; 17
  (data (i32.const 160) "other instance: caught ")      ;; 23
  (data (i32.const 200) "other instance, nested: caught ") ;; 31
  (data (i32.const 240) "rethrown: caught ")            ;; 17
  (data (i32.const 270) "through the other instance and back: caught ") ;; 44
  (data (i32.const 320) "wrong tag passed outward: caught ") ;; 33
  (data (i32.const 360) "ok")

  (func $throw_local (type $callback) (throw $local (local.get 0)))
  (func $level2 (param i32) (call $throw_local (i32.mul (local.get 0) (i32.const 2))))
  (func $level1 (param i32) (call $level2 (i32.add (local.get 0) (i32.const 1))))

  ;; Each step catches with a try_table and returns the payload, or -1 if nothing was caught.
  (func $direct (result i32)
    (block $h (result i32)
      (try_table (catch $local $h) (call $level1 (i32.const 3)))
      (i32.const -1)))
  (func $indirect (result i32)
    (block $h (result i32)
      (try_table (catch $local $h) (call_indirect $t (type $callback) (i32.const 42) (i32.const 0)))
      (i32.const -1)))
  (func $other_instance (param $index i32) (param $value i32) (result i32)
    (block $h (result i32)
      (try_table (catch $fail $h) (call $throw_via_table (local.get $index) (local.get $value)))
      (i32.const -1)))
  ;; catch_all_ref keeps the exception, and throw_ref sends it on unchanged to the outer handler.
  (func $rethrow (result i32)
    (block $outer (result i32)
      (try_table (catch $local $outer)
        (block $inner (result exnref)
          (try_table (catch_all_ref $inner) (call $level1 (i32.const 3)))
          (unreachable))
        (throw_ref))
      (i32.const -1)))
  (func $round_trip (result i32)
    (block $h (result i32)
      (try_table (catch $local $h) (call $call_back (ref.func $throw_local) (i32.const 21)))
      (i32.const -1)))
  ;; An inner try_table that catches only $other lets $local pass to the outer one.
  (func $wrong_tag (result i32)
    (block $h (result i32)
      (try_table (catch $local $h)
        (block $skip (result i32)
          (try_table (catch $other $skip) (call $level1 (i32.const 10)))
          (i32.const -1))
        (drop))
      (i32.const -1)))

  (func (export "_start")
    (call $print (i32.const 100) (i32.const 15) (call $direct))
    (call $print (i32.const 130) (i32.const 17) (call $indirect))
    (call $print (i32.const 160) (i32.const 23) (call $other_instance (i32.const 0) (i32.const 5)))
    (call $print (i32.const 200) (i32.const 31) (call $other_instance (i32.const 1) (i32.const 5)))
    (call $print (i32.const 240) (i32.const 17) (call $rethrow))
    (call $print (i32.const 270) (i32.const 44) (call $round_trip))
    (call $print (i32.const 320) (i32.const 33) (call $wrong_tag))
    (i32.store (i32.const 0) (i32.const 360))
    (i32.store (i32.const 4) (i32.const 3))
    (i32.store8 (i32.const 362) (i32.const 10))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
