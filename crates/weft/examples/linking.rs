//! Linking modules by name: one module's exports satisfy another's imports through a `Linker`, which also holds
//! host functions; `Linker::module` defines a reactor's exports, `Linker::get_default` finds a command's entry.
//!
//! `cargo run -p weft --example linking`

use std::io::Write;
use weft::*;

const LIBRARY: &str = r#"(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (data (i32.const 0) "library ready")
  (func (export "_initialize") (call $log (i32.const 0) (i32.const 13)))
  (func (export "alloc") (param $n i32) (result i32)
    (global.get $next)
    (global.set $next (i32.add (global.get $next) (local.get $n)))))"#;

const PROGRAM: &str = r#"(module
  (import "lib" "alloc" (func $alloc (param i32) (result i32)))
  (import "lib" "memory" (memory 1))
  (import "host" "log" (func $log (param i32 i32)))
  (export "memory" (memory 0))
  (func (export "_start")
    (local $p i32)
    (local.set $p (call $alloc (i32.const 5)))
    (i32.store8 (local.get $p) (i32.const 104))
    (i32.store8 offset=1 (local.get $p) (i32.const 105))
    (call $log (local.get $p) (i32.const 2))
    (call $log (call $alloc (i32.const 0)) (i32.const 0))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, Vec::<String>::new());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "log", |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| -> Result<()> {
        let memory = caller.get_export("memory").and_then(Extern::into_memory);
        let line = match memory {
            Some(memory) => {
                let bytes = memory.data(&caller).get(ptr as usize..(ptr + len) as usize).unwrap_or_default();
                format!("log {ptr}: {:?}", String::from_utf8_lossy(bytes))
            }
            None => format!("log {ptr}: (no memory)"),
        };
        caller.data_mut().push(line);
        Ok(())
    })?;
    linker.module(&mut store, "lib", &Module::new(&engine, LIBRARY)?)?;
    linker.module(&mut store, "", &Module::new(&engine, PROGRAM)?)?;
    linker.get_default(&mut store, "")?.typed::<(), ()>(&store)?.call(&mut store, ())?;
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
    assert_eq!(String::from_utf8(out).unwrap(), "log 0: \"library ready\"\nlog 1024: \"hi\"\nlog 1029: \"\"\n");
}
