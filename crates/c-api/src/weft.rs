//! `weft.h`: what Weft offers beyond the standard: configuration, fuel, epochs, interrupting running wasm from
//! another thread, and errors.

use crate::engine::with_whole_store;
use crate::{wasm_byte_vec_t, wasm_config_t, wasm_engine_t, wasm_store_t};

/// An error: a message (and, for an error from a wasm call, what Weft's error carries).
pub struct weft_error_t {
    error: anyhow::Error,
}

fn error(e: anyhow::Error) -> *mut weft_error_t {
    Box::into_raw(Box::new(weft_error_t { error: e }))
}

/// The error's message, NUL-terminated, into `out`.
///
/// # Safety
/// `err` must be live and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_error_message(err: *const weft_error_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: the caller's guarantee.
    let (Some(err), Some(out)) = (unsafe { err.as_ref() }, unsafe { out.as_mut() }) else { return };
    let mut bytes = format!("{:#}", err.error).into_bytes();
    bytes.push(0);
    out.set(bytes);
}

/// Frees an error.
///
/// # Safety
/// `err` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_error_delete(err: *mut weft_error_t) {
    if !err.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(err) });
    }
}

/// Defines a boolean configuration setter.
macro_rules! config_bool {
    ($name:ident, $method:ident, $doc:literal) => {
        #[doc = $doc]
        ///
        /// # Safety
        /// `config` must be live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(config: *mut wasm_config_t, on: bool) {
            // SAFETY: the caller's guarantee.
            if let Some(config) = unsafe { config.as_mut() } {
                config.config.$method(on);
            }
        }
    };
}

config_bool!(weft_config_consume_fuel_set, consume_fuel, "Counts executed operators against the store's fuel.");
config_bool!(
    weft_config_epoch_interruption_set,
    epoch_interruption,
    "Checks the engine's epoch against each store's deadline."
);
config_bool!(weft_config_interruptible_set, interruptible, "Lets `weft_interrupt_handle_interrupt` stop running wasm.");
config_bool!(
    weft_config_explicit_bounds_checks_set,
    explicit_bounds_checks,
    "Bounds-checks every memory access instead of using guard pages."
);
config_bool!(weft_config_wasm_tail_call_set, wasm_tail_call, "The tail-call proposal.");
config_bool!(weft_config_wasm_simd_set, wasm_simd, "The SIMD proposal.");
config_bool!(weft_config_wasm_multi_memory_set, wasm_multi_memory, "The multi-memory proposal.");
config_bool!(weft_config_wasm_memory64_set, wasm_memory64, "The memory64 proposal.");
config_bool!(weft_config_wasm_exceptions_set, wasm_exceptions, "The exception-handling proposal.");
config_bool!(weft_config_parallel_compilation_set, parallel_compilation, "Compiles on every core at once.");

/// The optimisation level: 0 none, 1 speed (the default), 2 speed and size.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_opt_level_set(config: *mut wasm_config_t, level: u8) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        config.config.opt_level(match level {
            0 => weft::OptLevel::None,
            2 => weft::OptLevel::SpeedAndSize,
            _ => weft::OptLevel::Speed,
        });
    }
}

/// Bytes of stack wasm may use before it traps with a stack overflow.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_max_wasm_stack_set(config: *mut wasm_config_t, bytes: usize) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        config.config.max_wasm_stack(bytes);
    }
}

/// Advances the engine's epoch (any thread).
///
/// # Safety
/// `engine` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_engine_increment_epoch(engine: *const wasm_engine_t) {
    // SAFETY: the caller's guarantee.
    if let Some(engine) = unsafe { engine.as_ref() } {
        engine.engine.increment_epoch();
    }
}

/// Runs `f` on the whole store, or returns the error of a store that is running wasm on this thread.
fn whole_store(
    store: *mut wasm_store_t,
    f: impl FnOnce(&mut weft::Store<()>) -> anyhow::Result<()>,
) -> *mut weft_error_t {
    // SAFETY: the callers' contract: `store` is live or NULL.
    let Some(store) = (unsafe { store.as_ref() }) else { return error(anyhow::anyhow!("the store is NULL")) };
    match with_whole_store(&store.cell, f) {
        Some(Ok(())) => std::ptr::null_mut(),
        Some(Err(e)) => error(e),
        None => error(anyhow::anyhow!("the store is running wasm: this cannot be done from one of its host functions")),
    }
}

/// Gives the store `fuel` units (with fuel consumption on); NULL, or the error.
///
/// # Safety
/// `store` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_store_set_fuel(store: *mut wasm_store_t, fuel: u64) -> *mut weft_error_t {
    whole_store(store, |s| s.set_fuel(fuel))
}

/// The store's remaining fuel into `*fuel`; NULL, or the error.
///
/// # Safety
/// `store` must be live and `fuel` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_store_get_fuel(store: *mut wasm_store_t, fuel: *mut u64) -> *mut weft_error_t {
    whole_store(store, |s| {
        let remaining = s.get_fuel()?;
        // SAFETY: the caller's guarantee.
        if let Some(fuel) = unsafe { fuel.as_mut() } {
            *fuel = remaining;
        }
        Ok(())
    })
}

/// Makes the store's wasm trap once the engine's epoch is `ticks` past its current value.
///
/// # Safety
/// `store` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_store_set_epoch_deadline(store: *mut wasm_store_t, ticks: u64) -> *mut weft_error_t {
    whole_store(store, |s| {
        s.set_epoch_deadline(ticks);
        Ok(())
    })
}

/// A handle that stops the store's running wasm from any thread.
pub struct weft_interrupt_handle_t {
    handle: weft::InterruptHandle,
}

/// An interrupt handle for `store` (whose engine must be interruptible); NULL otherwise.
///
/// # Safety
/// `store` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_interrupt_handle_new(store: *mut wasm_store_t) -> *mut weft_interrupt_handle_t {
    // SAFETY: the caller's guarantee.
    let Some(store) = (unsafe { store.as_ref() }) else { return std::ptr::null_mut() };
    match with_whole_store(&store.cell, |s| s.interrupt_handle()) {
        Some(Ok(handle)) => Box::into_raw(Box::new(weft_interrupt_handle_t { handle })),
        _ => std::ptr::null_mut(),
    }
}

/// Makes the store's wasm trap with "interrupted" at its next check (any thread, any time; the handle may outlive
/// the store).
///
/// # Safety
/// `handle` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_interrupt_handle_interrupt(handle: *const weft_interrupt_handle_t) {
    // SAFETY: the caller's guarantee.
    if let Some(handle) = unsafe { handle.as_ref() } {
        handle.handle.interrupt();
    }
}

/// Frees an interrupt handle.
///
/// # Safety
/// `handle` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_interrupt_handle_delete(handle: *mut weft_interrupt_handle_t) {
    if !handle.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(handle) });
    }
}
