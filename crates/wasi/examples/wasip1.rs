//! Running a WASI preview1 program, set up the way Wasmtime's documentation shows (`WasiCtx::builder`,
//! `p1::add_to_linker_sync`, `Linker::module`, `Linker::get_default`), with its output captured.
//!
//! `cargo run -p weft-wasi --example wasip1 [PROGRAM.wasm [ARGS...]]`

use std::io::Write;
use std::path::{Path, PathBuf};
use weft::*;
use weft_wasi::{OutputBuffer, WasiCtx};

fn run(program: &Path, args: &[&str], out: &mut impl Write) -> Result<i32> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    weft_wasi::p1::add_to_linker_sync(&mut linker, |wasi| wasi)?;
    let stdout = OutputBuffer::new();
    let wasi = WasiCtx::builder().arg("program").args(args).env("GREETING", "hello").stdout(stdout.clone()).build_p1();
    let mut store = Store::new(&engine, wasi);
    linker.module(&mut store, "", &Module::from_file(&engine, program)?)?;
    let start = linker.get_default(&mut store, "")?.typed::<(), ()>(&store)?;
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<weft_wasi::I32Exit>() {
            Some(exit) => exit.0,
            None => return Err(e),
        },
    };
    out.write_all(&stdout.contents())?;
    Ok(status)
}

fn args_env_program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/wasi/args_env.wasm")
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let program = argv.first().map(PathBuf::from).unwrap_or_else(args_env_program);
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let status = run(&program, &args, &mut std::io::stdout())?;
    std::process::exit(status)
}

#[test]
fn output() {
    let mut out = Vec::new();
    let status = run(&args_env_program(), &["one", "two words"], &mut out).unwrap();
    assert_eq!(status, 0);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "argc=3\nargv[1]=one\nargv[2]=two words\nGREETING=hello\nHOME=(unset)\n"
    );
}
