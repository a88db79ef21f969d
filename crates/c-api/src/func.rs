//! Externals: functions (host-defined and exported) and memories.

use crate::engine::{StoreCell, StoreData, as_active, with_store};
use crate::object::{Object, wasm_ref_t};
use crate::trap::HostTrap;
use crate::{wasm_functype_t, wasm_store_t, wasm_trap_t, wasm_val_t, wasm_val_vec_t};
use std::ffi::c_void;
use std::rc::{Rc, Weak};
use weft::{AsContextMut, Caller, Extern, Func, Val};

crate::object::ref_object!(
    wasm_extern_t,
    "An external: a function, global, table or memory of a store.",
    |o| matches!(o, Object::Extern(_)),
    wasm_extern_delete,
    wasm_extern_copy,
    wasm_extern_same,
    wasm_extern_get_host_info,
    wasm_extern_set_host_info,
    wasm_extern_set_host_info_with_finalizer,
    wasm_extern_as_ref,
    wasm_extern_as_ref_const,
    wasm_ref_as_extern,
    wasm_ref_as_extern_const
);
crate::object::ref_object!(
    wasm_func_t,
    "A function (an external known to be one: the same object, so the casts between them are pointer casts).",
    |o| matches!(o, Object::Extern(Extern::Func(_))),
    wasm_func_delete,
    wasm_func_copy,
    wasm_func_same,
    wasm_func_get_host_info,
    wasm_func_set_host_info,
    wasm_func_set_host_info_with_finalizer,
    wasm_func_as_ref,
    wasm_func_as_ref_const,
    wasm_ref_as_func,
    wasm_ref_as_func_const
);
crate::object::ref_object!(
    wasm_global_t,
    "A global (an external known to be one).",
    |o| matches!(o, Object::Extern(Extern::Global(_))),
    wasm_global_delete,
    wasm_global_copy,
    wasm_global_same,
    wasm_global_get_host_info,
    wasm_global_set_host_info,
    wasm_global_set_host_info_with_finalizer,
    wasm_global_as_ref,
    wasm_global_as_ref_const,
    wasm_ref_as_global,
    wasm_ref_as_global_const
);
crate::object::ref_object!(
    wasm_table_t,
    "A table (an external known to be one).",
    |o| matches!(o, Object::Extern(Extern::Table(_))),
    wasm_table_delete,
    wasm_table_copy,
    wasm_table_same,
    wasm_table_get_host_info,
    wasm_table_set_host_info,
    wasm_table_set_host_info_with_finalizer,
    wasm_table_as_ref,
    wasm_table_as_ref_const,
    wasm_ref_as_table,
    wasm_ref_as_table_const
);
crate::object::ref_object!(
    wasm_memory_t,
    "A linear memory (an external known to be one).",
    |o| matches!(o, Object::Extern(Extern::Memory(_))),
    wasm_memory_delete,
    wasm_memory_copy,
    wasm_memory_same,
    wasm_memory_get_host_info,
    wasm_memory_set_host_info,
    wasm_memory_set_host_info_with_finalizer,
    wasm_memory_as_ref,
    wasm_memory_as_ref_const,
    wasm_ref_as_memory,
    wasm_ref_as_memory_const
);

impl wasm_func_t {
    fn func(&self) -> Func {
        self.r.as_extern().and_then(Extern::into_func).expect("a wasm_func_t holds a function")
    }
}

impl wasm_memory_t {
    fn memory(&self) -> weft::Memory {
        self.r.as_extern().and_then(Extern::into_memory).expect("a wasm_memory_t holds a memory")
    }
}

impl wasm_global_t {
    fn global(&self) -> weft::Global {
        self.r.as_extern().and_then(Extern::into_global).expect("a wasm_global_t holds a global")
    }
}

impl wasm_table_t {
    pub(crate) fn table(&self) -> weft::Table {
        self.r.as_extern().and_then(Extern::into_table).expect("a wasm_table_t holds a table")
    }
}

/// Defines the casts between an external and one kind of it.
macro_rules! extern_casts {
    ($ty:ident, $pattern:pat, $as_extern:ident, $as_extern_const:ident, $from_extern:ident, $from_extern_const:ident) => {
        /// The same object as an external (borrowed).
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_extern(object: *mut $ty) -> *mut wasm_extern_t {
            object.cast()
        }
        /// The same object as an external (borrowed).
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_extern_const(object: *const $ty) -> *const wasm_extern_t {
            object.cast()
        }
        /// The external as this kind (the same object, borrowed); NULL if it is of another kind.
        ///
        /// # Safety
        /// `ext` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_extern(ext: *mut wasm_extern_t) -> *mut $ty {
            // SAFETY: the caller's guarantee.
            match unsafe { ext.as_ref() }.and_then(|e| e.r.as_extern()) {
                Some($pattern) => ext.cast(),
                _ => std::ptr::null_mut(),
            }
        }
        /// The external as this kind (the same object, borrowed); NULL if it is of another kind.
        ///
        /// # Safety
        /// `ext` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_extern_const(ext: *const wasm_extern_t) -> *const $ty {
            // SAFETY: the caller's guarantee.
            unsafe { $from_extern(ext.cast_mut()) }
        }
    };
}

extern_casts!(
    wasm_func_t,
    Extern::Func(_),
    wasm_func_as_extern,
    wasm_func_as_extern_const,
    wasm_extern_as_func,
    wasm_extern_as_func_const
);
extern_casts!(
    wasm_global_t,
    Extern::Global(_),
    wasm_global_as_extern,
    wasm_global_as_extern_const,
    wasm_extern_as_global,
    wasm_extern_as_global_const
);
extern_casts!(
    wasm_table_t,
    Extern::Table(_),
    wasm_table_as_extern,
    wasm_table_as_extern_const,
    wasm_extern_as_table,
    wasm_extern_as_table_const
);
extern_casts!(
    wasm_memory_t,
    Extern::Memory(_),
    wasm_memory_as_extern,
    wasm_memory_as_extern_const,
    wasm_extern_as_memory,
    wasm_extern_as_memory_const
);

/// The standard's callbacks.
type Callback = unsafe extern "C" fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t;
type CallbackWithEnv =
    unsafe extern "C" fn(*mut c_void, *const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t;

/// A host function's C side: its callback, environment and finalizer.
struct HostFunction {
    call: Box<dyn Fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
    /// The store it belongs to (weak: the store owns the function), for the references its arguments become.
    store: Weak<StoreCell>,
}

// SAFETY: a host function runs only on the thread using its store, which the C API's contract keeps to one thread
// at a time; the pointers are C's, passed back to C unchanged, and the `Weak` is only used on that thread.
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

impl HostFunction {
    /// One call: converts the arguments, runs C's callback, converts its results or raises its trap.
    fn call(&self, caller: &mut Caller<'_, StoreData>, params: &[Val], results: &mut [Val]) -> anyhow::Result<()> {
        let cell = self.store.upgrade().ok_or_else(|| HostTrap("the function's store is gone".into()))?;
        let mut cx = caller.as_context_mut();
        let args: Vec<wasm_val_t> = params
            .iter()
            .map(|p| wasm_val_t::from_val(p, &mut cx, &cell))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
        let mut args = wasm_val_vec_t::from_vec(args);
        let mut out = wasm_val_vec_t::from_vec(vec![wasm_val_t::default(); results.len()]);
        let trap = as_active(Rc::as_ptr(&cell), caller, || (self.call)(&args, &mut out));
        // SAFETY: both vectors were made above; the callback fills `out` but does not replace it, and the
        // references in both (handles C was lent or given) are ours to free now.
        let (args, values) = unsafe { (args.take(), out.take()) };
        let mut cx = caller.as_context_mut();
        let converted: Result<Vec<Val>, String> = values.iter().map(|v| v.to_val(&mut cx, &cell)).collect();
        args.into_iter().chain(values).for_each(wasm_val_t::free);
        if !trap.is_null() {
            // SAFETY: a callback's trap is owned and passes to us.
            return Err(unsafe { crate::trap::take_error(trap) });
        }
        for (slot, value) in results.iter_mut().zip(converted.map_err(anyhow::Error::msg)?) {
            *slot = value;
        }
        Ok(())
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
    host.store = Rc::downgrade(&cell);
    let ty = ty.func_type().clone();
    let func = with_store(&cell, |mut cx| {
        Some(Func::new(&mut cx, ty, move |mut caller, params, results| host.call(&mut caller, params, results)))
    });
    match func {
        Some(func) => wasm_func_t::into_c(wasm_ref_t::new(&cell, Object::Extern(Extern::Func(func)))),
        None => std::ptr::null_mut(),
    }
}

/// A host function calling `callback`.
///
/// # Safety
/// `store` and `ty` must be live; `callback` must follow the standard's contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Option<Callback>,
) -> *mut wasm_func_t {
    let Some(callback) = callback else { return std::ptr::null_mut() };
    let call = Box::new(move |args: *const wasm_val_vec_t, results: *mut wasm_val_vec_t| {
        // SAFETY: C's callback, called as the standard says.
        unsafe { callback(args, results) }
    });
    let host = HostFunction { call, env: std::ptr::null_mut(), finalizer: None, store: Weak::new() };
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
    callback: Option<CallbackWithEnv>,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut wasm_func_t {
    // A NULL callback makes no function (and leaves `env` with the caller: the finalizer is not called).
    let Some(callback) = callback else { return std::ptr::null_mut() };
    let env_for_call = env as usize;
    let call = Box::new(move |args: *const wasm_val_vec_t, results: *mut wasm_val_vec_t| {
        // SAFETY: C's callback with C's environment, called as the standard says.
        unsafe { callback(env_for_call as *mut c_void, args, results) }
    });
    let host = HostFunction { call, env, finalizer, store: Weak::new() };
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
    let Some(ty) = with_store(&func.r.store, |cx| Some(func.func().ty(&cx))) else { return std::ptr::null_mut() };
    Box::into_raw(Box::new(wasm_functype_t::new(ty)))
}

/// How many parameters the function takes.
///
/// # Safety
/// `func` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_param_arity(func: *const wasm_func_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { func.as_ref() }.map_or(0, |f| with_store(&f.r.store, |cx| f.func().ty(&cx).params.len()))
}

/// How many results the function returns.
///
/// # Safety
/// `func` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_result_arity(func: *const wasm_func_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { func.as_ref() }.map_or(0, |f| with_store(&f.r.store, |cx| f.func().ty(&cx).results.len()))
}

/// Calls the function; NULL on success, else the trap (also for arguments that do not match its parameters, or a
/// results vector too short for what the function returned). Slots beyond the function's results are left alone.
///
/// # Safety
/// `func` must be live, `args` a valid vector and `results` a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_func_call(
    func: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: the caller's guarantee.
    let Some(func) = (unsafe { func.as_ref() }) else {
        return wasm_trap_t::from_error(
            &crate::engine::orphan_store(),
            HostTrap("wasm_func_call: the function is NULL".into()).into(),
        );
    };
    let cell = &func.r.store;
    let fail = |message: String| wasm_trap_t::from_error(cell, HostTrap(message).into());
    // SAFETY: as above.
    let args = unsafe { args.as_ref() }.map(|a| unsafe { a.slice() }).unwrap_or_default();
    // SAFETY: as above.
    let Some(results) = (unsafe { results.as_mut() }) else {
        return fail("wasm_func_call: the results vector is NULL".into());
    };
    let f = func.func();
    let outcome = with_store(cell, |mut cx| {
        let ty = f.ty(&cx);
        let args: Vec<Val> = args
            .iter()
            .map(|a| a.to_val(&mut cx, cell))
            .collect::<Result<_, _>>()
            .map_err(|m| HostTrap(format!("wasm_func_call: {m}")))?;
        let mut values = vec![Val::I32(0); ty.results.len()];
        f.call(&mut cx, &args, &mut values)?;
        // Checked after the call, so that a call that traps reports its trap whatever vector it was given (the
        // standard's own examples call trapping functions with an empty one).
        if results.size < values.len() {
            return Err(anyhow::Error::from(HostTrap(format!(
                "wasm_func_call: the function returned {} values but the results vector holds {}",
                values.len(),
                results.size
            ))));
        }
        values
            .iter()
            .map(|v| wasm_val_t::from_val(v, &mut cx, cell))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| HostTrap(format!("wasm_func_call: {m}")).into())
    });
    match outcome {
        Ok(values) => {
            if !values.is_empty() {
                // SAFETY: `results` holds at least `values.len()` (> 0) elements at `data` (checked above).
                let slots = unsafe { std::slice::from_raw_parts_mut(results.data, results.size) };
                for (slot, value) in slots.iter_mut().zip(values) {
                    *slot = value;
                }
            }
            std::ptr::null_mut()
        }
        Err(error) => wasm_trap_t::from_error(cell, error),
    }
}

/// The external's kind: 0 function, 1 global, 2 table, 3 memory.
///
/// # Safety
/// `ext` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_kind(ext: *const wasm_extern_t) -> u8 {
    // SAFETY: the caller's guarantee.
    match unsafe { ext.as_ref() }.and_then(|e| e.r.as_extern()) {
        Some(Extern::Global(_)) => 1,
        Some(Extern::Table(_)) => 2,
        Some(Extern::Memory(_)) => 3,
        _ => 0,
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
    with_store(&memory.r.store, |cx| memory.memory().data_mut(cx).as_mut_ptr())
}

/// The memory's size in bytes.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data_size(memory: *const wasm_memory_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { memory.as_ref() }.map_or(0, |m| with_store(&m.r.store, |cx| m.memory().data_size(&cx)))
}

/// The memory's size in pages.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_size(memory: *const wasm_memory_t) -> u32 {
    // SAFETY: the caller's guarantee.
    unsafe { memory.as_ref() }.map_or(0, |m| with_store(&m.r.store, |cx| m.memory().size(&cx) as u32))
}

/// Grows the memory by `delta` pages; false if it cannot.
///
/// # Safety
/// `memory` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_grow(memory: *mut wasm_memory_t, delta: u32) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { memory.as_ref() }
        .is_some_and(|m| with_store(&m.r.store, |mut cx| m.memory().grow(&mut cx, u64::from(delta)).is_ok()))
}

/// The external's type.
///
/// # Safety
/// `ext` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_extern_type(ext: *const wasm_extern_t) -> *mut crate::wasm_externtype_t {
    // SAFETY: the caller's guarantee.
    let Some((ext, cell)) = (unsafe { ext.as_ref() }).and_then(|e| Some((e.r.as_extern()?, &e.r.store))) else {
        return std::ptr::null_mut();
    };
    match with_store(cell, |cx| ext.ty(&cx)) {
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
    let cell = &store.cell;
    let made = with_store(cell, |mut cx| {
        let value = value.to_val(&mut cx, cell).map_err(anyhow::Error::msg)?;
        weft::Global::new(&mut cx, global_ty, value)
    });
    match made {
        Ok(global) => wasm_global_t::into_c(wasm_ref_t::new(&store.cell, Object::Extern(Extern::Global(global)))),
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
    let cell = &global.r.store;
    // A value the standard cannot express (a v128) reads as a null reference.
    *out = with_store(cell, |mut cx| {
        let value = global.global().get(&mut cx);
        wasm_val_t::from_val(&value, &mut cx, cell).ok()
    })
    .unwrap_or_default();
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
    let cell = &global.r.store;
    let _ = with_store(cell, |mut cx| {
        let value = value.to_val(&mut cx, cell).map_err(anyhow::Error::msg)?;
        global.global().set(&mut cx, value)
    });
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
        Ok(memory) => wasm_memory_t::into_c(wasm_ref_t::new(&store.cell, Object::Extern(Extern::Memory(memory)))),
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

/// A new table of `ty`, every element `init` (NULL: the null reference); NULL if it cannot be made (a bad type, an
/// `init` of another kind or store).
///
/// # Safety
/// `store` and `ty` must be live, `init` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_new(
    store: *mut wasm_store_t,
    ty: *const crate::wasm_tabletype_t,
    init: *mut wasm_ref_t,
) -> *mut wasm_table_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(ty)) = (unsafe { store.as_ref() }, unsafe { ty.as_ref() }) else {
        return std::ptr::null_mut();
    };
    let weft::ExternType::Table(table_ty) = ty.ty() else { return std::ptr::null_mut() };
    let cell = &store.cell;
    let made = with_store(cell, |mut cx| {
        // SAFETY: the caller's guarantee.
        let init = crate::types::ref_to_val(unsafe { init.as_ref() }, &table_ty.element, &mut cx, cell)?;
        weft::Table::new(&mut cx, table_ty, init)
    });
    match made {
        Ok(table) => wasm_table_t::into_c(wasm_ref_t::new(cell, Object::Extern(Extern::Table(table)))),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The table's type.
///
/// # Safety
/// `table` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_type(table: *const wasm_table_t) -> *mut crate::wasm_tabletype_t {
    // SAFETY: the caller's guarantee; a table's external type is a table type (the same object).
    unsafe { wasm_extern_type(table.cast()) }.cast()
}

/// The element at `index` (owned; NULL for a null reference or an index out of bounds).
///
/// # Safety
/// `table` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_get(table: *const wasm_table_t, index: u32) -> *mut wasm_ref_t {
    // SAFETY: the caller's guarantee.
    let Some(table) = (unsafe { table.as_ref() }) else { return std::ptr::null_mut() };
    let cell = &table.r.store;
    with_store(cell, |mut cx| {
        let value = table.table().get(&mut cx, u64::from(index))?;
        crate::types::val_to_ref(&value, &mut cx, cell)
    })
    .map_or(std::ptr::null_mut(), crate::object::into_c)
}

/// Sets the element at `index` to `value` (borrowed; NULL: the null reference); false if the index is out of
/// bounds or the reference does not fit the table.
///
/// # Safety
/// `table` must be live, `value` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_set(table: *mut wasm_table_t, index: u32, value: *mut wasm_ref_t) -> bool {
    // SAFETY: the caller's guarantee.
    let Some(table) = (unsafe { table.as_ref() }) else { return false };
    let cell = &table.r.store;
    with_store(cell, |mut cx| {
        let element = table.table().ty(&cx).element;
        // SAFETY: the caller's guarantee.
        let value = crate::types::ref_to_val(unsafe { value.as_ref() }, &element, &mut cx, cell)?;
        table.table().set(&mut cx, u64::from(index), value)
    })
    .is_ok()
}

/// The table's size in elements.
///
/// # Safety
/// `table` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_size(table: *const wasm_table_t) -> u32 {
    // SAFETY: the caller's guarantee.
    unsafe { table.as_ref() }.map_or(0, |t| with_store(&t.r.store, |cx| t.table().size(&cx) as u32))
}

/// Grows the table by `delta` elements set to `init` (borrowed; NULL: the null reference); false if it cannot.
///
/// # Safety
/// `table` must be live, `init` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_grow(table: *mut wasm_table_t, delta: u32, init: *mut wasm_ref_t) -> bool {
    // SAFETY: the caller's guarantee.
    let Some(table) = (unsafe { table.as_ref() }) else { return false };
    let cell = &table.r.store;
    with_store(cell, |mut cx| {
        let element = table.table().ty(&cx).element;
        // SAFETY: the caller's guarantee.
        let init = crate::types::ref_to_val(unsafe { init.as_ref() }, &element, &mut cx, cell)?;
        table.table().grow(&mut cx, u64::from(delta), init)
    })
    .is_ok()
}
