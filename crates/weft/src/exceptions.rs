//! Exception tags, exception references and exceptions that leave wasm (the exception handling proposal).

use crate::store::{StoreId, StoreOpaque};
use crate::{AsContext, AsContextMut, FuncType, Result, Val};
use weft_environ::{EntityIndex, Export, TagIndex, TypeIndex};
use weft_runtime::{VMException, VMTagDefinition, ValRaw};

/// The type of an exception tag: the types of the payload an exception with this tag carries (the parameters of a
/// function type without results).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    ty: FuncType,
}

impl TagType {
    /// The tag type whose payload has the parameter types of `ty`; `ty` must have no results.
    pub fn new(ty: FuncType) -> TagType {
        TagType { ty }
    }
    /// The function type whose parameters are the payload's types.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

impl std::fmt::Display for TagType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params = self.ty.params.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        write!(f, "(tag (param {params}))")
    }
}

/// An exception tag. A handle into its [`crate::Store`]. Every instance defines its own tags (two instances of one
/// module have different tags); an exception is caught by a `catch` clause only if its tag is that very tag.
#[derive(Copy, Clone, Debug)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) instance: usize,
    pub(crate) index: TagIndex,
}

impl Tag {
    /// Creates a host tag of type `ty`, for wasm modules to import (and for host functions to throw with).
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        let store = &mut store.as_context_mut().0.opaque;
        if !ty.ty.results.is_empty() {
            anyhow::bail!("tag type {}: a tag's function type has no results", ty.ty);
        }
        let module = weft_environ::Module {
            types: vec![ty.ty.clone()],
            tags: vec![TypeIndex::from_u32(0)],
            exports: vec![Export { name: String::new(), index: EntityIndex::Tag(TagIndex::from_u32(0)) }],
            ..Default::default()
        };
        let type_id = store.engine.signature_id(&ty.ty);
        let instance = crate::externals::host_instance_with_types(store, module, &[type_id])?;
        Ok(Tag { store: store.id, instance, index: TagIndex::from_u32(0) })
    }

    pub(crate) fn raw(&self, store: &StoreOpaque) -> *const VMTagDefinition {
        store.check(self.store);
        store.instances[self.instance].handle.tag(self.index)
    }

    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> TagType {
        // SAFETY: the tag is live (owned by this store).
        let id = unsafe { (*self.raw(store)).type_id };
        TagType { ty: (*store.engine.signature(id)).clone() }
    }

    /// The tag's type.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        self.ty_opaque(&store.as_context().0.opaque)
    }

    /// Whether two handles name the same tag.
    pub fn eq(a: &Tag, b: &Tag, store: impl AsContext) -> bool {
        let store = &store.as_context().0.opaque;
        std::ptr::eq(a.raw(store), b.raw(store))
    }
}

/// A reference to an exception (`exnref`): what `catch_ref` hands to wasm, and what an exception leaving wasm
/// carries. A handle into its store, which keeps the exception until it is dropped.
#[derive(Copy, Clone, Debug)]
pub struct ExnRef {
    pub(crate) store: StoreId,
    pub(crate) raw: *mut VMException,
}

// SAFETY: the pointer is only dereferenced through the store it belongs to (checked by id), which is used by one
// thread at a time.
unsafe impl Send for ExnRef {}
// SAFETY: as above; an `ExnRef` itself is an immutable pair of ids.
unsafe impl Sync for ExnRef {}

impl ExnRef {
    /// Creates an exception with `tag` and `payload` (whose values must have the tag's payload types), to be thrown
    /// from a host function (`Err(Exception::from(exn).into())`) or passed to wasm.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, payload: &[Val]) -> Result<ExnRef> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = tag.ty_opaque(store);
        if payload.len() != ty.ty.params.len() {
            anyhow::bail!("the tag's payload has {} values, {} given", ty.ty.params.len(), payload.len());
        }
        let mut values = Vec::with_capacity(payload.len());
        for (i, (v, t)) in payload.iter().zip(ty.ty.params.iter()).enumerate() {
            if !v.matches(store, *t) {
                anyhow::bail!("payload value {i} ({}) is not of the tag's type {t}", v.ty());
            }
            values.push(v.clone().into_raw(store)?);
        }
        let context: *mut weft_runtime::VMStoreContext = &mut *store.vm_store_context;
        // SAFETY: the store's context is live and, with the store exclusively borrowed, not otherwise in use.
        let raw = unsafe { weft_runtime::new_exception(context, tag.raw(store), values.into()) };
        Ok(ExnRef::handed_out(store, raw))
    }

    /// The handle of exception `raw` of `store`, which from now on lives as long as the store: the embedder may
    /// keep the handle, so no `catch` may free the exception.
    pub(crate) fn handed_out(store: &StoreOpaque, raw: *mut VMException) -> ExnRef {
        // SAFETY: `raw` is a live exception of `store` (the store keeps it until released, and a released one is
        // never handed out); nothing else accesses it while the store is borrowed.
        unsafe { (*raw).mark_escaped() };
        ExnRef { store: store.id, raw }
    }

    /// The exception's tag.
    pub fn tag(&self, store: impl AsContext) -> Tag {
        let store = &store.as_context().0.opaque;
        store.check(self.store);
        // SAFETY: exceptions of this store live as long as the store.
        let tag = unsafe { (*self.raw).tag };
        store.tag_for_raw(tag).expect("every tag an exception is thrown with belongs to its store")
    }

    /// The exception's payload values, in the tag's parameter order.
    pub fn payload(&self, mut store: impl AsContextMut) -> Vec<Val> {
        let tag = self.tag(&mut store);
        let store = &mut store.as_context_mut().0.opaque;
        let ty = tag.ty_opaque(store);
        // SAFETY: exceptions of this store live as long as the store.
        let raw: Vec<ValRaw> = unsafe { (*self.raw).values().to_vec() };
        raw.into_iter().zip(ty.ty.params.iter()).map(|(r, t)| Val::from_raw(store, r, *t)).collect()
    }

    /// Whether two references name the same exception.
    pub fn ptr_eq(a: &ExnRef, b: &ExnRef) -> bool {
        std::ptr::eq(a.raw, b.raw)
    }
}

/// A wasm exception as an error: what a call into wasm returns when an exception leaves it uncaught, and what a
/// host function returns to throw an exception into the wasm that called it (which its `try_table`s may catch).
///
/// ```
/// # fn main() -> weft::Result<()> {
/// use weft::*;
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], [])))?;
/// let exn = ExnRef::new(&mut store, &tag, &[Val::I32(7)])?;
/// let error: Error = Exception::from(exn).into();
/// let thrown = error.downcast_ref::<Exception>().unwrap();
/// assert_eq!(thrown.exn().payload(&mut store)[0].i32(), Some(7));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Exception {
    exn: ExnRef,
}

impl Exception {
    /// The exception.
    pub fn exn(&self) -> ExnRef {
        self.exn
    }
}

impl From<ExnRef> for Exception {
    fn from(exn: ExnRef) -> Exception {
        Exception { exn }
    }
}

impl std::fmt::Display for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("uncaught wasm exception")
    }
}

impl std::error::Error for Exception {}

impl StoreOpaque {
    /// The handle of the tag whose definition is at `raw`, if it belongs to this store.
    pub(crate) fn tag_for_raw(&self, raw: *const VMTagDefinition) -> Option<Tag> {
        self.instances.iter().enumerate().find_map(|(i, data)| {
            let module = data.handle.module();
            (0..module.tags.len() as u32).map(TagIndex::from_u32).find_map(|t| {
                std::ptr::eq(data.handle.tag(t), raw).then_some(Tag { store: self.id, instance: i, index: t })
            })
        })
    }

    /// The runtime form of an exception a host function returned, if `error` is one of this store.
    pub(crate) fn exception_to_throw(&self, error: &anyhow::Error) -> Option<weft_runtime::ExceptionPtr> {
        let exception = error.downcast_ref::<Exception>()?;
        (exception.exn.store == self.id).then_some(weft_runtime::ExceptionPtr(exception.exn.raw))
    }
}
