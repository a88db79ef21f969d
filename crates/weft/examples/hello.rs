//! The smallest embedding: wasm calls a host function, the host calls wasm.
//!
//! `cargo run -p weft --example hello`

use std::io::Write;
use weft::*;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "greet" (func $greet (param i32)))
             (func (export "main") (call $greet (i32.const 2026))))"#,
    )?;
    let mut store = Store::new(&engine, Vec::<String>::new());
    let greet = Func::wrap(&mut store, |mut caller: Caller<'_, Vec<String>>, year: i32| {
        caller.data_mut().push(format!("hello from the host, called by wasm in {year}"));
    });
    let instance = Instance::new(&mut store, &module, &[greet.into()])?;
    instance.get_typed_func::<(), ()>(&mut store, "main")?.call(&mut store, ())?;
    for line in store.data() {
        writeln!(out, "{line}")?;
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
    assert_eq!(String::from_utf8(out).unwrap(), "hello from the host, called by wasm in 2026\n");
}
