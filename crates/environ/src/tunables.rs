//! Settings that shape generated code and must match between the compiler and the runtime.

use serde::{Deserialize, Serialize};
/// Code-shaping settings shared by the compiler and the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunables {
    /// Bytes of address space reserved for each 32-bit linear memory when guard pages are used (4 GiB covers every
    /// 32-bit index, so accesses need no bounds check).
    pub static_memory_reservation: u64,
    /// Bytes of inaccessible guard region after the reservation. A static offset up to this size needs no check.
    pub static_memory_guard: u64,
    /// Emit an explicit bounds check on every memory access instead of relying on guard pages.
    pub explicit_bounds_checks: bool,
    /// Check the store's interrupt flag at function entries and loop headers.
    pub interruptible: bool,
    /// Check for interrupts in the shape a guest profiler needs (and even without `interruptible`): a load from the
    /// store's interrupt probe (`vmstore::INTERRUPT_PROBE`), which faults while a request is pending, instead of a
    /// test of the flag. The runtime's fault handler then raises the interrupt, or takes a stack sample and lets
    /// wasm go on.
    pub guest_profiling: bool,
    /// Check the engine's epoch against the store's deadline at function entries and loop headers.
    pub epoch_interruption: bool,
    /// Count executed operators against the store's fuel.
    pub consume_fuel: bool,
    /// Give every relaxed-SIMD operator its one deterministic result (that of its non-relaxed counterpart, and a
    /// fused multiply-add), the same on every host, instead of the host's fastest instruction.
    pub relaxed_simd_deterministic: bool,
    /// When functions are compiled: all before anything runs, or each on its first call (see [`Compilation`]).
    pub compilation: Compilation,
    /// In tiered compilation, how many runs (entries plus loop iterations) of a function's quick code make it
    /// hot: it is then compiled again, optimised, in the background.
    pub tier_up_threshold: u32,
}

/// When a module's functions are compiled.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compilation {
    /// `Eager` for modules whose function bodies take less than [`AUTO_LAZY_CODE_BYTES`], `Lazy` for larger ones
    /// (the measurements behind the choice are in docs/benchmarks.md).
    #[default]
    Auto,
    /// Every function, optimised, before the module can be instantiated.
    Eager,
    /// The whole module is validated up front; each function is compiled, optimised, on its first call.
    Lazy,
    /// Like `Lazy`, but a function's first compilation is a quick one (no optimisation) that counts its calls
    /// and loop iterations; a function that runs often is compiled again, optimised, in the background, and
    /// later calls use that code.
    Tiered,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            static_memory_reservation: 1 << 32,
            static_memory_guard: 2 << 30,
            explicit_bounds_checks: false,
            interruptible: false,
            guest_profiling: false,
            epoch_interruption: false,
            consume_fuel: false,
            relaxed_simd_deterministic: false,
            compilation: Compilation::Auto,
            tier_up_threshold: crate::TIER_UP_THRESHOLD,
        }
    }
}

/// With [`Compilation::Auto`], modules with at least this many bytes of function bodies are compiled lazily.
pub const AUTO_LAZY_CODE_BYTES: usize = 1 << 20;

impl Compilation {
    /// The mode a module whose function bodies take `code_bytes` bytes is compiled in: `Auto` decided.
    pub fn for_code_size(self, code_bytes: usize) -> Compilation {
        match self {
            Compilation::Auto if code_bytes >= AUTO_LAZY_CODE_BYTES => Compilation::Lazy,
            Compilation::Auto => Compilation::Eager,
            mode => mode,
        }
    }

    /// Whether functions are compiled on their first calls.
    pub fn is_lazy(self) -> bool {
        matches!(self, Compilation::Lazy | Compilation::Tiered)
    }
}

impl Tunables {
    /// Whether a memory of type `ty` reserves guard pages, so that compiled code needs no bounds checks for
    /// 32-bit addresses and the memory never moves. A 64-bit memory never does: no reservation covers a 64-bit
    /// address, so its accesses are checked explicitly, side by side with guard-page memories of the same module.
    pub fn guard_pages(&self, ty: &crate::MemoryType) -> bool {
        !self.explicit_bounds_checks && !ty.memory64 && self.static_memory_reservation >= 1 << 32
    }
}
