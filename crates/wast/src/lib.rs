//! The `.wast` script runner used by `weft wast` and by Weft's spec tests.
//!
//! A [`WastContext`] executes every directive of a script (modules, `register`, `invoke`, `get` and the `assert_*`
//! family) against one [`weft::Store`], with the spec's `spectest` host module registered, and counts each directive
//! as passed or failed. A failing directive does not stop the script: the outcome lists every failure with its
//! line and column.
//!
//! This crate depends only on the public `weft` API and the `wast` parser; it must not reach into the runtime.
#![deny(missing_docs)]

mod deviations;
mod spectest;

pub use deviations::{DEVIATIONS, Deviation, content_hash, deviations_for};

use anyhow::{Context as _, Result, anyhow, bail};
use std::collections::HashMap;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};
use weft::{Engine, ExternRef, Instance, Linker, Module, Store, Trap, Val};

/// How a script went.
#[derive(Debug, Default)]
pub struct WastOutcome {
    /// Directives that behaved as the script says.
    pub passed: usize,
    /// Directives that did not.
    pub failures: Vec<WastFailure>,
    /// Directives that failed but are known to test something other than what Weft implements (see
    /// [`DEVIATIONS`]): not counted as failures.
    pub skipped: Vec<(WastFailure, &'static Deviation)>,
}

/// A directive that did not behave as its script says.
#[derive(Debug)]
pub struct WastFailure {
    /// The script's name.
    pub file: String,
    /// 1-based line of the directive.
    pub line: usize,
    /// 1-based column of the directive.
    pub column: usize,
    /// What happened instead.
    pub message: String,
}

impl std::fmt::Display for WastFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl WastOutcome {
    /// Number of failed directives.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

/// Runs `.wast` scripts against one store.
pub struct WastContext {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    modules: HashMap<String, Module>,
    last_module: Option<Module>,
}

impl WastContext {
    /// A context whose modules are compiled by `engine`, with `spectest` registered.
    pub fn new(engine: &Engine) -> Result<WastContext> {
        let mut store = Store::new(engine, ());
        // Engines that count fuel get plenty: scripts test semantics, not budgets (fails harmlessly when fuel is off).
        let _ = store.set_fuel(u64::MAX);
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        spectest::register(&mut linker, &mut store)?;
        Ok(WastContext {
            engine: engine.clone(),
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            modules: HashMap::new(),
            last_module: None,
        })
    }

    /// Runs the script in `path`.
    pub fn run_file(&mut self, path: &std::path::Path) -> Result<WastOutcome> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        self.run_buffer(&path.display().to_string(), &text)
    }

    /// Runs the script `text`, naming it `filename` in messages. Fails only if the script cannot be parsed.
    pub fn run_buffer(&mut self, filename: &str, text: &str) -> Result<WastOutcome> {
        // The spec's names.wast deliberately uses bidirectional and invisible characters in export names.
        let mut lexer = wast::lexer::Lexer::new(text);
        lexer.allow_confusing_unicode(true);
        let buf = ParseBuffer::new_with_lexer(lexer).map_err(|mut e| {
            e.set_text(text);
            e.set_path(filename.as_ref());
            anyhow!("{e}")
        })?;
        let script: Wast<'_> = parser::parse(&buf).map_err(|mut e| {
            e.set_text(text);
            e.set_path(filename.as_ref());
            anyhow!("{e}")
        })?;
        let mut outcome = WastOutcome::default();
        let deviations: Vec<&Deviation> = deviations_for(text).collect();
        for directive in script.directives {
            let (line, col) = directive.span().linecol_in(text);
            match self.directive(directive) {
                Ok(()) => outcome.passed += 1,
                Err(e) => {
                    let failure = WastFailure {
                        file: filename.to_string(),
                        line: line + 1,
                        column: col + 1,
                        message: format!("{e:#}"),
                    };
                    match deviations.iter().find(|d| d.line == line + 1) {
                        Some(deviation) => outcome.skipped.push((failure, deviation)),
                        None => outcome.failures.push(failure),
                    }
                }
            }
        }
        Ok(outcome)
    }

    fn compile(&mut self, bytes: &[u8]) -> Result<Module> {
        Module::new(&self.engine, bytes)
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self.instances.get(id.name()).copied().ok_or_else(|| anyhow!("no module named ${}", id.name())),
            None => self.current.ok_or_else(|| anyhow!("no module has been instantiated")),
        }
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance> {
        self.linker.instantiate(&mut self.store, module)
    }

    fn define_module(&mut self, mut wat: QuoteWat<'_>, instantiate: bool) -> Result<()> {
        let name = wat.name().map(|n| n.name().to_string());
        let bytes = wat.encode().map_err(|e| anyhow!("cannot encode the module: {e}"))?;
        let module = self.compile(&bytes)?;
        if !instantiate {
            if let Some(name) = name {
                self.modules.insert(name, module.clone());
            }
            self.last_module = Some(module);
            return Ok(());
        }
        let instance = self.instantiate(&module)?;
        self.current = Some(instance);
        if let Some(name) = name {
            self.instances.insert(name, instance);
        }
        Ok(())
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("no exported function named `{}`", invoke.name))?;
        let args = invoke.args.iter().map(|a| arg_to_val(&mut self.store, a)).collect::<Result<Vec<_>>>()?;
        let mut results = vec![Val::I32(0); func.ty(&self.store).results.len()];
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results)
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let bytes = encode_wat(&mut wat)?;
                let module = self.compile(&bytes)?;
                self.instantiate(&module)?;
                Ok(vec![])
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let g = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| anyhow!("no exported global named `{global}`"))?;
                Ok(vec![g.get(&mut self.store)])
            }
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(wat) => self.define_module(wat, true),
            WastDirective::ModuleDefinition(wat) => self.define_module(wat, false),
            WastDirective::ModuleInstance { instance, module, .. } => {
                let module = match module {
                    Some(m) => self.modules.get(m.name()).cloned().ok_or_else(|| anyhow!("no module ${}", m.name()))?,
                    None => self.last_module.clone().ok_or_else(|| anyhow!("no module defined"))?,
                };
                let inst = self.instantiate(&module)?;
                self.current = Some(inst);
                if let Some(name) = instance {
                    self.instances.insert(name.name().to_string(), inst);
                }
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker.instance(&mut self.store, name, instance)?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => self.invoke(&invoke).map(drop),
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec)?;
                if actual.len() != results.len() {
                    let _ = &actual;
                    bail!("expected {} results, got {}", results.len(), actual.len());
                }
                for (i, (a, e)) in actual.iter().zip(&results).enumerate() {
                    if !val_matches(&self.store, a, e)? {
                        bail!("result {i}: expected {e:?}, got {a:?}");
                    }
                }
                Ok(())
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(results) => bail!("expected a trap ({message}), got {results:?}"),
                Err(e) => check_trap(&e, message),
            },
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(results) => bail!("expected an uncaught exception, got {results:?}"),
                Err(e) if e.downcast_ref::<weft::Exception>().is_some() => Ok(()),
                Err(e) => bail!("expected an uncaught exception, got: {e:#}"),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(results) => bail!("expected stack exhaustion, got {results:?}"),
                Err(e) => match e.downcast_ref::<Trap>() {
                    Some(Trap::StackOverflow) => Ok(()),
                    _ => bail!("expected a trap ({message}), got: {e:#}"),
                },
            },
            WastDirective::AssertInvalid { module, message, .. } => match module_bytes(module) {
                Err(_) => Ok(()), // the text is rejected before validation, which also counts as invalid
                Ok(bytes) => match self.compile(&bytes) {
                    Ok(_) => bail!("expected an invalid module ({message}), but it compiled"),
                    Err(_) => Ok(()),
                },
            },
            WastDirective::AssertMalformed { module, message, .. } => match module_bytes(module) {
                Err(_) => Ok(()),
                Ok(bytes) => match self.compile(&bytes) {
                    Ok(_) => bail!("expected a malformed module ({message}), but it compiled"),
                    Err(_) => Ok(()),
                },
            },
            WastDirective::AssertUnlinkable { mut module, message, .. } => {
                let bytes = encode_wat(&mut module)?;
                let module = self.compile(&bytes)?;
                match self.instantiate(&module) {
                    Ok(_) => {
                        bail!("expected a link error ({message}), but instantiation succeeded")
                    }
                    Err(_) => Ok(()),
                }
            }
            other => bail!("unsupported directive {:?}", std::mem::discriminant(&other)),
        }
    }
}

fn encode_wat(wat: &mut Wat<'_>) -> Result<Vec<u8>> {
    wat.encode().map_err(|e| anyhow!("cannot encode the module: {e}"))
}

fn module_bytes(mut module: QuoteWat<'_>) -> Result<Vec<u8>> {
    module.encode().map_err(|e| anyhow!("{e}"))
}

fn check_trap(error: &anyhow::Error, expected: &str) -> Result<()> {
    let text = format!("{error:#}");
    if text.contains(expected) {
        return Ok(());
    }
    // The spec sometimes appends detail ("uninitialized element 2") to the trap's message.
    if let Some(trap) = error.downcast_ref::<Trap>()
        && expected.starts_with(trap.message())
    {
        return Ok(());
    }
    bail!("expected a trap with message `{expected}`, got: {text}")
}

fn arg_to_val(store: &mut Store<()>, arg: &WastArg<'_>) -> Result<Val> {
    Ok(match arg {
        WastArg::Core(WastArgCore::I32(v)) => Val::I32(*v),
        WastArg::Core(WastArgCore::I64(v)) => Val::I64(*v),
        WastArg::Core(WastArgCore::F32(v)) => Val::F32(v.bits),
        WastArg::Core(WastArgCore::F64(v)) => Val::F64(v.bits),
        WastArg::Core(WastArgCore::V128(v)) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArg::Core(WastArgCore::RefNull(HeapType::Abstract { ty: AbstractHeapType::Func, .. })) => {
            Val::FuncRef(None)
        }
        WastArg::Core(WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        })) => Val::ExternRef(None),
        // A null of a function type, or of none.
        WastArg::Core(WastArgCore::RefNull(
            HeapType::Concrete(_) | HeapType::Abstract { ty: AbstractHeapType::NoFunc, .. },
        )) => Val::FuncRef(None),
        WastArg::Core(WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
            ..
        })) => Val::ExnRef(None),
        WastArg::Core(WastArgCore::RefExtern(n)) => Val::ExternRef(Some(ExternRef::new(store, *n)?)),
        other => bail!("unsupported argument {other:?}"),
    })
}

/// Matches float `bits` against a pattern. `canonical` is the canonical NaN (quiet bit only), `quiet` the quiet bit,
/// `mask` everything but the sign.
fn nan_matches<T>(
    pattern: &NanPattern<T>,
    bits: u64,
    canonical: u64,
    quiet: u64,
    mask: u64,
    value: impl Fn(&T) -> u64,
) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & mask == canonical,
        NanPattern::ArithmeticNan => (bits & mask) & canonical == canonical && bits & quiet != 0,
        NanPattern::Value(v) => value(v) == bits,
    }
}

/// Compares a v128 result lane by lane (float lanes with the NaN rules of scalar results).
fn v128_matches(actual: u128, expected: &V128Pattern) -> bool {
    let bytes = actual.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&bytes[i * n..i * n + n]);
        u64::from_le_bytes(b)
    };
    match expected {
        V128Pattern::I8x16(v) => v.iter().enumerate().all(|(i, x)| lane(i, 1) == u64::from(*x as u8)),
        V128Pattern::I16x8(v) => v.iter().enumerate().all(|(i, x)| lane(i, 2) == u64::from(*x as u16)),
        V128Pattern::I32x4(v) => v.iter().enumerate().all(|(i, x)| lane(i, 4) == u64::from(*x as u32)),
        V128Pattern::I64x2(v) => v.iter().enumerate().all(|(i, x)| lane(i, 8) == *x as u64),
        V128Pattern::F32x4(v) => v
            .iter()
            .enumerate()
            .all(|(i, p)| nan_matches(p, lane(i, 4), 0x7fc0_0000, 0x0040_0000, 0x7fff_ffff, |f| u64::from(f.bits))),
        V128Pattern::F64x2(v) => v.iter().enumerate().all(|(i, p)| {
            nan_matches(p, lane(i, 8), 0x7ff8_0000_0000_0000, 0x0008_0000_0000_0000, 0x7fff_ffff_ffff_ffff, |f| f.bits)
        }),
    }
}

fn val_matches(store: &Store<()>, actual: &Val, expected: &WastRet<'_>) -> Result<bool> {
    let WastRet::Core(expected) = expected else { bail!("component results are not supported") };
    Ok(core_val_matches(store, actual, expected))
}

/// Whether `actual` is `expected`, or (`either`, for relaxed-SIMD results that may differ by host) one of them.
fn core_val_matches(store: &Store<()>, actual: &Val, expected: &WastRetCore<'_>) -> bool {
    match (actual, expected) {
        (_, WastRetCore::Either(options)) => options.iter().any(|option| core_val_matches(store, actual, option)),
        (Val::I32(a), WastRetCore::I32(e)) => a == e,
        (Val::I64(a), WastRetCore::I64(e)) => a == e,
        (Val::F32(a), WastRetCore::F32(e)) => {
            nan_matches(e, u64::from(*a), 0x7fc0_0000, 0x0040_0000, 0x7fff_ffff, |v| u64::from(v.bits))
        }
        (Val::F64(a), WastRetCore::F64(e)) => {
            nan_matches(e, *a, 0x7ff8_0000_0000_0000, 0x0008_0000_0000_0000, 0x7fff_ffff_ffff_ffff, |v| v.bits)
        }
        (Val::V128(a), WastRetCore::V128(e)) => v128_matches(*a, e),
        (Val::FuncRef(f), WastRetCore::RefNull(_)) => f.is_none(),
        (Val::FuncRef(f), WastRetCore::RefFunc(_)) => f.is_some(),
        (Val::ExternRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::ExnRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::ExternRef(Some(r)), WastRetCore::RefExtern(Some(n))) => {
            r.data(store).ok().flatten().and_then(|d| d.downcast_ref::<u32>()) == Some(n)
        }
        (Val::ExternRef(r), WastRetCore::RefExtern(None)) => r.is_some(),
        _ => false,
    }
}
