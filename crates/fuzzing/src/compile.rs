//! Malformed and unusual input through validation, compilation and instantiation: the `compile` and `wat` targets.
//!
//! What may happen is an `Ok` or an error; what must not is a panic, a hang or a crash. Where there is a stronger
//! property to check, it is checked and reported as a [`Finding`]: a module wasm-smith generated within Weft's
//! features must compile, and [`weft::Module::validate`] must agree with [`weft::Module::new`].

use arbitrary::Unstructured;

/// A property that failed (a panic, hang or crash is reported by the fuzzer itself).
#[derive(Debug)]
pub struct Finding(pub String);

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an input was turned into the bytes compiled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The fuzzer's bytes as they are.
    Raw,
    /// A valid wasm-smith module within Weft's features (exceptions included), unchanged.
    Generated,
    /// A valid wasm-smith module within Weft's features, with some bytes overwritten, inserted or removed.
    Mutated,
    /// A wasm-smith module that may also use proposals Weft does not implement (gc, threads, wide arithmetic, custom
    /// page sizes, ...), which Weft must refuse with an error, never a crash.
    OtherFeatures,
    /// A valid module from [`crate::typed_refs`] (typed function references, which wasm-smith makes only together
    /// with GC types), unchanged.
    TypedReferences,
}

/// What compiling one input came to.
#[derive(Debug, PartialEq, Eq)]
pub struct CompileRun {
    /// Where the bytes came from.
    pub source: Source,
    /// Whether Weft compiled them.
    pub compiled: bool,
    /// Whether the module was instantiated (it had no imports and its start function, if any, ended in fuel).
    pub instantiated: bool,
}

/// Fuel for a start function: mutated modules may loop forever.
const START_FUEL: u64 = 100_000;

/// The `compile` target's body: the first byte of `data` picks a [`Source`], the rest makes the module.
pub fn compile_check(data: &[u8]) -> Result<CompileRun, Finding> {
    let (&mode, rest) = data.split_first().unwrap_or((&0, &[]));
    let (source, wasm) = match mode % 5 {
        0 => (Source::Raw, Some(rest.to_vec())),
        1 => (Source::Generated, generated(rest, crate::self_smith_config())),
        2 => (Source::Mutated, generated(rest, crate::self_smith_config()).map(|wasm| mutate(wasm, rest))),
        3 => (Source::OtherFeatures, generated(rest, other_features_config())),
        _ => (Source::TypedReferences, crate::typed_refs::typed_refs_wasm(rest)),
    };
    let Some(wasm) = wasm else {
        return Ok(CompileRun { source, compiled: false, instantiated: false });
    };
    let mut config = crate::code_variant(mode / 5);
    config.consume_fuel(true);
    let engine = weft::Engine::new(&config).map_err(|e| Finding(format!("engine: {e:#}")))?;

    let validated = weft::Module::validate(&engine, &wasm);
    let module = weft::Module::new(&engine, &wasm);
    if matches!(source, Source::Generated | Source::TypedReferences)
        && let Err(e) = &module
    {
        return Err(Finding(format!("a valid module within Weft's features was refused: {e:#}")));
    }
    // Text is accepted by `new` but not by `validate`; only binary input can be compared.
    if wasm.starts_with(b"\0asm") && validated.is_ok() != module.is_ok() {
        return Err(Finding(format!(
            "Module::validate says {:?} but Module::new says {:?}",
            validated.as_ref().err().map(|e| format!("{e:#}")),
            module.as_ref().err().map(|e| format!("{e:#}"))
        )));
    }
    let Ok(module) = module else {
        return Ok(CompileRun { source, compiled: false, instantiated: false });
    };
    let mut instantiated = false;
    if module.imports().len() == 0 {
        let mut store = weft::Store::new(&engine, ());
        store.set_fuel(START_FUEL).map_err(|e| Finding(format!("{e:#}")))?;
        instantiated = weft::Instance::new(&mut store, &module, &[]).is_ok();
    }
    Ok(CompileRun { source, compiled: true, instantiated })
}

/// The `wat` target's body: `text` through `Module::new`, which must return `Ok` or an error.
pub fn wat_check(text: &[u8]) -> bool {
    weft::Module::new(&weft::Engine::default(), text).is_ok()
}

fn generated(data: &[u8], config: wasm_smith::Config) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let module = wasm_smith::Module::new(config, &mut u).ok()?;
    Some(module.to_bytes())
}

/// Up to eight edits of `wasm`, drawn from the end of `data` (wasm-smith reads from its start).
fn mutate(mut wasm: Vec<u8>, data: &[u8]) -> Vec<u8> {
    let tail = &data[data.len() - data.len().min(64)..];
    let mut u = Unstructured::new(tail);
    // Mostly overwrites: an insertion or removal shifts everything after it and usually breaks a section's size,
    // while an overwritten immediate, type or opcode may leave a valid module that the compiler has never seen.
    let edits = u.int_in_range(1..=8u8).unwrap_or(1);
    for _ in 0..edits {
        if wasm.is_empty() {
            break;
        }
        let at = u.choose_index(wasm.len()).unwrap_or(0);
        let byte: u8 = u.arbitrary().unwrap_or(0xff);
        match u.int_in_range(0..=7u8).unwrap_or(0) {
            0 => wasm.insert(at, byte),
            1 => {
                wasm.remove(at);
            }
            _ => wasm[at] = byte,
        }
    }
    wasm
}

/// wasm-smith with every proposal it knows on, and imports allowed.
fn other_features_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_memories: 4,
        max_tables: 4,
        simd_enabled: true,
        relaxed_simd_enabled: true,
        threads_enabled: true,
        exceptions_enabled: true,
        gc_enabled: true,
        tail_call_enabled: true,
        memory64_enabled: true,
        wide_arithmetic_enabled: true,
        extended_const_enabled: true,
        custom_page_sizes_enabled: true,
        multi_value_enabled: true,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        ..wasm_smith::Config::default()
    }
}
