//! Value types, function types and values.

use weft::{FuncType, Val, ValType};

/// A value type.
#[derive(Clone)]
pub struct wasm_valtype_t {
    pub(crate) ty: ValType,
}

/// A function type; keeps its parameter and result vectors for the borrowed views the standard hands out.
pub struct wasm_functype_t {
    pub(crate) ty: FuncType,
    params: crate::wasm_valtype_vec_t,
    results: crate::wasm_valtype_vec_t,
}

pub(crate) const WASM_I32: u8 = 0;
pub(crate) const WASM_I64: u8 = 1;
pub(crate) const WASM_F32: u8 = 2;
pub(crate) const WASM_F64: u8 = 3;
pub(crate) const WASM_EXTERNREF: u8 = 128;
pub(crate) const WASM_FUNCREF: u8 = 129;

fn kind_of(ty: ValType) -> u8 {
    match ty {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::ExternRef => WASM_EXTERNREF,
        // The standard has no v128 or typed references; they show as funcref, the closest it has.
        _ => WASM_FUNCREF,
    }
}

fn type_of(kind: u8) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        WASM_EXTERNREF => ValType::ExternRef,
        WASM_FUNCREF => ValType::FuncRef,
        _ => return None,
    })
}

impl wasm_functype_t {
    pub(crate) fn new(ty: FuncType) -> wasm_functype_t {
        let boxed = |t: &ValType| Box::into_raw(Box::new(wasm_valtype_t { ty: *t }));
        let mut params = crate::wasm_valtype_vec_t { size: 0, data: std::ptr::null_mut() };
        params.set(ty.params.iter().map(boxed).collect());
        let mut results = crate::wasm_valtype_vec_t { size: 0, data: std::ptr::null_mut() };
        results.set(ty.results.iter().map(boxed).collect());
        wasm_functype_t { ty, params, results }
    }
}

impl Drop for wasm_functype_t {
    fn drop(&mut self) {
        // SAFETY: both vectors were made by `new` and are owned by this type.
        unsafe {
            crate::wasm_valtype_vec_delete(&mut self.params);
            crate::wasm_valtype_vec_delete(&mut self.results);
        }
    }
}

/// A value type of `kind`; NULL for a kind the standard does not define.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_valtype_new(kind: u8) -> *mut wasm_valtype_t {
    match type_of(kind) {
        Some(ty) => Box::into_raw(Box::new(wasm_valtype_t { ty })),
        None => std::ptr::null_mut(),
    }
}

/// The type's kind.
///
/// # Safety
/// `ty` must be a live value type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_kind(ty: *const wasm_valtype_t) -> u8 {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(WASM_I32, |t| kind_of(t.ty))
}

/// A copy.
///
/// # Safety
/// `ty` must be a live value type (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_copy(ty: *const wasm_valtype_t) -> *mut wasm_valtype_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() } {
        Some(t) => Box::into_raw(Box::new(t.clone())),
        None => std::ptr::null_mut(),
    }
}

/// Frees a value type.
///
/// # Safety
/// `ty` must be an owned value type (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_delete(ty: *mut wasm_valtype_t) {
    if !ty.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(ty) });
    }
}

/// A function type, taking both vectors (and their elements); NULL if an element is NULL.
///
/// # Safety
/// Both vectors must be valid and owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_new(
    params: *mut crate::wasm_valtype_vec_t,
    results: *mut crate::wasm_valtype_vec_t,
) -> *mut wasm_functype_t {
    let take = |vec: *mut crate::wasm_valtype_vec_t| -> Option<Vec<ValType>> {
        // SAFETY: the caller's guarantee.
        let vec = unsafe { vec.as_mut() }?;
        // SAFETY: elements are valid or NULL.
        let types = unsafe { vec.slice() }.iter().map(|t| unsafe { t.as_ref() }.map(|t| t.ty)).collect();
        // SAFETY: the vector is owned; deleting it frees its elements.
        unsafe { crate::wasm_valtype_vec_delete(vec) };
        types
    };
    let (params, results) = (take(params), take(results));
    match (params, results) {
        (Some(p), Some(r)) => Box::into_raw(Box::new(wasm_functype_t::new(FuncType::new(p, r)))),
        _ => std::ptr::null_mut(),
    }
}

/// The parameter types (borrowed from `ty`).
///
/// # Safety
/// `ty` must be a live function type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_params(ty: *const wasm_functype_t) -> *const crate::wasm_valtype_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.params)
}

/// The result types (borrowed from `ty`).
///
/// # Safety
/// `ty` must be a live function type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_results(ty: *const wasm_functype_t) -> *const crate::wasm_valtype_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(std::ptr::null(), |t| &t.results)
}

/// A copy.
///
/// # Safety
/// `ty` must be a live function type (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_copy(ty: *const wasm_functype_t) -> *mut wasm_functype_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() } {
        Some(t) => Box::into_raw(Box::new(wasm_functype_t::new(t.ty.clone()))),
        None => std::ptr::null_mut(),
    }
}

/// Frees a function type.
///
/// # Safety
/// `ty` must be an owned function type (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_delete(ty: *mut wasm_functype_t) {
    if !ty.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(ty) });
    }
}

/// A value: the standard's tagged union.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct wasm_val_t {
    /// The value's kind (`wasm_valkind_t`).
    pub kind: u8,
    /// The value.
    pub of: wasm_val_union,
}

/// The payload of a [`wasm_val_t`].
#[repr(C)]
#[derive(Copy, Clone)]
pub union wasm_val_union {
    /// `WASM_I32`.
    pub i32: i32,
    /// `WASM_I64`.
    pub i64: i64,
    /// `WASM_F32`.
    pub f32: f32,
    /// `WASM_F64`.
    pub f64: f64,
    /// A reference (only null references are supported so far).
    pub ref_: *mut std::ffi::c_void,
}

impl Default for wasm_val_t {
    fn default() -> Self {
        wasm_val_t { kind: WASM_EXTERNREF, of: wasm_val_union { ref_: std::ptr::null_mut() } }
    }
}

impl wasm_val_t {
    /// The value as Weft's, or why it cannot be one.
    pub(crate) fn to_val(self) -> Result<Val, String> {
        // SAFETY: each arm reads the union field its kind says was written.
        unsafe {
            Ok(match self.kind {
                WASM_I32 => Val::I32(self.of.i32),
                WASM_I64 => Val::I64(self.of.i64),
                WASM_F32 => Val::F32(self.of.f32.to_bits()),
                WASM_F64 => Val::F64(self.of.f64.to_bits()),
                WASM_EXTERNREF | WASM_FUNCREF if !self.of.ref_.is_null() => {
                    return Err("non-null references are not supported by Weft's C API yet".into());
                }
                WASM_EXTERNREF => Val::ExternRef(None),
                WASM_FUNCREF => Val::FuncRef(None),
                other => return Err(format!("unknown value kind {other}")),
            })
        }
    }

    /// Weft's value in the standard's form, or why it has none.
    pub(crate) fn from_val(val: &Val) -> Result<wasm_val_t, String> {
        Ok(match val {
            Val::I32(v) => wasm_val_t { kind: WASM_I32, of: wasm_val_union { i32: *v } },
            Val::I64(v) => wasm_val_t { kind: WASM_I64, of: wasm_val_union { i64: *v } },
            Val::F32(bits) => wasm_val_t { kind: WASM_F32, of: wasm_val_union { f32: f32::from_bits(*bits) } },
            Val::F64(bits) => wasm_val_t { kind: WASM_F64, of: wasm_val_union { f64: f64::from_bits(*bits) } },
            Val::ExternRef(None) => wasm_val_t::default(),
            Val::FuncRef(None) => wasm_val_t { kind: WASM_FUNCREF, of: wasm_val_union { ref_: std::ptr::null_mut() } },
            other => return Err(format!("{:?} values cannot be passed through Weft's C API yet", other.ty())),
        })
    }
}
