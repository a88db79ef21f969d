//! The embedding API: modules, instances, host functions, memories, tables, globals, linking.

use crate::instantiate;
use weft::*;

#[test]
fn engine_is_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Engine>();
    check::<Module>();
}

#[test]
fn typed_and_untyped_calls() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "mul") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1))))"#,
    );
    let mul = instance.get_typed_func::<(i64, i64), i64>(&mut store, "mul")?;
    assert_eq!(mul.call(&mut store, (6, 7))?, 42);
    let untyped = instance.get_func(&mut store, "mul").unwrap();
    let mut out = [Val::I64(0)];
    untyped.call(&mut store, &[Val::I64(-3), Val::I64(5)], &mut out)?;
    assert_eq!(out[0].i64(), Some(-15));
    Ok(())
}

#[test]
fn floats_keep_their_bits() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "id") (param f32 f64) (result f64) (f64.add (f64.promote_f32 (local.get 0)) (local.get 1))))"#,
    );
    let f = instance.get_typed_func::<(f32, f64), f64>(&mut store, "id")?;
    assert_eq!(f.call(&mut store, (1.5, 2.25))?, 3.75);
    Ok(())
}

#[test]
fn host_functions_see_store_data_and_caller_memory() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "log" (func $log (param i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "hello")
             (func (export "run") (call $log (i32.const 16) (i32.const 5))))"#,
    )?;
    let mut linker: Linker<Vec<String>> = Linker::new(&engine);
    linker.func_wrap("host", "log", |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| -> Result<()> {
        let memory = caller.get_export("memory").and_then(Extern::into_memory).expect("memory export");
        let mut buf = vec![0; len as usize];
        memory.read(&caller, ptr as usize, &mut buf)?;
        caller.data_mut().push(String::from_utf8(buf)?);
        Ok(())
    })?;
    let mut store = Store::new(&engine, Vec::new());
    let instance = linker.instantiate(&mut store, &module)?;
    instance.get_typed_func::<(), ()>(&mut store, "run")?.call(&mut store, ())?;
    instance.get_typed_func::<(), ()>(&mut store, "run")?.call(&mut store, ())?;
    assert_eq!(store.data(), &["hello", "hello"]);
    Ok(())
}

#[test]
fn nested_calls_wasm_host_wasm() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "recurse" (func $recurse (param i32) (result i32)))
             (func (export "count") (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0))
                 (then (i32.const 0))
                 (else (i32.add (i32.const 1) (call $recurse (i32.sub (local.get 0) (i32.const 1))))))))"#,
    )?;
    let mut store = Store::new(&engine, None::<Func>);
    let recurse = Func::wrap(&mut store, |mut caller: Caller<'_, Option<Func>>, n: i32| -> Result<i32> {
        let count = caller.data().expect("set before the call");
        let mut out = [Val::I32(0)];
        count.call(&mut caller, &[Val::I32(n)], &mut out)?;
        Ok(out[0].i32().unwrap())
    });
    let instance = Instance::new(&mut store, &module, &[recurse.into()])?;
    let count = instance.get_func(&mut store, "count").unwrap();
    *store.data_mut() = Some(count);
    assert_eq!(count.typed::<i32, i32>(&store)?.call(&mut store, 50)?, 50);
    Ok(())
}

#[test]
fn host_errors_are_returned_and_downcastable() {
    #[derive(Debug)]
    struct Refused(u32);
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "refused {}", self.0)
        }
    }
    impl std::error::Error for Refused {}

    let engine = Engine::default();
    let module =
        Module::new(&engine, r#"(module (import "h" "f" (func $f)) (func (export "run") (call $f) (unreachable)))"#)
            .unwrap();
    let mut store = Store::new(&engine, ());
    let f = Func::wrap(&mut store, || -> Result<()> { Err(Refused(7).into()) });
    let instance = Instance::new(&mut store, &module, &[f.into()]).unwrap();
    let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Refused>().map(|r| r.0), Some(7), "{err:#}");
    assert!(err.downcast_ref::<Trap>().is_none());
    // The store is still usable.
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(err.downcast_ref::<Refused>().is_some());
}

#[test]
fn host_panics_resume_in_the_caller_with_their_payload() {
    let engine = Engine::default();
    let module =
        Module::new(&engine, r#"(module (import "h" "f" (func $f)) (func (export "run") (call $f)))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let f = Func::wrap(&mut store, || -> () { std::panic::panic_any(1234u64) });
    let instance = Instance::new(&mut store, &module, &[f.into()]).unwrap();
    let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, ()))).unwrap_err();
    assert_eq!(payload.downcast_ref::<u64>(), Some(&1234));
    // Wasm frames were unwound; the store still works.
    let ok = Func::wrap(&mut store, || 5i32);
    assert_eq!(ok.typed::<(), i32>(&store).unwrap().call(&mut store, ()).unwrap(), 5);
}

#[test]
fn memory_from_host_and_wasm() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (memory (export "mem") 1 3)
             (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "size") (result i32) (memory.size)))"#,
    );
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    mem.write(&mut store, 100, &0xdeadbeefu32.to_le_bytes())?;
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    assert_eq!(load.call(&mut store, 100)? as u32, 0xdeadbeef);
    assert_eq!(mem.size(&store), 1);
    assert_eq!(instance.get_typed_func::<i32, i32>(&mut store, "grow")?.call(&mut store, 1)?, 1);
    assert_eq!(mem.size(&store), 2);
    assert_eq!(mem.data(&store).len(), 2 * 65536);
    assert_eq!(mem.grow(&mut store, 1)?, 2);
    assert!(mem.grow(&mut store, 1).is_err(), "the maximum is 3 pages");
    assert_eq!(instance.get_typed_func::<i32, i32>(&mut store, "grow")?.call(&mut store, 1)?, -1);
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "size")?.call(&mut store, ())?, 3);
    mem.data_mut(&mut store)[3 * 65536 - 4..].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(load.call(&mut store, 3 * 65536 - 4)?, 7);
    assert!(mem.read(&store, 3 * 65536 - 2, &mut [0; 4]).is_err());
    Ok(())
}

#[test]
fn tables_and_indirect_calls_from_the_host() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (type $t (func (result i32)))
             (table (export "tab") 2 funcref)
             (func $seven (export "seven") (result i32) (i32.const 7))
             (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
    );
    let table = instance.get_table(&mut store, "tab").unwrap();
    let seven = instance.get_func(&mut store, "seven").unwrap();
    let call = instance.get_typed_func::<i32, i32>(&mut store, "call")?;
    let err = call.call(&mut store, 1).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::UninitializedElement));
    table.set(&mut store, 1, Val::FuncRef(Some(seven)))?;
    assert_eq!(call.call(&mut store, 1)?, 7);
    assert!(matches!(table.get(&mut store, 1), Some(Val::FuncRef(Some(_)))));
    assert!(table.get(&mut store, 2).is_none());
    assert_eq!(table.grow(&mut store, 3, Val::FuncRef(Some(seven)))?, 2);
    assert_eq!(call.call(&mut store, 4)?, 7);
    // A host function in a table is callable from wasm too.
    let host = Func::wrap(&mut store, || 99i32);
    table.set(&mut store, 0, Val::FuncRef(Some(host)))?;
    assert_eq!(call.call(&mut store, 0)?, 99);
    Ok(())
}

#[test]
fn globals_get_set_and_mutability() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (global $g (export "g") (mut i32) (i32.const 1))
             (global (export "c") i64 (i64.const 5))
             (func (export "get") (result i32) (global.get $g)))"#,
    );
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store).i32(), Some(1));
    g.set(&mut store, Val::I32(42))?;
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "get")?.call(&mut store, ())?, 42);
    assert!(g.set(&mut store, Val::I64(1)).is_err(), "wrong type");
    let c = instance.get_global(&mut store, "c").unwrap();
    assert!(c.set(&mut store, Val::I64(6)).is_err(), "immutable");
    assert_eq!(c.ty(&store), GlobalType { content: ValType::I64, mutable: false });
    Ok(())
}

#[test]
fn imports_and_exports_carry_types() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "f" (func (param i32) (result f64)))
             (import "env" "m" (memory 1 2))
             (func (export "g") (param i64))
             (global (export "x") (mut f32) (f32.const 0)))"#,
    )?;
    let imports: Vec<_> = module.imports().map(|i| (i.module().to_string(), i.name().to_string(), i.ty())).collect();
    assert_eq!(imports[0].2, ExternType::Func(FuncType::new([ValType::I32], [ValType::F64])));
    assert_eq!(imports[1].2, ExternType::Memory(MemoryType::new(1, Some(2))));
    let exports: Vec<_> = module.exports().map(|e| (e.name().to_string(), e.ty())).collect();
    assert_eq!(exports[0], ("g".into(), ExternType::Func(FuncType::new([ValType::I64], []))));
    assert_eq!(exports[1], ("x".into(), ExternType::Global(GlobalType { content: ValType::F32, mutable: true })));
    Ok(())
}

#[test]
fn start_function_runs_at_instantiation() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module (global $g (export "g") (mut i32) (i32.const 0))
             (func $start (global.set $g (i32.const 9))) (start $start))"#,
    );
    assert_eq!(instance.get_global(&mut store, "g").unwrap().get(&mut store).i32(), Some(9));
    Ok(())
}

#[test]
fn store_keeps_instances_alive_after_the_module_is_dropped() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let f = {
        let module = Module::new(&engine, r#"(module (func (export "f") (result i32) (i32.const 3)))"#)?;
        let instance = Instance::new(&mut store, &module, &[])?;
        instance.get_typed_func::<(), i32>(&mut store, "f")?
    };
    for _ in 0..20 {
        let module = Module::new(&engine, r#"(module (memory 1) (func (export "f") (result i32) (i32.const 4)))"#)?;
        Instance::new(&mut store, &module, &[])?;
    }
    assert_eq!(f.call(&mut store, ())?, 3);
    Ok(())
}

#[test]
fn instances_share_imported_memory_tables_and_globals() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    let global = Global::new(&mut store, GlobalType { content: ValType::I32, mutable: true }, Val::I32(0))?;
    let writer = Module::new(
        &engine,
        r#"(module (import "" "m" (memory 1)) (import "" "g" (global $g (mut i32)))
             (func (export "w") (i32.store (i32.const 8) (i32.const 77)) (global.set $g (i32.const 5))))"#,
    )?;
    let reader = Module::new(
        &engine,
        r#"(module (import "" "m" (memory 1)) (func (export "r") (result i32) (i32.load (i32.const 8))))"#,
    )?;
    let w = Instance::new(&mut store, &writer, &[memory.into(), global.into()])?;
    let r = Instance::new(&mut store, &reader, &[memory.into()])?;
    w.get_typed_func::<(), ()>(&mut store, "w")?.call(&mut store, ())?;
    assert_eq!(r.get_typed_func::<(), i32>(&mut store, "r")?.call(&mut store, ())?, 77);
    assert_eq!(global.get(&mut store).i32(), Some(5));
    Ok(())
}

#[test]
fn explicit_bounds_checks_mode_runs_and_traps() -> Result<()> {
    let mut config = Config::new();
    config.explicit_bounds_checks(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
             (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
             (func (export "load") (param i32) (result i32) (i32.load offset=4 (local.get 0)))
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[])?;
    let store_fn = i.get_typed_func::<(i32, i32), ()>(&mut store, "store")?;
    let load = i.get_typed_func::<i32, i32>(&mut store, "load")?;
    store_fn.call(&mut store, (65532, 11))?;
    assert_eq!(load.call(&mut store, 65528)?, 11);
    let err = load.call(&mut store, 65529).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    // Growing moves the memory; the data and the new bound follow.
    assert_eq!(i.get_typed_func::<i32, i32>(&mut store, "grow")?.call(&mut store, 1)?, 1);
    assert_eq!(load.call(&mut store, 65528)?, 11);
    store_fn.call(&mut store, (131068, 5))?;
    assert_eq!(load.call(&mut store, 131064)?, 5);
    Ok(())
}

#[test]
fn bounds_checked_memory_grows_page_by_page_keeping_its_data() -> Result<()> {
    let mut config = Config::new();
    config.explicit_bounds_checks(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
             (func (export "grow") (result i32) (memory.grow (i32.const 1)))
             (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
             (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[])?;
    let grow = i.get_typed_func::<(), i32>(&mut store, "grow")?;
    let poke = i.get_typed_func::<(i32, i32), ()>(&mut store, "poke")?;
    let peek = i.get_typed_func::<i32, i32>(&mut store, "peek")?;
    for page in 1..300 {
        poke.call(&mut store, (page * 65536 - 4, page))?;
        assert_eq!(grow.call(&mut store, ())?, page);
    }
    for page in 1..300 {
        assert_eq!(peek.call(&mut store, page * 65536 - 4)?, page);
    }
    assert!(peek.call(&mut store, 300 * 65536 - 3).is_err());
    Ok(())
}

/// `instantiate_pre` resolves imports once; each `instantiate` then makes an instance in its own store, with the
/// host functions created there. A host function of the wrong type is refused when resolving.
#[test]
fn instance_pre_instantiates_in_many_stores() -> Result<()> {
    let engine = Engine::default();
    let mut linker: Linker<u32> = Linker::new(&engine);
    linker.func_wrap("host", "bump", |mut caller: Caller<'_, u32>, x: i32| {
        *caller.data_mut() += 1;
        x + 1
    })?;
    let module = Module::new(
        &engine,
        r#"(module (import "host" "bump" (func $bump (param i32) (result i32)))
             (func (export "run") (param i32) (result i32) (call $bump (call $bump (local.get 0)))))"#,
    )?;
    let pre = linker.instantiate_pre(&module)?;
    for start in 0..3 {
        let mut store = Store::new(&engine, 0u32);
        let instance = pre.instantiate(&mut store)?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
        assert_eq!(run.call(&mut store, start)?, start + 2);
        assert_eq!(*store.data(), 2, "the host function ran in this store, with this store's data");
    }
    let wrong = Module::new(&engine, r#"(module (import "host" "bump" (func (param i64))))"#)?;
    let err = linker.instantiate_pre(&wrong).err().expect("a host function of another type is refused");
    assert!(format!("{err:#}").contains("host::bump"), "{err:#}");
    Ok(())
}

/// Imports nothing defines become functions that trap with an error naming them; the rest of the module runs.
#[test]
fn unknown_imports_can_be_defined_as_traps() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "missing" (func $missing (param i32)))
             (func (export "fine") (result i32) (i32.const 7))
             (func (export "calls_missing") (call $missing (i32.const 1))))"#,
    )?;
    let mut linker: Linker<()> = Linker::new(&engine);
    let err = linker.instantiate(Store::new(&engine, ()), &module).unwrap_err();
    assert!(format!("{err:#}").contains("env::missing"), "{err:#}");
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "fine")?.call(&mut store, ())?, 7);
    let err = instance.get_typed_func::<(), ()>(&mut store, "calls_missing")?.call(&mut store, ()).unwrap_err();
    assert!(format!("{err:#}").contains("unknown import `env::missing` was called"), "{err:#}");
    Ok(())
}
