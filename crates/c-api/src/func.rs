//! Externals: functions (host-defined and exported) and memories.

use crate::engine::{StoreCell, as_active, with_store};
use crate::trap::HostTrap;
use crate::{wasm_functype_t, wasm_store_t, wasm_trap_t, wasm_val_t, wasm_val_vec_t};
use std::ffi::c_void;
use std::rc::Rc;
use weft::{Extern, Func, Val};

/// An external: a function, memory, table or global of a store.
#[derive(Clone)]
pub struct wasm_extern_t {
    pub(crate) store: Rc<StoreCell>,
    pub(crate) which: Extern,
}

/// A function: an external known to be one (the same object, as the standard's casts require).
#[repr(transparent)]
pub struct wasm_func_t {
    ext: wasm_extern_t,
}

/// A memory: an external known to be one.
#[repr(transparent)]
pub struct wasm_memory_t {
    ext: wasm_extern_t,
}

impl wasm_func_t {
    fn func(&self) -> Func {
        self.ext.which.into_func().expect("a wasm_func_t holds a function")
    }
}

impl wasm_memory_t {
    fn memory(&self) -> weft::Memory {
        self.ext.which.into_memory().expect("a wasm_memory_t holds a memory")
    }
}

/// The standard's callbacks.
type Callback = unsafe extern "C" fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t;
type CallbackWithEnv =
    unsafe extern "C" fn(*mut c_void, *const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t;

/// A host function's C side: its callback, environment and finalizer.
struct HostFunction {
    call: Box<dyn Fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
    /// The store it belongs to, identifying it among the stores running wasm (compared, never dereferenced).
    store: *const StoreCell,
}

// SAFETY: a host function runs only on the thread using its store, which the C API's contract keeps to one thread
// at a time; the pointers are C's, passed back to C unchanged.
unsafe impl Send for HostFunction {}
// SAFETY: as above; nothing here is mutated through a shared reference.
unsafe impl Sync for HostFunction {}

impl Drop for HostFunction {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            // SAFETY: C gave us the finalizer for this environment, to be called once when the function goes.
            unsafe { finalizer(self.env) };
        }
    }
}

/// Makes the host function: `call` gets the arguments and a results vector sized to the results.
///
/// # Safety
/// `store` and `ty` must be live.
unsafe fn new_host_func(store: *mut wasm_store_t, ty: *const wasm_functype_t, host: HostFunction) -> *mut wasm_func_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(ty)) = (unsafe { store.as_ref() }, unsafe { ty.as_ref() }) else {
        return std::ptr::null_mut();
    };
    let cell = store.cell.clone();
    let mut host = host;
    host.store = Rc::as_ptr(&cell);
    let ty = ty.func_type().clone();
    let func = with_store(&cell, |mut cx| {
        Func::new(&mut cx, ty, move |mut caller, params, results| {
            let args: Vec<wasm_val_t> =
                params.iter().map(wasm_val_t::from_val).collect::<Result<_, _>>().map_err(anyhow::Error::msg)?;
            let args = wasm_val_vec_t { size: args.len(), data: args.as_ptr().cast_mut() };
            let mut out = wasm_val_vec_t { size: 0, data: std::ptr::null_mut() };
            out.set(vec![wasm_val_t::default(); results.len()]);
            let trap = as_active(host.store, &mut caller, || (host.call)(&args, &mut out));
            // SAFETY: `out` is the vector made above, which the callback fills but does not replace.
            let values = unsafe { crate::vec::from_raw(&mut out.size, &mut out.data) };
            if !trap.is_null() {
                // SAFETY: a callback's trap is owned and passes to us.
                let trap = unsafe { Box::from_raw(trap) };
                return Err(trap.error);
            }
            for (slot, value) in results.iter_mut().zip(values) {
                *slot = value.to_val().map_err(anyhow::Error::msg)?;
            }
            Ok(())
        })
    });
    Box::into_raw(Box::new(wasm_func_t { ext: wasm_extern_t { store: cell, which: Extern::Func(func) } }))
}

/// A host function calling `callback`.
///
/// # Safety
/// `store` and `ty` must be live; `callback` must follow the standard's contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Callback,
) -> *mut wasm_func_t {
    let call = Box::new(move |args: *const wasm_val_vec_t, results: *mut wasm_val_vec_t| {
        // SAFETY: C's callback, called as the standard says.
        unsafe { callback(args, results) }
    });
    let host = HostFunction { call, env: std::ptr::null_mut(), finalizer: None, store: std::ptr::null() };
    // SAFETY: the caller's guarantee.
    unsafe { new_host_func(store, ty, host) }
}

/// A host function calling `callback` with `env`; `finalizer(env)` runs when the store holding it goes.
///
/// # Safety
/// As [`wasm_func_new`]; `env` must stay valid for the callback until the finalizer runs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new_with_env(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: CallbackWithEnv,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut wasm_func_t {
    let env_for_call = env as usize;
    let call = Box::new(move |args: *const wasm_val_vec_t, results: *mut wasm_val_vec_t| {
        // SAFETY: C's callback with C's environment, called as the standard says.
        unsafe { callback(env_for_call as *mut c_void, args, results) }
    });
    let host = HostFunction { call, env, finalizer, store: std::ptr::null() };
    // SAFETY: the caller's guarantee.
    unsafe { new_host_func(store, ty, host) }
}

/// The function's type.
///
/// # Safety
/// `func` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_type(func: *const wasm_func_t) -> *mut wasm_functype_t {
    // SAFETY: the caller's guarantee.
    let Some(func) = (unsafe { func.as_ref() }) else { return std::ptr::null_mut() };
    let ty = with_store(&func.ext.store, |cx| func.func().ty(&cx));
    Box::into_raw(Box::new(wasm_functype_t::new(ty)))
}

/// How many parameters the function takes.
///
/// # Safety
/// `func` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_param_arity(func: *const wasm_func_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { func.as_ref() }.map_or(0, |f| with_store(&f.ext.store, |cx| f.func().ty(&cx).params.len()))
}

/// How many results the function returns.
///
/// # Safety
/// `func` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_result_arity(func: *const wasm_func_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { func.as_ref() }.map_or(0, |f| with_store(&f.ext.store, |cx| f.func().ty(&cx).results.len()))
}

/// Calls the function; NULL on success, else the trap.
///
/// # Safety
/// `func` must be live, `args` a valid vector and `results` a valid vector of at least the result count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_call(
    func: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    let fail = |message: String| wasm_trap_t::from_error(HostTrap(message).into());
    // SAFETY: the caller's guarantee.
    let Some(func) = (unsafe { func.as_ref() }) else { return fail("wasm_func_call: the function is NULL".into()) };
    // SAFETY: as above.
    let args = unsafe { args.as_ref() }.map(|a| unsafe { a.slice() }).unwrap_or_default();
    let args: Vec<Val> = match args.iter().map(|a| a.to_val()).collect() {
        Ok(args) => args,
        Err(message) => return fail(format!("wasm_func_call: {message}")),
    };
    // SAFETY: as above.
    let Some(results) = (unsafe { results.as_mut() }) else {
        return fail("wasm_func_call: the results vector is NULL".into());
    };
    let f = func.func();
    let outcome = with_store(&func.ext.store, |mut cx| {
        let count = f.ty(&cx).results.len();
        if results.size < count {
            return Err(anyhow::Error::from(HostTrap(format!(
                "wasm_func_call: the function returns {count} values but the results vector holds {}",
                results.size
            ))));
        }
        let mut values = vec![Val::I32(0); count];
        f.call(&mut cx, &args, &mut values)?;
        Ok(values)
    });
    match outcome {
        Ok(values) => {
            if values.is_empty() {
                return std::ptr::null_mut();
            }
            // SAFETY: `results` holds at least `values.len()` (> 0) elements at `data` (checked above).
            let slots = unsafe { std::slice::from_raw_parts_mut(results.data, results.size) };
            for (slot, value) in slots.iter_mut().zip(&values) {
                match wasm_val_t::from_val(value) {
                    Ok(v) => *slot = v,
                    Err(message) => return fail(format!("wasm_func_call: {message}")),
                }
            }
            std::ptr::null_mut()
        }
        Err(error) => wasm_trap_t::from_error(error),
    }
}

/// Frees a function handle.
///
/// # Safety
/// `func` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_delete(func: *mut wasm_func_t) {
    if !func.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(func) });
    }
}

/// The function as an external (the same object, borrowed).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_func_as_extern(func: *mut wasm_func_t) -> *mut wasm_extern_t {
    func.cast()
}

/// The function as an external (the same object, borrowed).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_func_as_extern_const(func: *const wasm_func_t) -> *const wasm_extern_t {
    func.cast()
}

/// The external as a function (the same object, borrowed); NULL if it is not one.
///
/// # Safety
/// `ext` must be live (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_as_func(ext: *mut wasm_extern_t) -> *mut wasm_func_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ext.as_ref() } {
        Some(e) if matches!(e.which, Extern::Func(_)) => ext.cast(),
        _ => std::ptr::null_mut(),
    }
}

/// The external as a function (the same object, borrowed); NULL if it is not one.
///
/// # Safety
/// `ext` must be live (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_as_func_const(ext: *const wasm_extern_t) -> *const wasm_func_t {
    // SAFETY: the caller's guarantee.
    unsafe { wasm_extern_as_func(ext.cast_mut()) }
}

/// The external's kind: 0 function, 1 global, 2 table, 3 memory.
///
/// # Safety
/// `ext` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_kind(ext: *const wasm_extern_t) -> u8 {
    // SAFETY: the caller's guarantee.
    match unsafe { ext.as_ref() }.map(|e| e.which) {
        Some(Extern::Global(_)) => 1,
        Some(Extern::Table(_)) => 2,
        Some(Extern::Memory(_)) => 3,
        _ => 0,
    }
}

/// Frees an external handle.
///
/// # Safety
/// `ext` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_delete(ext: *mut wasm_extern_t) {
    if !ext.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(ext) });
    }
}

/// The external as a memory (the same object, borrowed); NULL if it is not one.
///
/// # Safety
/// `ext` must be live (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_as_memory(ext: *mut wasm_extern_t) -> *mut wasm_memory_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ext.as_ref() } {
        Some(e) if matches!(e.which, Extern::Memory(_)) => ext.cast(),
        _ => std::ptr::null_mut(),
    }
}

/// The memory's bytes (valid until it grows or its store goes).
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data(memory: *mut wasm_memory_t) -> *mut u8 {
    // SAFETY: the caller's guarantee.
    let Some(memory) = (unsafe { memory.as_ref() }) else { return std::ptr::null_mut() };
    with_store(&memory.ext.store, |cx| memory.memory().data_mut(cx).as_mut_ptr())
}

/// The memory's size in bytes.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data_size(memory: *const wasm_memory_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { memory.as_ref() }.map_or(0, |m| with_store(&m.ext.store, |cx| m.memory().data_size(&cx)))
}

/// The memory's size in pages.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_size(memory: *const wasm_memory_t) -> u32 {
    // SAFETY: the caller's guarantee.
    unsafe { memory.as_ref() }.map_or(0, |m| with_store(&m.ext.store, |cx| m.memory().size(&cx) as u32))
}

/// Grows the memory by `delta` pages; false if it cannot.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_grow(memory: *mut wasm_memory_t, delta: u32) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { memory.as_ref() }
        .is_some_and(|m| with_store(&m.ext.store, |mut cx| m.memory().grow(&mut cx, u64::from(delta)).is_ok()))
}

/// A global: an external known to be one.
#[repr(transparent)]
pub struct wasm_global_t {
    ext: wasm_extern_t,
}

impl wasm_global_t {
    fn global(&self) -> weft::Global {
        self.ext.which.into_global().expect("a wasm_global_t holds a global")
    }
}

/// The external's type.
///
/// # Safety
/// `ext` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_type(ext: *const wasm_extern_t) -> *mut crate::wasm_externtype_t {
    // SAFETY: the caller's guarantee.
    let Some(ext) = (unsafe { ext.as_ref() }) else { return std::ptr::null_mut() };
    match with_store(&ext.store, |cx| ext.which.ty(&cx)) {
        Ok(ty) => crate::types::boxed(crate::wasm_externtype_t::new(ty)),
        Err(_) => std::ptr::null_mut(),
    }
}

/// A new global of `ty` holding `value`; NULL if the value does not have the type.
///
/// # Safety
/// `store`, `ty` and `value` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_new(
    store: *mut wasm_store_t,
    ty: *const crate::wasm_globaltype_t,
    value: *const wasm_val_t,
) -> *mut wasm_global_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(ty), Some(value)) =
        (unsafe { store.as_ref() }, unsafe { ty.as_ref() }, unsafe { value.as_ref() })
    else {
        return std::ptr::null_mut();
    };
    let weft::ExternType::Global(global_ty) = ty.ty() else { return std::ptr::null_mut() };
    let Ok(value) = value.to_val() else { return std::ptr::null_mut() };
    match with_store(&store.cell, |mut cx| weft::Global::new(&mut cx, global_ty, value)) {
        Ok(global) => crate::types::boxed(wasm_global_t {
            ext: wasm_extern_t { store: store.cell.clone(), which: Extern::Global(global) },
        }),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The global's type.
///
/// # Safety
/// `global` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_type(global: *const wasm_global_t) -> *mut crate::wasm_globaltype_t {
    // SAFETY: the caller's guarantee; a global's external type is a global type (the same object).
    unsafe { wasm_extern_type(global.cast()) }.cast()
}

/// The global's value, into `out`.
///
/// # Safety
/// `global` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_get(global: *const wasm_global_t, out: *mut wasm_val_t) {
    // SAFETY: the caller's guarantee.
    let (Some(global), Some(out)) = (unsafe { global.as_ref() }, unsafe { out.as_mut() }) else { return };
    let value = with_store(&global.ext.store, |mut cx| global.global().get(&mut cx));
    // A value the standard cannot express (v128, a typed reference) reads as null.
    *out = wasm_val_t::from_val(&value).unwrap_or_default();
}

/// Sets the global (a no-op for an immutable global or a value of the wrong type, which the standard leaves
/// undefined and Weft refuses).
///
/// # Safety
/// `global` and `value` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_set(global: *mut wasm_global_t, value: *const wasm_val_t) {
    // SAFETY: the caller's guarantee.
    let (Some(global), Some(value)) = (unsafe { global.as_ref() }, unsafe { value.as_ref() }) else { return };
    if let Ok(value) = value.to_val() {
        let _ = with_store(&global.ext.store, |mut cx| global.global().set(&mut cx, value));
    }
}

/// Frees a global handle.
///
/// # Safety
/// `global` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_delete(global: *mut wasm_global_t) {
    if !global.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(global) });
    }
}

/// The global as an external (the same object).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_global_as_extern(global: *mut wasm_global_t) -> *mut wasm_extern_t {
    global.cast()
}

/// The external as a global (the same object); NULL if it is not one.
///
/// # Safety
/// `ext` must be live (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_as_global(ext: *mut wasm_extern_t) -> *mut wasm_global_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ext.as_ref() } {
        Some(e) if matches!(e.which, Extern::Global(_)) => ext.cast(),
        _ => std::ptr::null_mut(),
    }
}

/// A new memory of `ty`; NULL if it cannot be made.
///
/// # Safety
/// `store` and `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_new(
    store: *mut wasm_store_t,
    ty: *const crate::wasm_memorytype_t,
) -> *mut wasm_memory_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(ty)) = (unsafe { store.as_ref() }, unsafe { ty.as_ref() }) else {
        return std::ptr::null_mut();
    };
    let weft::ExternType::Memory(memory_ty) = ty.ty() else { return std::ptr::null_mut() };
    match with_store(&store.cell, |mut cx| weft::Memory::new(&mut cx, memory_ty)) {
        Ok(memory) => crate::types::boxed(wasm_memory_t {
            ext: wasm_extern_t { store: store.cell.clone(), which: Extern::Memory(memory) },
        }),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The memory's type.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_type(memory: *const wasm_memory_t) -> *mut crate::wasm_memorytype_t {
    // SAFETY: the caller's guarantee; a memory's external type is a memory type (the same object).
    unsafe { wasm_extern_type(memory.cast()) }.cast()
}

/// Frees a memory handle.
///
/// # Safety
/// `memory` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_delete(memory: *mut wasm_memory_t) {
    if !memory.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(memory) });
    }
}

/// The memory as an external (the same object).
#[unsafe(no_mangle)]
pub extern "C" fn wasm_memory_as_extern(memory: *mut wasm_memory_t) -> *mut wasm_extern_t {
    memory.cast()
}
