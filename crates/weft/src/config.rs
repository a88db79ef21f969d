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
    /// The default configuration: WebAssembly 1.0, optimised code, guard-page memories, 512 KiB of wasm stack.
    pub fn new() -> Self {
        Self::default()
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
