//! Linear memory from the host's side: reading and writing it, growing it, its bounds, and a memory the host makes.
//!
//! `cargo run -p weft --example memory`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (memory (export "memory") 1 3)
  (data (i32.const 16) "\2a\00\00\00")
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?;
    let memory = instance.get_memory(&mut store, "memory").expect("exported");
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    let store_fn = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;

    writeln!(out, "size: {} page(s), {} bytes", memory.size(&store), memory.data_size(&store))?;
    writeln!(out, "wasm reads the data segment: {}", load.call(&mut store, 16)?)?;
    memory.data_mut(&mut store)[100] = 7;
    writeln!(out, "wasm reads what the host wrote: {}", load.call(&mut store, 100)?)?;
    store_fn.call(&mut store, (200, 0x01020304))?;
    writeln!(out, "the host reads what wasm wrote: {:?}", &memory.data(&store)[200..204])?;
    let trap = load.call(&mut store, 65534).unwrap_err();
    writeln!(out, "an access past the end traps: {}", trap.downcast::<Trap>()?)?;
    writeln!(out, "grow by 2 from {} page(s)", grow.call(&mut store, 2)?)?;
    writeln!(out, "growing past the maximum fails: {}", grow.call(&mut store, 1)?)?;
    writeln!(out, "size now: {} pages", memory.size(&store))?;

    let standalone = Memory::new(&mut store, MemoryType::new(1, Some(2)))?;
    writeln!(
        out,
        "a host memory of {} page(s) grows from {}",
        standalone.size(&store),
        standalone.grow(&mut store, 1)?
    )?;
    writeln!(out, "and not past its maximum: {}", standalone.grow(&mut store, 1).is_err())?;
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
        "size: 1 page(s), 65536 bytes\n\
         wasm reads the data segment: 42\n\
         wasm reads what the host wrote: 7\n\
         the host reads what wasm wrote: [4, 3, 2, 1]\n\
         an access past the end traps: out of bounds memory access\n\
         grow by 2 from 1 page(s)\n\
         growing past the maximum fails: -1\n\
         size now: 3 pages\n\
         a host memory of 1 page(s) grows from 1\n\
         and not past its maximum: true\n"
    );
}
