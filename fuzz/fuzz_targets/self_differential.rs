//! Self-differential: a wasm-smith module using what wasmi cannot run (exceptions) must give the same results,
//! traps, uncaught exceptions and final state under Weft's default configuration and under another of its code
//! variants (`weft_fuzzing::self_differential_input` says how the input is split).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(run) = weft_fuzzing::self_differential_input(data)
        && let Err(mismatch) = run.result
    {
        let _ = std::fs::write("self-differential-mismatch.wasm", &run.wasm);
        panic!("variant {}: {mismatch}", run.variant);
    }
});
