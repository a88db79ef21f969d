//! Weft's runtime core: everything that touches raw memory, machine code and signals.
//!
//! It owns the structures compiled code reads (`VMContext`, [`VMFuncRef`], memory and table definitions), allocates
//! [`Instance`]s with their linear memories (address-space reservations with guard pages, or explicitly
//! bounds-checked buffers), tables and globals, maps compiled code executable ([`CodeMemory`]), and turns faults in
//! that code into wasm traps ([`catch_traps`]): signal handlers check that the faulting PC is in registered JIT code
//! and that the thread is inside a Weft call, and forward every other signal to the previous handler.
//!
//! It also carries wasm exceptions from `throw` to their `try_table` handlers (an unwinder over the frame-pointer
//! chain, with the compiler's per-call-site handler table), keeps a store's exception objects, lays out
//! copy-on-write images of memories' initial contents, checks memories an embedder provides, and implements the
//! pooling allocator's fixed slots.
//!
//! The runtime knows the module description (`weft-environ`) but nothing of Cranelift or of the public API. All of
//! Weft's `unsafe` lives here, each block with the argument for why it holds.
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(not(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "linux")))]
compile_error!("Weft's runtime supports x86-64 and aarch64 Linux");

mod arch;
mod code_memory;
mod exceptions;
mod gdb_jit;
mod host_memory;
mod instance;
mod interrupts;
mod lazy;
mod libcalls;
mod limits;
mod memory;
mod memory_image;
mod mmap;
mod perf;
mod table;
mod traphandlers;
mod vmcontext;

pub use code_memory::{CodeLookup, CodeMemory, MappedFile, lookup_code};
pub use exceptions::{ExceptionArena, ExceptionPtr, VMException, VMTagDefinition, new_exception};
pub use gdb_jit::GdbJitImage;
pub use host_memory::{HostMemory, HostMemoryCreator};
pub use instance::{Imports, Instance, InstantiationError};
pub use interrupts::InterruptFlag;
pub use lazy::{LazyCode, LazyCompiler, LazyStats, Tier};
pub use limits::{GrowKind, HookFailure, LimiterHooks, grow_memory, grow_table, limiter_of};
pub use memory::{LinearMemory, PoolingLimits, ReservationPool, WASM_PAGE_SIZE, WASM32_MAX_PAGES};
pub use memory_image::{MemoryImage, MemoryImages};
pub use perf::{JitDumpMarker, monotonic_ns};
pub use table::Table;
pub use traphandlers::{
    MAX_SAMPLE_FRAMES, StackSampler, TrapInfo, UnwindReason, call_func_ref, catch_traps, init_traps, raise_host_unwind,
};
pub use vmcontext::*;
