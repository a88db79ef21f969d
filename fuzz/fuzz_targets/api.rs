//! API: an arbitrary sequence of embedding-API calls (stores, instantiation, calls, memory/table/global access,
//! interrupts, fuel, serialization) must never crash, and each call's effects must be the documented ones.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weft_fuzzing::api::api_sequence(data);
});
