//! Linear memories.
//!
//! With guard pages (the default) a memory reserves `static_memory_reservation + static_memory_guard` bytes of
//! address space up front and only changes page protections as it grows; its base never moves and compiled code
//! needs no bounds checks. With explicit bounds checks a memory holds exactly its current size and moves when it
//! grows (compiled code reloads the base after every call that may grow it).

use crate::mmap::{Mmap, page_size};
use crate::vmcontext::VMMemoryDefinition;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use weft_environ::{MemoryType, Tunables};

/// Bytes in a wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// The most pages a 32-bit memory can have (4 GiB); a module declaring more does not validate.
pub const WASM32_MAX_PAGES: u64 = 65536;
/// The most pages a 64-bit memory can have here: 64 TiB, half the address space a Linux process has, since no
/// host has more to give (the format itself allows 2^48 pages).
pub const WASM64_MAX_PAGES: u64 = 1 << 30;

/// A linear memory. Its first field is the `VMMemoryDefinition` compiled code reads, so a pointer to one is a pointer
/// to the other.
#[repr(C)]
pub struct LinearMemory {
    definition: VMMemoryDefinition,
    mmap: Mmap,
    guard_pages: bool,
    max_pages: u64,
    declared_max: Option<u64>,
    memory64: bool,
    /// Where a guard-page reservation goes when the memory is dropped.
    pool: Option<Arc<ReservationPool>>,
    /// The range of the memory that is a private mapping of a memory image (`offset`, `len`; `len` 0: none).
    image: (usize, usize),
    /// Storage the embedder provides (`mmap` is then empty).
    host: Option<Box<dyn crate::HostMemory>>,
    /// Whether the memory lives in a reservation that never moves (guard pages, or a pooling allocator's slot).
    slotted: bool,
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
    /// Creates a memory of `ty.limits.min` pages laid out according to `tunables`, taking a guard-page reservation
    /// from `pool` (and giving it back when dropped) if there is one. With `image` (guard-page memories only), the
    /// memory starts out with the image's contents, mapped copy-on-write.
    pub fn new(
        ty: &MemoryType,
        tunables: &Tunables,
        pool: Option<&Arc<ReservationPool>>,
        image: Option<&crate::MemoryImage>,
        creator: Option<&Arc<dyn crate::HostMemoryCreator>>,
    ) -> Result<Box<LinearMemory>, MemoryAllocationError> {
        let pages = ty.limits.min;
        let limit = if ty.memory64 { WASM64_MAX_PAGES } else { WASM32_MAX_PAGES };
        let max_pages = ty.limits.max.unwrap_or(limit).min(limit);
        let err = |source| MemoryAllocationError { pages, source };
        if pages > max_pages {
            let limit = if ty.memory64 { "the 64 TiB this host can map" } else { "the 4 GiB limit" };
            return Err(err(std::io::Error::other(format!("initial size exceeds {limit}"))));
        }
        let bytes = (pages * WASM_PAGE_SIZE) as usize;
        let guard_pages = tunables.guard_pages(ty);
        let pooling = pool.and_then(|p| p.pooling_limits()).filter(|_| creator.is_none());
        let max_pages = match pooling {
            Some(limits) => {
                if bytes > limits.max_memory_size {
                    return Err(err(std::io::Error::other(format!(
                        "the pooling allocator's memories hold at most {} bytes",
                        limits.max_memory_size
                    ))));
                }
                max_pages.min(limits.max_memory_size as u64 / WASM_PAGE_SIZE)
            }
            None => max_pages,
        };
        if let Some(creator) = creator {
            let reserved = guard_pages.then_some(tunables.static_memory_reservation as usize);
            let guard = if guard_pages { tunables.static_memory_guard as usize } else { 0 };
            let maximum = ty.limits.max.map(|m| (m.min(limit) * WASM_PAGE_SIZE) as usize);
            let host =
                creator.new_memory(ty, bytes, maximum, reserved, guard).map_err(|e| err(std::io::Error::other(e)))?;
            crate::host_memory::check_layout(&*host, bytes, reserved.map(|r| r + guard)).map_err(|problem| {
                err(std::io::Error::other(format!("the embedder's memory is unusable: {problem}")))
            })?;
            return Ok(Box::new(LinearMemory {
                definition: VMMemoryDefinition { base: host.as_ptr(), current_length: bytes },
                mmap: Mmap::empty(),
                guard_pages,
                max_pages,
                declared_max: ty.limits.max,
                memory64: ty.memory64,
                pool: None,
                image: (0, 0),
                host: Some(host),
                slotted: false,
            }));
        }
        // The pooling allocator gives every memory a slot of its reservations, guard pages or not (its base then
        // never moves; explicitly checked code does not rely on that but loses nothing).
        let slotted = guard_pages || pooling.is_some();
        let mmap = if slotted {
            let reservation = (tunables.static_memory_reservation + tunables.static_memory_guard) as usize;
            match pool.and_then(|p| p.take(reservation, bytes)) {
                Some(m) => m,
                None if pooling.is_some() => {
                    let total = pooling.map_or(0, |l| l.total_memories);
                    return Err(err(std::io::Error::other(format!(
                        "the pooling allocator's {total} memory slots are all in use"
                    ))));
                }
                None => {
                    let m = Mmap::reserve(reservation).map_err(err)?;
                    m.make_accessible(0, bytes).map_err(err)?;
                    m
                }
            }
        } else {
            Mmap::accessible(bytes.next_multiple_of(page_size())).map_err(err)?
        };
        let image = match image {
            Some(image) if guard_pages && image.offset + image.len <= bytes.next_multiple_of(page_size()) => {
                mmap.map_file_over(image.offset, image.len, &image.file).map_err(err)?;
                (image.offset, image.len)
            }
            Some(_) => return Err(err(std::io::Error::other("a memory image that does not fit its memory"))),
            None => (0, 0),
        };
        let definition = VMMemoryDefinition { base: mmap.as_ptr(), current_length: bytes };
        Ok(Box::new(LinearMemory {
            definition,
            mmap,
            guard_pages,
            max_pages,
            declared_max: ty.limits.max,
            memory64: ty.memory64,
            pool: if slotted { pool.cloned() } else { None },
            image,
            host: None,
            slotted,
        }))
    }

    /// The definition compiled code reads.
    pub fn definition(&mut self) -> *mut VMMemoryDefinition {
        &mut self.definition
    }

    /// Whether the memory reserves guard pages, so that its base never moves.
    pub fn has_guard_pages(&self) -> bool {
        self.guard_pages
    }

    /// Address of the memory's first byte.
    pub fn base(&self) -> *mut u8 {
        self.definition.base
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.definition.current_length as u64 / WASM_PAGE_SIZE
    }

    /// The memory's current type: its current size as the minimum, and its declared maximum.
    pub fn ty(&self) -> MemoryType {
        MemoryType {
            limits: weft_environ::Limits { min: self.pages(), max: self.declared_max },
            memory64: self.memory64,
        }
    }

    /// Maximum size in pages.
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// The maximum its type declares, in pages, if any.
    pub fn declared_max(&self) -> Option<u64> {
        self.declared_max
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
        if let Some(host) = &mut self.host {
            host.grow_to(new_bytes).ok()?;
            let moved = host.as_ptr() != self.definition.base;
            let check = crate::host_memory::check_layout(&**host, new_bytes, None);
            if (moved && self.guard_pages) || check.is_err() {
                // Compiled code keeps using the old layout (a guard-page memory's base is copied into every
                // instance), so continuing would let wasm reach memory it does not own: the embedder broke the
                // contract of its `unsafe impl`, and stopping is the only safe way out.
                eprintln!(
                    "weft: fatal: an embedder's linear memory broke its contract when growing ({})",
                    if moved { "its base moved".to_string() } else { check.err().unwrap_or_default() }
                );
                std::process::abort();
            }
            self.definition.base = host.as_ptr();
            self.definition.current_length = new_bytes;
            return Some(old);
        }
        if self.slotted {
            if new_bytes > self.mmap.len() {
                return None;
            }
            self.mmap.make_accessible(old_bytes, new_bytes - old_bytes).ok()?;
        } else if new_bytes <= self.mmap.len() {
            // Within the capacity of an earlier resize, which is accessible already: the base stays.
        } else {
            // Resize to at least twice the capacity, so that growing page by page moves the memory only O(log size)
            // times. The kernel grows the mapping in place or moves its pages (their page-table entries, not their
            // bytes), so a large memory grows in microseconds and pages it never touched stay unbacked. The whole
            // mapping is always accessible (bounds checks, not protections, stop accesses past the length), so it
            // is one mapping of one protection, which every kernel can move in one call, without a destination
            // that could be lost on failure.
            let max_bytes = (self.max_pages * WASM_PAGE_SIZE) as usize;
            let capacity =
                new_bytes.max(self.mmap.len().saturating_mul(2)).min(max_bytes).next_multiple_of(page_size());
            // SAFETY: `&mut self` means no reference into the memory's bytes exists (compiled code reloads the base
            // after anything that may grow it), and the base is re-derived from the mapping below.
            if unsafe { self.mmap.resize(capacity) }.is_err() {
                // No room to grow or move it (or an empty memory, which has no mapping yet): a fresh one, copied.
                let bigger = Mmap::accessible(capacity).ok()?;
                // SAFETY: both mappings are ours, distinct, accessible and at least `old_bytes` long.
                unsafe { std::ptr::copy_nonoverlapping(self.mmap.as_ptr(), bigger.as_ptr(), old_bytes) };
                self.mmap = bigger;
            }
            self.definition.base = self.mmap.as_ptr();
        }
        self.definition.current_length = new_bytes;
        Some(old)
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        if let (true, Some(pool)) = (self.slotted, &self.pool) {
            // The pool's reservations read as zero: dropping the pages of a file mapping would bring back the
            // image, so the image's part becomes anonymous again first (or, failing that, is not pooled).
            if self.image.1 > 0 && self.mmap.reset_anonymous(self.image.0, self.image.1).is_err() {
                return;
            }
            let mmap = std::mem::replace(&mut self.mmap, Mmap::empty());
            pool.give_back(mmap, self.definition.current_length.next_multiple_of(page_size()));
        }
    }
}

/// Guard-page reservations of memories that were dropped, kept for the next memories to be created.
///
/// Reserving 6 GiB of address space and, above all, unmapping it again (tearing down its page tables) cost more than
/// the rest of an instantiation. A returned reservation has its pages dropped, so its accessible part reads as zero
/// and uses no memory, and it remembers how much of it is accessible; the next memory adjusts the protection only
/// where its size differs, so it is indistinguishable from a fresh reservation. Each engine has one pool (its size is
/// a setting, 16 by default: 96 GiB of address space, a few percent of the 128 TiB a process has, and none of it
/// memory); what does not fit is unmapped as before.
pub struct ReservationPool {
    capacity: usize,
    /// `(reservation, bytes accessible from its start)`.
    entries: Mutex<Vec<(Mmap, usize)>>,
    /// With the pooling allocator: its limits, and what is in use. Its reservations are all made up front, and a
    /// memory that finds none free fails instead of reserving another.
    pooling: Option<Pooling>,
}

/// The pooling allocator's limits (`weft::PoolingAllocationConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolingLimits {
    /// Memories alive at once, engine-wide: one reservation each, all made when the engine is created.
    pub total_memories: u32,
    /// Tables alive at once, engine-wide: one slot of `table_elements` elements each, reserved up front.
    pub total_tables: u32,
    /// Instances alive at once, engine-wide (host-created memories, tables and globals count as instances): one
    /// `VMContext` slot of `max_core_instance_size` bytes each, reserved up front.
    pub total_core_instances: u32,
    /// Bytes of one instance's `VMContext` slot: a module whose `VMContext` is larger cannot be instantiated.
    pub max_core_instance_size: usize,
    /// Bytes a memory may have (initially and by growing).
    pub max_memory_size: usize,
    /// Elements a table may have (initially and by growing).
    pub table_elements: usize,
    /// Memories one instance may define.
    pub max_memories_per_module: u32,
    /// Tables one instance may define.
    pub max_tables_per_module: u32,
    /// Bytes at the start of a reused memory slot that are zeroed in place (staying resident) rather than given
    /// back to the kernel.
    pub linear_memory_keep_resident: usize,
    /// The same for tables, in bytes of elements (8 each).
    pub table_keep_resident: usize,
}

#[derive(Debug)]
struct Pooling {
    limits: PoolingLimits,
    /// Every instance's `VMContext`: `total_core_instances` slots of `instance_slot_bytes`, reserved up front
    /// (pages are backed only once written, and stay so: a slot is zeroed in place when given back).
    instance_region: Mmap,
    instance_slot_bytes: usize,
    free_instance_slots: Mutex<Vec<u32>>,
    /// Element storage of every table slot: `total_tables` slots of `table_slot_bytes`, reserved up front (pages
    /// are backed only once written).
    table_region: Mmap,
    table_slot_bytes: usize,
    free_table_slots: Mutex<Vec<u32>>,
}

/// A table's element storage from the pooling allocator: `capacity` elements at `base`, zero when taken, given back
/// (and zeroed) when dropped.
#[derive(Debug)]
pub struct TableSlot {
    pool: Arc<ReservationPool>,
    index: u32,
    /// The slot's first element.
    pub base: *mut *mut u8,
    /// How many elements it holds.
    pub capacity: usize,
}

// SAFETY: the slot's storage belongs to this value until it is dropped; it is used by its table's owner only.
unsafe impl Send for TableSlot {}
// SAFETY: as above; the storage is only written through `&mut` access to the owning table.
unsafe impl Sync for TableSlot {}

impl Drop for TableSlot {
    fn drop(&mut self) {
        let Some(pooling) = &self.pool.pooling else { return };
        let start = self.index as usize * pooling.table_slot_bytes;
        let resident = pooling.limits.table_keep_resident.next_multiple_of(page_size()).min(pooling.table_slot_bytes);
        // SAFETY: the slot's first `resident` bytes are accessible and belong to this slot, which nothing uses any
        // more.
        unsafe { std::ptr::write_bytes(pooling.table_region.as_ptr().add(start), 0, resident) };
        if pooling.table_region.discard(start + resident, pooling.table_slot_bytes - resident).is_err() {
            // Pages that could not be dropped are zeroed by hand: a slot is never given back dirty.
            // SAFETY: as above, for the rest of the slot.
            unsafe {
                std::ptr::write_bytes(
                    pooling.table_region.as_ptr().add(start + resident),
                    0,
                    pooling.table_slot_bytes - resident,
                )
            };
        }
        pooling.free_table_slots.lock().unwrap_or_else(|e| e.into_inner()).push(self.index);
    }
}

/// An instance's `VMContext` storage from the pooling allocator: `used` zero bytes at `base` (16-byte aligned) when
/// taken, zeroed again when dropped.
#[derive(Debug)]
pub struct InstanceSlot {
    pool: Arc<ReservationPool>,
    index: u32,
    /// The slot's first byte.
    pub base: NonNull<u8>,
    /// How many bytes of it the instance uses.
    pub used: usize,
}

// SAFETY: the slot's storage belongs to this value until it is dropped; it is used by its instance's owner only.
unsafe impl Send for InstanceSlot {}
// SAFETY: as above; the storage is written only through the owning instance.
unsafe impl Sync for InstanceSlot {}

impl Drop for InstanceSlot {
    fn drop(&mut self) {
        let Some(pooling) = &self.pool.pooling else { return };
        // Only the first `used` bytes were handed out, so only they can be dirty. Zeroing them in place costs what
        // the instance's own initialisation did, and keeps the pages for the next instance.
        // SAFETY: `base..base + used` lies inside this slot (checked when it was taken), which nothing uses any more.
        unsafe { std::ptr::write_bytes(self.base.as_ptr(), 0, self.used) };
        pooling.free_instance_slots.lock().unwrap_or_else(|e| e.into_inner()).push(self.index);
    }
}

/// The bytes of `count` slots of `slot_bytes`, or an error if that is more than the address space.
fn region_bytes(slot_bytes: usize, count: u32) -> std::io::Result<usize> {
    slot_bytes.checked_mul(count as usize).ok_or_else(|| {
        std::io::Error::other(format!("{count} slots of {slot_bytes} bytes are more than the address space"))
    })
}

impl std::fmt::Debug for ReservationPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReservationPool").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl ReservationPool {
    /// A pool keeping at most `capacity` reservations (0: none; every dropped memory is unmapped).
    pub fn new(capacity: usize) -> ReservationPool {
        ReservationPool { capacity, entries: Mutex::new(Vec::new()), pooling: None }
    }

    /// The pooling allocator: `limits.total_memories` reservations of `reservation` bytes each, made now, and the
    /// table and instance slots.
    pub fn pooling(limits: PoolingLimits, reservation: usize) -> std::io::Result<ReservationPool> {
        let mut entries = Vec::with_capacity(limits.total_memories as usize);
        for _ in 0..limits.total_memories {
            entries.push((Mmap::reserve(reservation)?, 0));
        }
        let table_slot_bytes =
            (limits.table_elements.max(1) * std::mem::size_of::<*mut u8>()).next_multiple_of(page_size());
        let table_region = Mmap::accessible(region_bytes(table_slot_bytes, limits.total_tables)?)?;
        let free_table_slots = Mutex::new((0..limits.total_tables).rev().collect());
        // Slots need only the `VMContext`'s 16-byte alignment; a cache line apart, neighbours never share one.
        let instance_slot_bytes = limits.max_core_instance_size.max(1).next_multiple_of(64);
        let instance_region = Mmap::accessible(region_bytes(instance_slot_bytes, limits.total_core_instances)?)?;
        let free_instance_slots = Mutex::new((0..limits.total_core_instances).rev().collect());
        Ok(ReservationPool {
            capacity: limits.total_memories as usize,
            entries: Mutex::new(entries),
            pooling: Some(Pooling {
                limits,
                instance_region,
                instance_slot_bytes,
                free_instance_slots,
                table_region,
                table_slot_bytes,
                free_table_slots,
            }),
        })
    }

    /// The pooling allocator's limits, if this is one.
    pub fn pooling_limits(&self) -> Option<&PoolingLimits> {
        self.pooling.as_ref().map(|p| &p.limits)
    }

    /// Takes one of `limit` units counted by `counter`, or says which pool is exhausted.
    /// A `VMContext` slot of at least `bytes` bytes, if this is a pooling allocator (`Ok(None)` otherwise), or why
    /// there is none.
    pub(crate) fn take_instance_slot(self: &Arc<Self>, bytes: usize) -> Result<Option<InstanceSlot>, String> {
        let Some(p) = &self.pooling else { return Ok(None) };
        if bytes > p.limits.max_core_instance_size {
            return Err(format!(
                "the module's instance state (VMContext) needs {bytes} bytes; the pooling allocator's \
                 max_core_instance_size is {}",
                p.limits.max_core_instance_size
            ));
        }
        let index = p.free_instance_slots.lock().unwrap_or_else(|e| e.into_inner()).pop().ok_or_else(|| {
            format!("the pooling allocator's {} instance slots are all in use", p.limits.total_core_instances)
        })?;
        // SAFETY: the slot lies inside the region (index < total_core_instances).
        let base = unsafe { p.instance_region.as_ptr().add(index as usize * p.instance_slot_bytes) };
        let base = NonNull::new(base).expect("a mapping is never at address zero");
        Ok(Some(InstanceSlot { pool: self.clone(), index, base, used: bytes }))
    }

    /// A table's element storage, if this is a pooling allocator (`Ok(None)` otherwise), or why there is none.
    pub(crate) fn take_table_slot(self: &Arc<Self>) -> Result<Option<TableSlot>, String> {
        let Some(p) = &self.pooling else { return Ok(None) };
        let index =
            p.free_table_slots.lock().unwrap_or_else(|e| e.into_inner()).pop().ok_or_else(|| {
                format!("the pooling allocator's {} table slots are all in use", p.limits.total_tables)
            })?;
        // SAFETY: the slot lies inside the region (index < total_tables).
        let base = unsafe { p.table_region.as_ptr().add(index as usize * p.table_slot_bytes) }.cast();
        Ok(Some(TableSlot { pool: self.clone(), index, base, capacity: p.limits.table_elements }))
    }

    /// How many reservations it keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A reservation of exactly `len` bytes from the pool whose first `accessible` bytes (page-aligned) are
    /// accessible and zero and the rest inaccessible, if the pool has one.
    fn take(&self, len: usize, accessible: usize) -> Option<Mmap> {
        let (mmap, was) = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let i = entries.iter().position(|(m, _)| m.len() == len)?;
            entries.swap_remove(i)
        };
        let adjusted = if accessible > was {
            mmap.make_accessible(was, accessible - was)
        } else {
            mmap.make_inaccessible(accessible, was - accessible)
        };
        // On failure the reservation is unmapped (dropped) and the caller makes a fresh one.
        adjusted.ok().map(|()| mmap)
    }

    /// Keeps `mmap`, whose first `accessible` bytes are accessible, after dropping its pages; unmaps it instead
    /// when the pool is full or the pages cannot be dropped.
    fn give_back(&self, mmap: Mmap, accessible: usize) {
        if self.capacity == 0 {
            return;
        }
        let accessible = accessible.min(mmap.len());
        // The pooling allocator zeroes the first bytes in place, keeping them resident (no page faults for the
        // next instance), and gives the rest back to the kernel.
        let resident = match &self.pooling {
            Some(p) => (p.limits.linear_memory_keep_resident.next_multiple_of(page_size())).min(accessible),
            None => 0,
        };
        // SAFETY: the first `resident` bytes are accessible pages of this reservation, which nothing uses any more.
        unsafe { std::ptr::write_bytes(mmap.as_ptr(), 0, resident) };
        if mmap.len() == 0 || mmap.discard(resident, accessible - resident).is_err() {
            if self.pooling.is_some() {
                // A slot must not be lost: a fresh reservation takes its place.
                if let Ok(fresh) = Mmap::reserve(mmap.len()) {
                    self.entries.lock().unwrap_or_else(|e| e.into_inner()).push((fresh, 0));
                }
            }
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() < self.capacity {
            entries.push((mmap, accessible));
        }
    }
}
