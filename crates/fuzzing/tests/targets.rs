//! The `compile`, `api` and `wat` fuzz targets over a fixed set of seeds, so that `cargo test` runs each of them on
//! a few hundred inputs (the fuzzers run them on millions: see docs/fuzzing.md).

use weft_fuzzing::api::api_sequence;
use weft_fuzzing::compile::{compile_check, wat_check};
use weft_fuzzing::seed_bytes;

#[test]
fn compile_target_finds_nothing_on_seeds() {
    let mut compiled = [0usize; 5];
    let mut instantiated = 0;
    let mut findings = Vec::new();
    for seed in 0..500u64 {
        let mut data = seed_bytes(seed, 256 + (seed as usize * 61) % 4096);
        data[0] = seed as u8; // every source and code variant in turn
        match compile_check(&data) {
            Ok(run) => {
                compiled[run.source as usize] += usize::from(run.compiled);
                instantiated += usize::from(run.instantiated);
            }
            Err(finding) => findings.push(format!("seed {seed}: {finding}")),
        }
    }
    assert!(findings.is_empty(), "{}", findings.join("\n"));
    let [raw, generated, mutated, other, typed_refs] = compiled;
    println!(
        "compiled: raw {raw}, generated {generated}, mutated {mutated}, other features {other}, typed references \
         {typed_refs}; {instantiated} instantiated"
    );
    // Generated modules must all compile; mutated ones sometimes still do; the rest may not.
    assert!(generated >= 90, "only {generated} of 100 generated modules compiled");
    assert!(typed_refs >= 90, "only {typed_refs} of 100 modules with typed references compiled");
    assert!(mutated > 0 && mutated < 100, "{mutated} of 100 mutated modules compiled");
    assert!(instantiated > 50, "only {instantiated} modules were instantiated");
}

#[test]
fn api_target_survives_seeded_call_sequences() {
    let (mut calls, mut errors, mut wasm_calls) = (0, 0, 0);
    for seed in 0..150u64 {
        let run = api_sequence(&seed_bytes(seed, 2048 + (seed as usize * 131) % 4096));
        calls += run.calls;
        errors += run.errors;
        wasm_calls += run.wasm_calls;
    }
    println!("{calls} API calls, {errors} refused, {wasm_calls} calls into wasm");
    assert!(calls > 10_000, "only {calls} API calls");
    assert!(wasm_calls > 1_000, "only {wasm_calls} calls into wasm");
    assert!(errors > 0 && errors < calls, "{errors} of {calls} calls failed");
}

#[test]
fn wat_target_accepts_valid_text_and_refuses_the_rest() {
    assert!(wat_check(b"(module (func (export \"f\") (result i32) i32.const 1))"));
    // Each of these is damaged text; none may panic.
    for text in ["(module", "(module (func (result i32)))", "(module (memory 70000))", ")", "(module (func br 9))"] {
        assert!(!wat_check(text.as_bytes()), "{text} was accepted");
    }
    for seed in 0..200u64 {
        let bytes = seed_bytes(seed, 64);
        let mut text = b"(module (func (param i32) ".to_vec();
        text.extend(bytes.iter().map(|b| b"() i32.const local.get 0 1 add $x"[usize::from(*b) % 33]));
        text.extend_from_slice(b"))");
        wat_check(&text);
    }
}
