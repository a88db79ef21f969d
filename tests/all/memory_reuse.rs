//! Linear memories reuse the address-space reservations of dropped ones: a new memory must still look brand new
//! (zero-filled, exactly its own size, out-of-bounds accesses trapping), whatever the previous one did.

use weft::*;

const DIRTY: &str = r#"(module (memory (export "m") 4)
    (func (export "scribble") (param $n i32)
      (drop (memory.grow (i32.const 12)))
      (loop $l
        (i32.store (i32.mul (local.get $n) (i32.const 4093)) (i32.const -1))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

const PROBE: &str = r#"(module (memory (export "m") 2)
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;

#[test]
fn a_reused_reservation_is_zeroed_and_sized_for_its_new_memory() {
    let engine = Engine::default();
    let dirty = Module::new(&engine, DIRTY).unwrap();
    let probe = Module::new(&engine, PROBE).unwrap();
    for round in 0..40 {
        // Several dirty memories at once, then dropped, so that the pool holds reservations that were written to
        // and grew to 16 pages.
        let mut stores = Vec::new();
        for _ in 0..4 {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &dirty, &[]).unwrap();
            let scribble = instance.get_typed_func::<i32, ()>(&mut store, "scribble").unwrap();
            scribble.call(&mut store, 256).unwrap();
            stores.push(store);
        }
        drop(stores);
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &probe, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        assert_eq!(memory.size(&store), 2, "round {round}: the new memory has its own size");
        assert!(memory.data(&store).iter().all(|&b| b == 0), "round {round}: a reused memory must read as zero");
        let load = instance.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
        assert_eq!(load.call(&mut store, 2 * 65536 - 1).unwrap(), 0);
        let error = load.call(&mut store, 2 * 65536).unwrap_err();
        assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds), "round {round}: past the end traps");
        let error = load.call(&mut store, 15 * 65536).unwrap_err();
        assert_eq!(
            error.downcast_ref::<Trap>(),
            Some(&Trap::MemoryOutOfBounds),
            "round {round}: where the old one was"
        );
    }
}

#[test]
fn a_memory_larger_than_the_last_one_gets_all_its_pages() {
    let engine = Engine::default();
    let small =
        Module::new(&engine, r#"(module (memory 1) (func (export "w") (i32.store (i32.const 0) (i32.const 1))))"#)
            .unwrap();
    let large = Module::new(&engine, r#"(module (memory (export "m") 30))"#).unwrap();
    for _ in 0..20 {
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &small, &[]).unwrap();
        i.get_typed_func::<(), ()>(&mut store, "w").unwrap().call(&mut store, ()).unwrap();
        drop(store);
        let mut store = Store::new(&engine, ());
        let i = Instance::new(&mut store, &large, &[]).unwrap();
        let memory = i.get_memory(&mut store, "m").unwrap();
        let data = memory.data_mut(&mut store);
        assert_eq!(data.len(), 30 * 65536);
        assert!(data.iter().all(|&b| b == 0));
        data.fill(7); // every page is writable
    }
}
