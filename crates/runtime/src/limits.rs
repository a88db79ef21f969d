//! The embedder's say over growth: before a memory or table grows, by wasm (`memory.grow`, `table.grow`) or by the
//! host API, the store's limiter is asked, through hooks the embedding layer installs in the `VMStoreContext`.
//! The runtime does not know the embedder's types; the hooks do.

use crate::memory::{LinearMemory, WASM_PAGE_SIZE};
use crate::table::Table;
use crate::vmcontext::VMStoreContext;
use std::any::Any;

/// What is growing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GrowKind {
    /// A linear memory (sizes in bytes).
    Memory,
    /// A table (sizes in elements).
    Table,
}

/// How a limiter hook failed: with an error of the embedder's, which unwinds the wasm that asked like a host
/// function's error, or with a panic, which resumes in the embedder's caller.
pub enum HookFailure {
    /// The embedding layer's error value.
    Error(Box<dyn Any + Send>),
    /// A panic payload.
    Panic(Box<dyn Any + Send>),
}

/// The embedding layer's entry points into a store's limiter. `store_data` is `VMStoreContext::store_data`.
///
/// # Safety
/// Each hook may only be called with the `store_data` of the store the hooks were installed in, while that store is
/// alive and no reference to its data or limiter is live (the hooks borrow both, and nothing else of the store).
#[derive(Copy, Clone, Debug)]
pub struct LimiterHooks {
    /// Whether the item may grow from `current` to `desired` (bytes or elements) within `maximum`.
    pub growing: unsafe fn(
        store_data: *mut (),
        kind: GrowKind,
        current: u64,
        desired: u64,
        maximum: Option<u64>,
    ) -> Result<bool, HookFailure>,
    /// An approved growth, or one past the item's maximum, failed; `Err` traps the wasm that asked.
    pub grow_failed: unsafe fn(store_data: *mut (), kind: GrowKind, reason: String) -> Result<(), HookFailure>,
    /// The most instances, memories and tables the store may hold.
    pub counts: unsafe fn(store_data: *mut ()) -> Result<[usize; 3], HookFailure>,
}

/// The limiter of the store whose context is `store`, with the `store_data` its hooks take.
///
/// # Safety
/// `store` must be a live store context.
pub unsafe fn limiter_of(store: *const VMStoreContext) -> Option<(LimiterHooks, *mut ())> {
    // SAFETY: guaranteed by the caller.
    unsafe { (*store).limiter.map(|hooks| (hooks, (*store).store_data)) }
}

/// Grows `memory` by `delta` pages if `limiter` (the store's, if any) allows it: `Ok(Some(old pages))`,
/// `Ok(None)` when denied or impossible (wasm sees -1), `Err` when the limiter failed.
///
/// # Safety
/// `limiter`'s `store_data` must point to what its hooks expect, for the memory's own store, and be usable for
/// the call (derived from the access path the caller itself holds).
pub unsafe fn grow_memory(
    limiter: Option<(LimiterHooks, *mut ())>,
    memory: &mut LinearMemory,
    delta: u64,
) -> Result<Option<u64>, HookFailure> {
    let bytes = |pages: u64| pages.saturating_mul(WASM_PAGE_SIZE);
    let request = Growth {
        kind: GrowKind::Memory,
        old: memory.pages(),
        delta,
        max: memory.max_pages(),
        declared_max: memory.declared_max(),
        units: bytes,
    };
    // SAFETY: guaranteed by the caller.
    unsafe { grow_asking(limiter, request, || memory.grow(delta)) }
}

/// Grows `table` by `delta` elements set to `init` if `limiter` allows it; as [`grow_memory`].
///
/// # Safety
/// As for [`grow_memory`].
pub unsafe fn grow_table(
    limiter: Option<(LimiterHooks, *mut ())>,
    table: &mut Table,
    delta: u64,
    init: *mut u8,
) -> Result<Option<u64>, HookFailure> {
    let request = Growth {
        kind: GrowKind::Table,
        old: table.size(),
        delta,
        max: table.max(),
        declared_max: table.ty().limits.max,
        units: |elements| elements,
    };
    // SAFETY: guaranteed by the caller.
    unsafe { grow_asking(limiter, request, || table.grow(delta, init)) }
}

/// A growth to ask the limiter about: sizes in the item's own units (pages, elements), `units` turning them into
/// the limiter's (bytes, elements).
struct Growth<U: Fn(u64) -> u64> {
    kind: GrowKind,
    old: u64,
    delta: u64,
    /// The most the item can grow to here (its declared maximum, or the runtime's limit).
    max: u64,
    declared_max: Option<u64>,
    units: U,
}

/// The growth protocol shared by memories and tables: past the maximum the limiter hears of the failure; within
/// it, it is asked first; a growth it approved that `grow` then cannot make is reported to it too.
///
/// # Safety
/// As for [`grow_memory`].
unsafe fn grow_asking<U: Fn(u64) -> u64>(
    limiter: Option<(LimiterHooks, *mut ())>,
    request: Growth<U>,
    grow: impl FnOnce() -> Option<u64>,
) -> Result<Option<u64>, HookFailure> {
    let Growth { kind, old, delta, max, declared_max, units } = request;
    if delta == 0 {
        return Ok(Some(old));
    }
    let what = match kind {
        GrowKind::Memory => "memory",
        GrowKind::Table => "table",
    };
    let Some(desired) = old.checked_add(delta).filter(|new| *new <= max) else {
        if let Some((hooks, data)) = limiter {
            let reason = format!("{what} of size {old} cannot grow by {delta} past its maximum");
            // SAFETY: guaranteed by the caller.
            unsafe { (hooks.grow_failed)(data, kind, reason)? };
        }
        return Ok(None);
    };
    if let Some((hooks, data)) = limiter {
        let maximum = declared_max.map(&units);
        // SAFETY: guaranteed by the caller.
        if !unsafe { (hooks.growing)(data, kind, units(old), units(desired), maximum)? } {
            return Ok(None);
        }
    }
    match grow() {
        Some(old) => Ok(Some(old)),
        None => {
            if let Some((hooks, data)) = limiter {
                let reason = format!("the host could not grow a {what} of size {old} by {delta}");
                // SAFETY: guaranteed by the caller.
                unsafe { (hooks.grow_failed)(data, kind, reason)? };
            }
            Ok(None)
        }
    }
}
