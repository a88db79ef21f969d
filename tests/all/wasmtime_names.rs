//! Wasmtime's names that Weft provides beside its own, so that code written for Wasmtime compiles after renaming
//! the crate (issue 22, in progress: docs/migrating-from-wasmtime.md lists what exists and what differs).

use weft::*;

fn sixteen_params() -> String {
    let params = "i32 ".repeat(16);
    format!(r#"(module (func (export "last") (param {params}) (result i32) (local.get 15)))"#)
}

#[test]
fn wasmtime_names_compile_and_mean_the_same() -> Result<()> {
    let mut store: Store<()> = Store::default();
    store.epoch_deadline_trap();
    let engine = store.engine().clone();
    let artifact = engine.precompile_module(sixteen_params().as_bytes())?;
    let module = Module::deserialize(&engine, &artifact)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    type Sixteen = (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32);
    let last = instance.get_typed_func::<Sixteen, i32>(&mut store, "last")?;
    assert_eq!(last.call(&mut store, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))?, 16);
    // A host function of 16 parameters too.
    let host = Func::wrap(
        &mut store,
        |a: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         p: i32| a + p,
    );
    assert_eq!(host.ty(&store).params.len(), 16);
    // Trap names: the same values as Weft's, usable in patterns.
    assert_eq!(Trap::Interrupt, Trap::Interrupted);
    assert!(matches!(Some(Trap::UninitializedElement), Some(Trap::IndirectCallToNull)));
    // anyhow's macros through weft.
    let error: Error = format_err!("formatted {}", 1);
    assert_eq!(error.to_string(), "formatted 1");
    let checked = || -> Result<()> {
        ensure!(1 + 1 == 3, "ensure failed");
        bail!("unreachable")
    };
    assert_eq!(checked().unwrap_err().to_string(), "ensure failed");
    assert_eq!(anyhow!("plain").to_string(), "plain");
    // Config names: the same code as Weft's own settings.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None).parallel_compilation(false);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, sixteen_params())?;
    let mut store = Store::new(&engine, ());
    let last = Instance::new(&mut store, &module, &[])?.get_typed_func::<Sixteen, i32>(&mut store, "last")?;
    assert_eq!(last.call(&mut store, (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7))?, 7);
    Ok(())
}

/// Fuel is counted with Wasmtime's costs: the figures below are what Wasmtime 50 (through its Python wheel) reports
/// for the recursive Fibonacci of its `fuel` example, so a program's fuel budget means the same on both.
#[test]
fn fuel_costs_are_wasmtimes() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (func $fib (export "fib") (param $n i32) (result i32)
             (if (i32.lt_s (local.get $n) (i32.const 2)) (then (return (local.get $n))))
             (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                      (call $fib (i32.sub (local.get $n) (i32.const 2))))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let fib = Instance::new(&mut store, &module, &[])?.get_typed_func::<i32, i32>(&mut store, "fib")?;
    let mut consumed = Vec::new();
    for n in 1..=13 {
        store.set_fuel(10_000)?;
        fib.call(&mut store, n)?;
        consumed.push(10_000 - store.get_fuel()?);
    }
    assert_eq!(consumed, [6, 26, 46, 86, 146, 246, 406, 666, 1086, 1766, 2866, 4646, 7526]);
    store.set_fuel(10_000)?;
    assert_eq!(fib.call(&mut store, 14).unwrap_err().downcast::<Trap>()?, Trap::OutOfFuel);
    Ok(())
}

/// `Linker::new(&engine)`, `Linker::module` for commands and reactors, `Linker::get_default`.
#[test]
fn linker_modules_the_wasmtime_way() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0i32);
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "bump", |mut caller: Caller<'_, i32>| *caller.data_mut() += 1)?;
    // A reactor is instantiated once, after `_initialize` ran: its state persists between calls.
    let reactor = Module::new(
        &engine,
        r#"(module (import "host" "bump" (func $bump))
             (global $n (mut i32) (i32.const 100))
             (func (export "_initialize") (call $bump) (global.set $n (i32.const 0)))
             (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))"#,
    )?;
    linker.module(&mut store, "counter", &reactor)?;
    assert_eq!(*store.data(), 1, "_initialize ran once");
    let next = linker.get(&mut store, "counter", "next").and_then(Extern::into_func).unwrap();
    let next = next.typed::<(), i32>(&store)?;
    assert_eq!((next.call(&mut store, ())?, next.call(&mut store, ())?), (1, 2));
    // A command gets a fresh instance per call: its state starts over every time.
    let command = Module::new(
        &engine,
        r#"(module (import "counter" "next" (func $next (result i32)))
             (global $runs (mut i32) (i32.const 0))
             (func (export "_start") (global.set $runs (i32.add (global.get $runs) (i32.const 1))))
             (func (export "runs") (result i32) (global.get $runs))
             (func (export "upstream") (result i32) (call $next)))"#,
    )?;
    linker.module(&mut store, "", &command)?;
    let start = linker.get_default(&mut store, "")?.typed::<(), ()>(&store)?;
    start.call(&mut store, ())?;
    start.call(&mut store, ())?;
    let runs = linker.get(&mut store, "", "runs").and_then(Extern::into_func).unwrap().typed::<(), i32>(&store)?;
    assert_eq!(runs.call(&mut store, ())?, 0, "each call sees a fresh instance");
    let upstream = linker.get(&mut store, "", "upstream").and_then(Extern::into_func).unwrap();
    assert_eq!(upstream.typed::<(), i32>(&store)?.call(&mut store, ())?, 3, "the reactor is shared");
    // A module without a default function gets one that does nothing.
    linker.get_default(&mut store, "counter")?.typed::<(), ()>(&store)?.call(&mut store, ())?;
    // A linker made for one engine refuses modules of another.
    let other = Module::new(&Engine::default(), "(module)")?;
    let text = format!("{:#}", linker.instantiate(&mut store, &other).unwrap_err());
    assert!(text.contains("another engine"), "{text}");
    Ok(())
}

/// Wasmtime's `Config` methods: what each does in Weft.
#[test]
fn wasmtime_config_methods() -> Result<()> {
    let module = r#"(module (memory (export "m") 1)
                      (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;
    // Less than 4 GiB reserved: memories are bounds-checked explicitly, grow and trap as always.
    for config in [
        Config::new().memory_reservation(1 << 20).memory_guard_size(0).clone(),
        Config::new().signals_based_traps(false).clone(),
        Config::new().strategy(Strategy::Winch).clone(),
        Config::new()
            .strategy(Strategy::Cranelift)
            .target(&format!("{}-unknown-linux-gnu", std::env::consts::ARCH))?
            .clone(),
    ] {
        let engine = Engine::new(&config)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &Module::new(&engine, module)?, &[])?;
        let memory = instance.get_memory(&mut store, "m").unwrap();
        assert_eq!(memory.data_size(&store), 65536);
        memory.grow(&mut store, 3)?;
        assert_eq!(memory.data_size(&store), 4 * 65536);
        let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
        assert_eq!(load.call(&mut store, 4 * 65536 - 4)?, 0);
        let trap = load.call(&mut store, 4 * 65536 - 3).unwrap_err().downcast::<Trap>()?;
        assert_eq!(trap, Trap::MemoryOutOfBounds);
    }
    let text = format!("{:#}", Config::new().target("riscv64gc-unknown-linux-gnu").unwrap_err());
    assert!(text.contains("x86_64 and aarch64 Linux"), "{text}");
    // Cranelift settings: unknown names and settings the runtime relies on are refused when the engine is made.
    for (flag, expected) in [("no_such_flag", "unknown or unadjustable"), ("preserve_frame_pointers", "unadjustable")] {
        let mut config = Config::new();
        config.cranelift_flag_enable(flag);
        let text = format!("{:#}", Engine::new(&config).expect_err("refused"));
        assert!(text.contains(expected) && text.contains(flag), "{text}");
    }
    let mut config = Config::new();
    config.cranelift_flag_set("enable_nan_canonicalization", "true");
    Engine::new(&config)?;
    Ok(())
}

/// `Cache::from_file` reads Wasmtime's cache configuration format.
#[test]
fn cache_configuration_files() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("weft-cache-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            "# Wasmtime's format\n[cache]\nenabled = true\ndirectory = \"{}\"\nfiles-total-size-soft-limit = \"512Mi\"\ncleanup-interval = \"1h\"\n",
            dir.join("entries").display()
        ),
    )?;
    let cache = Cache::from_file(Some(&file))?;
    assert_eq!(cache.directory(), Some(dir.join("entries").as_path()));
    assert_eq!(cache.max_bytes(), 512 << 20);
    let mut config = Config::new();
    config.cache(Some(cache));
    let engine = Engine::new(&config)?;
    Module::new(&engine, "(module (func (export \"f\")))")?;
    assert_eq!(std::fs::read_dir(dir.join("entries"))?.count(), 1, "the module was cached there");
    std::fs::write(&file, "[cache]\ndirectory = \"/tmp\"\nsurprise = 1\n")?;
    let text = format!("{:#}", Cache::from_file(Some(&file)).unwrap_err());
    assert!(text.contains("config.toml:3") && text.contains("surprise"), "{text}");
    std::fs::write(&file, "[cache]\nenabled = false\n")?;
    assert_eq!(Cache::from_file(Some(&file))?.directory(), None);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `Val`'s accessors under Wasmtime's names.
#[test]
fn val_accessors() {
    assert_eq!(Val::I32(-3).unwrap_i32(), -3);
    assert_eq!(Val::I64(1 << 40).unwrap_i64(), 1 << 40);
    assert_eq!(Val::from(1.5f32).unwrap_f32(), 1.5);
    assert_eq!(Val::from(2.5f64).unwrap_f64(), 2.5);
    assert_eq!(Val::V128(7).unwrap_v128(), 7);
    assert!(Val::null_func_ref().unwrap_funcref().is_none());
    assert!(Val::null_extern_ref().unwrap_externref().is_none());
    assert!(Val::I32(0).externref().is_none() && Val::I32(0).funcref().is_none());
    assert!(std::panic::catch_unwind(|| Val::I64(0).unwrap_i32()).is_err(), "the wrong type panics");
}

/// The type constructors and accessors under Wasmtime's names.
#[test]
fn type_constructors_and_accessors() -> Result<()> {
    let global = GlobalType::new(ValType::I64, Mutability::Var);
    assert_eq!((*global.content(), global.mutability()), (ValType::I64, Mutability::Var));
    assert_eq!(GlobalType::new(ValType::F32, Mutability::Const).mutability(), Mutability::Const);
    let memory = MemoryType::new(2, Some(5));
    assert_eq!((memory.minimum(), memory.maximum(), memory.is_64()), (2, Some(5), false));
    assert!(MemoryType::new64(1, None).is_64());
    let table = TableType::new(ValType::FuncRef, 3, None);
    assert_eq!((*table.element(), table.minimum(), table.maximum()), (ValType::FuncRef, 3, None));
    // They make real items.
    let mut store = Store::<()>::default();
    let g = Global::new(&mut store, global, Val::I64(9))?;
    g.set(&mut store, Val::I64(10))?;
    assert_eq!(g.get(&mut store).unwrap_i64(), 10);
    assert_eq!(Memory::new(&mut store, memory)?.size(&store), 2);
    assert_eq!(Table::new(&mut store, table, Val::FuncRef(None))?.size(&store), 3);
    Ok(())
}
