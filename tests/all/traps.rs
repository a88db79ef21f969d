//! Every kind of trap, reported as a `Trap` root cause, with the store usable afterwards.

use crate::instantiate;
use weft::*;

fn trap_of(wat_body: &str, params: &[Val]) -> Trap {
    let wat = format!(
        r#"(module (memory 1) (table 2 funcref) (type $v (func)) (type $i (func (result i32)))
             (func $f (result i32) (i32.const 1)) (elem (i32.const 1) $f)
             (func (export "run") (param i32) (result i32) {wat_body}))"#
    );
    let (mut store, instance) = instantiate(&wat);
    let run = instance.get_func(&mut store, "run").unwrap();
    let err = run.call(&mut store, params, &mut [Val::I32(0)]).unwrap_err();
    let trap = *err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("not a trap: {err:#}"));
    // The message names the trap.
    assert!(format!("{err}").contains(trap.message()), "{err:#}");
    // The store remains usable after a trap.
    let ok = Func::wrap(&mut store, || 1i32);
    assert_eq!(ok.typed::<(), i32>(&store).unwrap().call(&mut store, ()).unwrap(), 1);
    trap
}

#[test]
fn out_of_bounds_memory() {
    assert_eq!(trap_of("(i32.load (local.get 0))", &[Val::I32(65533)]), Trap::MemoryOutOfBounds);
    assert_eq!(trap_of("(i32.load offset=0xffffffff (local.get 0))", &[Val::I32(1)]), Trap::MemoryOutOfBounds);
    assert_eq!(
        trap_of("(i32.store8 (local.get 0) (i32.const 1)) (i32.const 0)", &[Val::I32(-1)]),
        Trap::MemoryOutOfBounds
    );
}

#[test]
fn integer_division() {
    assert_eq!(trap_of("(i32.div_u (i32.const 1) (local.get 0))", &[Val::I32(0)]), Trap::IntegerDivisionByZero);
    assert_eq!(trap_of("(i32.rem_s (i32.const 1) (local.get 0))", &[Val::I32(0)]), Trap::IntegerDivisionByZero);
    assert_eq!(trap_of("(i32.div_s (i32.const 0x80000000) (local.get 0))", &[Val::I32(-1)]), Trap::IntegerOverflow);
}

#[test]
fn float_to_int_conversion() {
    assert_eq!(
        trap_of("(i32.trunc_f32_s (f32.div (f32.const 0) (f32.convert_i32_s (local.get 0))))", &[Val::I32(0)]),
        Trap::BadConversionToInteger
    );
    assert_eq!(trap_of("(i32.trunc_f64_u (f64.convert_i32_s (local.get 0)))", &[Val::I32(-1)]), Trap::IntegerOverflow);
}

#[test]
fn unreachable_and_indirect_calls() {
    assert_eq!(trap_of("(unreachable)", &[Val::I32(0)]), Trap::UnreachableCodeReached);
    assert_eq!(trap_of("(call_indirect (type $i) (local.get 0))", &[Val::I32(0)]), Trap::UninitializedElement);
    assert_eq!(trap_of("(call_indirect (type $i) (local.get 0))", &[Val::I32(2)]), Trap::UndefinedElement);
    assert_eq!(trap_of("(call_indirect (type $v) (local.get 0)) (i32.const 0)", &[Val::I32(1)]), Trap::BadSignature);
}

#[test]
fn deep_recursion_exhausts_the_stack() {
    let trap = trap_of("(call 1 (local.get 0))", &[Val::I32(0)]);
    assert_eq!(trap, Trap::StackOverflow);
}

#[test]
fn max_wasm_stack_bounds_recursion_depth() -> Result<()> {
    let depth_with = |stack: usize| -> Result<i32> {
        let mut config = Config::new();
        config.max_wasm_stack(stack);
        let engine = Engine::new(&config)?;
        let module = Module::new(
            &engine,
            r#"(module (global $d (export "depth") (mut i32) (i32.const 0))
                 (func $f (export "f") (global.set $d (i32.add (global.get $d) (i32.const 1))) (call $f)))"#,
        )?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let err = instance.get_typed_func::<(), ()>(&mut store, "f")?.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
        Ok(instance.get_global(&mut store, "depth").unwrap().get(&mut store).i32().unwrap())
    };
    let small = depth_with(64 * 1024)?;
    let large = depth_with(256 * 1024)?;
    assert!(small > 100, "{small}");
    assert!(large > 3 * small, "{small} vs {large}");
    Ok(())
}

#[test]
fn mutual_recursion_with_large_frames_exhausts_the_stack() {
    let (mut store, instance) = instantiate(
        r#"(module
             (func $a (export "a") (param i64) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (call $b (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0)))
             (func $b (param i64 i64 i64 i64 i64 i64)
               (call $a (i64.add (local.get 0) (local.get 5)))))"#,
    );
    let err = instance.get_typed_func::<i64, ()>(&mut store, "a").unwrap().call(&mut store, 1).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
}

#[test]
fn trap_reports_function_name_and_offset() {
    let (mut store, instance) =
        instantiate(r#"(module $m (memory 1) (func $inner (export "f") (drop (i32.load (i32.const 70000)))))"#);
    let err = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap().call(&mut store, ()).unwrap_err();
    let bt = err.downcast_ref::<WasmBacktrace>().expect("a backtrace is attached");
    let frame = &bt.frames()[0];
    assert_eq!(frame.func_name(), Some("inner"));
    assert_eq!(frame.module_name(), Some("m"));
    assert!(frame.wasm_offset().is_some());
    assert!(format!("{err:#}").contains("inner"), "{err:#}");
}

#[test]
fn many_traps_in_a_row() {
    let (mut store, instance) = instantiate(r#"(module (func (export "f") (unreachable)))"#);
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    for _ in 0..10_000 {
        assert!(f.call(&mut store, ()).is_err());
    }
}

#[test]
fn traps_on_other_threads() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let (mut store, instance) = instantiate(
                    r#"(module (func (export "f") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))"#,
                );
                let f = instance.get_typed_func::<i32, i32>(&mut store, "f").unwrap();
                for _ in 0..1000 {
                    assert_eq!(f.call(&mut store, 1).unwrap(), 1);
                    assert!(f.call(&mut store, 0).is_err());
                }
                i
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn small_thread_stacks_trap_instead_of_crashing() {
    // The default max_wasm_stack (512 KiB) is larger than this thread's whole stack: the runtime must still stop
    // wasm before it reaches the guard page.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let (mut store, instance) = instantiate(r#"(module (func $f (export "f") (call $f)))"#);
            let err = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap().call(&mut store, ()).unwrap_err();
            *err.downcast_ref::<Trap>().unwrap()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), Trap::StackOverflow);
}

#[test]
fn backtrace_lists_every_wasm_frame_innermost_first() {
    let (mut store, instance) = instantiate(
        r#"(module $app
             (func $leaf (unreachable))
             (func $middle (call $leaf))
             (func $outer (export "run") (call $middle)))"#,
    );
    let err = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ()).unwrap_err();
    let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
    let names: Vec<_> = bt.frames().iter().map(|f| f.func_name().unwrap_or("?")).collect();
    assert_eq!(names, ["leaf", "middle", "outer"]);
    assert!(bt.frames().iter().all(|f| f.wasm_offset().is_some()));
    let offsets: Vec<_> = bt.frames().iter().map(|f| f.wasm_offset().unwrap()).collect();
    assert!(offsets[0] < offsets[1] && offsets[1] < offsets[2], "{offsets:?}");
}

#[test]
fn host_functions_at_the_deepest_point_have_stack() {
    // Each host call uses 48 KiB of native stack for its own data, called at every depth until wasm's stack is
    // exhausted, on a thread with only 256 KiB of stack: the runtime keeps HOST_STACK_RESERVE (128 KiB) free below
    // the deepest wasm frame, which covers the buffer plus the host-call path (unoptimised, in this test).
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let engine = Engine::default();
            let module = Module::new(
                &engine,
                r#"(module (import "h" "use_stack" (func $use_stack))
                     (func $f (export "f") (call $use_stack) (call $f)))"#,
            )
            .unwrap();
            let mut store = Store::new(&engine, ());
            let use_stack = Func::wrap(&mut store, || {
                let mut buffer = [7u8; 48 * 1024];
                std::hint::black_box(&mut buffer);
            });
            let instance = Instance::new(&mut store, &module, &[use_stack.into()]).unwrap();
            let err = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap().call(&mut store, ()).unwrap_err();
            *err.downcast_ref::<Trap>().unwrap()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), Trap::StackOverflow);
}

#[test]
fn huge_frames_exhaust_the_stack_cleanly() {
    // Each frame holds 4000 i64 and 500 v128 locals (about 40 KiB): frames larger than a page are probed page by
    // page, so the recursion ends in a trap rather than jumping past the stack limit.
    let locals = "(local ".to_string() + &"i64 ".repeat(4000) + &"v128 ".repeat(500) + ")";
    let wat = format!(
        r#"(module (func $f (export "f") (param i64) {locals}
             (local.set 100 (local.get 0)) (local.set 3999 (local.get 100))
             (call $f (i64.add (local.get 3999) (i64.const 1)))))"#
    );
    let (mut store, instance) = crate::instantiate(&wat);
    let err = instance.get_typed_func::<i64, ()>(&mut store, "f").unwrap().call(&mut store, 0).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
}

#[test]
fn traps_stay_traps_while_other_threads_load_and_drop_modules() {
    // The signal handler reads the code registry while other threads change it; no lookup may fail.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loaders: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let engine = Engine::default();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let module =
                        Module::new(&engine, r#"(module (func (export "f") (result i32) (i32.const 1)))"#).unwrap();
                    drop(module);
                }
            })
        })
        .collect();
    let (mut store, instance) =
        instantiate(r#"(module (memory 1) (func (export "f") (drop (i32.load (i32.const 70000)))))"#);
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    for _ in 0..20_000 {
        let err = f.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
}

/// A table whose type fixes its size (as C compilers emit their function-pointer table) is compiled with an
/// immediate bound, and a null element is caught by the fault of reading through it. The traps, and where they are
/// reported, are those of any other table: a defined table, an imported one (whose exporter's size the import's
/// type pins down), and `call_ref` on null.
#[test]
fn indirect_calls_through_fixed_size_tables() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "table" (table $imported 3 3 funcref))
             (table $defined 2 2 funcref)
             (type $i (func (result i32)))
             (type $v (func))
             (func $one (result i32) (i32.const 1))
             (elem (table $defined) (i32.const 1) func $one)
             (func $call_defined (export "defined") (param i32) (result i32)
               (call_indirect $defined (type $i) (local.get 0)))
             (func (export "imported") (param i32) (result i32) (call_indirect $imported (type $i) (local.get 0)))
             (func (export "grow_by_zero") (result i32) (table.grow $defined (ref.null func) (i32.const 0)))
             (func (export "call_null") (call_ref $v (ref.null $v))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let host_table = Table::new(&mut store, TableType::new(ValType::FuncRef, 3, Some(3)), Val::FuncRef(None))?;
    let seven = Func::wrap(&mut store, || 7i32);
    host_table.set(&mut store, 2, Val::FuncRef(Some(seven)))?;
    let instance = Instance::new(&mut store, &module, &[host_table.into()])?;
    let defined = instance.get_typed_func::<i32, i32>(&mut store, "defined")?;
    let imported = instance.get_typed_func::<i32, i32>(&mut store, "imported")?;

    let mut trap_at = |f: &TypedFunc<i32, i32>, index: i32| {
        let err = f.call(&mut store, index).unwrap_err();
        let trap = *err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("not a trap: {err:#}"));
        let frame = err.downcast_ref::<WasmBacktrace>().expect("a backtrace").frames()[0].clone();
        (trap, frame.func_name().map(str::to_string), frame.wasm_offset())
    };
    let null = trap_at(&defined, 0);
    let past_end = trap_at(&defined, 2);
    assert_eq!(null.0, Trap::UninitializedElement);
    assert_eq!(past_end.0, Trap::UndefinedElement);
    assert_eq!(trap_at(&defined, -1).0, Trap::UndefinedElement);
    // The null element's fault is reported where the explicit bound check is: at the `call_indirect`.
    assert_eq!(null.1.as_deref(), Some("call_defined"));
    assert_eq!((null.1, null.2), (past_end.1, past_end.2));
    assert!(null.2.is_some());
    assert_eq!(trap_at(&imported, 0).0, Trap::UninitializedElement);
    assert_eq!(trap_at(&imported, 3).0, Trap::UndefinedElement);

    // Growing by zero is allowed and leaves the elements where compiled code expects them.
    let grow = instance.get_typed_func::<(), i32>(&mut store, "grow_by_zero")?;
    assert_eq!(grow.call(&mut store, ())?, 2);
    assert_eq!(defined.call(&mut store, 1)?, 1);
    assert_eq!(imported.call(&mut store, 2)?, 7);

    let err = instance.get_typed_func::<(), ()>(&mut store, "call_null")?.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::NullFunctionReference), "{err:#}");
    Ok(())
}
