//! The standard's vectors: `{ size, data }` owning `size` elements, made and freed here so that both sides
//! agree on the allocator.

use crate::{wasm_exporttype_t, wasm_extern_t, wasm_frame_t, wasm_importtype_t, wasm_val_t, wasm_valtype_t};

/// Moves `items` into a C vector's fields.
pub(crate) fn into_raw<T>(items: Vec<T>) -> (usize, *mut T) {
    let boxed = items.into_boxed_slice();
    let size = boxed.len();
    (size, Box::into_raw(boxed).cast::<T>())
}

/// Takes back a C vector's elements (leaving it empty).
///
/// # Safety
/// `size` and `data` must come from [`into_raw`] (or be `0` and anything).
pub(crate) unsafe fn from_raw<T>(size: &mut usize, data: &mut *mut T) -> Vec<T> {
    let (n, ptr) = (std::mem::take(size), std::mem::replace(data, std::ptr::null_mut()));
    if n == 0 || ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: `ptr` and `n` are a boxed slice's parts, as `into_raw` made them (the caller's guarantee).
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, n)) }.into_vec()
}

/// A C vector's elements, borrowed.
///
/// # Safety
/// `data` must point to `size` initialised elements (or `size` be 0).
pub(crate) unsafe fn as_slice<'a, T>(size: usize, data: *const T) -> &'a [T] {
    if size == 0 || data.is_null() {
        return &[];
    }
    // SAFETY: the caller's guarantee.
    unsafe { std::slice::from_raw_parts(data, size) }
}

/// Defines a vector type and its five functions. `$copy` duplicates one element; `$drop` frees one.
macro_rules! declare_vec {
    ($vec:ident, $elem:ty, $new_empty:ident, $new_uninit:ident, $new:ident, $copy_fn:ident, $delete:ident,
     copy = $copy:expr, zero = $zero:expr, drop = $drop:expr) => {
        /// A standard C API vector.
        #[repr(C)]
        pub struct $vec {
            /// Number of elements.
            pub size: usize,
            /// The elements.
            pub data: *mut $elem,
        }

        impl $vec {
            pub(crate) fn set(&mut self, items: Vec<$elem>) {
                (self.size, self.data) = into_raw(items);
            }
            #[allow(dead_code, reason = "not every vector is made from Rust")]
            pub(crate) fn from_vec(items: Vec<$elem>) -> $vec {
                let (size, data) = into_raw(items);
                $vec { size, data }
            }
            /// Takes the elements out (leaving the vector empty).
            ///
            /// # Safety
            /// The vector must have been made by this library.
            #[allow(dead_code, reason = "not every vector is taken apart from Rust")]
            pub(crate) unsafe fn take(&mut self) -> Vec<$elem> {
                // SAFETY: the caller's guarantee.
                unsafe { from_raw(&mut self.size, &mut self.data) }
            }
            /// # Safety
            /// The vector must be valid (made by this library, or `size` elements at `data`).
            pub(crate) unsafe fn slice(&self) -> &[$elem] {
                // SAFETY: the caller's guarantee.
                unsafe { as_slice(self.size, self.data) }
            }
        }

        /// An empty vector.
        ///
        /// # Safety
        /// `out` must be valid for writes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            // SAFETY: the caller's guarantee.
            if let Some(out) = unsafe { out.as_mut() } {
                out.set(Vec::new());
            }
        }

        /// A vector of `size` zeroed (or null) elements.
        ///
        /// # Safety
        /// `out` must be valid for writes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_uninit(out: *mut $vec, size: usize) {
            // SAFETY: the caller's guarantee.
            if let Some(out) = unsafe { out.as_mut() } {
                out.set((0..size).map(|_| $zero).collect());
            }
        }

        /// A vector of `size` elements moved from `data`.
        ///
        /// # Safety
        /// `out` must be valid for writes and `data` point to `size` elements, whose ownership passes to the vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const $elem) {
            // SAFETY: the caller's guarantee; the elements are moved (bitwise), as the standard's `own` says.
            let items = unsafe { as_slice(size, data) }.iter().map(|e| unsafe { std::ptr::read(e) }).collect();
            // SAFETY: as above.
            if let Some(out) = unsafe { out.as_mut() } {
                out.set(items);
            }
        }

        /// A deep copy of `source`.
        ///
        /// # Safety
        /// `out` must be valid for writes and `source` a valid vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy_fn(out: *mut $vec, source: *const $vec) {
            // SAFETY: the caller's guarantee.
            let source = unsafe { source.as_ref() };
            let items = match source {
                // SAFETY: a valid vector (the caller's guarantee).
                Some(source) => unsafe { source.slice() }.iter().map($copy).collect(),
                None => Vec::new(),
            };
            // SAFETY: as above.
            if let Some(out) = unsafe { out.as_mut() } {
                out.set(items);
            }
        }

        /// Frees the vector and its elements.
        ///
        /// # Safety
        /// `vec` must be a vector made by this library (or NULL).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(vec: *mut $vec) {
            // SAFETY: the caller's guarantee.
            if let Some(vec) = unsafe { vec.as_mut() } {
                // SAFETY: the vector's parts came from `into_raw`.
                for item in unsafe { from_raw(&mut vec.size, &mut vec.data) } {
                    ($drop)(item);
                }
            }
        }
    };
}

declare_vec!(
    wasm_byte_vec_t,
    u8,
    wasm_byte_vec_new_empty,
    wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new,
    wasm_byte_vec_copy,
    wasm_byte_vec_delete,
    copy = |b: &u8| *b,
    zero = 0u8,
    drop = |_: u8| {}
);

declare_vec!(
    wasm_val_vec_t,
    wasm_val_t,
    wasm_val_vec_new_empty,
    wasm_val_vec_new_uninitialized,
    wasm_val_vec_new,
    wasm_val_vec_copy,
    wasm_val_vec_delete,
    copy = wasm_val_t::deep_copy,
    zero = wasm_val_t::default(),
    drop = wasm_val_t::free
);

declare_vec!(
    wasm_valtype_vec_t,
    *mut wasm_valtype_t,
    wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized,
    wasm_valtype_vec_new,
    wasm_valtype_vec_copy,
    wasm_valtype_vec_delete,
    // SAFETY: a vector's non-null elements are valid valtypes this library made.
    copy = |t: &*mut wasm_valtype_t| match unsafe { t.as_ref() } {
        Some(t) => Box::into_raw(Box::new(t.clone())),
        None => std::ptr::null_mut(),
    },
    zero = std::ptr::null_mut(),
    drop = free_owned::<wasm_valtype_t>
);

declare_vec!(
    wasm_extern_vec_t,
    *mut wasm_extern_t,
    wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized,
    wasm_extern_vec_new,
    wasm_extern_vec_copy,
    wasm_extern_vec_delete,
    // SAFETY: a vector's non-null elements are valid externs this library made.
    copy = |e: &*mut wasm_extern_t| unsafe { crate::wasm_extern_copy(*e) },
    zero = std::ptr::null_mut(),
    // SAFETY: as above; the vector owns them.
    drop = |e: *mut wasm_extern_t| unsafe { crate::wasm_extern_delete(e) }
);

/// Frees a vector's owned element (NULL elements are left alone).
fn free_owned<T>(element: *mut T) {
    if !element.is_null() {
        // SAFETY: a vector's non-null elements are boxes this library made, owned by the vector being deleted.
        drop(unsafe { Box::from_raw(element) });
    }
}

declare_vec!(
    wasm_importtype_vec_t,
    *mut wasm_importtype_t,
    wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized,
    wasm_importtype_vec_new,
    wasm_importtype_vec_copy,
    wasm_importtype_vec_delete,
    copy = copy_owned::<wasm_importtype_t>,
    zero = std::ptr::null_mut(),
    drop = free_owned::<wasm_importtype_t>
);

declare_vec!(
    wasm_exporttype_vec_t,
    *mut wasm_exporttype_t,
    wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized,
    wasm_exporttype_vec_new,
    wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete,
    copy = copy_owned::<wasm_exporttype_t>,
    zero = std::ptr::null_mut(),
    drop = free_owned::<wasm_exporttype_t>
);

/// Copies a vector's element (NULL stays NULL).
fn copy_owned<T: Clone>(element: &*mut T) -> *mut T {
    // SAFETY: a vector's non-null elements are live boxes this library made.
    match unsafe { element.as_ref() } {
        Some(e) => Box::into_raw(Box::new(e.clone())),
        None => std::ptr::null_mut(),
    }
}

declare_vec!(
    wasm_frame_vec_t,
    *mut wasm_frame_t,
    wasm_frame_vec_new_empty,
    wasm_frame_vec_new_uninitialized,
    wasm_frame_vec_new,
    wasm_frame_vec_copy,
    wasm_frame_vec_delete,
    copy = copy_owned::<wasm_frame_t>,
    zero = std::ptr::null_mut(),
    drop = free_owned::<wasm_frame_t>
);

declare_vec!(
    wasm_functype_vec_t,
    *mut crate::wasm_functype_t,
    wasm_functype_vec_new_empty,
    wasm_functype_vec_new_uninitialized,
    wasm_functype_vec_new,
    wasm_functype_vec_copy,
    wasm_functype_vec_delete,
    // SAFETY: a vector's non-null elements are valid types this library made.
    copy = |t: &*mut crate::wasm_functype_t| unsafe { crate::wasm_functype_copy(*t) },
    zero = std::ptr::null_mut(),
    // SAFETY: as above; the vector owns them.
    drop = |t: *mut crate::wasm_functype_t| unsafe { crate::wasm_functype_delete(t) }
);

declare_vec!(
    wasm_globaltype_vec_t,
    *mut crate::wasm_globaltype_t,
    wasm_globaltype_vec_new_empty,
    wasm_globaltype_vec_new_uninitialized,
    wasm_globaltype_vec_new,
    wasm_globaltype_vec_copy,
    wasm_globaltype_vec_delete,
    // SAFETY: a vector's non-null elements are valid types this library made.
    copy = |t: &*mut crate::wasm_globaltype_t| unsafe { crate::wasm_globaltype_copy(*t) },
    zero = std::ptr::null_mut(),
    // SAFETY: as above; the vector owns them.
    drop = |t: *mut crate::wasm_globaltype_t| unsafe { crate::wasm_globaltype_delete(t) }
);

declare_vec!(
    wasm_tabletype_vec_t,
    *mut crate::wasm_tabletype_t,
    wasm_tabletype_vec_new_empty,
    wasm_tabletype_vec_new_uninitialized,
    wasm_tabletype_vec_new,
    wasm_tabletype_vec_copy,
    wasm_tabletype_vec_delete,
    // SAFETY: a vector's non-null elements are valid types this library made.
    copy = |t: &*mut crate::wasm_tabletype_t| unsafe { crate::wasm_tabletype_copy(*t) },
    zero = std::ptr::null_mut(),
    // SAFETY: as above; the vector owns them.
    drop = |t: *mut crate::wasm_tabletype_t| unsafe { crate::wasm_tabletype_delete(t) }
);

declare_vec!(
    wasm_memorytype_vec_t,
    *mut crate::wasm_memorytype_t,
    wasm_memorytype_vec_new_empty,
    wasm_memorytype_vec_new_uninitialized,
    wasm_memorytype_vec_new,
    wasm_memorytype_vec_copy,
    wasm_memorytype_vec_delete,
    // SAFETY: a vector's non-null elements are valid types this library made.
    copy = |t: &*mut crate::wasm_memorytype_t| unsafe { crate::wasm_memorytype_copy(*t) },
    zero = std::ptr::null_mut(),
    // SAFETY: as above; the vector owns them.
    drop = |t: *mut crate::wasm_memorytype_t| unsafe { crate::wasm_memorytype_delete(t) }
);

declare_vec!(
    wasm_externtype_vec_t,
    *mut crate::wasm_externtype_t,
    wasm_externtype_vec_new_empty,
    wasm_externtype_vec_new_uninitialized,
    wasm_externtype_vec_new,
    wasm_externtype_vec_copy,
    wasm_externtype_vec_delete,
    // SAFETY: a vector's non-null elements are valid types this library made.
    copy = |t: &*mut crate::wasm_externtype_t| unsafe { crate::wasm_externtype_copy(*t) },
    zero = std::ptr::null_mut(),
    // SAFETY: as above; the vector owns them.
    drop = |t: *mut crate::wasm_externtype_t| unsafe { crate::wasm_externtype_delete(t) }
);
