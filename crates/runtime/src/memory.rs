//! Linear memories.
//!
//! With guard pages (the default) a memory reserves `static_memory_reservation + static_memory_guard` bytes of
//! address space up front and only changes page protections as it grows; its base never moves and compiled code
//! needs no bounds checks. With explicit bounds checks a memory holds exactly its current size and moves when it
//! grows (compiled code reloads the base after every call that may grow it).

use crate::mmap::{Mmap, page_size};
use crate::vmcontext::VMMemoryDefinition;
use weft_environ::{MemoryType, Tunables};

/// Bytes in a wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;
const MAX_PAGES: u64 = 65536;

/// A linear memory. Its first field is the `VMMemoryDefinition` compiled code reads, so a pointer to one is a pointer
/// to the other.
#[repr(C)]
pub struct LinearMemory {
    definition: VMMemoryDefinition,
    mmap: Mmap,
    guard_pages: bool,
    max_pages: u64,
    declared_max: Option<u64>,
}

// SAFETY: the memory's bytes are plain data owned by this value; the raw base pointer points into `mmap`.
unsafe impl Send for LinearMemory {}
// SAFETY: as above; mutation requires `&mut self`.
unsafe impl Sync for LinearMemory {}

/// Why a memory could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot allocate a linear memory of {pages} pages: {source}")]
pub struct MemoryAllocationError {
    pages: u64,
    source: std::io::Error,
}

impl LinearMemory {
    /// Creates a memory of `ty.limits.min` pages laid out according to `tunables`.
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> Result<Box<LinearMemory>, MemoryAllocationError> {
        let pages = ty.limits.min;
        let max_pages = ty.limits.max.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        let err = |source| MemoryAllocationError { pages, source };
        if pages > max_pages {
            return Err(err(std::io::Error::other("initial size exceeds the 4 GiB limit")));
        }
        let bytes = (pages * WASM_PAGE_SIZE) as usize;
        let guard_pages = !tunables.explicit_bounds_checks;
        let mmap = if guard_pages {
            let m = Mmap::reserve((tunables.static_memory_reservation + tunables.static_memory_guard) as usize)
                .map_err(err)?;
            m.make_accessible(0, bytes).map_err(err)?;
            m
        } else {
            Mmap::accessible(bytes.next_multiple_of(page_size())).map_err(err)?
        };
        let definition = VMMemoryDefinition { base: mmap.as_ptr(), current_length: bytes };
        Ok(Box::new(LinearMemory { definition, mmap, guard_pages, max_pages, declared_max: ty.limits.max }))
    }

    /// The definition compiled code reads.
    pub fn definition(&mut self) -> *mut VMMemoryDefinition {
        &mut self.definition
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.definition.current_length as u64 / WASM_PAGE_SIZE
    }

    /// The memory's current type: its current size as the minimum, and its declared maximum.
    pub fn ty(&self) -> MemoryType {
        MemoryType { limits: weft_environ::Limits { min: self.pages(), max: self.declared_max } }
    }

    /// Maximum size in pages.
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// The base address and length of the memory at `this`, read without creating a reference to it, for
    /// operations whose source and destination may be the same memory.
    ///
    /// # Safety
    /// `this` must point to a live `LinearMemory`.
    pub unsafe fn raw_parts(this: *const LinearMemory) -> (*mut u8, usize) {
        // SAFETY: guaranteed by the caller; only the two plain fields are read.
        unsafe { ((*this).definition.base, (*this).definition.current_length) }
    }

    /// The memory's bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `base` points to `current_length` accessible bytes owned by `self.mmap`.
        unsafe { std::slice::from_raw_parts(self.definition.base, self.definition.current_length) }
    }

    /// The memory's bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `data`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.definition.base, self.definition.current_length) }
    }

    /// Grows by `delta` pages, returning the old size in pages, or `None` if the memory cannot grow that much.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        if delta == 0 {
            return Some(old);
        }
        let old_bytes = self.definition.current_length;
        let new_bytes = (new * WASM_PAGE_SIZE) as usize;
        if self.guard_pages {
            if new_bytes > self.mmap.len() {
                return None;
            }
            self.mmap.make_accessible(old_bytes, new_bytes - old_bytes).ok()?;
        } else if new_bytes <= self.mmap.len() {
            // Within the capacity reserved by an earlier move: the base stays.
            self.mmap
                .make_accessible(
                    old_bytes.next_multiple_of(page_size()),
                    new_bytes - old_bytes.next_multiple_of(page_size()).min(new_bytes),
                )
                .ok()?;
        } else {
            // Move to a reservation at least twice as large, so growing page by page copies O(size) bytes in total
            // rather than O(size²).
            let max_bytes = (self.max_pages * WASM_PAGE_SIZE) as usize;
            let capacity =
                new_bytes.max(self.mmap.len().saturating_mul(2)).min(max_bytes).next_multiple_of(page_size());
            let bigger = Mmap::reserve(capacity).ok()?;
            bigger.make_accessible(0, new_bytes).ok()?;
            // SAFETY: both regions are accessible, distinct, and at least `old_bytes` long.
            unsafe { std::ptr::copy_nonoverlapping(self.mmap.as_ptr(), bigger.as_ptr(), old_bytes) };
            self.definition.base = bigger.as_ptr();
            self.mmap = bigger;
        }
        self.definition.current_length = new_bytes;
        Some(old)
    }
}
