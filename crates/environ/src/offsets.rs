//! The layout of the structures that compiled code reads and writes (`VMContext` and friends).
//!
//! Both the compiler (which emits loads at these offsets) and the runtime (which allocates and fills the structures)
//! take their layout from here, so the two cannot drift apart. Pointers are 8 bytes: Weft targets 64-bit hosts.
//!
//! ```text
//! VMContext (one per instance)
//!   +0   magic: u32 ("weft"), 4 bytes padding
//!   +8   instance: *mut Instance          (runtime bookkeeping, used by libcalls)
//!   +16  store_context: *mut VMStoreContext (stack limit; shared by every instance in a store)
//!   +24  builtins: *const VMBuiltinFunctions (table of libcall pointers)
//!   +32  memory_bases: [*mut u8; memories] (guard-page memories only: their base never moves, so each instance
//!                                           keeps a copy and compiled code reaches it with one load)
//!   ...  defined_globals: [VMGlobalDefinition; defined globals] (16-aligned, 16 bytes each: the values
//!                                           themselves, one load from the vmctx away)
//!   ...  type_ids: [u32; types]            (engine-wide signature id of each module type, for call_indirect)
//!   ...  func_refs: [VMFuncRef; functions] (imports first; 8-aligned)
//!   ...  memories: [*mut VMMemoryDefinition; memories]
//!   ...  tables:   [*mut VMTableDefinition; tables]
//!   ...  globals:  [*mut VMGlobalDefinition; globals]  (a defined global's points at its slot above)
//!   ...  tags:     [*const VMTagDefinition; tags]        (a tag's identity is the address of its definition)
//!
//! The memory bases and the globals come first because nearly every function reads them (a C program's shadow
//! stack pointer is a global): within 127 bytes of the vmctx, x86-64 addresses them with a one-byte displacement,
//! which makes each access 3 bytes shorter than after the variable-length arrays.
//! ```

use crate::{DefinedGlobalIndex, FuncIndex, GlobalIndex, MemoryIndex, Module, TableIndex, TagIndex, TypeIndex};

/// Size of a pointer on every supported host.
pub const POINTER_SIZE: u32 = 8;
/// Value of the magic word at the start of a `VMContext`.
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"weft");
/// Value of the magic word at the start of a `VMHostFuncContext`.
pub const VMHOST_FUNC_MAGIC: u32 = u32::from_le_bytes(*b"host");

/// Offsets inside `VMFuncRef` (`{ array_call, wasm_call, vmctx, type_id }`, 32 bytes).
pub mod vmfuncref {
    /// `array_call`: the function's entry through the array calling convention (host to wasm).
    pub const ARRAY_CALL: u32 = 0;
    /// `wasm_call`: the function's entry through the wasm calling convention.
    pub const WASM_CALL: u32 = 8;
    /// `vmctx`: the callee's context (a `VMContext` or a `VMHostFuncContext`).
    pub const VMCTX: u32 = 16;
    /// `type_id`: the engine-wide signature id (u32).
    pub const TYPE_ID: u32 = 24;
    /// Size of the structure.
    pub const SIZE: u32 = 32;
}

/// Offsets inside `VMMemoryDefinition` (`{ base, current_length }`).
pub mod vmmemory {
    /// Base address of the memory's bytes.
    pub const BASE: u32 = 0;
    /// Current length in bytes (usize).
    pub const CURRENT_LENGTH: u32 = 8;
}

/// Offsets inside `VMTableDefinition` (`{ base, current_elements }`).
pub mod vmtable {
    /// Base address of the element array (each element is a pointer; null is the null reference).
    pub const BASE: u32 = 0;
    /// Current number of elements (usize).
    pub const CURRENT_ELEMENTS: u32 = 8;
}

/// Bytes of stack a leaf function (one that calls nothing) may use below the stack limit. Such a function skips
/// the limit check when its whole frame fits in this much: whatever called it checked the limit, and the runtime
/// keeps this much stack free below the limit on top of what it keeps for host functions.
pub const LEAF_FRAME_SLACK: u32 = 8 * 1024;

/// Offsets inside `VMStoreContext`, the per-store state compiled code checks.
pub mod vmstore {
    /// The lowest stack address wasm may use; function prologues trap below it.
    pub const STACK_LIMIT: u32 = 0;
    /// `*const AtomicUsize`: the store's pending requests, [`INTERRUPT_REQUESTED`] (the embedder's
    /// `InterruptHandle`) and/or [`SAMPLE_REQUESTED`] (its guest profiler). Interrupt checks trap when it is non-zero.
    pub const INTERRUPT_FLAG: u32 = 16;
    /// Bit of the interrupt flag: trap with "interrupted".
    pub const INTERRUPT_REQUESTED: usize = 1;
    /// Bit of the interrupt flag: the store's guest profiler wants a sample of the wasm stack (set by its timer).
    pub const SAMPLE_REQUESTED: usize = 2;
    /// `i64`: fuel consumed minus fuel granted; wasm traps with "all fuel consumed" once it is above zero.
    pub const FUEL_CONSUMED: u32 = 24;
    /// `*const AtomicU64`: the engine's epoch counter.
    pub const EPOCH_PTR: u32 = 32;
    /// `u64`: the epoch at which this store's wasm traps.
    pub const EPOCH_DEADLINE: u32 = 40;
    /// Frame pointer of the most recent wasm-to-host trampoline, so host errors can be given a wasm backtrace.
    pub const LAST_EXIT_FP: u32 = 48;
    /// The lowest stack address tiered mode's quick code may use: further down than `STACK_LIMIT` (by
    /// `QUICK_CODE_STACK_FACTOR - 1` times the wasm stack size), because its frames are several times larger.
    pub const QUICK_STACK_LIMIT: u32 = 56;
    /// `*const u8`: the store's interrupt probe, [`PROBE_BYTES`] readable bytes that are made unreadable while a
    /// request is pending (null for an engine without `guest_profiling`). With `guest_profiling`, function entries
    /// and loop headers load a byte from it instead of testing the flag: the load faults when there is a request,
    /// and the runtime's fault handler raises the interrupt, or takes a stack sample and lets the load run again.
    pub const INTERRUPT_PROBE: u32 = 64;
    /// Bytes of the interrupt probe. Each probe of a function (inlined callees' included) loads from its own offset
    /// (modulo this), so that the optimiser never takes one probe for a repeat of another and removes it.
    pub const PROBE_BYTES: u32 = 4096;
    // A probe is then a single load with an immediate offset on both architectures (aarch64's `ldrb` reaches 4095),
    // which the runtime's probe-sample stub relies on (it returns through a scratch register such sequences use).
    const _: () = assert!(PROBE_BYTES <= 4096);
}

/// How many times the wasm stack size quick code may use (see `vmstore::QUICK_STACK_LIMIT`): quick code keeps
/// every value in a stack slot of its own, and its frames (measured on yosys's recursive `AstNode::simplify`) take
/// several times an optimised frame's stack. A program that fits in the stack when optimised must fit when it
/// starts in quick code.
pub const QUICK_CODE_STACK_FACTOR: usize = 4;

/// Offsets inside `VMHostFuncContext`, the callee context of a host function.
pub mod vmhost {
    /// The host function's array-call entry, loaded by the wasm-to-host trampoline.
    pub const ARRAY_CALL: u32 = 8;
}

/// Offsets of the libcall pointers in `VMBuiltinFunctions`. Every builtin takes the caller's `vmctx` first and
/// uses the host calling convention. Those returning a status return 0 on success and non-zero when the operation
/// must trap (compiled code raises the trap, so the libcall never unwinds).
pub mod builtins {
    /// `memory_grow(vmctx, delta_pages: u32, memory: u32) -> u32` (old size, or u32::MAX on failure).
    pub const MEMORY_GROW: u32 = 0;
    /// `memory_copy(vmctx, dst_memory: u32, dst: u32, src_memory: u32, src: u32, len: u32) -> status`.
    pub const MEMORY_COPY: u32 = 8;
    /// `memory_fill(vmctx, memory: u32, dst: u32, value: u32, len: u32) -> status`.
    pub const MEMORY_FILL: u32 = 16;
    /// `memory_init(vmctx, memory: u32, data: u32, dst: u32, src: u32, len: u32) -> status`.
    pub const MEMORY_INIT: u32 = 24;
    /// `data_drop(vmctx, data: u32)`.
    pub const DATA_DROP: u32 = 32;
    /// `table_copy(vmctx, dst_table: u32, src_table: u32, dst: u32, src: u32, len: u32) -> status`.
    pub const TABLE_COPY: u32 = 40;
    /// `table_init(vmctx, table: u32, elem: u32, dst: u32, src: u32, len: u32) -> status`.
    pub const TABLE_INIT: u32 = 48;
    /// `elem_drop(vmctx, elem: u32)`.
    pub const ELEM_DROP: u32 = 56;
    /// `table_grow(vmctx, table: u32, delta: u32, init: *mut u8) -> u32` (old size, or u32::MAX on failure).
    pub const TABLE_GROW: u32 = 64;
    /// `table_fill(vmctx, table: u32, dst: u32, value: *mut u8, len: u32) -> status`.
    pub const TABLE_FILL: u32 = 72;
    /// `throw(vmctx, tag: u32, payload: *const ValRaw) -> !`: creates an exception and unwinds to its handler.
    /// Called with the `tail` convention (as every callee of a `try_call` must be, so that a handler assumes no
    /// register survived); it never returns, and its few arguments are in the same registers as the host's.
    pub const THROW: u32 = 80;
    /// `throw_ref(vmctx, exn: *mut VMException) -> !`: rethrows a non-null exception reference, like `THROW`.
    pub const THROW_REF: u32 = 88;
    /// `exception_release(vmctx, exn: *mut VMException)`: a `catch` (or `catch_all`) clause took the exception and
    /// unpacked it; unless a reference to it was ever handed out, nothing can reach it any more and it is freed.
    pub const EXCEPTION_RELEASE: u32 = 96;
    /// `tier_up(vmctx, func: u32)`: a function compiled for a quick start has run often (its counter reached the
    /// threshold); the runtime queues its optimised compilation and returns at once.
    pub const TIER_UP: u32 = 104;
}

/// Offsets inside `VMException`, the object an `exnref` points to (`{ tag, payload }`).
pub mod vmexn {
    /// `*const VMTagDefinition`: the tag it was thrown with (identity, compared by address).
    pub const TAG: u32 = 0;
    /// `*const ValRaw`: the payload values, one 16-byte slot each, in the tag's parameter order.
    pub const PAYLOAD: u32 = 8;
    /// `u8`: non-zero once a reference to the exception was handed out (to wasm by `catch_ref`/`catch_all_ref`,
    /// or to the host); such an exception lives until its store is dropped.
    pub const ESCAPED: u32 = 16;
}

/// The size of a `VMGlobalDefinition`: every global value, including v128, fits.
pub const VMGLOBAL_SIZE: u32 = 16;

/// The size of one slot of the array calling convention (`ValRaw`): every value, including v128, fits.
pub const VALRAW_SIZE: u32 = 16;

/// The default [`crate::Tunables::tier_up_threshold`]: runs (entries plus loop iterations) of a function's quick
/// code, in tiered compilation, after which it is compiled again, optimised, in the background.
pub const TIER_UP_THRESHOLD: u32 = 1000;

/// The computed layout of one module's `VMContext`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    num_types: u32,
    num_funcs: u32,
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_defined_globals: u32,
    num_tags: u32,
    type_ids: u32,
    func_refs: u32,
    memories: u32,
    tables: u32,
    globals: u32,
    tags: u32,
    memory_bases: u32,
    defined_globals: u32,
    size: u32,
}

impl VMOffsets {
    /// Offset of the magic word.
    pub const MAGIC: u32 = 0;
    /// Offset of the runtime's instance pointer.
    pub const INSTANCE: u32 = 8;
    /// Offset of the `*mut VMStoreContext`.
    pub const STORE_CONTEXT: u32 = 16;
    /// Offset of the `*const VMBuiltinFunctions`.
    pub const BUILTINS: u32 = 24;
    /// Offset of the pointer to the module's code table (lazily compiled modules; null otherwise): the current
    /// code address of each defined function, by defined index, through which compiled code calls.
    pub const LAZY_CODE: u32 = 32;
    /// Offset of the pointer to the module's call counters (tiered modules; null otherwise): a `u32` per defined
    /// function, counting entries and loop iterations of its quick-start code.
    pub const TIER_COUNTERS: u32 = 40;

    /// Computes the layout for `module`.
    pub fn new(module: &Module) -> Self {
        let align8 = |x: u32| (x + 7) & !7;
        let num_types = module.types.len() as u32;
        let num_funcs = module.functions.len() as u32;
        let num_memories = module.memories.len() as u32;
        let num_tables = module.tables.len() as u32;
        let num_globals = module.globals.len() as u32;
        let num_defined_globals = num_globals - module.num_imported_globals;
        let memory_bases = 48;
        let defined_globals = (memory_bases + POINTER_SIZE * num_memories).next_multiple_of(VMGLOBAL_SIZE);
        let type_ids = defined_globals + VMGLOBAL_SIZE * num_defined_globals;
        let func_refs = align8(type_ids + 4 * num_types);
        let memories = func_refs + vmfuncref::SIZE * num_funcs;
        let tables = memories + POINTER_SIZE * num_memories;
        let globals = tables + POINTER_SIZE * num_tables;
        let num_tags = module.tags.len() as u32;
        let tags = globals + POINTER_SIZE * num_globals;
        let size = tags + POINTER_SIZE * num_tags;
        Self {
            num_types,
            num_funcs,
            num_memories,
            num_tables,
            num_globals,
            num_defined_globals,
            num_tags,
            type_ids,
            func_refs,
            memories,
            tables,
            globals,
            tags,
            memory_bases,
            defined_globals,
            size,
        }
    }

    /// Total size of the `VMContext` in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }
    /// Offset of the engine-wide id of type `t`.
    pub fn type_id(&self, t: TypeIndex) -> u32 {
        assert!(t.as_u32() < self.num_types);
        self.type_ids + 4 * t.as_u32()
    }
    /// Offset of the `VMFuncRef` of function `f`.
    pub fn func_ref(&self, f: FuncIndex) -> u32 {
        assert!(f.as_u32() < self.num_funcs);
        self.func_refs + vmfuncref::SIZE * f.as_u32()
    }
    /// Offset of the pointer to memory `m`'s definition.
    pub fn memory_pointer(&self, m: MemoryIndex) -> u32 {
        assert!(m.as_u32() < self.num_memories);
        self.memories + POINTER_SIZE * m.as_u32()
    }
    /// Offset of the pointer to table `t`'s definition.
    pub fn table_pointer(&self, t: TableIndex) -> u32 {
        assert!(t.as_u32() < self.num_tables);
        self.tables + POINTER_SIZE * t.as_u32()
    }
    /// Offset of the pointer to global `g`'s storage.
    pub fn global_pointer(&self, g: GlobalIndex) -> u32 {
        assert!(g.as_u32() < self.num_globals);
        self.globals + POINTER_SIZE * g.as_u32()
    }
    /// Offset of the pointer to tag `t`'s definition.
    pub fn tag_pointer(&self, t: TagIndex) -> u32 {
        assert!(t.as_u32() < self.num_tags);
        self.tags + POINTER_SIZE * t.as_u32()
    }
    /// Offset of the copy of memory `m`'s base address, valid for memories with guard pages (whose base never
    /// moves); with explicit bounds checks the base is read from the memory's definition instead.
    pub fn memory_base(&self, m: MemoryIndex) -> u32 {
        assert!(m.as_u32() < self.num_memories);
        self.memory_bases + POINTER_SIZE * m.as_u32()
    }
    /// Offset of defined global `g`'s value (16-aligned).
    pub fn defined_global(&self, g: DefinedGlobalIndex) -> u32 {
        assert!(g.as_u32() < self.num_defined_globals);
        self.defined_globals + VMGLOBAL_SIZE * g.as_u32()
    }
}
