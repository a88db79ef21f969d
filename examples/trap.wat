;; Divides by its argument: `weft run --invoke div examples/trap.wat 0` traps.
(module
  (func $div (export "div") (param i32) (result i32)
    (i32.div_u (i32.const 100) (local.get 0))))
