//! The structures compiled code reads and writes. Their layout is fixed by `weft_environ::VMOffsets` and the
//! offset modules beside it; the `const` assertions below keep Rust's view and the compiler's view identical.

use std::any::Any;
use std::sync::atomic::AtomicU64;
use weft_environ::{VMHOST_FUNC_MAGIC, vmfuncref, vmhost, vmmemory, vmstore, vmtable};

/// An opaque instance context; compiled code receives a pointer to one as its first argument.
#[repr(C, align(16))]
pub struct VMContext {
    _opaque: [u8; 0],
}

/// A function as compiled code sees it: everything needed to call it.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct VMFuncRef {
    /// Host-to-wasm entry (an array-call trampoline), or the host shim for host functions.
    pub array_call: *const u8,
    /// Entry through the wasm calling convention.
    pub wasm_call: *const u8,
    /// The callee's context (a `VMContext`, or a `VMHostFuncContext` for host functions).
    pub vmctx: *mut VMContext,
    /// Engine-wide signature id.
    pub type_id: u32,
    _pad: u32,
}

impl VMFuncRef {
    /// Builds a function reference.
    pub fn new(array_call: *const u8, wasm_call: *const u8, vmctx: *mut VMContext, type_id: u32) -> Self {
        Self { array_call, wasm_call, vmctx, type_id, _pad: 0 }
    }
}

/// A linear memory's current base and length, read by every memory access.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Address of byte 0.
    pub base: *mut u8,
    /// Length in bytes.
    pub current_length: usize,
}

/// A table's element array and length.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// Address of element 0 (each element is a pointer; null is the null reference).
    pub base: *mut *mut u8,
    /// Number of elements.
    pub current_elements: usize,
}

/// Storage of one global (16 bytes, enough for a v128).
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default)]
pub struct VMGlobalDefinition {
    /// The value's bytes, little-endian, starting at byte 0.
    pub storage: [u8; 16],
}

/// Per-store state that compiled code checks.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// Lowest stack address wasm may use (`usize::MAX` while no wasm runs on this store).
    pub stack_limit: usize,
    /// The store that owns everything, for host functions (set by the embedding layer).
    pub store_data: *mut (),
    /// The store's pending requests (its word is what plain interrupt checks load); owned by the store, shared with
    /// its interrupt handles and guest profiler.
    pub interrupt_flag: *const crate::InterruptFlag,
    /// Fuel consumed minus fuel granted (traps above zero).
    pub fuel_consumed: i64,
    /// The engine's epoch counter.
    pub epoch_ptr: *const AtomicU64,
    /// The epoch at which wasm traps.
    pub epoch_deadline: u64,
    /// Frame pointer of the innermost wasm-to-host trampoline (0 when none ran yet).
    pub last_exit_fp: usize,
    /// Lowest stack address tiered mode's quick code may use (`usize::MAX` while no wasm runs on this store).
    pub quick_stack_limit: usize,
    /// The flag's probe page, which `guest_profiling` code loads from (null without one).
    pub interrupt_probe: *const u8,
    /// The embedder's resource limiter, asked before memories and tables grow (`None`: no limiter). Compiled code
    /// never reads it; it stays after the fields compiled code does read.
    pub limiter: Option<crate::limits::LimiterHooks>,
    /// Receives a sample of the wasm stack whenever a probe finds `SAMPLE_REQUESTED` in the interrupt flag (the
    /// store's guest profiler); `None`: such requests are ignored.
    pub sampler: Option<std::sync::Arc<dyn crate::StackSampler>>,
    /// The engine's pool of guard-page reservations, which the store's memories take from and give back to.
    pub reservation_pool: Option<std::sync::Arc<crate::ReservationPool>>,
    /// The engine's provider of memory storage, if the embedder gave one.
    pub memory_creator: Option<std::sync::Arc<dyn crate::HostMemoryCreator>>,
    /// Every exception thrown in this store (`exnref`s point into these boxes), kept until the store is dropped.
    pub exceptions: crate::ExceptionArena,
}

impl Default for VMStoreContext {
    fn default() -> Self {
        Self {
            stack_limit: usize::MAX,
            quick_stack_limit: usize::MAX,
            store_data: std::ptr::null_mut(),
            interrupt_flag: std::ptr::null(),
            fuel_consumed: 0,
            epoch_ptr: std::ptr::null(),
            epoch_deadline: u64::MAX,
            last_exit_fp: 0,
            interrupt_probe: std::ptr::null(),
            limiter: None,
            sampler: None,
            reservation_pool: None,
            memory_creator: None,
            exceptions: Default::default(),
        }
    }
}

/// One value in the array calling convention: 16 bytes, little-endian, starting at byte 0.
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ValRaw([u8; 16]);

impl ValRaw {
    /// From 16 raw bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        ValRaw(b)
    }
    /// From an `i32`.
    pub fn i32(v: i32) -> Self {
        Self::u128(v as u32 as u128)
    }
    /// From an `i64`.
    pub fn i64(v: i64) -> Self {
        Self::u128(v as u64 as u128)
    }
    /// From f32 bits.
    pub fn f32(bits: u32) -> Self {
        Self::u128(bits as u128)
    }
    /// From f64 bits.
    pub fn f64(bits: u64) -> Self {
        Self::u128(bits as u128)
    }
    /// From a v128.
    pub fn u128(v: u128) -> Self {
        ValRaw(v.to_le_bytes())
    }
    /// From a pointer (references).
    pub fn ptr(p: *mut u8) -> Self {
        Self::u128(p as usize as u128)
    }
    /// As an `i32`.
    pub fn get_i32(&self) -> i32 {
        self.get_u128() as u32 as i32
    }
    /// As an `i64`.
    pub fn get_i64(&self) -> i64 {
        self.get_u128() as u64 as i64
    }
    /// As f32 bits.
    pub fn get_f32(&self) -> u32 {
        self.get_u128() as u32
    }
    /// As f64 bits.
    pub fn get_f64(&self) -> u64 {
        self.get_u128() as u64
    }
    /// As a v128.
    pub fn get_u128(&self) -> u128 {
        u128::from_le_bytes(self.0)
    }
    /// As a pointer.
    pub fn get_ptr(&self) -> *mut u8 {
        self.get_u128() as usize as *mut u8
    }
    /// The raw bytes.
    pub fn bytes(&self) -> [u8; 16] {
        self.0
    }
}

/// The libcall table compiled code calls through (`VMOffsets::BUILTINS`); see `weft_environ::builtins`.
#[repr(C)]
#[allow(missing_docs, reason = "each field is documented at its offset in weft_environ::builtins")]
pub struct VMBuiltinFunctions {
    pub memory_grow: unsafe extern "C" fn(*mut VMContext, u64, u32) -> u64,
    pub memory_copy: unsafe extern "C" fn(*mut VMContext, u32, u64, u32, u64, u64) -> u32,
    pub memory_fill: unsafe extern "C" fn(*mut VMContext, u32, u64, u32, u64) -> u32,
    pub memory_init: unsafe extern "C" fn(*mut VMContext, u32, u32, u64, u32, u32) -> u32,
    pub data_drop: unsafe extern "C" fn(*mut VMContext, u32),
    pub table_copy: unsafe extern "C" fn(*mut VMContext, u32, u32, u64, u64, u64) -> u32,
    pub table_init: unsafe extern "C" fn(*mut VMContext, u32, u32, u64, u32, u32) -> u32,
    pub elem_drop: unsafe extern "C" fn(*mut VMContext, u32),
    pub table_grow: unsafe extern "C" fn(*mut VMContext, u32, u64, *mut u8) -> u64,
    pub table_fill: unsafe extern "C" fn(*mut VMContext, u32, u64, *mut u8, u64) -> u32,
    pub throw: unsafe extern "C" fn(*mut VMContext, u32, *const ValRaw) -> !,
    pub throw_ref: unsafe extern "C" fn(*mut VMContext, *mut u8) -> !,
    pub exception_release: unsafe extern "C" fn(*mut VMContext, *mut u8),
    /// `tier_up(vmctx, func)`: queue the optimised compilation of a function whose quick code ran often.
    pub tier_up: unsafe extern "C" fn(*mut VMContext, u32),
}

/// A host function implementation called from wasm through a `VMHostFuncContext`.
pub trait HostFunc: Send + Sync + 'static {
    /// Runs the function. `values` holds the arguments on entry and receives the results; `caller_vmctx` is the
    /// calling instance's context (null when called from the host). An `Err` unwinds the wasm frames and surfaces
    /// from the outermost `catch_traps` as [`crate::UnwindReason::Host`].
    fn call(&self, caller_vmctx: *mut VMContext, values: &mut [ValRaw]) -> Result<(), Box<dyn Any + Send>>;
}

/// The signature of a host shim called by the wasm-to-host trampoline.
pub type VMHostArrayCall = unsafe extern "C" fn(*mut VMHostFuncContext, *mut VMContext, *mut ValRaw, usize);

/// The callee context of a host function: what `VMFuncRef::vmctx` points to for host functions.
#[repr(C)]
pub struct VMHostFuncContext {
    magic: u32,
    _pad: u32,
    array_call: VMHostArrayCall,
    func_ref: VMFuncRef,
    func: Box<dyn HostFunc>,
}

const _: () = {
    use weft_environ::builtins;
    assert!(std::mem::offset_of!(VMBuiltinFunctions, memory_grow) == builtins::MEMORY_GROW as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, memory_copy) == builtins::MEMORY_COPY as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, memory_fill) == builtins::MEMORY_FILL as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, memory_init) == builtins::MEMORY_INIT as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, data_drop) == builtins::DATA_DROP as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, table_copy) == builtins::TABLE_COPY as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, table_init) == builtins::TABLE_INIT as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, elem_drop) == builtins::ELEM_DROP as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, table_grow) == builtins::TABLE_GROW as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, table_fill) == builtins::TABLE_FILL as usize);
    assert!(std::mem::offset_of!(VMBuiltinFunctions, tier_up) == builtins::TIER_UP as usize);
    assert!(std::mem::offset_of!(VMFuncRef, array_call) == vmfuncref::ARRAY_CALL as usize);
    assert!(std::mem::offset_of!(VMFuncRef, wasm_call) == vmfuncref::WASM_CALL as usize);
    assert!(std::mem::offset_of!(VMFuncRef, vmctx) == vmfuncref::VMCTX as usize);
    assert!(std::mem::offset_of!(VMFuncRef, type_id) == vmfuncref::TYPE_ID as usize);
    assert!(std::mem::size_of::<VMFuncRef>() == vmfuncref::SIZE as usize);
    assert!(std::mem::offset_of!(VMMemoryDefinition, base) == vmmemory::BASE as usize);
    assert!(std::mem::offset_of!(VMMemoryDefinition, current_length) == vmmemory::CURRENT_LENGTH as usize);
    assert!(std::mem::offset_of!(VMTableDefinition, base) == vmtable::BASE as usize);
    assert!(std::mem::offset_of!(VMTableDefinition, current_elements) == vmtable::CURRENT_ELEMENTS as usize);
    assert!(std::mem::offset_of!(VMStoreContext, stack_limit) == vmstore::STACK_LIMIT as usize);
    assert!(std::mem::offset_of!(VMStoreContext, interrupt_flag) == vmstore::INTERRUPT_FLAG as usize);
    assert!(std::mem::offset_of!(VMStoreContext, fuel_consumed) == vmstore::FUEL_CONSUMED as usize);
    assert!(std::mem::offset_of!(VMStoreContext, epoch_ptr) == vmstore::EPOCH_PTR as usize);
    assert!(std::mem::offset_of!(VMStoreContext, epoch_deadline) == vmstore::EPOCH_DEADLINE as usize);
    assert!(std::mem::offset_of!(VMStoreContext, last_exit_fp) == vmstore::LAST_EXIT_FP as usize);
    assert!(std::mem::offset_of!(VMStoreContext, interrupt_probe) == vmstore::INTERRUPT_PROBE as usize);
    assert!(std::mem::offset_of!(VMStoreContext, quick_stack_limit) == vmstore::QUICK_STACK_LIMIT as usize);
    assert!(std::mem::offset_of!(VMHostFuncContext, array_call) == vmhost::ARRAY_CALL as usize);
    assert!(std::mem::size_of::<ValRaw>() == weft_environ::VALRAW_SIZE as usize);
};

impl VMHostFuncContext {
    /// Wraps `func`, whose wasm-to-host trampoline (for its signature) is at `wasm_call` and whose engine-wide
    /// signature id is `type_id`. The box must stay alive (at a fixed address) while wasm can reach it.
    pub fn new(func: Box<dyn HostFunc>, wasm_call: *const u8, type_id: u32) -> Box<VMHostFuncContext> {
        let mut ctx = Box::new(VMHostFuncContext {
            magic: VMHOST_FUNC_MAGIC,
            _pad: 0,
            array_call: crate::traphandlers::host_array_call,
            func_ref: VMFuncRef::new(std::ptr::null(), wasm_call, std::ptr::null_mut(), type_id),
            func,
        });
        let self_ptr: *mut VMHostFuncContext = &mut *ctx;
        ctx.func_ref.vmctx = self_ptr.cast();
        ctx.func_ref.array_call = crate::traphandlers::host_array_call as *const u8;
        ctx
    }

    /// The function reference wasm uses to call this host function.
    pub fn func_ref(&self) -> &VMFuncRef {
        &self.func_ref
    }

    /// The host implementation.
    pub fn func(&self) -> &dyn HostFunc {
        &*self.func
    }

    /// Whether `vmctx` (a `VMFuncRef::vmctx`) is a host function context rather than an instance's.
    ///
    /// # Safety
    /// `vmctx` must point to a live `VMContext` or `VMHostFuncContext`; both start with a 4-byte magic.
    pub unsafe fn is_host(vmctx: *mut VMContext) -> bool {
        // SAFETY: both context kinds start with an initialised, aligned u32 (the caller guarantees liveness).
        unsafe { *(vmctx as *const u32) == VMHOST_FUNC_MAGIC }
    }
}
