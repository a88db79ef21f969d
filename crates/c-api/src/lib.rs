//! Weft's C API: the standard WebAssembly C API (`include/wasm.h`) over the public `weft` embedding API, built as
//! `libweft.so` and `libweft.a`.
//!
//! The standard is implemented in stages; `include/wasm.h` declares exactly what this crate exports, and
//! docs/c-api.md says what is still to come. This crate may depend only on `weft` (the public API): everything
//! unsafe here is about trusting C's pointers, never about reaching into the runtime.
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
