//! Time slices with epochs: the engine's epoch advances (here from a timer thread), and a store's code traps once
//! the epoch passes the store's deadline. Cheaper than interrupt checks when many stores share a clock.
//!
//! `cargo run -p weft --example epochs`

use std::io::Write;
use std::time::Duration;
use weft::*;

const MODULE: &str = r#"(module
  (func $fib (export "fib") (param $n i64) (result i64)
    (if (result i64) (i64.lt_s (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add (call $fib (i64.sub (local.get $n) (i64.const 1)))
                     (call $fib (i64.sub (local.get $n) (i64.const 2))))))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let fib = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?
        .get_typed_func::<i64, i64>(&mut store, "fib")?;
    // One tick of slack: a short call finishes, fib(100) (which would take ages) does not.
    store.set_epoch_deadline(1);
    writeln!(out, "fib(20) = {}", fib.call(&mut store, 20)?)?;
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            engine.increment_epoch();
        })
    };
    let error = fib.call(&mut store, 100).unwrap_err();
    ticker.join().expect("the timer thread ends");
    writeln!(out, "fib(100) stopped at the epoch deadline: {}", error.downcast::<Trap>()?)?;
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
        "fib(20) = 6765\nfib(100) stopped at the epoch deadline: interrupted\n"
    );
}
