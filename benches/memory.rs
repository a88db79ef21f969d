//! `memory.copy` and `memory.fill` throughput on 1 MiB ranges, next to the host's `memmove`/`memset` on the same
//! sizes. Criterion reports each as bytes per second; run with `cargo bench -p weft --bench memory`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weft::{Engine, Instance, Module, Store};

const LEN: usize = 1 << 20;

fn bench(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 64)
             (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
             (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let copy = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "copy").unwrap();
    let fill = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "fill").unwrap();

    let mut group = c.benchmark_group("1MiB");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.bench_function("wasm memory.copy", |b| {
        b.iter(|| copy.call(&mut store, (black_box(2 * LEN as i32), 0, LEN as i32)).unwrap())
    });
    group.bench_function("wasm memory.fill", |b| {
        b.iter(|| fill.call(&mut store, (black_box(0), 0x5a, LEN as i32)).unwrap())
    });
    let mut native = vec![0u8; 3 * LEN];
    group.bench_function("native memmove", |b| {
        b.iter(|| {
            native.copy_within(black_box(0..LEN), 2 * LEN);
            black_box(&native);
        })
    });
    group.bench_function("native memset", |b| {
        b.iter(|| {
            black_box(&mut native[..LEN]).fill(0x5a);
            black_box(&native);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
