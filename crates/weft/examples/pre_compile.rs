//! Ahead-of-time compilation to a file: `Engine::precompile_module` writes what `run_pre_compiled` loads (the same
//! as `weft compile`). Run this first, then `cargo run -p weft --example run_pre_compiled`.
//!
//! `cargo run -p weft --example pre_compile [OUT.cwasm]`

use std::io::Write;
use std::path::{Path, PathBuf};
use weft::*;

/// The module (`run_pre_compiled` knows its export).
const ADD: &str =
    r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

/// Where the artifact goes unless a path is given.
fn default_path() -> PathBuf {
    std::env::temp_dir().join("weft-example-add.cwasm")
}

/// Compiles [`ADD`] with the default configuration and writes the artifact to `path`.
fn pre_compile(path: &Path, out: &mut impl Write) -> Result<()> {
    let engine = Engine::new(&Config::new())?;
    let artifact = engine.precompile_module(ADD.as_bytes())?;
    std::fs::write(path, &artifact)?;
    writeln!(out, "wrote a precompiled module")?;
    Ok(())
}

fn main() -> Result<()> {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(default_path);
    pre_compile(&path, &mut std::io::stdout())?;
    println!("to {}", path.display());
    Ok(())
}

#[test]
fn output() {
    let path = std::env::temp_dir().join(format!("weft-example-pre-compile-{}.cwasm", std::process::id()));
    let mut out = Vec::new();
    pre_compile(&path, &mut out).unwrap();
    assert!(is_precompiled(&std::fs::read(&path).unwrap()));
    std::fs::remove_file(&path).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "wrote a precompiled module\n");
}
