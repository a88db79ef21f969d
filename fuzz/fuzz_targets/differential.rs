//! Differential: a wasm-smith module run on Weft (in one of its code variants) and on wasmi must give the same
//! results, traps and final state. The first byte picks the variant, the last eighth of the input (at most 256
//! bytes) gives the arguments, the rest makes the module.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_fuzzing::{code_variant, differential_with, generate};

fuzz_target!(|data: &[u8]| {
    let Some((&variant, data)) = data.split_first() else { return };
    let split = data.len() - (data.len() / 8).min(256);
    let (module_bytes, args) = data.split_at(split);
    let Some(wasm) = generate(module_bytes) else { return };
    if let Err(mismatch) = differential_with(&code_variant(variant), &wasm, args) {
        // The module, for `weft run --invoke` and wasm-tools print; the crash input reproduces it too.
        let _ = std::fs::write("differential-mismatch.wasm", &wasm);
        panic!("variant {}: {mismatch}", variant % 6);
    }
});
