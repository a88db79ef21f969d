//! The engine: configuration, compiler and the engine-wide registry of function signatures.

use crate::profiling::ProfilingAgent;
use crate::{Config, Result};
use anyhow::Context as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use weft_cranelift::{Compiler, OptLevel};
use weft_environ::FuncType;
use weft_runtime::CodeMemory;

/// A compilation and runtime environment shared by modules and stores. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) compiler: Compiler,
    /// The target triple and every code generator flag, CPU features included (`Compiler::fingerprint`).
    target: String,
    /// Where compiled code is announced to a profiler, if anywhere.
    pub(crate) profiler: Option<Box<dyn ProfilingAgent>>,
    signatures: RwLock<Signatures>,
    /// The epoch counter every store's compiled code compares with its deadline.
    pub(crate) epoch: AtomicU64,
    host_trampolines: Mutex<HashMap<u32, Arc<CodeMemory>>>,
    /// Reservations of dropped guard-page memories, for the engine's next memories.
    pub(crate) reservation_pool: Arc<weft_runtime::ReservationPool>,
    /// The embedder's provider of memory storage, if any (`Config::with_host_memory`).
    pub(crate) memory_creator: Option<Arc<dyn weft_runtime::HostMemoryCreator>>,
    /// With `Config::parallel_compilation(false)`: a one-thread pool compilation runs in, so the compiler's
    /// parallel loops run one function at a time.
    pub(crate) sequential_compilation: Option<rayon::ThreadPool>,
    /// Tiered compilation's quick code generator (no optimisation, no inlining), made when first needed.
    quick_compiler: std::sync::OnceLock<Compiler>,
    /// The threads that compile lazily compiled functions, started when first needed.
    compile_pool: std::sync::OnceLock<rayon::ThreadPool>,
}

/// The engine's function types: every recursion group registered so far, keyed by its canonical form (references
/// into the group relative to it, others by engine id), and each member type by id with every reference resolved
/// to an engine id.
#[derive(Default)]
struct Signatures {
    groups: HashMap<Vec<FuncType>, Vec<u32>>,
    types: Vec<Arc<FuncType>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid on supported hosts")
    }
}

impl Engine {
    /// Creates an engine with `config`; fails if the host CPU is not supported.
    pub fn new(config: &Config) -> Result<Engine> {
        let compiler = Compiler::new(&config.code.compiler).context("cannot create the code generator")?;
        weft_runtime::init_traps();
        let profiler = crate::profiling::agent(config.profiler).context("cannot start the profiling agent")?;
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                target: compiler.fingerprint(),
                compiler,
                profiler,
                signatures: RwLock::default(),
                epoch: AtomicU64::new(0),
                host_trampolines: Mutex::default(),
                reservation_pool: Arc::new(match &config.allocation {
                    crate::InstanceAllocationStrategy::OnDemand => {
                        weft_runtime::ReservationPool::new(config.memory_reservation_pool)
                    }
                    crate::InstanceAllocationStrategy::Pooling(pooling) => {
                        let tunables = &config.code.tunables;
                        let slot = (tunables.static_memory_reservation + tunables.static_memory_guard) as usize;
                        if pooling.limits.max_memory_size as u64 > tunables.static_memory_reservation {
                            anyhow::bail!(
                                "pooling allocator: max_memory_size {} is above the {}-byte memory reservation",
                                pooling.limits.max_memory_size,
                                tunables.static_memory_reservation
                            );
                        }
                        weft_runtime::ReservationPool::pooling(pooling.limits.clone(), slot).with_context(|| {
                            let l = &pooling.limits;
                            format!(
                                "pooling allocator: cannot reserve address space for {} memories, {} tables of {} \
                                 elements and {} instances of {} bytes",
                                l.total_memories,
                                l.total_tables,
                                l.table_elements,
                                l.total_core_instances,
                                l.max_core_instance_size
                            )
                        })?
                    }
                }),
                sequential_compilation: if config.parallel_compilation {
                    None
                } else {
                    Some(
                        rayon::ThreadPoolBuilder::new()
                            .num_threads(1)
                            .build()
                            .context("cannot start the compilation thread")?,
                    )
                },
                quick_compiler: std::sync::OnceLock::new(),
                compile_pool: std::sync::OnceLock::new(),
                memory_creator: config.host_memory.clone().map(|creator| {
                    Arc::new(crate::host_memory::HostMemoryCreator(creator)) as Arc<dyn weft_runtime::HostMemoryCreator>
                }),
            }),
        })
    }

    /// Tiered compilation's quick code generator: the engine's settings without optimisation or inlining.
    pub(crate) fn quick_compiler(&self) -> &Compiler {
        self.inner.quick_compiler.get_or_init(|| {
            let mut settings = self.inner.config.code.compiler.clone();
            settings.opt_level = OptLevel::None;
            settings.inlining = false;
            // Register allocation is most of Cranelift's time; its single-pass allocator is several times faster
            // than the default one, at the price of slower code, which is what quick code may be.
            settings.flags.retain(|(name, _)| name != "regalloc_algorithm");
            settings.flags.push(("regalloc_algorithm".to_string(), "single_pass".to_string()));
            // The engine's own settings made a compiler; these differ only in optimisation.
            Compiler::new(&settings).expect("the engine's settings without optimisation make a compiler")
        })
    }

    /// The engine's compilation threads (lazily compiled functions, background optimisation). Their stacks are
    /// large: a function compiled on its first call is compiled here while the wasm thread that called it waits,
    /// whatever stack that thread has left.
    pub(crate) fn compile_pool(&self) -> &rayon::ThreadPool {
        self.inner.compile_pool.get_or_init(|| {
            let threads = match (self.inner.config.parallel_compilation, self.inner.config.compile_threads) {
                (false, _) => 1,
                (true, 0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
                (true, n) => n,
            };
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .stack_size(16 << 20)
                .thread_name(|i| format!("weft-compile-{i}"))
                .build()
                .unwrap_or_else(|e| panic!("cannot start {threads} compilation threads: {e}"))
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Advances the epoch by one. Wasm running in stores whose epoch deadline is reached traps with "interrupted"
    /// at its next function entry or loop header (with [`Config::epoch_interruption`] on). Safe to call from any
    /// thread, and from a signal handler (it is one atomic add).
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Release);
    }

    /// The current epoch.
    pub fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    /// The target this engine compiles for: triple, code generator flags and the host CPU features in use.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// Compiles `bytes` (binary or text) into a precompiled artifact for this engine, as `Module::new` followed by
    /// `Module::serialize` (Wasmtime's `Engine::precompile_module`); load it with `Module::deserialize`.
    /// A cross-compiling engine ([`Config::target`](crate::Config::target) naming the other architecture) does
    /// only this: it compiles for that machine without loading anything here.
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let eager = self.inner.config.code.tunables.compilation == weft_environ::Compilation::Eager;
        if self.inner.config.code.compiler.target.is_none() && eager {
            return crate::Module::new(self, bytes)?.serialize();
        }
        if crate::serialize::is_precompiled(bytes) {
            anyhow::bail!("this is a precompiled Weft module, not WebAssembly");
        }
        let wasm = wat::parse_bytes(bytes).context("cannot parse the WebAssembly text")?;
        let settings = &self.inner.config.code;
        let translation = weft_environ::translate_module(&wasm, settings.features)?;
        let module = translation.module_keeping_dwarf(settings.compiler.debug_info);
        // Artifacts always hold every function: a lazy or tiered engine precompiles eagerly.
        let tunables =
            weft_environ::Tunables { compilation: weft_environ::Compilation::Eager, ..settings.tunables.clone() };
        let compiled = self.inner.compiler.compile_module(translation, &tunables)?;
        crate::serialize::write(self, &module, &compiled, &compiled.text)
    }

    /// Fails for a cross-compiling engine, whose code cannot run on this machine.
    pub(crate) fn check_runs_here(&self) -> Result<()> {
        match &self.inner.config.code.compiler.target {
            None => Ok(()),
            Some(target) => anyhow::bail!(
                "this engine compiles for {target}, and runs nothing on this {} machine: precompile with it \
                 (Engine::precompile_module, `weft compile --target`) and run the result there",
                std::env::consts::ARCH
            ),
        }
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// The engine-wide id of a function type (structurally equal types share an id).
    pub(crate) fn signature_id(&self, ty: &FuncType) -> u32 {
        // One spelling per type, so that `(ref null func)` written out and `funcref` are one type (types built with
        // `FuncType::new` already are; only a struct literal can differ).
        let normal;
        let ty = if ty.params.iter().chain(ty.results.iter()).all(|t| t.normal() == *t) {
            ty
        } else {
            normal = FuncType::new(ty.params.iter().copied(), ty.results.iter().copied());
            &normal
        };
        self.rec_group_ids(vec![ty.clone()])[0]
    }

    /// The engine-wide ids of the members of a recursion group given in canonical form (see
    /// [`weft_environ::FuncType::canonical`]), registering it if it is new.
    pub(crate) fn rec_group_ids(&self, group: Vec<FuncType>) -> Vec<u32> {
        if let Some(ids) = self.inner.signatures.read().unwrap_or_else(|e| e.into_inner()).groups.get(&group) {
            return ids.clone();
        }
        let mut sigs = self.inner.signatures.write().unwrap_or_else(|e| e.into_inner());
        if let Some(ids) = sigs.groups.get(&group) {
            return ids.clone();
        }
        let first = sigs.types.len() as u32;
        let ids: Vec<u32> = (first..first + group.len() as u32).collect();
        for ty in &group {
            sigs.types.push(Arc::new(ty.resolve_group(&ids)));
        }
        sigs.groups.insert(group, ids.clone());
        ids
    }

    /// The function type with engine-wide id `id` (shared: calls look it up every time).
    pub(crate) fn signature(&self, id: u32) -> Arc<FuncType> {
        self.inner.signatures.read().unwrap_or_else(|e| e.into_inner()).types[id as usize].clone()
    }

    /// The wasm-to-host trampoline for host functions of type `ty`, compiled once per signature.
    pub(crate) fn host_trampoline(&self, ty: &FuncType) -> Result<Arc<CodeMemory>> {
        let id = self.signature_id(ty);
        let mut cache = self.inner.host_trampolines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(code) = cache.get(&id) {
            return Ok(code.clone());
        }
        self.check_runs_here()?;
        let compiled = self.inner.compiler.compile_host_trampoline(ty)?;
        let code = CodeMemory::new(compiled, None).context("cannot map the host trampoline")?;
        if let Some(profiler) = &self.inner.profiler {
            let loc = code.info().functions[0];
            let name = format!("wasm-to-host trampoline {ty}");
            profiler.register(&code, &[crate::profiling::Symbol { name, loc }]);
        }
        cache.insert(id, code.clone());
        Ok(code)
    }
}
