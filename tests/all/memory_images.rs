//! Copy-on-write memory images (`Config::memory_init_cow`): instances start with their data segments' contents
//! without copying them, never see each other's writes, and a reused reservation never shows a previous instance's
//! data; modules the images cannot describe are initialised by copying, with the same results.

use weft::*;

/// Overlapping segments (the later wins), one far into the memory, a passive one that stays passive.
const DATA_MODULE: &str = r#"(module
  (memory (export "memory") 4 10)
  (data (i32.const 16) "hello, world")
  (data (i32.const 23) "WORLD")
  (data (i32.const 200000) "\01\02\03\04")
  (data $passive "not applied")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn engine(cow: bool) -> Engine {
    let mut config = Config::new();
    config.memory_init_cow(cow);
    Engine::new(&config).unwrap()
}

fn memory_of(store: &mut Store<()>, module: &Module) -> (Instance, Memory) {
    let instance = Instance::new(&mut *store, module, &[]).unwrap();
    let memory = instance.get_memory(&mut *store, "memory").unwrap();
    (instance, memory)
}

#[test]
fn images_give_the_same_contents_as_copying() {
    let mut contents = Vec::new();
    for cow in [true, false] {
        let engine = engine(cow);
        let module = Module::new(&engine, DATA_MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let (_, memory) = memory_of(&mut store, &module);
        let data = memory.data(&store);
        assert_eq!(&data[16..28], b"hello, WORLD");
        assert_eq!(&data[200000..200004], &[1, 2, 3, 4]);
        contents.push(data.to_vec());
    }
    assert!(contents[0] == contents[1], "the image and the copy differ");
}

/// A C program's layout: a 16 MiB stack below the data. The image starts at the data's page (the stack stays
/// anonymous memory), and the contents are those copying gives.
#[test]
fn an_image_starts_at_its_first_data_page() {
    let wat = r#"(module (memory (export "memory") 257)
        (data (i32.const 16777216) "after the stack") (data (i32.const 16781312) "\00\00\00\00") (data (i32.const 16785408) "z"))"#;
    let mut contents = Vec::new();
    for cow in [true, false] {
        let engine = engine(cow);
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let (_, memory) = memory_of(&mut store, &module);
        let data = memory.data(&store);
        assert_eq!(&data[16777216..16777231], b"after the stack");
        assert_eq!(data[16785408], b'z');
        assert!(data[..16777216].iter().all(|b| *b == 0));
        if cow {
            // The mapping of the image is three pages, not 16 MiB and more.
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            let base = data.as_ptr() as usize + 16777216;
            let line = maps.lines().find(|l| {
                l.contains("weft-memory-image")
                    && usize::from_str_radix(l.split('-').next().unwrap(), 16).unwrap() == base
            });
            let line = line.expect("the image is mapped at its first data page");
            let (lo, hi) = line.split_whitespace().next().unwrap().split_once('-').unwrap();
            let len = usize::from_str_radix(hi, 16).unwrap() - usize::from_str_radix(lo, 16).unwrap();
            assert_eq!(len, 3 * 4096, "{line}");
        }
        contents.push(data.to_vec());
    }
    assert!(contents[0] == contents[1], "the image and the copy differ");
}

#[test]
fn instances_never_see_each_others_writes() {
    let engine = engine(true);
    let module = Module::new(&engine, DATA_MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let (_, a) = memory_of(&mut store, &module);
    let (_, b) = memory_of(&mut store, &module);
    a.data_mut(&mut store)[16..21].copy_from_slice(b"HELLO");
    a.data_mut(&mut store)[200001] = 99;
    assert_eq!(&b.data(&store)[16..21], b"hello");
    assert_eq!(b.data(&store)[200001], 2);
    // Another store, after the first is gone: its reservation comes back from the pool, and neither the writes
    // nor anything written past the image may show.
    a.data_mut(&mut store)[250000] = 7;
    drop(store);
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let (instance, c) = memory_of(&mut store, &module);
        assert_eq!(&c.data(&store)[16..28], b"hello, WORLD");
        assert_eq!(c.data(&store)[200001], 2);
        assert_eq!(c.data(&store)[250000], 0);
        // Growing adds zero pages after the image's memory.
        let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
        assert_eq!(grow.call(&mut store, 2).unwrap(), 4);
        assert!(c.data(&store)[4 * 65536..].iter().all(|b| *b == 0));
        c.data_mut(&mut store)[16] = b'J';
        c.data_mut(&mut store)[5 * 65536] = 1;
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(maps.contains("weft-memory-image"), "the memory is not a mapping of its image");
    }
    // A module without data that takes one of those reservations sees zeros only, not the other module's image.
    let plain = Module::new(&engine, r#"(module (memory (export "memory") 4))"#).unwrap();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let (_, d) = memory_of(&mut store, &plain);
        assert!(d.data(&store).iter().all(|b| *b == 0), "a reused reservation shows another module's data");
    }
}

/// Segments the images cannot describe, because their offset is an imported global or because one traps, are
/// applied by copying, in order, as the specification says (a trapping segment leaves the earlier ones written).
#[test]
fn modules_images_cannot_describe_are_copied_in_order() {
    let engine = engine(true);
    let mut store = Store::new(&engine, ());
    let offset = Global::new(&mut store, GlobalType { content: ValType::I32, mutable: false }, Val::I32(100)).unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let by_global = Module::new(
        &engine,
        r#"(module (import "m" "offset" (global i32)) (memory (export "memory") 1)
             (data (global.get 0) "at the global's offset"))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &by_global, &[offset.into()]).unwrap();
    let own = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(&own.data(&store)[100..122], b"at the global's offset");
    let trapping = Module::new(
        &engine,
        r#"(module (import "m" "memory" (memory 1))
             (data (i32.const 0) "first") (data (i32.const 65535) "does not fit"))"#,
    )
    .unwrap();
    let error = Instance::new(&mut store, &trapping, &[memory.into()]).unwrap_err();
    assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    assert_eq!(&memory.data(&store)[0..5], b"first");
}
