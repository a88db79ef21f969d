//! Wasm exceptions (the exception handling proposal): tags, exception objects, and the unwinder that carries a
//! thrown exception to its handler.
//!
//! Design. A `try_table`'s calls are Cranelift `try_call`s, each with one catch-all handler: the `try_table`'s
//! landing pad, whose compiled code compares the exception's tag with each `catch` clause and throws it on when none
//! matches. The runtime therefore never interprets tags: throwing walks the frame-pointer chain from the throwing
//! frame outwards, looking up each frame's return address in the code's handler table, and resumes at the first
//! handler found with that frame's stack and frame pointers and the exception in the first return register. Every
//! `try_call` callee uses the `tail` convention, for which Cranelift assumes no register survives on the
//! exceptional edge, so nothing but the two pointers needs restoring. Calls outside a `try_table` are plain calls:
//! code that never catches pays nothing.
//!
//! When the walk reaches the end of the activation (a return address outside compiled code: the host called this
//! wasm), the exception leaves wasm as [`UnwindReason::Exception`] through the same jump a host error takes. A host
//! function that receives it may return it, which throws it again from the calling wasm frame
//! ([`throw_from_host`]).
//!
//! Exception objects are owned by the store ([`ExceptionArena`]). One that a `catch` or `catch_all` clause takes
//! and unpacks is freed there, unless a reference to it was ever handed out: an `exnref` (from `catch_ref`,
//! `catch_all_ref`, or given to the host) may be stored in tables and globals, and without a collector nothing
//! tells when the last one is gone, so such an exception lives until the store is dropped, as host references do.
//! Throwing and catching by tag, the common case, therefore allocates and frees one object per throw.

use crate::code_memory;
use crate::instance::Instance;
use crate::traphandlers::{UnwindReason, current_entry_exit_fp, raise_host_unwind};
use crate::vmcontext::{VMContext, VMStoreContext, ValRaw};
use weft_environ::{TagIndex, VMOffsets, vmexn};

/// A tag's definition. Its address is the tag's identity: every instance defines new tags, and an imported tag is
/// the exporter's.
#[repr(C)]
#[derive(Debug)]
pub struct VMTagDefinition {
    /// The engine-wide id of the tag's function type (imports are checked against it).
    pub type_id: u32,
}

/// An exception: what an `exnref` points to.
#[repr(C)]
#[derive(Debug)]
pub struct VMException {
    /// The tag it was thrown with.
    pub tag: *const VMTagDefinition,
    /// The payload values (`values`' buffer), read by compiled code.
    payload: *const ValRaw,
    /// Non-zero once a reference to it was handed out (written by compiled code too).
    escaped: u8,
    /// Its slot in the store's arena.
    slot: u32,
    values: Box<[ValRaw]>,
}

const _: () = {
    assert!(std::mem::offset_of!(VMException, tag) == vmexn::TAG as usize);
    assert!(std::mem::offset_of!(VMException, payload) == vmexn::PAYLOAD as usize);
    assert!(std::mem::offset_of!(VMException, escaped) == vmexn::ESCAPED as usize);
};

/// The exceptions of one store.
#[derive(Debug, Default)]
pub struct ExceptionArena {
    slots: Vec<Option<Box<VMException>>>,
    free: Vec<u32>,
}

impl ExceptionArena {
    /// How many exceptions are alive.
    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

impl VMException {
    /// The payload values, in the tag's parameter order.
    pub fn values(&self) -> &[ValRaw] {
        &self.values
    }

    /// Records that a reference to the exception was handed out: it now lives as long as its store.
    pub fn mark_escaped(&mut self) {
        self.escaped = 1;
    }
}

/// Creates an exception owned by the store whose context is `store`; it lives until the store is dropped.
///
/// # Safety
/// `store` must be a live store context not otherwise borrowed for the duration of the call.
pub unsafe fn new_exception(
    store: *mut VMStoreContext,
    tag: *const VMTagDefinition,
    values: Box<[ValRaw]>,
) -> *mut VMException {
    // SAFETY: guaranteed by the caller.
    let arena = unsafe { &mut (*store).exceptions };
    let slot = arena.free.pop().unwrap_or_else(|| {
        arena.slots.push(None);
        (arena.slots.len() - 1) as u32
    });
    let mut exn = Box::new(VMException { tag, payload: values.as_ptr(), escaped: 0, slot, values });
    // The box's contents never move, so the pointer stays valid until the slot is released or the store dropped.
    let ptr: *mut VMException = &mut *exn;
    arena.slots[slot as usize] = Some(exn);
    ptr
}

/// The `exception_release` builtin (see `weft_environ::builtins::EXCEPTION_RELEASE`).
pub(crate) unsafe extern "C" fn exception_release(vmctx: *mut VMContext, exn: *mut u8) {
    let exn = exn.cast::<VMException>();
    // SAFETY: compiled code passes its own live context and an exception of its store it has just caught.
    unsafe {
        if (*exn).escaped != 0 {
            return;
        }
        let arena = &mut (*store_of(vmctx)).exceptions;
        let slot = (*exn).slot;
        arena.slots[slot as usize] = None;
        arena.free.push(slot);
    }
}

use crate::arch::weft_runtime_resume;
pub(crate) use crate::arch::{weft_runtime_throw, weft_runtime_throw_ref};

/// The store context of the instance whose context is `vmctx`.
///
/// # Safety
/// `vmctx` must be a live `VMContext`.
unsafe fn store_of(vmctx: *mut VMContext) -> *mut VMStoreContext {
    // SAFETY: a live VMContext holds its store context pointer at this offset.
    unsafe { *(vmctx as *const u8).add(VMOffsets::STORE_CONTEXT as usize).cast::<*mut VMStoreContext>() }
}

pub(crate) unsafe extern "C" fn throw_impl(
    vmctx: *mut VMContext,
    tag: u32,
    payload: *const ValRaw,
    fp: usize,
    pc: usize,
) -> ! {
    let exn = {
        // SAFETY: compiled code passes its own live `VMContext`; no other reference to its instance is active while
        // this builtin runs.
        let instance = unsafe { Instance::from_vmctx(vmctx) };
        let tag = TagIndex::from_u32(tag);
        let len = instance.module().tag_params(tag).len();
        // SAFETY: compiled code stored the tag's `len` payload values in a stack array at `payload`.
        let values: Box<[ValRaw]> = unsafe { std::slice::from_raw_parts(payload, len) }.into();
        // SAFETY: the instance's store context is live; nothing else borrows it while this builtin runs.
        unsafe { new_exception(store_of(vmctx), instance.tag(tag), values) }
    };
    // SAFETY: `fp` and `pc` are the throwing wasm frame and its call's return address (see the assembly stub); the
    // frames skipped own nothing (this frame's values were moved into the store).
    unsafe { unwind(store_of(vmctx), exn, fp, pc) }
}

pub(crate) unsafe extern "C" fn throw_ref_impl(
    vmctx: *mut VMContext,
    exn: *mut VMException,
    fp: usize,
    pc: usize,
) -> ! {
    // SAFETY: as for `throw_impl`; compiled code checked `exn` for null.
    unsafe { unwind(store_of(vmctx), exn, fp, pc) }
}

/// Throws `exn` from a host function into the wasm that called it (through the wasm-to-host trampoline whose frame
/// the store recorded), as if that call had thrown.
///
/// # Safety
/// Must be called from a host function that wasm called, on this thread, with `caller` the calling instance's
/// live context and `exn` an exception of the same store; nothing that needs dropping may be live in the frames
/// between here and the wasm caller.
pub(crate) unsafe fn throw_from_host(caller: *mut VMContext, exn: *mut VMException) -> ! {
    // SAFETY: guaranteed by the caller.
    let store = unsafe { store_of(caller) };
    // SAFETY: the wasm-to-host trampoline stored its frame pointer before calling the host; that frame is live, and
    // holds its caller's frame pointer and the return address into the wasm caller.
    let (fp, pc) = unsafe {
        let trampoline_fp = (*store).last_exit_fp;
        (*(trampoline_fp as *const usize), *((trampoline_fp + 8) as *const usize))
    };
    // SAFETY: `fp`/`pc` are the wasm caller's frame and return address.
    unsafe { unwind(store, exn, fp, pc) }
}

/// Carries `exn` from the wasm frame `fp`, stopped at the call returning to `pc`, to the innermost handler of this
/// activation, or out of wasm when there is none.
///
/// # Safety
/// `fp` must be a compiled wasm frame of the innermost activation on this thread and `pc` the return address of
/// the call it is executing; `store` its store's context.
unsafe fn unwind(store: *mut VMStoreContext, exn: *mut VMException, mut fp: usize, pc: usize) -> ! {
    let mut frames = 0usize;
    let mut site = code_memory::lookup_exception_handler(pc).flatten();
    loop {
        if let Some((handler, sp_to_fp)) = site {
            // Resuming inside this activation: the store's exit frame is what it is whenever wasm of this
            // activation runs (wasm-to-host trampolines restore it on return; the ones skipped here cannot).
            // SAFETY: `store` is live; the frame at `fp` is live and its handler expects exactly this state.
            unsafe {
                (*store).last_exit_fp = current_entry_exit_fp();
                weft_runtime_resume(handler, fp - sp_to_fp, fp, exn.cast())
            }
        }
        // SAFETY: `fp` is a compiled frame (frame pointers are kept): its caller's frame pointer and return address
        // are above it.
        let (caller_fp, return_address) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        frames += 1;
        if caller_fp <= fp || frames > 1_000_000 {
            break;
        }
        // The caller's call site, or the end of this activation if the caller is not compiled code.
        let Some(caller_site) = code_memory::lookup_exception_handler(return_address) else { break };
        site = caller_site;
        fp = caller_fp;
    }
    // SAFETY: no handler in this activation: the exception leaves wasm like a host error (nothing owned is live).
    unsafe { raise_host_unwind(UnwindReason::Exception(ExceptionPtr(exn))) }
}

/// An exception leaving wasm: a pointer to a store-owned [`VMException`].
#[derive(Debug)]
pub struct ExceptionPtr(pub *mut VMException);

// SAFETY: the exception is owned by a store, which is used by one thread at a time; the pointer is only
// dereferenced by whoever holds that store.
unsafe impl Send for ExceptionPtr {}
