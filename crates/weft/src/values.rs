//! Runtime values.

use crate::store::StoreOpaque;
use crate::{Func, Result, ValType};
use std::any::Any;
use std::sync::Arc;
use weft_runtime::ValRaw;

/// A WebAssembly value.
#[derive(Clone, Debug)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits (so NaN payloads survive).
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref` (`None` is the null reference).
    FuncRef(Option<Func>),
    /// An `externref` (`None` is the null reference).
    ExternRef(Option<ExternRef>),
    /// An `exnref` (`None` is the null reference).
    ExnRef(Option<crate::ExnRef>),
}

/// A host value passed to wasm as an `externref`: any `'static + Send + Sync` Rust value. Cheap to clone.
///
/// Wasm cannot look inside it, only pass it around, store it in tables and globals, and hand it back. **Lifetime:**
/// once an `ExternRef` has been passed into a store (as an argument, a global or table value, or a host function's
/// result), that store keeps the value alive until the store is dropped, since wasm may still hold it; Weft has no
/// garbage collector yet.
#[derive(Clone)]
pub struct ExternRef {
    inner: Arc<dyn Any + Send + Sync>,
}

impl ExternRef {
    /// Wraps `value`.
    pub fn new<T: Any + Send + Sync>(value: T) -> ExternRef {
        ExternRef { inner: Arc::new(value) }
    }
    /// The wrapped value.
    pub fn data(&self) -> &(dyn Any + Send + Sync) {
        &*self.inner
    }
    /// Whether two references wrap the same value (the same allocation).
    pub fn ptr_eq(a: &ExternRef, b: &ExternRef) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

impl std::fmt::Debug for ExternRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternRef").finish_non_exhaustive()
    }
}

/// What an `externref` raw value points to: owned by the store, at a stable address.
pub(crate) struct ExternData {
    value: Arc<dyn Any + Send + Sync>,
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::EXNREF,
        }
    }
    /// The `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self { Some(*v) } else { None }
    }
    /// The `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self { Some(*v) } else { None }
    }
    /// The `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self { Some(f32::from_bits(*v)) } else { None }
    }
    /// The `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self { Some(f64::from_bits(*v)) } else { None }
    }
    /// The `v128` (as a little-endian `u128`), if it is one.
    pub fn v128(&self) -> Option<u128> {
        if let Val::V128(v) = self { Some(*v) } else { None }
    }
    /// A zero (or null) value of type `ty`.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
            // A non-nullable type has no default; null stands in until a real value replaces it.
            ValType::Ref(_) if ty.is_func_ref() => Val::FuncRef(None),
            ValType::Ref(_) if ty.is_exn_ref() => Val::ExnRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        }
    }

    /// Whether this value is of type `ty` (in engine-wide terms, as the API reports types): numbers by their type,
    /// references by subtyping, a function by its type for `(ref $t)`, and null only for nullable types.
    pub(crate) fn matches(&self, store: &StoreOpaque, ty: ValType) -> bool {
        use weft_environ::HeapType;
        match (self, ty.as_ref_parts()) {
            (Val::FuncRef(None), Some((nullable, _))) => nullable && ty.is_func_ref(),
            (Val::ExternRef(None), Some((nullable, _))) => nullable && !ty.is_func_ref() && !ty.is_exn_ref(),
            (Val::ExnRef(None), Some((nullable, _))) => nullable && ty.is_exn_ref(),
            (Val::ExnRef(Some(e)), Some((_, heap))) => heap == HeapType::Exn && e.store == store.id,
            (Val::FuncRef(Some(f)), Some((_, heap))) => {
                store.id == f.store
                    && match heap {
                        HeapType::Func => true,
                        HeapType::Concrete(id) => f.type_id(store) == id,
                        _ => false,
                    }
            }
            (Val::ExternRef(Some(_)), Some((_, heap))) => heap == HeapType::Extern,
            (v, _) => v.ty() == ty,
        }
    }

    pub(crate) fn into_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::ExternRef(None) => ValRaw::ptr(std::ptr::null_mut()),
            Val::ExternRef(Some(r)) => ValRaw::ptr(store.extern_data(r.inner).cast()),
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(v) => ValRaw::f32(v),
            Val::F64(v) => ValRaw::f64(v),
            Val::V128(v) => ValRaw::u128(v),
            Val::FuncRef(None) | Val::ExnRef(None) => ValRaw::ptr(std::ptr::null_mut()),
            Val::ExnRef(Some(e)) => {
                if e.store != store.id {
                    anyhow::bail!("an exception from another store cannot be used here");
                }
                ValRaw::ptr(e.raw.cast())
            }
            Val::FuncRef(Some(f)) => {
                if f.store != store.id {
                    anyhow::bail!("a function from another store cannot be used here");
                }
                ValRaw::ptr(store.funcs[f.index].as_ptr().cast())
            }
        })
    }

    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32()),
            ValType::F64 => Val::F64(raw.get_f64()),
            ValType::V128 => Val::V128(raw.get_u128()),
            ValType::FuncRef => Val::FuncRef(
                std::ptr::NonNull::new(raw.get_ptr().cast())
                    .map(|p| Func { store: store.id, index: store.func_for_ref(p) }),
            ),
            ValType::Ref(_) if ty.is_func_ref() => Val::from_raw(store, raw, ValType::FuncRef),
            ValType::Ref(_) if ty.is_exn_ref() => {
                Val::ExnRef((!raw.get_ptr().is_null()).then(|| crate::ExnRef::handed_out(store, raw.get_ptr().cast())))
            }
            ValType::ExternRef | ValType::Ref(_) => {
                let data = raw.get_ptr() as *const ExternData;
                // SAFETY: a non-null externref raw value is a pointer this store handed out from `extern_data`, and
                // the store keeps that allocation until it is dropped.
                Val::ExternRef((!data.is_null()).then(|| ExternRef { inner: unsafe { (*data).value.clone() } }))
            }
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

impl StoreOpaque {
    /// The stable address representing `value` inside wasm; the store keeps it alive until it is dropped.
    pub(crate) fn extern_data(&mut self, value: Arc<dyn Any + Send + Sync>) -> *mut ExternData {
        let key = Arc::as_ptr(&value) as *const () as usize;
        if let Some(p) = self.extern_index.get(&key) {
            return *p as *mut ExternData;
        }
        let mut data = Box::new(ExternData { value });
        let ptr: *mut ExternData = &mut *data;
        self.extern_data.push(data);
        self.extern_index.insert(key, ptr as usize);
        ptr
    }
}
