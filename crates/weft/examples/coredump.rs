//! Post-mortem debugging: with `Config::coredump_on_trap`, a trap's error carries a `WasmCoreDump` of the store,
//! which serializes to the standard wasm core dump format (`wasm-tools print` reads it).
//!
//! `cargo run -p weft --example coredump`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module $crasher
  (memory 1)
  (global $state (mut i32) (i32.const 0))
  (func $start (export "start") (call $work))
  (func $work (i32.store (i32.const 0x100) (i32.const 0xbeef)) (global.set $state (i32.const 3)) (call $fail))
  (func $fail unreachable))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let mut config = Config::new();
    config.coredump_on_trap(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?;
    let error = instance.get_typed_func::<(), ()>(&mut store, "start")?.call(&mut store, ()).unwrap_err();
    writeln!(out, "trapped: {}", error.downcast_ref::<Trap>().expect("a trap"))?;
    let dump = error.downcast_ref::<WasmCoreDump>().expect("a core dump was captured");
    let frames: Vec<String> = dump.frames().iter().map(|f| f.func_name().unwrap_or("?").to_string()).collect();
    writeln!(out, "frames: {}", frames.join(" <- "))?;
    let memory = &dump.memories()[0];
    let at = memory.data(&store).iter().position(|b| *b != 0).expect("something was written");
    writeln!(out, "first non-zero byte of memory 0: {:#x} at {at:#x}", memory.data(&store)[at])?;
    writeln!(out, "global 0 = {:?}", dump.globals()[0].get(&mut store))?;
    let bytes = dump.serialize(&mut store, "crasher.wasm");
    writeln!(out, "serialized: a wasm module: {}", bytes.starts_with(b"\0asm"))?;
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
        "trapped: unreachable\n\
         frames: fail <- work <- start\n\
         first non-zero byte of memory 0: 0xef at 0x100\n\
         global 0 = I32(3)\n\
         serialized: a wasm module: true\n"
    );
}
