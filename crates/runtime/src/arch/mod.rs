//! What differs between the architectures Weft runs on: the jump-buffer routines that unwind wasm frames, the stubs
//! through which compiled code throws exceptions, reading and rewriting a signal's context, and making written code
//! executable. Each architecture's file has the same items; nothing else in the runtime is architecture-specific
//! (frame records are `[saved fp, return address]` on both, and compiled code keeps a frame-pointer chain).

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::*;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::*;
