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
