//! Executable memory for compiled code, and the process-wide registry the signal handler consults.

use crate::libcalls;
use crate::mmap::{Mmap, page_size};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use weft_environ::{CompiledCode, Module, Trap};

/// A module's machine code, mapped read+execute (never writable and executable at once), plus its metadata.
///
/// While a `CodeMemory` is alive its address range is registered, so faults inside it become traps.
pub struct CodeMemory {
    mmap: Mmap,
    info: Arc<CompiledCode>,
    module: Option<Arc<Module>>,
    /// The relocated `.eh_frame`, registered with the system unwinder while this value lives.
    eh_frame: Vec<u8>,
}

unsafe extern "C" {
    /// libgcc's unwinder: registers a whole `.eh_frame` section (zero-terminated).
    fn __register_frame(eh_frame: *const u8);
    fn __deregister_frame(eh_frame: *const u8);
}

impl std::fmt::Debug for CodeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMemory").field("start", &self.mmap.as_ptr()).field("len", &self.mmap.len()).finish()
    }
}

/// Code ranges by end address: `(start, code metadata, the module it was compiled from)`.
type Registry = BTreeMap<usize, (usize, Arc<CompiledCode>, Option<Arc<Module>>)>;
static REGISTRY: RwLock<Registry> = RwLock::new(BTreeMap::new());

impl CodeMemory {
    /// Copies `code.text` into fresh memory, fills in libcall addresses, makes it executable and registers it (with
    /// `module`, for naming frames in backtraces).
    pub fn new(mut code: CompiledCode, module: Option<Arc<Module>>) -> std::io::Result<Arc<CodeMemory>> {
        let text = std::mem::take(&mut code.text);
        let len = text.len().max(1).next_multiple_of(page_size());
        let mmap = Mmap::accessible(len)?;
        // SAFETY: the mapping is fresh, writable and at least `text.len()` bytes long.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), mmap.as_ptr(), text.len()) };
        for reloc in &code.libcall_relocations {
            let value = (libcalls::address(reloc.libcall) as i64).wrapping_add(reloc.addend) as u64;
            let at = reloc.offset as usize;
            assert!(at + 8 <= text.len(), "relocation outside the text section");
            // SAFETY: in bounds of the still-writable mapping (asserted); unaligned write of 8 bytes.
            unsafe { mmap.as_ptr().add(at).cast::<u64>().write_unaligned(value.to_le()) };
        }
        mmap.make_executable()?;
        let start = mmap.as_ptr() as usize;
        let mut eh_frame = std::mem::take(&mut code.eh_frame);
        for &at in &code.eh_frame_relocations {
            let field = eh_frame.get_mut(at as usize..at as usize + 8).expect("relocation inside .eh_frame");
            let offset = u64::from_le_bytes(field.try_into().expect("8 bytes"));
            field.copy_from_slice(&(start as u64 + offset).to_le_bytes());
        }
        if !eh_frame.is_empty() {
            // SAFETY: `eh_frame` is a complete, zero-terminated section whose FDEs describe code in `mmap`; both live
            // until `Drop` deregisters the section.
            unsafe { __register_frame(eh_frame.as_ptr()) };
        }
        let info = Arc::new(code);
        REGISTRY.write().unwrap_or_else(|e| e.into_inner()).insert(start + len, (start, info.clone(), module.clone()));
        Ok(Arc::new(CodeMemory { mmap, info, module, eh_frame }))
    }

    /// Address of the first byte of the text section.
    pub fn text_start(&self) -> *const u8 {
        self.mmap.as_ptr()
    }

    /// The metadata (function locations, traps, address map).
    pub fn info(&self) -> &CompiledCode {
        &self.info
    }

    /// The module the code was compiled from, if any.
    pub fn module(&self) -> Option<&Arc<Module>> {
        self.module.as_ref()
    }

    /// Address of `offset` within the text section.
    pub fn at(&self, offset: u32) -> *const u8 {
        assert!((offset as usize) < self.mmap.len());
        self.mmap.as_ptr().wrapping_add(offset as usize)
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if !self.eh_frame.is_empty() {
            // SAFETY: registered in `new` with this exact pointer, which is still alive.
            unsafe { __deregister_frame(self.eh_frame.as_ptr()) };
        }
        let start = self.mmap.as_ptr() as usize;
        REGISTRY.write().unwrap_or_else(|e| e.into_inner()).remove(&(start + self.mmap.len()));
    }
}

/// Where a compiled-code address comes from.
pub struct CodeLookup {
    /// The code's metadata.
    pub code: Arc<CompiledCode>,
    /// The module it was compiled from (`None` for trampolines not tied to a module).
    pub module: Option<Arc<Module>>,
    /// The address's offset in the text section.
    pub offset: u32,
}

/// The registered code containing `pc`.
pub fn lookup_code(pc: usize) -> Option<CodeLookup> {
    let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let (_, (start, code, module)) = registry.range(pc + 1..).next()?;
    (pc >= *start).then(|| CodeLookup { code: code.clone(), module: module.clone(), offset: (pc - start) as u32 })
}

/// Whether `pc` lies in registered compiled code. Called from the signal handler (never blocks for long).
pub(crate) fn is_compiled_code(pc: usize) -> bool {
    with_registry(|registry| registry.range(pc + 1..).next().is_some_and(|(_, (start, _, _))| pc >= *start))
        .unwrap_or(false)
}

fn with_registry<R>(f: impl FnOnce(&Registry) -> R) -> Option<R> {
    for _ in 0..100_000 {
        match REGISTRY.try_read() {
            Ok(registry) => return Some(f(&registry)),
            Err(std::sync::TryLockError::Poisoned(_)) => return None,
            Err(std::sync::TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}

/// The trap raised by the instruction at `pc`, if `pc` is a trap site in registered code. Called from the signal
/// handler: it never blocks (a registry held by a writer on another thread is retried briefly) and never allocates.
pub(crate) fn lookup_trap(pc: usize) -> Option<Trap> {
    for _ in 0..100_000 {
        match REGISTRY.try_read() {
            Ok(registry) => {
                let (_, (start, info, _)) = registry.range(pc + 1..).next()?;
                return if pc >= *start { info.lookup_trap((pc - start) as u32) } else { None };
            }
            Err(std::sync::TryLockError::Poisoned(_)) => return None,
            Err(std::sync::TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}
