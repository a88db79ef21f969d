//! Weft's module description layer.
//!
//! This crate turns WebAssembly bytes into a [`Module`]: a plain-data description of a module's types, imports,
//! functions, tables, memories, globals, exports, segments and names, fully validated by `wasmparser`. It also owns
//! the facts that the compiler and the runtime must agree on: the [`VMOffsets`] layout of a `VMContext`, the
//! [`Trap`] codes, and the [`Tunables`] that shape generated code.
//!
//! It is pure data: it contains no `unsafe` code, knows nothing of Cranelift and nothing of the runtime. The compiler
//! (`weft-cranelift`) and the runtime (`weft-runtime`) both depend on it; it depends on neither.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod compiled;
mod debug;
mod indices;
mod module;
mod offsets;
mod translate;
mod trap;
mod tunables;
mod types;

pub use compiled::*;
pub use debug::{DwarfSections, LineRow, LineTable};
pub use indices::*;
pub use module::*;
pub use offsets::*;
pub use translate::{
    FunctionBodyData, ModuleTranslation, TYPE_SYSTEM_FEATURES, TranslateError, check_local_type, check_operator,
    convert_valtype, operator_proposal, translate_module, validate_module, wasm_features,
};
pub use trap::Trap;
pub use tunables::{AUTO_LAZY_CODE_BYTES, Compilation, Tunables};
pub use types::*;

pub use wasmparser;
