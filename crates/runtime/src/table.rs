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
    elements: Vec<*mut u8>,
    ty: TableType,
    max: u64,
}

// SAFETY: elements point to store-owned data; the table is only used by the store's owner.
unsafe impl Send for Table {}
// SAFETY: as above; mutation requires `&mut self`.
unsafe impl Sync for Table {}

impl Table {
    /// Creates a table of `ty.limits.min` null elements.
    pub fn new(ty: &TableType) -> Option<Box<Table>> {
        Table::with_limit(ty, MAX_ELEMENTS)
    }

    /// Creates a table of `ty.limits.min` null elements that never grows past `limit` elements (whatever its type
    /// allows); `None` if its minimum is above the limit.
    pub fn with_limit(ty: &TableType, limit: u64) -> Option<Box<Table>> {
        let max = ty.limits.max.unwrap_or(MAX_ELEMENTS).min(MAX_ELEMENTS).min(limit);
        if ty.limits.min > max {
            return None;
        }
        let mut elements = vec![std::ptr::null_mut(); ty.limits.min as usize];
        let definition = VMTableDefinition { base: elements.as_mut_ptr(), current_elements: elements.len() };
        Some(Box::new(Table { definition, elements, ty: *ty, max }))
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
        self.elements.len() as u64
    }

    /// Element `index`, or `None` if out of bounds.
    pub fn get(&self, index: u64) -> Option<*mut u8> {
        self.elements.get(usize::try_from(index).ok()?).copied()
    }

    /// Sets element `index`; `false` if out of bounds.
    pub fn set(&mut self, index: u64, value: *mut u8) -> bool {
        match usize::try_from(index).ok().and_then(|i| self.elements.get_mut(i)) {
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
        self.elements[range].fill(value);
        true
    }

    /// The elements, for bulk operations.
    pub fn elements_mut(&mut self) -> &mut [*mut u8] {
        &mut self.elements
    }

    /// Grows by `delta` elements set to `init`, returning the old size, or `None` if it cannot grow that much.
    pub fn grow(&mut self, delta: u64, init: *mut u8) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.max {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.definition.base = self.elements.as_mut_ptr();
        self.definition.current_elements = self.elements.len();
        Some(old)
    }
}

/// `start..start+len` as a `usize` range if it lies within `0..size`.
pub(crate) fn range(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}
