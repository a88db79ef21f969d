//! Engine configuration.

use crate::profiling::ProfilingStrategy;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use weft_cranelift::{CompilerSettings, OptLevel};
use weft_environ::{Compilation, Tunables, wasmparser::WasmFeatures};

/// How an [`crate::Engine`] compiles and runs WebAssembly.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) code: CodeSettings,
    pub(crate) max_wasm_stack: usize,
    pub(crate) memory_reservation_pool: usize,
    pub(crate) allocation: InstanceAllocationStrategy,
    pub(crate) memory_init_cow: bool,
    pub(crate) parallel_compilation: bool,
    /// Threads that compile lazily compiled functions (on first calls and in the background); 0: one per core.
    pub(crate) compile_threads: usize,
    pub(crate) host_memory: Option<std::sync::Arc<dyn crate::MemoryCreator>>,
    pub(crate) cache: CacheConfig,
    pub(crate) profiler: ProfilingStrategy,
    pub(crate) coredump_on_trap: bool,
}

/// Every setting that can change the machine code generated for a module.
///
/// Compilation is handed this struct and nothing else from the [`Config`], so a new setting that affects code has
/// to be added here to be seen by the compiler at all, and from then on it is automatically part of the cache key
/// and of every precompiled artifact's header (both hash or compare the whole serialized struct).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct CodeSettings {
    /// The proposals the validator accepts (the translator emits code only for those).
    #[serde(with = "features_as_bits")]
    pub(crate) features: WasmFeatures,
    /// Code generator settings.
    pub(crate) compiler: CompilerSettings,
    /// Settings the compiler and the runtime must agree on.
    pub(crate) tunables: Tunables,
}

/// The default [`Compilation`]: `Auto`, unless `WEFT_COMPILATION` names another mode (`eager`, `lazy`, `tiered`),
/// which is how the whole test suite is run in each mode (`.ci/run`).
fn default_compilation() -> Compilation {
    match std::env::var("WEFT_COMPILATION").as_deref() {
        Ok("eager") => Compilation::Eager,
        Ok("lazy") => Compilation::Lazy,
        Ok("tiered") => Compilation::Tiered,
        _ => Compilation::Auto,
    }
}

impl CodeSettings {
    /// These settings as eager compilation has them: artifacts and cache entries are compiled eagerly whatever the
    /// engine's mode (lazy and tiered engines load them too), so the mode and the tier-up threshold, which shape
    /// only code compiled while a module runs, are not part of their settings.
    pub(crate) fn eager(mut self) -> CodeSettings {
        self.tunables.compilation = Compilation::Eager;
        self.tunables.tier_up_threshold = Tunables::default().tier_up_threshold;
        self
    }
}

mod features_as_bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use weft_environ::wasmparser::WasmFeatures;

    pub fn serialize<S: Serializer>(features: &WasmFeatures, s: S) -> Result<S::Ok, S::Error> {
        features.bits().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WasmFeatures, D::Error> {
        Ok(WasmFeatures::from_bits_retain(u64::deserialize(d)?))
    }
}

/// Where the compilation cache lives (if anywhere) and how large it may grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CacheConfig {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) max_bytes: u64,
}

/// The default bound on a compilation cache directory's total size.
pub(crate) const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;

impl Default for Config {
    fn default() -> Self {
        Self {
            code: CodeSettings {
                features: weft_environ::wasm_features(),
                compiler: CompilerSettings::default(),
                tunables: Tunables { compilation: default_compilation(), ..Tunables::default() },
            },
            max_wasm_stack: 512 * 1024,
            memory_reservation_pool: 16,
            allocation: InstanceAllocationStrategy::OnDemand,
            memory_init_cow: true,
            parallel_compilation: true,
            compile_threads: 0,
            host_memory: None,
            cache: CacheConfig { dir: None, max_bytes: DEFAULT_CACHE_MAX_BYTES },
            profiler: ProfilingStrategy::None,
            coredump_on_trap: false,
        }
    }
}

impl Config {
    /// The default configuration: WebAssembly 2.0 with the 3.0 proposals implemented so far (tail calls, extended
    /// constant expressions, relaxed SIMD, multiple memories, 64-bit memories, typed function references), optimised code, guard-page memories, 512 KiB of wasm stack.
    pub fn new() -> Self {
        Self::default()
    }

    fn feature(&mut self, feature: WasmFeatures, on: bool) -> &mut Self {
        self.code.features.set(feature, on);
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
    /// Tail calls: `return_call`, `return_call_indirect` (default on).
    pub fn wasm_tail_call(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::TAIL_CALL, on)
    }
    /// Extended constant expressions: `i32/i64` `add`, `sub` and `mul` in initialisers and offsets (default on).
    pub fn wasm_extended_const(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::EXTENDED_CONST, on)
    }
    /// Typed function references: `(ref $t)`, `(ref null $t)`, `call_ref`, `return_call_ref`, `ref.as_non_null`,
    /// `br_on_null`, `br_on_non_null`, non-nullable locals, tables with initialisers (default on).
    /// Explicit recursion groups (`rec`) of function types and `global.get` of defined globals in constant
    /// expressions, which wasmparser gates on its GC flag, come with this switch
    /// ([`weft_environ::TYPE_SYSTEM_FEATURES`]); the GC proposal itself is not implemented.
    pub fn wasm_function_references(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::FUNCTION_REFERENCES | weft_environ::TYPE_SYSTEM_FEATURES, on)
    }
    /// Exception handling (the final, `exnref` form): tags, `throw`, `throw_ref`, `try_table` with its four catch
    /// clauses, and exceptions crossing between wasm and host functions ([`crate::Exception`]) (default on). Code
    /// that does not catch pays nothing; the legacy `try`/`catch`/`delegate` instructions are not supported.
    pub fn wasm_exceptions(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::EXCEPTIONS, on)
    }
    /// Multiple memories per module, each instruction naming the memory it uses (default on).
    pub fn wasm_multi_memory(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_MEMORY, on)
    }
    /// 64-bit memories and tables (memory64): `i64` addresses, sizes and indices (default on). Every access to a
    /// 64-bit memory is bounds-checked explicitly; 32-bit memories keep their guard pages.
    pub fn wasm_memory64(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::MEMORY64, on)
    }
    /// Relaxed SIMD: operators whose results may differ between hosts within fixed bounds, for speed (default on).
    pub fn wasm_relaxed_simd(&mut self, on: bool) -> &mut Self {
        self.feature(WasmFeatures::RELAXED_SIMD, on)
    }
    /// Gives every relaxed-SIMD operator one result, the same on every host (that of its non-relaxed counterpart;
    /// a fused multiply-add), instead of the host's fastest instruction (default off). For reproducible results,
    /// such as replaying or comparing executions.
    pub fn relaxed_simd_deterministic(&mut self, on: bool) -> &mut Self {
        self.code.tunables.relaxed_simd_deterministic = on;
        self
    }
    /// Every proposal Weft implements, which is WebAssembly 3.0 without GC (the default): tail calls, extended
    /// constants, typed function references with recursion groups, exceptions, multi-memory, memory64, relaxed SIMD.
    pub fn wasm_3_0(&mut self) -> &mut Self {
        self.code.features = weft_environ::wasm_features();
        self
    }
    /// Exactly the WebAssembly 2.0 feature set: every 3.0 proposal off.
    pub fn wasm_2_0_only(&mut self) -> &mut Self {
        self.code.features = WasmFeatures::WASM2;
        self
    }
    /// Exactly the WebAssembly 1.0 feature set: every later proposal off.
    pub fn wasm_1_0_only(&mut self) -> &mut Self {
        self.code.features = WasmFeatures::WASM1;
        self
    }

    /// Lets embedders stop running wasm from another thread with [`crate::Store::interrupt_handle`] (default off).
    /// Costs one load and compare at every function entry and loop header; nothing when off.
    pub fn interruptible(&mut self, on: bool) -> &mut Self {
        self.code.tunables.interruptible = on;
        self
    }

    /// Compiles in what a [`crate::GuestProfiler`] needs (default off): a probe at every function entry and loop
    /// header, a one-byte load from a page of the store's that a sample or interrupt request makes unreadable, so
    /// that the fault handler can take a stack sample and let wasm go on. The probes also deliver
    /// [`crate::InterruptHandle`] interrupts, as with [`Config::interruptible`]. With nothing pending a probe costs
    /// one load, about as much as an interrupt check (docs/benchmarks.md, "Guest profiler overhead").
    pub fn guest_profiling(&mut self, on: bool) -> &mut Self {
        self.code.tunables.guest_profiling = on;
        self
    }

    /// Traps wasm once the engine's epoch ([`crate::Engine::increment_epoch`]) reaches the store's deadline
    /// ([`crate::Store::set_epoch_deadline`]) (default off). Costs two loads and a compare at every function entry
    /// and loop header; nothing when off.
    pub fn epoch_interruption(&mut self, on: bool) -> &mut Self {
        self.code.tunables.epoch_interruption = on;
        self
    }

    /// Counts executed operators against the store's fuel ([`crate::Store::set_fuel`]); running out traps with
    /// "all fuel consumed" at a deterministic point (default off). Costs are Wasmtime's, so the same program
    /// consumes the same fuel on both: one unit per function entered and per operator executed, except `nop`,
    /// `drop`, `block`, `loop`, `end`, `else`, `return` and `unreachable`, which are free. Costs a load, add, store
    /// and compare per basic block; nothing when off.
    pub fn consume_fuel(&mut self, on: bool) -> &mut Self {
        self.code.tunables.consume_fuel = on;
        self
    }

    /// Sets Cranelift's optimisation level (default [`OptLevel::Speed`]).
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.code.compiler.opt_level = level;
        self
    }

    /// Inlines small wasm functions into their callers within a module (default on; nothing is inlined at
    /// [`OptLevel::None`]). Traps and backtraces are unchanged: a frame of an inlined function still shows with its
    /// own name and offset. The heuristic is described in docs/architecture.md.
    pub fn inlining(&mut self, on: bool) -> &mut Self {
        self.code.compiler.inlining = on;
        self
    }

    /// Describe compiled code to native debuggers (default off): each module's DWARF (as clang and rustc emit for
    /// wasm) is rewritten for the machine code and registered with gdb's JIT interface while the code is loaded,
    /// so `gdb` stops on source lines of running wasm and shows its frames. Nothing is inlined with it on. Part of
    /// the code settings (cache key, artifacts). Modules without DWARF, and engines without this, pay nothing.
    /// What gdb can show is in docs/debugging.md.
    pub fn debug_info(&mut self, on: bool) -> &mut Self {
        self.code.compiler.debug_info = on;
        self
    }

    /// Wasmtime's name for [`Config::opt_level`].
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level(level)
    }

    /// When a module's functions are compiled: all before the module can be instantiated ([`Compilation::Eager`]),
    /// each on its first call ([`Compilation::Lazy`]), or first quickly and then, once they run often, optimised in
    /// the background ([`Compilation::Tiered`]). The default, [`Compilation::Auto`], is eager for modules with less
    /// than 1 MiB of function bodies and lazy for larger ones (docs/benchmarks.md has the measurements). Lazy and tiered modules are validated whole
    /// before anything runs, behave the same in every respect but timing (traps, backtraces, fuel, interrupts,
    /// stack limit), and are always written eager by [`crate::Module::serialize`] and `weft compile`. With
    /// [`Config::debug_info`], or on a machine that cannot map code from a `memfd`, modules are compiled eagerly.
    pub fn compilation(&mut self, mode: Compilation) -> &mut Self {
        self.code.tunables.compilation = mode;
        self
    }

    /// In tiered compilation, after how many runs (calls plus loop iterations) a function's quick code is compiled
    /// again, optimised, in the background (default 1000; at least 1).
    pub fn tier_up_threshold(&mut self, runs: u32) -> &mut Self {
        self.code.tunables.tier_up_threshold = runs.max(1);
        self
    }

    /// How many threads compile functions of lazy and tiered modules, on their first calls and in the background
    /// (default 0: one per core). The pool is the engine's, started when first needed.
    pub fn compile_threads(&mut self, threads: usize) -> &mut Self {
        self.compile_threads = threads;
        self
    }

    /// Whether a module's functions are compiled on every core at once (default on) or one after another on the
    /// calling thread; the code is the same either way.
    pub fn parallel_compilation(&mut self, on: bool) -> &mut Self {
        self.parallel_compilation = on;
        self
    }

    /// Runs Cranelift's IR verifier on every function (default: on in debug builds). Slower compilation; catches
    /// translator bugs early.
    pub fn cranelift_verifier(&mut self, on: bool) -> &mut Self {
        self.code.compiler.verifier = on;
        self
    }

    /// Checks every memory access explicitly instead of reserving 6 GiB of address space per memory with guard pages
    /// (default off). For hosts that cannot reserve much address space; generated code is slower.
    pub fn explicit_bounds_checks(&mut self, on: bool) -> &mut Self {
        self.code.tunables.explicit_bounds_checks = on;
        self
    }

    /// The most native stack, in bytes, that wasm may use before a call traps with "call stack exhausted" (default
    /// 512 KiB). It is measured from where the host first calls into wasm, so keep it well below the thread's stack
    /// size: host functions called from wasm run on the remaining stack. In tiered compilation, quick code (whose
    /// frames are several times larger than optimised code's) may use up to four times as much
    /// (`QUICK_CODE_STACK_FACTOR`), so that what runs optimised also runs before it is; the runtime still keeps
    /// 128 KiB of the thread's stack free below it.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// How many address-space reservations of dropped guard-page memories the engine keeps for its next memories
    /// (default 16; each is 6 GiB of address space and no memory). Reusing one saves most of an instantiation's
    /// cost; 0 unmaps every reservation as its memory is dropped. Raise it for many short-lived instances at once.
    pub fn memory_reservation_pool(&mut self, reservations: usize) -> &mut Self {
        self.memory_reservation_pool = reservations;
        self
    }

    /// Initialises memories from copy-on-write images of their data segments (default on): when a module is loaded,
    /// the initial contents of each of its guard-page memories are laid out once in an in-memory file, which each
    /// instance maps privately instead of copying every segment, so instantiation does not grow with the size of
    /// the data and instances share the pages they never write. It applies to modules whose segments all have
    /// constant offsets and fit their tables and memories (no segment can trap); others are initialised by copying,
    /// with identical results. Off: always copy.
    pub fn memory_init_cow(&mut self, on: bool) -> &mut Self {
        self.memory_init_cow = on;
        self
    }

    /// How instances, memories and tables are allocated: on demand (the default), or from a pool with fixed limits
    /// whose memory reservations are all made when the engine is created ([`InstanceAllocationStrategy::Pooling`]).
    pub fn allocation_strategy(&mut self, strategy: InstanceAllocationStrategy) -> &mut Self {
        self.allocation = strategy;
        self
    }

    /// Has `creator` provide the storage of every linear memory the engine's stores create, the module's own and
    /// host-created ones alike (default: Weft's own allocator). Weft checks each memory before using it and refuses
    /// one whose layout is wrong with an error; memories it provides are initialised by copying data segments
    /// (copy-on-write images need Weft's own mappings).
    pub fn with_host_memory(&mut self, creator: std::sync::Arc<dyn crate::MemoryCreator>) -> &mut Self {
        self.host_memory = Some(creator);
        self
    }

    /// Keeps compiled code in `dir` (created when missing) and reuses it when the same module is compiled again
    /// with the same settings by the same Weft build on the same CPU (default: no cache). The cache key hashes the
    /// module's bytes, Weft's build, the target and its CPU features, and every setting that affects code; a
    /// damaged or foreign entry is recompiled and replaced. Entries are executable code: `dir` must be writable only
    /// by users you trust as much as the host program. `None` turns the cache off.
    pub fn cache_dir(&mut self, dir: Option<impl Into<PathBuf>>) -> &mut Self {
        self.cache.dir = dir.map(Into::into);
        self
    }

    /// Bounds the cache directory's total size (default 1 GiB): after each write, the least recently used entries
    /// are removed until the cache fits in three quarters of this. Matters only with [`Config::cache_dir`].
    pub fn cache_max_bytes(&mut self, bytes: u64) -> &mut Self {
        self.cache.max_bytes = bytes;
        self
    }

    /// Attaches a [`crate::WasmCoreDump`] (the store's memories, globals, instances and the wasm frames) to the
    /// error of every trap (default off): `error.downcast_ref::<WasmCoreDump>()`, then
    /// [`crate::WasmCoreDump::serialize`] for the standard core dump file. Costs nothing until a trap.
    pub fn coredump_on_trap(&mut self, on: bool) -> &mut Self {
        self.coredump_on_trap = on;
        self
    }

    /// Wasmtime's compiler choice. Weft has one compiler, Cranelift: [`Strategy::Auto`] and [`Strategy::Cranelift`]
    /// change nothing, and [`Strategy::Winch`] (Wasmtime's baseline compiler, chosen for fast compilation) selects
    /// Weft's fastest-compiling setting instead, Cranelift without optimisation ([`OptLevel::None`]).
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        if strategy == Strategy::Winch {
            self.opt_level(OptLevel::None);
        }
        self
    }

    /// The target to compile for, as a target triple or an architecture name (`aarch64-unknown-linux-gnu`,
    /// `x86_64`). The host's architecture compiles for the host CPU (its features in use), as without this call.
    /// The other supported architecture (x86-64 and aarch64, Linux) makes a cross-compiling engine: it compiles
    /// and serializes modules ([`Engine::precompile_module`](crate::Engine::precompile_module), `weft compile
    /// --target`) for a machine of that architecture, with its baseline features, but runs nothing itself. Anything
    /// else is refused.
    pub fn target(&mut self, target: &str) -> crate::Result<&mut Self> {
        let mut parts = target.split('-');
        let arch = parts.next().unwrap_or_default();
        let arch = match arch {
            "arm64" => "aarch64",
            "amd64" => "x86_64",
            other => other,
        };
        let os_ok = target.split('-').skip(1).all(|p| !matches!(p, "windows" | "darwin" | "macos" | "wasi" | "none"));
        if !matches!(arch, "x86_64" | "aarch64") || !os_ok {
            anyhow::bail!("cannot compile for `{target}`: Weft compiles for x86_64 and aarch64 Linux");
        }
        self.code.compiler.target =
            if arch == std::env::consts::ARCH { None } else { Some(format!("{arch}-unknown-linux-gnu")) };
        Ok(self)
    }

    /// Turns on a Cranelift setting by name, as [`Config::cranelift_flag_set`] with `"true"`.
    ///
    /// Wasmtime marks this `unsafe` because enabling a CPU feature the host lacks makes code that executes illegal
    /// instructions. Weft checks instead: enabling a feature the host does not have, or a setting the runtime relies
    /// on, makes [`Engine::new`](crate::Engine::new) fail with an error naming it. (Calls written for Wasmtime, inside
    /// `unsafe` blocks, still compile.)
    pub fn cranelift_flag_enable(&mut self, flag: &str) -> &mut Self {
        self.cranelift_flag_set(flag, "true")
    }

    /// Sets a Cranelift setting by name: a CPU feature of the host's architecture (`has_avx2`; one the host lacks
    /// cannot be turned on), or one of `enable_nan_canonicalization`, `enable_alias_analysis`, `regalloc_algorithm`.
    /// Settings the runtime depends on (frame pointers, unwind info, stack probes) cannot be changed; an unknown or
    /// refused setting makes [`Engine::new`](crate::Engine::new) fail. Part of the cache key like every code setting.
    pub fn cranelift_flag_set(&mut self, name: &str, value: &str) -> &mut Self {
        self.code.compiler.flags.push((name.to_string(), value.to_string()));
        self
    }

    /// Wasmtime's switch for relying on signals to catch out-of-bounds accesses. `false` makes every memory access
    /// explicitly bounds-checked ([`Config::explicit_bounds_checks`]); `true` (the default) leaves the choice to
    /// the other settings. Weft still turns other faults of compiled code (trap instructions, the stack-limit
    /// check) into traps with its signal handlers either way.
    pub fn signals_based_traps(&mut self, on: bool) -> &mut Self {
        if !on {
            self.explicit_bounds_checks(true);
        }
        self
    }

    /// Bytes of address space reserved for each 32-bit linear memory (default 4 GiB). With at least 4 GiB (and
    /// guard pages after it) compiled code needs no bounds checks; with less, 32-bit memories are bounds-checked
    /// explicitly and move when they grow past what was reserved.
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.code.tunables.static_memory_reservation = bytes;
        self
    }

    /// Bytes of inaccessible guard region after each guard-page memory's reservation (default 2 GiB): a memory
    /// access whose static offset fits in it needs no bounds check.
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.code.tunables.static_memory_guard = bytes;
        self
    }

    /// Wasmtime's way to set the compilation cache: `Some(cache)` uses its directory and size limit (see
    /// [`Config::cache_dir`]), `None` turns the cache off.
    pub fn cache(&mut self, cache: Option<crate::Cache>) -> &mut Self {
        match cache {
            Some(cache) => {
                self.cache_dir(cache.directory().map(PathBuf::from));
                self.cache_max_bytes(cache.max_bytes());
            }
            None => {
                self.cache_dir(None::<PathBuf>);
            }
        }
        self
    }

    /// Tells a profiler about compiled code (default [`ProfilingStrategy::None`]): `perf` jitdump files or perf map
    /// files, or Intel VTune, so that profiles name wasm functions. (Weft's own sampling profiler needs none of
    /// this: see [`crate::GuestProfiler`].)
    pub fn profiler(&mut self, strategy: ProfilingStrategy) -> &mut Self {
        self.profiler = strategy;
        self
    }
}

/// How an engine allocates instances, memories and tables ([`Config::allocation_strategy`]).
#[derive(Clone, Debug, Default)]
pub enum InstanceAllocationStrategy {
    /// Each when it is needed; dropped memories' reservations are kept for reuse up to
    /// [`Config::memory_reservation_pool`].
    #[default]
    OnDemand,
    /// From a pool with fixed limits: every memory slot (one address-space reservation each) is made when the engine
    /// is created and reused as stores drop their memories; instances, tables and memories beyond the limits fail to
    /// be created with an error naming the exhausted pool; reused memory is zeroed (its first
    /// `linear_memory_keep_resident` bytes in place, the rest given back to the kernel).
    Pooling(PoolingAllocationConfig),
}

/// The limits of the pooling allocator, with Wasmtime's names and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolingAllocationConfig {
    pub(crate) limits: weft_runtime::PoolingLimits,
}

impl Default for PoolingAllocationConfig {
    fn default() -> Self {
        PoolingAllocationConfig {
            limits: weft_runtime::PoolingLimits {
                total_memories: 1000,
                total_tables: 1000,
                total_core_instances: 1000,
                max_core_instance_size: 1 << 20,
                max_memory_size: 4 << 30,
                table_elements: 20_000,
                max_memories_per_module: 1,
                max_tables_per_module: 1,
                linear_memory_keep_resident: 0,
                table_keep_resident: 0,
            },
        }
    }
}

impl PoolingAllocationConfig {
    /// The default limits: 1000 memories, tables and instances, memories up to 4 GiB, tables of 20,000 elements,
    /// 1 MiB of instance state, one memory and one table per instance.
    pub fn new() -> Self {
        Self::default()
    }
    /// Memories alive at once across the engine (each reserves its address space when the engine is created).
    pub fn total_memories(&mut self, n: u32) -> &mut Self {
        self.limits.total_memories = n;
        self
    }
    /// Tables alive at once across the engine.
    pub fn total_tables(&mut self, n: u32) -> &mut Self {
        self.limits.total_tables = n;
        self
    }
    /// Instances alive at once across the engine (host-created memories, tables and globals count as instances).
    pub fn total_core_instances(&mut self, n: u32) -> &mut Self {
        self.limits.total_core_instances = n;
        self
    }
    /// Bytes of one instance's state (its `VMContext`: function references, globals, pointers to its memories and
    /// tables), reserved per instance slot; a module needing more cannot be instantiated. Default 1 MiB. Only the
    /// bytes an instance uses become resident, but each slot in use touches at least one page: a smaller slot packs
    /// small instances more densely.
    pub fn max_core_instance_size(&mut self, bytes: usize) -> &mut Self {
        self.limits.max_core_instance_size = bytes;
        self
    }
    /// Bytes a memory may have, initially or by growing (at most 4 GiB).
    pub fn max_memory_size(&mut self, bytes: usize) -> &mut Self {
        self.limits.max_memory_size = bytes;
        self
    }
    /// Elements a table may have, initially or by growing.
    pub fn table_elements(&mut self, n: usize) -> &mut Self {
        self.limits.table_elements = n;
        self
    }
    /// Memories one instance may define.
    pub fn max_memories_per_module(&mut self, n: u32) -> &mut Self {
        self.limits.max_memories_per_module = n;
        self
    }
    /// Tables one instance may define.
    pub fn max_tables_per_module(&mut self, n: u32) -> &mut Self {
        self.limits.max_tables_per_module = n;
        self
    }
    /// Bytes at the start of a reused memory slot that are zeroed in place and stay resident, sparing the next
    /// instance their page faults (the rest is given back to the kernel).
    pub fn linear_memory_keep_resident(&mut self, bytes: usize) -> &mut Self {
        self.limits.linear_memory_keep_resident = bytes;
        self
    }
    /// Bytes at the start of a reused table slot (8 per element) that are zeroed in place and stay resident.
    pub fn table_keep_resident(&mut self, bytes: usize) -> &mut Self {
        self.limits.table_keep_resident = bytes;
        self
    }
}

/// Which compiler an engine uses: Wasmtime's choice, for [`Config::strategy`]. Weft always compiles with Cranelift.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The default: Cranelift.
    #[default]
    Auto,
    /// Cranelift.
    Cranelift,
    /// Wasmtime's baseline compiler. Weft has none; it selects unoptimised Cranelift, Weft's fastest compilation.
    Winch,
}
