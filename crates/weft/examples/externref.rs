//! Host values inside wasm: an `externref` wraps any Rust value; wasm can store it in tables and globals and pass
//! it back, but never look inside.
//!
//! `cargo run -p weft --example externref`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (table $slots (export "slots") 4 externref)
  (global $last (export "last") (mut externref) (ref.null extern))
  (func (export "keep") (param $i i32) (param $r externref) (result externref)
    (table.set $slots (local.get $i) (local.get $r))
    (global.set $last (local.get $r))
    (local.get $r))
  (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?;
    let session = ExternRef::new(&mut store, String::from("session #7"))?;
    let keep =
        instance.get_typed_func::<(i32, Option<Rooted<ExternRef>>), Option<Rooted<ExternRef>>>(&mut store, "keep")?;
    let back = keep.call(&mut store, (2, Some(session)))?.expect("not null");
    writeln!(out, "came back as the same reference: {}", Rooted::ref_eq(&store, &back, &session)?)?;
    let value = back.data(&store)?.and_then(|v| v.downcast_ref::<String>()).expect("a String");
    writeln!(out, "holding {value:?}")?;

    let slots = instance.get_table(&mut store, "slots").expect("exported");
    let stored = slots.get(&mut store, 2).expect("in bounds");
    writeln!(
        out,
        "table slot 2 holds it: {}",
        stored.unwrap_externref().is_some_and(|r| ExternRef::ptr_eq(r, &session))
    )?;
    writeln!(
        out,
        "table slot 0 is null: {}",
        slots.get(&mut store, 0).expect("in bounds").unwrap_externref().is_none()
    )?;
    let last = instance.get_global(&mut store, "last").expect("exported").get(&mut store);
    writeln!(out, "the global holds it too: {}", last.unwrap_externref().is_some())?;

    // The host changes the value; every holder sees it.
    session.data_mut(&mut store)?.and_then(|v| v.downcast_mut::<String>()).expect("a String").push_str(" (closed)");
    let value = back.data(&store)?.and_then(|v| v.downcast_ref::<String>()).expect("a String");
    writeln!(out, "now {value:?}")?;
    let is_null = instance.get_typed_func::<Option<Rooted<ExternRef>>, i32>(&mut store, "is_null")?;
    writeln!(out, "null is null: {}", is_null.call(&mut store, None)? == 1)?;
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
        "came back as the same reference: true\n\
         holding \"session #7\"\n\
         table slot 2 holds it: true\n\
         table slot 0 is null: true\n\
         the global holds it too: true\n\
         now \"session #7 (closed)\"\n\
         null is null: true\n"
    );
}
