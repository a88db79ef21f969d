//! Several memories in one module: each instruction names its memory, and `memory.copy` moves bytes between them.
//!
//! `cargo run -p weft --example multimemory`

use std::io::Write;
use weft::*;

const MODULE: &str = r#"(module
  (memory $small (export "small") 1)
  (memory $large (export "large") 2 4)
  (data (memory $small) (i32.const 0) "from the small memory")
  (func (export "copy_to_large") (param $at i32)
    (memory.copy $large $small (local.get $at) (i32.const 0) (i32.const 21)))
  (func (export "sizes") (result i32 i32) (memory.size $small) (memory.size $large))
  (func (export "grow_large") (param i32) (result i32) (memory.grow $large (local.get 0))))"#;

fn run(out: &mut impl Write) -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, MODULE)?, &[])?;
    let small = instance.get_memory(&mut store, "small").expect("exported");
    let large = instance.get_memory(&mut store, "large").expect("exported");
    let sizes = instance.get_typed_func::<(), (i32, i32)>(&mut store, "sizes")?;
    writeln!(out, "pages: {:?}", sizes.call(&mut store, ())?)?;
    instance.get_typed_func::<i32, ()>(&mut store, "copy_to_large")?.call(&mut store, 70_000)?;
    let copied = &large.data(&store)[70_000..70_021];
    writeln!(out, "copied into the large memory: {:?}", std::str::from_utf8(copied)?)?;
    writeln!(out, "the small memory's byte 70000 does not exist: {}", small.data(&store).get(70_000).is_none())?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow_large")?;
    writeln!(out, "grow the large one by 2: was {}, then {}", grow.call(&mut store, 2)?, grow.call(&mut store, 1)?)?;
    writeln!(out, "pages: {:?}", sizes.call(&mut store, ())?)?;
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
        "pages: (1, 2)\n\
         copied into the large memory: \"from the small memory\"\n\
         the small memory's byte 70000 does not exist: true\n\
         grow the large one by 2: was 2, then -1\n\
         pages: (1, 4)\n"
    );
}
