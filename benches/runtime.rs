//! The costs an embedder pays around running wasm: compiling, instantiating, calling in and out, growing memory,
//! trapping. Run with `cargo bench -p weft --bench runtime`; each benchmark's doc comment says what one iteration
//! is. Figures go to docs/benchmarks.md (never into test assertions).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weft::{Caller, Config, Engine, Instance, Linker, Module, Store};

/// A module of `n` functions with loops, branches, calls, memory and float code: the compile benchmarks' input.
fn generated_module(n: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory 1) (global $g (mut i32) (i32.const 0))\n");
    for i in 0..n {
        let callee = if i == 0 { 0 } else { (i * 7919) % i };
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32 i32) (result i32) (local i32 f64)
               (local.set 2 (i32.const {i}))
               (block $out (loop $top
                 (br_if $out (i32.ge_u (local.get 2) (local.get 1)))
                 (i32.store (i32.and (i32.mul (local.get 2) (i32.const 4)) (i32.const 0xfffc))
                   (i32.xor (local.get 0) (i32.load (i32.and (local.get 2) (i32.const 0xfffc)))))
                 (local.set 3 (f64.add (local.get 3) (f64.convert_i32_u (local.get 2))))
                 (local.set 2 (i32.add (local.get 2) (i32.const 1)))
                 (br $top)))
               (if (i32.gt_u (local.get 1) (i32.const 3))
                 (then (local.set 0 (call $f{callee} (local.get 0) (i32.sub (local.get 1) (i32.const 4))))))
               (global.set $g (i32.add (global.get $g) (local.get 0)))
               (i32.add (local.get 0) (i32.trunc_f64_s (local.get 3))))\n"
        ));
    }
    wat.push(')');
    wat::parse_str(wat).expect("the generated module is valid")
}

/// Compilation throughput (bytes of wasm per second): one iteration compiles a module of 400 functions (about
/// 60 KB), in parallel on every core as `Module::new` does.
fn compile(c: &mut Criterion) {
    let wasm = generated_module(400);
    let engine = Engine::default();
    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Bytes(wasm.len() as u64));
    group.sample_size(10);
    group.bench_function("400 functions", |b| b.iter(|| Module::new(&engine, black_box(&wasm)).unwrap()));
    let bytes = Module::new(&engine, &wasm).unwrap().serialize().unwrap();
    group.bench_function("deserialize the same module", |b| {
        b.iter(|| Module::deserialize(&engine, black_box(&bytes)).unwrap())
    });
    group.finish();
}

const SMALL: &str = r#"(module
    (memory (export "memory") 1)
    (table 4 funcref)
    (global $a (mut i32) (i32.const 1))
    (global $b (mut i64) (i64.const 2))
    (global $c f64 (f64.const 3))
    (elem (i32.const 0) $id $id)
    (data (i32.const 0) "a small data segment")
    (data (i32.const 1024) "and another one")
    (func $id (export "id") (param i32) (result i32) (local.get 0)))"#;

/// Instantiation of a small module (one memory, a table with an element segment, three globals, two data
/// segments): one iteration is `Instance::new` in a fresh store (store creation not timed), then the store made
/// by `Store::new` plus `Instance::new`.
fn instantiate(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(&engine, SMALL).unwrap();
    c.bench_function("instantiate small module", |b| {
        b.iter_batched(
            || Store::new(&engine, ()),
            |mut store| {
                Instance::new(&mut store, &module, &[]).unwrap();
                store
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("new store + instantiate small module", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            Instance::new(&mut store, black_box(&module), &[]).unwrap();
            store
        })
    });
}

/// Calls across the boundary: host→wasm is one `TypedFunc::call` of an `(i32) -> i32` identity function; wasm→host
/// is one call of an imported `(i32) -> i32` host closure from a wasm loop (the loop runs 1000 calls per
/// iteration, so criterion's time per element is the cost of one call); untyped `Func::call` for comparison.
fn calls(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "inc" (func $inc (param i32) (result i32)))
            (func (export "id") (param i32) (result i32) (local.get 0))
            (func (export "call_host") (param $n i32) (result i32) (local $acc i32)
              (loop $l
                (local.set $acc (call $inc (local.get $acc)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
              (local.get $acc)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "inc", |_: Caller<'_, ()>, x: i32| x.wrapping_add(1)).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let id = instance.get_typed_func::<i32, i32>(&mut store, "id").unwrap();
    c.bench_function("host-to-wasm TypedFunc (i32)->i32", |b| b.iter(|| id.call(&mut store, black_box(7)).unwrap()));
    let untyped = instance.get_func(&mut store, "id").unwrap();
    let mut results = [weft::Val::I32(0)];
    c.bench_function("host-to-wasm Func::call (i32)->i32", |b| {
        b.iter(|| untyped.call(&mut store, &[weft::Val::I32(black_box(7))], &mut results).unwrap())
    });
    let call_host = instance.get_typed_func::<i32, i32>(&mut store, "call_host").unwrap();
    let mut group = c.benchmark_group("wasm-to-host");
    group.throughput(Throughput::Elements(1000));
    group
        .bench_function("(i32)->i32 host closure", |b| b.iter(|| call_host.call(&mut store, black_box(1000)).unwrap()));
    group.finish();
}

/// `memory.grow` by one page from wasm, 100 times per iteration in a fresh instance (instantiation not timed):
/// with guard pages (no move, only protection changes) and with explicit bounds checks (a growable allocation).
fn memory_grow(c: &mut Criterion) {
    for (name, explicit) in [("guard pages", false), ("explicit bounds checks", true)] {
        let mut config = Config::new();
        config.explicit_bounds_checks(explicit);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(
            &engine,
            r#"(module (memory 1)
                (func (export "grow") (param $n i32)
                  (loop $l
                    (drop (memory.grow (i32.const 1)))
                    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
        )
        .unwrap();
        let mut group = c.benchmark_group("memory.grow");
        group.throughput(Throughput::Elements(100));
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[]).unwrap();
                    let grow = instance.get_typed_func::<i32, ()>(&mut store, "grow").unwrap();
                    (store, grow)
                },
                |(mut store, grow)| {
                    grow.call(&mut store, 100).unwrap();
                    store
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

/// A trap and its way back to the caller: one iteration calls a function that divides by zero three frames deep
/// and gets the `Trap` error with its backtrace.
fn trap(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (func $div (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
            (func $mid (param i32) (result i32) (call $div (local.get 0)))
            (func (export "crash") (param i32) (result i32) (call $mid (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let crash = instance.get_typed_func::<i32, i32>(&mut store, "crash").unwrap();
    c.bench_function("trap three frames deep", |b| b.iter(|| crash.call(&mut store, black_box(0)).unwrap_err()));
}

/// Tail calls against ordinary calls: one iteration is 1000 calls down a chain of two functions calling each
/// other, either with `return_call` (each call replaces the caller's frame) or with `call` (each keeps it).
fn tail_calls(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $ping (export "tail") (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                 (else (return_call $pong (i32.sub (local.get 0) (i32.const 1))))))
             (func $pong (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
                 (else (return_call $ping (i32.sub (local.get 0) (i32.const 1))))))
             (func $ping2 (export "plain") (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                 (else (call $pong2 (i32.sub (local.get 0) (i32.const 1))))))
             (func $pong2 (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
                 (else (call $ping2 (i32.sub (local.get 0) (i32.const 1)))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mut group = c.benchmark_group("1000 mutually recursive calls");
    group.throughput(Throughput::Elements(1000));
    for name in ["tail", "plain"] {
        let f = instance.get_typed_func::<i32, i32>(&mut store, name).unwrap();
        group.bench_function(if name == "tail" { "return_call" } else { "call" }, |b| {
            b.iter(|| f.call(&mut store, black_box(1000)).unwrap())
        });
    }
    group.finish();
}

/// A call-heavy wasm loop: one iteration is 1000 calls of a small helper (a clamp), compiled with and without
/// inlining, and 1000 calls of a helper too large to inline (the cost of a wasm-to-wasm call itself).
fn call_heavy_loop(c: &mut Criterion) {
    let wat = r#"(module
         (func $clamp (param i32) (result i32)
           (select (i32.const 255) (local.get 0) (i32.gt_s (local.get 0) (i32.const 255))))
         (func $mix (param i32) (result i32)
           (i32.xor (i32.mul (i32.rotl (i32.add (local.get 0) (i32.const 7)) (i32.const 5)) (i32.const 31))
             (i32.mul (i32.rotr (i32.sub (local.get 0) (i32.const 3)) (i32.const 11)) (i32.const 17))))
         (func (export "small") (param $n i32) (result i32) (local $acc i32)
           (loop $l
             (local.set $acc (i32.add (local.get $acc) (call $clamp (i32.add (local.get $acc) (local.get $n)))))
             (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
           (local.get $acc))
         (func (export "large") (param $n i32) (result i32) (local $acc i32)
           (loop $l
             (local.set $acc (i32.add (local.get $acc) (call $mix (i32.add (local.get $acc) (local.get $n)))))
             (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
           (local.get $acc)))"#;
    let mut group = c.benchmark_group("1000 calls in a wasm loop");
    group.throughput(Throughput::Elements(1000));
    for (label, inlining, export) in [
        ("small helper, inlined", true, "small"),
        ("small helper, not inlined", false, "small"),
        ("large helper", true, "large"),
    ] {
        let mut config = Config::new();
        config.inlining(inlining);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<i32, i32>(&mut store, export).unwrap();
        group.bench_function(label, |b| b.iter(|| f.call(&mut store, black_box(1000)).unwrap()));
    }
    group.finish();
}

/// Throwing and catching a wasm exception: one iteration is 100 throws, each caught by a `try_table` 1 or 10 frames
/// up; and, for the cost of an unused handler, 100 calls inside a `try_table` that never throw against 100 plain
/// calls.
fn exceptions(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (tag $e (param i32))
             (func $down (param i32 i32) (result i32)
               (if (i32.eqz (local.get 0)) (then (throw $e (local.get 1))))
               (call $down (i32.sub (local.get 0) (i32.const 1)) (local.get 1)))
             (func $id (param i32) (result i32) (local.get 0))
             (func (export "throw") (param $depth i32) (result i32)
               (local $i i32) (local $sum i32)
               (loop $next
                 (block $h (result i32)
                   (try_table (catch $e $h) (drop (call $down (local.get $depth) (local.get $i))))
                   (i32.const 0))
                 (local.set $sum (i32.add (local.get $sum)))
                 (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
               (local.get $sum))
             (func (export "guarded") (param i32) (result i32)
               (local $i i32) (local $sum i32)
               (loop $next
                 (block $h
                   (try_table (catch_all $h)
                     (local.set $sum (i32.add (local.get $sum) (call $id (local.get $i))))))
                 (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
               (local.get $sum))
             (func (export "plain") (param i32) (result i32)
               (local $i i32) (local $sum i32)
               (loop $next
                 (local.set $sum (i32.add (local.get $sum) (call $id (local.get $i))))
                 (br_if $next (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
               (local.get $sum)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mut group = c.benchmark_group("100 exceptions");
    group.throughput(Throughput::Elements(100));
    let throw = instance.get_typed_func::<i32, i32>(&mut store, "throw").unwrap();
    for (name, depth) in [("throw and catch, 1 frame", 0), ("throw and catch, 10 frames", 9)] {
        group.bench_function(name, |b| b.iter(|| throw.call(&mut store, black_box(depth)).unwrap()));
    }
    for name in ["guarded", "plain"] {
        let f = instance.get_typed_func::<i32, i32>(&mut store, name).unwrap();
        let label = if name == "guarded" { "call inside try_table, no throw" } else { "plain call" };
        group.bench_function(label, |b| b.iter(|| f.call(&mut store, black_box(0)).unwrap()));
    }
    group.finish();
}

/// A module whose memory (200 pages) starts with 10 MB of data in one active segment, with a `_start` that reads
/// one byte of it: the binary is written out directly (10 MB would make unwieldy text).
fn module_with_data(bytes: usize) -> Vec<u8> {
    fn leb(mut v: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            out.push(if v == 0 { byte } else { byte | 0x80 });
            if v == 0 {
                break;
            }
        }
    }
    fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len(), out);
        out.extend_from_slice(body);
    }
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 1, 0x7f], &mut wasm); // type 0: () -> i32
    section(3, &[1, 0], &mut wasm); // one function of type 0
    section(5, &[1, 0, 200, 1], &mut wasm); // memory: min 200 pages
    section(7, &[1, 6, b'_', b's', b't', b'a', b'r', b't', 0, 0], &mut wasm); // export "_start"
    // _start: i32.load8_u offset=5_000_000 of address 0
    let body = [0, 0x41, 0, 0x2d, 0, 0xc0, 0x96, 0xb1, 0x02, 0x0b];
    let mut code = vec![1];
    leb(body.len(), &mut code);
    code.extend_from_slice(&body);
    section(10, &code, &mut wasm);
    let mut data = vec![1, 0, 0x41, 0, 0x0b];
    leb(bytes, &mut data);
    data.extend((0..bytes).map(|i| (i % 251) as u8));
    section(11, &data, &mut wasm);
    wasm
}

/// Instantiating a module with 10 MB of data segments and running its `_start` (which reads one byte of the
/// data), per iteration, with copy-on-write memory images (on demand and pooled) and with copying; stores are dropped
/// outside the timing.
fn data_segments(c: &mut Criterion) {
    let wasm = module_with_data(10 << 20);
    let mut group = c.benchmark_group("instantiate with 10 MB of data");
    for (name, cow, pooled) in [
        ("copy-on-write image", true, false),
        ("copy-on-write image, pooling allocator", true, true),
        ("copying the segments", false, false),
    ] {
        let mut config = Config::new();
        config.memory_init_cow(cow);
        if pooled {
            let mut pooling = weft::PoolingAllocationConfig::new();
            pooling.total_memories(16).total_tables(16).total_core_instances(16);
            config.allocation_strategy(weft::InstanceAllocationStrategy::Pooling(pooling));
        }
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, &wasm).unwrap();
        group.bench_function(name, |b| {
            b.iter_batched(
                || Store::new(&engine, ()),
                |mut store| {
                    let instance = Instance::new(&mut store, &module, &[]).unwrap();
                    let start = instance.get_typed_func::<(), i32>(&mut store, "_start").unwrap();
                    assert_eq!(start.call(&mut store, ()).unwrap(), (5_000_000 % 251));
                    store
                },
                // A batch of stores alive at once would exhaust the pool's 16 slots.
                if pooled { BatchSize::PerIteration } else { BatchSize::SmallInput },
            )
        });
    }
    group.finish();
}

/// Resident memory of this process, in bytes (from /proc/self/statm).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// 10,000 live instances of a small module (one page of memory with a data segment, a table, globals) in one store:
/// one iteration instantiates all of them, with the pooling allocator (10,000 slots; instance-state slots of the
/// default 1 MiB, and of 1 KiB) and on demand. The resident memory each instance adds is printed once per strategy
/// (it is not a criterion figure).
fn many_instances(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut group = c.benchmark_group("10,000 live instances");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    for (name, instance_slot) in
        [("pooling", Some(1 << 20)), ("pooling, 1 KiB instance slots", Some(1024)), ("on demand", None)]
    {
        let mut config = Config::new();
        if let Some(instance_slot) = instance_slot {
            let mut pooling = weft::PoolingAllocationConfig::new();
            pooling
                .total_memories(N as u32)
                .total_tables(N as u32)
                .total_core_instances(N as u32)
                .max_core_instance_size(instance_slot);
            config.allocation_strategy(weft::InstanceAllocationStrategy::Pooling(pooling));
        } else {
            config.memory_reservation_pool(N);
        }
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, SMALL).unwrap();
        {
            let before = resident_bytes();
            let mut store = Store::new(&engine, ());
            for _ in 0..N {
                Instance::new(&mut store, &module, &[]).unwrap();
            }
            let after = resident_bytes();
            eprintln!("{name}: {} bytes resident per live instance", (after.saturating_sub(before)) / N as u64);
        }
        group.bench_function(name, |b| {
            b.iter_batched(
                || Store::new(&engine, ()),
                |mut store| {
                    for _ in 0..N {
                        Instance::new(&mut store, &module, &[]).unwrap();
                    }
                    store
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    compile,
    instantiate,
    calls,
    memory_grow,
    trap,
    tail_calls,
    call_heavy_loop,
    exceptions,
    data_segments,
    many_instances
);
criterion_main!(benches);
