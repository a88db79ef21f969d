//! Compile: raw bytes, valid wasm-smith modules, mutated ones, and modules using proposals Weft lacks, through
//! validation, compilation and instantiation. Each must end in `Ok` or an error; valid modules must compile, and
//! `Module::validate` must agree with `Module::new`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = weft_fuzzing::compile::compile_check(data) {
        panic!("{finding}");
    }
});
