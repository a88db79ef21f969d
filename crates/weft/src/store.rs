//! Stores: the owners of all runtime state (instances, host functions, memories, tables, globals).

use crate::limits::ResourceLimiter;
use crate::{Engine, Module};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use weft_runtime::{VMContext, VMFuncRef, VMHostFuncContext, VMStoreContext};

/// Identifies a store; every handle (`Func`, `Memory`, …) remembers the store it belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A collection of instances and host objects, with embedder data of type `T`.
///
/// Everything created in a store (instances, functions, memories, tables, globals) lives until the store is
/// dropped; handles to them are plain indices checked against the store they came from.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

/// The store's state. `#[repr(C)]` with `opaque` first, so a pointer to it is also a pointer to its `StoreOpaque`.
#[repr(C)]
pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
    /// How to find the store's resource limiter in `data`, if it has one.
    pub(crate) limiter: Option<crate::limits::LimiterFn<T>>,
}

pub(crate) struct InstanceData {
    pub(crate) handle: Box<weft_runtime::Instance>,
    /// Keeps the module's code alive as long as the instance (`None` for host-created memories, tables, globals).
    #[allow(dead_code, reason = "held only to keep the compiled code mapped while the instance exists")]
    pub(crate) module: Option<Module>,
}

/// The part of a store that does not depend on `T`.
#[allow(clippy::vec_box, reason = "wasm holds pointers into each host function context, so they must not move")]
#[doc(hidden)]
pub struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    pub(crate) vm_store_context: Box<VMStoreContext>,
    /// Shared with every `InterruptHandle` and the guest profiler's timer; compiled code reads it (or its probe)
    /// through `vm_store_context`.
    pub(crate) interrupt_flag: Arc<weft_runtime::InterruptFlag>,
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) instance_by_vmctx: HashMap<usize, usize>,
    pub(crate) host_funcs: Vec<Box<VMHostFuncContext>>,
    /// Function references handed out as `Func`s, by `Func` index.
    pub(crate) funcs: Vec<NonNull<VMFuncRef>>,
    pub(crate) func_index: HashMap<usize, usize>,
    /// Host values passed to wasm as `externref`s, kept until the store is dropped.
    pub(crate) extern_data: Vec<Box<crate::values::ExternData>>,
    /// How many module instances, memories and tables the store holds (host-created memories and tables
    /// included), kept as instances are added (none is removed before the store is dropped).
    pub(crate) resource_counts: (usize, usize, usize),
    /// Trampolines and other code the store's host functions need alive.
    pub(crate) keep_alive: Vec<std::sync::Arc<weft_runtime::CodeMemory>>,
    /// The guest profiler sampling this store, with its timer thread (see `Store::set_guest_profiler`).
    pub(crate) guest_profiler: Option<crate::guest_profiler::ActiveProfiler>,
}

// SAFETY: the raw pointers point into data the store owns; the store is moved as a whole and used through `&mut`.
unsafe impl Send for StoreOpaque {}
// SAFETY: shared references to a store only read.
unsafe impl Sync for StoreOpaque {}

/// A store of a default engine (Wasmtime's `Store::default()`); prefer [`Store::new`] with the engine the modules
/// were compiled for, since modules work only in stores of their own engine.
impl<T: Default> Default for Store<T> {
    fn default() -> Self {
        Store::new(&Engine::default(), T::default())
    }
}

impl<T> Store<T> {
    /// Creates a store with embedder `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let mut inner = Box::new(StoreInner {
            opaque: StoreOpaque {
                id: StoreId::fresh(),
                engine: engine.clone(),
                vm_store_context: Box::default(),
                // Like a failed allocation, which it is: a one-page mapping fails only when the process is out of
                // memory or of mappings.
                interrupt_flag: Arc::new(
                    weft_runtime::InterruptFlag::new(engine.config().code.tunables.guest_profiling)
                        .expect("mapping the store's interrupt probe page"),
                ),
                instances: Vec::new(),
                instance_by_vmctx: HashMap::new(),
                host_funcs: Vec::new(),
                funcs: Vec::new(),
                func_index: HashMap::new(),
                keep_alive: Vec::new(),
                extern_data: Vec::new(),
                resource_counts: (0, 0, 0),
                guest_profiler: None,
            },
            data,
            limiter: None,
        });
        let ptr: *mut StoreInner<T> = &mut *inner;
        let context = &mut inner.opaque.vm_store_context;
        context.store_data = ptr.cast();
        context.interrupt_flag = Arc::as_ptr(&inner.opaque.interrupt_flag);
        context.interrupt_probe = inner.opaque.interrupt_flag.probe();
        // The engine (and so its epoch counter) outlives the store: the store holds an `Engine`.
        context.epoch_ptr = &engine.inner.epoch;
        context.reservation_pool = Some(engine.inner.reservation_pool.clone());
        context.memory_creator = engine.inner.memory_creator.clone();
        Store { inner }
    }

    /// Gives the store a resource limiter, found in its data by `limiter`: from now on every growth of its memories
    /// and tables, by wasm or by the API, and every instantiation is checked with it (see [`ResourceLimiter`]).
    ///
    /// ```
    /// # fn main() -> weft::Result<()> {
    /// use weft::{Engine, Instance, Module, Store, StoreLimits, StoreLimitsBuilder};
    /// struct Data { limits: StoreLimits }
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, Data { limits: StoreLimitsBuilder::new().memory_size(1 << 20).build() });
    /// store.limiter(|data| &mut data.limits);
    /// let module = Module::new(&engine, r#"(module (memory (export "m") 1)
    ///     (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#)?;
    /// let instance = Instance::new(&mut store, &module, &[])?;
    /// let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    /// assert_eq!(grow.call(&mut store, 15)?, 1, "up to 1 MiB: allowed");
    /// assert_eq!(grow.call(&mut store, 1)?, -1, "past 1 MiB: denied");
    /// # Ok(())
    /// # }
    /// ```
    pub fn limiter(&mut self, limiter: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static)
    where
        T: 'static,
    {
        self.inner.limiter = Some(Box::new(limiter));
        self.inner.opaque.vm_store_context.limiter = Some(crate::limits::hooks::<T>());
    }

    /// A handle that stops wasm running in this store from any thread: the running code traps with "interrupted"
    /// at its next function entry or loop header. An interrupt requested while no wasm runs takes effect when wasm
    /// next runs. Fails unless the engine was configured with [`crate::Config::interruptible`] (or
    /// [`crate::Config::guest_profiling`]).
    pub fn interrupt_handle(&self) -> crate::Result<InterruptHandle> {
        let tunables = &self.inner.opaque.engine.config().code.tunables;
        if !tunables.interruptible && !tunables.guest_profiling {
            anyhow::bail!("interrupts are disabled: enable them with Config::interruptible(true)");
        }
        Ok(InterruptHandle { flag: self.inner.opaque.interrupt_flag.clone() })
    }

    /// Makes wasm trap with "interrupted" once the engine's epoch is `ticks_beyond_current` past its current value
    /// (with [`crate::Config::epoch_interruption`] on; the deadline starts out as never).
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        let now = self.inner.opaque.engine.current_epoch();
        self.inner.opaque.vm_store_context.epoch_deadline = now.saturating_add(ticks_beyond_current);
    }

    /// Wasmtime's request for a garbage collection. Weft has no collector yet: every `externref` a store creates
    /// lives until the store is dropped, so there is nothing to do and this always succeeds. `why` is the
    /// allocation failure that prompted the call, which Weft never reports.
    pub fn gc(&mut self, why: Option<&crate::GcHeapOutOfMemory<()>>) -> crate::Result<()> {
        let _ = why;
        Ok(())
    }

    /// Sets the fuel available to wasm in this store (with [`crate::Config::consume_fuel`] on). Each executed
    /// operator costs one unit; running out traps with "all fuel consumed".
    pub fn set_fuel(&mut self, fuel: u64) -> crate::Result<()> {
        self.check_fuel_enabled()?;
        self.inner.opaque.vm_store_context.fuel_consumed = -(fuel.min(i64::MAX as u64) as i64);
        Ok(())
    }

    /// The fuel left.
    pub fn get_fuel(&self) -> crate::Result<u64> {
        self.check_fuel_enabled()?;
        Ok((-self.inner.opaque.vm_store_context.fuel_consumed).max(0) as u64)
    }

    fn check_fuel_enabled(&self) -> crate::Result<()> {
        if !self.inner.opaque.engine.config().code.tunables.consume_fuel {
            anyhow::bail!("fuel is disabled: enable it with Config::consume_fuel(true)");
        }
        Ok(())
    }

    /// What happens when the epoch deadline passes: a trap ("interrupted"), which is Weft's only behaviour; the
    /// method exists so that code written for Wasmtime, which also offers callbacks and async yields here, compiles.
    pub fn epoch_deadline_trap(&mut self) {}

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// How many wasm exceptions the store holds. An exception caught by a `catch` or `catch_all` clause is freed
    /// there; one a reference was handed out for (`catch_ref`, `catch_all_ref`, an [`crate::ExnRef`] given to the
    /// host) is kept until the store is dropped, since tables and globals may hold it.
    pub fn exceptions_alive(&self) -> usize {
        self.inner.opaque.vm_store_context.exceptions.live()
    }

    /// The embedder data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store, returning its data.
    pub fn into_data(self) -> T {
        let inner = *self.inner;
        inner.data
    }
}

impl StoreOpaque {
    /// Panics with a clear message if a handle from another store is used here (an embedder bug, like indexing a
    /// `Vec` with another `Vec`'s index).
    pub(crate) fn check(&self, id: StoreId) {
        assert!(self.id == id, "weft: a handle from one store was used with a different store");
    }

    /// The `Func` index for a function reference, creating one if needed.
    pub(crate) fn func_for_ref(&mut self, func_ref: NonNull<VMFuncRef>) -> usize {
        let key = func_ref.as_ptr() as usize;
        if let Some(i) = self.func_index.get(&key) {
            return *i;
        }
        let i = self.funcs.len();
        self.funcs.push(func_ref);
        self.func_index.insert(key, i);
        i
    }

    /// Registers a new instance, returning its index.
    pub(crate) fn push_instance(&mut self, handle: Box<weft_runtime::Instance>, module: Option<Module>) -> usize {
        let i = self.instances.len();
        self.instance_by_vmctx.insert(handle.vmctx() as usize, i);
        let (memories, tables) = handle.defined_counts();
        let counts = &mut self.resource_counts;
        *counts = (counts.0 + usize::from(module.is_some()), counts.1 + memories, counts.2 + tables);
        self.instances.push(InstanceData { handle, module });
        i
    }

    /// The index of the instance whose context is `vmctx`.
    pub(crate) fn instance_of_vmctx(&self, vmctx: *mut VMContext) -> Option<usize> {
        self.instance_by_vmctx.get(&(vmctx as usize)).copied()
    }
}

/// Stops wasm running in a store from any thread (see [`Store::interrupt_handle`]). `Send + Sync + Clone`; it may
/// outlive its store, and `interrupt` is an atomic update (and, with `guest_profiling`, an `mprotect`, a plain system
/// call on Linux), so it may be called from a signal handler.
#[derive(Clone, Debug)]
pub struct InterruptHandle {
    flag: Arc<weft_runtime::InterruptFlag>,
}

impl InterruptHandle {
    /// Requests that wasm running in the store trap with "interrupted".
    pub fn interrupt(&self) {
        self.flag.request(weft_environ::vmstore::INTERRUPT_REQUESTED);
    }
}

/// A shared borrow of a store, for reading.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The embedder data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The embedder data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The embedder data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
}

/// Something that gives shared access to a store: `&Store<T>`, `&mut Store<T>`, a [`crate::Caller`], ….
pub trait AsContext {
    /// The store's data type.
    type Data;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that gives exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// Borrows the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}
impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}
impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}
impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}
impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}
impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}
impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}
impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}
