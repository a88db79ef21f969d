//! Linear memories whose storage the embedder provides: [`MemoryCreator`] and [`LinearMemory`], with Wasmtime's
//! names and shapes.

use crate::{MemoryType, Result};
use std::sync::Arc;

/// Storage for one linear memory, provided by the embedder through a [`MemoryCreator`].
///
/// Weft checks what it can before using a memory and after each growth (alignment, the sizes reported, that the
/// range is mapped, that nothing past the size is accessible in a guard-page memory) and refuses one that fails with
/// an error. What it cannot check is the embedder's promise:
///
/// # Safety
/// `as_ptr` must point to `byte_capacity()` bytes (at least `byte_size()`) that stay valid, and that nothing else
/// uses, while this value lives; the first `byte_size()` bytes must be readable and writable. A memory created with
/// a reserved size (guard pages) must never move and must keep `reserved + guard` bytes from its base mapped and
/// inaccessible past `byte_size()`: compiled code accesses it without bounds checks. Breaking this makes wasm able
/// to reach memory it does not own; a moved base is detected at growth and stops the process.
pub unsafe trait LinearMemory: Send + Sync + 'static {
    /// Current size in bytes.
    fn byte_size(&self) -> usize;
    /// Bytes the memory can grow to without moving.
    fn byte_capacity(&self) -> usize;
    /// Grows to `new_size` bytes (a multiple of 64 KiB, never above the maximum the memory was created with). An
    /// error makes the growth fail (`memory.grow` returns -1).
    fn grow_to(&mut self, new_size: usize) -> Result<()>;
    /// The address of byte 0.
    fn as_ptr(&self) -> *mut u8;
}

/// Makes the storage of every linear memory an engine creates (`Config::with_host_memory`).
///
/// # Safety
/// Every memory it returns must keep the promises of [`LinearMemory`] for the arguments it was created with.
pub unsafe trait MemoryCreator: Send + Sync {
    /// A memory of type `ty`, `minimum` bytes long, never asked to grow past `maximum` bytes. With
    /// `reserved_size_in_bytes` (a guard-page memory: compiled code checks no access below `reserved + guard`
    /// bytes) the memory must reserve that many bytes followed by `guard_size_in_bytes`, all inaccessible past its
    /// size, at a base that never moves; without it (explicitly bounds-checked code) it may move when it grows.
    /// An error refuses the memory (instantiation fails with it).
    fn new_memory(
        &self,
        ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String>;
}

impl std::fmt::Debug for dyn MemoryCreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryCreator")
    }
}

/// The runtime's view of an embedder's memory.
struct HostMemory(Box<dyn LinearMemory>);

// SAFETY: forwards to the embedder's `unsafe impl LinearMemory`, whose contract is the runtime trait's.
unsafe impl weft_runtime::HostMemory for HostMemory {
    fn byte_size(&self) -> usize {
        self.0.byte_size()
    }
    fn byte_capacity(&self) -> usize {
        self.0.byte_capacity()
    }
    fn grow_to(&mut self, new_size: usize) -> Result<(), String> {
        self.0.grow_to(new_size).map_err(|e| format!("{e:#}"))
    }
    fn as_ptr(&self) -> *mut u8 {
        self.0.as_ptr()
    }
}

/// The runtime's view of an embedder's memory creator.
pub(crate) struct HostMemoryCreator(pub(crate) Arc<dyn MemoryCreator>);

impl weft_runtime::HostMemoryCreator for HostMemoryCreator {
    fn new_memory(
        &self,
        ty: &MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> Result<Box<dyn weft_runtime::HostMemory>, String> {
        let memory = self.0.new_memory(*ty, minimum, maximum, reserved, guard)?;
        Ok(Box::new(HostMemory(memory)))
    }
}
