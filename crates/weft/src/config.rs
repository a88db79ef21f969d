//! Engine configuration.

use weft_cranelift::{CompilerSettings, OptLevel};
use weft_environ::{Tunables, wasmparser::WasmFeatures};

/// How an [`crate::Engine`] compiles and runs WebAssembly.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) features: WasmFeatures,
    pub(crate) compiler: CompilerSettings,
    pub(crate) tunables: Tunables,
    pub(crate) max_wasm_stack: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            features: weft_environ::wasm_features(),
            compiler: CompilerSettings::default(),
            tunables: Tunables::default(),
            max_wasm_stack: 512 * 1024,
        }
    }
}

impl Config {
    /// The default configuration: WebAssembly 2.0, optimised code, guard-page memories, 512 KiB of wasm stack.
    pub fn new() -> Self {
        Self::default()
    }

    fn feature(&mut self, feature: WasmFeatures, on: bool) -> &mut Self {
        self.features.set(feature, on);
        self
    }

    /// Multiple results for functions and blocks, and block parameters (default on).
    pub fn wasm_multi_value(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_VALUE, on)
    }
    /// Importing and exporting mutable globals (default on).
    pub fn wasm_mutable_global(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::MUTABLE_GLOBAL, on)
    }
    /// The sign-extension operators (default on).
    pub fn wasm_sign_extension(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::SIGN_EXTENSION, on)
    }
    /// Saturating float-to-int conversions (default on).
    pub fn wasm_saturating_float_to_int(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::SATURATING_FLOAT_TO_INT, on)
    }
    /// Bulk memory: passive segments, `memory.copy/fill/init`, `table.copy/init` (default on).
    pub fn wasm_bulk_memory(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::BULK_MEMORY, on)
    }
    /// Reference types: `funcref`/`externref` values, several tables, `table.*` instructions (default on).
    pub fn wasm_reference_types(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::REFERENCE_TYPES, on)
    }
    /// Fixed-width 128-bit SIMD (default on where implemented).
    pub fn wasm_simd(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::SIMD, on)
    }
    /// Exactly the WebAssembly 1.0 feature set: every later proposal off.
    pub fn wasm_1_0_only(&mut self) -> &mut Self {
        self.features = WasmFeatures::WASM1;
        self
    }

    /// Lets embedders stop running wasm from another thread with [`crate::Store::interrupt_handle`] (default off).
    /// Costs one load and compare at every function entry and loop header; nothing when off.
    pub fn interruptible(&mut self, on: bool) -> &mut Self {
        self.tunables.interruptible = on;
        self
    }

    /// Traps wasm once the engine's epoch ([`crate::Engine::increment_epoch`]) reaches the store's deadline
    /// ([`crate::Store::set_epoch_deadline`]) (default off). Costs two loads and a compare at every function entry
    /// and loop header; nothing when off.
    pub fn epoch_interruption(&mut self, on: bool) -> &mut Self {
        self.tunables.epoch_interruption = on;
        self
    }

    /// Counts executed operators against the store's fuel ([`crate::Store::set_fuel`]); running out traps with
    /// "all fuel consumed" at a deterministic point (default off). Costs a load, add, store and compare per basic
    /// block; nothing when off.
    pub fn consume_fuel(&mut self, on: bool) -> &mut Self {
        self.tunables.consume_fuel = on;
        self
    }

    /// Sets Cranelift's optimisation level (default [`OptLevel::Speed`]).
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.compiler.opt_level = level;
        self
    }

    /// Runs Cranelift's IR verifier on every function (default: on in debug builds). Slower compilation; catches
    /// translator bugs early.
    pub fn cranelift_verifier(&mut self, on: bool) -> &mut Self {
        self.compiler.verifier = on;
        self
    }

    /// Checks every memory access explicitly instead of reserving 6 GiB of address space per memory with guard pages
    /// (default off). For hosts that cannot reserve much address space; generated code is slower.
    pub fn explicit_bounds_checks(&mut self, on: bool) -> &mut Self {
        self.tunables.explicit_bounds_checks = on;
        self
    }

    /// The most native stack, in bytes, that wasm may use before a call traps with "call stack exhausted" (default
    /// 512 KiB). It is measured from where the host first calls into wasm, so keep it well below the thread's stack
    /// size: host functions called from wasm run on the remaining stack.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }
}
