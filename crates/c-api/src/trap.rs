//! Traps: a wasm trap, an error of the host, or a trap a host function raised with [`wasm_trap_new`]; and the
//! frames of their backtraces.

use crate::engine::{StoreCell, with_store};
use crate::object::{Object, Shared, TrapData, wasm_ref_t};
use crate::{wasm_byte_vec_t, wasm_instance_t};
use std::rc::Rc;
use std::sync::Arc;

crate::object::ref_object!(
    wasm_trap_t,
    "A trap: its message and the wasm frames it unwound.",
    |o| matches!(o, Object::Trap(_)),
    wasm_trap_delete,
    wasm_trap_copy,
    wasm_trap_same,
    wasm_trap_get_host_info,
    wasm_trap_set_host_info,
    wasm_trap_set_host_info_with_finalizer,
    wasm_trap_as_ref,
    wasm_trap_as_ref_const,
    wasm_ref_as_trap,
    wasm_ref_as_trap_const
);

/// A trap made by the host (`wasm_trap_new`, or returned by a host function): its message.
#[derive(Debug)]
pub(crate) struct HostTrap(pub(crate) String);

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostTrap {}

/// One frame of a trap's backtrace, as it was when the trap was made.
#[derive(Clone)]
pub(crate) struct FrameData {
    func_name: Option<String>,
    module_name: Option<String>,
    func_index: u32,
    func_offset: usize,
    module_offset: usize,
    instance: Option<weft::Instance>,
}

impl wasm_trap_t {
    /// A new trap (owned by the caller) for `error`, raised in `cell`'s store.
    pub(crate) fn from_error(cell: &Rc<StoreCell>, error: anyhow::Error) -> *mut wasm_trap_t {
        let frames = match error.downcast_ref::<weft::WasmBacktrace>() {
            Some(backtrace) => with_store(cell, |cx| {
                let instances = backtrace.frame_instances(&cx);
                backtrace
                    .frames()
                    .iter()
                    .zip(instances)
                    .map(|(f, instance)| FrameData {
                        func_name: f.func_name().map(str::to_string),
                        module_name: f.module_name().map(str::to_string),
                        func_index: f.func_index(),
                        func_offset: f.func_offset().unwrap_or(0) as usize,
                        module_offset: f.wasm_offset().unwrap_or(0) as usize,
                        instance,
                    })
                    .collect()
            }),
            None => Vec::new(),
        };
        let data = Shared::new(TrapData { error, frames });
        wasm_trap_t::into_c(wasm_ref_t::new(cell, Object::Trap(data)))
    }

    fn data(&self) -> &TrapData {
        match &self.r.object {
            Object::Trap(shared) => &shared.value,
            _ => unreachable!("a wasm_trap_t holds a trap"),
        }
    }

    pub(crate) fn error(&self) -> &anyhow::Error {
        &self.data().error
    }

    pub(crate) fn message(&self) -> String {
        let error = &self.data().error;
        if let Some(host) = error.downcast_ref::<HostTrap>() {
            return host.0.clone();
        }
        if let Some(trap) = error.downcast_ref::<weft::Trap>() {
            return format!("wasm trap: {trap}");
        }
        format!("{error:#}")
    }

    fn frames(&self) -> Vec<wasm_frame_t> {
        self.data()
            .frames
            .iter()
            .map(|data| {
                let instance = data
                    .instance
                    .map(|i| Box::new(wasm_instance_t { r: wasm_ref_t::new(&self.r.store, Object::Instance(i)) }));
                wasm_frame_t::new(data.clone(), instance)
            })
            .collect()
    }
}

/// Takes a trap C handed over (a host function's result) apart into the error to raise. If C kept other handles
/// to it, the error is rebuilt from its message.
///
/// # Safety
/// `trap` must be an owned, live trap.
pub(crate) unsafe fn take_error(trap: *mut wasm_trap_t) -> anyhow::Error {
    // SAFETY: the caller's guarantee.
    let trap = unsafe { Box::from_raw(trap) };
    let message = trap.message();
    let Object::Trap(shared) = trap.r.object else { unreachable!("a wasm_trap_t holds a trap") };
    match Arc::try_unwrap(shared) {
        Ok(shared) => shared.value.error,
        Err(_) => HostTrap(message).into(),
    }
}

/// A trap in `store` with `message` (a trailing NUL byte, as messages have, is not part of the text).
///
/// # Safety
/// `store` must be live and `message` a valid vector (or NULL, for an empty message).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_new(
    store: *mut crate::wasm_store_t,
    message: *const wasm_byte_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: the caller's guarantee.
    let Some(store) = (unsafe { store.as_ref() }) else { return std::ptr::null_mut() };
    // SAFETY: as above.
    let bytes = unsafe { message.as_ref() }.map(|m| unsafe { m.slice() }).unwrap_or_default();
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    wasm_trap_t::from_error(&store.cell, HostTrap(String::from_utf8_lossy(bytes).into_owned()).into())
}

/// The trap's message, NUL-terminated, into `out` (owned by the caller).
///
/// # Safety
/// `trap` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_message(trap: *const wasm_trap_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(trap), Some(out)) = (unsafe { trap.as_ref() }, unsafe { out.as_mut() }) else { return };
    let mut bytes = trap.message().into_bytes();
    bytes.push(0);
    out.set(bytes);
}

/// A frame of a trap's backtrace.
pub struct wasm_frame_t {
    data: FrameData,
    /// The names as vectors, lent out by `weft_frame_func_name` and `weft_frame_module_name`.
    names: [Option<wasm_byte_vec_t>; 2],
    /// A handle to the frame's instance, lent out by [`wasm_frame_instance`] for the frame's lifetime.
    instance: Option<Box<wasm_instance_t>>,
}

impl wasm_frame_t {
    fn new(data: FrameData, instance: Option<Box<wasm_instance_t>>) -> wasm_frame_t {
        let name = |n: &Option<String>| n.as_ref().map(|n| wasm_byte_vec_t::from_vec(n.clone().into_bytes()));
        wasm_frame_t { names: [name(&data.func_name), name(&data.module_name)], data, instance }
    }
    pub(crate) fn func_name(&self) -> Option<&wasm_byte_vec_t> {
        self.names[0].as_ref()
    }
    pub(crate) fn module_name(&self) -> Option<&wasm_byte_vec_t> {
        self.names[1].as_ref()
    }
}

impl Drop for wasm_frame_t {
    fn drop(&mut self) {
        for name in self.names.iter_mut().flatten() {
            // SAFETY: the names were made by `new` and are owned by the frame.
            unsafe { crate::wasm_byte_vec_delete(name) };
        }
    }
}

impl Clone for wasm_frame_t {
    fn clone(&self) -> Self {
        wasm_frame_t::new(
            self.data.clone(),
            self.instance.as_ref().map(|i| Box::new(wasm_instance_t { r: i.r.copy() })),
        )
    }
}

/// The innermost wasm frame (owned by the caller); NULL if the trap has none (one the host made outside wasm).
///
/// # Safety
/// `trap` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_origin(trap: *const wasm_trap_t) -> *mut wasm_frame_t {
    // SAFETY: the caller's guarantee.
    let Some(trap) = (unsafe { trap.as_ref() }) else { return std::ptr::null_mut() };
    trap.frames().into_iter().next().map_or(std::ptr::null_mut(), crate::object::into_c)
}

/// The wasm frames, innermost first, into `out` (owned by the caller).
///
/// # Safety
/// `trap` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_trace(trap: *const wasm_trap_t, out: *mut crate::wasm_frame_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(trap), Some(out)) = (unsafe { trap.as_ref() }, unsafe { out.as_mut() }) else { return };
    out.set(trap.frames().into_iter().map(crate::object::into_c).collect());
}

/// The index of the frame's function in its module.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_index(frame: *const wasm_frame_t) -> u32 {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.map_or(0, |f| f.data.func_index)
}

/// Offset of the executing instruction from the start of its function's body.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_offset(frame: *const wasm_frame_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.map_or(0, |f| f.data.func_offset)
}

/// Offset of the executing instruction in the module's bytes.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_module_offset(frame: *const wasm_frame_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.map_or(0, |f| f.data.module_offset)
}

/// The instance the frame ran in (borrowed from the frame), found when the trap was made; NULL when its store then
/// held several instances of the frame's module (Weft's frames record code, not instances; see docs/c-api.md).
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_instance(frame: *const wasm_frame_t) -> *mut wasm_instance_t {
    // SAFETY: the caller's guarantee.
    match unsafe { frame.as_ref() }.and_then(|f| f.instance.as_deref()) {
        Some(instance) => (instance as *const wasm_instance_t).cast_mut(),
        None => std::ptr::null_mut(),
    }
}

crate::types::delete_and_copy_fns!(wasm_frame_t, wasm_frame_delete, wasm_frame_copy, |f| f.clone());
