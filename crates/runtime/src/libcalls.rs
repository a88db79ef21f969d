//! Functions compiled code calls: the builtins table (`VMBuiltinFunctions`) and the float libcalls Cranelift emits
//! on CPUs without the matching instructions.

use crate::instance::Instance;
use crate::vmcontext::{VMBuiltinFunctions, VMContext};
use weft_environ::{Libcall, MemoryIndex};

/// The builtins table every `VMContext` points to.
pub(crate) static BUILTINS: VMBuiltinFunctions = VMBuiltinFunctions { memory_grow };

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, delta: u32, index: u32) -> u32 {
    // SAFETY: compiled code passes its own live `VMContext`, and no other reference to its instance is active
    // while wasm runs.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    match instance.memory_grow(MemoryIndex::from_u32(index), u64::from(delta)) {
        Some(old_pages) => old_pages as u32,
        None => u32::MAX,
    }
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
    }
}
