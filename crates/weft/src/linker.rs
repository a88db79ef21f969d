//! Linking modules by name.

use crate::func::HostFn;
use crate::{
    AsContextMut, Caller, Engine, Extern, ExternType, Func, FuncType, Instance, IntoFunc, Module, Result, Val,
};
use std::collections::HashMap;
use std::sync::Arc;

enum Definition<T> {
    Extern(Extern),
    /// A host function not yet tied to a store: created in each store that instantiates with it.
    HostFunc(FuncType, Arc<HostFn<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::HostFunc(t, f) => Definition::HostFunc(t.clone(), f.clone()),
        }
    }
}

/// Resolves imports by `module::name` and instantiates modules with them.
pub struct Linker<T> {
    definitions: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
    /// The engine modules instantiated through this linker must belong to, if it was given one.
    engine: Option<Engine>,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Self {
            definitions: self.definitions.clone(),
            allow_shadowing: self.allow_shadowing,
            engine: self.engine.clone(),
        }
    }
}

/// A linker for modules of any engine (each instantiation still checks that the module and the store agree).
impl<T: 'static> Default for Linker<T> {
    fn default() -> Self {
        Self { definitions: HashMap::new(), allow_shadowing: false, engine: None }
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for modules of `engine`: instantiating a module compiled by another engine through it is an
    /// error.
    pub fn new(engine: &Engine) -> Self {
        Self { engine: Some(engine.clone()), ..Self::default() }
    }

    /// Whether a later definition may replace an earlier one of the same name (default `false`: it is an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.definitions.contains_key(&key) {
            anyhow::bail!("`{module}::{name}` is already defined");
        }
        self.definitions.insert(key, def);
        Ok(self)
    }

    /// Defines `module::name` as `item` (which belongs to one store: only instantiate in that store with it).
    pub fn define(&mut self, module: &str, name: &str, item: impl Into<Extern>) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines `module::name` as a host function from a closure (see [`Func::wrap`]); usable in any store.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, body) = func.into_func();
        self.insert(module, name, Definition::HostFunc(ty, body))
    }

    /// Defines `module::name` as a host function of type `ty` over [`Val`]s (see [`Func::new`]).
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let body = crate::func::val_host_fn(ty.clone(), func);
        self.insert(module, name, Definition::HostFunc(ty, body))
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(&mut store) {
            self.define(module, &name, item)?;
        }
        Ok(self)
    }

    /// The item defined as `module::name`, created in `store` if it is a host function.
    pub fn get(&self, mut store: impl AsContextMut<Data = T>, module: &str, name: &str) -> Option<Extern> {
        Some(match self.definitions.get(&(module.to_string(), name.to_string()))? {
            Definition::Extern(e) => *e,
            Definition::HostFunc(ty, body) => {
                Extern::Func(Func::new_host(store.as_context_mut().0, ty.clone(), body.clone()))
            }
        })
    }

    /// Instantiates `module`, resolving each import by name; fails naming the first import that is undefined or has
    /// the wrong type.
    pub fn instantiate(&self, store: impl AsContextMut<Data = T>, module: &Module) -> Result<Instance> {
        self.instantiate_pre(module)?.instantiate(store)
    }

    /// Resolves `module`'s imports once, for instantiating it many times ([`InstancePre::instantiate`] then does
    /// only the per-instance work). Fails naming the first import that is undefined, or defined as a host function
    /// of another type.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        if let Some(engine) = &self.engine
            && !Engine::same(engine, module.engine())
        {
            anyhow::bail!("the module was compiled by another engine than the one this linker was created for");
        }
        let mut definitions = Vec::with_capacity(module.imports().len());
        for import in module.imports() {
            let key = (import.module().to_string(), import.name().to_string());
            let definition = self.definitions.get(&key).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown import: `{}::{}` has not been defined (the module expects {})",
                    import.module(),
                    import.name(),
                    import.ty()
                )
            })?;
            if let (Definition::HostFunc(ty, _), ExternType::Func(expected)) = (definition, import.ty())
                && *ty != expected
            {
                return Err(crate::LinkError::IncompatibleType {
                    module: key.0,
                    field: key.1,
                    expected: expected.to_string(),
                    found: ty.to_string(),
                }
                .into());
            }
            definitions.push(definition.clone());
        }
        Ok(InstancePre { module: module.clone(), definitions })
    }

    /// Defines the exports of `module` under the module name `name`, the WASI way. A command (a module exporting
    /// `_start`) gets a fresh instance for every call of each exported function, as a command's functions expect to
    /// run once: each becomes a host function that instantiates `module` with this linker's definitions as they are
    /// now, then calls the export (its other exports are not defined). A reactor (any other module) is instantiated
    /// once in `store`, its `_initialize` export (if any) called, and its exports defined as [`Linker::instance`]
    /// does.
    pub fn module(&mut self, mut store: impl AsContextMut<Data = T>, name: &str, module: &Module) -> Result<&mut Self> {
        let is_command = module.exports().any(|e| e.name() == "_start" && matches!(e.ty(), ExternType::Func(_)));
        if !is_command {
            let instance = self.instantiate(&mut store, module)?;
            if let Some(init) = instance.get_func(&mut store, "_initialize") {
                init.typed::<(), ()>(&store)?.call(&mut store, ())?;
            }
            return self.instance(store, name, instance);
        }
        let pre = Arc::new(self.instantiate_pre(module)?);
        let functions: Vec<(String, FuncType)> = module
            .exports()
            .filter_map(|e| match e.ty() {
                ExternType::Func(ty) => Some((e.name().to_string(), ty)),
                _ => None,
            })
            .collect();
        for (export, ty) in functions {
            let pre = pre.clone();
            let export_name = export.clone();
            self.func_new(name, &export, ty, move |mut caller, params, results| {
                let instance = pre.instantiate(&mut caller)?;
                let func = instance.get_func(&mut caller, &export_name).expect("the module exports it");
                func.call(&mut caller, params, results)
            })?;
        }
        Ok(self)
    }

    /// The default function of the module defined as `module` (Wasmtime's rule for running a WASI module): its
    /// export named `""` if it has one, else its `_start`, else a function that does nothing.
    pub fn get_default(&self, mut store: impl AsContextMut<Data = T>, module: &str) -> Result<Func> {
        for name in ["", "_start"] {
            match self.get(&mut store, module, name) {
                Some(Extern::Func(func)) => return Ok(func),
                Some(_) => anyhow::bail!("`{module}::{name}` is defined but is not a function"),
                None => {}
            }
        }
        Ok(Func::wrap(store, || {}))
    }

    /// Defines every function import of `module` that is not defined yet as a host function that traps when
    /// called (with an error naming the import): for modules that import more than a run uses.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<&mut Self> {
        for import in module.imports() {
            let key = (import.module().to_string(), import.name().to_string());
            if self.definitions.contains_key(&key) {
                continue;
            }
            if let ExternType::Func(ty) = import.ty() {
                let name = format!("{}::{}", key.0, key.1);
                self.func_new(&key.0, &key.1, ty, move |_, _, _| {
                    anyhow::bail!("unknown import `{name}` was called: it was defined as a trap")
                })?;
            }
        }
        Ok(self)
    }
}

/// A module with its imports resolved by a [`Linker`], ready to be instantiated in any number of stores.
pub struct InstancePre<T> {
    module: Module,
    definitions: Vec<Definition<T>>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        Self { module: self.module.clone(), definitions: self.definitions.clone() }
    }
}

impl<T: 'static> InstancePre<T> {
    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Instantiates the module in `store` with the resolved imports (host functions are created in `store`). An
    /// item the linker holds from another store is a programming error, and panics, as it does with
    /// [`Instance::new`].
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let imports: Vec<Extern> = self
            .definitions
            .iter()
            .map(|definition| match definition {
                Definition::Extern(e) => *e,
                Definition::HostFunc(ty, body) => {
                    Extern::Func(Func::new_host(store.as_context_mut().0, ty.clone(), body.clone()))
                }
            })
            .collect();
        Instance::new(store, &self.module, &imports)
    }
}
