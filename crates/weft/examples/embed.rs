//! Embedding Weft: compile a module, give it a host function, call an export, read its memory.
//!
//! Run with `cargo run -p weft --example embed`.

use weft::{Caller, Engine, Linker, Module, Store, Trap};

struct Host {
    calls: u32,
}

fn main() -> weft::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "tick" (func $tick (param i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "fill") (param $n i32)
               (local $i i32)
               (block $done
                 (loop $next
                   (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                   (i32.store8 (local.get $i) (call $tick (local.get $i)))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br $next))))
             (func (export "boom") (result i32) (i32.div_s (i32.const 1) (i32.const 0))))"#,
    )?;

    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "tick", |mut caller: Caller<'_, Host>, i: i32| {
        caller.data_mut().calls += 1;
        i32::from(b'a') + i % 26
    })?;

    let mut store = Store::new(&engine, Host { calls: 0 });
    let instance = linker.instantiate(&mut store, &module)?;
    let fill = instance.get_typed_func::<i32, ()>(&mut store, "fill")?;
    fill.call(&mut store, 10)?;

    let memory = instance.get_memory(&mut store, "memory").expect("exported memory");
    let text = String::from_utf8_lossy(&memory.data(&store)[..10]).into_owned();
    println!("memory starts with {text:?}; the host was called {} times", store.data().calls);

    let boom = instance.get_typed_func::<(), i32>(&mut store, "boom")?;
    let error = boom.call(&mut store, ()).unwrap_err();
    assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::IntegerDivisionByZero));
    println!("boom trapped: {error:#}");
    Ok(())
}
