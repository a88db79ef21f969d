//! Trampolines between the host's array calling convention and the wasm calling convention.
//!
//! * host to wasm (`array_to_wasm`), one per function type, SystemV:
//!   `extern "C" fn(callee_vmctx, caller_vmctx, wasm_call, values: *mut ValRaw)`; arguments are read from `values`
//!   and results written back to it.
//! * wasm to host (`wasm_to_array`), one per host function type, wasm calling convention: spills the arguments to
//!   a stack array and calls the host's `extern "C" fn(callee_vmctx, caller_vmctx, values, len)` found in the
//!   callee's `VMHostFuncContext`.

use crate::func_translator::{clif_type, uses_return_area, wasm_signature};
use cranelift_codegen::ir::{self, AbiParam, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserFuncName};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use weft_environ::{FuncType, VALRAW_SIZE, VMOffsets, vmhost, vmstore};

/// The host-side signature of an array call: `(callee_vmctx, caller_vmctx, a, b)` with no results.
pub(crate) fn array_signature(isa: &dyn TargetIsa) -> ir::Signature {
    let ptr = isa.pointer_type();
    let mut sig = ir::Signature::new(CallConv::SystemV);
    for _ in 0..4 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig
}

pub(crate) fn array_to_wasm(isa: &dyn TargetIsa, ty: &FuncType) -> ir::Function {
    let ptr = isa.pointer_type();
    let mut func = ir::Function::with_name_signature(UserFuncName::user(1, 0), array_signature(isa));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let [callee_vmctx, caller_vmctx, wasm_call, values] = b.block_params(entry).try_into().unwrap();
    let flags = MemFlagsData::trusted();
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, p) in ty.params.iter().enumerate() {
        args.push(b.ins().load(clif_type(*p), flags, values, (i as u32 * VALRAW_SIZE) as i32));
    }
    // A return area has the array convention's layout, so the callee can write straight into `values`.
    if uses_return_area(ty) {
        args.push(values);
    }
    let sig = b.import_signature(wasm_signature(isa, ty));
    let call = b.ins().call_indirect(sig, wasm_call, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins().store(flags, r, values, (i as u32 * VALRAW_SIZE) as i32);
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    let _ = ptr;
    func
}

pub(crate) fn wasm_to_array(isa: &dyn TargetIsa, ty: &FuncType) -> ir::Function {
    let ptr = isa.pointer_type();
    let mut func = ir::Function::with_name_signature(UserFuncName::user(2, 0), wasm_signature(isa, ty));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let mut params = b.block_params(entry).to_vec();
    let (callee_vmctx, caller_vmctx) = (params[0], params[1]);
    let return_area = if uses_return_area(ty) { params.pop() } else { None };
    let len = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, len * VALRAW_SIZE, 4));
    let values = b.ins().stack_addr(ptr, slot, 0);
    let flags = MemFlagsData::trusted();
    for (i, v) in params[2..].iter().enumerate() {
        b.ins().store(flags, *v, values, (i as u32 * VALRAW_SIZE) as i32);
    }
    // Record where wasm left for the host, so a host error can be given the wasm frames' backtrace.
    // The previous value is restored after the call, so it always names a trampoline frame still on the stack.
    let store_ctx = b.ins().load(ptr, flags.with_readonly(), caller_vmctx, VMOffsets::STORE_CONTEXT as i32);
    let previous_exit = b.ins().load(ptr, flags, store_ctx, vmstore::LAST_EXIT_FP as i32);
    let fp = b.ins().get_frame_pointer(ptr);
    b.ins().store(flags, fp, store_ctx, vmstore::LAST_EXIT_FP as i32);
    let host = b.ins().load(ptr, flags.with_readonly(), callee_vmctx, vmhost::ARRAY_CALL as i32);
    let len_v = b.ins().iconst(ptr, i64::from(len));
    let sig = b.import_signature(array_signature(isa));
    b.ins().call_indirect(sig, host, &[callee_vmctx, caller_vmctx, values, len_v]);
    b.ins().store(flags, previous_exit, store_ctx, vmstore::LAST_EXIT_FP as i32);
    let mut results = Vec::new();
    for (i, r) in ty.results.iter().enumerate() {
        let offset = (i as u32 * VALRAW_SIZE) as i32;
        let v = b.ins().load(clif_type(*r), flags, values, offset);
        match return_area {
            Some(area) => {
                b.ins().store(flags, v, area, offset);
            }
            None => results.push(v),
        }
    }
    b.ins().return_(&results);
    b.finalize(isa.frontend_config());
    func
}
