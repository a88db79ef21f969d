//! Lazy and tiered compilation ([`crate::Compilation`]): what a lazily compiled module keeps to compile its
//! functions later, and the engine's compilation threads that do it.

use crate::Engine;
use anyhow::Context as _;
use std::any::Any;
use std::ops::Range;
use std::sync::Arc;
use weft_environ::wasmparser::{self, FuncToValidate, ValidatorResources, WasmFeatures};
use weft_environ::{CompiledCode, DefinedFuncIndex, FunctionBodyData, ModuleTranslation};
use weft_runtime::{LazyCompiler, Tier};

/// Function bodies larger than this skip quick code in tiered mode and are optimised on their first call: quick
/// code (the single-pass register allocator gives every value its own stack slot) of a large function has a huge
/// frame (yosys's `AstNode::simplify` took about 70 KiB a call, overflowing the stack a few calls deep), and a large
/// function is where optimisation pays most.
const QUICK_MAX_BODY_BYTES: usize = 4096;

/// A lazily compiled module's function bodies, and how to compile them.
pub(crate) struct LazyFunctions {
    engine: Engine,
    /// The engine's tunables with the module's mode (`Lazy` or `Tiered`, never `Auto`).
    tunables: weft_environ::Tunables,
    module: Arc<weft_environ::Module>,
    wasm: Arc<[u8]>,
    /// Each defined function's body (a range of `wasm`) and its wasm function and type indices.
    bodies: Vec<(Range<usize>, u32, u32)>,
    resources: ValidatorResources,
    features: WasmFeatures,
}

impl LazyFunctions {
    /// Validates every function body of `translation` (in parallel: an invalid module is refused before anything
    /// runs, as with eager compilation) and keeps what compiling them later needs.
    pub(crate) fn new(
        engine: &Engine,
        tunables: weft_environ::Tunables,
        module: Arc<weft_environ::Module>,
        wasm: Arc<[u8]>,
        translation: &ModuleTranslation<'_>,
    ) -> crate::Result<LazyFunctions> {
        use rayon::prelude::*;
        let validate = || {
            // Each thread reuses its validator's allocations from one body to the next.
            translation.function_bodies.par_iter().try_for_each_init(
                wasmparser::FuncValidatorAllocations::default,
                |allocations, body| -> crate::Result<()> {
                    let v = &body.validator;
                    let to_validate = FuncToValidate {
                        resources: v.resources.clone(),
                        index: v.index,
                        ty: v.ty,
                        features: v.features,
                    };
                    let mut validator = to_validate.into_validator(std::mem::take(allocations));
                    validator.validate(&body.body).map_err(weft_environ::TranslateError::from)?;
                    *allocations = validator.into_allocations();
                    Ok(())
                },
            )
        };
        match &engine.inner.sequential_compilation {
            Some(one_thread) => one_thread.install(validate),
            None => validate(),
        }?;
        let Some(first) = translation.function_bodies.first() else {
            anyhow::bail!("a module without functions needs no lazy compilation");
        };
        let bodies = translation
            .function_bodies
            .iter()
            .map(|b| {
                let r = b.body.range();
                (r.start as usize..r.end as usize, b.validator.index, b.validator.ty)
            })
            .collect();
        Ok(LazyFunctions {
            engine: engine.clone(),
            tunables,
            module,
            wasm,
            bodies,
            resources: first.validator.resources.clone(),
            features: first.validator.features,
        })
    }

    fn body(&self, def: DefinedFuncIndex) -> Option<FunctionBodyData<'_>> {
        let (range, index, ty) = self.bodies.get(def.index())?.clone();
        let reader =
            wasmparser::BinaryReader::new_features(self.wasm.get(range.clone())?, range.start as u64, self.features);
        Some(FunctionBodyData {
            validator: FuncToValidate { resources: self.resources.clone(), index, ty, features: self.features },
            body: wasmparser::FunctionBody::new(reader),
        })
    }

    fn compile_now(
        &self,
        def: DefinedFuncIndex,
        tier: Tier,
        is_final: &(dyn Fn(DefinedFuncIndex) -> bool + Sync),
    ) -> crate::Result<CompiledCode> {
        let body = self.body(def).context("no such function")?;
        let compiler = match tier {
            Tier::Quick => self.engine.quick_compiler(),
            Tier::Optimized => &self.engine.inner.compiler,
        };
        let tunables = &self.tunables;
        let code = compiler.compile_lazy_function(
            &self.module,
            def,
            body,
            &|callee| self.body(callee),
            is_final,
            tunables,
            tier == Tier::Quick,
        )?;
        Ok(code)
    }
}

impl LazyCompiler for LazyFunctions {
    fn compile(
        &self,
        def: DefinedFuncIndex,
        tier: Tier,
        here: bool,
        is_final: &(dyn Fn(DefinedFuncIndex) -> bool + Sync),
    ) -> Result<CompiledCode, Box<dyn Any + Send>> {
        // Where the calling thread lacks the stack, on a compilation thread, whose stack is the compiler's.
        let result = if here {
            self.compile_now(def, tier, is_final)
        } else {
            self.engine.compile_pool().install(|| self.compile_now(def, tier, is_final))
        };
        result.map_err(|e| {
            let name = self.module.func_display_name(self.module.func_index(def));
            Box::new(e.context(format!("cannot compile function {name} on its first call"))) as Box<dyn Any + Send>
        })
    }

    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        self.engine.compile_pool().spawn(job);
    }

    fn quick_first(&self, def: DefinedFuncIndex) -> bool {
        self.bodies.get(def.index()).is_some_and(|(range, _, _)| range.len() <= QUICK_MAX_BODY_BYTES)
    }

    fn installed(&self, _def: DefinedFuncIndex, tier: Tier, address: usize, text: &[u8], code: &CompiledCode) {
        let Some(profiler) = &self.engine.inner.profiler else { return };
        let mut symbols = crate::profiling::module_symbols(&self.module, code);
        if tier == Tier::Quick {
            // Both tiers' code of a function may show up in one profile.
            for symbol in &mut symbols {
                symbol.name.push_str(" [quick]");
            }
        }
        let view = crate::profiling::CodeView { base: address, text, info: code, module: Some(&self.module) };
        profiler.register_view(&view, &symbols);
    }
}
