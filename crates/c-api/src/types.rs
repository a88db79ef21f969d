//! Value types, function types and values.

use crate::engine::{StoreCell, StoreData};
use crate::object::{Object, wasm_ref_t};
use std::rc::Rc;
use weft::{ExternType, FuncType, GlobalType, Limits, MemoryType, StoreContextMut, TableType, Val, ValType};

/// A value type.
#[derive(Clone)]
pub struct wasm_valtype_t {
    pub(crate) ty: ValType,
}

/// An external type: the object behind `wasm_externtype_t` and each of its kinds (a `wasm_functype_t` is one
/// of these known to be a function type, so the standard's casts between them are pointer casts). Each kind keeps
/// the pieces it hands out as borrowed pointers.
pub struct wasm_externtype_t {
    pub(crate) which: ExternKind,
}

pub(crate) enum ExternKind {
    Func { ty: FuncType, params: crate::wasm_valtype_vec_t, results: crate::wasm_valtype_vec_t },
    Global { ty: GlobalType, content: wasm_valtype_t },
    Table { ty: TableType, element: wasm_valtype_t, limits: wasm_limits_t },
    Memory { ty: MemoryType, limits: wasm_limits_t },
}

/// A function type.
#[repr(transparent)]
pub struct wasm_functype_t {
    ext: wasm_externtype_t,
}
/// A global's type.
#[repr(transparent)]
pub struct wasm_globaltype_t {
    ext: wasm_externtype_t,
}
/// A table's type.
#[repr(transparent)]
pub struct wasm_tabletype_t {
    ext: wasm_externtype_t,
}
/// A memory's type.
#[repr(transparent)]
pub struct wasm_memorytype_t {
    ext: wasm_externtype_t,
}

impl wasm_globaltype_t {
    /// Weft's type.
    pub(crate) fn ty(&self) -> ExternType {
        self.ext.ty()
    }
}

impl wasm_tabletype_t {
    /// Weft's type.
    pub(crate) fn ty(&self) -> ExternType {
        self.ext.ty()
    }
}

impl wasm_memorytype_t {
    pub(crate) fn from_type(ty: MemoryType) -> wasm_memorytype_t {
        wasm_memorytype_t { ext: wasm_externtype_t::new(ExternType::Memory(ty)) }
    }

    /// Weft's type.
    pub(crate) fn ty(&self) -> ExternType {
        self.ext.ty()
    }
}

/// Size limits: `max` is `u32::MAX` when there is none.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct wasm_limits_t {
    /// Initial size.
    pub min: u32,
    /// Maximum size, or `u32::MAX`.
    pub max: u32,
}

impl wasm_limits_t {
    fn from_limits(l: &Limits) -> wasm_limits_t {
        wasm_limits_t {
            min: l.min.min(u64::from(u32::MAX)) as u32,
            max: l.max.map_or(u32::MAX, |m| m.min(u64::from(u32::MAX)) as u32),
        }
    }
    fn to_limits(self) -> Limits {
        Limits { min: u64::from(self.min), max: (self.max != u32::MAX).then_some(u64::from(self.max)) }
    }
}

impl wasm_externtype_t {
    /// The C object for Weft's type.
    pub(crate) fn new(ty: ExternType) -> wasm_externtype_t {
        let which = match ty {
            ExternType::Func(ty) => {
                let boxed = |t: &ValType| Box::into_raw(Box::new(wasm_valtype_t { ty: *t }));
                let mut params = crate::wasm_valtype_vec_t { size: 0, data: std::ptr::null_mut() };
                params.set(ty.params.iter().map(boxed).collect());
                let mut results = crate::wasm_valtype_vec_t { size: 0, data: std::ptr::null_mut() };
                results.set(ty.results.iter().map(boxed).collect());
                ExternKind::Func { ty, params, results }
            }
            ExternType::Global(ty) => ExternKind::Global { content: wasm_valtype_t { ty: ty.content }, ty },
            ExternType::Table(ty) => ExternKind::Table {
                element: wasm_valtype_t { ty: ty.element },
                limits: wasm_limits_t::from_limits(&ty.limits),
                ty,
            },
            ExternType::Memory(ty) => ExternKind::Memory { limits: wasm_limits_t::from_limits(&ty.limits), ty },
            // The standard has no tags; a tag shows as the function type of its payload.
            ExternType::Tag(tag) => return wasm_externtype_t::new(ExternType::Func(tag.ty().clone())),
        };
        wasm_externtype_t { which }
    }

    /// Weft's type.
    pub(crate) fn ty(&self) -> ExternType {
        match &self.which {
            ExternKind::Func { ty, .. } => ExternType::Func(ty.clone()),
            ExternKind::Global { ty, .. } => ExternType::Global(*ty),
            ExternKind::Table { ty, .. } => ExternType::Table(*ty),
            ExternKind::Memory { ty, .. } => ExternType::Memory(*ty),
        }
    }

    fn kind(&self) -> u8 {
        match self.which {
            ExternKind::Func { .. } => 0,
            ExternKind::Global { .. } => 1,
            ExternKind::Table { .. } => 2,
            ExternKind::Memory { .. } => 3,
        }
    }
}

impl Drop for wasm_externtype_t {
    fn drop(&mut self) {
        if let ExternKind::Func { params, results, .. } = &mut self.which {
            // SAFETY: both vectors were made by `new` and are owned by this type.
            unsafe {
                crate::wasm_valtype_vec_delete(params);
                crate::wasm_valtype_vec_delete(results);
            }
        }
    }
}

impl wasm_functype_t {
    pub(crate) fn new(ty: FuncType) -> wasm_functype_t {
        wasm_functype_t { ext: wasm_externtype_t::new(ExternType::Func(ty)) }
    }
    pub(crate) fn func_type(&self) -> &FuncType {
        match &self.ext.which {
            ExternKind::Func { ty, .. } => ty,
            _ => unreachable!("a wasm_functype_t holds a function type"),
        }
    }
}

/// Boxes `value` for C.
pub(crate) fn boxed<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Defines `delete` and `copy` for a type behind a box.
macro_rules! delete_and_copy_fns {
    ($ty:ident, $delete:ident, $copy:ident, |$t:ident| $clone:expr) => {
        /// Frees it.
        ///
        /// # Safety
        /// `ptr` must be owned (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(ptr: *mut $ty) {
            if !ptr.is_null() {
                // SAFETY: the caller's guarantee.
                drop(unsafe { Box::from_raw(ptr) });
            }
        }

        /// A copy.
        ///
        /// # Safety
        /// `ptr` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(ptr: *const $ty) -> *mut $ty {
            // SAFETY: the caller's guarantee.
            match unsafe { ptr.as_ref() } {
                Some($t) => $crate::types::boxed($clone),
                None => std::ptr::null_mut(),
            }
        }
    };
}
pub(crate) use delete_and_copy_fns;

delete_and_copy_fns!(wasm_externtype_t, wasm_externtype_delete, wasm_externtype_copy, |t| wasm_externtype_t::new(
    t.ty()
));
delete_and_copy_fns!(wasm_functype_t, wasm_functype_delete, wasm_functype_copy, |t| wasm_functype_t {
    ext: wasm_externtype_t::new(t.ext.ty())
});
delete_and_copy_fns!(wasm_globaltype_t, wasm_globaltype_delete, wasm_globaltype_copy, |t| wasm_globaltype_t {
    ext: wasm_externtype_t::new(t.ext.ty())
});
delete_and_copy_fns!(wasm_tabletype_t, wasm_tabletype_delete, wasm_tabletype_copy, |t| wasm_tabletype_t {
    ext: wasm_externtype_t::new(t.ext.ty())
});
delete_and_copy_fns!(wasm_memorytype_t, wasm_memorytype_delete, wasm_memorytype_copy, |t| wasm_memorytype_t {
    ext: wasm_externtype_t::new(t.ext.ty())
});

/// The external type's kind (`wasm_externkind_t`).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_externtype_kind(ty: *const wasm_externtype_t) -> u8 {
    // SAFETY: the caller's guarantee.
    unsafe { ty.as_ref() }.map_or(0, |t| t.kind())
}

/// Defines the standard's casts between `wasm_externtype_t` and one of its kinds (pointer casts: the same object).
macro_rules! externtype_casts {
    ($ty:ident, $kind:pat, $as_ext:ident, $as_ext_const:ident, $from_ext:ident, $from_ext_const:ident) => {
        /// The same object as an external type.
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_ext(ty: *mut $ty) -> *mut wasm_externtype_t {
            ty.cast()
        }
        /// The same object as an external type.
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_ext_const(ty: *const $ty) -> *const wasm_externtype_t {
            ty.cast()
        }
        /// The same object as this kind; NULL if it is of another kind.
        ///
        /// # Safety
        /// `ty` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ext(ty: *mut wasm_externtype_t) -> *mut $ty {
            // SAFETY: the caller's guarantee.
            match unsafe { ty.as_ref() }.map(|t| &t.which) {
                Some($kind) => ty.cast(),
                _ => std::ptr::null_mut(),
            }
        }
        /// The same object as this kind; NULL if it is of another kind.
        ///
        /// # Safety
        /// `ty` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ext_const(ty: *const wasm_externtype_t) -> *const $ty {
            // SAFETY: the caller's guarantee.
            unsafe { $from_ext(ty.cast_mut()) }
        }
    };
}

externtype_casts!(
    wasm_functype_t,
    ExternKind::Func { .. },
    wasm_functype_as_externtype,
    wasm_functype_as_externtype_const,
    wasm_externtype_as_functype,
    wasm_externtype_as_functype_const
);
externtype_casts!(
    wasm_globaltype_t,
    ExternKind::Global { .. },
    wasm_globaltype_as_externtype,
    wasm_globaltype_as_externtype_const,
    wasm_externtype_as_globaltype,
    wasm_externtype_as_globaltype_const
);
externtype_casts!(
    wasm_tabletype_t,
    ExternKind::Table { .. },
    wasm_tabletype_as_externtype,
    wasm_tabletype_as_externtype_const,
    wasm_externtype_as_tabletype,
    wasm_externtype_as_tabletype_const
);
externtype_casts!(
    wasm_memorytype_t,
    ExternKind::Memory { .. },
    wasm_memorytype_as_externtype,
    wasm_memorytype_as_externtype_const,
    wasm_externtype_as_memorytype,
    wasm_externtype_as_memorytype_const
);

/// A global type, taking `content`; `mutability` 0 is const, 1 var. NULL for a NULL content.
///
/// # Safety
/// `content` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_new(content: *mut wasm_valtype_t, mutability: u8) -> *mut wasm_globaltype_t {
    if content.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the caller's guarantee; ownership passes to us.
    let content = unsafe { Box::from_raw(content) }.ty;
    let ty = GlobalType { content, mutable: mutability != 0 };
    boxed(wasm_globaltype_t { ext: wasm_externtype_t::new(ExternType::Global(ty)) })
}

/// The global's value type (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_content(ty: *const wasm_globaltype_t) -> *const wasm_valtype_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Global { content, .. }) => content,
        _ => std::ptr::null(),
    }
}

/// 0 (const) or 1 (var).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_mutability(ty: *const wasm_globaltype_t) -> u8 {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Global { ty, .. }) => u8::from(ty.mutable),
        _ => 0,
    }
}

/// A table type, taking `element`; NULL if it is not a reference type.
///
/// # Safety
/// `element` must be owned (or NULL), `limits` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_new(
    element: *mut wasm_valtype_t,
    limits: *const wasm_limits_t,
) -> *mut wasm_tabletype_t {
    // SAFETY: the caller's guarantee.
    let Some(limits) = (unsafe { limits.as_ref() }) else { return std::ptr::null_mut() };
    if element.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the caller's guarantee; ownership passes to us.
    let element = unsafe { Box::from_raw(element) }.ty;
    if !element.is_ref() {
        return std::ptr::null_mut();
    }
    let ty = TableType { element, limits: limits.to_limits(), table64: false };
    boxed(wasm_tabletype_t { ext: wasm_externtype_t::new(ExternType::Table(ty)) })
}

/// The table's element type (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_element(ty: *const wasm_tabletype_t) -> *const wasm_valtype_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Table { element, .. }) => element,
        _ => std::ptr::null(),
    }
}

/// The table's limits (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_limits(ty: *const wasm_tabletype_t) -> *const wasm_limits_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Table { limits, .. }) => limits,
        _ => std::ptr::null(),
    }
}

/// A memory type of `limits` (in pages).
///
/// # Safety
/// `limits` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_new(limits: *const wasm_limits_t) -> *mut wasm_memorytype_t {
    // SAFETY: the caller's guarantee.
    let Some(limits) = (unsafe { limits.as_ref() }) else { return std::ptr::null_mut() };
    let ty = MemoryType { limits: limits.to_limits(), memory64: false };
    boxed(wasm_memorytype_t { ext: wasm_externtype_t::new(ExternType::Memory(ty)) })
}

/// The memory's limits in pages (borrowed).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_limits(ty: *const wasm_memorytype_t) -> *const wasm_limits_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Memory { limits, .. }) => limits,
        _ => std::ptr::null(),
    }
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
        (Some(p), Some(r)) => boxed(wasm_functype_t::new(FuncType::new(p, r))),
        _ => std::ptr::null_mut(),
    }
}

/// The parameter types (borrowed from `ty`).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_params(ty: *const wasm_functype_t) -> *const crate::wasm_valtype_vec_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Func { params, .. }) => params,
        _ => std::ptr::null(),
    }
}

/// The result types (borrowed from `ty`).
///
/// # Safety
/// `ty` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_results(ty: *const wasm_functype_t) -> *const crate::wasm_valtype_vec_t {
    // SAFETY: the caller's guarantee.
    match unsafe { ty.as_ref() }.map(|t| &t.ext.which) {
        Some(ExternKind::Func { results, .. }) => results,
        _ => std::ptr::null(),
    }
}

/// A value: the standard's tagged union. A non-null reference in it is a `wasm_ref_t` handle, owned by whoever
/// owns the value (`wasm_val_delete` frees it, `wasm_val_copy` copies it).
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
    /// `WASM_EXTERNREF` and `WASM_FUNCREF`: NULL is the null reference.
    pub ref_: *mut wasm_ref_t,
}

impl Default for wasm_val_t {
    fn default() -> Self {
        wasm_val_t { kind: WASM_EXTERNREF, of: wasm_val_union { ref_: std::ptr::null_mut() } }
    }
}

impl wasm_val_t {
    /// The reference this value holds, if it is a non-null reference.
    fn reference(&self) -> Option<&wasm_ref_t> {
        if self.kind != WASM_EXTERNREF && self.kind != WASM_FUNCREF {
            return None;
        }
        // SAFETY: a reference kind's payload is the `ref_` field, NULL or a live handle (the C API's contract).
        unsafe { self.of.ref_.as_ref() }
    }

    /// Frees the reference this value owns, if any.
    pub(crate) fn free(self) {
        if self.kind == WASM_EXTERNREF || self.kind == WASM_FUNCREF {
            // SAFETY: a value's reference is an owned handle (or NULL), freed once, here.
            unsafe { crate::object::wasm_ref_delete(self.of.ref_) };
        }
    }

    /// A copy owning its own reference handle.
    pub(crate) fn deep_copy(&self) -> wasm_val_t {
        match self.reference() {
            Some(r) => wasm_val_t { kind: self.kind, of: wasm_val_union { ref_: crate::object::into_c(r.copy()) } },
            None => *self,
        }
    }

    /// Weft's value for this one, in `cell`'s store (reached through `cx`), or why it cannot be one. The value's
    /// reference, if any, is only borrowed.
    pub(crate) fn to_val(self, cx: &mut StoreContextMut<'_, StoreData>, cell: &Rc<StoreCell>) -> Result<Val, String> {
        // SAFETY: each arm reads the union field its kind says was written.
        unsafe {
            Ok(match self.kind {
                WASM_I32 => Val::I32(self.of.i32),
                WASM_I64 => Val::I64(self.of.i64),
                WASM_F32 => Val::F32(self.of.f32.to_bits()),
                WASM_F64 => Val::F64(self.of.f64.to_bits()),
                WASM_EXTERNREF => {
                    ref_to_val(self.reference(), &ValType::ExternRef, cx, cell).map_err(|e| e.to_string())?
                }
                WASM_FUNCREF => ref_to_val(self.reference(), &ValType::FuncRef, cx, cell).map_err(|e| e.to_string())?,
                other => return Err(format!("unknown value kind {other}")),
            })
        }
    }

    /// The standard's form of Weft's value (a reference becomes a new handle the result owns), or why it has none.
    pub(crate) fn from_val(
        val: &Val,
        cx: &mut StoreContextMut<'_, StoreData>,
        cell: &Rc<StoreCell>,
    ) -> Result<wasm_val_t, String> {
        let reference = |kind: u8, r: Option<wasm_ref_t>| wasm_val_t {
            kind,
            of: wasm_val_union { ref_: r.map_or(std::ptr::null_mut(), crate::object::into_c) },
        };
        Ok(match val {
            Val::I32(v) => wasm_val_t { kind: WASM_I32, of: wasm_val_union { i32: *v } },
            Val::I64(v) => wasm_val_t { kind: WASM_I64, of: wasm_val_union { i64: *v } },
            Val::F32(bits) => wasm_val_t { kind: WASM_F32, of: wasm_val_union { f32: f32::from_bits(*bits) } },
            Val::F64(bits) => wasm_val_t { kind: WASM_F64, of: wasm_val_union { f64: f64::from_bits(*bits) } },
            Val::FuncRef(_) => reference(WASM_FUNCREF, val_to_ref(val, cx, cell)),
            Val::ExternRef(_) => reference(WASM_EXTERNREF, val_to_ref(val, cx, cell)),
            other => return Err(format!("{:?} values have no form in the standard C API", other.ty())),
        })
    }
}

/// Weft's value for a (borrowed) reference stored where `ty` is expected: NULL is that type's null; a function
/// fits a function reference type; anything else travels as an `externref` (a foreign object as itself, other
/// objects wrapped, coming back out as themselves).
pub(crate) fn ref_to_val(
    r: Option<&wasm_ref_t>,
    ty: &ValType,
    cx: &mut StoreContextMut<'_, StoreData>,
    cell: &Rc<StoreCell>,
) -> anyhow::Result<Val> {
    let Some(r) = r else { return Ok(Val::default_for(*ty)) };
    if !Rc::ptr_eq(&r.store, cell) {
        anyhow::bail!("a reference of another store cannot be used here");
    }
    if *ty == ValType::ExternRef {
        return Ok(Val::ExternRef(Some(crate::object::externref_of_object(cx, &r.object)?.into())));
    }
    match r.object {
        Object::Extern(weft::Extern::Func(f)) => Ok(Val::FuncRef(Some(f))),
        _ => anyhow::bail!("only a function can be stored where a function reference is expected"),
    }
}

/// A new handle for a reference value (`None` for null and for values that are not references).
pub(crate) fn val_to_ref(
    val: &Val,
    cx: &mut StoreContextMut<'_, StoreData>,
    cell: &Rc<StoreCell>,
) -> Option<wasm_ref_t> {
    let object = match val {
        Val::FuncRef(Some(f)) => Object::Extern(weft::Extern::Func(*f)),
        Val::ExternRef(Some(r)) => crate::object::object_of_externref(cx, **r),
        _ => return None,
    };
    Some(wasm_ref_t::new(cell, object))
}

/// Frees the value's reference, if it holds one.
///
/// # Safety
/// `value` must be a valid value whose reference (if any) is owned (or `value` NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_delete(value: *mut wasm_val_t) {
    // SAFETY: the caller's guarantee.
    if let Some(value) = unsafe { value.as_mut() } {
        std::mem::take(value).free();
    }
}

/// Copies `source` into `out` (a reference is copied: `out` owns its own handle).
///
/// # Safety
/// `out` must be valid for writes and `source` a valid value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_copy(out: *mut wasm_val_t, source: *const wasm_val_t) {
    // SAFETY: the caller's guarantee.
    if let (Some(out), Some(source)) = (unsafe { out.as_mut() }, unsafe { source.as_ref() }) {
        *out = source.deep_copy();
    }
}
