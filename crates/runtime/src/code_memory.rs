//! Executable memory for compiled code, and the process-wide registry the signal handler consults.

use crate::libcalls;
use crate::mmap::{Mmap, page_size};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use weft_environ::{CompiledCode, Trap};

/// A module's machine code, mapped read+execute (never writable and executable at once), plus its metadata.
///
/// While a `CodeMemory` is alive its address range is registered, so faults inside it become traps.
pub struct CodeMemory {
    mmap: Mmap,
    info: Arc<CompiledCode>,
}

impl std::fmt::Debug for CodeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMemory").field("start", &self.mmap.as_ptr()).field("len", &self.mmap.len()).finish()
    }
}

type Registry = BTreeMap<usize, (usize, Arc<CompiledCode>)>;
static REGISTRY: RwLock<Registry> = RwLock::new(BTreeMap::new());

impl CodeMemory {
    /// Copies `code.text` into fresh memory, fills in libcall addresses, makes it executable and registers it.
    pub fn new(mut code: CompiledCode) -> std::io::Result<Arc<CodeMemory>> {
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
        let info = Arc::new(code);
        let start = mmap.as_ptr() as usize;
        REGISTRY.write().unwrap_or_else(|e| e.into_inner()).insert(start + len, (start, info.clone()));
        Ok(Arc::new(CodeMemory { mmap, info }))
    }

    /// Address of the first byte of the text section.
    pub fn text_start(&self) -> *const u8 {
        self.mmap.as_ptr()
    }

    /// The metadata (function locations, traps, address map).
    pub fn info(&self) -> &CompiledCode {
        &self.info
    }

    /// Address of `offset` within the text section.
    pub fn at(&self, offset: u32) -> *const u8 {
        assert!((offset as usize) < self.mmap.len());
        self.mmap.as_ptr().wrapping_add(offset as usize)
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        let start = self.mmap.as_ptr() as usize;
        REGISTRY.write().unwrap_or_else(|e| e.into_inner()).remove(&(start + self.mmap.len()));
    }
}

/// The registered code containing `pc` and the offset of `pc` within it.
pub fn lookup_code(pc: usize) -> Option<(Arc<CompiledCode>, u32)> {
    let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let (_, (start, info)) = registry.range(pc + 1..).next()?;
    (pc >= *start).then(|| (info.clone(), (pc - start) as u32))
}

/// Whether `pc` lies in registered compiled code. Called from the signal handler (never blocks for long).
pub(crate) fn is_compiled_code(pc: usize) -> bool {
    with_registry(|registry| registry.range(pc + 1..).next().is_some_and(|(_, (start, _))| pc >= *start))
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
                let (_, (start, info)) = registry.range(pc + 1..).next()?;
                return if pc >= *start { info.lookup_trap((pc - start) as u32) } else { None };
            }
            Err(std::sync::TryLockError::Poisoned(_)) => return None,
            Err(std::sync::TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}
