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

/// A moving memory grows by moving its pages to a larger reservation; the range they leave is free address space
/// at once, and another thread's next mapping (compiled code, here) may land in it. Dropping the old reservation
/// must then not unmap that range: it once did, and code of another module vanished under it (an ENOMEM from
/// `mprotect`, or a crash when called).
#[test]
fn growing_a_moving_memory_leaves_other_threads_mappings_alone() -> weft::Result<()> {
    let mut config = Config::new();
    config.explicit_bounds_checks(true);
    let engine = Engine::new(&config)?;
    let grower = {
        let engine = engine.clone();
        std::thread::spawn(move || -> weft::Result<()> {
            for _ in 0..400 {
                let mut store = Store::new(&engine, ());
                let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
                for page in 1..48u64 {
                    memory.grow(&mut store, 1)?;
                    memory.write(&mut store, (page * 65536) as usize, &[page as u8])?;
                }
                let mut byte = [0];
                memory.read(&store, 20 * 65536, &mut byte)?;
                assert_eq!(byte, [20]);
            }
            Ok(())
        })
    };
    for i in 0..300 {
        // A module of its own each time, so its code is freshly mapped while the other thread moves memories.
        let wat = format!("(module (func (export \"f\") (result i32) (i32.const {i})))");
        let module = Module::new(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "f")?.call(&mut store, ())?, i);
    }
    grower.join().expect("the growing thread ran")?;
    Ok(())
}

/// The reservation pool is a setting of the engine: with one, a dropped memory's reservation is what the next
/// memory gets (the same address); with none, memories are still correct, each from a fresh reservation.
#[test]
fn the_reservation_pool_is_a_setting_of_the_engine() -> Result<()> {
    let base_of = |engine: &Engine| -> Result<usize> {
        let mut store = Store::new(engine, ());
        let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
        memory.write(&mut store, 10, &[7])?;
        Ok(memory.data(&store).as_ptr() as usize)
    };
    let pooled = Engine::default();
    let first = base_of(&pooled)?;
    assert_eq!(base_of(&pooled)?, first, "the second memory reuses the first one's reservation");
    let mut config = Config::new();
    config.memory_reservation_pool(0);
    let unpooled = Engine::new(&config)?;
    for _ in 0..3 {
        let mut store = Store::new(&unpooled, ());
        let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
        let mut byte = [1];
        memory.read(&store, 10, &mut byte)?;
        assert_eq!(byte, [0], "a fresh memory reads as zero");
        memory.write(&mut store, 10, &[7])?;
    }
    Ok(())
}
