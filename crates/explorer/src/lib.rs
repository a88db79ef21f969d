//! Renders a module's wasm text and machine code side by side as one self-contained HTML page (`weft explore`).
//!
//! The module is compiled eagerly with Weft; each defined function's machine code is disassembled with capstone,
//! its wasm text printed with wasmprinter, and every machine instruction tied to the wasm instruction it came from
//! through the compiler's address map ([`weft::CompiledFunction::address_map`]). The page embeds that data as JSON
//! blocks (one for the function list, one per function, parsed only when the function is shown) with the viewer's
//! script and style, and needs no network.
//!
//! This crate is a tool over Weft's public API (`weft`): it must not depend on the internal layers (environ,
//! Cranelift, the runtime), and it has no `unsafe` code.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod disasm;
mod html;
mod wasm_text;

use rayon::prelude::*;
use std::io::Write;
use weft::{Compilation, Config, Engine, Module, Result};

/// The explorer page for `bytes`, a module in its binary or text (`.wat`) encoding, compiled for the host with
/// Weft's default settings (but eagerly, so that every function has code).
pub fn explore(bytes: &[u8]) -> Result<String> {
    explore_with(&engine()?, bytes)
}

/// The explorer page for `bytes` compiled by `engine`, which must compile eagerly ([`Compilation::Eager`]): lazily
/// compiled modules have no code to show.
pub fn explore_with(engine: &Engine, bytes: &[u8]) -> Result<String> {
    let mut page = Vec::new();
    Page::new(engine, bytes)?.write_to(&mut page)?;
    Ok(String::from_utf8(page)?)
}

/// An explorer page, made and not yet written: [`Page::new`] compiles and disassembles, [`Page::write_to`] writes
/// the HTML, so that a module that fails leaves no half-written file.
pub struct Page(html::Page);

impl Page {
    /// The page for `bytes` (binary or text) compiled by `engine` (see [`explore_with`]).
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Page> {
        build(engine, bytes).map(Page)
    }

    /// Writes the page's HTML to `out`, without holding a second copy of it (a 20 MB module's page is over 400 MB).
    pub fn write_to(self, out: &mut dyn Write) -> std::io::Result<()> {
        self.0.write_to(out)
    }
}

/// An engine that compiles for the host with the default settings, eagerly: what [`explore`] uses.
pub fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.compilation(Compilation::Eager);
    Engine::new(&config)
}

fn build(engine: &Engine, bytes: &[u8]) -> Result<html::Page> {
    let wasm = wat::parse_bytes(bytes).map_err(|e| weft::anyhow!("cannot parse the WebAssembly text: {e}"))?;
    let module = Module::from_binary(engine, &wasm)?;
    let functions = module.compiled_functions()?;
    let text = wasm_text::WasmText::new(&wasm)?;
    let target = engine.target();
    let arch = disasm::Disassembler::for_target(target)?.arch();
    // Functions are disassembled and written in parallel, each thread with a disassembler of its own.
    let parts = functions
        .par_iter()
        .enumerate()
        .map_init(
            || disasm::Disassembler::for_target(target),
            |disassembler, (k, function)| {
                let disassembler = disassembler.as_ref().map_err(|e| weft::anyhow!("{e}"))?;
                let instructions = disassembler.disassemble(function.machine_code())?;
                Ok(html::function_part(k, function, text.function(function.index()), &instructions))
            },
        )
        .collect::<Result<Vec<_>>>()?;
    let mut page = html::Page::new(module.name(), arch);
    for part in parts {
        page.push(part);
    }
    Ok(page)
}
