//! Compiling once and loading the machine code later: `Module::serialize` and `Module::deserialize`. An artifact
//! loads only into an engine with the same settings, and is native code: load only artifacts you trust.
//!
//! `cargo run -p weft --example serialize`

use std::io::Write;
use weft::*;

const MODULE: &str =
    r#"(module (func (export "triple") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let bytes = Module::new(&engine, MODULE)?.serialize()?;
    writeln!(out, "serialized: starts with a Weft artifact header: {}", is_precompiled(&bytes))?;
    // Later, perhaps in another process: no compilation happens here.
    let module = Module::deserialize(&engine, &bytes)?;
    let mut store = Store::new(&engine, ());
    let triple = Instance::new(&mut store, &module, &[])?.get_typed_func::<i32, i32>(&mut store, "triple")?;
    writeln!(out, "triple(14) = {}", triple.call(&mut store, 14)?)?;
    // An engine compiling differently refuses the artifact instead of running mismatched code.
    let mut other = Config::new();
    other.consume_fuel(true);
    let refused = Module::deserialize(&Engine::new(&other)?, &bytes).is_err();
    writeln!(out, "an engine with other settings refuses it: {refused}")?;
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
        "serialized: starts with a Weft artifact header: true\n\
         triple(14) = 42\n\
         an engine with other settings refuses it: true\n"
    );
}
