//! Calling an exported function with typed parameters and results: Euclid's algorithm in wasm.
//!
//! `cargo run -p weft --example gcd`

use std::io::Write;
use weft::*;

const GCD: &str = r#"(module
  (func (export "gcd") (param $a i32) (param $b i32) (result i32)
    (local $t i32)
    (block $done
      (loop $step
        (br_if $done (i32.eqz (local.get $b)))
        (local.set $t (i32.rem_u (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (br $step)))
    (local.get $a)))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(store.engine(), GCD)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let gcd = instance.get_typed_func::<(i32, i32), i32>(&mut store, "gcd")?;
    for (a, b) in [(6, 27), (1071, 462), (17, 0)] {
        writeln!(out, "gcd({a}, {b}) = {}", gcd.call(&mut store, (a, b))?)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    run(&mut std::io::stdout())
}

#[test]
fn output() {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "gcd(6, 27) = 3\ngcd(1071, 462) = 21\ngcd(17, 0) = 17\n");
}
