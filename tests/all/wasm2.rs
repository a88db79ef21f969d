//! WebAssembly 2.0 through the embedding API: multi-value, externref, bulk memory.

use crate::instantiate;
use weft::*;

#[test]
fn multi_value_results_through_typed_and_untyped_calls() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
             (func $many (export "many") (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
               (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
               (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9)
               (f64.const 0) (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4)
               (f64.const 5) (f64.const 6) (f64.const 7) (f64.const 8) (f64.const 9))
             (func (export "sum_many") (result i64)
               (local $acc i64)
               (call $many (i64.const 100))
               (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop)
               (local.set $acc)
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.set $acc (i64.add (local.get $acc)))
               (local.get $acc)))"#,
    );
    let swap = instance.get_typed_func::<(i32, i64), (i64, i32)>(&mut store, "swap")?;
    assert_eq!(swap.call(&mut store, (1, 2))?, (2, 1));
    let many = instance.get_func(&mut store, "many").unwrap();
    let mut results = vec![Val::I32(0); 20];
    many.call(&mut store, &[Val::I64(100)], &mut results)?;
    assert_eq!(results[0].i64(), Some(100));
    assert_eq!(results[9].i64(), Some(9));
    assert_eq!(results[19].f64(), Some(9.0));
    // wasm-to-wasm with more results than registers: 100 + 1 + ... + 9
    assert_eq!(instance.get_typed_func::<(), i64>(&mut store, "sum_many")?.call(&mut store, ())?, 145);
    Ok(())
}

#[test]
fn host_functions_return_tuples() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
             (func (export "run") (param i32 i32) (result i32)
               (call $divmod (local.get 0) (local.get 1))
               (i32.add (i32.mul (i32.const 1000)))))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("h", "divmod", |a: i32, b: i32| (a / b, a % b))?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    // 17 / 5 = 3, 17 % 5 = 2: 3 + 2 * 1000
    assert_eq!(instance.get_typed_func::<(i32, i32), i32>(&mut store, "run")?.call(&mut store, (17, 5))?, 2003);
    Ok(())
}

#[test]
fn externref_round_trips_through_wasm_tables_and_globals() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (table $t (export "t") 2 externref)
             (global $g (export "g") (mut externref) (ref.null extern))
             (func (export "id") (param externref) (result externref) (local.get 0))
             (func (export "stash") (param externref) (table.set $t (i32.const 1) (local.get 0)) (global.set $g (local.get 0)))
             (func (export "fetch") (result externref) (table.get $t (i32.const 1)))
             (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0))))"#,
    );
    let value = ExternRef::new(&mut store, String::from("host state"))?;
    let id = instance.get_func(&mut store, "id").unwrap();
    let mut out = [Val::ExternRef(None)];
    id.call(&mut store, &[Val::ExternRef(Some(value))], &mut out)?;
    let back = *out[0].unwrap_externref().expect("a reference came back");
    assert!(Rooted::ref_eq(&store, &back, &value)?);
    let text = back.data(&store)?.and_then(|d| d.downcast_ref::<String>()).map(String::as_str);
    assert_eq!(text, Some("host state"));
    // The value can be changed in place, and every handle sees it.
    back.data_mut(&mut store)?.unwrap().downcast_mut::<String>().unwrap().push_str(", changed");
    assert_eq!(value.data(&store)?.unwrap().downcast_ref::<String>().unwrap(), "host state, changed");

    instance.get_func(&mut store, "stash").unwrap().call(&mut store, &[Some(value).into()], &mut [])?;
    instance.get_func(&mut store, "fetch").unwrap().call(&mut store, &[], &mut out)?;
    assert!(matches!(&out[0], Val::ExternRef(Some(r)) if ExternRef::ptr_eq(r, &value)));
    let table = instance.get_table(&mut store, "t").unwrap();
    assert!(matches!(table.get(&mut store, 0), Some(Val::ExternRef(None))));
    let global = instance.get_global(&mut store, "g").unwrap();
    assert!(matches!(global.get(&mut store), Val::ExternRef(Some(r)) if ExternRef::ptr_eq(&r, &value)));

    // Typed functions take and return `Option<Rooted<ExternRef>>`.
    let typed = instance.get_typed_func::<Option<Rooted<ExternRef>>, Option<Rooted<ExternRef>>>(&mut store, "id")?;
    assert_eq!(typed.call(&mut store, Some(value))?, Some(value));
    assert_eq!(typed.call(&mut store, None)?, None);
    // A reference belongs to its store: another store refuses it, in untyped and typed calls alike.
    let mut other = Store::new(store.engine(), ());
    let foreign = ExternRef::new(&mut other, 7u32)?;
    let text = format!("{:#}", typed.call(&mut store, Some(foreign)).unwrap_err());
    assert!(text.contains("another store"), "{text}");
    assert!(id.call(&mut store, &[Some(foreign).into()], &mut out).is_err());
    assert!(foreign.data(&store).is_err() && Rooted::ref_eq(&store, &foreign, &value).is_err());
    // There is nothing to collect: references live as long as their store.
    store.gc(None)?;
    assert!(value.data(&store)?.is_some());

    let mut null = [Val::I32(0)];
    instance.get_func(&mut store, "is_null").unwrap().call(&mut store, &[Val::ExternRef(None)], &mut null)?;
    assert_eq!(null[0].i32(), Some(1));
    Ok(())
}

#[test]
fn bulk_memory_copy_overlapping_and_fill() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module (memory (export "m") 1)
             (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
             (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#,
    );
    let memory = instance.get_memory(&mut store, "m").unwrap();
    memory.write(&mut store, 0, b"abcdefgh")?;
    let copy = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "copy")?;
    copy.call(&mut store, (2, 0, 6))?; // overlapping, forwards
    assert_eq!(&memory.data(&store)[..8], b"ababcdef");
    let fill = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "fill")?;
    fill.call(&mut store, (65530, 0x7a, 6))?;
    assert_eq!(&memory.data(&store)[65530..], b"zzzzzz");
    // Out of bounds: trap, and nothing is written.
    let err = fill.call(&mut store, (65531, 0x41, 6)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    assert_eq!(&memory.data(&store)[65530..], b"zzzzzz");
    assert!(copy.call(&mut store, (0, 65535, 2)).is_err());
    Ok(())
}

#[test]
fn host_function_with_many_results() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "ten" (func $ten (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
             (func (export "run") (result i32)
               (call $ten)
               (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([], [ValType::I32; 10]);
    let ten = Func::new(&mut store, ty, |_caller, _params, results| {
        for (i, r) in results.iter_mut().enumerate() {
            *r = Val::I32(1 << i);
        }
        Ok(())
    });
    let instance = Instance::new(&mut store, &module, &[ten.into()])?;
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "run")?.call(&mut store, ())?, 1023);
    Ok(())
}
