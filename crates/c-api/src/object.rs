//! Reference objects: everything the standard lets C hold as a `wasm_ref_t` (externals, instances, modules, traps,
//! foreign objects), their host info, identity and copies.
//!
//! Every such handle is one Rust type, [`wasm_ref_t`]; `wasm_func_t`, `wasm_instance_t` and the rest are that type
//! known to hold one kind of object, so the standard's casts (`wasm_func_as_ref`, `wasm_ref_as_func`,
//! `wasm_func_as_extern`) are pointer casts and `wasm_ref_delete` frees a handle of any kind. A handle is a box;
//! copies are new boxes naming the same object, so `*_same` compares objects, not handles.
//!
//! Host info belongs to the object, not the handle: copies and handles obtained later (an export read twice, an
//! `externref` coming back out of wasm) see the same info. Objects a store owns (functions, globals, tables,
//! memories, instances) keep theirs in the store, whose deletion runs the finalizers; modules, traps and foreign
//! objects carry theirs and run the finalizer when the last handle goes (for a foreign object: when its store goes,
//! since wasm may still hold it).

use crate::engine::{StoreCell, StoreData, with_store};
use std::collections::HashMap;
use std::ffi::c_void;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use weft::{ExternRef, Func, Instance, Module, StoreContextMut};

/// A finalizer for host info.
pub(crate) type Finalizer = unsafe extern "C" fn(*mut c_void);

/// C's host info: a pointer and the finalizer to call with it when the object goes (or the info is replaced).
pub(crate) struct HostInfo {
    data: *mut c_void,
    finalizer: Option<Finalizer>,
}

// SAFETY: the pointer is C's, never dereferenced here; it is handed back to C (to a getter or the finalizer), and
// C decides what threads may see it.
unsafe impl Send for HostInfo {}
// SAFETY: as above; nothing is reached through a shared `HostInfo`.
unsafe impl Sync for HostInfo {}

impl Drop for HostInfo {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            // SAFETY: C gave this finalizer for this pointer, to be called once when the info goes.
            unsafe { finalizer(self.data) };
        }
    }
}

/// An object that carries its own host info (shared by all its handles).
pub(crate) struct Shared<T> {
    pub(crate) value: T,
    info: Mutex<Option<HostInfo>>,
}

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Arc<Shared<T>> {
        Arc::new(Shared { value, info: Mutex::new(None) })
    }
}

/// What an `externref` made by this library holds: a foreign object (with its host info), or another object passed
/// to wasm as an `externref` (which comes back out as that object).
pub(crate) enum RefData {
    Foreign(Mutex<Option<HostInfo>>),
    Wrapped(Object),
}

/// A trap's contents: the error and its frames, resolved when it was made.
pub(crate) struct TrapData {
    pub(crate) error: anyhow::Error,
    pub(crate) frames: Vec<crate::trap::FrameData>,
}

/// The object behind a handle.
#[derive(Clone)]
pub(crate) enum Object {
    Extern(weft::Extern),
    Instance(Instance),
    Module(Arc<Shared<Module>>),
    Trap(Arc<Shared<TrapData>>),
    Foreign(ExternRef),
}

/// A store-owned object found by hashing.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
enum OwnedKey {
    Func(Func),
    Instance(Instance),
}

/// The host info of a store's own objects (functions, instances, globals, tables, memories), kept in the order it
/// was first set, which is the order the finalizers run in when the store goes.
#[derive(Default)]
pub(crate) struct StoreHostInfo {
    slots: Vec<Option<HostInfo>>,
    index: HashMap<OwnedKey, usize>,
    /// Globals, tables and memories, found with `same` (one can be reached through several instances).
    others: Vec<(weft::Extern, usize)>,
}

/// A reference: a handle to any object of a store.
pub struct wasm_ref_t {
    pub(crate) store: Rc<StoreCell>,
    pub(crate) object: Object,
}

impl wasm_ref_t {
    pub(crate) fn new(store: &Rc<StoreCell>, object: Object) -> wasm_ref_t {
        wasm_ref_t { store: store.clone(), object }
    }

    /// A new handle to the same object.
    pub(crate) fn copy(&self) -> wasm_ref_t {
        wasm_ref_t { store: self.store.clone(), object: self.object.clone() }
    }

    pub(crate) fn as_extern(&self) -> Option<weft::Extern> {
        match self.object {
            Object::Extern(e) => Some(e),
            _ => None,
        }
    }

    /// Whether both handles name the same object.
    pub(crate) fn same(&self, other: &wasm_ref_t) -> bool {
        if !Rc::ptr_eq(&self.store, &other.store) {
            return false;
        }
        use weft::Extern as E;
        match (&self.object, &other.object) {
            (Object::Extern(E::Func(a)), Object::Extern(E::Func(b))) => a == b,
            (Object::Extern(E::Global(a)), Object::Extern(E::Global(b))) => {
                with_store(&self.store, |cx| weft::Global::same(a, b, &cx))
            }
            (Object::Extern(E::Table(a)), Object::Extern(E::Table(b))) => {
                with_store(&self.store, |cx| weft::Table::same(a, b, &cx))
            }
            (Object::Extern(E::Memory(a)), Object::Extern(E::Memory(b))) => {
                with_store(&self.store, |cx| weft::Memory::same(a, b, &cx))
            }
            (Object::Instance(a), Object::Instance(b)) => a == b,
            (Object::Module(a), Object::Module(b)) => Arc::ptr_eq(a, b),
            (Object::Trap(a), Object::Trap(b)) => Arc::ptr_eq(a, b),
            (Object::Foreign(a), Object::Foreign(b)) => a == b,
            _ => false,
        }
    }

    /// Runs `f` on the object's host info slot; what `f` returns (a replaced info) is dropped only after every
    /// lock is released, so a finalizer may call back into this library.
    fn with_host_info<R: crate::engine::Fallback>(&self, f: impl FnOnce(&mut Option<HostInfo>) -> R) -> R {
        match &self.object {
            Object::Module(shared) => f(&mut shared.info.lock().unwrap_or_else(|e| e.into_inner())),
            Object::Trap(shared) => f(&mut shared.info.lock().unwrap_or_else(|e| e.into_inner())),
            Object::Foreign(r) => with_store(&self.store, |cx| match foreign_info(cx, r) {
                Some(info) => f(&mut info.lock().unwrap_or_else(|e| e.into_inner())),
                None => f(&mut None),
            }),
            Object::Instance(instance) => self.with_owned_slot(OwnedKey::Instance(*instance), f),
            Object::Extern(weft::Extern::Func(func)) => self.with_owned_slot(OwnedKey::Func(*func), f),
            Object::Extern(e) => {
                let found = {
                    let infos = self.store.host_info.borrow();
                    infos
                        .others
                        .iter()
                        .find(|(other, _)| wasm_ref_t::new(&self.store, Object::Extern(*other)).same(self))
                        .map(|(_, slot)| *slot)
                };
                let mut infos = self.store.host_info.borrow_mut();
                let slot = found.unwrap_or_else(|| {
                    infos.slots.push(None);
                    let slot = infos.slots.len() - 1;
                    infos.others.push((*e, slot));
                    slot
                });
                f(&mut infos.slots[slot])
            }
        }
    }

    /// Runs `f` on the host info slot of a function or instance.
    fn with_owned_slot<R>(&self, key: OwnedKey, f: impl FnOnce(&mut Option<HostInfo>) -> R) -> R {
        let mut infos = self.store.host_info.borrow_mut();
        let infos = &mut *infos;
        let slot = *infos.index.entry(key).or_insert_with(|| {
            infos.slots.push(None);
            infos.slots.len() - 1
        });
        f(&mut infos.slots[slot])
    }

    pub(crate) fn host_info(&self) -> *mut c_void {
        self.with_host_info(|slot| slot.as_ref().map_or(std::ptr::null_mut(), |i| i.data))
    }

    pub(crate) fn set_host_info(&self, data: *mut c_void, finalizer: Option<Finalizer>) {
        let old = self.with_host_info(|slot| slot.replace(HostInfo { data, finalizer }));
        drop(old);
    }
}

/// The host info slot of a foreign object (`None` for an `externref` this library did not make as one).
fn foreign_info<'a>(cx: StoreContextMut<'a, StoreData>, r: &ExternRef) -> Option<&'a Mutex<Option<HostInfo>>> {
    match r.data(cx).ok().flatten()?.downcast_ref::<RefData>()? {
        RefData::Foreign(info) => Some(info),
        RefData::Wrapped(_) => None,
    }
}

/// The object an `externref` coming out of wasm stands for.
pub(crate) fn object_of_externref(cx: &mut StoreContextMut<'_, StoreData>, r: ExternRef) -> Object {
    match r.data(&*cx).ok().flatten().and_then(|d| d.downcast_ref::<RefData>()) {
        Some(RefData::Wrapped(object)) => object.clone(),
        _ => Object::Foreign(r),
    }
}

/// The `externref` that carries `object` into wasm: a foreign object is one already; anything else is wrapped.
pub(crate) fn externref_of_object(
    cx: &mut StoreContextMut<'_, StoreData>,
    object: &Object,
) -> anyhow::Result<ExternRef> {
    match object {
        Object::Foreign(r) => Ok(*r),
        other => Ok(*ExternRef::new(&mut *cx, RefData::Wrapped(other.clone()))?),
    }
}

/// Moves a handle into a box for C.
pub(crate) fn into_c<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Defines one kind of reference object: its handle type (a `wasm_ref_t` known to hold that kind) and the
/// standard's functions for it: delete, copy, same, host info, and the casts to and from `wasm_ref_t`.
macro_rules! ref_object {
    ($ty:ident, $doc:literal, |$o:ident| $is_kind:expr,
     $delete:ident, $copy:ident, $same:ident, $get_info:ident, $set_info:ident, $set_info_fin:ident,
     $as_ref:ident, $as_ref_const:ident, $from_ref:ident, $from_ref_const:ident) => {
        #[doc = $doc]
        #[repr(transparent)]
        pub struct $ty {
            pub(crate) r: $crate::object::wasm_ref_t,
        }

        impl $ty {
            #[allow(dead_code, reason = "not every kind is made from Rust")]
            pub(crate) fn into_c(r: $crate::object::wasm_ref_t) -> *mut $ty {
                $crate::object::into_c($ty { r })
            }
            fn is_kind($o: &$crate::object::Object) -> bool {
                $is_kind
            }
        }

        crate::object::ref_base!($ty, $delete, $copy, $same, $get_info, $set_info, $set_info_fin);

        /// The same object as a reference (borrowed: no new handle).
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_ref(object: *mut $ty) -> *mut $crate::object::wasm_ref_t {
            object.cast()
        }

        /// The same object as a reference (borrowed: no new handle).
        #[unsafe(no_mangle)]
        pub extern "C" fn $as_ref_const(object: *const $ty) -> *const $crate::object::wasm_ref_t {
            object.cast()
        }

        /// The reference as this kind of object (the same handle); NULL if it is of another kind.
        ///
        /// # Safety
        /// `r` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ref(r: *mut $crate::object::wasm_ref_t) -> *mut $ty {
            // SAFETY: the caller's guarantee.
            match unsafe { r.as_ref() } {
                Some(r) if $ty::is_kind(&r.object) => (r as *const $crate::object::wasm_ref_t).cast_mut().cast(),
                _ => std::ptr::null_mut(),
            }
        }

        /// The reference as this kind of object (the same handle); NULL if it is of another kind.
        ///
        /// # Safety
        /// `r` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $from_ref_const(r: *const $crate::object::wasm_ref_t) -> *const $ty {
            // SAFETY: the caller's guarantee.
            unsafe { $from_ref(r.cast_mut()) }
        }
    };
}
pub(crate) use ref_object;

/// The functions every reference type has: delete, copy, same and host info.
macro_rules! ref_base {
    ($ty:ident, $delete:ident, $copy:ident, $same:ident, $get_info:ident, $set_info:ident, $set_info_fin:ident) => {
        /// Frees this handle (the object lives on while its store or other handles hold it).
        ///
        /// # Safety
        /// `object` must be an owned handle (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(object: *mut $ty) {
            if !object.is_null() {
                // SAFETY: the caller's guarantee; every reference type is a `wasm_ref_t` in a box.
                drop(unsafe { Box::from_raw(object.cast::<$crate::object::wasm_ref_t>()) });
            }
        }

        /// A new handle to the same object.
        ///
        /// # Safety
        /// `object` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(object: *const $ty) -> *mut $ty {
            // SAFETY: the caller's guarantee; every reference type is a `wasm_ref_t`.
            match unsafe { object.cast::<$crate::object::wasm_ref_t>().as_ref() } {
                Some(r) => $crate::object::into_c(r.copy()).cast(),
                None => std::ptr::null_mut(),
            }
        }

        /// Whether both handles name the same object (false if either is NULL).
        ///
        /// # Safety
        /// Both must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $same(a: *const $ty, b: *const $ty) -> bool {
            // SAFETY: the caller's guarantee.
            let (a, b) = unsafe {
                (a.cast::<$crate::object::wasm_ref_t>().as_ref(), b.cast::<$crate::object::wasm_ref_t>().as_ref())
            };
            matches!((a, b), (Some(a), Some(b)) if a.same(b))
        }

        /// The object's host info (NULL if none was set).
        ///
        /// # Safety
        /// `object` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $get_info(object: *const $ty) -> *mut std::ffi::c_void {
            // SAFETY: the caller's guarantee.
            unsafe { object.cast::<$crate::object::wasm_ref_t>().as_ref() }
                .map_or(std::ptr::null_mut(), |r| r.host_info())
        }

        /// Sets the object's host info (a previous info's finalizer runs now).
        ///
        /// # Safety
        /// `object` must be live (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set_info(object: *mut $ty, info: *mut std::ffi::c_void) {
            // SAFETY: the caller's guarantee.
            if let Some(r) = unsafe { object.cast::<$crate::object::wasm_ref_t>().as_ref() } {
                r.set_host_info(info, None);
            }
        }

        /// Sets the object's host info with a finalizer, called with `info` once when the object goes (for objects
        /// a store owns: when the store is deleted) or the info is replaced.
        ///
        /// # Safety
        /// `object` must be live (or NULL); `finalizer` must be safe to call with `info` on the store's thread.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set_info_fin(
            object: *mut $ty,
            info: *mut std::ffi::c_void,
            finalizer: Option<$crate::object::Finalizer>,
        ) {
            // SAFETY: the caller's guarantee.
            if let Some(r) = unsafe { object.cast::<$crate::object::wasm_ref_t>().as_ref() } {
                r.set_host_info(info, finalizer);
            }
        }
    };
}
pub(crate) use ref_base;

ref_base!(
    wasm_ref_t,
    wasm_ref_delete,
    wasm_ref_copy,
    wasm_ref_same,
    wasm_ref_get_host_info,
    wasm_ref_set_host_info,
    wasm_ref_set_host_info_with_finalizer
);

ref_object!(
    wasm_foreign_t,
    "A foreign object: an opaque host object that wasm can hold as an `externref`.",
    |o| matches!(o, Object::Foreign(_)),
    wasm_foreign_delete,
    wasm_foreign_copy,
    wasm_foreign_same,
    wasm_foreign_get_host_info,
    wasm_foreign_set_host_info,
    wasm_foreign_set_host_info_with_finalizer,
    wasm_foreign_as_ref,
    wasm_foreign_as_ref_const,
    wasm_ref_as_foreign,
    wasm_ref_as_foreign_const
);

/// A new foreign object in `store`; NULL if `store` is NULL.
///
/// # Safety
/// `store` must be live (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_foreign_new(store: *mut crate::wasm_store_t) -> *mut wasm_foreign_t {
    // SAFETY: the caller's guarantee.
    let Some(store) = (unsafe { store.as_ref() }) else { return std::ptr::null_mut() };
    let made = with_store(&store.cell, |mut cx| ExternRef::new(&mut cx, RefData::Foreign(Mutex::new(None))));
    match made {
        Ok(r) => wasm_foreign_t::into_c(wasm_ref_t::new(&store.cell, Object::Foreign(*r))),
        Err(_) => std::ptr::null_mut(),
    }
}
