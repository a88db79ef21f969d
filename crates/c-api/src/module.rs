//! Modules.

use crate::{wasm_byte_vec_t, wasm_store_t};
use weft::Module;

/// A compiled module.
pub struct wasm_module_t {
    pub(crate) module: Module,
}

/// Compiles `binary`; NULL if it is not a valid module (or an argument is NULL).
///
/// # Safety
/// `store` must be a live store and `binary` a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary)) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }) else {
        return std::ptr::null_mut();
    };
    // SAFETY: a valid vector's bytes.
    let bytes = unsafe { binary.slice() };
    // Text is not part of the standard: only binary modules are accepted here.
    if !bytes.starts_with(b"\0asm") {
        return std::ptr::null_mut();
    }
    match Module::new(&store.cell.engine, bytes) {
        Ok(module) => Box::into_raw(Box::new(wasm_module_t { module })),
        Err(_) => std::ptr::null_mut(),
    }
}

/// Whether `binary` is a valid module for `store`'s engine.
///
/// # Safety
/// `store` must be a live store and `binary` a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_validate(store: *mut wasm_store_t, binary: *const wasm_byte_vec_t) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary)) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }) else { return false };
    // SAFETY: a valid vector's bytes.
    Module::validate(&store.cell.engine, unsafe { binary.slice() }).is_ok()
}

/// Frees a module (instances made from it keep what they need).
///
/// # Safety
/// `module` must be an owned module (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_delete(module: *mut wasm_module_t) {
    if !module.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(module) });
    }
}

/// The module's compiled code, as an artifact for [`wasm_module_deserialize`] (Weft's format: it loads only into an
/// engine with the same settings and Weft build).
///
/// # Safety
/// `module` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_serialize(module: *const wasm_module_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(module), Some(out)) = (unsafe { module.as_ref() }, unsafe { out.as_mut() }) else { return };
    out.set(module.module.serialize().unwrap_or_default());
}

/// A module from an artifact of [`wasm_module_serialize`]; NULL if it is damaged or was made by an engine with
/// other settings. The artifact is native code: load only artifacts you trust.
///
/// # Safety
/// `store` must be live and `binary` a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_deserialize(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary)) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }) else {
        return std::ptr::null_mut();
    };
    // SAFETY: a valid vector's bytes.
    match Module::deserialize(&store.cell.engine, unsafe { binary.slice() }) {
        Ok(module) => Box::into_raw(Box::new(wasm_module_t { module })),
        Err(_) => std::ptr::null_mut(),
    }
}
