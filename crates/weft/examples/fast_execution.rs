//! Settings for the fastest code: full optimisation, guard-page memories (no bounds checks), and every CPU feature
//! of this host, which Weft detects itself (naming one with `cranelift_flag_enable` is checked against the host).
//!
//! `cargo run -p weft --example fast_execution`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "checksum") (param $len i32) (result i32)
    (local $i i32) (local $sum i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $sum)))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let mut config = Config::new();
    config.opt_level(OptLevel::Speed).memory_reservation(4 << 30).memory_guard_size(2 << 30).signals_based_traps(true);
    // A CPU feature every x86-64 host has; one the host lacked would make Engine::new fail.
    if cfg!(target_arch = "x86_64") {
        config.cranelift_flag_enable("has_sse3");
    }
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?;
    let memory = instance.get_memory(&mut store, "memory").expect("exported");
    memory.data_mut(&mut store)[..11].copy_from_slice(b"hello, wasm");
    let checksum = instance.get_typed_func::<i32, i32>(&mut store, "checksum")?;
    let expected = b"hello, wasm".iter().fold(0i32, |sum, b| sum.wrapping_mul(31).wrapping_add(i32::from(*b)));
    writeln!(out, "checksum matches the host's: {}", checksum.call(&mut store, 11)? == expected)?;
    Ok(())
}

fn main() -> Result<()> {
    run(&mut std::io::stdout())
}

#[test]
fn output() {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "checksum matches the host's: true\n");
}
