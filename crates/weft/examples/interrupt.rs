//! Stopping a guest that never returns, from another thread: with `Config::interruptible`, compiled code checks a
//! flag at function entries and loop headers, and `InterruptHandle::interrupt` sets it.
//!
//! `cargo run -p weft --example interrupt`

use std::io::Write;
use std::time::Duration;
use weft::*;

fn run(out: &mut impl Write) -> Result<()> {
    let mut config = Config::new();
    config.interruptible(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, r#"(module (func (export "spin") (loop $forever (br $forever))))"#)?;
    let spin = Instance::new(&mut store, &module, &[])?.get_typed_func::<(), ()>(&mut store, "spin")?;
    let handle = store.interrupt_handle()?;
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    writeln!(out, "spinning...")?;
    let error = spin.call(&mut store, ()).unwrap_err();
    interrupter.join().expect("the interrupting thread ends");
    writeln!(out, "stopped: {}", error.downcast::<Trap>()?)?;
    // The store stays usable: the flag is cleared when the trap is taken.
    writeln!(out, "interrupting again works: {}", {
        store.interrupt_handle()?.interrupt();
        spin.call(&mut store, ()).is_err()
    })?;
    Ok(())
}

fn main() -> Result<()> {
    run(&mut std::io::stdout())
}

#[test]
fn output() {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "spinning...\nstopped: interrupted\ninterrupting again works: true\n");
}
