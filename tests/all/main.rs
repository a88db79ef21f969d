//! Weft's integration tests: one binary, a module per feature.

mod api;
mod artifacts;
mod backtraces;
mod bad_input;
mod codegen;
mod coredump;
mod exceptions;
mod fuzz_regressions;
mod host_fault;
mod host_memory;
mod interrupts;
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
