//! `weft.h`: what Weft offers beyond the standard: configuration, fuel, epochs, interrupting running wasm from
//! another thread, and errors.

use crate::engine::{StoreData, guarded, with_whole_store};
use crate::{wasm_byte_vec_t, wasm_config_t, wasm_engine_t, wasm_store_t};
use std::ffi::{CStr, c_char};

/// An error: a message (and, for an error from a wasm call, what Weft's error carries).
pub struct weft_error_t {
    error: anyhow::Error,
}

pub(crate) fn error(e: anyhow::Error) -> *mut weft_error_t {
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
config_bool!(weft_config_inlining_set, inlining, "Inlines small functions into their callers when optimising.");
config_bool!(
    weft_config_debug_info_set,
    debug_info,
    "Describes compiled code to gdb with the module's DWARF (Wasmtime's `wasmtime_config_debug_info_set`)."
);
config_bool!(weft_config_wasm_bulk_memory_set, wasm_bulk_memory, "The bulk-memory proposal.");
config_bool!(weft_config_wasm_reference_types_set, wasm_reference_types, "The reference-types proposal.");
config_bool!(weft_config_wasm_multi_value_set, wasm_multi_value, "The multi-value proposal.");
config_bool!(weft_config_wasm_extended_const_set, wasm_extended_const, "The extended-constant-expressions proposal.");
config_bool!(
    weft_config_wasm_function_references_set,
    wasm_function_references,
    "The typed-function-references proposal."
);
config_bool!(weft_config_wasm_relaxed_simd_set, wasm_relaxed_simd, "The relaxed-SIMD proposal.");
config_bool!(
    weft_config_relaxed_simd_deterministic_set,
    relaxed_simd_deterministic,
    "Relaxed-SIMD instructions give the same results on every machine."
);
config_bool!(
    weft_config_cranelift_verifier_set,
    cranelift_verifier,
    "Runs Cranelift's IR verifier (slow; for debugging)."
);
config_bool!(
    weft_config_signals_based_traps_set,
    signals_based_traps,
    "Uses guard pages and signal handlers for out-of-bounds accesses (off: explicit checks)."
);
config_bool!(
    weft_config_memory_init_cow_set,
    memory_init_cow,
    "Maps data segments copy-on-write from the module's image."
);
config_bool!(weft_config_coredump_on_trap_set, coredump_on_trap, "Attaches a core dump to traps.");

/// Bytes of address space reserved for each linear memory (growing within it never moves the memory).
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_memory_reservation_set(config: *mut wasm_config_t, bytes: u64) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        config.config.memory_reservation(bytes);
    }
}

/// Bytes of guard region after each linear memory.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_memory_guard_size_set(config: *mut wasm_config_t, bytes: u64) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        config.config.memory_guard_size(bytes);
    }
}

/// Reads a C string argument (NULL or not UTF-8: an error naming `what`).
///
/// # Safety
/// `s` must be NULL or a NUL-terminated string.
pub(crate) unsafe fn c_str<'a>(s: *const c_char, what: &str) -> anyhow::Result<&'a str> {
    anyhow::ensure!(!s.is_null(), "{what} is NULL");
    // SAFETY: the caller's guarantee.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| anyhow::anyhow!("{what} is not UTF-8"))
}

/// Reads a (pointer, length) string argument.
///
/// # Safety
/// `s` must point to `len` readable bytes (or `len` be 0).
pub(crate) unsafe fn str_of<'a>(s: *const c_char, len: usize, what: &str) -> anyhow::Result<&'a str> {
    // SAFETY: the caller's guarantee.
    let bytes = unsafe { crate::vec::as_slice(len, s.cast::<u8>()) };
    std::str::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{what} is not UTF-8"))
}

/// Turns on the compilation cache in directory `dir` (NULL: the default, `$XDG_CACHE_HOME/weft`). NULL, or an
/// error the caller deletes.
///
/// # Safety
/// `config` must be live; `dir` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_cache_set(config: *mut wasm_config_t, dir: *const c_char) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let Some(config) = (unsafe { config.as_mut() }) else { return error(anyhow::anyhow!("the configuration is NULL")) };
    if dir.is_null() {
        return match weft::Cache::from_file(None) {
            Ok(cache) => {
                config.config.cache(Some(cache));
                std::ptr::null_mut()
            }
            Err(e) => error(e),
        };
    }
    // SAFETY: as above.
    match unsafe { c_str(dir, "the cache directory") } {
        Ok(dir) => {
            config.config.cache_dir(Some(dir));
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}

/// Compiles for `triple` (e.g. `aarch64-unknown-linux-gnu`) instead of the host: for `wasm_module_serialize`.
/// NULL, or an error the caller deletes.
///
/// # Safety
/// `config` must be live; `triple` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_target_set(
    config: *mut wasm_config_t,
    triple: *const c_char,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let Some(config) = (unsafe { config.as_mut() }) else { return error(anyhow::anyhow!("the configuration is NULL")) };
    // SAFETY: as above.
    let outcome = unsafe { c_str(triple, "the target") }.and_then(|t| config.config.target(t).map(|_| ()));
    outcome.err().map_or(std::ptr::null_mut(), error)
}

/// A native profiler to tell about compiled code.
pub type weft_profiling_strategy_t = u8;

/// Tells a profiler about compiled code: 0 none, 1 perf jitdump (`jit-<pid>.dump`), 2 perf map
/// (`/tmp/perf-<pid>.map`), 3 Intel VTune (x86-64 only: elsewhere making the engine fails); other values change
/// nothing.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_profiler_set(config: *mut wasm_config_t, strategy: weft_profiling_strategy_t) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        match strategy {
            0 => config.config.profiler(weft::ProfilingStrategy::None),
            1 => config.config.profiler(weft::ProfilingStrategy::JitDump),
            2 => config.config.profiler(weft::ProfilingStrategy::PerfMap),
            3 => config.config.profiler(weft::ProfilingStrategy::VTune),
            _ => &mut config.config,
        };
    }
}

/// Settings of the pooling allocator (see [`weft_config_pooling_allocation_set`]).
pub struct weft_pooling_config_t {
    config: weft::PoolingAllocationConfig,
}

/// Pooling settings with Weft's defaults (1000 instances, memories and tables; 4 GiB memories).
#[unsafe(no_mangle)]
pub extern "C" fn weft_pooling_config_new() -> *mut weft_pooling_config_t {
    crate::object::into_c(weft_pooling_config_t { config: weft::PoolingAllocationConfig::new() })
}

/// Frees pooling settings.
///
/// # Safety
/// `pooling` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_pooling_config_delete(pooling: *mut weft_pooling_config_t) {
    if !pooling.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(pooling) });
    }
}

/// Defines a pooling setter.
macro_rules! pooling_setter {
    ($name:ident, $method:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        ///
        /// # Safety
        /// `pooling` must be live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(pooling: *mut weft_pooling_config_t, value: $ty) {
            // SAFETY: the caller's guarantee.
            if let Some(pooling) = unsafe { pooling.as_mut() } {
                pooling.config.$method(value);
            }
        }
    };
}

pooling_setter!(weft_pooling_config_total_core_instances_set, total_core_instances, u32, "Instances alive at once.");
pooling_setter!(weft_pooling_config_total_memories_set, total_memories, u32, "Linear memories alive at once.");
pooling_setter!(weft_pooling_config_total_tables_set, total_tables, u32, "Tables alive at once.");
pooling_setter!(weft_pooling_config_max_memory_size_set, max_memory_size, usize, "Bytes one memory may grow to.");
pooling_setter!(weft_pooling_config_table_elements_set, table_elements, usize, "Elements one table may hold.");
pooling_setter!(
    weft_pooling_config_max_core_instance_size_set,
    max_core_instance_size,
    usize,
    "Bytes of one instance's runtime state (its VMContext)."
);
pooling_setter!(
    weft_pooling_config_max_memories_per_module_set,
    max_memories_per_module,
    u32,
    "Memories one module may define."
);
pooling_setter!(
    weft_pooling_config_max_tables_per_module_set,
    max_tables_per_module,
    u32,
    "Tables one module may define."
);

/// Allocates instances, memories and tables from pools sized by `pooling` (copied; the caller keeps it), set up
/// once when the engine is made.
///
/// # Safety
/// `config` and `pooling` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_pooling_allocation_set(
    config: *mut wasm_config_t,
    pooling: *const weft_pooling_config_t,
) {
    // SAFETY: the caller's guarantee.
    if let (Some(config), Some(pooling)) = (unsafe { config.as_mut() }, unsafe { pooling.as_ref() }) {
        config.config.allocation_strategy(weft::InstanceAllocationStrategy::Pooling(pooling.config.clone()));
    }
}

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

/// When functions are compiled: `WEFT_COMPILATION_AUTO` (0, the default), `_EAGER` (1), `_LAZY` (2), `_TIERED` (3);
/// other values leave the setting as it is.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_compilation_set(config: *mut wasm_config_t, mode: u8) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        let mode = match mode {
            0 => weft::Compilation::Auto,
            1 => weft::Compilation::Eager,
            2 => weft::Compilation::Lazy,
            3 => weft::Compilation::Tiered,
            _ => return,
        };
        config.config.compilation(mode);
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
    f: impl FnOnce(&mut weft::Store<StoreData>) -> anyhow::Result<()>,
) -> *mut weft_error_t {
    // SAFETY: the callers' contract: `store` is live or NULL.
    let Some(store) = (unsafe { store.as_ref() }) else { return error(anyhow::anyhow!("the store is NULL")) };
    match with_whole_store(&store.cell, f) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) | Err(e) => error(e),
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
        Ok(Ok(handle)) => Box::into_raw(Box::new(weft_interrupt_handle_t { handle })),
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

/// Limits what wasm in `store` may take: bytes of one linear memory, elements of one table, and how many
/// instances, tables and memories the store may hold. A negative value keeps that limit's default. Growth beyond
/// a limit fails (`memory.grow` returns -1); creation beyond one fails with an error. NULL, or an error the caller
/// deletes.
///
/// # Safety
/// `store` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_store_limiter(
    store: *mut wasm_store_t,
    memory_size: i64,
    table_elements: i64,
    instances: i64,
    tables: i64,
    memories: i64,
) -> *mut weft_error_t {
    whole_store(store, |s| {
        let mut limits = weft::StoreLimitsBuilder::new();
        if let Ok(n) = usize::try_from(memory_size) {
            limits = limits.memory_size(n);
        }
        if let Ok(n) = usize::try_from(table_elements) {
            limits = limits.table_elements(n);
        }
        if let Ok(n) = usize::try_from(instances) {
            limits = limits.instances(n);
        }
        if let Ok(n) = usize::try_from(tables) {
            limits = limits.tables(n);
        }
        if let Ok(n) = usize::try_from(memories) {
            limits = limits.memories(n);
        }
        s.data_mut().limits = limits.build();
        s.limiter(|data| &mut data.limits);
        Ok(())
    })
}

/// Whether `error` is a WASI program's exit (`proc_exit`); then its status is in `*status`.
///
/// # Safety
/// `error` must be live and `status` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_error_exit_status(error: *const weft_error_t, status: *mut i32) -> bool {
    // SAFETY: the caller's guarantee.
    let Some(error) = (unsafe { error.as_ref() }) else { return false };
    match error.error.downcast_ref::<weft_wasi::I32Exit>() {
        Some(exit) => {
            // SAFETY: the caller's guarantee.
            if let Some(status) = unsafe { status.as_mut() } {
                *status = exit.0;
            }
            true
        }
        None => false,
    }
}

/// A new error with `message` (NUL-terminated), e.g. for a host function to return.
///
/// # Safety
/// `message` must be a NUL-terminated string (or NULL, for an empty message).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_error_new(message: *const c_char) -> *mut weft_error_t {
    let text = if message.is_null() {
        String::new()
    } else {
        // SAFETY: the caller's guarantee: a NUL-terminated string.
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into()
    };
    error(anyhow::Error::msg(text))
}

/// Why wasm trapped (`weft_trap_code`).
pub type weft_trap_code_t = u8;

/// The trap's code (WEFT_TRAP_CODE_*, in the order of Weft's `Trap` enum), if wasm raised it; false for a trap
/// the host made, an error, or a WASI exit.
///
/// # Safety
/// `trap` must be live and `code` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_trap_code(trap: *const crate::wasm_trap_t, code: *mut weft_trap_code_t) -> bool {
    // SAFETY: the caller's guarantee.
    let Some(trap) = (unsafe { trap.as_ref() }) else { return false };
    let Some(found) = trap.error().downcast_ref::<weft::Trap>() else { return false };
    let Some(index) = weft::Trap::ALL.iter().position(|t| t == found) else { return false };
    // SAFETY: the caller's guarantee.
    if let Some(code) = unsafe { code.as_mut() } {
        *code = index as u8;
    }
    true
}

/// Whether the trap is a WASI program's exit (`proc_exit`, which `wasm_func_call` on `_start` reports as a trap);
/// then its status is in `*status`.
///
/// # Safety
/// `trap` must be live and `status` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_trap_exit_status(trap: *const crate::wasm_trap_t, status: *mut i32) -> bool {
    // SAFETY: the caller's guarantee.
    let Some(trap) = (unsafe { trap.as_ref() }) else { return false };
    match trap.error().downcast_ref::<weft_wasi::I32Exit>() {
        Some(exit) => {
            // SAFETY: the caller's guarantee.
            if let Some(status) = unsafe { status.as_mut() } {
                *status = exit.0;
            }
            true
        }
        None => false,
    }
}

/// The name of the frame's function (from the module's name section), or NULL; borrowed from the frame.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_frame_func_name(frame: *const crate::wasm_frame_t) -> *const wasm_byte_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.and_then(|f| f.func_name()).map_or(std::ptr::null(), |n| n as *const _)
}

/// The name of the frame's module (from its name section), or NULL; borrowed from the frame.
///
/// # Safety
/// `frame` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_frame_module_name(frame: *const crate::wasm_frame_t) -> *const wasm_byte_vec_t {
    // SAFETY: the caller's guarantee.
    unsafe { frame.as_ref() }.and_then(|f| f.module_name()).map_or(std::ptr::null(), |n| n as *const _)
}

/// Translates WebAssembly text (`len` bytes at `wat`) to the binary format, into `out` (owned by the caller). NULL,
/// or an error (with line and column) the caller deletes.
///
/// # Safety
/// `wat` must point to `len` readable bytes and `out` be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_wat2wasm(wat: *const c_char, len: usize, out: *mut wasm_byte_vec_t) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let text = match unsafe { str_of(wat, len, "the text") } {
        Ok(text) => text,
        Err(e) => return error(e),
    };
    match guarded(|| wat::parse_str(text).map_err(anyhow::Error::from)) {
        Ok(bytes) => {
            // SAFETY: the caller's guarantee.
            if let Some(out) = unsafe { out.as_mut() } {
                out.set(bytes);
            }
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}

/// Compiles `binary` like `wasm_module_new`, but says why it failed: NULL and the module in `*out`, or an error
/// (naming the offset of what was wrong) the caller deletes.
///
/// # Safety
/// `store` must be live, `binary` a valid vector and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
    out: *mut *mut crate::wasm_module_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), Some(binary), false) = (unsafe { store.as_ref() }, unsafe { binary.as_ref() }, out.is_null())
    else {
        return error(anyhow::anyhow!("weft_module_new: the store, binary or out pointer is NULL"));
    };
    // SAFETY: as above.
    match guarded(|| weft::Module::from_binary(&store.cell.engine, unsafe { binary.slice() })) {
        Ok(module) => {
            // SAFETY: as above.
            unsafe { *out = crate::wasm_module_t::new_in(&store.cell, module) };
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}

/// Loads a module serialized by `wasm_module_serialize` (a `.cwasm` from `weft compile` too) from the file at
/// `path`, mapping it rather than reading it: NULL and the module in `*out`, or an error the caller deletes. The
/// file is native code: load only what you made or trust.
///
/// # Safety
/// `store` must be live, `path` a NUL-terminated string and `out` valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_module_deserialize_file(
    store: *mut wasm_store_t,
    path: *const c_char,
    out: *mut *mut crate::wasm_module_t,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let (Some(store), false) = (unsafe { store.as_ref() }, out.is_null()) else {
        return error(anyhow::anyhow!("weft_module_deserialize_file: the store or out pointer is NULL"));
    };
    // SAFETY: as above.
    let loaded = unsafe { c_str(path, "the path") }
        .and_then(|path| guarded(|| weft::Module::deserialize_file(&store.cell.engine, path)));
    match loaded {
        Ok(module) => {
            // SAFETY: as above.
            unsafe { *out = crate::wasm_module_t::new_in(&store.cell, module) };
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}

/// A linear memory whose storage C provides (see [`weft_memory_creator_t`]).
#[repr(C)]
pub struct weft_linear_memory_t {
    /// Passed to each callback.
    pub env: *mut std::ffi::c_void,
    /// The address of byte 0; writes the current size and the bytes it can grow to without moving.
    pub get_memory: Option<unsafe extern "C" fn(*mut std::ffi::c_void, *mut usize, *mut usize) -> *mut u8>,
    /// Grows to `new_size` bytes; NULL, or an error (which Weft deletes) refusing the growth.
    pub grow_memory: Option<unsafe extern "C" fn(*mut std::ffi::c_void, usize) -> *mut weft_error_t>,
    /// Called with `env` when the memory goes (may be NULL).
    pub finalizer: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
}

/// Makes the storage of every linear memory an engine creates.
#[repr(C)]
pub struct weft_memory_creator_t {
    /// Passed to `new_memory`.
    pub env: *mut std::ffi::c_void,
    /// Fills `*memory` for a memory of `ty`, `minimum` bytes long, never grown past `maximum`; with
    /// `reserved_size_in_bytes` non-zero (a guard-page memory) it must reserve that many bytes plus
    /// `guard_size_in_bytes`, inaccessible past its size, at a base that never moves. NULL, or an error refusing
    /// the memory.
    pub new_memory: Option<
        unsafe extern "C" fn(
            *mut std::ffi::c_void,
            *const crate::wasm_memorytype_t,
            usize,
            usize,
            usize,
            usize,
            *mut weft_linear_memory_t,
        ) -> *mut weft_error_t,
    >,
    /// Called with `env` when the engine goes (may be NULL).
    pub finalizer: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
}

/// Takes a C error's text, deleting it.
///
/// # Safety
/// `e` must be an owned error (or NULL).
unsafe fn take_message(e: *mut weft_error_t) -> Option<String> {
    if e.is_null() {
        return None;
    }
    // SAFETY: the caller's guarantee.
    let e = unsafe { Box::from_raw(e) };
    Some(format!("{:#}", e.error))
}

/// C's memory, as Weft's `LinearMemory`.
struct CLinearMemory(weft_linear_memory_t);

// SAFETY: the C API's contract for a host memory creator: its memories may be used from any thread the engine's
// stores run on (as Wasmtime's C API asks too).
unsafe impl Send for CLinearMemory {}
// SAFETY: as above; Weft calls a memory's callbacks only through its store, one thread at a time.
unsafe impl Sync for CLinearMemory {}

impl CLinearMemory {
    fn get(&self) -> (*mut u8, usize, usize) {
        let (mut size, mut capacity) = (0usize, 0usize);
        let base = match self.0.get_memory {
            // SAFETY: C's callback with C's environment, as the creator's contract says.
            Some(get) => unsafe { get(self.0.env, &mut size, &mut capacity) },
            None => std::ptr::null_mut(),
        };
        (base, size, capacity)
    }
}

impl Drop for CLinearMemory {
    fn drop(&mut self) {
        if let Some(finalizer) = self.0.finalizer {
            // SAFETY: C gave this finalizer for this environment, to be called once when the memory goes.
            unsafe { finalizer(self.0.env) };
        }
    }
}

// SAFETY: the promises of `LinearMemory` are C's, stated in weft.h (`weft_config_host_memory_creator_set`); Weft
// checks what it can (alignment, sizes, the mapping) before using the memory and after each growth.
unsafe impl weft::LinearMemory for CLinearMemory {
    fn byte_size(&self) -> usize {
        self.get().1
    }
    fn byte_capacity(&self) -> usize {
        self.get().2
    }
    fn grow_to(&mut self, new_size: usize) -> anyhow::Result<()> {
        let Some(grow) = self.0.grow_memory else { anyhow::bail!("the host memory cannot grow") };
        // SAFETY: C's callback with C's environment; the error it returns is ours to delete.
        match unsafe { take_message(grow(self.0.env, new_size)) } {
            None => Ok(()),
            Some(message) => Err(anyhow::Error::msg(message)),
        }
    }
    fn as_ptr(&self) -> *mut u8 {
        self.get().0
    }
}

/// C's creator, as Weft's `MemoryCreator`.
struct CMemoryCreator(weft_memory_creator_t);

// SAFETY: the contract of `weft_config_host_memory_creator_set`: the creator may be called from any thread.
unsafe impl Send for CMemoryCreator {}
// SAFETY: as above.
unsafe impl Sync for CMemoryCreator {}

impl Drop for CMemoryCreator {
    fn drop(&mut self) {
        if let Some(finalizer) = self.0.finalizer {
            // SAFETY: C gave this finalizer for this environment, to be called once when the creator goes.
            unsafe { finalizer(self.0.env) };
        }
    }
}

// SAFETY: every memory it returns is C's, under the contract stated in weft.h, which is `LinearMemory`'s.
unsafe impl weft::MemoryCreator for CMemoryCreator {
    fn new_memory(
        &self,
        ty: weft::MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn weft::LinearMemory>, String> {
        let Some(new_memory) = self.0.new_memory else { return Err("the memory creator has no callback".into()) };
        let ty = crate::wasm_memorytype_t::from_type(ty);
        let mut memory =
            weft_linear_memory_t { env: std::ptr::null_mut(), get_memory: None, grow_memory: None, finalizer: None };
        // SAFETY: C's callback with C's environment, given a live type and a place to write the memory.
        let outcome = unsafe {
            new_memory(
                self.0.env,
                &ty,
                minimum,
                maximum.unwrap_or(usize::MAX),
                reserved_size_in_bytes.unwrap_or(0),
                guard_size_in_bytes,
                &mut memory,
            )
        };
        // SAFETY: the error, if any, is C's to give and ours to delete.
        match unsafe { take_message(outcome) } {
            Some(message) => Err(message),
            None if memory.get_memory.is_none() => Err("the memory creator returned no get_memory callback".into()),
            None => Ok(Box::new(CLinearMemory(memory))),
        }
    }
}

/// Has every linear memory of engines made from `config` live in storage `creator` provides (copied; its
/// finalizer runs when the last engine using it goes). The memories it makes must keep weft.h's promises, as
/// Weft's `LinearMemory` trait states them: a wrong base or size lets wasm reach memory it does not own.
///
/// # Safety
/// `config` and `creator` must be live; the callbacks must keep the promises above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_host_memory_creator_set(
    config: *mut wasm_config_t,
    creator: *const weft_memory_creator_t,
) {
    // SAFETY: the caller's guarantee.
    if let (Some(config), Some(creator)) = (unsafe { config.as_mut() }, unsafe { creator.as_ref() }) {
        let copy =
            weft_memory_creator_t { env: creator.env, new_memory: creator.new_memory, finalizer: creator.finalizer };
        config.config.with_host_memory(std::sync::Arc::new(CMemoryCreator(copy)));
    }
}

/// Sets a Cranelift setting by name (`weft_config_cranelift_flag_set(config, "regalloc_checker", "true")`). A
/// setting Weft does not let code generation change is refused when the engine is made
/// (`wasm_engine_new_with_config` then returns NULL).
///
/// # Safety
/// `config` must be live; `name` and `value` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_cranelift_flag_set(
    config: *mut wasm_config_t,
    name: *const c_char,
    value: *const c_char,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let Some(config) = (unsafe { config.as_mut() }) else { return error(anyhow::anyhow!("the configuration is NULL")) };
    // SAFETY: as above.
    match unsafe { (c_str(name, "the setting"), c_str(value, "the value")) } {
        (Ok(name), Ok(value)) => {
            config.config.cranelift_flag_set(name, value);
            std::ptr::null_mut()
        }
        (Err(e), _) | (_, Err(e)) => error(e),
    }
}

/// Turns on a boolean Cranelift setting by name (see [`weft_config_cranelift_flag_set`]).
///
/// # Safety
/// `config` must be live; `name` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_config_cranelift_flag_enable(
    config: *mut wasm_config_t,
    name: *const c_char,
) -> *mut weft_error_t {
    // SAFETY: the caller's guarantee.
    let Some(config) = (unsafe { config.as_mut() }) else { return error(anyhow::anyhow!("the configuration is NULL")) };
    // SAFETY: as above.
    match unsafe { c_str(name, "the setting") } {
        Ok(name) => {
            config.config.cranelift_flag_enable(name);
            std::ptr::null_mut()
        }
        Err(e) => error(e),
    }
}
