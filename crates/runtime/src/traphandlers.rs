//! Turning faults in compiled code into wasm traps, and unwinding wasm frames on traps, host errors and panics.
//!
//! [`catch_traps`] enters wasm through `weft_setjmp_call`, a small assembly routine that saves the callee-saved
//! registers and the stack pointer in a jump buffer and then calls back into Rust. Unwinding is a jump back to that
//! buffer (`weft_longjmp`), which makes `weft_setjmp_call` return 1. Because the setjmp point is inside the assembly
//! routine, no Rust function ever "returns twice"; the frames skipped are compiled wasm frames, trampolines, and two
//! Rust frames that own nothing (the callback and the host shim, which moves everything it owns into the thread's
//! `CallThreadState` before jumping).
//!
//! The signal handler never jumps itself: it records the trap, rewrites the interrupted context so that returning
//! from the handler resumes in `weft_longjmp`, and returns. The kernel then restores the signal mask as usual.

use crate::VMStoreContext;
use crate::code_memory;
use crate::vmcontext::{VMContext, VMHostFuncContext, ValRaw};
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::ptr;
use std::sync::OnceLock;
use weft_environ::Trap;

use crate::arch::{JmpBuf, weft_runtime_longjmp, weft_runtime_setjmp_call};

/// Where and why compiled code trapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapInfo {
    /// The trap.
    pub trap: Trap,
    /// Address of the trapping instruction.
    pub pc: usize,
    /// The program counters of the compiled frames on the stack, innermost first: the trapping instruction, then
    /// each caller's call instruction (return address minus one). At most [`MAX_BACKTRACE_FRAMES`].
    pub frames: Vec<usize>,
}

/// How many compiled frames a trap's backtrace records.
pub const MAX_BACKTRACE_FRAMES: usize = 128;

/// Why a call into wasm did not return normally.
pub enum UnwindReason {
    /// Compiled code trapped.
    Trap(TrapInfo),
    /// A host function returned an error (the payload is the embedding layer's error value), with the PCs of the
    /// wasm frames that called it, innermost first.
    Host(Box<dyn Any + Send>, Vec<usize>),
    /// A host function panicked (the panic payload, to resume in the caller).
    Panic(Box<dyn Any + Send>),
    /// A wasm exception no handler of this activation caught.
    Exception(crate::ExceptionPtr),
}

impl std::fmt::Debug for UnwindReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnwindReason::Trap(t) => write!(f, "Trap({t:?})"),
            UnwindReason::Host(..) => f.write_str("Host(..)"),
            UnwindReason::Panic(_) => f.write_str("Panic(..)"),
            UnwindReason::Exception(e) => write!(f, "Exception({:p})", e.0),
        }
    }
}

/// The state of one active `catch_traps` on this thread.
struct CallThreadState {
    jmp_buf: UnsafeCell<JmpBuf>,
    /// The trap and its PC, recorded by the signal handler.
    trap: Cell<Option<(Trap, usize)>>,
    /// Backtrace PCs, written in place by the signal handler: it runs on a small alternate stack, so it must not
    /// build large values on its own stack, and it must not allocate.
    /// Left uninitialised: only the first `frames_len` are ever read, after `record_frames` wrote them (zeroing
    /// 1 KiB on every call into wasm would cost more than the rest of the call).
    frames: UnsafeCell<[std::mem::MaybeUninit<usize>; MAX_BACKTRACE_FRAMES]>,
    frames_len: Cell<usize>,
    /// The store's `last_exit_fp` when this activation began: the wasm-to-host trampoline frame (in the previous
    /// activation) through which the host called back into wasm, or 0. Backtraces continue from it.
    entry_exit_fp: usize,
    unwind: UnsafeCell<Option<UnwindReason>>,
    prev: *const CallThreadState,
    /// The store whose wasm this activation runs (its interrupt flag, for probe faults).
    store: *const VMStoreContext,
}

thread_local! {
    static CURRENT: Cell<*const CallThreadState> = const { Cell::new(ptr::null()) };
}

/// The store's exit frame as it was when the innermost activation on this thread began (0 outside wasm).
pub(crate) fn current_entry_exit_fp() -> usize {
    let state = CURRENT.with(|c| c.get());
    // SAFETY: a non-null `CURRENT` is the live state of the innermost `catch_traps` on this thread.
    if state.is_null() { 0 } else { unsafe { (*state).entry_exit_fp } }
}

/// Native stack kept free below the deepest wasm frame, for host functions and the signal handler.
pub const HOST_STACK_RESERVE: usize = 128 * 1024;

/// Bytes of native stack left below the caller's frame on this thread, if the platform tells.
pub(crate) fn stack_left() -> Option<usize> {
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    thread_stack_low().map(|low| sp.saturating_sub(low))
}

/// The lowest usable address of the current thread's stack (cached per thread), if the platform tells.
fn thread_stack_low() -> Option<usize> {
    thread_local! {
        static LOW: Cell<Option<usize>> = const { Cell::new(None) };
    }
    if let Some(low) = LOW.with(|l| l.get()) {
        return Some(low);
    }
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before use and destroyed afterwards; the out-pointers
    // are valid locals.
    let low = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !ok {
            return None;
        }
        addr as usize
    };
    LOW.with(|l| l.set(Some(low)));
    Some(low)
}

unsafe extern "C" fn call_closure(payload: *mut u8) {
    // SAFETY: `payload` is the `&mut &mut dyn FnMut()` that `catch_traps` passed to `weft_runtime_setjmp_call`, live
    // for the duration of this call.
    let f = unsafe { &mut *(payload as *mut &mut dyn FnMut()) };
    f();
}

/// Runs `f`, which calls into compiled wasm, catching traps, host errors and host panics raised inside it.
///
/// On first entry for `store` (no wasm of this store on the stack) the store's stack limit is set to
/// `max_wasm_stack` bytes below the current stack pointer; nested entries keep the outer limit.
///
/// # Safety
/// `store` must be valid for the call. `f` must own nothing that needs dropping when it is unwound: if wasm traps,
/// its frame is abandoned without running destructors.
pub unsafe fn catch_traps(
    store: *mut VMStoreContext,
    max_wasm_stack: usize,
    f: &mut dyn FnMut(),
) -> Result<(), UnwindReason> {
    init_traps();
    let state = CallThreadState {
        jmp_buf: UnsafeCell::new([0; std::mem::size_of::<JmpBuf>() / std::mem::size_of::<usize>()]),
        trap: Cell::new(None),
        frames: UnsafeCell::new([std::mem::MaybeUninit::uninit(); MAX_BACKTRACE_FRAMES]),
        frames_len: Cell::new(0),
        // SAFETY: the caller guarantees `store` is valid.
        entry_exit_fp: unsafe { (*store).last_exit_fp },
        unwind: UnsafeCell::new(None),
        prev: CURRENT.with(|c| c.get()),
        store,
    };
    let here = &state as *const CallThreadState as usize;
    // SAFETY: the caller guarantees `store` is valid.
    let (old_limit, old_quick_limit) = unsafe { ((*store).stack_limit, (*store).quick_stack_limit) };
    if old_limit == usize::MAX {
        // Never let wasm come closer than `HOST_STACK_RESERVE` to the end of this thread's stack, however large
        // `max_wasm_stack` is: overflowing into the guard page would kill the process instead of trapping.
        // Leaf functions may run `LEAF_FRAME_SLACK` below the limit without checking it.
        let reserve = HOST_STACK_RESERVE + weft_environ::LEAF_FRAME_SLACK as usize;
        let floor = thread_stack_low().map_or(0, |low| low.saturating_add(reserve));
        // SAFETY: as above.
        unsafe {
            (*store).stack_limit = here.saturating_sub(max_wasm_stack).max(floor);
            let quick = max_wasm_stack.saturating_mul(weft_environ::QUICK_CODE_STACK_FACTOR);
            (*store).quick_stack_limit = here.saturating_sub(quick).max(floor);
        }
    }
    CURRENT.with(|c| c.set(&state));
    let mut f = f;
    // SAFETY: the jump buffer and the closure outlive the call; `call_closure` matches the payload's type.
    let jumped = unsafe {
        weft_runtime_setjmp_call(state.jmp_buf.get(), call_closure, &mut f as *mut &mut dyn FnMut() as *mut u8)
    };
    CURRENT.with(|c| c.set(state.prev));
    // SAFETY: as above. Restoring `last_exit_fp` also covers a host error that jumped past the trampoline's restore.
    unsafe {
        (*store).stack_limit = old_limit;
        (*store).quick_stack_limit = old_quick_limit;
        (*store).last_exit_fp = state.entry_exit_fp;
    }
    if jumped == 0 {
        return Ok(());
    }
    if let Some((trap, pc)) = state.trap.get() {
        // SAFETY: the handler wrote the first `frames_len` entries and finished before the jump; nothing else
        // accesses the array now.
        let frames =
            unsafe { (&(*state.frames.get()))[..state.frames_len.get()].iter().map(|f| f.assume_init()).collect() };
        return Err(UnwindReason::Trap(TrapInfo { trap, pc, frames }));
    }
    // SAFETY: the jump is over; nothing else refers to the state any more.
    match unsafe { (*state.unwind.get()).take() } {
        Some(reason) => Err(reason),
        None => unreachable!("a jump always records its reason"),
    }
}

/// Unwinds to the innermost [`catch_traps`] with `reason`, skipping the wasm frames in between.
///
/// # Safety
/// Must be called from a host function that wasm called (inside `catch_traps` on this thread), with no live values
/// that need dropping in the frames between here and that `catch_traps`.
pub unsafe fn raise_host_unwind(reason: UnwindReason) -> ! {
    let state = CURRENT.with(|c| c.get());
    if state.is_null() {
        // No wasm call to unwind to: continuing would be undefined, so stop the process loudly.
        eprintln!("weft: internal error: a host unwind was raised outside of any wasm call");
        std::process::abort();
    }
    // SAFETY: `state` is the live `CallThreadState` of the innermost `catch_traps` on this thread.
    unsafe {
        *(*state).unwind.get() = Some(reason);
        weft_runtime_longjmp((*state).jmp_buf.get(), 1)
    }
}

/// The shim that the wasm-to-host trampoline calls: runs the host function, catching its panics, and unwinds on
/// error.
pub(crate) unsafe extern "C" fn host_array_call(
    ctx: *mut VMHostFuncContext,
    caller: *mut VMContext,
    values: *mut ValRaw,
    len: usize,
) {
    let outcome = {
        // SAFETY: the trampoline passes the live context it was called with and a stack array of `len` values.
        let (func, values) = unsafe { ((*ctx).func(), std::slice::from_raw_parts_mut(values, len)) };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| func.call(caller, values)))
    };
    let reason = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) if e.is::<crate::ExceptionPtr>() => {
            let exn = e.downcast::<crate::ExceptionPtr>().map(|b| b.0).unwrap_or(ptr::null_mut());
            // SAFETY: called from wasm (whose context is `caller`) inside `catch_traps`; the error box was freed
            // and nothing else this frame owns is live. The embedding layer hands over exceptions of this store only.
            unsafe { crate::exceptions::throw_from_host(caller, exn) }
        }
        // SAFETY: `caller` is the live context of the wasm function that called this host function.
        Ok(Err(e)) => UnwindReason::Host(e, unsafe { host_caller_frames(caller) }),
        Err(panic) => UnwindReason::Panic(panic),
    };
    // SAFETY: we were called from wasm inside `catch_traps`; everything this frame owned has been moved into
    // `reason`.
    unsafe { raise_host_unwind(reason) }
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Installs Weft's signal handlers (once per process). Called automatically before wasm first runs.
pub fn init_traps() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: an all-zero `sigaction` is a valid (empty) value to fill in.
        let mut previous: [libc::sigaction; 4] = unsafe { std::mem::zeroed() };
        for (i, sig) in SIGNALS.iter().enumerate() {
            // SAFETY: zeroed is valid; we fill in the handler, flags and an empty mask before installing it.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = trap_handler as *const () as usize;
                // SA_ONSTACK: run on the thread's alternate stack when it has one (Rust sets one up), so a host stack
                // overflow can still be forwarded to Rust's handler.
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(*sig, &action, &mut previous[i]) != 0 {
                    panic!("weft: installing the handler for signal {sig} failed: {}", std::io::Error::last_os_error());
                }
            }
        }
        let _ = PREVIOUS.set(previous);
    });
}

unsafe extern "C" fn trap_handler(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let state = CURRENT.with(|c| c.get());
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let sent_by_a_process = unsafe { (*info).si_code } <= 0;
    // Only a fault raised by the CPU (si_code > 0) can be a wasm trap; a signal another process or thread sent
    // (kill, tgkill, sigqueue) is never one, wherever the PC happens to be.
    if !state.is_null() && !sent_by_a_process {
        let uc = context as *mut libc::ucontext_t;
        // SAFETY: the kernel passes a valid ucontext for an SA_SIGINFO handler.
        let (pc, fp) = unsafe { crate::arch::faulting_pc_and_fp(uc) };
        if let Some(trap) = code_memory::lookup_trap(pc) {
            // SAFETY: `state` is this thread's innermost live `CallThreadState`.
            let state = unsafe { &*state };
            // A fault (not the SIGILL of a conditional trap) at an instruction that traps with "interrupted" is an
            // interrupt probe: the store has requests pending.
            // SAFETY: the activation's store context outlives its wasm.
            let store = unsafe { &*state.store };
            if trap == Trap::Interrupted && signum != libc::SIGILL && !store.interrupt_flag.is_null() {
                use weft_environ::vmstore::{INTERRUPT_REQUESTED, SAMPLE_REQUESTED};
                // SAFETY: a store's flag outlives its store context (checked non-null above).
                let requests = unsafe { (*store.interrupt_flag).take() };
                if requests & INTERRUPT_REQUESTED == 0 {
                    if requests & SAMPLE_REQUESTED != 0 && store.sampler.is_some() {
                        // Sampling allocates and takes locks, which the signal handler (perhaps on a small alternate
                        // stack) must not: it happens in `probe_sample`, entered as if the probe had called it.
                        // SAFETY: `uc` is the kernel's context of a fault at `pc` in compiled code.
                        unsafe { crate::arch::resume_in_probe_sample(uc, pc) };
                    }
                    // The probe is readable again: the load runs again, and wasm goes on.
                    return;
                }
            }
            // SAFETY: `fp` is the frame pointer of compiled code that trapped; every compiled function keeps a frame
            // pointer chain, and the walk stops at the first frame that is not compiled code.
            unsafe { record_frames(state, pc, fp) };
            state.trap.set(Some((trap, pc)));
            // Resume in `weft_runtime_longjmp(&state.jmp_buf, 1)` when the handler returns.
            // SAFETY: the context is the kernel's, restored when the handler returns; the jump buffer is live.
            unsafe { crate::arch::resume_in_longjmp(uc, state.jmp_buf.get(), 1) };
            return;
        }
    }
    // Not a wasm trap: a host bug or someone else's signal. Hand it on untouched.
    // SAFETY: forwarding with the arguments we were given.
    unsafe { forward_signal(signum, info, context) }
}

/// Receives samples of the wasm stack (the store's guest profiler; see `VMStoreContext::sampler`).
pub trait StackSampler: Send + Sync + std::fmt::Debug {
    /// The compiled-code PCs of the wasm stack, innermost first: the sampled function's own position, then each
    /// caller's call site, across every activation on this thread (up to [`MAX_SAMPLE_FRAMES`]). Runs on the
    /// thread running wasm, in the middle of its execution: it must not call into the store.
    fn sample(&self, pcs: &[usize]);
}

/// How many frames a stack sample records: far more than a trap's backtrace, since a profile whose deep stacks were
/// cut off would put their outer frames at the root.
pub const MAX_SAMPLE_FRAMES: usize = 4096;

/// Takes a stack sample for the store's guest profiler, entered through `weft_runtime_probe_sample` when a probe
/// faulted on a sample request: as if the probe at `pc` had called it, with every register saved. `fp` is the frame
/// pointer of the wasm function the probe is in.
///
/// # Safety
/// `pc` must be a probe in the compiled function whose frame pointer is `fp` (so that its callers' frame records are
/// intact), running in this thread's innermost activation.
pub(crate) unsafe extern "C" fn probe_sample(pc: usize, fp: usize) {
    let state = CURRENT.with(|c| c.get());
    // SAFETY: the probe runs in the innermost activation (the caller's guarantee), whose store context is live.
    let Some(sampler) = (unsafe { &(*(*state).store).sampler }) else { return };
    let mut pcs = Vec::with_capacity(64);
    pcs.push(pc);
    // SAFETY: `fp` is the frame pointer of the function at `pc` and `state` the innermost live activation (the
    // caller's guarantee).
    unsafe { walk_activations(state, fp, MAX_SAMPLE_FRAMES - 1, &mut |pc| pcs.push(pc)) };
    // A panic must not unwind into compiled code (this function is `extern "C"`): a sampler that panics loses its
    // sample, and wasm goes on.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sampler.sample(&pcs)));
}

/// The wasm frames that led to the current host call: the wasm-to-host trampoline stored its frame pointer in the
/// store context, and its caller chain is intact while the host function runs.
///
/// # Safety
/// `caller` must be the live `VMContext` of the wasm function that called the running host function.
unsafe fn host_caller_frames(caller: *mut VMContext) -> Vec<usize> {
    if caller.is_null() {
        return Vec::new();
    }
    // SAFETY: a live VMContext holds its store context pointer at this offset.
    let store = unsafe {
        *(caller as *const u8).add(weft_environ::VMOffsets::STORE_CONTEXT as usize).cast::<*const VMStoreContext>()
    };
    // SAFETY: the store context is live while its wasm runs.
    let fp = unsafe { (*store).last_exit_fp };
    let mut frames = Vec::new();
    let state = CURRENT.with(|c| c.get());
    // SAFETY: `fp` is the trampoline's frame, below which the wasm frames are still on the stack; `state` is this
    // thread's innermost live activation.
    unsafe { walk_activations(state, fp, MAX_BACKTRACE_FRAMES, &mut |pc| frames.push(pc)) };
    frames
}

/// Walks the wasm frames from `fp` outwards, then through each enclosing activation (host functions that called
/// back into wasm), calling `f` with each frame's PC, at most `max` frames.
///
/// # Safety
/// `fp` as for [`walk_frame_chain`]; `state` must be null or this thread's innermost live `CallThreadState`.
unsafe fn walk_activations(mut state: *const CallThreadState, fp: usize, max: usize, f: &mut dyn FnMut(usize)) {
    let count = Cell::new(0);
    let mut counting = |pc: usize| {
        count.set(count.get() + 1);
        f(pc)
    };
    // SAFETY: guaranteed by the caller.
    unsafe { walk_frame_chain(fp, max, &mut counting) };
    while !state.is_null() {
        // SAFETY: activations form a chain of live states on this thread's stack.
        let (entry_exit_fp, prev) = unsafe { ((*state).entry_exit_fp, (*state).prev) };
        if entry_exit_fp == 0 || count.get() >= max {
            break;
        }
        // SAFETY: a non-zero `entry_exit_fp` is the frame of a wasm-to-host trampoline that is still on the stack
        // (it is restored whenever that trampoline returns or is unwound).
        unsafe { walk_frame_chain(entry_exit_fp, max - count.get(), &mut counting) };
        state = prev;
    }
}

/// Follows the frame-pointer chain from `fp` outwards, calling `f` with each caller's call site (return address
/// minus one) while it lies in compiled code, for at most `max` frames.
///
/// # Safety
/// `fp` must be the frame pointer of a frame whose callers keep frame pointers up to the first non-compiled frame.
unsafe fn walk_frame_chain(mut fp: usize, max: usize, mut f: impl FnMut(usize)) {
    let mut count = 0;
    while count < max && fp != 0 && fp.is_multiple_of(8) {
        // SAFETY: `fp` points at a saved frame pointer with the return address above it (the frame record of both
        // x86-64 and aarch64).
        let (caller_fp, return_address) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if !code_memory::is_compiled_code(return_address) {
            break;
        }
        f(return_address - 1);
        count += 1;
        if caller_fp <= fp {
            break; // the stack grows down, so callers' frames are at higher addresses
        }
        fp = caller_fp;
    }
}

/// Records the compiled frames from the trapping one outwards by following the frame-pointer chain, writing into
/// `state.frames` in place. Allocation-free: it runs inside the signal handler.
///
/// # Safety
/// `fp` must be the frame pointer of the compiled function executing at `pc`, and `state.frames` must not be
/// borrowed elsewhere.
unsafe fn record_frames(state: &CallThreadState, pc: usize, fp: usize) {
    let frames = state.frames.get() as *mut usize;
    let mut len = 0;
    let mut push = |pc: usize| {
        // SAFETY: at most MAX_BACKTRACE_FRAMES pushes happen: one here, the rest bounded by the walk.
        unsafe { frames.add(len).write(pc) };
        len += 1;
    };
    push(pc);
    // SAFETY: guaranteed by the caller; `state` is the innermost activation.
    unsafe { walk_activations(state, fp, MAX_BACKTRACE_FRAMES - 1, &mut push) };
    state.frames_len.set(len);
}

unsafe fn forward_signal(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let index = SIGNALS.iter().position(|s| *s == signum);
    let previous = match (PREVIOUS.get(), index) {
        (Some(p), Some(i)) => p[i],
        // SAFETY: zeroed `sigaction` is SIG_DFL with no flags.
        _ => unsafe { std::mem::zeroed() },
    };
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let sent_by_a_process = unsafe { (*info).si_code } <= 0;
    if previous.sa_sigaction == libc::SIG_IGN {
        if !sent_by_a_process {
            // An ignored hardware fault would re-execute forever: fall back to the default action (termination).
            // SAFETY: a zeroed sigaction is SIG_DFL.
            unsafe { libc::signal(signum, libc::SIG_DFL) };
        }
        return; // a sent, ignored signal is dropped, as it would have been without Weft
    }
    if previous.sa_sigaction == libc::SIG_DFL {
        // The default action for these signals terminates the process. For a fault, returning re-executes the
        // faulting instruction under the default action; a sent signal is raised again.
        // SAFETY: restoring the default disposition, then re-raising the same signal.
        unsafe {
            libc::signal(signum, libc::SIG_DFL);
            if sent_by_a_process {
                libc::raise(signum);
            }
        }
        return;
    }
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this signature.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous.sa_sigaction) };
        handler(signum, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the handler takes only the signal number.
        let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous.sa_sigaction) };
        handler(signum);
    }
}

/// The host-to-wasm entry trampoline's signature.
type ArrayCallTrampoline = unsafe extern "C" fn(*mut VMContext, *mut VMContext, *const u8, *mut ValRaw);

/// Calls the function `func_ref` with the arguments in `values`, leaving its results there.
///
/// Wasm functions are entered through their entry trampoline inside [`catch_traps`]; host functions are called
/// directly (their errors come back as [`UnwindReason::Host`], their panics propagate normally).
///
/// # Safety
/// `func_ref` must be a live function of the store whose context is `store`; `values` must hold the arguments
/// with the function's parameter types and have room for its results.
pub unsafe fn call_func_ref(
    store: *mut VMStoreContext,
    func_ref: *const crate::VMFuncRef,
    values: &mut [ValRaw],
    max_wasm_stack: usize,
) -> Result<(), UnwindReason> {
    // SAFETY: the caller guarantees `func_ref` is live.
    let func_ref = unsafe { *func_ref };
    // SAFETY: a live function's vmctx is a live instance or host function context.
    if unsafe { VMHostFuncContext::is_host(func_ref.vmctx) } {
        // SAFETY: `is_host` confirmed the context's kind.
        let host = unsafe { &*(func_ref.vmctx as *const VMHostFuncContext) };
        return host.func().call(ptr::null_mut(), values).map_err(|e| UnwindReason::Host(e, Vec::new()));
    }
    // SAFETY: `array_call` of a wasm function is its type's entry trampoline, which has this signature.
    let trampoline: ArrayCallTrampoline = unsafe { std::mem::transmute(func_ref.array_call) };
    let values = values.as_mut_ptr();
    let mut call = || {
        // SAFETY: the trampoline reads the arguments from and writes the results to `values`, which the caller
        // sized for this function's type; the callee's code and context are live.
        unsafe { trampoline(func_ref.vmctx, ptr::null_mut(), func_ref.wasm_call, values) }
    };
    // SAFETY: `store` is valid; the closure owns nothing that needs dropping.
    unsafe { catch_traps(store, max_wasm_stack, &mut call) }
}
