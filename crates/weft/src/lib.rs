//! Weft: a fast, safe WebAssembly runtime built on Cranelift.
//!
//! This crate is the embedding API. The core concepts:
//!
//! * [`Engine`]: configuration ([`Config`]) and the code generator; shared by everything, cheap to clone.
//! * [`Module`]: a compiled module (from binary or `.wat` text), instantiable any number of times.
//! * [`Store`]: owns every instance and host object created in it, plus embedder data `T`. Nothing created in a
//!   store is freed before the store.
//! * [`Instance`]: a module's instance; its exports are [`Func`]s, [`Memory`]s, [`Table`]s and [`Global`]s.
//! * [`Linker`]: resolves imports by name, including host functions defined with closures.
//!
//! Traps come back as errors whose root cause is a [`Trap`]; the trapping frame is attached as a
//! [`WasmBacktrace`].
//!
//! ```
//! use weft::{Engine, Linker, Module, Store};
//!
//! fn main() -> weft::Result<()> {
//!     let engine = Engine::default();
//!     let module = Module::new(&engine, r#"
//!         (module
//!           (import "host" "double" (func $double (param i32) (result i32)))
//!           (func (export "quadruple") (param i32) (result i32)
//!             (call $double (call $double (local.get 0)))))
//!     "#)?;
//!     let mut linker = Linker::new(&engine);
//!     linker.func_wrap("host", "double", |x: i32| x * 2)?;
//!     let mut store = Store::new(&engine, ());
//!     let instance = linker.instantiate(&mut store, &module)?;
//!     let quadruple = instance.get_typed_func::<i32, i32>(&mut store, "quadruple")?;
//!     assert_eq!(quadruple.call(&mut store, 5)?, 20);
//!     Ok(())
//! }
//! ```
//!
//! | cargo feature | effect | default |
//! |---|---|---|
//! | (none yet) | | |
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod cache;
mod config;
mod coredump;
mod debug;
mod engine;
mod exceptions;
mod explore;
mod externals;
mod func;
mod guest_profiler;
mod host_memory;
mod instance;
mod lazy;
mod limits;
mod linker;
mod module;
mod profiling;
mod serialize;
mod store;
mod trap;
mod types;
mod values;

pub use anyhow::{anyhow, bail, ensure, format_err};
pub use cache::{Cache, default_cache_dir};
pub use config::{Config, InstanceAllocationStrategy, PoolingAllocationConfig, Strategy};
pub use coredump::WasmCoreDump;
pub use engine::Engine;
pub use exceptions::{Exception, ExnRef, Tag, TagType};
pub use explore::CompiledFunction;
pub use externals::{Extern, Global, Memory, Table};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmRet, WasmTy, WasmTyList};
pub use guest_profiler::{DEFAULT_GUEST_PROFILE_INTERVAL, GuestProfiler, render_flame_graph};
pub use host_memory::{LinearMemory, MemoryCreator};
pub use instance::{Instance, LinkError};
pub use limits::{
    DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT, ResourceLimiter, StoreLimits, StoreLimitsBuilder,
};
pub use linker::{InstancePre, Linker};
pub use module::Module;
pub use profiling::ProfilingStrategy;
pub use serialize::{ArtifactError, is_precompiled};
pub use store::{AsContext, AsContextMut, InterruptHandle, Store, StoreContext, StoreContextMut};
pub use trap::{FrameInfo, Trap, WasmBacktrace};
pub use types::*;
pub use values::{ExternRef, GcHeapOutOfMemory, Rooted, Val};
pub use weft_cranelift::{Listing as CodeListing, OptLevel};
pub use weft_environ::Compilation;

/// The README's examples, compiled and run as doctests so they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Weft's error type: an `anyhow::Error` whose root cause may be a [`Trap`], a [`LinkError`], a compile error, or a
/// host function's own error.
pub type Error = anyhow::Error;
/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
