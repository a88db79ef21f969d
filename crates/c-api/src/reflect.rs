//! Import and export types, and a module's imports and exports.

use crate::types::boxed;
use crate::{wasm_byte_vec_t, wasm_externtype_t, wasm_module_t};

/// An import: module name, field name, type.
pub struct wasm_importtype_t {
    module: wasm_byte_vec_t,
    name: wasm_byte_vec_t,
    ty: wasm_externtype_t,
}

/// An export: name, type.
pub struct wasm_exporttype_t {
    name: wasm_byte_vec_t,
    ty: wasm_externtype_t,
}

fn name(text: &str) -> wasm_byte_vec_t {
    let mut vec = wasm_byte_vec_t { size: 0, data: std::ptr::null_mut() };
    vec.set(text.as_bytes().to_vec());
    vec
}

/// Takes an owned name vector's bytes.
///
/// # Safety
/// `vec` must be an owned vector (or NULL).
unsafe fn take_name(vec: *mut wasm_byte_vec_t) -> Option<wasm_byte_vec_t> {
    // SAFETY: the caller's guarantee; the fields move into the result and the vector is left empty.
    let vec = unsafe { vec.as_mut() }?;
    Some(std::mem::replace(vec, wasm_byte_vec_t { size: 0, data: std::ptr::null_mut() }))
}

impl Drop for wasm_importtype_t {
    fn drop(&mut self) {
        // SAFETY: both vectors are owned by this import type.
        unsafe {
            crate::wasm_byte_vec_delete(&mut self.module);
            crate::wasm_byte_vec_delete(&mut self.name);
        }
    }
}

impl Drop for wasm_exporttype_t {
    fn drop(&mut self) {
        // SAFETY: the vector is owned by this export type.
        unsafe { crate::wasm_byte_vec_delete(&mut self.name) };
    }
}

impl Clone for wasm_importtype_t {
    fn clone(&self) -> Self {
        // SAFETY: the vectors are valid.
        let (module, field) = unsafe { (self.module.slice().to_vec(), self.name.slice().to_vec()) };
        let mut copy = wasm_importtype_t { module: name(""), name: name(""), ty: wasm_externtype_t::new(self.ty.ty()) };
        copy.module.set(module);
        copy.name.set(field);
        copy
    }
}

impl Clone for wasm_exporttype_t {
    fn clone(&self) -> Self {
        // SAFETY: the vector is valid.
        let field = unsafe { self.name.slice().to_vec() };
        let mut copy = wasm_exporttype_t { name: name(""), ty: wasm_externtype_t::new(self.ty.ty()) };
        copy.name.set(field);
        copy
    }
}

/// An import type, taking all three arguments; NULL if one is NULL.
///
/// # Safety
/// Each argument must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_new(
    module: *mut wasm_byte_vec_t,
    field: *mut wasm_byte_vec_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_importtype_t {
    // SAFETY: the caller's guarantee.
    let (module, field) = unsafe { (take_name(module), take_name(field)) };
    match (module, field, ty.is_null()) {
        (Some(module), Some(name), false) => {
            // SAFETY: as above; the type's ownership passes to us.
            let ty = *unsafe { Box::from_raw(ty) };
            boxed(wasm_importtype_t { module, name, ty })
        }
        (module, field, _) => {
            for mut v in [module, field].into_iter().flatten() {
                // SAFETY: what was taken is owned here now.
                unsafe { crate::wasm_byte_vec_delete(&mut v) };
            }
            // SAFETY: as above.
            unsafe { crate::wasm_externtype_delete(ty) };
            std::ptr::null_mut()
        }
    }
}

/// The import's module name (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_module(ty: *const wasm_importtype_t) -> *const wasm_byte_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.module)
}

/// The import's field name (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_name(ty: *const wasm_importtype_t) -> *const wasm_byte_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.name)
}

/// The import's type (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_type(ty: *const wasm_importtype_t) -> *const wasm_externtype_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.ty)
}

/// An export type, taking both arguments; NULL if one is NULL.
///
/// # Safety
/// Each argument must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_new(
    field: *mut wasm_byte_vec_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_exporttype_t {
    // SAFETY: the caller's guarantee.
    match (unsafe { take_name(field) }, ty.is_null()) {
        // SAFETY: as above; the type's ownership passes to us.
        (Some(name), false) => boxed(wasm_exporttype_t { name, ty: *unsafe { Box::from_raw(ty) } }),
        (field, _) => {
            if let Some(mut v) = field {
                // SAFETY: owned here now.
                unsafe { crate::wasm_byte_vec_delete(&mut v) };
            }
            // SAFETY: as above.
            unsafe { crate::wasm_externtype_delete(ty) };
            std::ptr::null_mut()
        }
    }
}

/// The export's name (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_name(ty: *const wasm_exporttype_t) -> *const wasm_byte_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.name)
}

/// The export's type (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_type(ty: *const wasm_exporttype_t) -> *const wasm_externtype_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.ty)
}

/// The module's imports, in order.
///
/// # Safety
/// `module` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_imports(module: *const wasm_module_t, out: *mut crate::wasm_importtype_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(module), Some(out)) = (unsafe { module.as_ref() }, unsafe { out.as_mut() }) else { return };
    out.set(
        module
            .module()
            .imports()
            .map(|i| {
                boxed(wasm_importtype_t {
                    module: name(i.module()),
                    name: name(i.name()),
                    ty: wasm_externtype_t::new(i.ty()),
                })
            })
            .collect(),
    );
}

/// The module's exports, in order.
///
/// # Safety
/// `module` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_module_exports(module: *const wasm_module_t, out: *mut crate::wasm_exporttype_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(module), Some(out)) = (unsafe { module.as_ref() }, unsafe { out.as_mut() }) else { return };
    out.set(
        module
            .module()
            .exports()
            // Tags (exception handling) have no kind in the standard; `wasm_instance_exports` leaves them out too.
            .filter(|e| !matches!(e.ty(), weft::ExternType::Tag(_)))
            .map(|e| boxed(wasm_exporttype_t { name: name(e.name()), ty: wasm_externtype_t::new(e.ty()) }))
            .collect(),
    );
}

crate::types::delete_and_copy_fns!(wasm_importtype_t, wasm_importtype_delete, wasm_importtype_copy, |t| t.clone());
crate::types::delete_and_copy_fns!(wasm_exporttype_t, wasm_exporttype_delete, wasm_exporttype_copy, |t| t.clone());
