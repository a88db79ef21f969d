//! WASI preview1 (`wasi_snapshot_preview1`) for Weft, in a capability sandbox.
//!
//! [`WasiCtxBuilder`] describes what a guest may touch: its arguments and environment, its standard streams
//! (inherited, or in-memory buffers), the host directories it may use (each preopened read-only or read-write
//! under a guest path) and preopened sockets. [`add_to_linker`] defines every preview1 function in a
//! [`weft::Linker`].
//!
//! All file-system access goes through `cap-std`: a path is always resolved inside a directory handle the guest
//! holds, so `..`, absolute paths and symlinks cannot lead outside the preopened directories (an attempt fails with
//! `ENOTCAPABLE` or `EPERM`). Guest pointers are bounds-checked against the guest's memory; a bad pointer or length
//! gets `EFAULT` or `EINVAL`, never a host read outside that memory.
//!
//! This crate sits on the public `weft` API only; it must not depend on Weft's internal layers.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod ctx;
mod errno;
mod guest;
mod preview1;

pub use ctx::{DirPerms, OutputBuffer, WasiCtx, WasiCtxBuilder};
pub use errno::Errno;
pub use preview1::{I32Exit, add_to_linker};

/// Wasmtime's name for a preview1 context: Weft's WASI is preview1 only, so this is [`WasiCtx`].
pub type WasiP1Ctx = WasiCtx;

/// Preview1 under the names of Wasmtime's `wasmtime_wasi::p1`, for code moving from Wasmtime.
pub mod p1 {
    pub use crate::WasiP1Ctx;
    /// Wasmtime's name for [`crate::add_to_linker`] (Weft's host functions are all synchronous).
    pub use crate::preview1::add_to_linker as add_to_linker_sync;
}
