//! Instances.

use crate::engine::with_store;
use crate::object::{Object, wasm_ref_t};
use crate::trap::HostTrap;
use crate::{wasm_extern_t, wasm_extern_vec_t, wasm_module_t, wasm_store_t, wasm_trap_t};
use std::rc::Rc;
use weft::{Extern, Instance};

crate::object::ref_object!(
    wasm_instance_t,
    "A module instance.",
    |o| matches!(o, Object::Instance(_)),
    wasm_instance_delete,
    wasm_instance_copy,
    wasm_instance_same,
    wasm_instance_get_host_info,
    wasm_instance_set_host_info,
    wasm_instance_set_host_info_with_finalizer,
    wasm_instance_as_ref,
    wasm_instance_as_ref_const,
    wasm_ref_as_instance,
    wasm_ref_as_instance_const
);

impl wasm_instance_t {
    fn instance(&self) -> Instance {
        match self.r.object {
            Object::Instance(i) => i,
            _ => unreachable!("a wasm_instance_t holds an instance"),
        }
    }
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
    // SAFETY: the caller's guarantee.
    let cell = unsafe { store.as_ref() }.map_or_else(crate::engine::orphan_store, |s| s.cell.clone());
    let fail = |error: anyhow::Error| {
        if !trap.is_null() {
            // SAFETY: the caller's guarantee.
            unsafe { *trap = wasm_trap_t::from_error(&cell, error) };
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
            Some(e) if !Rc::ptr_eq(&e.r.store, &store.cell) => {
                return fail(HostTrap(format!("wasm_instance_new: import {i} belongs to another store")).into());
            }
            Some(e) => items.push(e.r.as_extern().expect("a wasm_extern_t holds an external")),
            None => return fail(HostTrap(format!("wasm_instance_new: import {i} is NULL")).into()),
        }
    }
    match with_store(&store.cell, |mut cx| Instance::new(&mut cx, module.module(), &items)) {
        Ok(instance) => wasm_instance_t::into_c(wasm_ref_t::new(&store.cell, Object::Instance(instance))),
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
    let exports = with_store(&instance.r.store, |mut cx| instance.instance().exports(&mut cx));
    out.set(
        exports
            .into_iter()
            // Tags (exception handling) have no kind in the standard; `wasm_module_exports` leaves them out too.
            .filter(|(_, e)| !matches!(e, Extern::Tag(_)))
            .map(|(_, e)| wasm_extern_t::into_c(wasm_ref_t::new(&instance.r.store, Object::Extern(e))))
            .collect(),
    );
}
