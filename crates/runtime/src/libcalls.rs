//! Functions compiled code calls: the builtins table (`VMBuiltinFunctions`) and the float libcalls Cranelift emits
//! on CPUs without the matching instructions.

use crate::instance::Instance;
use crate::traphandlers::{UnwindReason, raise_host_unwind};
use crate::vmcontext::{VMBuiltinFunctions, VMContext};
use weft_environ::{DataIndex, ElemIndex, Libcall, MemoryIndex, TableIndex};

/// The builtins table every `VMContext` points to.
pub(crate) static BUILTINS: VMBuiltinFunctions = VMBuiltinFunctions {
    memory_grow,
    memory_copy,
    memory_fill,
    memory_init,
    data_drop,
    table_copy,
    table_init,
    elem_drop,
    table_grow,
    table_fill,
    throw: crate::exceptions::weft_runtime_throw,
    throw_ref: crate::exceptions::weft_runtime_throw_ref,
    exception_release: crate::exceptions::exception_release,
    tier_up: crate::lazy::tier_up,
};

/// The instance whose code called a builtin.
///
/// # Safety
/// `vmctx` must be the caller's own live `VMContext`; while wasm runs no other reference to its instance is active.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a mut Instance {
    // SAFETY: guaranteed by the caller.
    unsafe { Instance::from_vmctx(vmctx) }
}

/// A builtin's status: 0 to continue, 1 to trap.
fn status(ok: bool) -> u32 {
    u32::from(!ok)
}

// Addresses, lengths and sizes are 64-bit for every memory and table: compiled code zero-extends those of 32-bit
// ones, and truncates `memory_grow`'s and `table_grow`'s results back (u64::MAX, failure, becomes u32::MAX).

/// A grow's result for compiled code: the old size, or `u64::MAX` when denied; a failed limiter unwinds the wasm
/// that asked, as a host function's error or panic would.
fn grown(result: Result<Option<u64>, crate::HookFailure>) -> u64 {
    match result {
        Ok(old) => old.unwrap_or(u64::MAX),
        Err(failure) => {
            let reason = match failure {
                crate::HookFailure::Error(e) => UnwindReason::Host(e, Vec::new()),
                crate::HookFailure::Panic(p) => UnwindReason::Panic(p),
            };
            // SAFETY: builtins are only called by wasm, inside `catch_traps`; the builtin's frame holds nothing that
            // needs dropping (the instance is borrowed, the failure was moved into `reason`).
            unsafe { raise_host_unwind(reason) }
        }
    }
}

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, delta: u64, index: u32) -> u64 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    grown(instance.memory_grow(MemoryIndex::from_u32(index), delta))
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    status(instance.memory_copy(MemoryIndex::from_u32(dst_mem), dst, MemoryIndex::from_u32(src_mem), src, len))
}

unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, mem: u32, dst: u64, value: u32, len: u64) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    status(instance.memory_fill(MemoryIndex::from_u32(mem), dst, value as u8, len))
}

unsafe extern "C" fn memory_init(vmctx: *mut VMContext, mem: u32, data: u32, dst: u64, src: u32, len: u32) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    status(instance.memory_init(MemoryIndex::from_u32(mem), DataIndex::from_u32(data), dst, src, len))
}

unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: compiled code passes its own live `VMContext`.
    unsafe { instance(vmctx) }.data_drop(DataIndex::from_u32(data));
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    status(instance.table_copy(TableIndex::from_u32(dst_table), TableIndex::from_u32(src_table), dst, src, len))
}

unsafe extern "C" fn table_init(vmctx: *mut VMContext, table: u32, elem: u32, dst: u64, src: u32, len: u32) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    status(instance.table_init(TableIndex::from_u32(table), ElemIndex::from_u32(elem), dst, src, len))
}

unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: compiled code passes its own live `VMContext`.
    unsafe { instance(vmctx) }.elem_drop(ElemIndex::from_u32(elem));
}

unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, delta: u64, init: *mut u8) -> u64 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: validation typed `init` as an element of this table's type, and compiled code only holds references
    // its own store owns.
    grown(unsafe { instance.table_grow(TableIndex::from_u32(table), delta, init) })
}

unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u64, value: *mut u8, len: u64) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: as for `table_grow`.
    let table = unsafe { &mut *instance.table(TableIndex::from_u32(table)) };
    status(table.fill(dst, value, len))
}

extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// The address compiled code uses for `libcall`.
pub(crate) fn address(libcall: Libcall) -> usize {
    match libcall {
        Libcall::CeilF32 => ceil_f32 as *const () as usize,
        Libcall::CeilF64 => ceil_f64 as *const () as usize,
        Libcall::FloorF32 => floor_f32 as *const () as usize,
        Libcall::FloorF64 => floor_f64 as *const () as usize,
        Libcall::TruncF32 => trunc_f32 as *const () as usize,
        Libcall::TruncF64 => trunc_f64 as *const () as usize,
        Libcall::NearestF32 => nearest_f32 as *const () as usize,
        Libcall::NearestF64 => nearest_f64 as *const () as usize,
        Libcall::FmaF32 => fma_f32 as *const () as usize,
        Libcall::FmaF64 => fma_f64 as *const () as usize,
        Libcall::LazyEntry => crate::arch::weft_runtime_lazy_entry as *const () as usize,
    }
}
