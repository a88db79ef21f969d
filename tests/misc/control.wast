;; Weft's own regression script: control-flow shapes the translator must get right.
(module
  ;; br_table carrying a value to blocks at different depths.
  (func (export "table") (param i32) (result i32)
    (block $a (result i32)
      (block $b (result i32)
        (block $c (result i32)
          (br_table $a $b $c (i32.const 10) (local.get 0)))
        (i32.add (i32.const 1)))
      (i32.add (i32.const 2))))
  ;; Code after an unconditional branch, with nested blocks, is skipped.
  (func (export "dead") (result i32)
    (block $out (result i32)
      (br $out (i32.const 3))
      (block (loop (br 0)))
      (i32.const 4)))
  ;; An if without else passes its (empty) parameters through.
  (func (export "if_no_else") (param i32) (result i32)
    (local i32)
    (if (local.get 0) (then (local.set 1 (i32.const 7))))
    (local.get 1))
  ;; A loop that counts down and returns through br_if with a value.
  (func (export "countdown") (param i32) (result i32)
    (local $acc i32)
    (block $done (result i32)
      (loop $top
        (br_if $done (local.get $acc) (i32.eqz (local.get 0)))
        (local.set $acc (i32.add (local.get $acc) (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $top))
      (i32.const -1)))
  ;; Unreachable code inside an if arm still leaves the else arm reachable.
  (func (export "arms") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (return (i32.const 1)) (drop (i32.const 9)) (i32.const 2))
      (else (i32.const 3))))
  ;; Large static offsets beyond the guard region are bounds-checked explicitly.
  (memory 1)
  (func (export "far") (param i32) (result i32)
    (i32.load offset=0x90000000 (local.get 0))))

(assert_return (invoke "table" (i32.const 0)) (i32.const 10))
(assert_return (invoke "table" (i32.const 1)) (i32.const 12))
(assert_return (invoke "table" (i32.const 2)) (i32.const 13))
(assert_return (invoke "table" (i32.const 99)) (i32.const 13))
(assert_return (invoke "dead") (i32.const 3))
(assert_return (invoke "if_no_else" (i32.const 0)) (i32.const 0))
(assert_return (invoke "if_no_else" (i32.const 1)) (i32.const 7))
(assert_return (invoke "countdown" (i32.const 100)) (i32.const 5050))
(assert_return (invoke "arms" (i32.const 1)) (i32.const 1))
(assert_return (invoke "arms" (i32.const 0)) (i32.const 3))
(assert_trap (invoke "far" (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "far" (i32.const 0x70000000)) "out of bounds memory access")
