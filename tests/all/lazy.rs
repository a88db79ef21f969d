//! Lazy and tiered compilation: functions compiled on first call (exactly once, from any thread), quick code
//! replaced by optimised code in the background, and everything else (results, traps, backtraces, fuel,
//! interrupts, stack overflow, host errors and panics) the same as with eager compilation.

use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::*;

const MODES: [Compilation; 3] = [Compilation::Eager, Compilation::Lazy, Compilation::Tiered];

fn engine(mode: Compilation, configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config.compilation(mode);
    configure(&mut config);
    Engine::new(&config).unwrap()
}

const PROGRAM: &str = r#"(module $prog
    (table 2 2 funcref)
    (elem (i32.const 0) $square $fib)
    (type $unary (func (param i32) (result i32)))
    (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
            (then (local.get 0))
            (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                           (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
    (func $sum_squares (export "sum_squares") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $acc (i32.add (local.get $acc)
                (call_indirect (type $unary) (local.get $n) (i32.const 0))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $acc))
    (func $tail (export "count_down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
            (then (i32.const 42))
            (else (return_call $tail (i32.sub (local.get 0) (i32.const 1))))))
    (func $never_called (export "never_called") (result i32) (i32.const 7))
    (func $crash (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
    (func $divide (export "divide") (param i32) (result i32) (nop) (call $crash (local.get 0)))
    (func $deep (export "deep") (param i64) (result i64)
        (i64.add (i64.const 1) (call $deep (local.get 0)))))"#;

fn run_program(mode: Compilation) -> (Vec<i32>, String, String) {
    let engine = engine(mode, |_| {});
    let module = Module::new(&engine, PROGRAM).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib").unwrap();
    let sum = instance.get_typed_func::<i32, i32>(&mut store, "sum_squares").unwrap();
    let tail = instance.get_typed_func::<i32, i32>(&mut store, "count_down").unwrap();
    let results = vec![
        fib.call(&mut store, 20).unwrap(),
        sum.call(&mut store, 100).unwrap(),
        tail.call(&mut store, 1_000_000).unwrap(),
    ];
    let divide = instance.get_typed_func::<i32, i32>(&mut store, "divide").unwrap();
    let trap = divide.call(&mut store, 0).unwrap_err();
    assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::IntegerDivisionByZero), "{mode:?}");
    let frames = trap
        .downcast_ref::<WasmBacktrace>()
        .unwrap()
        .frames()
        .iter()
        .map(|f| format!("{}:{}@{:?}", f.func_index(), f.func_name().unwrap_or("?"), f.wasm_offset()));
    let frames = frames.collect::<Vec<_>>().join(" ");
    let deep = instance.get_typed_func::<i64, i64>(&mut store, "deep").unwrap();
    let overflow = deep.call(&mut store, 0).unwrap_err();
    let overflow = format!("{:?}", overflow.downcast_ref::<Trap>());
    (results, frames, overflow)
}

#[test]
fn every_mode_computes_and_traps_alike() {
    let eager = run_program(Compilation::Eager);
    assert_eq!(eager.0, [6765, 338_350, 42]);
    assert!(eager.1.starts_with("5:crash@Some("), "{}", eager.1);
    assert_eq!(eager.2, "Some(StackOverflow)");
    for mode in [Compilation::Lazy, Compilation::Tiered] {
        assert_eq!(run_program(mode), eager, "{mode:?}");
    }
}

#[test]
fn lazy_functions_are_compiled_on_first_call_only() {
    let engine = engine(Compilation::Lazy, |_| {});
    let module = Module::new(&engine, PROGRAM).unwrap();
    let stats = module.lazy_stats().expect("a lazily compiled module");
    assert_eq!((stats.uncompiled, stats.optimized, stats.code_bytes), (8, 0, 0));
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(module.lazy_stats().unwrap().uncompiled, 8, "instantiation compiles nothing");
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib").unwrap();
    assert_eq!(fib.call(&mut store, 10).unwrap(), 55);
    let stats = module.lazy_stats().unwrap();
    assert_eq!((stats.uncompiled, stats.optimized), (7, 1));
    assert!(stats.code_bytes > 0);
    // An indirect call compiles its callee (and the caller), through the table's function reference.
    let sum = instance.get_typed_func::<i32, i32>(&mut store, "sum_squares").unwrap();
    assert_eq!(sum.call(&mut store, 3).unwrap(), 14);
    assert_eq!(module.lazy_stats().unwrap().optimized, 3);
    // A second instance, in another store, finds the code compiled.
    let mut other = Store::new(&engine, ());
    let again = Instance::new(&mut other, &module, &[]).unwrap();
    let fib = again.get_typed_func::<i32, i32>(&mut other, "fib").unwrap();
    let before = module.lazy_stats().unwrap().code_bytes;
    assert_eq!(fib.call(&mut other, 12).unwrap(), 144);
    assert_eq!(module.lazy_stats().unwrap().code_bytes, before);
    // Eager modules have no lazy state.
    let eager = Module::new(&self::engine(Compilation::Eager, |_| {}), PROGRAM).unwrap();
    assert!(eager.lazy_stats().is_none());
}

#[test]
fn an_invalid_function_is_refused_before_anything_runs() {
    // The invalid body is in a function nothing calls: lazy compilation must still refuse the module.
    let wat = r#"(module (func (export "ok") (result i32) (i32.const 1))
                         (func (result i32) (i64.const 1)))"#;
    for mode in MODES {
        let err = Module::new(&engine(mode, |_| {}), wat).unwrap_err();
        assert!(format!("{err:#}").contains("type mismatch"), "{mode:?}: {err:#}");
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn tiered_code_is_replaced_by_optimised_code_when_hot() {
    let engine = engine(Compilation::Tiered, |c| {
        c.tier_up_threshold(100);
    });
    let module = Module::new(&engine, PROGRAM).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib").unwrap();
    // Fewer runs than the threshold: quick code only.
    assert_eq!(fib.call(&mut store, 5).unwrap(), 5);
    let stats = module.lazy_stats().unwrap();
    assert_eq!((stats.quick, stats.queued, stats.optimized), (1, 0, 0));
    // fib(15) enters fib nearly 2000 times: it becomes hot and is compiled again in the background.
    assert_eq!(fib.call(&mut store, 15).unwrap(), 610);
    wait_until("fib runs optimised code", || module.lazy_stats().unwrap().optimized == 1);
    let bytes = module.lazy_stats().unwrap().code_bytes;
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    assert_eq!(module.lazy_stats().unwrap().code_bytes, bytes, "optimised code is final");
    // A loop counts too: one call of a function whose loop runs past the threshold makes it hot.
    let sum = instance.get_typed_func::<i32, i32>(&mut store, "sum_squares").unwrap();
    assert_eq!(sum.call(&mut store, 1000).unwrap(), 333_833_500);
    wait_until("sum_squares and square run optimised code", || module.lazy_stats().unwrap().optimized == 3);
    assert_eq!(sum.call(&mut store, 1000).unwrap(), 333_833_500);
}

#[test]
fn fuel_is_the_same_in_every_mode() {
    let consumed = |mode| {
        let engine = engine(mode, |c| {
            c.consume_fuel(true).tier_up_threshold(10);
        });
        let module = Module::new(&engine, PROGRAM).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(u64::MAX / 2).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib").unwrap();
        let mut used = Vec::new();
        for n in [10, 15, 15] {
            let before = store.get_fuel().unwrap();
            fib.call(&mut store, n).unwrap();
            used.push(before - store.get_fuel().unwrap());
        }
        used
    };
    let eager = consumed(Compilation::Eager);
    assert_eq!(consumed(Compilation::Lazy), eager);
    assert_eq!(consumed(Compilation::Tiered), eager);
}

#[test]
fn interrupts_stop_lazily_compiled_loops() {
    for mode in [Compilation::Lazy, Compilation::Tiered] {
        let engine = engine(mode, |c| {
            c.interruptible(true);
        });
        let module = Module::new(&engine, r#"(module (func (export "spin") (loop (br 0))))"#).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let handle = store.interrupt_handle().unwrap();
        let interrupter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            handle.interrupt();
        });
        let err = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap().call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupted), "{mode:?}");
        interrupter.join().unwrap();
    }
}

#[test]
fn host_errors_and_panics_cross_lazily_compiled_frames() {
    let wat = r#"(module (import "host" "act" (func $act (param i32)))
        (func $inner (param i32) (call $act (local.get 0)))
        (func (export "run") (param i32) (call $inner (local.get 0))))"#;
    for mode in [Compilation::Lazy, Compilation::Tiered] {
        let engine = engine(mode, |_| {});
        let module = Module::new(&engine, wat).unwrap();
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("host", "act", |n: i32| -> Result<()> {
                match n {
                    0 => Ok(()),
                    1 => Err(anyhow!("refused")),
                    _ => panic!("host panic {n}"),
                }
            })
            .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance.get_typed_func::<i32, ()>(&mut store, "run").unwrap();
        run.call(&mut store, 0).unwrap();
        let err = run.call(&mut store, 1).unwrap_err();
        assert!(format!("{err:#}").contains("refused"), "{err:#}");
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 2))).unwrap_err();
        assert_eq!(panic.downcast_ref::<String>().map(String::as_str), Some("host panic 2"));
    }
}

#[test]
fn lazy_modules_serialize_every_function() {
    let engine = engine(Compilation::Lazy, |_| {});
    let module = Module::new(&engine, PROGRAM).unwrap();
    // `Module::serialize`, `weft compile` and `Engine::precompile_module` write every function, and the artifact
    // loads in any mode.
    let serialized = module.serialize().unwrap();
    assert_eq!(module.lazy_stats().unwrap().compilations, 0, "the module itself stays lazy");
    let precompiled = engine.precompile_module(PROGRAM.as_bytes()).unwrap();
    for artifact in [&serialized, &precompiled] {
        assert!(Module::deserialize(&engine, artifact).unwrap().lazy_stats().is_none(), "an artifact is eager");
    }
    let artifact = precompiled;
    for mode in MODES {
        let loaded = Module::deserialize(&self::engine(mode, |_| {}), &artifact).unwrap();
        assert!(loaded.lazy_stats().is_none());
        let mut store = Store::new(loaded.engine(), ());
        let instance = Instance::new(&mut store, &loaded, &[]).unwrap();
        let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib").unwrap();
        assert_eq!(fib.call(&mut store, 10).unwrap(), 55);
    }
}

/// A module of many small functions calling each other, so that threads race to compile the same functions.
fn chain_module(functions: u32) -> String {
    let mut wat = String::from("(module $chain\n");
    wat.push_str("  (func $f0 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))\n");
    for i in 1..functions {
        let prev = i - 1;
        wat.push_str(&format!(
            "  (func $f{i} (export \"f{i}\") (param i32) (result i32)\n    \
             (i32.add (call $f{prev} (i32.mul (local.get 0) (i32.const 3))) (i32.const {i})))\n"
        ));
    }
    wat.push(')');
    wat
}

fn chain_expected(start: u32, x: i32) -> i32 {
    // f0(x) = x + 1 and f_i(x) = f_{i-1}(3x) + i, so f_s(x) = 3^s x + 1 + s(s+1)/2, all wrapping.
    let power = (0..start).fold(1i32, |p, _| p.wrapping_mul(3));
    power.wrapping_mul(x).wrapping_add(1).wrapping_add((start * (start + 1) / 2) as i32)
}

#[test]
fn eight_threads_instantiate_and_call_one_module_at_once() {
    const FUNCTIONS: u32 = 300;
    let wat = chain_module(FUNCTIONS);
    for mode in [Compilation::Lazy, Compilation::Tiered] {
        let engine = engine(mode, |c| {
            c.tier_up_threshold(3).compile_threads(3);
        });
        let module = Module::new(&engine, &wat).unwrap();
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let (module, barrier) = (module.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for round in 0..6u32 {
                        let mut store = Store::new(module.engine(), ());
                        let instance = Instance::new(&mut store, &module, &[]).unwrap();
                        for k in 0..20u32 {
                            let start = 1 + (t * 37 + round * 11 + k * 13) % (FUNCTIONS - 1);
                            let f = instance.get_typed_func::<i32, i32>(&mut store, &format!("f{start}")).unwrap();
                            let x = (t * 1000 + k) as i32;
                            assert_eq!(f.call(&mut store, x).unwrap(), chain_expected(start, x));
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let stats = module.lazy_stats().unwrap();
        assert_eq!(stats.uncompiled + stats.quick + stats.queued + stats.optimized, FUNCTIONS as usize);
        assert!(stats.uncompiled < FUNCTIONS as usize / 2, "{stats:?}");
        if mode == Compilation::Lazy {
            // Every function reached was compiled exactly once, whichever threads raced to call it first.
            assert_eq!((stats.quick, stats.queued), (0, 0));
            assert_eq!(stats.compilations, stats.optimized);
        } else {
            wait_until("the queued compilations finish", || module.lazy_stats().unwrap().queued == 0);
            let stats = module.lazy_stats().unwrap();
            // Once quick, then (if hot) once optimised.
            assert_eq!(stats.compilations, stats.quick + 2 * stats.optimized, "{stats:?}");
            assert!(stats.optimized > 0, "{stats:?}");
        }
    }
}

#[test]
fn large_functions_skip_quick_code_in_tiered_mode() {
    // A body of more than 4 KiB: its quick code would have a huge frame, so it is optimised on its first call.
    let body = "(local.set 0 (i32.add (local.get 0) (i32.const 1000)))\n".repeat(900);
    let wat = format!(
        r#"(module (func (export "big") (param i32) (result i32) {body} (local.get 0))
                   (func (export "small") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"#
    );
    let engine = engine(Compilation::Tiered, |_| {});
    let module = Module::new(&engine, &wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let big = instance.get_typed_func::<i32, i32>(&mut store, "big").unwrap();
    assert_eq!(big.call(&mut store, 1).unwrap(), 900_001);
    let small = instance.get_typed_func::<i32, i32>(&mut store, "small").unwrap();
    assert_eq!(small.call(&mut store, 1).unwrap(), 2);
    let stats = module.lazy_stats().unwrap();
    assert_eq!((stats.quick, stats.optimized, stats.compilations), (1, 1, 2), "{stats:?}");
}

const CALLS: &str = r#"(module $calls
    (func $leaf (export "leaf") (param i32) (result i32) (i32.div_u (i32.const 1000) (local.get 0)))
    (func $middle (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
    (func $caller (export "caller") (param i32) (result i32)
        (i32.mul (call $middle (local.get 0)) (i32.const 2))))"#;

#[test]
fn calls_to_final_code_are_direct_and_kept_in_the_cache() {
    let cache = std::env::temp_dir().join(format!("weft-lazy-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let run = |first_leaf: bool| {
        let engine = engine(Compilation::Lazy, |c| {
            c.cache_dir(Some(&cache));
        });
        let module = Module::new(&engine, CALLS).unwrap();
        let before = module.lazy_stats().unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        if first_leaf {
            // The leaf's code is final before its callers are compiled: they call it directly.
            let leaf = instance.get_typed_func::<i32, i32>(&mut store, "leaf").unwrap();
            assert_eq!(leaf.call(&mut store, 10).unwrap(), 100);
        }
        let caller = instance.get_typed_func::<i32, i32>(&mut store, "caller").unwrap();
        assert_eq!(caller.call(&mut store, 10).unwrap(), 202);
        let trap = caller.call(&mut store, 0).unwrap_err();
        let names: Vec<_> =
            trap.downcast_ref::<WasmBacktrace>().unwrap().frames().iter().map(|f| f.func_name().unwrap()).collect();
        assert_eq!(names, ["leaf", "middle", "caller"]);
        module.save_compiled_code();
        before
    };
    let first = run(true);
    assert_eq!((first.uncompiled, first.optimized), (3, 0));
    // The next run starts with the optimised code of the first (leaf and caller; middle, inlined into caller,
    // never ran on its own), and the direct call of the saved caller finds its callee, installed before it.
    let second = run(false);
    assert_eq!((second.uncompiled, second.optimized, second.compilations), (1, 2, 2));
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(entries.iter().any(|n| n.to_string_lossy().ends_with(".fns")), "{entries:?}");
    // A damaged entry is ignored (and replaced): the module compiles lazily as if there were none.
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let third = run(false);
    assert_eq!((third.uncompiled, third.optimized), (3, 0));
    std::fs::remove_dir_all(&cache).unwrap();
}
