//! Multiple results: a wasm function returning several values, and a host function doing the same.
//!
//! `cargo run -p weft --example multi`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (import "host" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
  (func (export "swap_and_double") (param i64 i64) (result i64 i64)
    (i64.mul (local.get 1) (i64.const 2))
    (i64.mul (local.get 0) (i64.const 2)))
  (func (export "via_host") (param i32 i32) (result i32 i32 i32)
    (call $divmod (local.get 0) (local.get 1))
    (i32.const -1)))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let divmod = Func::wrap(&mut store, |a: i32, b: i32| -> Result<(i32, i32)> {
        if b == 0 {
            bail!("division by zero in the host");
        }
        Ok((a / b, a % b))
    });
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[divmod.into()])?;
    let swap = instance.get_typed_func::<(i64, i64), (i64, i64)>(&mut store, "swap_and_double")?;
    writeln!(out, "swap_and_double(3, 10) = {:?}", swap.call(&mut store, (3, 10))?)?;
    let via_host = instance.get_typed_func::<(i32, i32), (i32, i32, i32)>(&mut store, "via_host")?;
    writeln!(out, "via_host(17, 5) = {:?}", via_host.call(&mut store, (17, 5))?)?;
    // The untyped API takes and returns slices of values.
    let func = instance.get_func(&mut store, "via_host").expect("exported");
    let mut results = [Val::I32(0), Val::I32(0), Val::I32(0)];
    func.call(&mut store, &[Val::I32(9), Val::I32(4)], &mut results)?;
    writeln!(out, "untyped via_host(9, 4) = {:?}", results.iter().map(|v| v.i32().unwrap()).collect::<Vec<_>>())?;
    let error = via_host.call(&mut store, (1, 0)).unwrap_err();
    writeln!(out, "a host error comes back: {}", error.root_cause())?;
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
        "swap_and_double(3, 10) = (20, 6)\n\
         via_host(17, 5) = (3, 2, -1)\n\
         untyped via_host(9, 4) = [2, 1, -1]\n\
         a host error comes back: division by zero in the host\n"
    );
}
