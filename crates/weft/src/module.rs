//! Compiled modules.

use crate::types::{ExportType, ExternType, ImportType};
use crate::{Engine, Result};
use anyhow::Context as _;
use std::sync::Arc;
use weft_environ::{EntityType, ModuleTranslation, translate_module};
use weft_runtime::CodeMemory;

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
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name()).finish_non_exhaustive()
    }
}

impl Module {
    /// Compiles a module from its binary encoding or its text format (`.wat`).
    ///
    /// Fails with a description of the problem and its byte offset when the module is malformed, invalid, or uses
    /// a WebAssembly feature the engine's [`crate::Config`] does not enable.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = wat::parse_bytes(bytes.as_ref()).context("cannot parse the WebAssembly text")?;
        Self::from_binary(engine, &bytes)
    }

    /// Compiles a module from a file holding its binary or text encoding.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::new(engine, bytes).with_context(|| format!("cannot compile {}", path.display()))
    }

    /// Compiles a module from its binary encoding.
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        let translation = translate_module(wasm, engine.config().features)?;
        Self::compile(engine, translation)
    }

    /// Validates `wasm` (binary) against the engine's features without compiling it.
    pub fn validate(engine: &Engine, wasm: &[u8]) -> Result<()> {
        let mut validator = weft_environ::wasmparser::Validator::new_with_features(engine.config().features);
        validator.validate_all(wasm).map_err(weft_environ::TranslateError::from)?;
        Ok(())
    }

    fn compile(engine: &Engine, translation: ModuleTranslation<'_>) -> Result<Module> {
        let module = Arc::new(translation.module.clone());
        let compiled = engine.inner.compiler.compile_module(translation, &engine.config().tunables)?;
        let code = CodeMemory::new(compiled, Some(module.clone())).context("cannot map compiled code")?;
        let type_ids = module.types.iter().map(|t| engine.signature_id(t)).collect();
        Ok(Module { inner: Arc::new(ModuleInner { engine: engine.clone(), module, code, type_ids }) })
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
            EntityType::Func(t) => ExternType::Func(self.inner.module.types[t.index()].clone()),
            EntityType::Table(t) => ExternType::Table(*t),
            EntityType::Memory(m) => ExternType::Memory(*m),
            EntityType::Global(g) => ExternType::Global(*g),
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
