//! Tables of references.

use crate::vmcontext::VMTableDefinition;
use weft_environ::TableType;

/// Most elements a table may have (keeps element arrays within a sane allocation).
const MAX_ELEMENTS: u64 = 10_000_000;

/// A table. Its first field is the `VMTableDefinition` compiled code reads. Elements are raw pointers (for
/// `funcref`, to a `VMFuncRef` owned by an instance or host function of the same store); null is the null reference.
#[repr(C)]
pub struct Table {
    definition: VMTableDefinition,
    storage: Storage,
    ty: TableType,
    max: u64,
}

/// Where a table's elements live.
enum Storage {
    /// A vector of its own (reallocated as it grows).
    Owned(Vec<*mut u8>),
    /// A slot of the pooling allocator: `len` elements in use of the slot's fixed capacity (the rest zero).
    Slot { slot: crate::memory::TableSlot, len: usize },
}

// SAFETY: elements point to store-owned data; the table is only used by the store's owner.
unsafe impl Send for Table {}
// SAFETY: as above; mutation requires `&mut self`.
unsafe impl Sync for Table {}

impl Table {
    /// Creates a table of `ty.limits.min` null elements.
    pub fn new(ty: &TableType) -> Option<Box<Table>> {
        Table::with_storage(ty, MAX_ELEMENTS, None)
    }

    /// Creates a table of `ty.limits.min` null elements that never grows past `limit` elements (whatever its type
    /// allows), keeping them in `slot` (zero, so all null, when taken) if given; the limit must not exceed the
    /// slot's capacity. `None` if its minimum is above the limit.
    pub(crate) fn with_storage(
        ty: &TableType,
        limit: u64,
        slot: Option<crate::memory::TableSlot>,
    ) -> Option<Box<Table>> {
        let max = ty.limits.max.unwrap_or(MAX_ELEMENTS).min(MAX_ELEMENTS).min(limit);
        if ty.limits.min > max {
            return None;
        }
        let len = ty.limits.min as usize;
        let mut storage = match slot {
            Some(slot) => {
                assert!(max <= slot.capacity as u64, "a table slot smaller than its table's limit");
                Storage::Slot { slot, len }
            }
            None => Storage::Owned(vec![std::ptr::null_mut(); len]),
        };
        let base = match &mut storage {
            Storage::Owned(v) => v.as_mut_ptr(),
            Storage::Slot { slot, .. } => slot.base,
        };
        let definition = VMTableDefinition { base, current_elements: len };
        Some(Box::new(Table { definition, storage, ty: *ty, max }))
    }

    fn elements(&self) -> &[*mut u8] {
        match &self.storage {
            Storage::Owned(v) => v,
            // SAFETY: the slot holds `capacity >= len` elements owned by this table.
            Storage::Slot { slot, len } => unsafe { std::slice::from_raw_parts(slot.base, *len) },
        }
    }

    /// The definition compiled code reads.
    pub fn definition(&mut self) -> *mut VMTableDefinition {
        &mut self.definition
    }

    /// The table's current type: its current size as the minimum, and its declared maximum.
    pub fn ty(&self) -> TableType {
        TableType { limits: weft_environ::Limits { min: self.size(), max: self.ty.limits.max }, ..self.ty }
    }

    /// The most elements it can grow to (its declared maximum, or the runtime's limit).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Number of elements.
    pub fn size(&self) -> u64 {
        self.elements().len() as u64
    }

    /// Element `index`, or `None` if out of bounds.
    pub fn get(&self, index: u64) -> Option<*mut u8> {
        self.elements().get(usize::try_from(index).ok()?).copied()
    }

    /// Sets element `index`; `false` if out of bounds.
    pub fn set(&mut self, index: u64, value: *mut u8) -> bool {
        match usize::try_from(index).ok().and_then(|i| self.elements_mut().get_mut(i)) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Sets `len` elements from `dst` to `value`; `false` (and no change) if the range is out of bounds.
    pub fn fill(&mut self, dst: u64, value: *mut u8, len: u64) -> bool {
        let Some(range) = range(dst, len, self.size()) else {
            return false;
        };
        self.elements_mut()[range].fill(value);
        true
    }

    /// The elements, for bulk operations.
    pub fn elements_mut(&mut self) -> &mut [*mut u8] {
        match &mut self.storage {
            Storage::Owned(v) => v,
            // SAFETY: as in `elements`, and `&mut self` gives exclusive access.
            Storage::Slot { slot, len } => unsafe { std::slice::from_raw_parts_mut(slot.base, *len) },
        }
    }

    /// Grows by `delta` elements set to `init`, returning the old size, or `None` if it cannot grow that much.
    pub fn grow(&mut self, delta: u64, init: *mut u8) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.max {
            return None;
        }
        match &mut self.storage {
            Storage::Owned(v) => {
                v.resize(new as usize, init);
                self.definition.base = v.as_mut_ptr();
            }
            Storage::Slot { slot, len } => {
                // SAFETY: `new <= max <= capacity`: the added elements lie inside the slot.
                unsafe { std::slice::from_raw_parts_mut(slot.base.add(*len), (new - old) as usize) }.fill(init);
                *len = new as usize;
            }
        }
        self.definition.current_elements = new as usize;
        Some(old)
    }
}

/// `start..start+len` as a `usize` range if it lies within `0..size`.
pub(crate) fn range(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}
