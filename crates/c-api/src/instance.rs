//! Instances.

use crate::engine::{StoreCell, with_store};
use crate::trap::HostTrap;
use crate::{wasm_extern_t, wasm_extern_vec_t, wasm_module_t, wasm_store_t, wasm_trap_t};
use std::rc::Rc;
use weft::{Extern, Instance};

/// An instance of a module.
pub struct wasm_instance_t {
    store: Rc<StoreCell>,
    instance: Instance,
}

/// Instantiates `module` with `imports` (in import order); NULL on failure, with `*trap` set if `trap` is not
/// NULL.
///
/// # Safety
/// `store` and `module` must be live, `imports` a valid vector of live externals of `store`, and `trap` valid for
/// writes (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_new(
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    imports: *const wasm_extern_vec_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut wasm_instance_t {
    let fail = |error: anyhow::Error| {
        if !trap.is_null() {
            // SAFETY: the caller's guarantee.
            unsafe { *trap = wasm_trap_t::from_error(error) };
        }
        std::ptr::null_mut()
    };
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(module)) = (unsafe { store.as_ref() }, unsafe { module.as_ref() }) else {
        return fail(HostTrap("wasm_instance_new: the store or module is NULL".into()).into());
    };
    let mut items: Vec<Extern> = Vec::new();
    // SAFETY: the caller's guarantee.
    for (i, import) in unsafe { imports.as_ref() }.map(|v| unsafe { v.slice() }).unwrap_or_default().iter().enumerate()
    {
        // SAFETY: elements are live externals or NULL.
        match unsafe { import.as_ref() } {
            Some(e) if Rc::ptr_eq(&e.store, &store.cell) => items.push(e.which),
            Some(_) => return fail(HostTrap(format!("wasm_instance_new: import {i} belongs to another store")).into()),
            None => return fail(HostTrap(format!("wasm_instance_new: import {i} is NULL")).into()),
        }
    }
    match with_store(&store.cell, |mut cx| Instance::new(&mut cx, &module.module, &items)) {
        Ok(instance) => Box::into_raw(Box::new(wasm_instance_t { store: store.cell.clone(), instance })),
        Err(error) => fail(error),
    }
}

/// The instance's exports, in the module's export order, as new externals.
///
/// # Safety
/// `instance` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_exports(instance: *const wasm_instance_t, out: *mut wasm_extern_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(instance), Some(out)) = (unsafe { instance.as_ref() }, unsafe { out.as_mut() }) else { return };
    let exports = with_store(&instance.store, |mut cx| instance.instance.exports(&mut cx));
    out.set(
        exports
            .into_iter()
            .map(|(_, which)| Box::into_raw(Box::new(wasm_extern_t { store: instance.store.clone(), which })))
            .collect(),
    );
}

/// Frees an instance handle (the store keeps the instance).
///
/// # Safety
/// `instance` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_instance_delete(instance: *mut wasm_instance_t) {
    if !instance.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(instance) });
    }
}
