//! Instances of modules.

use crate::store::{StoreId, StoreOpaque};
use crate::{AsContextMut, Extern, ExternType, Func, Global, Memory, Module, Result, Table, TypedFunc, WasmTyList};
use anyhow::Context as _;
use std::sync::Arc;
use weft_environ::{EntityIndex, EntityType};
use weft_runtime::{Imports, InstantiationError};

/// An instantiated module. A handle into its [`crate::Store`], which owns the instance until the store is dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// A failed instantiation because an import does not fit.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The number of imports given does not match the module.
    #[error("the module has {expected} imports, but {given} were given")]
    WrongImportCount {
        /// What the module imports.
        expected: usize,
        /// What was given.
        given: usize,
    },
    /// An import's type does not match.
    #[error("incompatible import type for `{module}::{field}`: expected {expected}, found {found}")]
    IncompatibleType {
        /// Import module name.
        module: String,
        /// Import field name.
        field: String,
        /// The type the module expects.
        expected: String,
        /// The type of what was given.
        found: String,
    },
}

impl Instance {
    /// Instantiates `module` with `imports` (in the module's import order), then runs its start function.
    ///
    /// If the start function traps, the error is returned but the instance's effects on imported memories and
    /// tables remain, as the specification requires.
    pub fn new(mut store: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let store = &mut store.as_context_mut().0.opaque;
        Self::new_opaque(store, module, imports)
    }

    pub(crate) fn new_opaque(store: &mut StoreOpaque, module: &Module, imports: &[Extern]) -> Result<Instance> {
        if !crate::Engine::same(&store.engine, module.engine()) {
            anyhow::bail!("the module was compiled for a different engine than the store's");
        }
        let env = &module.inner.module;
        if imports.len() != env.imports.len() {
            return Err(LinkError::WrongImportCount { expected: env.imports.len(), given: imports.len() }.into());
        }
        let mut vm_imports = Imports::default();
        for (import, given) in env.imports.iter().zip(imports) {
            let expected = module.extern_type(&import.ty);
            let found = given.ty_opaque(store)?;
            let mismatch = || LinkError::IncompatibleType {
                module: import.module.clone(),
                field: import.field.clone(),
                expected: expected.to_string(),
                found: found.to_string(),
            };
            match (&import.ty, given) {
                (EntityType::Func(t), Extern::Func(f)) => {
                    if f.type_id(store) != module.inner.type_ids[t.index()] {
                        return Err(mismatch().into());
                    }
                    // SAFETY: function references of this store live as long as the store.
                    vm_imports.funcs.push(unsafe { *store.funcs[f.index].as_ptr() });
                }
                (EntityType::Memory(expected_ty), Extern::Memory(m)) => {
                    let ExternType::Memory(actual) = &found else { unreachable!() };
                    if expected_ty.memory64 != actual.memory64 || !limits_match(&expected_ty.limits, &actual.limits) {
                        return Err(mismatch().into());
                    }
                    // SAFETY: the memory is live (owned by this store).
                    vm_imports.memories.push(unsafe { (*m.raw(store)).definition() });
                }
                (EntityType::Table(_), Extern::Table(t)) => {
                    let (ExternType::Table(expected_ty), ExternType::Table(actual)) = (&expected, &found) else {
                        unreachable!()
                    };
                    if expected_ty.element != actual.element
                        || expected_ty.table64 != actual.table64
                        || !limits_match(&expected_ty.limits, &actual.limits)
                    {
                        return Err(mismatch().into());
                    }
                    // SAFETY: the table is live (owned by this store).
                    vm_imports.tables.push(unsafe { (*t.raw(store)).definition() });
                }
                (EntityType::Global(_), Extern::Global(g)) => {
                    let (ExternType::Global(expected_ty), ExternType::Global(actual)) = (&expected, &found) else {
                        unreachable!()
                    };
                    // A mutable global's type must be the same (it is read and written); an immutable one's may be a
                    // subtype, as a value of it is one of the expected type.
                    let fits = expected_ty.mutable == actual.mutable
                        && if actual.mutable {
                            expected_ty.content == actual.content
                        } else {
                            actual.content.matches(expected_ty.content)
                        };
                    if !fits {
                        return Err(mismatch().into());
                    }
                    vm_imports.globals.push(g.raw(store));
                }
                (EntityType::Tag(t), Extern::Tag(tag)) => {
                    // Tags match only when their types are the same (exactly, not by subtyping).
                    let raw = tag.raw(store);
                    // SAFETY: the tag is live (owned by this store).
                    if unsafe { (*raw).type_id } != module.inner.type_ids[t.index()] {
                        return Err(mismatch().into());
                    }
                    vm_imports.tags.push(raw);
                }
                _ => return Err(mismatch().into()),
            }
        }
        let (memories, tables) = initial_sizes(env);
        store.limiter_allows_new(1, &memories, &tables).context("instantiation failed")?;
        let context: *mut weft_runtime::VMStoreContext = &mut *store.vm_store_context;
        // SAFETY: the imports were type-checked against the module above and all belong to this store.
        let handle = unsafe {
            weft_runtime::Instance::new(
                env.clone(),
                Some(module.inner.code.clone()),
                vm_imports,
                context,
                &module.inner.type_ids,
                &store.engine.config().code.tunables,
                module.inner.memory_images.as_ref(),
            )
        };
        let handle = handle.map_err(|e| anyhow::Error::new(e).context("instantiation failed"))?;
        let start = env.start.map(|f| handle.func_ref(f));
        // The store owns the instance before its segments run: a trapping segment leaves earlier writes (which may
        // point at this instance's functions from an imported table) in place.
        let index = store.push_instance(handle, Some(module.clone()));
        let instance = Instance { store: store.id, index };
        match store.instances[index].handle.initialize_segments() {
            Ok(()) => {}
            Err(InstantiationError::Trap(trap)) => return Err(anyhow::Error::new(trap)),
            Err(e) => return Err(anyhow::Error::new(e).context("instantiation failed")),
        }
        if let Some(start) = start {
            let f = store.func_for_ref(std::ptr::NonNull::new(start).expect("func_ref is never null"));
            Func { store: store.id, index: f }.call_raw(store, &mut []).context("the start function failed")?;
        }
        Ok(instance)
    }

    pub(crate) fn handle<'a>(&self, store: &'a StoreOpaque) -> &'a weft_runtime::Instance {
        store.check(self.store);
        &store.instances[self.index].handle
    }

    pub(crate) fn module_env(&self, store: &StoreOpaque) -> Arc<weft_environ::Module> {
        self.handle(store).module().clone()
    }

    /// The export called `name`.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = &mut store.as_context_mut().0.opaque;
        let env = self.module_env(store);
        let export = env.exports.iter().find(|e| e.name == name)?;
        Some(self.extern_for(store, export.index))
    }

    fn extern_for(&self, store: &mut StoreOpaque, index: EntityIndex) -> Extern {
        match index {
            EntityIndex::Func(f) => {
                let func_ref = self.handle(store).func_ref(f);
                let i = store.func_for_ref(std::ptr::NonNull::new(func_ref).expect("func_ref is never null"));
                Extern::Func(Func { store: store.id, index: i })
            }
            EntityIndex::Memory(m) => Extern::Memory(Memory { store: self.store, instance: self.index, index: m }),
            EntityIndex::Table(t) => Extern::Table(Table { store: self.store, instance: self.index, index: t }),
            EntityIndex::Global(g) => Extern::Global(Global { store: self.store, instance: self.index, index: g }),
            EntityIndex::Tag(t) => Extern::Tag(crate::Tag { store: self.store, instance: self.index, index: t }),
        }
    }

    /// Every export, in order, with its name.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let store = &mut store.as_context_mut().0.opaque;
        let env = self.module_env(store);
        env.exports.iter().map(|e| (e.name.clone(), self.extern_for(store, e.index))).collect()
    }

    /// The exported function called `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function called `name`, typed; fails if it is missing or has another type.
    pub fn get_typed_func<Params: WasmTyList, Results: WasmTyList>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| anyhow::anyhow!("the instance has no exported function called `{name}`"))?;
        f.typed(&store).with_context(|| format!("exported function `{name}`"))
    }

    /// The exported memory called `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table called `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global called `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }
}

/// The initial size and maximum of each memory (in bytes) and table (in elements) `module` defines, as the limiter
/// is asked about them.
pub(crate) fn initial_sizes(module: &weft_environ::Module) -> (Vec<(u64, Option<u64>)>, Vec<(u64, Option<u64>)>) {
    let page = weft_runtime::WASM_PAGE_SIZE;
    let memories = module.memories[module.num_imported_memories as usize..]
        .iter()
        .map(|m| (m.limits.min.saturating_mul(page), m.limits.max.map(|max| max.saturating_mul(page))))
        .collect();
    let tables =
        module.tables[module.num_imported_tables as usize..].iter().map(|t| (t.limits.min, t.limits.max)).collect();
    (memories, tables)
}

/// Import subtyping of limits: the given item must be at least as large and at most as permissive.
fn limits_match(expected: &weft_environ::Limits, actual: &weft_environ::Limits) -> bool {
    actual.min >= expected.min
        && match expected.max {
            None => true,
            Some(emax) => actual.max.is_some_and(|amax| amax <= emax),
        }
}
