//! `weft.h`'s linker: imports resolved by name, WASI preview1 among them, and modules instantiated through it.

use crate::engine::{StoreData, with_store};
use crate::object::{Object, wasm_ref_t};
use crate::weft::{error, str_of};
use crate::{
    wasm_engine_t, wasm_extern_t, wasm_func_t, wasm_instance_t, wasm_module_t, wasm_store_t, wasm_trap_t, weft_error_t,
};
use std::ffi::c_char;
use weft::{Extern, Linker};

/// A linker: definitions by module and name, for one engine. Definitions that are externals belong to the store
/// they were made in; use the linker with that store.
pub struct weft_linker_t {
    linker: Linker<StoreData>,
}

/// A new, empty linker for `engine`'s modules; NULL if `engine` is NULL.
///
/// # Safety
/// `engine` must be live (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_new(engine: *const wasm_engine_t) -> *mut weft_linker_t {
    // SAFETY: the caller's guarantee.
    match unsafe { engine.as_ref() } {
        Some(engine) => crate::object::into_c(weft_linker_t { linker: Linker::new(&engine.engine) }),
        None => std::ptr::null_mut(),
    }
}

/// Frees a linker (what it defined lives on in its stores).
///
/// # Safety
/// `linker` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_delete(linker: *mut weft_linker_t) {
    if !linker.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(linker) });
    }
}

/// Whether a later definition of the same name replaces an earlier one (off: it is an error).
///
/// # Safety
/// `linker` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_allow_shadowing(linker: *mut weft_linker_t, allow: bool) {
    // SAFETY: the caller's guarantee.
    if let Some(linker) = unsafe { linker.as_mut() } {
        linker.linker.allow_shadowing(allow);
    }
}

/// Runs `f` with the linker, turning its outcome into NULL or an error.
///
/// # Safety
/// `linker` must be live (or NULL).
unsafe fn with_linker(
    linker: *mut weft_linker_t,
    f: impl FnOnce(&mut Linker<StoreData>) -> anyhow::Result<()>,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let Some(linker) = (unsafe { linker.as_mut() }) else { return error(anyhow::anyhow!("the linker is NULL")) };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut linker.linker))) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) => error(e),
        Err(payload) => error(anyhow::anyhow!("panic in the runtime: {}", crate::engine::panic_message(&*payload))),
    }
}

/// Defines `module::name` (`len`-byte strings) as `item`, an external of `store`. NULL, or an error the caller
/// deletes.
///
/// # Safety
/// `linker`, `store` and `item` must be live; the names must point to their lengths of bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_define(
    linker: *mut weft_linker_t,
    store: *mut wasm_store_t,
    module: *const c_char,
    module_len: usize,
    name: *const c_char,
    name_len: usize,
    item: *const wasm_extern_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    unsafe {
        with_linker(linker, |linker| {
            let (module, name) = (str_of(module, module_len, "the module name")?, str_of(name, name_len, "the name")?);
            let store = store.as_ref().ok_or_else(|| anyhow::anyhow!("the store is NULL"))?;
            let item = item.as_ref().ok_or_else(|| anyhow::anyhow!("the item is NULL"))?;
            anyhow::ensure!(std::rc::Rc::ptr_eq(&item.r.store, &store.cell), "the item belongs to another store");
            let ext: Extern = item.r.as_extern().ok_or_else(|| anyhow::anyhow!("the item is not an external"))?;
            linker.define(module, name, ext)?;
            Ok(())
        })
    }
}

/// Defines WASI preview1 (`wasi_snapshot_preview1::*`), acting on the WASI context of the store that calls it
/// (`weft_store_set_wasi`; a store without one gives its programs no arguments, no files and discarded output).
/// NULL, or an error the caller deletes.
///
/// # Safety
/// `linker` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_define_wasi(linker: *mut weft_linker_t) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    unsafe { with_linker(linker, |linker| weft_wasi::add_to_linker(linker, StoreData::wasi)) }
}

/// Defines every export of `instance` (of `store`) under the module name `name`. NULL, or an error.
///
/// # Safety
/// `linker`, `store` and `instance` must be live; `name` must point to `name_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_define_instance(
    linker: *mut weft_linker_t,
    store: *mut wasm_store_t,
    name: *const c_char,
    name_len: usize,
    instance: *const wasm_instance_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    unsafe {
        with_linker(linker, |linker| {
            let name = str_of(name, name_len, "the name")?;
            let store = store.as_ref().ok_or_else(|| anyhow::anyhow!("the store is NULL"))?;
            let instance = instance.as_ref().ok_or_else(|| anyhow::anyhow!("the instance is NULL"))?;
            let Object::Instance(i) = instance.r.object else { anyhow::bail!("not an instance") };
            with_store(&store.cell, |mut cx| linker.instance(&mut cx, name, i).map(|_| ()))
        })
    }
}

/// Defines each import of `module` that the linker lacks as a function that traps when called. NULL, or an error.
///
/// # Safety
/// `linker` and `module` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_define_unknown_imports_as_traps(
    linker: *mut weft_linker_t,
    module: *const wasm_module_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    unsafe {
        with_linker(linker, |linker| {
            let module = module.as_ref().ok_or_else(|| anyhow::anyhow!("the module is NULL"))?;
            linker.define_unknown_imports_as_traps(module.module()).map(|_| ())
        })
    }
}

/// Instantiates `module` in `store` with the linker's definitions. On success NULL, with the instance in
/// `*instance`. A trap (of the start function) comes back in `*trap` (also NULL returned); anything else that went
/// wrong (an import missing or of the wrong type) is the returned error, which the caller deletes.
///
/// # Safety
/// `linker`, `store` and `module` must be live; `instance` and `trap` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_instantiate(
    linker: *const weft_linker_t,
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    instance: *mut *mut wasm_instance_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let (Some(linker), Some(store), Some(module), false, false) = (
        unsafe { linker.as_ref() },
        unsafe { store.as_ref() },
        unsafe { module.as_ref() },
        instance.is_null(),
        trap.is_null(),
    ) else {
        return error(anyhow::anyhow!("weft_linker_instantiate: an argument is NULL"));
    };
    // SAFETY: as above.
    unsafe {
        *instance = std::ptr::null_mut();
        *trap = std::ptr::null_mut();
    }
    match with_store(&store.cell, |mut cx| linker.linker.instantiate(&mut cx, module.module())) {
        Ok(made) => {
            // SAFETY: as above.
            unsafe { *instance = wasm_instance_t::into_c(wasm_ref_t::new(&store.cell, Object::Instance(made))) };
            std::ptr::null_mut()
        }
        Err(e) if is_trap(&e) => {
            // SAFETY: as above.
            unsafe { *trap = wasm_trap_t::from_error(&store.cell, e) };
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}

/// Whether an error is a trap of running code (or a WASI exit) rather than a failure to link.
fn is_trap(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<weft::Trap>() || cause.is::<weft_wasi::I32Exit>() || cause.is::<crate::trap::HostTrap>()
    }) || e.downcast_ref::<weft::WasmBacktrace>().is_some()
}

/// Defines `module` under `name` the way WASI expects: a command (exporting `_start`) is instantiated afresh for
/// each call of its exports; a reactor (anything else) is instantiated once now (running `_initialize` if it has
/// one) and its exports defined. NULL, or an error.
///
/// # Safety
/// `linker`, `store` and `module` must be live; `name` must point to `name_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_module(
    linker: *mut weft_linker_t,
    store: *mut wasm_store_t,
    name: *const c_char,
    name_len: usize,
    module: *const wasm_module_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    unsafe {
        with_linker(linker, |linker| {
            let name = str_of(name, name_len, "the name")?;
            let store = store.as_ref().ok_or_else(|| anyhow::anyhow!("the store is NULL"))?;
            let module = module.as_ref().ok_or_else(|| anyhow::anyhow!("the module is NULL"))?;
            with_store(&store.cell, |mut cx| linker.module(&mut cx, name, module.module()).map(|_| ()))
        })
    }
}

/// The default export of the module defined as `name` (its `_start`, or the export named ""), into `*func` (owned
/// by the caller). NULL, or an error.
///
/// # Safety
/// `linker` and `store` must be live; `name` must point to `name_len` bytes; `func` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_get_default(
    linker: *const weft_linker_t,
    store: *mut wasm_store_t,
    name: *const c_char,
    name_len: usize,
    func: *mut *mut wasm_func_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let (Some(linker), Some(store), false) = (unsafe { linker.as_ref() }, unsafe { store.as_ref() }, func.is_null())
    else {
        return error(anyhow::anyhow!("weft_linker_get_default: an argument is NULL"));
    };
    // SAFETY: as above.
    let found = unsafe { str_of(name, name_len, "the name") }
        .and_then(|name| with_store(&store.cell, |mut cx| linker.linker.get_default(&mut cx, name)));
    match found {
        Ok(f) => {
            // SAFETY: as above.
            unsafe { *func = wasm_func_t::into_c(wasm_ref_t::new(&store.cell, Object::Extern(Extern::Func(f)))) };
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}

/// The definition of `module::name`, into `*item` (owned by the caller); false if there is none.
///
/// # Safety
/// `linker` and `store` must be live; the names must point to their lengths of bytes; `item` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_linker_get(
    linker: *const weft_linker_t,
    store: *mut wasm_store_t,
    module: *const c_char,
    module_len: usize,
    name: *const c_char,
    name_len: usize,
    item: *mut *mut wasm_extern_t,
) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(linker), Some(store), false) = (unsafe { linker.as_ref() }, unsafe { store.as_ref() }, item.is_null())
    else {
        return false;
    };
    // SAFETY: as above.
    let (Ok(module), Ok(name)) = (unsafe { str_of(module, module_len, "") }, unsafe { str_of(name, name_len, "") })
    else {
        return false;
    };
    match with_store(&store.cell, |mut cx| linker.linker.get(&mut cx, module, name)) {
        Some(found) => {
            // SAFETY: as above.
            unsafe { *item = wasm_extern_t::into_c(wasm_ref_t::new(&store.cell, Object::Extern(found))) };
            true
        }
        None => false,
    }
}
