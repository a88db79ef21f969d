//! Minimised inputs from the fuzzers (docs/fuzzing.md lists each finding). Findings that a `.wast` script can
//! express live in tests/misc/fuzz-*.wast instead.

use weft::{Engine, Limits, Memory, MemoryType, Store};

/// `api` fuzzer, 2026-12-02: `Memory::new` accepted a maximum of 3191239528 pages, a type no module may declare
/// (a 32-bit memory has at most 65536 pages). The memory itself was clamped to 4 GiB, but its reported type was
/// wrong and it matched imports it should not.
#[test]
fn host_memory_beyond_65536_pages_is_refused() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    for limits in [Limits { min: 11, max: Some(3_191_239_528) }, Limits { min: 65537, max: None }] {
        let err = Memory::new(&mut store, MemoryType { limits }).unwrap_err();
        assert!(format!("{err:#}").contains("at most 65536 pages"), "{err:#}");
    }
    let largest = Memory::new(&mut store, MemoryType { limits: Limits { min: 0, max: Some(65536) } }).unwrap();
    assert_eq!(largest.ty(&store).limits.max, Some(65536));
}
