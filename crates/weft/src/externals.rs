//! External items (functions, memories, tables, globals) and the host-created kind of each.

use crate::store::{StoreId, StoreOpaque};
use crate::{AsContext, AsContextMut, ExternType, Func, GlobalType, MemoryType, Result, TableType, Val};
use std::sync::Arc;
use weft_environ::{ConstExpr, ConstOp, EntityIndex, Export, GlobalIndex, MemoryIndex, TableIndex, Trap};
use weft_runtime::{Imports, LinearMemory, VMGlobalDefinition, ValRaw};

/// Something an instance exports or a module imports.
#[derive(Copy, Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A memory.
    Memory(Memory),
    /// A table.
    Table(Table),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(crate::Tag),
}

impl Extern {
    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self { Some(f) } else { None }
    }
    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self { Some(m) } else { None }
    }
    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self { Some(t) } else { None }
    }
    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self { Some(g) } else { None }
    }
    /// The tag, if it is one.
    pub fn into_tag(self) -> Option<crate::Tag> {
        if let Extern::Tag(t) = self { Some(t) } else { None }
    }
    /// The item's type.
    pub fn ty(&self, store: impl AsContext) -> Result<ExternType> {
        self.ty_opaque(&store.as_context().0.opaque)
    }
    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> Result<ExternType> {
        Ok(match self {
            Extern::Func(f) => ExternType::Func((*store.engine.signature(f.type_id(store))).clone()),
            // SAFETY: items of this store live as long as the store, which `store` borrows.
            Extern::Memory(m) => ExternType::Memory(unsafe { (*m.raw(store)).ty() }),
            // SAFETY: as above.
            Extern::Table(t) => ExternType::Table(unsafe { (*t.raw(store)).ty() }),
            Extern::Global(g) => ExternType::Global(g.ty_opaque(store)),
            Extern::Tag(t) => ExternType::Tag(t.ty_opaque(store)),
        })
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
impl From<crate::Tag> for Extern {
    fn from(t: crate::Tag) -> Extern {
        Extern::Tag(t)
    }
}

/// Creates an instance of a function-less module holding one host-created item, returning the instance index.
fn host_instance(store: &mut StoreOpaque, module: weft_environ::Module) -> Result<usize> {
    host_instance_with_types(store, module, &[])
}

/// As [`host_instance`], for a module whose types have the engine-wide ids `type_ids`.
pub(crate) fn host_instance_with_types(
    store: &mut StoreOpaque,
    module: weft_environ::Module,
    type_ids: &[u32],
) -> Result<usize> {
    let (memories, tables) = crate::instance::initial_sizes(&module);
    store.limiter_allows_new(0, &memories, &tables)?;
    let context: *mut weft_runtime::VMStoreContext = &mut *store.vm_store_context;
    // SAFETY: the module has no imports and no functions, so it needs no code and no type ids.
    let handle = unsafe {
        weft_runtime::Instance::new(
            Arc::new(module),
            None,
            Imports::default(),
            context,
            type_ids,
            &store.engine.config().code.tunables,
            None,
        )
    }?;
    let index = store.push_instance(handle, None);
    store.instances[index].handle.initialize_segments()?;
    Ok(index)
}

fn export0(index: EntityIndex) -> Vec<Export> {
    vec![Export { name: String::new(), index }]
}

/// A linear memory. A handle into its [`crate::Store`].
#[derive(Copy, Clone, Debug)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: MemoryIndex,
}

impl Memory {
    /// Whether `a` and `b` are the same memory (also when reached through different instances' imports and exports).
    pub fn same(a: &Memory, b: &Memory, store: impl AsContext) -> bool {
        let store = &store.as_context().0.opaque;
        a.store == store.id && b.store == store.id && a.raw(store) == b.raw(store)
    }

    /// Creates a host memory of type `ty`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = &mut store.as_context_mut().0.opaque;
        if ty.limits.max.is_some_and(|max| max < ty.limits.min) {
            anyhow::bail!("memory type {ty}: the maximum is below the minimum");
        }
        // The limit the specification sets on a 32-bit memory type, which a module's own memories meet by
        // validation; a 64-bit memory's is 2^48 pages.
        let (max_pages, size) =
            if ty.memory64 { (1u64 << 48, "2^64 bytes") } else { (weft_runtime::WASM32_MAX_PAGES, "4 GiB") };
        if ty.limits.min > max_pages || ty.limits.max.is_some_and(|max| max > max_pages) {
            anyhow::bail!("memory type {ty}: a memory has at most {max_pages} pages ({size})");
        }
        let module = weft_environ::Module {
            memories: vec![ty],
            exports: export0(EntityIndex::Memory(MemoryIndex::from_u32(0))),
            ..Default::default()
        };
        let instance = host_instance(store, module)?;
        Ok(Memory { store: store.id, instance, index: MemoryIndex::from_u32(0) })
    }

    pub(crate) fn raw(&self, store: &StoreOpaque) -> *mut LinearMemory {
        store.check(self.store);
        store.instances[self.instance].handle.memory(self.index)
    }

    /// The memory's type (its current size as minimum).
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        // SAFETY: items of this store live as long as the store, which `store` borrows.
        unsafe { (*self.raw(&store.as_context().0.opaque)).ty() }
    }

    /// Current size in 64 KiB pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        // SAFETY: as above.
        unsafe { (*self.raw(&store.as_context().0.opaque)).pages() }
    }

    /// Current size in bytes (Wasmtime's name; [`Memory::size`] counts pages).
    pub fn data_size(&self, store: impl AsContext) -> usize {
        // SAFETY: items of this store live as long as the store, which `store` borrows.
        unsafe { (*self.raw(&store.as_context().0.opaque)).data().len() }
    }

    /// The memory's bytes.
    pub fn data<'a, T: 'a>(&self, store: impl Into<crate::StoreContext<'a, T>>) -> &'a [u8] {
        let store = store.into();
        // SAFETY: the returned slice borrows the store (lifetime 'a), so the memory can neither grow nor be freed
        // while it is alive.
        unsafe { (*self.raw(&store.0.opaque)).data() }
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, T: 'a>(&self, store: impl Into<crate::StoreContextMut<'a, T>>) -> &'a mut [u8] {
        let store = store.into();
        // SAFETY: the slice borrows the store exclusively for 'a.
        unsafe { (*self.raw(&store.0.opaque)).data_mut() }
    }

    /// The memory's bytes and the store's data, both mutably: what a host function needs to read and write guest
    /// memory while updating its own state.
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.into().0;
        // SAFETY: the bytes live in a mapping owned by the store's instance, disjoint from `store.data`; both
        // borrows last for 'a, during which the store is borrowed exclusively, so the memory can neither grow nor be
        // freed.
        let bytes = unsafe { (*self.raw(&store.opaque)).data_mut() };
        (bytes, &mut store.data)
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`; fails if the range is out of bounds.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<()> {
        // SAFETY: as for `ty`.
        let data = unsafe { (*self.raw(&store.as_context().0.opaque)).data() };
        let src = offset.checked_add(buf.len()).and_then(|end| data.get(offset..end)).ok_or(Trap::MemoryOutOfBounds)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copies `buf` into memory at `offset`; fails if the range is out of bounds.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buf: &[u8]) -> Result<()> {
        // SAFETY: `store` is borrowed exclusively for the copy.
        let data = unsafe { (*self.raw(&store.as_context_mut().0.opaque)).data_mut() };
        let dst =
            offset.checked_add(buf.len()).and_then(|end| data.get_mut(offset..end)).ok_or(Trap::MemoryOutOfBounds)?;
        dst.copy_from_slice(buf);
        Ok(())
    }

    /// Grows by `delta` pages, returning the previous size; fails if the maximum would be exceeded or the store's
    /// [`crate::ResourceLimiter`] denies it.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        // Everything below is reached through this one pointer, taken from the exclusive borrow of the store, so
        // the limiter's access to the store's data does not step on another live reference.
        let inner: *mut crate::store::StoreInner<_> = store.as_context_mut().0;
        // SAFETY: `inner` is the exclusively borrowed store; the memory belongs to it (checked by `raw`); the
        // limiter, if any, borrows only the store's data and its own closure, never the memory.
        let grown = unsafe {
            let limiter = (*inner).opaque.vm_store_context.limiter.map(|hooks| (hooks, inner.cast::<()>()));
            weft_runtime::grow_memory(limiter, &mut *self.raw(&(*inner).opaque), delta)
        };
        grown
            .map_err(crate::limits::api_error)?
            .ok_or_else(|| anyhow::anyhow!("failed to grow memory by {delta} pages"))
    }
}

/// A table. A handle into its [`crate::Store`].
#[derive(Copy, Clone, Debug)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: TableIndex,
}

impl Table {
    /// Whether `a` and `b` are the same table (also when reached through different instances' imports and exports).
    pub fn same(a: &Table, b: &Table, store: impl AsContext) -> bool {
        let store = &store.as_context().0.opaque;
        a.store == store.id && b.store == store.id && a.raw(store) == b.raw(store)
    }

    /// Creates a host table of type `ty` with every element set to `init`.
    pub fn new(mut store: impl AsContextMut, mut ty: TableType, init: Val) -> Result<Table> {
        let store = &mut store.as_context_mut().0.opaque;
        ty.element = ty.element.normal();
        // Checked before anything is created, so a refused value leaves nothing behind in the store.
        if !init.matches(store, ty.element) {
            anyhow::bail!("a {} value cannot be stored in a table of {}", init.ty(), ty.element);
        }
        let module = weft_environ::Module {
            tables: vec![ty],
            exports: export0(EntityIndex::Table(TableIndex::from_u32(0))),
            ..Default::default()
        };
        let instance = host_instance(store, module)?;
        let table = Table { store: store.id, instance, index: TableIndex::from_u32(0) };
        let init = table.check_value(store, init)?;
        // SAFETY: the table was just created in this store.
        let raw = unsafe { &mut *table.raw(store) };
        for i in 0..raw.size() {
            raw.set(i, init);
        }
        Ok(table)
    }

    pub(crate) fn raw(&self, store: &StoreOpaque) -> *mut weft_runtime::Table {
        store.check(self.store);
        store.instances[self.instance].handle.table(self.index)
    }

    fn check_value(&self, store: &mut StoreOpaque, val: Val) -> Result<*mut u8> {
        // SAFETY: items of this store live as long as the store.
        let element = unsafe { (*self.raw(store)).ty().element };
        if !val.matches(store, element) {
            anyhow::bail!("a {} value cannot be stored in a table of {element}", val.ty());
        }
        Ok(val.into_raw(store)?.get_ptr())
    }

    /// The table's type (its current size as minimum).
    pub fn ty(&self, store: impl AsContext) -> TableType {
        // SAFETY: as above.
        unsafe { (*self.raw(&store.as_context().0.opaque)).ty() }
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        // SAFETY: as above.
        unsafe { (*self.raw(&store.as_context().0.opaque)).size() }
    }

    /// Element `index`, or `None` if out of bounds.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        // SAFETY: as above.
        let (raw, element) = unsafe {
            let t = &*self.raw(store);
            (t.get(index)?, t.ty().element)
        };
        Some(Val::from_raw(store, ValRaw::ptr(raw), element))
    }

    /// Sets element `index`; fails if out of bounds or if `val` has the wrong type.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let value = self.check_value(store, val)?;
        // SAFETY: as above; `store` is borrowed exclusively.
        if unsafe { (*self.raw(store)).set(index, value) } { Ok(()) } else { Err(Trap::TableOutOfBounds.into()) }
    }

    /// Grows by `delta` elements set to `init`, returning the previous size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let inner: *mut crate::store::StoreInner<_> = store.as_context_mut().0;
        // SAFETY: as for `Memory::grow`: everything is reached through `inner`, the exclusively borrowed store.
        let value = self.check_value(unsafe { &mut (*inner).opaque }, init)?;
        // SAFETY: as for `Memory::grow`.
        let grown = unsafe {
            let limiter = (*inner).opaque.vm_store_context.limiter.map(|hooks| (hooks, inner.cast::<()>()));
            weft_runtime::grow_table(limiter, &mut *self.raw(&(*inner).opaque), delta, value)
        };
        grown
            .map_err(crate::limits::api_error)?
            .ok_or_else(|| anyhow::anyhow!("failed to grow table by {delta} elements"))
    }
}

/// A global. A handle into its [`crate::Store`].
#[derive(Copy, Clone, Debug)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: GlobalIndex,
}

impl Global {
    /// Whether `a` and `b` are the same global (also when reached through different instances' imports and exports).
    pub fn same(a: &Global, b: &Global, store: impl AsContext) -> bool {
        let store = &store.as_context().0.opaque;
        a.store == store.id && b.store == store.id && a.raw(store) == b.raw(store)
    }

    /// Creates a host global of type `ty` holding `val`.
    pub fn new(mut store: impl AsContextMut, mut ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        ty.content = ty.content.normal();
        if !val.matches(store, ty.content) {
            anyhow::bail!("a {} value cannot initialise a global of type {ty}", val.ty());
        }
        // Converted before anything is created, so a refused value leaves nothing behind in the store.
        let raw = val.into_raw(store)?;
        let module = weft_environ::Module {
            globals: vec![ty],
            global_inits: vec![ConstExpr { ops: vec![ConstOp::I64(0)].into() }],
            exports: export0(EntityIndex::Global(GlobalIndex::from_u32(0))),
            ..Default::default()
        };
        let instance = host_instance(store, module)?;
        let global = Global { store: store.id, instance, index: GlobalIndex::from_u32(0) };
        // SAFETY: the global was just created in this store.
        unsafe { *global.raw(store) = VMGlobalDefinition { storage: raw.bytes() } };
        Ok(global)
    }

    pub(crate) fn raw(&self, store: &StoreOpaque) -> *mut VMGlobalDefinition {
        store.check(self.store);
        store.instances[self.instance].handle.global(self.index)
    }

    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> GlobalType {
        store.check(self.store);
        let data = &store.instances[self.instance];
        let ty = data.handle.module().globals[self.index.index()];
        // A module's global is described in the module's terms; the API speaks the engine's.
        match &data.module {
            Some(module) => crate::module::canonical_global(ty, &module.inner.type_ids),
            None => ty,
        }
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.ty_opaque(&store.as_context().0.opaque)
    }

    /// The current value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.ty_opaque(store);
        // SAFETY: items of this store live as long as the store.
        let raw = ValRaw::from_bytes(unsafe { (*self.raw(store)).storage });
        Val::from_raw(store, raw, ty.content)
    }

    /// Sets the value; fails if the global is immutable or `val` has the wrong type.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.ty_opaque(store);
        if !ty.mutable {
            anyhow::bail!("the global is immutable");
        }
        if !val.matches(store, ty.content) {
            anyhow::bail!("a {} value cannot be stored in a global of type {ty}", val.ty());
        }
        let raw = val.into_raw(store)?;
        // SAFETY: as above; `store` is borrowed exclusively.
        unsafe { (*self.raw(store)).storage = raw.bytes() };
        Ok(())
    }
}

impl<'a, T> From<&'a crate::Store<T>> for crate::StoreContext<'a, T> {
    fn from(s: &'a crate::Store<T>) -> Self {
        crate::StoreContext(&s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Store<T>> for crate::StoreContext<'a, T> {
    fn from(s: &'a mut crate::Store<T>) -> Self {
        crate::StoreContext(&s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Store<T>> for crate::StoreContextMut<'a, T> {
    fn from(s: &'a mut crate::Store<T>) -> Self {
        crate::StoreContextMut(&mut s.inner)
    }
}
impl<'a, T> From<&'a mut crate::Caller<'_, T>> for crate::StoreContextMut<'a, T> {
    fn from(c: &'a mut crate::Caller<'_, T>) -> Self {
        crate::StoreContextMut(c.store)
    }
}
impl<'a, T> From<&'a crate::Caller<'_, T>> for crate::StoreContext<'a, T> {
    fn from(c: &'a crate::Caller<'_, T>) -> Self {
        crate::StoreContext(c.store)
    }
}
impl<'a, T> From<&'a crate::StoreContextMut<'_, T>> for crate::StoreContext<'a, T> {
    fn from(c: &'a crate::StoreContextMut<'_, T>) -> Self {
        crate::StoreContext(c.0)
    }
}
impl<'a, T> From<&'a mut crate::StoreContextMut<'_, T>> for crate::StoreContext<'a, T> {
    fn from(c: &'a mut crate::StoreContextMut<'_, T>) -> Self {
        crate::StoreContext(c.0)
    }
}
impl<'a, T> From<&'a mut crate::StoreContextMut<'_, T>> for crate::StoreContextMut<'a, T> {
    fn from(c: &'a mut crate::StoreContextMut<'_, T>) -> Self {
        crate::StoreContextMut(c.0)
    }
}
impl<'a, T> From<crate::StoreContextMut<'a, T>> for crate::StoreContext<'a, T> {
    fn from(c: crate::StoreContextMut<'a, T>) -> Self {
        crate::StoreContext(c.0)
    }
}
