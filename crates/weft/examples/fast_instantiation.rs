//! Settings for instantiating quickly and often: the pooling allocator (every slot reserved once), copy-on-write
//! memory images (data segments are mapped, not copied) and imports resolved once with `InstancePre`.
//!
//! `cargo run -p weft --example fast_instantiation`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (import "host" "count" (func $count))
  (memory 16)
  (data (i32.const 0) "a page of data segment, mapped copy-on-write into every instance")
  (func (export "run") (result i32) (call $count) (i32.load8_u (i32.const 2))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let mut pooling = PoolingAllocationConfig::new();
    pooling.total_memories(10).total_tables(10).total_core_instances(10).max_memory_size(1 << 20);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling)).memory_init_cow(true);
    let engine = Engine::new(&config)?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "count", |mut caller: Caller<'_, u32>| *caller.data_mut() += 1)?;
    let pre = linker.instantiate_pre(&Module::new(&engine, MODULE)?)?;
    let mut runs = 0;
    for _ in 0..1000 {
        let mut store = Store::new(&engine, 0u32);
        let run = pre.instantiate(&mut store)?.get_typed_func::<(), i32>(&mut store, "run")?;
        assert_eq!(run.call(&mut store, ())?, i32::from(b'p'));
        runs += *store.data();
    }
    writeln!(out, "1000 instances, one at a time in 10 slots: {runs} runs")?;
    // Holding more than the pool has is a clear error, not an allocation.
    let mut stores: Vec<Store<u32>> = (0..11).map(|_| Store::new(&engine, 0)).collect();
    let held = stores.iter_mut().filter_map(|s| pre.instantiate(s).ok()).count();
    writeln!(out, "at once: {held} of 11 fit")?;
    Ok(())
}

fn main() -> Result<()> {
    run(&mut std::io::stdout())
}

#[test]
fn output() {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1000 instances, one at a time in 10 slots: 1000 runs\nat once: 10 of 11 fit\n"
    );
}
