//! Differential: a wasm-smith module run on Weft (in one of its code variants) and on wasmi must give the same
//! results, traps and final state (`weft_fuzzing::differential_input` says how the input is split).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(run) = weft_fuzzing::differential_input(data)
        && let Err(mismatch) = run.result
    {
        // The module, for `weft run --invoke` and wasm-tools print; the crash input reproduces it too.
        let _ = std::fs::write("differential-mismatch.wasm", &run.wasm);
        panic!("variant {}: {mismatch}", run.variant);
    }
});
