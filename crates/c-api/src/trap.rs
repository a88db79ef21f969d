//! Traps: a wasm trap, an error of the host, or a trap a host function raised with [`wasm_trap_new`].

use crate::wasm_byte_vec_t;

/// A trap.
pub struct wasm_trap_t {
    pub(crate) error: anyhow::Error,
}

/// A trap made by the host (`wasm_trap_new`, or returned by a host function): its message.
#[derive(Debug)]
pub(crate) struct HostTrap(pub(crate) String);

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostTrap {}

impl wasm_trap_t {
    pub(crate) fn from_error(error: anyhow::Error) -> *mut wasm_trap_t {
        Box::into_raw(Box::new(wasm_trap_t { error }))
    }

    /// The message: a host trap's own, a wasm trap's kind, or the whole chain of another error.
    pub(crate) fn message(&self) -> String {
        if let Some(host) = self.error.downcast_ref::<HostTrap>() {
            return host.0.clone();
        }
        if let Some(trap) = self.error.downcast_ref::<weft::Trap>() {
            return format!("wasm trap: {trap}");
        }
        format!("{:#}", self.error)
    }
}

/// A trap with `message` (its trailing NUL, if any, is not part of the text).
///
/// # Safety
/// `message` must be a valid byte vector (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_new(
    _store: *mut crate::wasm_store_t,
    message: *const wasm_byte_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: the caller's guarantee.
    let bytes = unsafe { message.as_ref() }.map(|m| unsafe { m.slice() }).unwrap_or_default();
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    wasm_trap_t::from_error(HostTrap(String::from_utf8_lossy(bytes).into_owned()).into())
}

/// The trap's message, NUL-terminated, into `out`.
///
/// # Safety
/// `trap` must be a live trap and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_message(trap: *const wasm_trap_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(trap), Some(out)) = (unsafe { trap.as_ref() }, unsafe { out.as_mut() }) else { return };
    let mut bytes = trap.message().into_bytes();
    bytes.push(0);
    out.set(bytes);
}

/// Frees a trap.
///
/// # Safety
/// `trap` must be an owned trap (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_delete(trap: *mut wasm_trap_t) {
    if !trap.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(trap) });
    }
}

/// A frame of a trap's backtrace.
#[derive(Clone)]
pub struct wasm_frame_t {
    func_index: u32,
    func_offset: usize,
    module_offset: usize,
}

impl wasm_trap_t {
    /// The wasm frames, innermost first (empty for a trap made by the host outside wasm).
    fn frames(&self) -> Vec<wasm_frame_t> {
        let Some(backtrace) = self.error.downcast_ref::<weft::WasmBacktrace>() else { return Vec::new() };
        backtrace
            .frames()
            .iter()
            .map(|f| wasm_frame_t {
                func_index: f.func_index(),
                func_offset: f.func_offset().unwrap_or(0) as usize,
                module_offset: f.wasm_offset().unwrap_or(0) as usize,
            })
            .collect()
    }
}

/// The innermost wasm frame of the trap; NULL if it has none.
///
/// # Safety
/// `trap` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_origin(trap: *const wasm_trap_t) -> *mut wasm_frame_t {
    // SAFETY: the caller's guarantee.
    let Some(trap) = (unsafe { trap.as_ref() }) else { return std::ptr::null_mut() };
    trap.frames().into_iter().next().map_or(std::ptr::null_mut(), crate::types::boxed)
}

/// The trap's wasm frames, innermost first, into `out`.
///
/// # Safety
/// `trap` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_trace(trap: *const wasm_trap_t, out: *mut crate::wasm_frame_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(trap), Some(out)) = (unsafe { trap.as_ref() }, unsafe { out.as_mut() }) else { return };
    out.set(trap.frames().into_iter().map(crate::types::boxed).collect());
}

/// The frame's function index in its module.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_index(frame: *const wasm_frame_t) -> u32 {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.map_or(0, |f| f.func_index)
}

/// The executing instruction's offset from the start of its function's body.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_offset(frame: *const wasm_frame_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.map_or(0, |f| f.func_offset)
}

/// The executing instruction's offset in the module's bytes.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_module_offset(frame: *const wasm_frame_t) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.map_or(0, |f| f.module_offset)
}

/// The frame's instance. Weft's backtraces record the module's code, not the instance, so this is NULL for now.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_frame_instance(_frame: *const wasm_frame_t) -> *mut crate::wasm_instance_t {
    std::ptr::null_mut()
}

crate::types::delete_and_copy_fns!(wasm_frame_t, wasm_frame_delete, wasm_frame_copy, |f| f.clone());
