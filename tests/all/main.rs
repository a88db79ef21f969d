//! Weft's integration tests: one binary, a module per feature.

mod api;
mod artifacts;
mod backtraces;
mod bad_input;
mod codegen;
mod coredump;
mod exceptions;
mod fuzz_regressions;
mod guest_profiler;
mod host_fault;
mod host_memory;
mod interrupts;
mod lazy;
mod limits;
mod memory_images;
mod memory_reuse;
mod pooling;
mod traps;
mod unwind;
mod wasm2;
mod wasm3;
mod wasmtime_names;

/// Compiles `wat` and instantiates it with no imports in a fresh store.
pub fn instantiate(wat: &str) -> (weft::Store<()>, weft::Instance) {
    let engine = weft::Engine::default();
    let module = weft::Module::new(&engine, wat).expect("test module compiles");
    let mut store = weft::Store::new(&engine, ());
    let instance = weft::Instance::new(&mut store, &module, &[]).expect("test module instantiates");
    (store, instance)
}

/// Runs the ignored test `test` of this binary alone in a child process (through the emulator when
/// `scripts/aarch64.sh` sets `WEFT_TEST_RUNNER`), with the environment variable `marker` set so that the child knows
/// it is one. For tests that must crash, or that measure the whole process.
pub fn run_test_in_child(test: &str, marker: &str) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut command = match std::env::var("WEFT_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut command = std::process::Command::new(words.next().unwrap());
            command.args(words).arg(exe);
            command
        }
        _ => std::process::Command::new(exe),
    };
    command
        .args(["--exact", test, "--include-ignored", "--nocapture", "--test-threads=1"])
        .env(marker, "1")
        .output()
        .unwrap()
}
