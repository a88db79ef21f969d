//! Running a module compiled ahead of time (by the `pre_compile` example or `weft compile`): loading it maps the
//! machine code, with no compilation. The engine must have the settings the artifact was compiled with.
//!
//! `cargo run -p weft --example run_pre_compiled [IN.cwasm]`

use std::io::Write;
use std::path::{Path, PathBuf};
use weft::*;

fn run(path: &Path, out: &mut impl Write) -> Result<()> {
    let engine = Engine::new(&Config::new())?;
    let module = Module::deserialize_file(&engine, path)
        .map_err(|e| e.context(format!("cannot load {} (run the pre_compile example first)", path.display())))?;
    let mut store = Store::new(&engine, ());
    let add = Instance::new(&mut store, &module, &[])?.get_typed_func::<(i32, i32), i32>(&mut store, "add")?;
    writeln!(out, "3 + 8 = {}", add.call(&mut store, (3, 8))?)?;
    Ok(())
}

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("weft-example-add.cwasm"));
    run(&path, &mut std::io::stdout())
}

#[test]
fn output() {
    // What the pre_compile example writes.
    let path = std::env::temp_dir().join(format!("weft-example-run-pre-compiled-{}.cwasm", std::process::id()));
    let add = r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
    std::fs::write(&path, Engine::default().precompile_module(add.as_bytes()).unwrap()).unwrap();
    let mut out = Vec::new();
    run(&path, &mut out).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "3 + 8 = 11\n");
    let missing = run(Path::new("/nonexistent/add.cwasm"), &mut Vec::new()).unwrap_err();
    assert!(format!("{missing:#}").contains("run the pre_compile example first"), "{missing:#}");
}
