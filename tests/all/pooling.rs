//! The pooling allocator: fixed limits with clear errors when a pool is exhausted, slots reused after stores drop
//! them, and nothing of a previous instance visible in a reused slot.

use weft::*;

fn pooling_engine(configure: impl FnOnce(&mut PoolingAllocationConfig)) -> Engine {
    let mut pooling = PoolingAllocationConfig::new();
    pooling.total_memories(2).total_tables(4).total_core_instances(3);
    configure(&mut pooling);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config).unwrap()
}

const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (data (i32.const 0) "initial")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#;

#[test]
fn exhausted_pools_fail_with_a_clear_error_and_slots_are_reused() {
    let engine = pooling_engine(|_| {});
    let module = Module::new(&engine, MODULE).unwrap();
    let mut first = Store::new(&engine, ());
    Instance::new(&mut first, &module, &[]).unwrap();
    let mut second = Store::new(&engine, ());
    Instance::new(&mut second, &module, &[]).unwrap();
    let error = Instance::new(&mut second, &module, &[]).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("2 memory slots are all in use"), "{text}");
    // A module without memories still fits: then the instance pool (3) runs out.
    let no_memory = Module::new(&engine, "(module)").unwrap();
    Instance::new(&mut second, &no_memory, &[]).unwrap();
    let text = format!("{:#}", Instance::new(&mut second, &no_memory, &[]).unwrap_err());
    assert!(text.contains("3 instance slots are all in use"), "{text}");
    // Dropping a store gives its slots back.
    drop(first);
    Instance::new(&mut second, &module, &[]).unwrap();
}

#[test]
fn per_module_and_size_limits_hold() {
    let engine = pooling_engine(|p| {
        p.max_memory_size(3 * 65536).table_elements(5);
    });
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1, "grew past max_memory_size");
    let grow_table = instance.get_typed_func::<i32, i32>(&mut store, "grow_table").unwrap();
    assert_eq!(grow_table.call(&mut store, 4).unwrap(), 1);
    assert_eq!(grow_table.call(&mut store, 1).unwrap(), -1, "grew past table_elements");
    let two_memories = Module::new(&engine, "(module (memory 1) (memory 1))").unwrap();
    let text = format!("{:#}", Instance::new(&mut store, &two_memories, &[]).unwrap_err());
    assert!(text.contains("allows 1 per instance"), "{text}");
    let big = Module::new(&engine, "(module (memory 4))").unwrap();
    let text = format!("{:#}", Instance::new(&mut store, &big, &[]).unwrap_err());
    assert!(text.contains("hold at most 196608 bytes"), "{text}");
    // A refused instantiation took nothing: the pools are as they were.
    Instance::new(&mut store, &Module::new(&engine, "(module (memory 1))").unwrap(), &[]).unwrap();
    let mut config = Config::new();
    let mut too_big = PoolingAllocationConfig::new();
    too_big.max_memory_size(8 << 30);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(too_big));
    assert!(Engine::new(&config).is_err());
}

/// A reused slot shows none of the previous instance's memory: the data it wrote, the pages it grew, with and
/// without keeping resident pages.
#[test]
fn reused_slots_are_clean() {
    for keep_resident in [0, 65536] {
        let engine = pooling_engine(|p| {
            p.total_memories(1).linear_memory_keep_resident(keep_resident);
        });
        let module = Module::new(&engine, MODULE).unwrap();
        for round in 0..4 {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            assert_eq!(memory.size(&store), 1, "round {round}: the grown size leaked");
            let data = memory.data(&store);
            assert_eq!(&data[..7], b"initial");
            assert!(data[7..].iter().all(|b| *b == 0), "round {round}: a previous instance's bytes are visible");
            memory.data_mut(&mut store)[100] = 0xaa;
            let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
            assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
            memory.data_mut(&mut store)[65536 + 5] = 0xbb;
        }
    }
}

/// Tables come from slots too: exhausting them is an error, and a reused slot's elements are all null.
#[test]
fn table_slots_are_limited_and_reused_clean() {
    let engine = pooling_engine(|p| {
        p.total_tables(1).total_memories(4).table_elements(10).table_keep_resident(4096);
    });
    let module = Module::new(&engine, MODULE).unwrap();
    for round in 0..3 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let table = instance.get_table(&mut store, "table").unwrap();
        assert_eq!(table.size(&store), 1, "round {round}");
        assert!(table.get(&mut store, 0).is_some_and(|v| matches!(v, Val::FuncRef(None))), "round {round}");
        let func = Func::wrap(&mut store, || {});
        table.set(&mut store, 0, Val::FuncRef(Some(func))).unwrap();
        table.grow(&mut store, 5, Val::FuncRef(Some(func))).unwrap();
        assert!(table.grow(&mut store, 5, Val::FuncRef(None)).is_err(), "grew past table_elements");
        let text = format!("{:#}", Instance::new(&mut store, &module, &[]).unwrap_err());
        assert!(text.contains("1 table slots are all in use"), "{text}");
    }
}

/// Every instance's state (its VMContext) lives in a slot reserved up front: a module needing more than
/// `max_core_instance_size` is refused with an error naming the setting, and a reused slot holds nothing of the
/// previous instance (globals, function references and table pointers are all written anew).
#[test]
fn instance_state_slots_are_bounded_and_reused_clean() {
    let engine = pooling_engine(|p| {
        p.total_core_instances(1).max_core_instance_size(2048);
    });
    // 200 globals of 16 bytes each do not fit in 2 KiB.
    let globals: String = (0..200).map(|i| format!("(global (mut i64) (i64.const {i}))")).collect();
    let big = Module::new(&engine, format!("(module {globals})")).unwrap();
    let mut store = Store::new(&engine, ());
    let text = format!("{:#}", Instance::new(&mut store, &big, &[]).unwrap_err());
    assert!(text.contains("max_core_instance_size is 2048"), "{text}");

    let module = Module::new(
        &engine,
        r#"(module
             (global $g (export "g") (mut i64) (i64.const 7))
             (global $r (export "r") (mut funcref) (ref.null func))
             (func $f (export "f") (result i32) (i32.const 42))
             (func (export "set") (global.set $g (i64.const -1)) (global.set $r (ref.func $f))))"#,
    )
    .unwrap();
    for round in 0..3 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let g = instance.get_global(&mut store, "g").unwrap();
        assert!(matches!(g.get(&mut store), Val::I64(7)), "round {round}: a previous instance's global is visible");
        let r = instance.get_global(&mut store, "r").unwrap();
        assert!(matches!(r.get(&mut store), Val::FuncRef(None)), "round {round}");
        instance.get_typed_func::<(), ()>(&mut store, "set").unwrap().call(&mut store, ()).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), 42);
        // The one slot is in use until the store drops.
        let text = format!("{:#}", Instance::new(&mut store, &module, &[]).unwrap_err());
        assert!(text.contains("1 instance slots are all in use"), "{text}");
    }
}
