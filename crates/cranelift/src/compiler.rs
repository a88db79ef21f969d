//! Driving Cranelift: ISA selection, parallel compilation and linking of a module's text section.

use crate::func_translator::{FuncTranslator, ModuleEnv, trap_from_code};
use crate::inline::{Candidates, Inliner};
use crate::trampolines;
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName, LibCall, UserFuncName};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedMachExceptionHandler, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use rayon::prelude::*;
use weft_environ::*;

/// Why compilation failed.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The function body is invalid.
    #[error("invalid function body")]
    Invalid(#[from] TranslateError),
    /// The module uses something this compiler cannot translate.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Cranelift rejected the generated code (a bug in Weft, or an implementation limit).
    #[error("code generation failed for {function}: {message}")]
    Codegen {
        /// Which function.
        function: String,
        /// Cranelift's message.
        message: String,
    },
    /// The host CPU is not supported.
    #[error("unsupported host: {0}")]
    Host(String),
}

impl CompileError {
    pub(crate) fn internal(what: &str) -> Self {
        CompileError::Unsupported(format!("internal translator error: {what}"))
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        CompileError::Invalid(e.into())
    }
}

/// How hard Cranelift optimises.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum OptLevel {
    /// No optimisation: fastest compilation.
    None,
    /// Optimise for speed (the default).
    #[default]
    Speed,
    /// Optimise for speed and code size.
    SpeedAndSize,
}

/// Which listing [`Compiler::listing`] produces.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Cranelift IR as translated from wasm, before Cranelift optimises it.
    Clif,
    /// The generated machine code, after optimisation and register allocation.
    Asm,
}

/// Settings that select and configure the code generator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CompilerSettings {
    /// Optimisation level.
    pub opt_level: OptLevel,
    /// Run Cranelift's IR verifier on every function (slow; catches translator bugs).
    pub verifier: bool,
    /// Cranelift settings the embedder set by name, `(name, value)` in order: CPU features (`has_avx2`, checked
    /// against the host) and the few shared settings in [`ADJUSTABLE_SETTINGS`].
    pub flags: Vec<(String, String)>,
    /// The target triple to compile for when it is not the host (`aarch64-unknown-linux-gnu` on an x86-64 host):
    /// code for it can be serialized but not run here. `None`: the host, with its CPU's features.
    pub target: Option<String>,
    /// Inline small functions into their callers (the heuristic is in this crate's `inline` module and in
    /// docs/architecture.md). Only when optimising: at [`OptLevel::None`] nothing is inlined.
    pub inlining: bool,
    /// Describe the compiled code to native debuggers (gdb) with the module's DWARF, rewritten for the machine
    /// code. The loader does the describing; the compiler's part is to inline nothing, so that every wasm function
    /// is a real frame a debugger can stop in, step out of and show in a backtrace.
    pub debug_info: bool,
}

impl Default for CompilerSettings {
    fn default() -> Self {
        Self {
            opt_level: OptLevel::Speed,
            verifier: cfg!(debug_assertions),
            flags: Vec::new(),
            target: None,
            inlining: true,
            debug_info: false,
        }
    }
}

/// Cranelift's shared settings an embedder may change by name. The others are either chosen by Weft because the
/// runtime depends on them (frame pointers for backtraces and exception unwinding, unwind info, stack probes) or
/// have a `Config` method of their own (`opt_level`, `enable_verifier`).
pub const ADJUSTABLE_SETTINGS: &[&str] =
    &["enable_nan_canonicalization", "enable_alias_analysis", "regalloc_algorithm"];

/// A Cranelift code generator for the host.
pub struct Compiler {
    isa: OwnedTargetIsa,
    inlining: bool,
    debug_info: bool,
}

struct CompiledFunction {
    unwind: Option<cranelift_codegen::isa::unwind::systemv::UnwindInfo>,
    code: Vec<u8>,
    alignment: u32,
    relocs: Vec<(u32, Reloc, RelocTarget, i64)>,
    traps: Vec<(u32, Trap)>,
    /// With debug information, where the function keeps its vmctx and locals (`None` for trampolines).
    debug_frame: Option<DebugFrame>,
    /// `(code offset, address-map value)`: see [`CompiledCode::address_map`]; inline-site indexes are into
    /// `inline_sites`.
    srclocs: Vec<(u32, u32)>,
    inline_sites: Vec<InlineSite>,
    /// `(return address, handler, sp_to_fp)` of each call inside a `try_table`, function-relative.
    handlers: Vec<(u32, u32, u32)>,
}

enum RelocTarget {
    Func(FuncIndex),
    Libcall(Libcall),
}

impl Compiler {
    /// Builds a compiler for the host CPU with `settings`.
    pub fn new(settings: &CompilerSettings) -> Result<Self, CompileError> {
        let mut sb = settings::builder();
        let opt = match settings.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        };
        let set = |sb: &mut settings::Builder, k: &str, v: &str| {
            sb.set(k, v).map_err(|e| CompileError::Host(format!("setting {k}={v}: {e}")))
        };
        set(&mut sb, "opt_level", opt)?;
        set(&mut sb, "enable_verifier", if settings.verifier { "true" } else { "false" })?;
        // Frame pointers let the runtime walk wasm frames for backtraces without unwind tables.
        set(&mut sb, "preserve_frame_pointers", "true")?;
        set(&mut sb, "unwind_info", "true")?;
        // Large frames must touch each page in order, so a frame never jumps over a guard page.
        set(&mut sb, "enable_probestack", "true")?;
        set(&mut sb, "probestack_strategy", "inline")?;
        // aarch64's calling conventions return at most a few values in registers; with this, a function returning
        // more (multi-value) gets a hidden pointer to a return area, as x86-64's conventions do by themselves.
        let aarch64 = match &settings.target {
            Some(triple) => triple.starts_with("aarch64"),
            None => cfg!(target_arch = "aarch64"),
        };
        if aarch64 {
            set(&mut sb, "enable_multi_ret_implicit_sret", "true")?;
        }
        let mut builder = match &settings.target {
            None => cranelift_native::builder().map_err(|e| CompileError::Host(e.to_string()))?,
            // Another architecture: its baseline features (no CPU to ask), each adjustable by name below.
            Some(triple) => cranelift_codegen::isa::lookup_by_name(triple)
                .map_err(|e| CompileError::Host(format!("cannot compile for `{triple}`: {e}")))?,
        };
        let host_flags = if settings.flags.is_empty() || settings.target.is_some() {
            Vec::new()
        } else {
            let host = cranelift_native::builder().map_err(|e| CompileError::Host(e.to_string()))?;
            let host = host
                .finish(settings::Flags::new(settings::builder()))
                .map_err(|e| CompileError::Host(e.to_string()))?;
            host.isa_flags()
        };
        for (name, value) in &settings.flags {
            if ADJUSTABLE_SETTINGS.contains(&name.as_str()) {
                set(&mut sb, name, value)?;
                continue;
            }
            // A CPU feature: enabling one the host lacks would make code that faults with illegal instructions,
            // so only features the host has may be turned on (turning one off is always safe).
            if settings.target.is_some() {
                // No CPU here to check a feature against: the code runs elsewhere, on a CPU the user chose it for.
                builder.set(name, value).map_err(|e| CompileError::Host(format!("setting {name}={value}: {e}")))?;
                continue;
            }
            let host_has = host_flags.iter().find(|v| v.name == name.as_str()).map(|v| v.as_bool());
            match host_has {
                None => {
                    return Err(CompileError::Host(format!(
                        "unknown or unadjustable Cranelift setting `{name}` (adjustable: CPU features of the host \
                         and {})",
                        ADJUSTABLE_SETTINGS.join(", ")
                    )));
                }
                Some(Some(false)) if value == "true" => {
                    return Err(CompileError::Host(format!("cannot enable `{name}`: this CPU does not have it")));
                }
                _ => {
                    builder.set(name, value).map_err(|e| CompileError::Host(format!("setting {name}={value}: {e}")))?
                }
            }
        }
        let isa = builder.finish(settings::Flags::new(sb)).map_err(|e| CompileError::Host(e.to_string()))?;
        Ok(Self {
            isa,
            inlining: settings.inlining && settings.opt_level != OptLevel::None && !settings.debug_info,
            debug_info: settings.debug_info,
        })
    }

    /// The target ISA.
    pub fn isa(&self) -> &dyn TargetIsa {
        &*self.isa
    }

    /// A string identifying everything about this compiler that affects generated code.
    pub fn fingerprint(&self) -> String {
        let shared: Vec<String> = self.isa.flags().iter().map(|v| v.to_string()).collect();
        let isa_flags: Vec<String> = self.isa.isa_flags().iter().map(|v| v.to_string()).collect();
        format!("{} {} {}", self.isa.triple(), shared.join(","), isa_flags.join(","))
    }

    /// Compiles one function; with `inlining`, first inlines the calls [`Inliner`] chooses.
    fn compile_clif(
        &self,
        func: ir::Function,
        name: &dyn Fn() -> String,
        inlining: Option<InlineContext<'_>>,
    ) -> Result<CompiledFunction, CompileError> {
        self.compile_clif_with(func, name, inlining, None)
    }

    /// [`Compiler::compile_clif`]; with `table_calls`, the module's direct calls are then routed through its code
    /// table (lazily compiled code).
    fn compile_clif_with(
        &self,
        func: ir::Function,
        name: &dyn Fn() -> String,
        inlining: Option<InlineContext<'_>>,
        table_calls: Option<(&Module, &dyn Fn(FuncIndex) -> bool)>,
    ) -> Result<CompiledFunction, CompileError> {
        let (mut ctx, inline_sites) = self.inline_into(func, name, inlining)?;
        if let Some((module, direct)) = table_calls {
            crate::lazy::route_calls_through_table(&mut ctx.func, module, self.isa.pointer_type(), direct);
        }
        // After inlining, which may add the callees' names.
        let user_names = ctx.func.params.user_named_funcs().clone();
        self.compile_context(&mut ctx, name)?;
        let compiled = ctx.compiled_code().ok_or_else(|| CompileError::internal("no compiled code"))?;
        let unwind = match compiled.create_unwind_info(&*self.isa) {
            Ok(Some(cranelift_codegen::isa::unwind::UnwindInfo::SystemV(info))) => Some(info),
            Ok(_) => None,
            Err(e) => return Err(CompileError::Codegen { function: name(), message: format!("unwind info: {e}") }),
        };
        let buffer = &compiled.buffer;
        let mut relocs = Vec::new();
        for r in compiled.buffer.relocs() {
            let target = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(u)) => {
                    RelocTarget::Func(FuncIndex::from_u32(user_names[*u].index))
                }
                FinalizedRelocTarget::ExternalName(ExternalName::LibCall(l)) => RelocTarget::Libcall(match l {
                    LibCall::CeilF32 => Libcall::CeilF32,
                    LibCall::CeilF64 => Libcall::CeilF64,
                    LibCall::FloorF32 => Libcall::FloorF32,
                    LibCall::FloorF64 => Libcall::FloorF64,
                    LibCall::TruncF32 => Libcall::TruncF32,
                    LibCall::TruncF64 => Libcall::TruncF64,
                    LibCall::NearestF32 => Libcall::NearestF32,
                    LibCall::NearestF64 => Libcall::NearestF64,
                    LibCall::FmaF32 => Libcall::FmaF32,
                    LibCall::FmaF64 => Libcall::FmaF64,
                    other => {
                        return Err(CompileError::Unsupported(format!("libcall {other:?}")));
                    }
                }),
                other => {
                    return Err(CompileError::Unsupported(format!("relocation target {other:?}")));
                }
            };
            relocs.push((r.offset, r.kind, target, r.addend));
        }
        let traps = buffer
            .traps()
            .iter()
            .map(|t| (t.offset, trap_from_code(t.code).unwrap_or(Trap::UnreachableCodeReached)))
            .collect();
        let srclocs = buffer.get_srclocs_sorted().iter().map(|s| (s.start, s.loc.bits())).collect();
        let debug_frame = self.debug_info.then(|| debug_frame(&ctx.func, buffer)).flatten();
        // The translator gives every `try_call` one catch-all handler (tag matching is done by the handler's own
        // code), so the first `Default` entry is the whole story.
        let mut handlers = Vec::new();
        for site in buffer.call_sites() {
            for h in site.exception_handlers {
                if let FinalizedMachExceptionHandler::Default(offset) = h {
                    let sp_to_fp = site.frame_offset.ok_or_else(|| CompileError::internal("try_call without frame"))?;
                    handlers.push((site.ret_addr, *offset, sp_to_fp));
                    break;
                }
            }
        }
        Ok(CompiledFunction {
            handlers,
            unwind,
            code: compiled.code_buffer().to_vec(),
            // The ISA's preferred alignment (32 bytes on x86-64 and aarch64) rather than its minimum: where a function
            // starts decides which of its hot branches straddle a 64-byte fetch line, which moved a bytecode
            // interpreter's dispatch loop by 10-15% (docs/benchmarks.md); fewer start positions, fewer such layouts.
            alignment: buffer.alignment.max(self.isa.function_alignment().preferred).max(16),
            relocs,
            traps,
            srclocs,
            inline_sites,
            debug_frame,
        })
    }

    /// Compiles `ctx`'s function in place (`ctx.compiled_code()` holds the result).
    fn compile_context(&self, ctx: &mut Context, name: &dyn Fn() -> String) -> Result<(), CompileError> {
        // A leaf (no call of any kind) whose frame fits in `LEAF_FRAME_SLACK` needs no stack-limit check: every
        // frame that called it passed its own, and the runtime keeps that much stack below the limit for it. Its
        // frame size is known only once it is compiled, so a leaf is compiled without the check and, should its
        // frame turn out larger, again with it.
        let unchecked_leaf = match ctx.func.stack_limit {
            Some(_) if is_leaf(&ctx.func) => {
                let original = ctx.func.clone();
                ctx.func.stack_limit = None;
                Some(original)
            }
            _ => None,
        };
        let frame_fits = {
            let compiled =
                ctx.compile(&*self.isa, &mut ControlPlane::default()).map_err(|e| codegen_error(&name(), e))?;
            // The frame below the frame pointer, plus the saved frame pointer and return address.
            compiled.buffer.frame_layout().is_some_and(|l| l.frame_to_fp_offset + 16 <= LEAF_FRAME_SLACK)
        };
        if let Some(original) = unchecked_leaf
            && !frame_fits
        {
            let disasm = ctx.want_disasm;
            *ctx = Context::for_function(original);
            ctx.set_disasm(disasm);
            ctx.compile(&*self.isa, &mut ControlPlane::default()).map_err(|e| codegen_error(&name(), e))?;
        }
        Ok(())
    }

    /// A compilation context for `func`, with the calls the inliner chooses inlined and the inline sites their
    /// instructions' locations refer to.
    fn inline_into(
        &self,
        func: ir::Function,
        name: &dyn Fn() -> String,
        inlining: Option<InlineContext<'_>>,
    ) -> Result<(Context, Vec<InlineSite>), CompileError> {
        let Some(InlineContext { module, candidates, caller }) = inlining else {
            return Ok((Context::for_function(func), Vec::new()));
        };
        if !candidates.any_call_in(module, &func) {
            return Ok((Context::for_function(func), Vec::new()));
        }
        let original = func.clone();
        let mut ctx = Context::for_function(func);
        let mut inliner = Inliner::new(module, candidates, caller);
        let inlined = ctx
            .inline(&mut inliner)
            .map_err(|e| CompileError::Codegen { function: name(), message: format!("inlining: {e}") })?;
        if !inlined {
            return Ok((ctx, Vec::new()));
        }
        match inliner.restore_locations(&mut ctx.func) {
            Some(sites) => {
                crate::func_translator::renumber_probes(&mut ctx.func);
                Ok((ctx, sites))
            }
            None => {
                // Correct code either way; tests (debug builds) make sure this never happens unnoticed.
                debug_assert!(false, "{}: inlined instructions could not be paired with the callee's", name());
                Ok((Context::for_function(original), Vec::new()))
            }
        }
    }

    /// Validates and translates every function body to Cranelift IR, in parallel, and hands each to `each` with its
    /// function index.
    fn for_each_function<R: Send>(
        &self,
        module: &Module,
        bodies: Vec<FunctionBodyData<'_>>,
        tunables: &Tunables,
        each: impl Fn(FuncIndex, ir::Function) -> Result<R, CompileError> + Sync,
    ) -> Result<Vec<R>, CompileError> {
        let indexed = bodies.into_iter().enumerate().map(|(i, body)| (DefinedFuncIndex::from_u32(i as u32), body));
        self.for_each_indexed_function(module, indexed.collect(), tunables, each)
    }

    /// [`Compiler::for_each_function`] for bodies that carry their defined index.
    fn for_each_indexed_function<R: Send>(
        &self,
        module: &Module,
        bodies: Vec<(DefinedFuncIndex, FunctionBodyData<'_>)>,
        tunables: &Tunables,
        each: impl Fn(FuncIndex, ir::Function) -> Result<R, CompileError> + Sync,
    ) -> Result<Vec<R>, CompileError> {
        let offsets = VMOffsets::new(module);
        let env = ModuleEnv {
            module,
            offsets: &offsets,
            tunables,
            debug_slots: self.debug_info,
            count_runs: false,
            tiered: false,
        };
        bodies
            .into_par_iter()
            .map(|(def, body)| {
                let index = module.func_index(def);
                each(index, self.translate(&env, def, body)?)
            })
            .collect()
    }

    /// Validates and translates one function body to Cranelift IR.
    fn translate(
        &self,
        env: &ModuleEnv<'_>,
        def: DefinedFuncIndex,
        body: FunctionBodyData<'_>,
    ) -> Result<ir::Function, CompileError> {
        let index = env.module.func_index(def);
        let mut validator = body.validator.into_validator(Default::default());
        let sig = crate::func_translator::wasm_signature(&*self.isa, env.module.func_type(index));
        let mut func = ir::Function::with_name_signature(UserFuncName::user(0, index.as_u32()), sig);
        let mut fctx = FunctionBuilderContext::new();
        FuncTranslator::translate(env, &*self.isa, &mut func, &mut fctx, index, &mut validator, &body.body)?;
        Ok(func)
    }

    /// Compiles one function of a lazily compiled module: a text holding that function alone, whose calls to the
    /// module's functions go through its code table. With `count_runs` (tiered mode's quick code) it counts its
    /// entries and loop iterations. With inlining on, the function's short direct callees are translated (with
    /// `callee_body`) and inlined by the same rules as in a whole-module compilation.
    pub fn compile_lazy_function<'data>(
        &self,
        module: &Module,
        def: DefinedFuncIndex,
        body: FunctionBodyData<'data>,
        callee_body: &dyn Fn(DefinedFuncIndex) -> Option<FunctionBodyData<'data>>,
        is_final: &dyn Fn(DefinedFuncIndex) -> bool,
        tunables: &Tunables,
        count_runs: bool,
    ) -> Result<CompiledCode, CompileError> {
        let offsets = VMOffsets::new(module);
        let tiered = tunables.compilation == Compilation::Tiered;
        let env = ModuleEnv { module, offsets: &offsets, tunables, debug_slots: self.debug_info, count_runs, tiered };
        let index = module.func_index(def);
        let func = self.translate(&env, def, body)?;
        let name = || module.func_display_name(index);
        let candidates = if self.inlining {
            let plain = ModuleEnv { count_runs: false, ..env };
            let mut callees = Vec::new();
            for callee in crate::inline::direct_callees(&func) {
                let Some(callee_def) = module.defined_func_index(callee) else { continue };
                if callee == index || callees.iter().any(|(f, _)| *f == callee) {
                    continue;
                }
                let Some(callee_body) = callee_body(callee_def) else { continue };
                let range = callee_body.body.range();
                if range.end - range.start > crate::inline::MAX_CANDIDATE_BODY_BYTES {
                    continue;
                }
                callees.push((callee, self.translate(&plain, callee_def, callee_body)?));
            }
            Some(Candidates::new(
                module,
                callees.iter().map(|(f, func)| (*f, func)),
                module.num_defined_funcs() as usize,
            ))
        } else {
            None
        };
        let inlining = candidates.as_ref().map(|candidates| InlineContext { module, candidates, caller: index });
        // Calls to final code stay direct; the loader resolves them (`CompiledCode::call_relocations`). Quick code
        // calls itself through the table, so that a deep recursion moves to optimised code as soon as there is some.
        let direct = |callee: FuncIndex| {
            if callee == index {
                return !count_runs;
            }
            module.defined_func_index(callee).is_some_and(is_final)
        };
        let compiled = self.compile_clif_with(func, &name, inlining, Some((module, &direct)))?;
        let mut code = link_from(&*self.isa, module, def.as_u32(), true, vec![compiled], vec![])?;
        code.first_function = def.as_u32();
        Ok(code)
    }

    /// Validates, translates and compiles every function body. Without inlining each function goes from bytes to
    /// machine code on its own. With it, the bodies short enough to be inlining candidates are translated first
    /// (only those are held in memory at once: all of a large module's IR would be several times its size), and
    /// then every function is compiled with those candidates at hand.
    fn compile_functions(
        &self,
        module: &Module,
        bodies: Vec<FunctionBodyData<'_>>,
        tunables: &Tunables,
    ) -> Result<Vec<CompiledFunction>, CompileError> {
        if !self.inlining {
            return self.for_each_function(module, bodies, tunables, |index, func| {
                self.compile_clif(func, &|| module.func_display_name(index), None)
            });
        }
        let count = bodies.len();
        let (short, long): (Vec<_>, Vec<_>) =
            bodies.into_iter().enumerate().map(|(i, body)| (DefinedFuncIndex::from_u32(i as u32), body)).partition(
                |(_, body)| body.body.range().end - body.body.range().start <= crate::inline::MAX_CANDIDATE_BODY_BYTES,
            );
        let short = self.for_each_indexed_function(module, short, tunables, |index, func| Ok((index, func)))?;
        let candidates = Candidates::new(module, short.iter().map(|(index, func)| (*index, func)), count);
        let compile = |index: FuncIndex, func: ir::Function| {
            let inlining = InlineContext { module, candidates: &candidates, caller: index };
            self.compile_clif(func, &|| module.func_display_name(index), Some(inlining)).map(|f| (index, f))
        };
        let mut compiled: Vec<(FuncIndex, CompiledFunction)> =
            short.into_par_iter().map(|(index, func)| compile(index, func)).collect::<Result<_, _>>()?;
        compiled.extend(self.for_each_indexed_function(module, long, tunables, compile)?);
        compiled.sort_unstable_by_key(|(index, _)| *index);
        Ok(compiled.into_iter().map(|(_, f)| f).collect())
    }

    /// Validates and compiles every function of `translation`, plus one entry trampoline per function type, and
    /// links them into one text section.
    pub fn compile_module(
        &self,
        translation: ModuleTranslation<'_>,
        tunables: &Tunables,
    ) -> Result<CompiledCode, CompileError> {
        let ModuleTranslation { module, function_bodies, .. } = translation;
        let lazy = tunables.compilation.is_lazy();
        let functions = if lazy { Vec::new() } else { self.compile_functions(&module, function_bodies, tunables)? };
        let trampolines: Vec<CompiledFunction> = module
            .types
            .par_iter()
            .map(|ty| {
                self.compile_clif(trampolines::array_to_wasm(&*self.isa, ty), &|| format!("trampoline {ty}"), None)
            })
            .collect::<Result<_, _>>()?;
        let mut code = link(&*self.isa, &module, functions, trampolines)?;
        if lazy {
            crate::lazy::append_stubs(&*self.isa, &mut code, module.num_defined_funcs())
                .map_err(CompileError::Unsupported)?;
        }
        Ok(code)
    }

    /// A text listing of every defined function of `translation`, for reading the generated code: the Cranelift IR
    /// the translator produces ([`Listing::Clif`]) or the machine code Cranelift makes of it ([`Listing::Asm`], in
    /// Cranelift's own notation, after register allocation). Each function is headed by a `;;` comment naming it.
    pub fn listing(
        &self,
        translation: ModuleTranslation<'_>,
        tunables: &Tunables,
        what: Listing,
    ) -> Result<String, CompileError> {
        let ModuleTranslation { module, function_bodies, .. } = translation;
        let functions = self.for_each_function(&module, function_bodies, tunables, |index, func| Ok((index, func)))?;
        let candidates = (self.inlining && what == Listing::Asm)
            .then(|| Candidates::new(&module, functions.iter().map(|(index, func)| (*index, func)), functions.len()));
        let listings = functions
            .into_par_iter()
            .map(|(index, func)| {
                let name = module.func_display_name(index);
                let text = match what {
                    Listing::Clif => func.display().to_string(),
                    Listing::Asm => {
                        let inlining = candidates.as_ref().map(|c| InlineContext {
                            module: &module,
                            candidates: c,
                            caller: index,
                        });
                        let (mut ctx, _) = self.inline_into(func, &|| name.clone(), inlining)?;
                        ctx.set_disasm(true);
                        self.compile_context(&mut ctx, &|| name.clone())?;
                        ctx.compiled_code().and_then(|c| c.vcode.clone()).unwrap_or_default()
                    }
                };
                Ok(format!(";; function {} ({name})\n{text}\n", index.as_u32()))
            })
            .collect::<Result<Vec<_>, CompileError>>()?;
        Ok(listings.concat())
    }

    /// Compiles the wasm-to-host trampoline for host functions of type `ty`. Its text holds one function at 0.
    pub fn compile_host_trampoline(&self, ty: &FuncType) -> Result<CompiledCode, CompileError> {
        let f =
            self.compile_clif(trampolines::wasm_to_array(&*self.isa, ty), &|| format!("host trampoline {ty}"), None)?;
        link(&*self.isa, &Module::default(), vec![f], vec![])
    }
}

/// Whether `func` calls nothing (no direct, indirect, tail or exception-catching call; libcalls Cranelift may add
/// for a few floating-point operations on old CPUs are host code that needs little stack).
fn is_leaf(func: &ir::Function) -> bool {
    !func.layout.blocks().any(|b| func.layout.block_insts(b).any(|i| func.dfg.insts[i].opcode().is_call()))
}

/// What inlining into one function needs.
#[derive(Copy, Clone)]
struct InlineContext<'a> {
    module: &'a Module,
    candidates: &'a Candidates,
    caller: FuncIndex,
}

fn codegen_error(function: &str, e: cranelift_codegen::CompileError<'_>) -> CompileError {
    CompileError::Codegen {
        function: function.to_string(),
        message: cranelift_codegen::print_errors::pretty_error(e.func, e.inner),
    }
}

/// Where `func` (translated with [`ModuleEnv::debug_slots`]) keeps its vmctx and locals, from the frame layout of
/// its machine code.
fn debug_frame(
    func: &ir::Function,
    buffer: &cranelift_codegen::MachBufferFinalized<cranelift_codegen::Final>,
) -> Option<DebugFrame> {
    use crate::func_translator::DEBUG_SLOT_VMCTX;
    let layout = buffer.frame_layout()?;
    let mut frame = DebugFrame::default();
    let mut locals: Vec<(u64, i32, u8)> = Vec::new();
    for (slot, data) in func.sized_stack_slots.iter() {
        let Some(key) = data.key else { continue };
        let key = key.bits();
        let fp_offset = layout.stackslots[slot].offset as i32 - layout.frame_to_fp_offset as i32;
        if key == DEBUG_SLOT_VMCTX {
            frame.vmctx = fp_offset;
        } else {
            locals.push((key - DEBUG_SLOT_VMCTX - 1, fp_offset, data.size as u8));
        }
    }
    locals.sort_unstable();
    frame.locals = locals.into_iter().map(|(_, offset, size)| (offset, size)).collect();
    Some(frame)
}

fn link(
    isa: &dyn TargetIsa,
    module: &Module,
    functions: Vec<CompiledFunction>,
    trampolines: Vec<CompiledFunction>,
) -> Result<CompiledCode, CompileError> {
    link_from(isa, module, 0, false, functions, trampolines)
}

/// Writes the displacement of a direct call at text offset `at` to text offset `target`.
fn link_call(text: &mut [u8], kind: Reloc, at: u32, target: i64, addend: i64) -> Result<(), CompileError> {
    let arm64 = kind == Reloc::Arm64Call;
    if patch_call(text, at as usize, target + addend - i64::from(at), arm64) {
        Ok(())
    } else {
        let what = if arm64 { "text section too large for aarch64 calls" } else { "text section too large" };
        Err(CompileError::Unsupported(what.into()))
    }
}

/// Links `functions`, the module's defined functions from index `first` on, and `trampolines` into one text
/// section; direct calls may go only to those functions.
fn link_from(
    isa: &dyn TargetIsa,
    module: &Module,
    first: u32,
    external_calls: bool,
    functions: Vec<CompiledFunction>,
    trampolines: Vec<CompiledFunction>,
) -> Result<CompiledCode, CompileError> {
    let placed_function = |out: &CompiledCode, callee: FuncIndex| -> Result<FunctionLoc, CompileError> {
        module
            .defined_func_index(callee)
            .and_then(|def| def.as_u32().checked_sub(first))
            .and_then(|i| out.functions.get(i as usize).copied())
            .ok_or_else(|| CompileError::internal("direct call to a function outside the text"))
    };
    let mut out = CompiledCode::default();
    let mut pending = Vec::new();
    let place = |f: &CompiledFunction, out: &mut CompiledCode| -> FunctionLoc {
        while !out.text.len().is_multiple_of(f.alignment as usize) {
            out.text.push(0xcc); // int3 padding: never executed
        }
        let start = out.text.len() as u32;
        out.text.extend_from_slice(&f.code);
        for (off, trap) in &f.traps {
            out.traps.push(TrapSite { code_offset: start + off, trap: *trap });
        }
        // Each function numbers its inline sites from 0; in the module's table they follow the earlier functions'.
        let base = out.inline_sites.len() as u32;
        let rebase = |value: u32| {
            if value != u32::MAX && value & INLINE_SITE_BIT != 0 {
                INLINE_SITE_BIT | ((value & !INLINE_SITE_BIT) + base)
            } else {
                value
            }
        };
        for site in &f.inline_sites {
            out.inline_sites.push(InlineSite { caller: rebase(site.caller), ..*site });
        }
        for (off, wasm) in &f.srclocs {
            out.address_map.push((start + off, rebase(*wasm)));
        }
        for &(ret, handler, sp_to_fp) in &f.handlers {
            out.exception_handlers.push(ExceptionHandlerSite {
                return_offset: start + ret,
                handler_offset: start + handler,
                sp_to_fp,
            });
        }
        FunctionLoc { start, length: f.code.len() as u32 }
    };
    for f in &functions {
        let loc = place(f, &mut out);
        out.functions.push(loc);
        pending.push((loc.start, f));
    }
    if functions.iter().any(|f| f.debug_frame.is_some()) {
        out.debug_frames = functions.iter().map(|f| f.debug_frame.clone().unwrap_or_default()).collect();
    }
    for f in &trampolines {
        let loc = place(f, &mut out);
        out.array_to_wasm_trampolines.push(loc);
        pending.push((loc.start, f));
    }
    for (start, f) in pending {
        for (off, kind, target, addend) in &f.relocs {
            let at = start + off;
            match (kind, target) {
                (Reloc::X86CallPCRel4 | Reloc::Arm64Call, RelocTarget::Func(callee)) => {
                    match placed_function(&out, *callee) {
                        Ok(loc) => link_call(&mut out.text, *kind, at, i64::from(loc.start), *addend)?,
                        // A lazily compiled function's call to another function's final code: the loader places it.
                        Err(_) if external_calls => {
                            let callee = module
                                .defined_func_index(*callee)
                                .ok_or_else(|| CompileError::internal("direct call to an imported function"))?;
                            out.call_relocations.push(CallRelocation {
                                offset: at,
                                callee: callee.as_u32(),
                                addend: *addend,
                                arm64: *kind == Reloc::Arm64Call,
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
                (Reloc::Abs8, RelocTarget::Libcall(l)) => {
                    out.libcall_relocations.push(LibcallRelocation { offset: at, libcall: *l, addend: *addend })
                }
                (kind, _) => {
                    return Err(CompileError::Unsupported(format!("relocation kind {kind:?}")));
                }
            }
        }
    }
    out.traps.sort_by_key(|t| t.code_offset);
    out.exception_handlers.sort_by_key(|h| h.return_offset);
    out.address_map.sort_by_key(|a| a.0);
    let placed: Vec<(u32, &CompiledFunction)> = out
        .functions
        .iter()
        .zip(&functions)
        .chain(out.array_to_wasm_trampolines.iter().zip(&trampolines))
        .map(|(loc, f)| (loc.start, f))
        .collect();
    let (eh_frame, eh_frame_relocations) = write_eh_frame(isa, &placed)?;
    out.eh_frame = eh_frame;
    out.eh_frame_relocations = eh_frame_relocations;
    Ok(out)
}

/// Builds the `.eh_frame` for functions placed at the given text offsets. FDE addresses are written as text
/// offsets and listed as relocations: the loader adds the text's address.
fn write_eh_frame(
    isa: &dyn TargetIsa,
    placed: &[(u32, &CompiledFunction)],
) -> Result<(Vec<u8>, Vec<u32>), CompileError> {
    use cranelift_codegen::gimli::write::{Address, EhFrame, FrameTable};
    let err =
        |e: cranelift_codegen::gimli::write::Error| CompileError::Unsupported(format!("writing unwind info: {e}"));
    let Some(cie) = isa.create_systemv_cie() else { return Ok((Vec::new(), Vec::new())) };
    let mut table = FrameTable::default();
    let cie = table.add_cie(cie);
    for (start, f) in placed {
        if let Some(info) = &f.unwind {
            table.add_fde(cie, info.to_fde(Address::Symbol { symbol: 0, addend: i64::from(*start) }));
        }
    }
    let mut eh_frame = EhFrame(RelocatingWriter::default());
    table.write_eh_frame(&mut eh_frame).map_err(err)?;
    let RelocatingWriter { bytes, relocations } = eh_frame.0;
    let mut bytes = bytes.into_vec();
    bytes.extend_from_slice(&[0; 4]); // the zero-length terminator the unwinder stops at
    Ok((bytes, relocations))
}

/// A gimli writer that writes symbolic addresses as their addend and records where they are.
struct RelocatingWriter {
    bytes: cranelift_codegen::gimli::write::EndianVec<cranelift_codegen::gimli::LittleEndian>,
    relocations: Vec<u32>,
}

impl Default for RelocatingWriter {
    fn default() -> Self {
        Self {
            bytes: cranelift_codegen::gimli::write::EndianVec::new(cranelift_codegen::gimli::LittleEndian),
            relocations: Vec::new(),
        }
    }
}

impl cranelift_codegen::gimli::write::Writer for RelocatingWriter {
    type Endian = cranelift_codegen::gimli::LittleEndian;

    fn endian(&self) -> Self::Endian {
        cranelift_codegen::gimli::LittleEndian
    }
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn write(&mut self, bytes: &[u8]) -> cranelift_codegen::gimli::write::Result<()> {
        self.bytes.write(bytes)
    }
    fn write_at(&mut self, offset: usize, bytes: &[u8]) -> cranelift_codegen::gimli::write::Result<()> {
        self.bytes.write_at(offset, bytes)
    }
    fn write_address(
        &mut self,
        address: cranelift_codegen::gimli::write::Address,
        size: u8,
    ) -> cranelift_codegen::gimli::write::Result<()> {
        use cranelift_codegen::gimli::write::Address;
        match address {
            Address::Constant(value) => self.write_udata(value, size),
            Address::Symbol { addend, .. } => {
                self.relocations.push(self.bytes.len() as u32);
                self.write_udata(addend as u64, size)
            }
        }
    }
}
