//! Weft's C API: the standard WebAssembly C API (`include/wasm.h`) over the public `weft` embedding API, built as
//! `libweft.so` and `libweft.a`.
//!
//! `include/wasm.h` declares the whole standard, all implemented here; `include/weft.h` and `include/wasi.h` add
//! Weft's extensions (docs/c-api.md). This crate may depend only on the public crates (`weft`, `weft-wasi`):
//! everything unsafe here is about trusting C's pointers, never about reaching into the runtime. Every object C can
//! hold as a reference is one Rust type, [`wasm_ref_t`] (see the `object` module).
//!
//! Conventions: every function tolerates NULL where the standard lets it be checked (a `*_delete` of NULL does
//! nothing, a lookup on NULL returns NULL or zero); ownership follows the standard's `own` annotations.

#![allow(non_camel_case_types, reason = "the C API's type names are the standard's")]

mod engine;
mod func;
mod instance;
mod linker;
mod module;
mod object;
mod reflect;
mod trap;
mod types;
mod vec;
mod wasi;
mod weft;

pub use engine::*;
pub use func::*;
pub use instance::*;
pub use linker::*;
pub use module::*;
pub use object::*;
pub use reflect::*;
pub use trap::*;
pub use types::*;
pub use vec::*;
pub use wasi::*;
pub use weft::*;
