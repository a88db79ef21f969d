//! x86-64: the jump buffer routines, the exception stubs, and reading and rewriting a signal's context.

std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl weft_runtime_setjmp_call",
    ".type weft_runtime_setjmp_call,@function",
    "weft_runtime_setjmp_call:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "mov [rdi], rbx",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], r12",
    "mov [rdi + 24], r13",
    "mov [rdi + 32], r14",
    "mov [rdi + 40], r15",
    "mov [rdi + 48], rsp",
    "lea rax, [rip + 2f]",
    "mov [rdi + 56], rax",
    "mov rdi, rdx",
    "call rsi",
    "xor eax, eax",
    ".cfi_remember_state",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    // The landing point of a jump has the same frame as before the first `pop rbp`.
    ".cfi_restore_state",
    "2:",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size weft_runtime_setjmp_call, . - weft_runtime_setjmp_call",
    "",
    ".p2align 4",
    ".globl weft_runtime_longjmp",
    ".type weft_runtime_longjmp,@function",
    "weft_runtime_longjmp:",
    "mov rbx, [rdi]",
    "mov rbp, [rdi + 8]",
    "mov r12, [rdi + 16]",
    "mov r13, [rdi + 24]",
    "mov r14, [rdi + 32]",
    "mov r15, [rdi + 40]",
    "mov rsp, [rdi + 48]",
    "mov eax, esi",
    "jmp qword ptr [rdi + 56]",
    ".size weft_runtime_longjmp, . - weft_runtime_longjmp",
);

/// Callee-saved rbx, rbp, r12–r15, the stack pointer and the landing address.
pub(crate) type JmpBuf = [usize; 8];

std::arch::global_asm!(
    ".text",
    // `throw(vmctx, tag, payload)`, called by compiled code: passes the calling wasm frame's frame pointer (rbp,
    // untouched) and the call's return address (at [rsp]) on to `throw_impl`, which never returns. On entry rsp is
    // 8 mod 16; the `sub` realigns it for the call.
    ".p2align 4",
    ".globl weft_runtime_throw",
    ".type weft_runtime_throw,@function",
    "weft_runtime_throw:",
    "mov rcx, rbp",
    "mov r8, [rsp]",
    "sub rsp, 8",
    "call {throw_impl}",
    "ud2",
    ".size weft_runtime_throw, . - weft_runtime_throw",
    // `throw_ref(vmctx, exn)`, the same for an existing exception.
    ".p2align 4",
    ".globl weft_runtime_throw_ref",
    ".type weft_runtime_throw_ref,@function",
    "weft_runtime_throw_ref:",
    "mov rdx, rbp",
    "mov rcx, [rsp]",
    "sub rsp, 8",
    "call {throw_ref_impl}",
    "ud2",
    ".size weft_runtime_throw_ref, . - weft_runtime_throw_ref",
    // `resume(pc, sp, fp, exn)`: continues at a handler with the frame it belongs to, the exception in rax (the
    // first exceptional payload register of the `tail` convention) and 0 in rdx (the second, unused).
    ".p2align 4",
    ".globl weft_runtime_resume",
    ".type weft_runtime_resume,@function",
    "weft_runtime_resume:",
    "mov rax, rcx",
    "mov rbp, rdx",
    "mov rsp, rsi",
    "xor edx, edx",
    "jmp rdi",
    ".size weft_runtime_resume, . - weft_runtime_resume",
    throw_impl = sym crate::exceptions::throw_impl,
    throw_ref_impl = sym crate::exceptions::throw_ref_impl,
);

std::arch::global_asm!(
    ".text",
    // The lazy entry (see `arch/mod.rs`). Cranelift's `tail` convention passes arguments in rdi, rsi, rdx, rcx,
    // r8, r9 and xmm0-xmm7 (the rest on the stack, above the return address, which nothing here moves), and r11
    // is a scratch register no argument uses: it carries the function's index. On entry rsp is 8 mod 16; after
    // `push rbp` and 176 bytes it is aligned for the call. The frame record keeps the frame-pointer chain whole for
    // anything that walks the stack while the function compiles.
    ".p2align 4",
    ".globl weft_runtime_lazy_entry",
    ".type weft_runtime_lazy_entry,@function",
    "weft_runtime_lazy_entry:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "sub rsp, 176",
    "mov [rsp], rdi",
    "mov [rsp + 8], rsi",
    "mov [rsp + 16], rdx",
    "mov [rsp + 24], rcx",
    "mov [rsp + 32], r8",
    "mov [rsp + 40], r9",
    "movdqu [rsp + 48], xmm0",
    "movdqu [rsp + 64], xmm1",
    "movdqu [rsp + 80], xmm2",
    "movdqu [rsp + 96], xmm3",
    "movdqu [rsp + 112], xmm4",
    "movdqu [rsp + 128], xmm5",
    "movdqu [rsp + 144], xmm6",
    "movdqu [rsp + 160], xmm7",
    "mov esi, r11d",
    "call {lazy_compile}",
    "mov r11, rax",
    "mov rdi, [rsp]",
    "mov rsi, [rsp + 8]",
    "mov rdx, [rsp + 16]",
    "mov rcx, [rsp + 24]",
    "mov r8, [rsp + 32]",
    "mov r9, [rsp + 40]",
    "movdqu xmm0, [rsp + 48]",
    "movdqu xmm1, [rsp + 64]",
    "movdqu xmm2, [rsp + 80]",
    "movdqu xmm3, [rsp + 96]",
    "movdqu xmm4, [rsp + 112]",
    "movdqu xmm5, [rsp + 128]",
    "movdqu xmm6, [rsp + 144]",
    "movdqu xmm7, [rsp + 160]",
    "mov rsp, rbp",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "jmp r11",
    ".cfi_endproc",
    ".size weft_runtime_lazy_entry, . - weft_runtime_lazy_entry",
    lazy_compile = sym crate::lazy::lazy_compile,
);

std::arch::global_asm!(
    ".text",
    // The probe-sample entry (see `arch/mod.rs`), reached from the fault handler as if the faulting probe had
    // called it: the return address, pushed by the handler, is the probe. Nothing in the wasm function expects a
    // call here, so everything `probe_sample` may clobber is saved: rax, rcx, rdx, rsi, rdi, r8-r11, xmm0-xmm15
    // (whole; wasm values are at most 128 bits) and the flags. The wasm frame pointer is at [rbp] once the frame
    // record is pushed; the stack is aligned here rather than assumed.
    ".p2align 4",
    ".globl weft_runtime_probe_sample",
    ".type weft_runtime_probe_sample,@function",
    "weft_runtime_probe_sample:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "pushfq",
    "sub rsp, 336",
    "and rsp, -16",
    "mov [rsp], rax",
    "mov [rsp + 8], rcx",
    "mov [rsp + 16], rdx",
    "mov [rsp + 24], rsi",
    "mov [rsp + 32], rdi",
    "mov [rsp + 40], r8",
    "mov [rsp + 48], r9",
    "mov [rsp + 56], r10",
    "mov [rsp + 64], r11",
    "movdqu [rsp + 80], xmm0",
    "movdqu [rsp + 96], xmm1",
    "movdqu [rsp + 112], xmm2",
    "movdqu [rsp + 128], xmm3",
    "movdqu [rsp + 144], xmm4",
    "movdqu [rsp + 160], xmm5",
    "movdqu [rsp + 176], xmm6",
    "movdqu [rsp + 192], xmm7",
    "movdqu [rsp + 208], xmm8",
    "movdqu [rsp + 224], xmm9",
    "movdqu [rsp + 240], xmm10",
    "movdqu [rsp + 256], xmm11",
    "movdqu [rsp + 272], xmm12",
    "movdqu [rsp + 288], xmm13",
    "movdqu [rsp + 304], xmm14",
    "movdqu [rsp + 320], xmm15",
    "mov rdi, [rbp + 8]",
    "mov rsi, [rbp]",
    "call {probe_sample}",
    "mov rax, [rsp]",
    "mov rcx, [rsp + 8]",
    "mov rdx, [rsp + 16]",
    "mov rsi, [rsp + 24]",
    "mov rdi, [rsp + 32]",
    "mov r8, [rsp + 40]",
    "mov r9, [rsp + 48]",
    "mov r10, [rsp + 56]",
    "mov r11, [rsp + 64]",
    "movdqu xmm0, [rsp + 80]",
    "movdqu xmm1, [rsp + 96]",
    "movdqu xmm2, [rsp + 112]",
    "movdqu xmm3, [rsp + 128]",
    "movdqu xmm4, [rsp + 144]",
    "movdqu xmm5, [rsp + 160]",
    "movdqu xmm6, [rsp + 176]",
    "movdqu xmm7, [rsp + 192]",
    "movdqu xmm8, [rsp + 208]",
    "movdqu xmm9, [rsp + 224]",
    "movdqu xmm10, [rsp + 240]",
    "movdqu xmm11, [rsp + 256]",
    "movdqu xmm12, [rsp + 272]",
    "movdqu xmm13, [rsp + 288]",
    "movdqu xmm14, [rsp + 304]",
    "movdqu xmm15, [rsp + 320]",
    "lea rsp, [rbp - 8]",
    "popfq",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
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
    let gregs = unsafe { &(*uc).uc_mcontext.gregs };
    (gregs[libc::REG_RIP as usize] as usize, gregs[libc::REG_RBP as usize] as usize)
}

/// Rewrites a signal's context so that returning from the handler calls `weft_runtime_longjmp(buf, value)`.
///
/// # Safety
/// `uc` as for [`faulting_pc_and_fp`]; `buf` must be a live jump buffer of this thread.
pub(crate) unsafe fn resume_in_longjmp(uc: *mut libc::ucontext_t, buf: *mut JmpBuf, value: i32) {
    // SAFETY: the caller's guarantee.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    gregs[libc::REG_RDI as usize] = buf as i64;
    gregs[libc::REG_RSI as usize] = i64::from(value);
    gregs[libc::REG_RIP as usize] = super::weft_runtime_longjmp as *const () as usize as i64;
}

/// Rewrites a signal's context so that returning from the handler enters `weft_runtime_probe_sample` as if the
/// instruction at `pc` had called it (its return address pushed on the wasm stack), to return to `pc`.
///
/// # Safety
/// `uc` as for [`faulting_pc_and_fp`], for a fault in compiled code at `pc`.
pub(crate) unsafe fn resume_in_probe_sample(uc: *mut libc::ucontext_t, pc: usize) {
    // SAFETY: the caller's guarantee.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let sp = gregs[libc::REG_RSP as usize] as usize - 8;
    // SAFETY: the slot below the stack pointer of compiled code is free stack (Cranelift keeps nothing below the
    // stack pointer, and the kernel put the signal frame further down or on another stack).
    unsafe { (sp as *mut usize).write(pc) };
    gregs[libc::REG_RSP as usize] = sp as i64;
    gregs[libc::REG_RIP as usize] = super::weft_runtime_probe_sample as *const () as usize as i64;
}

/// Makes freshly written code visible to instruction fetch: nothing to do on x86-64, whose instruction cache is
/// coherent with data writes.
pub(crate) fn flush_icache(_start: *const u8, _len: usize) {}
