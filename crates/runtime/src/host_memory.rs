//! Linear memories whose storage the embedder provides (`weft::MemoryCreator`), and the checks that keep a wrong
//! one from making compiled code unsound.
//!
//! Compiled code trusts a memory's layout: a guard-page memory's accesses are unchecked below
//! `reservation + guard` bytes from its base, so those bytes must be mapped, and everything past the current size
//! must fault. Before a host memory is used (and after each growth) the runtime checks what it can: alignment, the
//! sizes it reports, that the whole range is mapped, and, from the process's memory map, that nothing past the
//! current size is accessible. A memory that fails is refused with an error naming the problem.

use weft_environ::MemoryType;

/// Storage for one linear memory, provided by the embedder.
///
/// # Safety
/// `as_ptr` must point to `byte_capacity()` bytes (at least `byte_size()`) that stay valid, and are not used by
/// anything else, for as long as this value lives; the first `byte_size()` bytes must be readable and writable.
/// When created with a reservation (guard pages), the base must never move and the `reservation + guard` bytes
/// from it must stay mapped, inaccessible past `byte_size()`.
pub unsafe trait HostMemory: Send + Sync {
    /// Current size in bytes.
    fn byte_size(&self) -> usize;
    /// Bytes it can grow to without moving.
    fn byte_capacity(&self) -> usize;
    /// Grows to `new_size` bytes (a multiple of the wasm page size, below the maximum it was created with).
    fn grow_to(&mut self, new_size: usize) -> Result<(), String>;
    /// The address of byte 0.
    fn as_ptr(&self) -> *mut u8;
}

/// Makes the storage of every linear memory of an engine.
pub trait HostMemoryCreator: Send + Sync {
    /// A memory of type `ty`, `minimum` bytes long, growing to at most `maximum` bytes. With `reserved` (a
    /// guard-page memory) it must reserve that many bytes followed by `guard` bytes, all inaccessible past its
    /// size, at a base that never moves; without it, it may move when it grows.
    fn new_memory(
        &self,
        ty: &MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> Result<Box<dyn HostMemory>, String>;
}

/// Checks a host memory's layout: `reserved_and_guard` is `Some(bytes)` for a guard-page memory.
pub(crate) fn check_layout(
    memory: &dyn HostMemory,
    expected_size: usize,
    reserved_and_guard: Option<usize>,
) -> Result<(), String> {
    let base = memory.as_ptr() as usize;
    let size = memory.byte_size();
    let page = crate::mmap::page_size();
    if base == 0 {
        return Err("its base address is null".into());
    }
    if size != expected_size {
        return Err(format!("it reports {size} bytes where {expected_size} were asked for"));
    }
    if memory.byte_capacity() < size {
        return Err(format!("its capacity ({}) is below its size ({size})", memory.byte_capacity()));
    }
    let span = match reserved_and_guard {
        Some(total) => {
            if !base.is_multiple_of(page) {
                return Err(format!("its base {base:#x} is not page-aligned"));
            }
            total
        }
        None => {
            if !base.is_multiple_of(16) {
                return Err(format!("its base {base:#x} is not 16-byte aligned"));
            }
            size
        }
    };
    if span == 0 {
        return Ok(());
    }
    let start = base & !(page - 1);
    let len = (base + span).next_multiple_of(page) - start;
    // SAFETY: MADV_NORMAL changes no contents and no protection; it fails with ENOMEM if any page of the range is
    // unmapped, which is the question asked.
    if unsafe { rustix::mm::madvise(start as *mut _, len, rustix::mm::Advice::Normal) }.is_err() {
        return Err(format!("its {span} bytes from {base:#x} are not all mapped"));
    }
    if reserved_and_guard.is_some() {
        let end_of_size = base + size.next_multiple_of(page);
        if let Some((lo, hi)) = accessible_range_within(end_of_size, base + span) {
            return Err(format!(
                "bytes {:#x}..{:#x} past its size are accessible; guard pages must fault",
                lo - base,
                hi - base
            ));
        }
    }
    Ok(())
}

/// The first accessible (readable or writable) mapping overlapping `[lo, hi)`, from `/proc/self/maps`.
fn accessible_range_within(lo: usize, hi: usize) -> Option<(usize, usize)> {
    if lo >= hi {
        return None;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
        let Some((a, b)) = range.split_once('-') else { continue };
        let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else { continue };
        if a < hi && b > lo && (perms.starts_with('r') || perms.as_bytes().get(1) == Some(&b'w')) {
            return Some((a.max(lo), b.min(hi)));
        }
    }
    None
}

impl std::fmt::Debug for dyn HostMemoryCreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostMemoryCreator")
    }
}
