//! Runtime values.

use crate::store::StoreOpaque;
use crate::{Func, Result, ValType};
use std::any::Any;
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
    ExternRef(Option<Rooted<ExternRef>>),
    /// An `exnref` (`None` is the null reference).
    ExnRef(Option<crate::ExnRef>),
}

/// A host value passed to wasm as an `externref`: any `'static + Send + Sync` Rust value, owned by the store it was
/// created in. A handle: cheap to copy, usable only with that store.
///
/// Wasm cannot look inside it, only pass it around, store it in tables and globals, and hand it back. **Lifetime:**
/// the store keeps every `externref` value until the store is dropped; Weft has no garbage collector yet (see
/// [`crate::Store::gc`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: crate::store::StoreId,
    pub(crate) index: usize,
}

impl ExternRef {
    /// Moves `value` into `store` as a new `externref`. Wasmtime's shape: the `Result` can hold a
    /// [`GcHeapOutOfMemory`] there; Weft's store has no separate heap and never returns that error.
    pub fn new<T: Any + Send + Sync>(mut store: impl crate::AsContextMut, value: T) -> Result<Rooted<ExternRef>> {
        let opaque = &mut store.as_context_mut().0.opaque;
        let index = opaque.extern_data.len();
        opaque.extern_data.push(Box::new(ExternData { value: Box::new(value), index }));
        Ok(Rooted { inner: ExternRef { store: opaque.id, index } })
    }

    /// The wrapped value (`Some` always: Weft's `externref`s are all host values; Wasmtime returns `None` for one
    /// made from a GC reference by `extern.convert_any`). Fails if the reference belongs to another store.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContext<'a, T>>,
    ) -> Result<Option<&'a (dyn Any + Send + Sync)>> {
        let opaque = &store.into().0.opaque;
        Ok(Some(&*opaque.extern_data[self.checked_index(opaque)?].value))
    }

    /// The wrapped value, mutably (see [`ExternRef::data`]).
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> Result<Option<&'a mut (dyn Any + Send + Sync)>> {
        let opaque = &mut store.into().0.opaque;
        let index = self.checked_index(opaque)?;
        Ok(Some(&mut *opaque.extern_data[index].value))
    }

    /// Whether two handles name the same `externref` (the same value, in the same store).
    pub fn ptr_eq(a: &ExternRef, b: &ExternRef) -> bool {
        a == b
    }

    fn checked_index(&self, store: &StoreOpaque) -> Result<usize> {
        if self.store != store.id {
            anyhow::bail!("an externref of another store cannot be used here");
        }
        Ok(self.index)
    }

    /// The address wasm holds for this reference.
    fn raw(&self, store: &mut StoreOpaque) -> Result<*mut u8> {
        let index = self.checked_index(store)?;
        let data: *mut ExternData = &mut *store.extern_data[index];
        Ok(data.cast())
    }
}

/// A reference held by the host, in Wasmtime's shape: Wasmtime roots GC references so its collector keeps them;
/// Weft's store keeps every reference until it is dropped, so a `Rooted<T>` is just the handle `T`, reached through
/// `Deref`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rooted<T> {
    inner: T,
}

impl<T> std::ops::Deref for Rooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl Rooted<ExternRef> {
    /// Whether `a` and `b` are the same reference; fails if either belongs to another store than `store`.
    pub fn ref_eq(store: impl crate::AsContext, a: &Rooted<ExternRef>, b: &Rooted<ExternRef>) -> Result<bool> {
        let opaque = &store.as_context().0.opaque;
        a.checked_index(opaque)?;
        b.checked_index(opaque)?;
        Ok(a.inner == b.inner)
    }

    /// The handle.
    pub fn into_inner(self) -> ExternRef {
        self.inner
    }
}

impl From<ExternRef> for Rooted<ExternRef> {
    fn from(inner: ExternRef) -> Self {
        Rooted { inner }
    }
}

/// Wasmtime's error for a full GC heap, carrying the value that could not be allocated. Weft's store has no separate
/// heap, so it never returns this; the type exists so that code handling it compiles.
#[derive(Debug)]
pub struct GcHeapOutOfMemory<T> {
    inner: T,
}

impl<T> GcHeapOutOfMemory<T> {
    /// The error around `inner`.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }
    /// The value, and the error without it.
    pub fn take_inner(self) -> (T, GcHeapOutOfMemory<()>) {
        (self.inner, GcHeapOutOfMemory { inner: () })
    }
}

impl<T> std::fmt::Display for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GC heap out of memory")
    }
}

impl<T: std::fmt::Debug> std::error::Error for GcHeapOutOfMemory<T> {}

/// What an `externref` raw value points to: owned by the store, at a stable address.
pub(crate) struct ExternData {
    value: Box<dyn Any + Send + Sync>,
    /// Its position in the store's list, which is the `ExternRef`'s index.
    index: usize,
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
    /// The `externref` (`Some(None)` for null), if it is one.
    pub fn externref(&self) -> Option<Option<&Rooted<ExternRef>>> {
        if let Val::ExternRef(r) = self { Some(r.as_ref()) } else { None }
    }
    /// The `externref` (`None` for null); panics if the value is not one (Wasmtime's name).
    pub fn unwrap_externref(&self) -> Option<&Rooted<ExternRef>> {
        self.externref().expect("the value is not an externref")
    }
    /// The same as [`Val::unwrap_externref`] (Wasmtime has both names).
    pub fn unwrap_extern(&self) -> Option<&Rooted<ExternRef>> {
        self.unwrap_externref()
    }
    /// The `i32`; panics if the value is not one (Wasmtime's name).
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("the value is not an i32")
    }
    /// The `i64`; panics if the value is not one.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("the value is not an i64")
    }
    /// The `f32`; panics if the value is not one.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("the value is not an f32")
    }
    /// The `f64`; panics if the value is not one.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("the value is not an f64")
    }
    /// The `v128` as a little-endian `u128`; panics if the value is not one.
    pub fn unwrap_v128(&self) -> u128 {
        self.v128().expect("the value is not a v128")
    }
    /// The `funcref` (`None` for null); panics if the value is not one.
    pub fn unwrap_funcref(&self) -> Option<&Func> {
        self.funcref().expect("the value is not a funcref")
    }
    /// The null `funcref`.
    pub fn null_func_ref() -> Val {
        Val::FuncRef(None)
    }
    /// The null `externref`.
    pub fn null_extern_ref() -> Val {
        Val::ExternRef(None)
    }
    /// The `funcref` (`Some(None)` for null), if it is one.
    pub fn funcref(&self) -> Option<Option<&Func>> {
        if let Val::FuncRef(f) = self { Some(f.as_ref()) } else { None }
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
            Val::ExternRef(Some(r)) => ValRaw::ptr(r.raw(store)?),
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
                if data.is_null() {
                    return Val::ExternRef(None);
                }
                // SAFETY: a non-null externref raw value is a pointer this store handed out from `extern_data`, and
                // the store keeps that allocation until it is dropped.
                let index = unsafe { (*data).index };
                Val::ExternRef(Some(Rooted { inner: ExternRef { store: store.id, index } }))
            }
        }
    }
}

impl From<Option<Rooted<ExternRef>>> for Val {
    fn from(r: Option<Rooted<ExternRef>>) -> Val {
        Val::ExternRef(r)
    }
}
impl From<Rooted<ExternRef>> for Val {
    fn from(r: Rooted<ExternRef>) -> Val {
        Val::ExternRef(Some(r))
    }
}
impl From<Option<Func>> for Val {
    fn from(f: Option<Func>) -> Val {
        Val::FuncRef(f)
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
