;; The library half of `weft run --preload lib=lib.wat main.wat`: a second instance that owns a tag, throws it
;; through its own direct and indirect calls, and calls back into the main module.
(module
  (type $thrower (func (param i32)))
  (type $callback (func (param i32)))
  (tag $fail (export "fail") (param i32))
  (table $throwers 2 funcref)
  (elem (table $throwers) (i32.const 0) func $throw_direct $throw_nested)
  (func $throw_direct (type $thrower)
    (throw $fail (local.get 0)))
  (func $throw_nested (type $thrower)
    (call $throw_direct (i32.add (local.get 0) (i32.const 1000))))
  ;; Throws `fail` with `value` through the table entry `index` (call_indirect, then direct calls).
  (func (export "throw_via_table") (param $index i32) (param $value i32)
    (call_indirect $throwers (type $thrower) (local.get $value) (local.get $index)))
  ;; Calls the main module back through a function reference; whatever it throws passes through this frame.
  (func (export "call_back") (param $f (ref null $callback)) (param $value i32)
    (call_ref $callback (local.get $value) (local.get $f))))
