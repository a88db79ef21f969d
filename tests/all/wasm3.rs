//! WebAssembly 3.0 proposals through the embedding API: tail calls, extended constant expressions.

use crate::instantiate;
use weft::*;

/// Two functions that tail-call each other 10^8 times, with a small wasm stack: a call that kept its caller's
/// frame would overflow it after a few thousand iterations.
#[test]
fn mutual_tail_recursion_runs_in_constant_stack() -> Result<()> {
    let mut config = Config::new();
    config.max_wasm_stack(64 * 1024);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
             (func $even (export "even") (param i64) (result i32)
               (if (result i32) (i64.eqz (local.get 0))
                 (then (i32.const 1))
                 (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
             (func $odd (param i64) (result i32)
               (if (result i32) (i64.eqz (local.get 0))
                 (then (i32.const 0))
                 (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
             (func $plain_even (export "plain_even") (param i64) (result i32)
               (if (result i32) (i64.eqz (local.get 0))
                 (then (i32.const 1))
                 (else (i32.eqz (call $plain_even (i64.sub (local.get 0) (i64.const 1))))))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let even = instance.get_typed_func::<i64, i32>(&mut store, "even")?;
    assert_eq!(even.call(&mut store, 100_000_000)?, 1);
    assert_eq!(even.call(&mut store, 100_000_001)?, 0);
    // The same depth with ordinary calls does overflow: the stack really is small.
    let plain = instance.get_typed_func::<i64, i32>(&mut store, "plain_even")?;
    let err = plain.call(&mut store, 100_000).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
    Ok(())
}

/// `return_call_indirect` through a table, including a signature mismatch, and a tail call whose results travel
/// through a return area (more results than registers).
#[test]
fn tail_calls_through_tables_and_return_areas() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (type $count (func (param i32 i32) (result i32)))
             (type $other (func (param i32) (result i32)))
             (table funcref (elem $down $wrong))
             (func $down (type $count)
               (if (result i32) (i32.eqz (local.get 0))
                 (then (local.get 1))
                 (else (return_call_indirect (type $count)
                         (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (i32.const 2))
                         (i32.const 0)))))
             (func $wrong (type $other) (local.get 0))
             (func (export "count") (param i32) (result i32)
               (return_call_indirect (type $count) (local.get 0) (i32.const 0) (i32.const 0)))
             (func (export "mismatch") (result i32)
               (return_call_indirect (type $count) (i32.const 1) (i32.const 0) (i32.const 1)))
             (func $many (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
               (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9))
             (func (export "many") (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (return_call $many (i64.add (local.get 0) (i64.const 1)))))"#,
    );
    let count = instance.get_typed_func::<i32, i32>(&mut store, "count")?;
    assert_eq!(count.call(&mut store, 1_000_000)?, 2_000_000);
    let mismatch = instance.get_typed_func::<(), i32>(&mut store, "mismatch")?;
    let err = mismatch.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::BadSignature));
    let many = instance.get_func(&mut store, "many").unwrap();
    let mut results = vec![Val::I64(0); 10];
    many.call(&mut store, &[Val::I64(41)], &mut results)?;
    let values: Vec<i64> = results.iter().map(|v| v.i64().unwrap()).collect();
    assert_eq!(values, [42, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    Ok(())
}

/// A tail call to an imported host function returns the host's result to the wasm caller's caller, and one to a
/// function of another instance runs in that instance.
#[test]
fn tail_calls_to_host_functions_and_other_instances() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new();
    linker.func_wrap("host", "twice", |mut caller: Caller<'_, u32>, x: i32| {
        *caller.data_mut() += 1;
        x * 2
    })?;
    let callee = Module::new(
        &engine,
        r#"(module
             (global $calls (mut i32) (i32.const 0))
             (func (export "add_calls") (param i32) (result i32)
               (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
               (i32.add (local.get 0) (global.get $calls))))"#,
    )?;
    let callee = linker.instantiate(&mut store, &callee)?;
    linker.instance(&mut store, "callee", callee)?;
    let caller = Module::new(
        &engine,
        r#"(module
             (import "host" "twice" (func $twice (param i32) (result i32)))
             (import "callee" "add_calls" (func $add_calls (param i32) (result i32)))
             (func (export "to_host") (param i32) (result i32)
               (return_call $twice (i32.add (local.get 0) (i32.const 1))))
             (func (export "to_other") (param i32) (result i32)
               (return_call $add_calls (local.get 0))))"#,
    )?;
    let caller = linker.instantiate(&mut store, &caller)?;
    let to_host = caller.get_typed_func::<i32, i32>(&mut store, "to_host")?;
    assert_eq!(to_host.call(&mut store, 20)?, 42);
    assert_eq!(to_host.call(&mut store, 1)?, 4);
    assert_eq!(*store.data(), 2, "the host function ran once per call");
    let to_other = caller.get_typed_func::<i32, i32>(&mut store, "to_other")?;
    assert_eq!(to_other.call(&mut store, 10)?, 11);
    assert_eq!(to_other.call(&mut store, 10)?, 12, "the callee's own global counts its calls");
    Ok(())
}

/// Extended constant expressions in global initialisers and segment offsets, with wrapping arithmetic.
#[test]
fn extended_constant_expressions() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (memory 1)
             (global $base i32 (i32.const 16))
             (global (export "wrapped") i64 (i64.mul (i64.const 0x4000000000000000) (i64.const 4)))
             (global (export "sum") i32 (i32.sub (i32.add (i32.const 40) (i32.const 5)) (i32.const 3)))
             (data (i32.add (i32.const 100) (i32.mul (i32.const 2) (i32.const 3))) "\2a")
             (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    );
    let sum = instance.get_global(&mut store, "sum").unwrap();
    assert_eq!(sum.get(&mut store).i32(), Some(42));
    let wrapped = instance.get_global(&mut store, "wrapped").unwrap();
    assert_eq!(wrapped.get(&mut store).i64(), Some(0));
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    assert_eq!(load.call(&mut store, 106)?, 42);
    assert_eq!(load.call(&mut store, 105)?, 0);
    Ok(())
}

/// Each proposal can be switched off, and a module using it is then refused with the proposal's name.
#[test]
fn proposals_can_be_switched_off() {
    let mut config = Config::new();
    config.wasm_tail_call(false).wasm_extended_const(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, "(module (func $f (return_call $f)))").unwrap_err();
    assert!(format!("{err:#}").contains("tail-call"), "{err:#}");
    let err = Module::new(&engine, "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))").unwrap_err();
    assert!(format!("{err:#}").contains("extended-const"), "{err:#}");
}
