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
