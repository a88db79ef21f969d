//! Resource limits: the embedder decides how far each store's memories and tables may grow and how many
//! instances, memories and tables it may hold ([`ResourceLimiter`], [`StoreLimits`], [`crate::Store::limiter`]).

use crate::store::{StoreInner, StoreOpaque};
use weft_runtime::{GrowKind, HookFailure, LimiterHooks};

/// The most instances, memories and tables a store holds when its limiter does not say otherwise.
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// See [`DEFAULT_INSTANCE_LIMIT`].
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// See [`DEFAULT_INSTANCE_LIMIT`].
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// Decides, for one store, whether its memories and tables may grow and how many instances, memories and tables
/// it may hold. Asked before wasm's `memory.grow`/`table.grow` and the API's `Memory::grow`/`Table::grow`, and at
/// instantiation for each defined memory's and table's initial size.
pub trait ResourceLimiter: Send {
    /// Whether a memory may grow from `current` to `desired` bytes (`maximum`: its declared maximum, if any).
    /// `Ok(false)` denies it: wasm sees -1, the API an error. `Err` traps the wasm that asked with that error.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> crate::Result<bool>;

    /// A memory growth failed: past the memory's maximum, or the host could not provide it. `Err` traps.
    fn memory_grow_failed(&mut self, error: anyhow::Error) -> crate::Result<()> {
        let _ = error;
        Ok(())
    }

    /// Whether a table may grow from `current` to `desired` elements; as [`ResourceLimiter::memory_growing`].
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> crate::Result<bool>;

    /// A table growth failed; as [`ResourceLimiter::memory_grow_failed`].
    fn table_grow_failed(&mut self, error: anyhow::Error) -> crate::Result<()> {
        let _ = error;
        Ok(())
    }

    /// The most module instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// The most tables (defined by instances or created by the host) the store may hold.
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// The most memories (defined by instances or created by the host) the store may hold.
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }
}

/// A ready [`ResourceLimiter`]: a size limit for each memory and table, and counts. Build one with
/// [`StoreLimitsBuilder`].
#[derive(Clone, Debug)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    tables: usize,
    memories: usize,
    trap_on_grow_failure: bool,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimitsBuilder::new().build()
    }
}

/// Builds [`StoreLimits`]; everything is unlimited (up to the defaults for counts) unless set.
#[derive(Clone, Debug)]
pub struct StoreLimitsBuilder(StoreLimits);

impl Default for StoreLimitsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl StoreLimitsBuilder {
    /// No limits beyond the default counts.
    pub fn new() -> Self {
        StoreLimitsBuilder(StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            trap_on_grow_failure: false,
        })
    }

    /// The most bytes any one memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// The most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// The most module instances.
    pub fn instances(mut self, n: usize) -> Self {
        self.0.instances = n;
        self
    }

    /// The most tables.
    pub fn tables(mut self, n: usize) -> Self {
        self.0.tables = n;
        self
    }

    /// The most memories.
    pub fn memories(mut self, n: usize) -> Self {
        self.0.memories = n;
        self
    }

    /// Trap instead of returning -1 when a growth is denied or fails (default off).
    pub fn trap_on_grow_failure(mut self, on: bool) -> Self {
        self.0.trap_on_grow_failure = on;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

impl StoreLimits {
    fn allow(&self, what: &str, desired: usize, limit: Option<usize>) -> crate::Result<bool> {
        match limit {
            Some(limit) if desired > limit => {
                if self.trap_on_grow_failure {
                    anyhow::bail!("forbidden by the store's limits: {what} of {desired} exceeds the limit of {limit}")
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> crate::Result<bool> {
        self.allow("a memory", desired, self.memory_size)
    }

    fn memory_grow_failed(&mut self, error: anyhow::Error) -> crate::Result<()> {
        if self.trap_on_grow_failure { Err(error.context("failed to grow memory")) } else { Ok(()) }
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> crate::Result<bool> {
        self.allow("a table", desired, self.table_elements)
    }

    fn table_grow_failed(&mut self, error: anyhow::Error) -> crate::Result<()> {
        if self.trap_on_grow_failure { Err(error.context("failed to grow table")) } else { Ok(()) }
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

/// How a store finds its limiter in its data.
pub(crate) type LimiterFn<T> = Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// The hooks that let the runtime ask the limiter of a `Store<T>`.
pub(crate) fn hooks<T: 'static>() -> LimiterHooks {
    LimiterHooks { growing: growing::<T>, grow_failed: grow_failed::<T>, counts: counts::<T> }
}

/// Runs `f` on the limiter of the store at `store_data`, turning its error into the runtime's failure and catching
/// its panic.
///
/// # Safety
/// `store_data` must be the `StoreInner<T>` of a live store that has a limiter, not otherwise borrowed mutably in a
/// way `f` could observe (the runtime calls hooks from within wasm, where the store is lent to the running code).
unsafe fn with_limiter<T: 'static, R>(
    store_data: *mut (),
    f: impl FnOnce(&mut dyn ResourceLimiter) -> crate::Result<R>,
) -> Result<R, HookFailure> {
    let inner = store_data.cast::<StoreInner<T>>();
    // SAFETY: guaranteed by the caller. Only the `limiter` and `data` fields are borrowed, never the store's
    // `opaque` part, which the runtime or the embedding layer may be using while it asks.
    let (limiter, data) =
        unsafe { (&mut *std::ptr::addr_of_mut!((*inner).limiter), &mut *std::ptr::addr_of_mut!((*inner).data)) };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let limiter = limiter.as_mut().expect("hooks are installed only with a limiter");
        f(limiter(data))
    }));
    match outcome {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(HookFailure::Error(Box::new(e))),
        Err(panic) => Err(HookFailure::Panic(panic)),
    }
}

fn size(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// The `growing` hook of a `Store<T>`.
///
/// # Safety
/// As for [`with_limiter`].
unsafe fn growing<T: 'static>(
    store_data: *mut (),
    kind: GrowKind,
    current: u64,
    desired: u64,
    maximum: Option<u64>,
) -> Result<bool, HookFailure> {
    let (current, desired, maximum) = (size(current), size(desired), maximum.map(size));
    // SAFETY: the runtime passes the `store_data` of the store these hooks were installed in.
    unsafe {
        with_limiter::<T, _>(store_data, |l| match kind {
            GrowKind::Memory => l.memory_growing(current, desired, maximum),
            GrowKind::Table => l.table_growing(current, desired, maximum),
        })
    }
}

/// The `grow_failed` hook of a `Store<T>`.
///
/// # Safety
/// As for [`with_limiter`].
unsafe fn grow_failed<T: 'static>(store_data: *mut (), kind: GrowKind, reason: String) -> Result<(), HookFailure> {
    let error = anyhow::anyhow!(reason);
    // SAFETY: as for `growing`.
    unsafe {
        with_limiter::<T, _>(store_data, |l| match kind {
            GrowKind::Memory => l.memory_grow_failed(error),
            GrowKind::Table => l.table_grow_failed(error),
        })
    }
}

/// The `counts` hook of a `Store<T>`.
///
/// # Safety
/// As for [`with_limiter`].
unsafe fn counts<T: 'static>(store_data: *mut ()) -> Result<[usize; 3], HookFailure> {
    // SAFETY: as for `growing`.
    unsafe { with_limiter::<T, _>(store_data, |l| Ok([l.instances(), l.memories(), l.tables()])) }
}

/// Turns a limiter failure outside wasm (in the embedding API) into an error, or resumes its panic.
pub(crate) fn api_error(failure: HookFailure) -> anyhow::Error {
    match failure {
        HookFailure::Error(e) => match e.downcast::<anyhow::Error>() {
            Ok(e) => *e,
            Err(_) => anyhow::anyhow!("the resource limiter failed"),
        },
        HookFailure::Panic(p) => std::panic::resume_unwind(p),
    }
}

impl StoreOpaque {
    /// Checks with the limiter, if any, that the store may hold `instances`, `memories` and `tables` more items and
    /// that each new memory (of `memory_bytes`, with its maximum) and table may start at its size.
    pub(crate) fn limiter_allows_new(
        &mut self,
        instances: usize,
        memories: &[(u64, Option<u64>)],
        tables: &[(u64, Option<u64>)],
    ) -> crate::Result<()> {
        let Some(hooks) = self.vm_store_context.limiter else { return Ok(()) };
        let data = self.vm_store_context.store_data;
        // SAFETY: the hooks were installed for this store, whose data `store_data` points to; they borrow only
        // the data and the limiter, never this `StoreOpaque`.
        let [max_instances, max_memories, max_tables] = unsafe { (hooks.counts)(data) }.map_err(api_error)?;
        let (have_instances, have_memories, have_tables) = self.resource_counts;
        for (what, have, new, max) in [
            ("instances", have_instances, instances, max_instances),
            ("memories", have_memories, memories.len(), max_memories),
            ("tables", have_tables, tables.len(), max_tables),
        ] {
            if new > 0 && have + new > max {
                anyhow::bail!("resource limit exceeded: the store may hold at most {max} {what}, and has {have}");
            }
        }
        let initial = [(GrowKind::Memory, memories, "memory", "bytes"), (GrowKind::Table, tables, "table", "elements")];
        for (kind, items, what, unit) in initial {
            for &(size, maximum) in items {
                // SAFETY: as above.
                if !unsafe { (hooks.growing)(data, kind, 0, size, maximum) }.map_err(api_error)? {
                    anyhow::bail!("resource limit exceeded: the limiter refused a {what} of {size} {unit}");
                }
            }
        }
        Ok(())
    }
}
