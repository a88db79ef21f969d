//! The differential fuzzer over a fixed set of seeds, so that every `cargo test` runs a few hundred generated
//! modules on Weft and on wasmi and compares them.

use weft_fuzzing::{Differential, differential, generate, seed_bytes};

const SEEDS: u64 = 300;

#[test]
fn weft_agrees_with_wasmi_on_generated_modules() {
    let (mut modules, mut calls, mut failures) = (0, 0, Vec::new());
    for seed in 0..SEEDS {
        let len = 1024 + (seed as usize * 97) % 7168;
        let Some(wasm) = generate(&seed_bytes(seed, len)) else { continue };
        match differential(&wasm, &seed_bytes(seed ^ 0x5eed, 512)) {
            Ok(Differential::Agreed { calls: n }) => {
                modules += 1;
                calls += n;
            }
            Ok(_) => {}
            Err(mismatch) => failures.push(format!("seed {seed}: {mismatch}")),
        }
    }
    assert!(failures.is_empty(), "{} of {SEEDS} seeds disagree:\n{}", failures.len(), failures.join("\n"));
    // The comparison must not be vacuous: most seeds make a module with functions to call.
    assert!(modules >= SEEDS as usize / 2, "only {modules} modules were compared");
    assert!(calls >= modules, "only {calls} calls were compared over {modules} modules");
    println!("{modules} modules, {calls} calls compared");
}
