//! Lazily compiled modules: the code table compiled code calls through, compiling a function on its first call, the
//! background optimising tier, and the arena that holds the code compiled while the module runs.
//!
//! A lazily compiled module's own text holds only trampolines and, per defined function, two stubs
//! ([`weft_environ::LazyStubs`]). Every call to a defined function goes through the module's *code table*, one word
//! per function shared by all instances (direct calls load it; `VMFuncRef::wasm_call` is the dispatch stub, which
//! jumps through it). A function's entry starts as its compile stub, which enters the runtime
//! ([`lazy_compile`]): the function is compiled (once, whichever thread gets there first; others wait), written to
//! the arena, and its entry set, so later calls pay one load. In tiered mode that first compilation is quick and its
//! code counts entries and loop iterations; at [`weft_environ::TIER_UP_THRESHOLD`] it asks for an optimised
//! compilation ([`tier_up`]), done in the background, after which the entry points at the optimised code.

use crate::code_memory::{
    __deregister_frame, __register_frame, ArenaRegistration, CodeMemory, relocated_eh_frame, write_libcall_addresses,
};
use crate::mmap::Mmap;
use crate::traphandlers::{UnwindReason, raise_host_unwind};
use crate::{Instance, VMContext};
use std::any::Any;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use weft_environ::{CompiledCode, DefinedFuncIndex, LazyStubs};

/// Which compilation a function gets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Fast to produce (no optimisation), counting its runs (tiered mode's first compilation).
    Quick,
    /// Optimised (lazy mode's only compilation, tiered mode's second).
    Optimized,
}

/// What the embedding layer provides to compile a lazily compiled module's functions.
pub trait LazyCompiler: Send + Sync {
    /// Compiles defined function `def` at `tier`: a text holding that one function (`CompiledCode::first_function`
    /// = `def`), whose calls go through the code table. The error is the embedding layer's error value. May block
    /// (it runs on the calling thread's behalf); it is never called twice at once for one function and tier.
    /// `here`: the calling thread has stack enough to compile on ([`COMPILE_STACK`]); otherwise the compilation
    /// must run on a thread of its own while this one waits.
    /// `is_final(callee)`: the callee's code is final and in reach, so the function may call it directly (through
    /// a `CompiledCode::call_relocations` entry) rather than through the code table.
    fn compile(
        &self,
        def: DefinedFuncIndex,
        tier: Tier,
        here: bool,
        is_final: &(dyn Fn(DefinedFuncIndex) -> bool + Sync),
    ) -> Result<CompiledCode, Box<dyn Any + Send>>;
    /// Whether, in tiered mode, `def` starts with quick code (otherwise it is optimised on its first call).
    fn quick_first(&self, def: DefinedFuncIndex) -> bool;
    /// Runs `job` in the background, on the engine's compilation threads.
    fn spawn(&self, job: Box<dyn FnOnce() + Send>);
    /// Hears about code installed at `address` (for profilers): `text` as written there, `code` its metadata.
    fn installed(&self, def: DefinedFuncIndex, tier: Tier, address: usize, text: &[u8], code: &CompiledCode);
}

/// Native stack a compilation may need. A wasm thread with at least this much left compiles on its own stack
/// (saving two thread switches per function); one with less hands the work to a compilation thread.
pub const COMPILE_STACK: usize = 2 << 20;

const STATE_STUB: u8 = 0;
const STATE_QUICK: u8 = 1;
const STATE_QUEUED: u8 = 2;
const STATE_OPTIMIZED: u8 = 3;

/// The run-time state of a lazily compiled module, shared by all its instances (through its [`CodeMemory`]).
pub struct LazyCode {
    /// Current code address of each defined function; compiled code reads it with plain loads.
    table: Box<[AtomicUsize]>,
    /// Entries and loop iterations of each function's quick code (tiered mode; empty otherwise), incremented by
    /// compiled code without atomicity: a lost count only delays a tier-up.
    counters: Box<[AtomicU32]>,
    /// `STATE_*` of each function.
    states: Box<[AtomicU8]>,
    /// Serialises the first compilation of each function.
    locks: Box<[Mutex<()>]>,
    /// Address of function 0's compile stub and the stub layout.
    stubs_base: usize,
    stubs: LazyStubs,
    tiered: bool,
    compiler: Box<dyn LazyCompiler>,
    arena: CodeArena,
    /// Itself, for background jobs (which must not keep a dropped module alive).
    this: Weak<LazyCode>,
}

impl Drop for LazyCode {
    fn drop(&mut self) {
        if std::env::var_os("WEFT_LAZY_STATS").is_some() {
            eprintln!("weft: lazy compilation: {:?}", self.stats());
        }
    }
}

impl std::fmt::Debug for LazyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyCode").field("functions", &self.table.len()).field("tiered", &self.tiered).finish()
    }
}

/// How a lazily compiled function's code came to be, for [`LazyCode::stats`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LazyStats {
    /// Functions never called (still at their compile stub).
    pub uncompiled: usize,
    /// Functions running their quick code.
    pub quick: usize,
    /// Functions whose optimised compilation is queued or running.
    pub queued: usize,
    /// Functions running optimised code.
    pub optimized: usize,
    /// Bytes of machine code written to the arena.
    pub code_bytes: usize,
    /// Functions compiled and installed so far (a function counts once per tier).
    pub compilations: usize,
}

impl LazyCode {
    /// The lazy state for `base`, a module's text of trampolines and stubs (its `CompiledCode::lazy_stubs` set),
    /// with room for code of about `code_estimate` bytes in its arena (it is address space, reserved, not memory).
    pub fn new(
        base: &CodeMemory,
        num_functions: usize,
        tiered: bool,
        code_estimate: usize,
        compiler: Box<dyn LazyCompiler>,
    ) -> std::io::Result<Arc<LazyCode>> {
        let stubs = base.info().lazy_stubs.ok_or_else(|| std::io::Error::other("the code has no lazy stubs"))?;
        let stubs_base = base.text_start() as usize + stubs.start as usize;
        let table =
            (0..num_functions as u32).map(|i| AtomicUsize::new(stubs_base + (i * stubs.stride) as usize)).collect();
        let counters = if tiered { (0..num_functions).map(|_| AtomicU32::new(0)).collect() } else { Box::default() };
        // Each function is installed at most twice (quick, then optimised; or preloaded once).
        let arena = CodeArena::new(code_estimate, num_functions * 2 + 16)?;
        let lazy = Arc::new_cyclic(|this| LazyCode {
            table,
            counters,
            states: (0..num_functions).map(|_| AtomicU8::new(STATE_STUB)).collect(),
            locks: (0..num_functions).map(|_| Mutex::new(())).collect(),
            stubs_base,
            stubs,
            tiered,
            compiler,
            arena,
            this: this.clone(),
        });
        // The arena is at its final address now; it unregisters itself when dropped.
        let registration = ArenaRegistration::new(&lazy.arena, base.module().cloned());
        let _ = lazy.arena.registration.set(registration);
        Ok(lazy)
    }

    /// The code table's address (for `VMOffsets::LAZY_CODE`).
    pub fn table(&self) -> *const AtomicUsize {
        self.table.as_ptr()
    }

    /// The counters' address (for `VMOffsets::TIER_COUNTERS`), null unless tiered.
    pub fn counters(&self) -> *const AtomicU32 {
        if self.counters.is_empty() { std::ptr::null() } else { self.counters.as_ptr() }
    }

    /// The address a `VMFuncRef` of defined function `def` calls: its dispatch stub.
    pub fn dispatch_stub(&self, def: DefinedFuncIndex) -> *const u8 {
        (self.stubs_base + (self.stubs.dispatch_stub(def.as_u32()) - self.stubs.start) as usize) as *const u8
    }

    fn compile_stub(&self, def: u32) -> usize {
        self.stubs_base + (def * self.stubs.stride) as usize
    }

    /// Where each function's code stands.
    pub fn stats(&self) -> LazyStats {
        let mut stats = LazyStats {
            code_bytes: self.arena.used(),
            compilations: self.arena.published.load(Ordering::Acquire),
            ..LazyStats::default()
        };
        for state in self.states.iter() {
            match state.load(Ordering::Acquire) {
                STATE_STUB => stats.uncompiled += 1,
                STATE_QUICK => stats.quick += 1,
                STATE_QUEUED => stats.queued += 1,
                _ => stats.optimized += 1,
            }
        }
        stats
    }

    /// The code of defined function `def`, compiling it first if it has none. Thread-safe: a function is compiled
    /// once, and a thread that arrives while another compiles it waits for that code.
    pub fn ensure_compiled(&self, def: u32) -> Result<usize, Box<dyn Any + Send>> {
        let index = def as usize;
        let stub = self.compile_stub(def);
        let current = self.table[index].load(Ordering::Acquire);
        if current != stub {
            return Ok(current);
        }
        let _first = self.locks[index].lock().unwrap_or_else(|e| e.into_inner());
        let current = self.table[index].load(Ordering::Acquire);
        if current != stub {
            return Ok(current);
        }
        let quick = self.tiered && self.compiler.quick_first(DefinedFuncIndex::from_u32(def));
        let tier = if quick { Tier::Quick } else { Tier::Optimized };
        let here = crate::traphandlers::stack_left().is_some_and(|left| left >= COMPILE_STACK);
        let address = self.compile_and_install(def, tier, here)?;
        self.states[index].store(if quick { STATE_QUICK } else { STATE_OPTIMIZED }, Ordering::Release);
        Ok(address)
    }

    fn compile_and_install(&self, def: u32, tier: Tier, here: bool) -> Result<usize, Box<dyn Any + Send>> {
        let def_index = DefinedFuncIndex::from_u32(def);
        let code = self.compiler.compile(def_index, tier, here, &|callee| self.final_in_reach(callee.as_u32()))?;
        let address = self
            .install(code, |address, text, code| self.compiler.installed(def_index, tier, address, text, code))
            .map_err(|e| Box::new(format!("cannot install the code of function {def}: {e}")) as Box<dyn Any + Send>)?;
        self.table[def as usize].store(address, Ordering::Release);
        Ok(address)
    }

    /// The final (optimised, never replaced) code of `def`, if it has some.
    fn final_code(&self, def: u32) -> Option<usize> {
        let state = self.states.get(def as usize)?;
        // The state is set after the table entry, so a final state means the entry holds the final code.
        (state.load(Ordering::Acquire) == STATE_OPTIMIZED).then(|| self.table[def as usize].load(Ordering::Acquire))
    }

    /// Whether code anywhere in the arena can call `def`'s final code directly.
    fn final_in_reach(&self, def: u32) -> bool {
        self.final_code(def).is_some_and(|target| self.arena.reaches(target))
    }

    /// Installs `code`, resolving its direct calls to other functions' final code.
    fn install(
        &self,
        code: CompiledCode,
        installed: impl FnOnce(usize, &[u8], &CompiledCode),
    ) -> std::io::Result<usize> {
        self.arena.install(code, |callee| self.final_code(callee), installed)
    }

    /// Queues the optimised compilation of `def` if its quick code is what runs (once).
    pub fn request_tier_up(&self, def: u32) {
        let Some(state) = self.states.get(def as usize) else { return };
        if state.compare_exchange(STATE_QUICK, STATE_QUEUED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        let this = self.this.clone();
        self.compiler.spawn(Box::new(move || {
            // A module dropped before its turn came needs nothing compiled.
            let Some(lazy) = this.upgrade() else { return };
            // A failed optimised compilation leaves the quick code in place; it was correct all along.
            if lazy.compile_and_install(def, Tier::Optimized, true).is_ok() {
                lazy.states[def as usize].store(STATE_OPTIMIZED, Ordering::Release);
            }
        }));
    }

    /// Installs code compiled earlier (from the cache) for `def` as its current code, before anything ran it.
    pub fn preload(&self, def: u32, code: CompiledCode) -> std::io::Result<()> {
        let index = def as usize;
        let _first = self.locks[index].lock().unwrap_or_else(|e| e.into_inner());
        let def_index = DefinedFuncIndex::from_u32(def);
        let address = self.install(code, |address, text, code| {
            self.compiler.installed(def_index, Tier::Optimized, address, text, code)
        })?;
        self.table[index].store(address, Ordering::Release);
        self.states[index].store(STATE_OPTIMIZED, Ordering::Release);
        Ok(())
    }

    /// The optimised code compiled so far, by defined index (for writing to the cache).
    pub fn optimized_code(&self) -> Vec<(u32, Arc<CompiledCode>)> {
        self.arena.latest_optimized(&self.states)
    }
}

/// Where the lazy entry goes: compiles defined function `def` of the instance whose vmctx is given, returns its
/// code's address. Called from assembly on a wasm thread, inside `catch_traps`.
pub(crate) unsafe extern "C" fn lazy_compile(vmctx: *mut VMContext, def: u32) -> usize {
    // SAFETY: `vmctx` is the callee's vmctx, which the caller passed to the function being compiled: a live
    // instance of the module whose stub ran.
    let instance: &Instance = unsafe { Instance::from_vmctx(vmctx) };
    let Some(lazy) = instance.code().and_then(|c| c.lazy()).cloned() else {
        eprintln!("weft: internal error: a compile stub ran for a module that is not lazily compiled");
        std::process::abort();
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lazy.ensure_compiled(def)));
    drop(lazy);
    match result {
        Ok(Ok(address)) => address,
        // SAFETY: inside the `catch_traps` of the wasm call that reached the stub; nothing live here needs dropping
        // (`lazy` was dropped above).
        Ok(Err(error)) => unsafe { raise_host_unwind(UnwindReason::Host(error, Vec::new())) },
        // SAFETY: as above.
        Err(panic) => unsafe { raise_host_unwind(UnwindReason::Panic(panic)) },
    }
}

/// The `tier_up` builtin (see `weft_environ::builtins::TIER_UP`).
pub(crate) unsafe extern "C" fn tier_up(vmctx: *mut VMContext, def: u32) {
    // SAFETY: `vmctx` is the calling function's own live vmctx.
    let instance: &Instance = unsafe { Instance::from_vmctx(vmctx) };
    if let Some(lazy) = instance.code().and_then(|c| c.lazy()) {
        lazy.request_tier_up(def);
    }
}

/// One function's code in the arena.
pub(crate) struct ArenaFunction {
    /// Offset in the arena.
    pub(crate) start: usize,
    len: usize,
    pub(crate) code: Arc<CompiledCode>,
    /// Relocated `.eh_frame`, registered with the system unwinder while the arena lives.
    eh_frame: Vec<u8>,
}

/// Executable memory for code compiled while a module runs.
///
/// The arena is a `memfd` file mapped once, shared, read+execute. Code is written with `pwrite` to the file, never
/// through a writable mapping: no address in the process is both writable and executable at any time, and
/// functions are packed (a page holds several) even though earlier ones in the page are running. Functions are
/// only appended; the list of what is where is published for the signal handler without locks (see
/// [`CodeArena::find`]).
pub(crate) struct CodeArena {
    file: std::fs::File,
    /// The read+execute mapping of `file`, unmapped after `Drop` has unregistered everything in it.
    mapping: Mmap,
    /// Serialises writers; holds the next free offset.
    cursor: Mutex<usize>,
    /// Published functions, in address order: slots `0..published` are set.
    slots: Box<[OnceLock<ArenaFunction>]>,
    published: AtomicUsize,
    pub(crate) registration: OnceLock<ArenaRegistration>,
}

impl CodeArena {
    fn new(size: usize, capacity: usize) -> std::io::Result<CodeArena> {
        let page = crate::mmap::page_size();
        let size = size.max(1 << 20).next_multiple_of(page);
        let fd = rustix::fs::memfd_create("weft-code", rustix::fs::MemfdFlags::CLOEXEC)?;
        let file = std::fs::File::from(fd);
        file.set_len(size as u64)?;
        let mapping = Mmap::file_shared_executable(&file, size)?;
        let arena = CodeArena {
            file,
            mapping,
            cursor: Mutex::new(0),
            slots: (0..capacity).map(|_| OnceLock::new()).collect(),
            published: AtomicUsize::new(0),
            registration: OnceLock::new(),
        };
        Ok(arena)
    }

    fn base(&self) -> usize {
        self.mapping.as_ptr() as usize
    }

    fn used(&self) -> usize {
        *self.cursor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `code` (one function) into the arena, fills in its libcall addresses, registers its unwind info and
    /// publishes it; returns the function's address. `installed` hears of it before it is published.
    fn install(
        &self,
        mut code: CompiledCode,
        final_code: impl Fn(u32) -> Option<usize>,
        installed: impl FnOnce(usize, &[u8], &CompiledCode),
    ) -> std::io::Result<usize> {
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let start = cursor.next_multiple_of(32);
        let text = std::mem::take(&mut code.text);
        let end = start
            .checked_add(text.len().max(1))
            .filter(|&end| end <= self.mapping.len())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::OutOfMemory, "the module's code arena is full"))?;
        let slot = self.published.load(Ordering::Acquire);
        if slot >= self.slots.len() {
            return Err(std::io::Error::new(std::io::ErrorKind::OutOfMemory, "the module's code arena is full"));
        }
        let address = self.base() + start;
        let mut text = text;
        write_libcall_addresses(&mut text, &code)?;
        for call in &code.call_relocations {
            let target = final_code(call.callee).ok_or_else(|| {
                std::io::Error::other(format!("a direct call to function {} before its final code", call.callee))
            })?;
            let at = call.offset as usize;
            let delta = (target as i64).wrapping_add(call.addend).wrapping_sub((address + at) as i64);
            if !weft_environ::patch_call(&mut text, at, delta, call.arm64) {
                return Err(std::io::Error::other(format!(
                    "the call at {at:#x} cannot reach function {}",
                    call.callee
                )));
            }
        }
        self.file.write_all_at(&text, start as u64)?;
        crate::arch::flush_icache(address as *const u8, text.len());
        let eh_frame = relocated_eh_frame(&code, address)?;
        if !eh_frame.is_empty() {
            // SAFETY: a complete, zero-terminated section describing code in the arena; both live until the arena's
            // drop deregisters it.
            unsafe { __register_frame(eh_frame.as_ptr()) };
        }
        installed(address, &text, &code);
        let function = ArenaFunction { start, len: text.len(), code: Arc::new(code), eh_frame };
        if self.slots[slot].set(function).is_err() {
            unreachable!("slots past `published` are unset, and writers are serialised");
        }
        self.published.store(slot + 1, Ordering::Release);
        *cursor = end;
        Ok(address)
    }

    /// The function whose code holds arena offset `offset`. Lock-free and allocation-free: called from the
    /// signal handler.
    pub(crate) fn find(&self, offset: usize) -> Option<&ArenaFunction> {
        let published = self.published.load(Ordering::Acquire);
        let slots = &self.slots[..published];
        let i = slots.partition_point(|s| s.get().is_some_and(|f| f.start <= offset)).checked_sub(1)?;
        let function = slots[i].get()?;
        (offset < function.start + function.len.max(1)).then_some(function)
    }

    /// The last optimised code of each function whose state is optimised.
    fn latest_optimized(&self, states: &[AtomicU8]) -> Vec<(u32, Arc<CompiledCode>)> {
        // In the order they were installed: a function's direct calls go to code installed before it, so the next
        // run, installing them in this order, finds every callee in place.
        let published = self.published.load(Ordering::Acquire);
        let is_final =
            |def: u32| states.get(def as usize).is_some_and(|s| s.load(Ordering::Acquire) == STATE_OPTIMIZED);
        let mut seen = std::collections::HashSet::new();
        let mut latest = Vec::new();
        for slot in self.slots[..published].iter().rev() {
            if let Some(f) = slot.get()
                && is_final(f.code.first_function)
                && seen.insert(f.code.first_function)
            {
                // The metadata was kept without its text, which is read back from the arena (relocations and all:
                // a loader writes every relocated field again).
                let mut code = (*f.code).clone();
                // SAFETY: the published function's bytes lie in the arena's readable mapping and are never written
                // again.
                code.text = unsafe { std::slice::from_raw_parts((self.base() + f.start) as *const u8, f.len) }.to_vec();
                latest.push((f.code.first_function, Arc::new(code)));
            }
        }
        latest.reverse();
        latest
    }

    /// Whether a direct call from anywhere in the arena reaches `target` (aarch64's `bl`: ±128 MiB; x86-64's
    /// `rel32`: ±2 GiB).
    fn reaches(&self, target: usize) -> bool {
        let reach: usize = if cfg!(target_arch = "aarch64") { 1 << 27 } else { 1 << 31 };
        let (low, high) = self.range();
        target.abs_diff(low) < reach - 64 && target.abs_diff(high) < reach - 64
    }

    /// The arena's address range.
    pub(crate) fn range(&self) -> (usize, usize) {
        (self.base(), self.base() + self.mapping.len())
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        drop(self.registration.take());
        // Newest first: libgcc keeps registrations in a list, newest at its head, and searches it to deregister,
        // so the reverse order makes each removal find its entry at once instead of scanning all the others.
        for slot in self.slots.iter().rev() {
            if let Some(f) = slot.get()
                && !f.eh_frame.is_empty()
            {
                // SAFETY: registered in `install` with this exact pointer, which is still alive.
                unsafe { __deregister_frame(f.eh_frame.as_ptr()) };
            }
        }
        // `mapping` is unmapped after this: nothing runs in it any more (its module, every instance of it and every
        // background job are gone) and it is no longer registered.
    }
}
