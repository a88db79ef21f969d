//! Bounding how much a guest may run with fuel: each call of a recursive function costs more, until the fuel given
//! for one call runs out. The costs are Wasmtime's, so these figures are the ones Wasmtime reports too.
//!
//! `cargo run -p weft --example fuel`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (i32.lt_s (local.get $n) (i32.const 2)) (then (return (local.get $n))))
    (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
             (call $fib (i32.sub (local.get $n) (i32.const 2))))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    for n in 10.. {
        store.set_fuel(5_000)?;
        match fib.call(&mut store, n) {
            Ok(value) => writeln!(out, "fib({n}) = {value}, {} fuel used", 5_000 - store.get_fuel()?)?,
            Err(e) => {
                writeln!(out, "fib({n}) stopped: {}", e.downcast::<Trap>()?)?;
                break;
            }
        }
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
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "fib(10) = 55, 1766 fuel used\n\
         fib(11) = 89, 2866 fuel used\n\
         fib(12) = 144, 4646 fuel used\n\
         fib(13) stopped: all fuel consumed\n"
    );
}
