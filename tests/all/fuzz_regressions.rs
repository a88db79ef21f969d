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
        let err = Memory::new(&mut store, MemoryType { limits, memory64: false }).unwrap_err();
        assert!(format!("{err:#}").contains("at most 65536 pages"), "{err:#}");
    }
    let largest = Memory::new(&mut store, MemoryType::new(0, Some(65536))).unwrap();
    assert_eq!(largest.ty(&store).limits.max, Some(65536));
}

/// `api` fuzzer, 2026-12-02: growing a large memory with explicit bounds checks copied every byte of it to its new
/// place, untouched pages included, so a 2.4 GB memory that had used nothing took 2.4 GB of RAM (and seconds) to
/// grow by a page. The pages now move without being copied: contents are kept and untouched pages stay unbacked.
#[test]
fn growing_a_large_moving_memory_does_not_touch_its_pages() {
    let mut config = weft::Config::new();
    config.explicit_bounds_checks(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(16, None)).unwrap();
    memory.write(&mut store, 65536 * 16 - 4, b"last").unwrap();
    memory.write(&mut store, 0, b"first").unwrap();
    let before = resident_bytes();
    // 16 pages to 30,000 pages (1.9 GiB), then once more past the capacity the first move reserved.
    memory.grow(&mut store, 30_000 - 16).unwrap();
    memory.write(&mut store, 65536 * 30_000 - 4, b"end!").unwrap();
    memory.grow(&mut store, 30_000).unwrap();
    let grown = resident_bytes().saturating_sub(before);
    // Copying would have added the 1.9 GiB it moves; 1 GiB leaves room for tests running beside this one.
    assert!(grown < 1 << 30, "growing took {} MiB of resident memory", grown >> 20);
    let mut buf = [0; 5];
    memory.read(&store, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"first");
    memory.read(&store, 65536 * 16 - 4, &mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], b"last");
    memory.read(&store, 65536 * 30_000 - 4, &mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], b"end!");
    memory.read(&store, 65536 * 60_000 - 4, &mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], [0; 4], "new pages read as zero");
    assert_eq!(memory.size(&store), 60_000);
}

/// This process's resident memory, from /proc/self/statm.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}
