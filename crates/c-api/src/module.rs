//! Modules: compiling, validating, serializing, and sharing a compiled module with stores of other threads.

use crate::engine::{StoreCell, guarded};
use crate::object::{Object, Shared, wasm_ref_t};
use crate::{wasm_byte_vec_t, wasm_store_t};
use std::rc::Rc;
use weft::Module;

crate::object::ref_object!(
    wasm_module_t,
    "A compiled module (usable in the store it was made for; share it to use it in another).",
    |o| matches!(o, Object::Module(_)),
    wasm_module_delete,
    wasm_module_copy,
    wasm_module_same,
    wasm_module_get_host_info,
    wasm_module_set_host_info,
    wasm_module_set_host_info_with_finalizer,
    wasm_module_as_ref,
    wasm_module_as_ref_const,
    wasm_ref_as_module,
    wasm_ref_as_module_const
);

impl wasm_module_t {
    pub(crate) fn module(&self) -> &Module {
        match &self.r.object {
            Object::Module(shared) => &shared.value,
            _ => unreachable!("a wasm_module_t holds a module"),
        }
    }

    pub(crate) fn new_in(cell: &Rc<StoreCell>, module: Module) -> *mut wasm_module_t {
        wasm_module_t::into_c(wasm_ref_t::new(cell, Object::Module(Shared::new(module))))
    }
}

/// A module that any thread can turn back into a `wasm_module_t` of its own store ([`wasm_module_obtain`]).
pub struct wasm_shared_module_t {
    module: Module,
}

/// Compiles `binary`; NULL if it is not a valid module (or needs a feature the store's engine has off).
///
/// # Safety
/// `store` must be live and `binary` a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary)) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }) else {
        return std::ptr::null_mut();
    };
    // SAFETY: as above.
    let bytes = unsafe { binary.slice() };
    // The standard takes the binary format only (Weft's `Module::new` would also read text).
    if !bytes.starts_with(b"\0asm") {
        return std::ptr::null_mut();
    }
    match guarded(|| Module::new(&store.cell.engine, bytes)) {
        Ok(module) => wasm_module_t::new_in(&store.cell, module),
        Err(_) => std::ptr::null_mut(),
    }
}

/// Whether `binary` is a valid module for the store's engine.
///
/// # Safety
/// `store` must be live and `binary` a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_validate(store: *mut wasm_store_t, binary: *const wasm_byte_vec_t) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary)) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }) else { return false };
    // SAFETY: as above.
    let bytes = unsafe { binary.slice() };
    bytes.starts_with(b"\0asm") && guarded(|| Module::validate(&store.cell.engine, bytes)).is_ok()
}

/// The compiled module as bytes for [`wasm_module_deserialize`] (an engine with the same settings); empty if it
/// cannot be serialized.
///
/// # Safety
/// `module` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_serialize(module: *const wasm_module_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(module), Some(out)) = (unsafe { module.as_ref() }, unsafe { out.as_mut() }) else { return };
    out.set(module.module().serialize().unwrap_or_default());
}

/// Loads a module serialized by [`wasm_module_serialize`]; NULL if the bytes are not such a module for this
/// engine. The bytes are native code: load only what you made or trust.
///
/// # Safety
/// `store` must be live and `binary` a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_deserialize(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary)) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }) else {
        return std::ptr::null_mut();
    };
    // SAFETY: as above.
    match guarded(|| Module::deserialize(&store.cell.engine, unsafe { binary.slice() })) {
        Ok(module) => wasm_module_t::new_in(&store.cell, module),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The module in a form any thread may hold (owned by the caller; the compiled code is shared, not copied).
///
/// # Safety
/// `module` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_share(module: *const wasm_module_t) -> *mut wasm_shared_module_t {
    // SAFETY: the caller's guarantee.
    unsafe { module.as_ref() }
        .map_or(std::ptr::null_mut(), |m| crate::object::into_c(wasm_shared_module_t { module: m.module().clone() }))
}

/// A module of `store` from a shared one (a new object; the code is shared); NULL if `store`'s engine is not the
/// one the module was compiled by.
///
/// # Safety
/// `store` and `shared` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_obtain(
    store: *mut wasm_store_t,
    shared: *const wasm_shared_module_t,
) -> *mut wasm_module_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(shared)) = (unsafe { store.as_ref() }, unsafe { shared.as_ref() }) else {
        return std::ptr::null_mut();
    };
    if !weft::Engine::same(shared.module.engine(), &store.cell.engine) {
        return std::ptr::null_mut();
    }
    wasm_module_t::new_in(&store.cell, shared.module.clone())
}

/// Frees a shared module.
///
/// # Safety
/// `shared` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_shared_module_delete(shared: *mut wasm_shared_module_t) {
    if !shared.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(shared) });
    }
}
