//! Wat: arbitrary text through `Module::new` (text parser, then validation and compilation) must end in `Ok` or
//! an error. Run with `-dict=fuzz/wat.dict` and the examples as seeds (scripts/fuzz.sh does both).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weft_fuzzing::compile::wat_check(data);
});
