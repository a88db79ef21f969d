//! Weft's compiler layer: WebAssembly function bodies to machine code, with Cranelift.
//!
//! [`Compiler::compile_module`] validates and translates each function body of a [`weft_environ::ModuleTranslation`]
//! to Cranelift IR (with Weft's own translator on `cranelift-frontend`), compiles the functions in parallel with
//! `rayon`, generates one host-to-wasm entry trampoline per function type, and links everything into one text
//! section with its trap table and address map ([`weft_environ::CompiledCode`]). Calls between functions of the
//! module are resolved here; calls to runtime libcalls are left as relocations for the loader.
//!
//! This crate knows `weft-environ` (the module description and the `VMContext` layout) but not the runtime: it
//! produces bytes and tables, never executable memory, and it contains no `unsafe` code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod compiler;
mod func_translator;
mod inline;
mod lazy;
mod trampolines;

pub use compiler::{CompileError, Compiler, CompilerSettings, Listing, OptLevel};
