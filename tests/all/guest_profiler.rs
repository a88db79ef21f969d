//! The guest profiler: samples land where the time goes, across modules and host calls, without disturbing
//! interrupts; its outputs (Firefox Profiler JSON, flame graph) describe what it sampled.

use std::time::Duration;
use weft::*;

/// `hot` does ten times the work of `warm`; `main` calls both, so `hot` must dominate the samples.
const PROGRAM: &str = r#"(module $prog
    (func $hot (param $n i32) (result i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n)))
        (local.get $acc))
    (func $warm (param $n i32) (result i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 17)) (local.get $n)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n)))
        (local.get $acc))
    (func $main (export "main") (param $n i32) (result i32)
        (i32.add (call $hot (local.get $n)) (call $warm (i32.div_u (local.get $n) (i32.const 10))))))"#;

fn profiled_engine() -> Engine {
    let mut config = Config::new();
    config.guest_profiling(true);
    Engine::new(&config).unwrap()
}

/// Calls `main(n)` with a profiler sampling every `interval`, doubling `n` until the run took at least 200
/// samples' worth of time (machines differ by an order of magnitude), and returns the profiler of that run.
fn profile_main(engine: &Engine, module: &Module, interval: Duration) -> GuestProfiler {
    let mut n = 1 << 20;
    loop {
        let mut store = Store::new(engine, ());
        store.set_guest_profiler(GuestProfiler::new("test", interval)).unwrap();
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        let main = instance.get_typed_func::<i32, i32>(&mut store, "main").unwrap();
        main.call(&mut store, n).unwrap();
        let profiler = store.take_guest_profiler().unwrap();
        if profiler.sample_count().1 >= 200 || n >= 1 << 30 {
            return profiler;
        }
        n *= 2;
    }
}

#[test]
fn a_hot_function_dominates_the_samples() {
    let engine = profiled_engine();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let profiler = profile_main(&engine, &module, Duration::from_micros(250));
    let (samples, weight) = profiler.sample_count();
    // Under emulation (aarch64 in qemu) samples are fewer and heavier; their weight is what the test is about.
    assert!(samples >= 10, "{samples} samples");
    let self_time = profiler.self_time();
    assert_eq!(self_time[0].0, "prog::hot", "{self_time:?}");
    let hot = self_time[0].1;
    // hot does 10/11 of the work: far more than half of the samples, even with noise.
    assert!(hot * 10 >= weight * 7, "hot has {hot} of {weight}: {self_time:?}");
    let warm = self_time.iter().find(|(name, _)| name == "prog::warm").map_or(0, |(_, w)| *w);
    assert!(warm < hot / 3, "warm {warm}, hot {hot}");
    // Every sample's stack starts at main, and hot is sampled as main's callee.
    let stacks = profiler.stacks();
    assert!(stacks.iter().all(|(frames, _)| frames[0] == "prog::main"), "{stacks:?}");
    assert!(stacks.iter().any(|(frames, _)| frames == &["prog::main", "prog::hot"]), "{stacks:?}");
}

#[test]
fn samples_cover_every_module_and_host_calls_in_between() {
    let engine = profiled_engine();
    let library = Module::new(
        &engine,
        r#"(module $lib
            (func $spin (export "spin") (param $n i32) (result i32)
                (loop $l
                    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                    (br_if $l (local.get $n)))
                (local.get $n)))"#,
    )
    .unwrap();
    // The app calls the host, which calls back into the library: a sample in the library's loop has the app's
    // frame beyond the host call, in an outer activation.
    let app = Module::new(
        &engine,
        r#"(module $app
            (import "host" "through" (func $through (param i32) (result i32)))
            (func $entry (export "main") (param i32) (result i32) (call $through (local.get 0))))"#,
    )
    .unwrap();
    let mut n = 1 << 22;
    loop {
        let mut store = Store::new(&engine, ());
        store.set_guest_profiler(GuestProfiler::new("two modules", Duration::from_micros(250))).unwrap();
        let lib = Instance::new(&mut store, &library, &[]).unwrap();
        let spin = lib.get_typed_func::<i32, i32>(&mut store, "spin").unwrap();
        let through = Func::wrap(&mut store, move |mut caller: Caller<'_, ()>, n: i32| -> Result<i32> {
            spin.call(&mut caller, n)
        });
        let instance = Instance::new(&mut store, &app, &[through.into()]).unwrap();
        let main = instance.get_typed_func::<i32, i32>(&mut store, "main").unwrap();
        assert_eq!(main.call(&mut store, n).unwrap(), 0);
        let profiler = store.take_guest_profiler().unwrap();
        if profiler.sample_count().1 < 50 && n < 1 << 30 {
            n *= 2;
            continue;
        }
        let stacks = profiler.stacks();
        let through_host = stacks.iter().filter(|(frames, _)| frames == &["app::entry", "lib::spin"]).count();
        assert_eq!(through_host, 1, "{stacks:?}");
        assert_eq!(profiler.self_time()[0].0, "lib::spin");
        break;
    }
}

#[test]
fn interrupts_still_stop_a_profiled_store() {
    let engine = profiled_engine();
    let module = Module::new(&engine, r#"(module (func (export "spin") (loop $l (br $l))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_guest_profiler(GuestProfiler::new("spin", Duration::from_micros(100))).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let handle = store.interrupt_handle().unwrap();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    let err = spin.call(&mut store, ()).unwrap_err();
    interrupter.join().unwrap();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupted), "{err:#}");
    // Samples were taken while it spun, and the store runs normally afterwards.
    let profiler = store.take_guest_profiler().unwrap();
    assert!(profiler.sample_count().0 > 0);
    assert_eq!(profiler.self_time()[0].0, "wasm-function[0]");
    let instance = Instance::new(&mut store, &Module::new(&engine, r#"(module (func (export "f")))"#).unwrap(), &[]);
    instance.unwrap().get_typed_func::<(), ()>(&mut store, "f").unwrap().call(&mut store, ()).unwrap();
}

#[test]
fn profiling_needs_its_checks_compiled_in() {
    // Plain interrupt checks cannot take samples: they only trap.
    let mut config = Config::new();
    config.interruptible(true);
    for engine in [Engine::default(), Engine::new(&config).unwrap()] {
        let mut store = Store::new(&engine, ());
        let err = store.set_guest_profiler(GuestProfiler::new("x", Duration::from_millis(1))).unwrap_err();
        assert!(err.to_string().contains("Config::guest_profiling(true)"), "{err}");
        assert!(store.take_guest_profiler().is_none());
    }
}

#[test]
fn the_profile_and_flame_graph_describe_the_samples() {
    let engine = profiled_engine();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let profiler = profile_main(&engine, &module, Duration::from_micros(500));
    let mut json = Vec::new();
    profiler.finish(&mut json).unwrap();
    let profile: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let thread = &profile["threads"][0];
    let strings: Vec<&str> = thread["stringArray"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let names: Vec<&str> =
        thread["funcTable"]["name"].as_array().unwrap().iter().map(|i| strings[i.as_u64().unwrap() as usize]).collect();
    for expected in ["prog::main", "prog::hot"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let samples = thread["samples"]["stack"].as_array().unwrap();
    assert_eq!(samples.len(), profiler.sample_count().0);
    let weights: i64 = thread["samples"]["weight"]
        .as_array()
        .map_or(samples.len() as i64, |w| w.iter().map(|w| w.as_i64().unwrap()).sum());
    assert_eq!(weights as u64, profiler.sample_count().1);

    let mut svg = Vec::new();
    profiler.write_flame_graph(&mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    let total = profiler.sample_count().1;
    assert!(svg.contains(&format!("<title>all ({total} intervals, 100.00%)</title>")), "{svg}");
    assert!(svg.contains(&format!("<title>prog::main ({total} intervals, 100.00%)</title>")), "{svg}");
    assert!(svg.contains("<title>prog::hot ("), "{svg}");
}

#[test]
fn frames_name_source_lines_when_the_module_has_dwarf() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/debug");
    let source = std::fs::read_to_string(root.join("hotloop.c")).unwrap();
    let hot_line = source.lines().position(|l| l.contains("/* line: hot-loop */")).unwrap() + 1;
    let engine = profiled_engine();
    let module = Module::from_file(&engine, root.join("hotloop.wasm")).unwrap();
    let mut n = 1 << 22;
    let profiler = loop {
        let mut store = Store::new(&engine, ());
        store.set_guest_profiler(GuestProfiler::new("hotloop", Duration::from_micros(250))).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        instance.get_typed_func::<u32, u32>(&mut store, "run").unwrap().call(&mut store, n).unwrap();
        let profiler = store.take_guest_profiler().unwrap();
        if profiler.sample_count().1 >= 100 || n >= 1 << 31 {
            break profiler;
        }
        n *= 2;
    };
    // `Module::from_file` names the module after its file.
    assert_eq!(profiler.self_time()[0].0, "hotloop.wasm::hot", "{:?}", profiler.self_time());
    let mut json = Vec::new();
    profiler.finish(&mut json).unwrap();
    let json = String::from_utf8(json).unwrap();
    // Samples are taken at loop headers and function entries, so the loop's line is where the `for` is.
    let label = format!("\"hotloop.wasm::hot (hotloop.c:{hot_line})\"");
    assert!(json.contains(&label), "no {label} in {json}");
}

/// A loop keeping many integer, float and vector values live (more than there are registers) across its probes and
/// a call, as a wat module: `run(n)` returns a checksum of them all after `n` iterations.
fn register_heavy_program() -> String {
    let (ints, floats, vectors) = (16, 8, 4);
    let mut wat = String::from(
        "(module
  (func $mix (param i64) (result i64)
    (i64.add (i64.mul (local.get 0) (i64.const 6364136223846793005)) (i64.const 1442695040888963407)))
  (func (export \"run\") (param $n i32) (result i64) (local $sum i64)\n",
    );
    for k in 0..ints {
        wat += &format!("    (local $a{k} i64)\n");
    }
    for k in 0..floats {
        wat += &format!("    (local $f{k} f64)\n");
    }
    for k in 0..vectors {
        wat += &format!("    (local $v{k} v128)\n");
    }
    for k in 0..ints {
        wat += &format!("    (local.set $a{k} (i64.const {}))\n", k + 1);
    }
    for k in 0..floats {
        wat += &format!("    (local.set $f{k} (f64.const {k}.5))\n");
    }
    for k in 0..vectors {
        wat += &format!("    (local.set $v{k} (v128.const i32x4 {} {} {} {}))\n", k, k + 7, k * 3, k + 100);
    }
    wat += "    (loop $l\n";
    wat += &format!("      (local.set $a0 (call $mix (i64.add (local.get $a0) (local.get $a{}))))\n", ints - 1);
    for k in 1..ints {
        wat += &format!(
            "      (local.set $a{k} (i64.rotl (i64.add (i64.mul (local.get $a{k}) (i64.const {})) (local.get $a{})) (i64.const {k})))\n",
            2 * k + 3,
            k - 1
        );
    }
    for k in 0..floats {
        wat += &format!(
            "      (local.set $f{k} (f64.add (f64.mul (local.get $f{k}) (f64.const 0.75)) (f64.convert_i64_u (i64.and (local.get $a{k}) (i64.const 65535)))))\n"
        );
    }
    for k in 0..vectors {
        let prev = if k == 0 { vectors - 1 } else { k - 1 };
        wat += &format!(
            "      (local.set $v{k} (i32x4.add (i32x4.mul (local.get $v{k}) (i32x4.splat (i32.const {}))) (local.get $v{prev})))\n",
            k + 3
        );
    }
    wat += "      (local.set $n (i32.sub (local.get $n) (i32.const 1)))\n      (br_if $l (local.get $n)))\n";
    for k in 0..ints {
        wat += &format!("    (local.set $sum (i64.xor (i64.rotl (local.get $sum) (i64.const 7)) (local.get $a{k})))\n");
    }
    for k in 0..floats {
        wat += &format!(
            "    (local.set $sum (i64.xor (i64.rotl (local.get $sum) (i64.const 7)) (i64.reinterpret_f64 (local.get $f{k}))))\n"
        );
    }
    for k in 0..vectors {
        for lane in 0..2 {
            wat += &format!(
                "    (local.set $sum (i64.xor (i64.rotl (local.get $sum) (i64.const 7)) (i64x2.extract_lane {lane} (local.get $v{k}))))\n"
            );
        }
    }
    wat += "    (local.get $sum)))\n";
    wat
}

#[test]
fn sampling_leaves_every_register_as_it_was() {
    // Samples interrupt wasm between any two probes' worth of work, with every register in use; the result must be
    // that of a run with no probes at all. With inlining, `mix` disappears into the loop and every value stays in
    // the loop's registers; without, samples also land at its entry with the caller's values saved around a call.
    let program = register_heavy_program();
    let plain = Engine::default();
    let expected = {
        let mut store = Store::new(&plain, ());
        let instance = Instance::new(&mut store, &Module::new(&plain, &program).unwrap(), &[]).unwrap();
        instance.get_typed_func::<i32, i64>(&mut store, "run").unwrap().call(&mut store, 2_000_000).unwrap()
    };
    for inlining in [true, false] {
        let mut config = Config::new();
        config.guest_profiling(true).inlining(inlining);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, &program).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance.get_typed_func::<i32, i64>(&mut store, "run").unwrap();
        let mut samples = 0;
        for _ in 0..40 {
            store.set_guest_profiler(GuestProfiler::new("registers", Duration::from_micros(100))).unwrap();
            assert_eq!(run.call(&mut store, 2_000_000).unwrap(), expected, "inlining {inlining}");
            samples += store.take_guest_profiler().unwrap().sample_count().0;
            if samples >= 20 {
                break;
            }
        }
        assert!(samples >= 20, "only {samples} samples (inlining {inlining}): the probes were not exercised");
    }
}

#[test]
fn an_inlined_loop_keeps_its_probe() {
    // `spin` is small enough to be inlined into `run`'s loop. Translated alone, its probes have the same offsets as
    // `run`'s, and two loads of one address with no store between them may be merged: the inner loop would lose its
    // probe and could never be interrupted.
    let engine = profiled_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (func $spin (param i32) (loop $l (br_if $l (local.get 0))))
            (func (export "run") (loop $outer (call $spin (i32.const 1)) (br $outer))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    let handle = store.interrupt_handle().unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
        // Not interrupted: fail the test rather than hang it.
        if finished.recv_timeout(Duration::from_secs(20)).is_err() {
            eprintln!("the inlined loop was never interrupted");
            std::process::exit(1);
        }
    });
    let err = run.call(&mut store, ()).unwrap_err();
    done.send(()).unwrap();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupted), "{err:#}");
}
