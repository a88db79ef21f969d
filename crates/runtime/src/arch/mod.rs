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

// The routines each architecture's file defines in assembly (`global_asm!`), with the same signatures on both.
unsafe extern "C" {
    /// Saves registers in `buf`, calls `callback(payload)`, returns 0; or returns the value passed to
    /// `weft_runtime_longjmp(buf, value)` if a jump happens while `callback` runs.
    pub(crate) fn weft_runtime_setjmp_call(
        buf: *mut JmpBuf,
        callback: unsafe extern "C" fn(*mut u8),
        payload: *mut u8,
    ) -> i32;
    /// Restores the registers saved in `buf` and resumes after its `weft_runtime_setjmp_call`, returning `value`.
    pub(crate) fn weft_runtime_longjmp(buf: *const JmpBuf, value: i32) -> !;
    /// The `throw` builtin compiled code calls.
    pub(crate) fn weft_runtime_throw(vmctx: *mut crate::VMContext, tag: u32, payload: *const crate::ValRaw) -> !;
    /// The `throw_ref` builtin; `exn` is a `*mut VMException`.
    pub(crate) fn weft_runtime_throw_ref(vmctx: *mut crate::VMContext, exn: *mut u8) -> !;
    /// Continues at an exception handler; `exn` is a `*mut VMException`.
    pub(crate) fn weft_runtime_resume(pc: usize, sp: usize, fp: usize, exn: *mut u8) -> !;
    /// Where the compile stubs of a lazily compiled module jump, as if they were the function: with the function's
    /// arguments in place and its defined index in a scratch register (r11, x17). Saves the argument registers,
    /// asks `crate::lazy::lazy_compile` for the function's code, restores them and jumps there. Not callable
    /// from Rust: declared for its address.
    pub(crate) fn weft_runtime_lazy_entry();
    /// Where the fault handler sends a probe that found a sample request: saves every register and the flags,
    /// calls `crate::traphandlers::probe_sample` with the probe's PC and the wasm frame pointer, restores them and
    /// returns to the probe. Not callable from Rust: declared for its address.
    pub(crate) fn weft_runtime_probe_sample();
}
