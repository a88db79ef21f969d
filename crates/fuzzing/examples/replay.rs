//! Runs one fuzz input through a target's body without the fuzzer or its sanitizers, printing what happened:
//! `cargo run -p weft-fuzzing --example replay -- TARGET FILE...` (TARGET: differential, compile, api, wat).
//! The differential target also writes the generated module to `replay.wasm`, for `weft run --invoke` and
//! `wasm-tools print`.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((target, files)) = args.split_first() else {
        eprintln!("usage: replay differential|compile|api|wat FILE...");
        std::process::exit(2);
    };
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("reading {file}: {e}"));
        let start = Instant::now();
        let outcome = match target.as_str() {
            "differential" => differential(&data),
            "compile" => format!("{:?}", weft_fuzzing::compile::compile_check(&data)),
            "api" => format!("{:?}", weft_fuzzing::api::api_sequence(&data)),
            "wat" => format!("accepted: {}", weft_fuzzing::compile::wat_check(&data)),
            other => {
                eprintln!("unknown target {other}");
                std::process::exit(2);
            }
        };
        println!("{file}: {outcome} ({:.3} s)", start.elapsed().as_secs_f64());
    }
}

/// The differential target's body, keeping the module in `replay.wasm`.
fn differential(data: &[u8]) -> String {
    let Some(run) = weft_fuzzing::differential_input(data) else { return "no module generated".into() };
    std::fs::write("replay.wasm", &run.wasm).expect("writing replay.wasm");
    format!("variant {}: {:?}", run.variant, run.result)
}
