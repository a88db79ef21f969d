//! Engines and modules are shared across threads; each thread runs its guests in a store of its own. Imports are
//! resolved once (`InstancePre`) and instantiated in every thread.
//!
//! `cargo run -p weft --example threads`

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use weft::*;

const MODULE: &str = r#"(module
  (import "host" "report" (func $report (param i64)))
  (func (export "sum_to") (param $n i64)
    (local $i i64) (local $sum i64)
    (block $done (loop $next
      (br_if $done (i64.gt_u (local.get $i) (local.get $n)))
      (local.set $sum (i64.add (local.get $sum) (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (call $report (local.get $sum))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let total = Arc::new(AtomicU64::new(0));
    let mut linker = Linker::new(&engine);
    let sink = total.clone();
    linker.func_wrap("host", "report", move |sum: i64| {
        sink.fetch_add(sum as u64, Ordering::Relaxed);
    })?;
    let pre = linker.instantiate_pre(&Module::new(&engine, MODULE)?)?;
    let threads: Vec<_> = (1..=8u64)
        .map(|t| {
            let (engine, pre) = (engine.clone(), pre.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(&engine, ());
                let sum_to = pre.instantiate(&mut store)?.get_typed_func::<i64, ()>(&mut store, "sum_to")?;
                sum_to.call(&mut store, (t * 1000) as i64)
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread panics")?;
    }
    // Each thread t adds 1 + ... + 1000t.
    let expected: u64 = (1..=8u64).map(|t| 1000 * t * (1000 * t + 1) / 2).sum();
    writeln!(out, "8 threads summed {} (expected {expected})", total.load(Ordering::Relaxed))?;
    Ok(())
}

fn main() -> Result<()> {
    run(&mut std::io::stdout())
}

#[test]
fn output() {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "8 threads summed 102018000 (expected 102018000)\n");
}
