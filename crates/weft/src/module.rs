//! Compiled modules.

use crate::serialize;
use crate::types::{ExportType, ExternType, ImportType};
use crate::{CodeListing, Engine, Result};
use anyhow::{Context as _, bail};
use std::sync::Arc;
use weft_environ::{EntityType, translate_module};
use weft_runtime::{CodeMemory, MappedFile};

/// A compiled WebAssembly module, ready to be instantiated any number of times. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) module: Arc<weft_environ::Module>,
    pub(crate) code: Arc<CodeMemory>,
    /// Engine-wide signature id of each of the module's types.
    pub(crate) type_ids: Vec<u32>,
    /// Copy-on-write images of the memories' initial contents, when they apply ([`crate::Config::memory_init_cow`]).
    pub(crate) memory_images: Option<weft_runtime::MemoryImages>,
    /// With [`crate::Config::debug_info`], the machine code as compiled, kept before debuggers hear of it: a
    /// debugger plants its breakpoints in the loaded code, and an artifact written from that would carry them.
    pub(crate) text_as_compiled: Option<Vec<u8>>,
    /// For a lazily compiled module loaded through the compilation cache, where its optimised code is kept.
    pub(crate) partial_cache: std::sync::OnceLock<crate::cache::PartialCache>,
    /// A lazily compiled module's bytes (shared with its compiler), for `serialize`.
    pub(crate) wasm: Option<Arc<[u8]>>,
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        self.save_compiled_code();
    }
}

impl ModuleInner {
    fn save_compiled_code(&self) {
        if let (Some(cache), Some(lazy)) = (self.partial_cache.get(), self.code.lazy()) {
            cache.save(&self.engine, lazy);
        }
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name()).finish_non_exhaustive()
    }
}

impl Module {
    /// Whether `a` and `b` are handles to the same compiled module.
    pub fn same(a: &Module, b: &Module) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Compiles a module from its binary encoding or its text format (`.wat`).
    ///
    /// Fails with a description of the problem and its byte offset when the module is malformed, invalid, or uses
    /// a WebAssembly feature the engine's [`crate::Config`] does not enable. Precompiled artifacts are refused:
    /// they are code, not WebAssembly, and load only through [`Module::deserialize`].
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        if serialize::is_precompiled(bytes) {
            bail!("this is a precompiled Weft module, not WebAssembly: load it with Module::deserialize");
        }
        let bytes = wat::parse_bytes(bytes).context("cannot parse the WebAssembly text")?;
        Self::from_binary(engine, &bytes)
    }

    /// Compiles a module from a file holding its binary or text encoding.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::new(engine, bytes).with_context(|| format!("cannot compile {}", path.display()))
    }

    /// Compiles a module from its binary encoding (or takes it from the engine's compilation cache, with
    /// [`crate::Config::cache_dir`]).
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        match &engine.config().cache.dir {
            Some(dir) => crate::cache::load_or_compile(engine, dir, engine.config().cache.max_bytes, wasm),
            None => Self::compile(engine, wasm),
        }
    }

    /// Validates `wasm` (binary) against the engine's features without compiling it.
    pub fn validate(engine: &Engine, wasm: &[u8]) -> Result<()> {
        weft_environ::validate_module(wasm, engine.config().code.features)?;
        Ok(())
    }

    /// Validates and compiles `wasm`, bypassing the cache.
    pub(crate) fn compile(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        engine.check_runs_here()?;
        let settings = &engine.config().code;
        let translation = translate_module(wasm, settings.features)?;
        let code_bytes: usize = translation.func_body_ranges.iter().map(|(start, end)| (end - start) as usize).sum();
        let mode = settings.tunables.compilation.for_code_size(code_bytes);
        if mode.is_lazy() && !settings.compiler.debug_info && !translation.function_bodies.is_empty() {
            return Self::compile_lazily(engine, wasm, translation, mode, code_bytes);
        }
        let tunables =
            weft_environ::Tunables { compilation: weft_environ::Compilation::Eager, ..settings.tunables.clone() };
        let module = translation.module_keeping_dwarf(settings.compiler.debug_info);
        let compile = || engine.inner.compiler.compile_module(translation, &tunables);
        let compiled = match &engine.inner.sequential_compilation {
            Some(one_thread) => one_thread.install(compile),
            None => compile(),
        }?;
        let module = Arc::new(module);
        let code = CodeMemory::new(compiled, Some(module.clone())).context("cannot map compiled code")?;
        Self::from_parts(engine, module, code, None)
    }

    /// Validates the whole module, compiles its trampolines and stubs, and leaves its functions to be compiled on
    /// their first calls ([`crate::Compilation::Lazy`] and [`crate::Compilation::Tiered`]).
    fn compile_lazily(
        engine: &Engine,
        wasm: &[u8],
        translation: weft_environ::ModuleTranslation<'_>,
        mode: weft_environ::Compilation,
        code_bytes: usize,
    ) -> Result<Module> {
        let tunables = weft_environ::Tunables { compilation: mode, ..engine.config().code.tunables.clone() };
        let module = Arc::new(translation.module_keeping_dwarf(false));
        let wasm: Arc<[u8]> = Arc::from(wasm);
        let functions =
            crate::lazy::LazyFunctions::new(engine, tunables.clone(), module.clone(), wasm.clone(), &translation)?;
        let num_functions = module.num_defined_funcs() as usize;
        let compiled = engine.inner.compiler.compile_module(translation, &tunables)?;
        let code = CodeMemory::new(compiled, Some(module.clone())).context("cannot map compiled code")?;
        let tiered = mode == weft_environ::Compilation::Tiered;
        // Machine code takes a few times the bytes of wasm, and tiered code is compiled twice: the arena is address
        // space, reserved generously, and only the pages written are memory.
        let estimate = code_bytes.saturating_mul(if tiered { 32 } else { 16 }).saturating_add(16 << 20);
        let lazy = weft_runtime::LazyCode::new(&code, num_functions, tiered, estimate, Box::new(functions))
            .context("cannot set up lazy compilation (executable memory from a memfd)")?;
        code.set_lazy(lazy);
        Self::from_parts(engine, module, code, Some(wasm))
    }

    /// For a lazily compiled (or tiered) module loaded through the compilation cache: writes the optimised code
    /// compiled so far to the cache, so that the next run of the module starts with it. Also done when the module
    /// is dropped; a program that ends the process first (as `weft run` does) calls it before. Nothing happens for
    /// other modules or when the cache already holds as much.
    pub fn save_compiled_code(&self) {
        self.inner.save_compiled_code();
    }

    /// For a lazily compiled module, where its functions' code stands.
    pub fn lazy_stats(&self) -> Option<weft_runtime::LazyStats> {
        self.inner.code.lazy().map(|lazy| lazy.stats())
    }

    fn from_parts(
        engine: &Engine,
        module: Arc<weft_environ::Module>,
        code: Arc<CodeMemory>,
        wasm: Option<Arc<[u8]>>,
    ) -> Result<Module> {
        if let Some(profiler) = &engine.inner.profiler {
            profiler.register(&code, &crate::profiling::module_symbols(&module, code.info()));
        }
        let mut text_as_compiled = None;
        if engine.config().code.compiler.debug_info {
            text_as_compiled = Some(code.text().to_vec());
            // A debugger's view of the code is a convenience: when it cannot be made the module still runs.
            match crate::debug::gdb_image(&module, &code) {
                Ok((image, warnings)) => {
                    for warning in warnings {
                        eprintln!("weft: warning: {warning}");
                    }
                    // For inspecting what debuggers are told (`readelf --debug-dump`): docs/debugging.md.
                    if let Some(dir) = std::env::var_os("WEFT_DEBUG_IMAGE_DIR") {
                        let path =
                            std::path::Path::new(&dir).join(format!("weft-{:x}.elf", code.text_start() as usize));
                        if let Err(e) = std::fs::write(&path, &image) {
                            eprintln!("weft: warning: cannot write {}: {e}", path.display());
                        }
                    }
                    code.register_debug_image(image);
                }
                Err(e) => eprintln!("weft: warning: no debug information for this module: {e:#}"),
            }
        }
        // Types are registered a recursion group at a time, in order, in engine-wide terms: a reference to an
        // earlier type names that type's id, one into its own group the position there. Equal groups of different
        // modules therefore get the same ids (types are equal when their groups are and they sit at the same place
        // in them), and unequal ones never share an id.
        let mut type_ids: Vec<u32> = Vec::with_capacity(module.types.len());
        let singletons: Vec<(u32, u32)>;
        let groups = if module.rec_groups.is_empty() {
            singletons = (0..module.types.len() as u32).map(|i| (i, 1)).collect();
            &singletons
        } else {
            &module.rec_groups
        };
        for &(first, count) in groups {
            let members = (first..first + count)
                .map(|i| {
                    module.types[i as usize]
                        .canonical(&type_ids, (first, count))
                        .ok_or_else(|| anyhow::anyhow!("type {i} refers to a type defined after its group"))
                })
                .collect::<Result<Vec<_>>>()?;
            type_ids.extend(engine.rec_group_ids(members));
        }
        let memory_images = if engine.config().memory_init_cow {
            weft_runtime::MemoryImages::new(&module, &engine.config().code.tunables)
                .context("cannot lay out the memory images")?
        } else {
            None
        };
        let is_lazy = code.lazy().is_some();
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                module,
                code,
                type_ids,
                memory_images,
                text_as_compiled,
                partial_cache: std::sync::OnceLock::new(),
                wasm: if is_lazy { wasm } else { None },
            }),
        })
    }

    /// A text listing of the code `engine` generates for every defined function of `bytes` (binary or text), for
    /// reading what the compiler made of it: the Cranelift IR as translated ([`CodeListing::Clif`]) or the
    /// machine code ([`CodeListing::Asm`]). Compiles the module without loading it.
    pub fn code_listing(engine: &Engine, bytes: impl AsRef<[u8]>, what: CodeListing) -> Result<String> {
        let wasm = wat::parse_bytes(bytes.as_ref()).context("cannot parse the WebAssembly text")?;
        let settings = &engine.config().code;
        let translation = translate_module(&wasm, settings.features)?;
        Ok(engine.inner.compiler.listing(translation, &settings.tunables, what)?)
    }

    /// Writes the compiled module as a precompiled artifact, which [`Module::deserialize`] loads without compiling
    /// on an engine with the same settings, Weft build and CPU features.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let code = &self.inner.code;
        if code.lazy().is_some() {
            // An artifact holds every function: compile them all now, from the bytes the module kept.
            let wasm = self.inner.wasm.as_deref().context("the module's bytes were not kept")?;
            return self.inner.engine.precompile_module(wasm);
        }
        let text = self.inner.text_as_compiled.as_deref().unwrap_or(code.text());
        serialize::write(&self.inner.engine, &self.inner.module, code.info(), text)
    }

    /// Loads a precompiled artifact written by [`Module::serialize`] or `weft compile`.
    ///
    /// An artifact is machine code that runs with the host's privileges: load only artifacts you trust as much as
    /// the host program itself (written by you, kept where nobody else can change them). What is checked is that
    /// the bytes are intact and fit this engine: the format version, a SHA-256 checksum of the whole artifact, the
    /// Weft build that wrote it, the target and its CPU features, and every setting that affects generated code;
    /// anything else fails with an [`ArtifactError`] saying which. Nothing checks that the code is safe.
    pub fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        engine.check_runs_here()?;
        let serialize::Artifact { module, mut code, text } = serialize::read(engine, bytes)?;
        code.text = bytes[text].to_vec();
        let module = Arc::new(module);
        let code = CodeMemory::new(code, Some(module.clone())).context("cannot map compiled code")?;
        Self::from_parts(engine, module, code, None)
    }

    /// Loads a precompiled artifact from a file, mapping its machine code instead of copying it (pages are shared
    /// with the page cache until written). The same trust and checks apply as for [`Module::deserialize`]; in
    /// addition the file must not be changed or truncated while the module is alive (replace it by renaming a new
    /// file over it, as `weft compile` and the compilation cache do).
    pub fn deserialize_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        let path = path.as_ref();
        let load = || -> Result<Module> {
            let file = std::fs::File::open(path)?;
            Self::deserialize_open_file(engine, &file)
        };
        load().with_context(|| format!("cannot load the precompiled module {}", path.display()))
    }

    pub(crate) fn deserialize_open_file(engine: &Engine, file: &std::fs::File) -> Result<Module> {
        engine.check_runs_here()?;
        let mapped = MappedFile::new(file)?;
        let serialize::Artifact { module, code, text } = serialize::read(engine, mapped.bytes())?;
        let module = Arc::new(module);
        let code = CodeMemory::from_mapped_file(mapped, text, code, Some(module.clone()))
            .context("cannot map compiled code")?;
        Self::from_parts(engine, module, code, None)
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.module.name.as_deref()
    }

    pub(crate) fn extern_type(&self, ty: &EntityType) -> ExternType {
        match ty {
            EntityType::Func(t) => {
                ExternType::Func((*self.inner.engine.signature(self.inner.type_ids[t.index()])).clone())
            }
            EntityType::Table(t) => ExternType::Table(canonical_table(*t, &self.inner.type_ids)),
            EntityType::Memory(m) => ExternType::Memory(*m),
            EntityType::Global(g) => ExternType::Global(canonical_global(*g, &self.inner.type_ids)),
            EntityType::Tag(t) => ExternType::Tag(crate::TagType::new(
                (*self.inner.engine.signature(self.inner.type_ids[t.index()])).clone(),
            )),
        }
    }

    /// The module's imports, in order, with their types.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        self.inner.module.imports.iter().map(|i| ImportType {
            module: &i.module,
            name: &i.field,
            ty: self.extern_type(&i.ty),
        })
    }

    /// The module's exports, in order, with their types.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        self.inner
            .module
            .exports
            .iter()
            .map(|e| ExportType { name: &e.name, ty: self.extern_type(&self.inner.module.entity_type(e.index)) })
    }
}

/// A table type of a module in engine-wide terms (its element type's type index as the engine's type id).
pub(crate) fn canonical_table(mut t: weft_environ::TableType, type_ids: &[u32]) -> weft_environ::TableType {
    t.element = t.element.canonical(type_ids, None).unwrap_or(t.element);
    t
}

/// A global type of a module in engine-wide terms.
pub(crate) fn canonical_global(mut g: weft_environ::GlobalType, type_ids: &[u32]) -> weft_environ::GlobalType {
    g.content = g.content.canonical(type_ids, None).unwrap_or(g.content);
    g
}
