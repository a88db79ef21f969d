//! aarch64: the jump buffer routines, the exception stubs, reading and rewriting a signal's context, and
//! instruction-cache maintenance after writing code.

std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl weft_runtime_setjmp_call",
    ".type weft_runtime_setjmp_call,%function",
    "weft_runtime_setjmp_call:",
    ".cfi_startproc",
    "stp x29, x30, [sp, #-16]!",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset x29, -16",
    ".cfi_offset x30, -8",
    "mov x29, sp",
    ".cfi_def_cfa_register x29",
    "stp x19, x20, [x0, #0]",
    "stp x21, x22, [x0, #16]",
    "stp x23, x24, [x0, #32]",
    "stp x25, x26, [x0, #48]",
    "stp x27, x28, [x0, #64]",
    "mov x9, sp",
    "stp x29, x9, [x0, #80]",
    "adr x9, 2f",
    "str x9, [x0, #96]",
    "stp d8, d9, [x0, #104]",
    "stp d10, d11, [x0, #120]",
    "stp d12, d13, [x0, #136]",
    "stp d14, d15, [x0, #152]",
    "mov x0, x2",
    "blr x1",
    "mov w0, #0",
    ".cfi_remember_state",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa sp, 0",
    ".cfi_restore x29",
    ".cfi_restore x30",
    "ret",
    // The landing point of a jump: sp and x29 are back at their values after the prologue.
    ".cfi_restore_state",
    "2:",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa sp, 0",
    ".cfi_restore x29",
    ".cfi_restore x30",
    "ret",
    ".cfi_endproc",
    ".size weft_runtime_setjmp_call, . - weft_runtime_setjmp_call",
    "",
    ".p2align 4",
    ".globl weft_runtime_longjmp",
    ".type weft_runtime_longjmp,%function",
    "weft_runtime_longjmp:",
    "ldp x19, x20, [x0, #0]",
    "ldp x21, x22, [x0, #16]",
    "ldp x23, x24, [x0, #32]",
    "ldp x25, x26, [x0, #48]",
    "ldp x27, x28, [x0, #64]",
    "ldp x29, x9, [x0, #80]",
    "mov sp, x9",
    "ldp d8, d9, [x0, #104]",
    "ldp d10, d11, [x0, #120]",
    "ldp d12, d13, [x0, #136]",
    "ldp d14, d15, [x0, #152]",
    "ldr x9, [x0, #96]",
    "mov w0, w1",
    "br x9",
    ".size weft_runtime_longjmp, . - weft_runtime_longjmp",
);

/// Callee-saved x19–x28, the frame pointer, the stack pointer, the landing address and d8–d15.
pub(crate) type JmpBuf = [usize; 21];

std::arch::global_asm!(
    ".text",
    // `throw(vmctx, tag, payload)`, called by compiled code with Cranelift's `tail` convention, whose arguments
    // start at x2 on aarch64 (x0 and x1 are reserved there): moves them to x0–x2 and passes the calling wasm frame's
    // frame pointer (x29, untouched) and the call's return address (x30) on to `throw_impl` (C convention), which
    // never returns. The stack pointer is 16-byte aligned at every call on aarch64, so nothing needs realigning.
    ".p2align 4",
    ".globl weft_runtime_throw",
    ".type weft_runtime_throw,%function",
    "weft_runtime_throw:",
    "mov x0, x2",
    "mov x1, x3",
    "mov x2, x4",
    "mov x3, x29",
    "mov x4, x30",
    "bl {throw_impl}",
    "brk #0x1",
    ".size weft_runtime_throw, . - weft_runtime_throw",
    // `throw_ref(vmctx, exn)`, the same for an existing exception.
    ".p2align 4",
    ".globl weft_runtime_throw_ref",
    ".type weft_runtime_throw_ref,%function",
    "weft_runtime_throw_ref:",
    "mov x0, x2",
    "mov x1, x3",
    "mov x2, x29",
    "mov x3, x30",
    "bl {throw_ref_impl}",
    "brk #0x1",
    ".size weft_runtime_throw_ref, . - weft_runtime_throw_ref",
    // `resume(pc, sp, fp, exn)`: continues at a handler with the frame it belongs to, the exception in x0 (the
    // first exceptional payload register of the `tail` convention) and 0 in x1 (the second, unused).
    ".p2align 4",
    ".globl weft_runtime_resume",
    ".type weft_runtime_resume,%function",
    "weft_runtime_resume:",
    "mov x29, x2",
    "mov sp, x1",
    "mov x16, x0",
    "mov x0, x3",
    "mov x1, #0",
    "br x16",
    ".size weft_runtime_resume, . - weft_runtime_resume",
    throw_impl = sym crate::exceptions::throw_impl,
    throw_ref_impl = sym crate::exceptions::throw_ref_impl,
);

std::arch::global_asm!(
    ".text",
    // The lazy entry (see `arch/mod.rs`). Cranelift's `tail` convention passes arguments in x2-x7 (x0 is kept for
    // a return area, x1 for an indirect callee) and v0-v7, the rest on the stack, which nothing here moves; x17
    // (IP1, a scratch register) carries the function's index. x0-x9 and q0-q7 are saved: more than the
    // arguments, so that nothing the convention may pass is lost.
    ".p2align 4",
    ".globl weft_runtime_lazy_entry",
    ".type weft_runtime_lazy_entry,%function",
    "weft_runtime_lazy_entry:",
    ".cfi_startproc",
    "stp x29, x30, [sp, #-16]!",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset x29, -16",
    ".cfi_offset x30, -8",
    "mov x29, sp",
    ".cfi_def_cfa x29, 16",
    "sub sp, sp, #208",
    "stp x0, x1, [sp]",
    "stp x2, x3, [sp, #16]",
    "stp x4, x5, [sp, #32]",
    "stp x6, x7, [sp, #48]",
    "stp x8, x9, [sp, #64]",
    "stp q0, q1, [sp, #80]",
    "stp q2, q3, [sp, #112]",
    "stp q4, q5, [sp, #144]",
    "stp q6, q7, [sp, #176]",
    "mov x0, x2",
    "mov w1, w17",
    "bl {lazy_compile}",
    "mov x16, x0",
    "ldp x0, x1, [sp]",
    "ldp x2, x3, [sp, #16]",
    "ldp x4, x5, [sp, #32]",
    "ldp x6, x7, [sp, #48]",
    "ldp x8, x9, [sp, #64]",
    "ldp q0, q1, [sp, #80]",
    "ldp q2, q3, [sp, #112]",
    "ldp q4, q5, [sp, #144]",
    "ldp q6, q7, [sp, #176]",
    "mov sp, x29",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa sp, 0",
    "br x16",
    ".cfi_endproc",
    ".size weft_runtime_lazy_entry, . - weft_runtime_lazy_entry",
    lazy_compile = sym crate::lazy::lazy_compile,
);

std::arch::global_asm!(
    ".text",
    // The probe-sample entry (see `arch/mod.rs`), reached from the fault handler as if the faulting probe had
    // called it: the handler pushed a 16-byte slot holding the probe's address. Nothing in the wasm function expects
    // a call here, so everything `probe_sample` may clobber is saved: x0-x18, x30, every vector register whole (a
    // callee keeps only the low halves of v8-v15) and the condition flags. It returns through x16, which Cranelift
    // never allocates (a scratch register within one instruction's expansion, so dead between instructions).
    ".p2align 4",
    ".globl weft_runtime_probe_sample",
    ".type weft_runtime_probe_sample,%function",
    "weft_runtime_probe_sample:",
    ".cfi_startproc",
    // Unwind info: the caller's stack pointer is 32 above the frame record, and the return address is the pushed
    // probe address (x30 itself is not described: compiled code never keeps a value in it).
    "stp x29, x30, [sp, #-16]!",
    ".cfi_def_cfa_offset 32",
    ".cfi_offset x29, -32",
    ".cfi_offset x30, -16",
    "mov x29, sp",
    ".cfi_def_cfa x29, 32",
    "sub sp, sp, #688",
    "stp x0, x1, [sp, #0]",
    "stp x2, x3, [sp, #16]",
    "stp x4, x5, [sp, #32]",
    "stp x6, x7, [sp, #48]",
    "stp x8, x9, [sp, #64]",
    "stp x10, x11, [sp, #80]",
    "stp x12, x13, [sp, #96]",
    "stp x14, x15, [sp, #112]",
    "stp x16, x17, [sp, #128]",
    "str x18, [sp, #144]",
    "stp q0, q1, [sp, #160]",
    "stp q2, q3, [sp, #192]",
    "stp q4, q5, [sp, #224]",
    "stp q6, q7, [sp, #256]",
    "stp q8, q9, [sp, #288]",
    "stp q10, q11, [sp, #320]",
    "stp q12, q13, [sp, #352]",
    "stp q14, q15, [sp, #384]",
    "stp q16, q17, [sp, #416]",
    "stp q18, q19, [sp, #448]",
    "stp q20, q21, [sp, #480]",
    "stp q22, q23, [sp, #512]",
    "stp q24, q25, [sp, #544]",
    "stp q26, q27, [sp, #576]",
    "stp q28, q29, [sp, #608]",
    "stp q30, q31, [sp, #640]",
    "mrs x0, nzcv",
    "str x0, [sp, #672]",
    "ldr x0, [x29, #16]",
    "ldr x1, [x29]",
    "bl {probe_sample}",
    "ldr x0, [sp, #672]",
    "msr nzcv, x0",
    "ldp x0, x1, [sp, #0]",
    "ldp x2, x3, [sp, #16]",
    "ldp x4, x5, [sp, #32]",
    "ldp x6, x7, [sp, #48]",
    "ldp x8, x9, [sp, #64]",
    "ldp x10, x11, [sp, #80]",
    "ldp x12, x13, [sp, #96]",
    "ldp x14, x15, [sp, #112]",
    "ldp x16, x17, [sp, #128]",
    "ldr x18, [sp, #144]",
    "ldp q0, q1, [sp, #160]",
    "ldp q2, q3, [sp, #192]",
    "ldp q4, q5, [sp, #224]",
    "ldp q6, q7, [sp, #256]",
    "ldp q8, q9, [sp, #288]",
    "ldp q10, q11, [sp, #320]",
    "ldp q12, q13, [sp, #352]",
    "ldp q14, q15, [sp, #384]",
    "ldp q16, q17, [sp, #416]",
    "ldp q18, q19, [sp, #448]",
    "ldp q20, q21, [sp, #480]",
    "ldp q22, q23, [sp, #512]",
    "ldp q24, q25, [sp, #544]",
    "ldp q26, q27, [sp, #576]",
    "ldp q28, q29, [sp, #608]",
    "ldp q30, q31, [sp, #640]",
    "mov sp, x29",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa sp, 16",
    "ldr x16, [sp], #16",
    ".cfi_def_cfa sp, 0",
    "br x16",
    ".cfi_endproc",
    ".size weft_runtime_probe_sample, . - weft_runtime_probe_sample",
    probe_sample = sym crate::traphandlers::probe_sample,
);

/// The faulting instruction's address and the frame pointer, from a signal's context.
///
/// # Safety
/// `uc` must be the context the kernel passed to an `SA_SIGINFO` handler.
pub(crate) unsafe fn faulting_pc_and_fp(uc: *mut libc::ucontext_t) -> (usize, usize) {
    // SAFETY: the caller's guarantee.
    let mcontext = unsafe { &(*uc).uc_mcontext };
    (mcontext.pc as usize, mcontext.regs[29] as usize)
}

/// Rewrites a signal's context so that returning from the handler calls `weft_runtime_longjmp(buf, value)`.
///
/// # Safety
/// `uc` as for [`faulting_pc_and_fp`]; `buf` must be a live jump buffer of this thread.
pub(crate) unsafe fn resume_in_longjmp(uc: *mut libc::ucontext_t, buf: *mut JmpBuf, value: i32) {
    // SAFETY: the caller's guarantee.
    let mcontext = unsafe { &mut (*uc).uc_mcontext };
    mcontext.regs[0] = buf as u64;
    mcontext.regs[1] = value as u64;
    mcontext.pc = super::weft_runtime_longjmp as *const () as usize as u64;
}

/// Rewrites a signal's context so that returning from the handler enters `weft_runtime_probe_sample` as if the
/// instruction at `pc` had called it (a 16-byte slot holding `pc` pushed on the wasm stack), to return to `pc`.
///
/// # Safety
/// `uc` as for [`faulting_pc_and_fp`], for a fault in compiled code at `pc`.
pub(crate) unsafe fn resume_in_probe_sample(uc: *mut libc::ucontext_t, pc: usize) {
    // SAFETY: the caller's guarantee.
    let mcontext = unsafe { &mut (*uc).uc_mcontext };
    let sp = mcontext.sp as usize - 16;
    // SAFETY: compiled code keeps nothing below its stack pointer (AAPCS64 has no red zone). When the handler runs on
    // this stack, the kernel's frame record for it is there; it only serves walks of the handler's stack, and
    // `rt_sigreturn` reads the signal frame below it, so overwriting it as the handler ends is harmless.
    unsafe { (sp as *mut usize).write(pc) };
    mcontext.sp = sp as u64;
    mcontext.pc = super::weft_runtime_probe_sample as *const () as usize as u64;
}

/// Makes freshly written code visible to instruction fetch: aarch64's instruction cache is not coherent with data
/// writes, so each line is cleaned to the point of unification and invalidated in the instruction cache, then the
/// pipeline is synchronised.
pub(crate) fn flush_icache(start: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    let ctr: u64;
    // SAFETY: reading CTR_EL0, which Linux lets user space read, has no side effects.
    unsafe { std::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let (begin, end) = (start as usize, start as usize + len);
    let mut at = begin & !(dline - 1);
    while at < end {
        // SAFETY: cache maintenance by address on memory this process has mapped; it changes no data.
        unsafe { std::arch::asm!("dc cvau, {}", in(reg) at, options(nostack, preserves_flags)) };
        at += dline;
    }
    // SAFETY: a barrier only.
    unsafe { std::arch::asm!("dsb ish", options(nostack, preserves_flags)) };
    let mut at = begin & !(iline - 1);
    while at < end {
        // SAFETY: as above.
        unsafe { std::arch::asm!("ic ivau, {}", in(reg) at, options(nostack, preserves_flags)) };
        at += iline;
    }
    // SAFETY: barriers only.
    unsafe { std::arch::asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}
