//! Settings for compiling quickly: no optimisation (`Strategy::Winch` asks for the same in Wasmtime's terms),
//! every core at once, and a cache so that a module is compiled only once.
//!
//! `cargo run -p weft --example fast_compilation`

use std::io::Write;
use std::time::Instant;
use weft::*;

fn run(out: &mut impl Write) -> Result<()> {
    let cache = std::env::temp_dir().join(format!("weft-example-fast-compilation-{}", std::process::id()));
    let mut config = Config::new();
    config.opt_level(OptLevel::None).parallel_compilation(true).cache_dir(Some(&cache));
    // Whole modules, compiled up front, are what the cache stores (a lazy module stores its optimised functions).
    config.compilation(Compilation::Eager);
    let engine = Engine::new(&config)?;
    // A module of a few hundred small functions.
    let funcs: String = (0..300)
        .map(|i| format!("(func (export \"f{i}\") (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))"))
        .collect();
    let wasm = wat::parse_str(format!("(module {funcs})"))?;
    let started = Instant::now();
    Module::new(&engine, &wasm)?;
    let first = started.elapsed();
    let started = Instant::now();
    let module = Module::new(&engine, &wasm)?;
    let cached = started.elapsed();
    writeln!(
        out,
        "compiled {} exports; the second load came from the cache: {}",
        module.exports().len(),
        std::fs::read_dir(&cache)?.count() == 1
    )?;
    eprintln!("(first compilation {first:?}, cached load {cached:?})");
    std::fs::remove_dir_all(&cache)?;
    Ok(())
}

fn main() -> Result<()> {
    run(&mut std::io::stdout())
}

#[test]
fn output() {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "compiled 300 exports; the second load came from the cache: true\n");
}
