//! Running one module on both engines and comparing what an embedder can observe.

use crate::{Mismatch, Outcome, TrapKind, Value};
use arbitrary::Unstructured;

/// What a differential run found.
#[derive(Debug, PartialEq, Eq)]
pub enum Differential {
    /// Both engines agreed on everything compared.
    Agreed {
        /// Exported functions called.
        calls: usize,
    },
    /// A run reached the call-stack limit, whose depth the engines set differently: compared up to there.
    StoppedAtStackLimit,
    /// Both engines rejected the module (wasm-smith made something neither accepts).
    BothRejected,
}

/// Instantiates `wasm` on Weft (default configuration) and on wasmi, calls every exported function with arguments
/// drawn from `args`, and compares each call's results or trap kind, then the exported globals, memories and tables.
pub fn differential(wasm: &[u8], args: &[u8]) -> Result<Differential, Mismatch> {
    differential_with(&weft::Config::new(), wasm, args)
}

/// [`differential`] with Weft configured by `config` (see [`crate::code_variant`]). With fuel or epochs on, the
/// store gets enough of either that they never run out: instrumented code must compute what plain code does.
pub fn differential_with(config: &weft::Config, wasm: &[u8], args: &[u8]) -> Result<Differential, Mismatch> {
    let weft = WeftSide::new(config, wasm);
    let wasmi = WasmiSide::new(wasm).map(|s| Box::new(s) as Box<dyn Side>);
    compare(weft, wasmi, "wasmi", args)
}

/// Weft against itself: `wasm` run with the default configuration (the oracle) and with `config` (one of
/// [`crate::code_variant`]'s other variants) must give the same results, traps, uncaught exceptions and final state.
/// For what wasmi cannot run (exceptions, typed function references).
pub fn self_differential(config: &weft::Config, wasm: &[u8], args: &[u8]) -> Result<Differential, Mismatch> {
    let mut reference = weft::Config::new();
    reference.relaxed_simd_deterministic(true);
    let weft = WeftSide::new(config, wasm);
    let oracle = WeftSide::new(&reference, wasm).map(|s| Box::new(s) as Box<dyn Side>);
    compare(weft, oracle, "weft (default configuration)", args)
}

/// One engine's half of a differential run.
trait Side {
    fn instantiate(&mut self) -> Result<Outcome, TrapKind>;
    fn call(&mut self, name: &str, args: &[Value]) -> Result<Outcome, TrapKind>;
    fn state(&mut self) -> Vec<String>;
}

fn compare(
    mut weft: Result<WeftSide, String>,
    mut oracle: Result<Box<dyn Side>, String>,
    oracle_name: &'static str,
    args: &[u8],
) -> Result<Differential, Mismatch> {
    let mismatch = |what: &str, a: String, b: String| Mismatch { what: what.into(), weft: a, oracle: b, oracle_name };
    let (weft_side, wasmi_side) = match (&mut weft, &mut oracle) {
        (Err(_), Err(_)) => return Ok(Differential::BothRejected),
        (Ok(w), Ok(i)) => (w, i),
        (w, i) => {
            return Err(mismatch(
                "compiling and instantiating",
                format!("{:?}", w.as_ref().err()),
                format!("{:?}", i.as_ref().err()),
            ));
        }
    };
    let instantiated = (weft_side.instantiate(), wasmi_side.instantiate());
    if instantiated.0 != instantiated.1 {
        if is_stack_limit(&instantiated.0) || is_stack_limit(&instantiated.1) {
            return Ok(Differential::StoppedAtStackLimit);
        }
        return Err(mismatch(
            "running the start function",
            format!("{:?}", instantiated.0),
            format!("{:?}", instantiated.1),
        ));
    }
    if instantiated.0.is_err() {
        return Ok(Differential::Agreed { calls: 0 });
    }
    let mut u = Unstructured::new(args);
    let funcs = weft_side.exported_funcs();
    let mut calls = 0;
    for (name, params) in &funcs {
        let args: Vec<Value> = params.iter().map(|t| arbitrary_value(&mut u, *t)).collect();
        let a = weft_side.call(name, &args);
        let b = wasmi_side.call(name, &args);
        calls += 1;
        if is_stack_limit(&a) || is_stack_limit(&b) {
            return Ok(Differential::StoppedAtStackLimit);
        }
        if a != b {
            return Err(mismatch(&format!("calling `{name}` with {args:?}"), format!("{a:?}"), format!("{b:?}")));
        }
    }
    // Export order is not part of what an engine promises: compare by name.
    let (mut a, mut b) = (weft_side.state(), wasmi_side.state());
    a.sort();
    b.sort();
    if a != b {
        let first = a.iter().zip(&b).find(|(x, y)| x != y).map(|(x, y)| (x.clone(), y.clone()));
        let (x, y) = first.unwrap_or_else(|| (format!("{} items", a.len()), format!("{} items", b.len())));
        return Err(mismatch("the final state of the exports", x, y));
    }
    Ok(Differential::Agreed { calls })
}

fn is_stack_limit(outcome: &Result<Outcome, TrapKind>) -> bool {
    matches!(outcome, Err(TrapKind::StackOverflow) | Ok(Outcome::Trap(TrapKind::StackOverflow)))
}

fn arbitrary_value(u: &mut Unstructured<'_>, ty: weft::ValType) -> Value {
    use weft::ValType;
    match ty {
        ValType::I32 => Value::I32(u.arbitrary().unwrap_or(0)),
        ValType::I64 => Value::I64(u.arbitrary().unwrap_or(0)),
        ValType::F32 => Value::F32(u.arbitrary().unwrap_or(0)),
        ValType::F64 => Value::F64(u.arbitrary().unwrap_or(0)),
        ValType::V128 => Value::V128(u.arbitrary().unwrap_or(0)),
        ValType::FuncRef | ValType::ExternRef | ValType::Ref(_) => Value::Ref { null: true },
    }
}

struct WeftSide {
    store: weft::Store<()>,
    module: weft::Module,
    instance: Option<weft::Instance>,
}

fn weft_trap(e: &weft::Error) -> TrapKind {
    use weft::Trap;
    match e.downcast_ref::<Trap>() {
        Some(Trap::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(Trap::MemoryOutOfBounds) => TrapKind::MemoryOutOfBounds,
        Some(Trap::TableOutOfBounds | Trap::UndefinedElement) => TrapKind::TableOutOfBounds,
        Some(Trap::UninitializedElement) => TrapKind::NullFunction,
        Some(Trap::BadSignature) => TrapKind::BadSignature,
        Some(Trap::IntegerDivisionByZero) => TrapKind::DivisionByZero,
        Some(Trap::IntegerOverflow) => TrapKind::IntegerOverflow,
        Some(Trap::BadConversionToInteger) => TrapKind::BadConversion,
        Some(Trap::StackOverflow) => TrapKind::StackOverflow,
        _ if e.downcast_ref::<weft::Exception>().is_some() => TrapKind::Exception,
        _ => TrapKind::Other,
    }
}

impl Side for WeftSide {
    fn instantiate(&mut self) -> Result<Outcome, TrapKind> {
        WeftSide::instantiate(self)
    }
    fn call(&mut self, name: &str, args: &[Value]) -> Result<Outcome, TrapKind> {
        WeftSide::call(self, name, args)
    }
    fn state(&mut self) -> Vec<String> {
        WeftSide::state(self)
    }
}

impl Side for WasmiSide {
    fn instantiate(&mut self) -> Result<Outcome, TrapKind> {
        WasmiSide::instantiate(self)
    }
    fn call(&mut self, name: &str, args: &[Value]) -> Result<Outcome, TrapKind> {
        WasmiSide::call(self, name, args)
    }
    fn state(&mut self) -> Vec<String> {
        WasmiSide::state(self)
    }
}

impl WeftSide {
    fn new(config: &weft::Config, wasm: &[u8]) -> Result<WeftSide, String> {
        let engine = weft::Engine::new(config).map_err(|e| format!("{e:#}"))?;
        let module = weft::Module::new(&engine, wasm).map_err(|e| format!("{e:#}"))?;
        let mut store = weft::Store::new(&engine, ());
        // Neither can be checked before it is used: each fails when its option is off.
        let _ = store.set_fuel(u64::MAX);
        store.set_epoch_deadline(u64::MAX);
        Ok(WeftSide { store, module, instance: None })
    }

    fn instantiate(&mut self) -> Result<Outcome, TrapKind> {
        match weft::Instance::new(&mut self.store, &self.module, &[]) {
            Ok(instance) => {
                self.instance = Some(instance);
                Ok(Outcome::Values(Vec::new()))
            }
            Err(e) => Err(weft_trap(&e)),
        }
    }

    fn exported_funcs(&mut self) -> Vec<(String, Vec<weft::ValType>)> {
        let Some(instance) = self.instance else { return Vec::new() };
        let mut funcs = Vec::new();
        for (name, export) in instance.exports(&mut self.store) {
            if let weft::Extern::Func(f) = export {
                let ty = f.ty(&self.store);
                funcs.push((name, ty.params.to_vec()));
            }
        }
        funcs
    }

    fn call(&mut self, name: &str, args: &[Value]) -> Result<Outcome, TrapKind> {
        let instance = self.instance.expect("instantiated");
        let func = instance.get_func(&mut self.store, name).expect("the export exists");
        let ty = func.ty(&self.store);
        let params: Vec<weft::Val> = args.iter().zip(ty.params.iter()).map(|(v, t)| to_weft(v, *t)).collect();
        let mut results: Vec<weft::Val> = ty.results.iter().map(|t| weft::Val::default_for(*t)).collect();
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Ok(Outcome::Values(results.iter().map(from_weft).collect())),
            Err(e) => Ok(Outcome::Trap(weft_trap(&e))),
        }
    }

    /// Every exported global's value, memory's size and contents hash, and table's size and null pattern, by name.
    fn state(&mut self) -> Vec<String> {
        let instance = self.instance.expect("instantiated");
        let mut out = Vec::new();
        for (name, export) in instance.exports(&mut self.store) {
            match export {
                weft::Extern::Global(g) => {
                    out.push(format!("global {name} = {:?}", from_weft(&g.get(&mut self.store))))
                }
                weft::Extern::Memory(m) => {
                    let data = m.data(&self.store);
                    out.push(format!("memory {name}: {} bytes, hash {:016x}", data.len(), fnv(data.iter().copied())))
                }
                weft::Extern::Table(t) => {
                    let size = t.size(&self.store);
                    let nulls: Vec<bool> = (0..size.min(4096))
                        .map(|i| {
                            matches!(t.get(&mut self.store, i).map(|v| from_weft(&v)), Some(Value::Ref { null: true }))
                        })
                        .collect();
                    out.push(format!(
                        "table {name}: {size} elements, nulls hash {:016x}",
                        fnv(nulls.iter().map(|&b| u8::from(b)))
                    ))
                }
                weft::Extern::Func(_) | weft::Extern::Tag(_) => {}
            }
        }
        out
    }
}

fn to_weft(v: &Value, ty: weft::ValType) -> weft::Val {
    match v {
        Value::I32(x) => weft::Val::I32(*x),
        Value::I64(x) => weft::Val::I64(*x),
        Value::F32(x) => weft::Val::F32(*x),
        Value::F64(x) => weft::Val::F64(*x),
        Value::V128(x) => weft::Val::V128(*x),
        // Only null references are passed; the parameter's type decides which null.
        Value::Ref { .. } => weft::Val::default_for(ty),
    }
}

fn from_weft(v: &weft::Val) -> Value {
    match v {
        weft::Val::I32(x) => Value::I32(*x),
        weft::Val::I64(x) => Value::I64(*x),
        weft::Val::F32(x) => Value::F32(*x),
        weft::Val::F64(x) => Value::F64(*x),
        weft::Val::V128(x) => Value::V128(*x),
        weft::Val::FuncRef(f) => Value::Ref { null: f.is_none() },
        weft::Val::ExternRef(r) => Value::Ref { null: r.is_none() },
        weft::Val::ExnRef(r) => Value::Ref { null: r.is_none() },
    }
}

struct WasmiSide {
    store: wasmi::Store<()>,
    module: wasmi::Module,
    instance: Option<wasmi::Instance>,
}

fn wasmi_trap(e: &wasmi::Error) -> TrapKind {
    use wasmi::TrapCode;
    use wasmi::errors::{ErrorKind, InstantiationError, MemoryError, TableError};
    // wasmi reports some out-of-bounds accesses as errors of the table or memory, or of instantiation (an element
    // segment that does not fit), where the specification (and Weft) has the out-of-bounds trap.
    match e.kind() {
        ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })
        | ErrorKind::Table(
            TableError::InitOutOfBounds
            | TableError::FillOutOfBounds
            | TableError::SetOutOfBounds
            | TableError::CopyOutOfBounds,
        ) => return TrapKind::TableOutOfBounds,
        ErrorKind::Memory(MemoryError::OutOfBoundsAccess) => return TrapKind::MemoryOutOfBounds,
        _ => {}
    }
    match e.as_trap_code() {
        Some(TrapCode::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(TrapCode::MemoryOutOfBounds) => TrapKind::MemoryOutOfBounds,
        Some(TrapCode::TableOutOfBounds) => TrapKind::TableOutOfBounds,
        Some(TrapCode::IndirectCallToNull) => TrapKind::NullFunction,
        Some(TrapCode::BadSignature) => TrapKind::BadSignature,
        Some(TrapCode::IntegerDivisionByZero) => TrapKind::DivisionByZero,
        Some(TrapCode::IntegerOverflow) => TrapKind::IntegerOverflow,
        Some(TrapCode::BadConversionToInteger) => TrapKind::BadConversion,
        Some(TrapCode::StackOverflow) => TrapKind::StackOverflow,
        _ => TrapKind::Other,
    }
}

impl WasmiSide {
    fn new(wasm: &[u8]) -> Result<WasmiSide, String> {
        let mut config = wasmi::Config::default();
        config
            .wasm_simd(true)
            .wasm_relaxed_simd(true)
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_multi_memory(true)
            .wasm_memory64(true);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, wasm).map_err(|e| e.to_string())?;
        Ok(WasmiSide { store: wasmi::Store::new(&engine, ()), module, instance: None })
    }

    fn instantiate(&mut self) -> Result<Outcome, TrapKind> {
        let linker = wasmi::Linker::<()>::new(self.store.engine());
        match linker.instantiate_and_start(&mut self.store, &self.module) {
            Ok(instance) => {
                self.instance = Some(instance);
                Ok(Outcome::Values(Vec::new()))
            }
            Err(e) => Err(wasmi_trap(&e)),
        }
    }

    fn call(&mut self, name: &str, args: &[Value]) -> Result<Outcome, TrapKind> {
        let instance = self.instance.expect("instantiated");
        let func = instance.get_func(&self.store, name).expect("the export exists");
        let ty = func.ty(&self.store);
        let params: Vec<wasmi::Val> = args.iter().zip(ty.params()).map(|(v, t)| to_wasmi(v, *t)).collect();
        let mut results: Vec<wasmi::Val> = ty.results().iter().map(|t| wasmi::Val::default(*t)).collect();
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Ok(Outcome::Values(results.iter().map(from_wasmi).collect())),
            Err(e) => Ok(Outcome::Trap(wasmi_trap(&e))),
        }
    }

    fn state(&mut self) -> Vec<String> {
        let instance = self.instance.expect("instantiated");
        let exports: Vec<(String, wasmi::Extern)> =
            instance.exports(&self.store).map(|e| (e.name().to_string(), e.into_extern())).collect();
        let mut out = Vec::new();
        for (name, export) in exports {
            match export {
                wasmi::Extern::Global(g) => out.push(format!("global {name} = {:?}", from_wasmi(&g.get(&self.store)))),
                wasmi::Extern::Memory(m) => {
                    let data = m.data(&self.store);
                    out.push(format!("memory {name}: {} bytes, hash {:016x}", data.len(), fnv(data.iter().copied())))
                }
                wasmi::Extern::Table(t) => {
                    let size = t.size(&self.store);
                    let nulls: Vec<bool> = (0..size.min(4096))
                        .map(|i| {
                            matches!(t.get(&self.store, i).map(|v| from_wasmi(&v)), Some(Value::Ref { null: true }))
                        })
                        .collect();
                    out.push(format!(
                        "table {name}: {size} elements, nulls hash {:016x}",
                        fnv(nulls.iter().map(|&b| u8::from(b)))
                    ))
                }
                wasmi::Extern::Func(_) => {}
            }
        }
        out
    }
}

fn to_wasmi(v: &Value, ty: wasmi::ValType) -> wasmi::Val {
    match v {
        Value::I32(x) => wasmi::Val::I32(*x),
        Value::I64(x) => wasmi::Val::I64(*x),
        Value::F32(x) => wasmi::Val::F32(wasmi::F32::from_bits(*x)),
        Value::F64(x) => wasmi::Val::F64(wasmi::F64::from_bits(*x)),
        Value::V128(x) => wasmi::Val::V128(wasmi::V128::from(*x)),
        Value::Ref { .. } => wasmi::Val::default(ty),
    }
}

fn from_wasmi(v: &wasmi::Val) -> Value {
    match v {
        wasmi::Val::I32(x) => Value::I32(*x),
        wasmi::Val::I64(x) => Value::I64(*x),
        wasmi::Val::F32(x) => Value::F32(x.to_bits()),
        wasmi::Val::F64(x) => Value::F64(x.to_bits()),
        wasmi::Val::V128(x) => Value::V128(x.as_u128()),
        wasmi::Val::FuncRef(r) => Value::Ref { null: r.is_null() },
        wasmi::Val::ExternRef(r) => Value::Ref { null: r.is_null() },
    }
}

fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
