//! Configurations, engines and stores.
//!
//! A store is shared by every object made from it (functions, instances, externals hold a reference), so it lives
//! until the last of them is deleted. C calls into a store one at a time from one thread (the standard's rule);
//! while wasm runs, the store is exclusively borrowed by that call, and a host function that calls back into the
//! same store reaches it through the borrow its own call holds (see [`with_store`]).

use std::cell::{RefCell, UnsafeCell};
use std::ffi::c_void;
use std::rc::Rc;
use weft::{AsContextMut, Caller, Config, Engine, Store, StoreContextMut};

/// A configuration for [`wasm_engine_new_with_config`].
pub struct wasm_config_t {
    pub(crate) config: Config,
}

/// An engine: compiles modules; shareable across threads.
pub struct wasm_engine_t {
    pub(crate) engine: Engine,
}

/// The store behind a `wasm_store_t` and every object made from it. Dropped when the last of them goes: the store
/// first (running host functions' and foreign objects' finalizers), then the host info of its objects.
pub(crate) struct StoreCell {
    pub(crate) engine: Engine,
    store: UnsafeCell<Store<StoreData>>,
    pub(crate) host_info: RefCell<crate::object::StoreHostInfo>,
}

/// What a store holds for the host: its WASI context, made on first use (empty: no arguments, no files) unless
/// `weft_store_set_wasi` gave one.
#[derive(Default)]
pub(crate) struct StoreData {
    wasi: Option<weft_wasi::WasiCtx>,
    /// The limits `weft_store_limiter` set (in force once it has been called).
    pub(crate) limits: weft::StoreLimits,
}

impl StoreData {
    pub(crate) fn wasi(&mut self) -> &mut weft_wasi::WasiCtx {
        self.wasi.get_or_insert_with(|| weft_wasi::WasiCtx::builder().build())
    }
    pub(crate) fn set_wasi(&mut self, wasi: weft_wasi::WasiCtx) {
        self.wasi = Some(wasi);
    }
}

/// A store.
pub struct wasm_store_t {
    pub(crate) cell: Rc<StoreCell>,
}

thread_local! {
    /// The stores this thread is running wasm in right now, innermost last, each with the `Caller` its host
    /// function was given (a `*mut Caller<'_, StoreData>`): the live exclusive borrow of that store.
    static ACTIVE: RefCell<Vec<(*const StoreCell, *mut c_void)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with exclusive access to `cell`'s store: through the `Caller` of the host function currently running
/// in it on this thread, if there is one, else directly.
///
/// A panic in `f` (a bug in Weft, or a host function's panic travelling out of wasm) stops here, since unwinding
/// into C is undefined: it is reported on stderr and `f`'s result becomes [`Fallback::after_panic`] (an error, for
/// calls that return one, so it reaches C as a trap or error).
pub(crate) fn with_store<R: Fallback>(cell: &Rc<StoreCell>, f: impl FnOnce(StoreContextMut<'_, StoreData>) -> R) -> R {
    guarded(|| with_store_unguarded(cell, f))
}

/// Runs `f`, stopping a panic in it at the C API boundary (see [`with_store`]); for calls that do not need a store
/// (compiling, validating, loading modules).
pub(crate) fn guarded<R: Fallback>(f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(&*payload);
            eprintln!("weft: a panic was stopped at the C API boundary: {message}");
            R::after_panic(message)
        }
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic with a non-text payload".to_string(),
    }
}

/// What a C API call returns when a panic stopped it.
pub(crate) trait Fallback {
    fn after_panic(message: String) -> Self;
}

impl<T> Fallback for anyhow::Result<T> {
    fn after_panic(message: String) -> Self {
        Err(crate::trap::HostTrap(format!("panic in the runtime: {message}")).into())
    }
}

macro_rules! fallback_default {
    ($($ty:ty),*) => {$(
        impl Fallback for $ty {
            fn after_panic(_: String) -> Self {
                Default::default()
            }
        }
    )*};
}
fallback_default!((), bool, u8, u32, u64, usize, String);

impl<T> Fallback for Option<T> {
    fn after_panic(_: String) -> Self {
        None
    }
}
impl<T> Fallback for Vec<T> {
    fn after_panic(_: String) -> Self {
        Vec::new()
    }
}
impl<T> Fallback for *mut T {
    fn after_panic(_: String) -> Self {
        std::ptr::null_mut()
    }
}

fn with_store_unguarded<R>(cell: &Rc<StoreCell>, f: impl FnOnce(StoreContextMut<'_, StoreData>) -> R) -> R {
    let key = Rc::as_ptr(cell);
    let caller = ACTIVE.with(|a| a.borrow().iter().rev().find(|(c, _)| *c == key).map(|(_, p)| *p));
    match caller {
        Some(caller) => {
            // SAFETY: the pointer is the `Caller` of a host function of this store that is running further up
            // this thread's stack (it removes the entry before returning); that frame is suspended in this C
            // call, so this is the only use of its borrow until we return to it.
            let caller = unsafe { &mut *caller.cast::<Caller<'_, StoreData>>() };
            f(caller.as_context_mut())
        }
        None => {
            // SAFETY: no wasm of this store is running on this thread, and the C API's contract is that a store
            // is used by one thread at a time, so nothing else borrows it now.
            let store = unsafe { &mut *cell.store.get() };
            f(store.as_context_mut())
        }
    }
}

/// Runs `f` with the `Store` itself, for the settings only a `Store` has (fuel, epoch deadline, interrupt handle,
/// WASI); an error while wasm of that store runs on this thread (from inside one of its host functions), or if a
/// panic was stopped.
pub(crate) fn with_whole_store<R>(
    cell: &Rc<StoreCell>,
    f: impl FnOnce(&mut Store<StoreData>) -> R,
) -> anyhow::Result<R> {
    let key = Rc::as_ptr(cell);
    if ACTIVE.with(|a| a.borrow().iter().any(|(c, _)| *c == key)) {
        anyhow::bail!("the store is running wasm: this cannot be done from one of its host functions");
    }
    // SAFETY: no wasm of this store is running on this thread, and the C API's contract keeps a store to one
    // thread at a time, so nothing else borrows it now.
    let store = unsafe { &mut *cell.store.get() };
    guarded(|| Ok(f(store)))
}

/// Runs `f` (a host function's body) with `caller` registered as the way into `cell`'s store.
pub(crate) fn as_active<R>(cell: *const StoreCell, caller: &mut Caller<'_, StoreData>, f: impl FnOnce() -> R) -> R {
    let pointer: *mut Caller<'_, StoreData> = caller;
    ACTIVE.with(|a| a.borrow_mut().push((cell, pointer.cast())));
    // Removed however `f` ends (C callbacks cannot unwind, but Rust code around them could panic).
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.borrow_mut().pop());
        }
    }
    let _pop = Pop;
    f()
}

thread_local! {
    static ORPHAN: Rc<StoreCell> = Rc::new(StoreCell {
        engine: Engine::default(),
        store: UnsafeCell::new(Store::new(&Engine::default(), StoreData::default())),
        host_info: RefCell::new(Default::default()),
    });
}

/// A store for the traps that report misuse where C gave no store (a NULL function or store): every trap belongs
/// to a store, and this one, made on first use, holds nothing else.
pub(crate) fn orphan_store() -> Rc<StoreCell> {
    ORPHAN.with(Rc::clone)
}

/// A new default configuration.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_config_new() -> *mut wasm_config_t {
    Box::into_raw(Box::new(wasm_config_t { config: Config::new() }))
}

/// Frees a configuration.
///
/// # Safety
/// `config` must come from [`wasm_config_new`] (or be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_config_delete(config: *mut wasm_config_t) {
    if !config.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(config) });
    }
}

/// An engine with the default configuration.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_engine_new() -> *mut wasm_engine_t {
    match guarded(|| Engine::new(&Config::new())) {
        Ok(engine) => Box::into_raw(Box::new(wasm_engine_t { engine })),
        Err(_) => std::ptr::null_mut(),
    }
}

/// An engine with `config` (taken); NULL if the configuration is invalid.
///
/// # Safety
/// `config` must come from [`wasm_config_new`] (or be NULL, meaning the default).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_new_with_config(config: *mut wasm_config_t) -> *mut wasm_engine_t {
    let config = if config.is_null() {
        Config::new()
    } else {
        // SAFETY: the caller's guarantee; ownership passes to us.
        unsafe { Box::from_raw(config) }.config
    };
    match guarded(|| Engine::new(&config)) {
        Ok(engine) => Box::into_raw(Box::new(wasm_engine_t { engine })),
        Err(_) => std::ptr::null_mut(),
    }
}

/// Frees an engine (modules and stores made from it keep what they need).
///
/// # Safety
/// `engine` must come from this library (or be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_engine_delete(engine: *mut wasm_engine_t) {
    if !engine.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(engine) });
    }
}

/// A new store of `engine`; NULL if `engine` is NULL.
///
/// # Safety
/// `engine` must be a live engine (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_new(engine: *mut wasm_engine_t) -> *mut wasm_store_t {
    // SAFETY: the caller's guarantee.
    let Some(engine) = (unsafe { engine.as_ref() }) else { return std::ptr::null_mut() };
    let store = Store::new(&engine.engine, StoreData::default());
    let cell = Rc::new(StoreCell {
        engine: engine.engine.clone(),
        store: UnsafeCell::new(store),
        host_info: RefCell::new(Default::default()),
    });
    Box::into_raw(Box::new(wasm_store_t { cell }))
}

/// Frees the handle; the store itself goes when the last object made from it does.
///
/// # Safety
/// `store` must come from [`wasm_store_new`] (or be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_store_delete(store: *mut wasm_store_t) {
    if !store.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(store) });
    }
}
