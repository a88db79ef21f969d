//! What lazily compiled code needs from the compiler: calls routed through the module's code table, and the
//! per-function stubs of a lazily compiled module's text (see `weft_runtime::LazyCode` for how they are used).

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{self, ExternalName, InstBuilder, InstructionData, MemFlagsData, Opcode};
use cranelift_codegen::isa::TargetIsa;
use weft_environ::{CompiledCode, FuncIndex, LazyStubs, Libcall, LibcallRelocation, Module, VMOffsets};

/// Rewrites every direct call of `func` to a function the module defines (`call`, `return_call`, `try_call`, in
/// the function's own body or in bodies inlined into it) into an indirect call through the module's code table:
/// `code_table = vmctx[LAZY_CODE]; callee = code_table[def]`. The callee's code may not exist yet, and may be
/// replaced by better code later, so no address is ever built into the caller.
///
/// `direct`: calls that stay direct, to functions whose code is final (optimised code is never replaced): the
/// function itself, when it is optimised code, and functions already optimised when it was compiled.
pub(crate) fn route_calls_through_table(
    func: &mut ir::Function,
    module: &Module,
    ptr: ir::Type,
    direct: &dyn Fn(FuncIndex) -> bool,
) {
    let mut pos = FuncCursor::new(func);
    while pos.next_block().is_some() {
        while let Some(inst) = pos.next_inst() {
            let data = pos.func.dfg.insts[inst];
            let (func_ref, exception) = match data {
                InstructionData::Call { opcode: Opcode::Call | Opcode::ReturnCall, func_ref, .. } => (func_ref, None),
                InstructionData::TryCall { func_ref, exception, .. } => (func_ref, Some(exception)),
                _ => continue,
            };
            let ExternalName::User(name) = pos.func.dfg.ext_funcs[func_ref].name else { continue };
            let name = &pos.func.params.user_named_funcs()[name];
            if name.namespace != 0 {
                continue;
            }
            let callee = FuncIndex::from_u32(name.index);
            if direct(callee) {
                continue;
            }
            let Some(def) = module.defined_func_index(callee) else { continue };
            let signature = pos.func.dfg.ext_funcs[func_ref].signature;
            let args: Vec<ir::Value> = pos.func.dfg.inst_args(inst).to_vec();
            // Every wasm call passes the callee's vmctx first; a direct callee's is the caller's own.
            let vmctx = args[0];
            let invariant = MemFlagsData::trusted().with_readonly().with_can_move();
            let table = pos.ins().load(ptr, invariant, vmctx, VMOffsets::LAZY_CODE as i32);
            let callee = pos.ins().load(ptr, MemFlagsData::trusted(), table, (def.as_u32() * 8) as i32);
            let mut all = Vec::with_capacity(args.len() + 1);
            all.push(callee);
            all.extend_from_slice(&args);
            let args = ir::ValueList::from_slice(&all, &mut pos.func.dfg.value_lists);
            pos.func.dfg.insts[inst] = match (data.opcode(), exception) {
                (Opcode::ReturnCall, _) => {
                    InstructionData::CallIndirect { opcode: Opcode::ReturnCallIndirect, args, sig_ref: signature }
                }
                (_, Some(exception)) => {
                    InstructionData::TryCallIndirect { opcode: Opcode::TryCallIndirect, args, exception }
                }
                _ => InstructionData::CallIndirect { opcode: Opcode::CallIndirect, args, sig_ref: signature },
            };
        }
    }
}

/// The stubs of a function, by architecture: the compile stub puts the function's index in a scratch register
/// and jumps to the runtime's lazy entry (an absolute address, filled in by the loader as a libcall); the dispatch
/// stub jumps through the function's code-table entry, reached from the callee vmctx (the first argument).
struct StubTemplate {
    stride: u32,
    dispatch: u32,
    /// Offset of the lazy entry's address in the compile stub.
    entry_field: u32,
    write: fn(&mut Vec<u8>, u32),
}

const X86_64_STUBS: StubTemplate = StubTemplate {
    stride: 32,
    dispatch: 20,
    entry_field: 12,
    write: |out, def| {
        // mov r11d, def
        out.extend_from_slice(&[0x41, 0xbb]);
        out.extend_from_slice(&def.to_le_bytes());
        // jmp [rip + 0]; the lazy entry's address follows
        out.extend_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        out.extend_from_slice(&[0; 8]);
        // mov rax, [rdi + LAZY_CODE]
        out.extend_from_slice(&[0x48, 0x8b, 0x47, VMOffsets::LAZY_CODE as u8]);
        // jmp [rax + def * 8]
        out.extend_from_slice(&[0xff, 0xa0]);
        out.extend_from_slice(&(def * 8).to_le_bytes());
        // int3 padding to the stride
        out.extend_from_slice(&[0xcc; 2]);
    },
};

const AARCH64_STUBS: StubTemplate = StubTemplate {
    stride: 48,
    dispatch: 24,
    entry_field: 16,
    write: |out, def| {
        let (lo, hi) = (def & 0xffff, def >> 16);
        let movz_x17 = 0xd280_0000 | (lo << 5) | 17;
        let movk_x17 = 0xf2a0_0000 | (hi << 5) | 17;
        for insn in [
            0x5800_0090, // ldr x16, #16 (the lazy entry's address)
            movz_x17,    // movz x17, #lo
            movk_x17,    // movk x17, #hi, lsl #16
            0xd61f_0200, // br x16
        ] {
            out.extend_from_slice(&u32::to_le_bytes(insn));
        }
        out.extend_from_slice(&[0; 8]);
        for insn in [
            0xf940_0000 | ((VMOffsets::LAZY_CODE / 8) << 10) | (2 << 5) | 16, // ldr x16, [x2, #LAZY_CODE]
            movz_x17,
            movk_x17,
            0xf860_7800 | (17 << 16) | (16 << 5) | 16, // ldr x16, [x16, x17, lsl #3]
            0xd61f_0200,                               // br x16
            0xd420_0020,                               // brk #1 (padding)
        ] {
            out.extend_from_slice(&u32::to_le_bytes(insn));
        }
    },
};

/// Appends the stubs of `count` functions to `code`'s text and records where they are.
pub(crate) fn append_stubs(isa: &dyn TargetIsa, code: &mut CompiledCode, count: u32) -> Result<(), String> {
    let template = match isa.name() {
        "x64" => &X86_64_STUBS,
        "aarch64" => &AARCH64_STUBS,
        other => return Err(format!("lazy compilation is not supported on {other}")),
    };
    if count >= 1 << 28 {
        return Err(format!("{count} functions are too many for lazy compilation"));
    }
    while !code.text.len().is_multiple_of(32) {
        code.text.push(0);
    }
    let start = code.text.len() as u32;
    code.text.reserve(count as usize * template.stride as usize);
    for def in 0..count {
        let at = code.text.len();
        (template.write)(&mut code.text, def);
        debug_assert_eq!(code.text.len() - at, template.stride as usize);
        code.libcall_relocations.push(LibcallRelocation {
            offset: at as u32 + template.entry_field,
            libcall: Libcall::LazyEntry,
            addend: 0,
        });
    }
    code.lazy_stubs = Some(LazyStubs { start, stride: template.stride, dispatch: template.dispatch });
    Ok(())
}
