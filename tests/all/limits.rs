//! Resource limits: a store's limiter is asked before its memories and tables grow (by wasm or the API) and before
//! instantiation, and its answers are what wasm and the embedder see.

use weft::*;

const GROWER: &str = r#"(module
    (memory (export "m") 1)
    (table (export "t") 1 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#;

struct Data {
    limits: StoreLimits,
}

fn store_with(limits: StoreLimits) -> (Engine, Store<Data>) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, Data { limits });
    store.limiter(|data| &mut data.limits);
    (engine, store)
}

#[test]
fn denied_growth_is_minus_one_to_wasm_and_an_error_to_the_api() -> Result<()> {
    let (engine, mut store) = store_with(StoreLimitsBuilder::new().memory_size(4 << 16).table_elements(3).build());
    let instance = Instance::new(&mut store, &Module::new(&engine, GROWER)?, &[])?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    assert_eq!(grow.call(&mut store, 3)?, 1, "to 4 pages: within the limit");
    assert_eq!(grow.call(&mut store, 1)?, -1, "a fifth page: denied");
    let memory = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(memory.size(&store), 4);
    assert!(memory.grow(&mut store, 1).is_err(), "the API is limited too");
    assert_eq!(memory.grow(&mut store, 0)?, 4);
    let grow_table = instance.get_typed_func::<i32, i32>(&mut store, "grow_table")?;
    assert_eq!(grow_table.call(&mut store, 2)?, 1);
    assert_eq!(grow_table.call(&mut store, 1)?, -1);
    let table = instance.get_table(&mut store, "t").unwrap();
    assert!(table.grow(&mut store, 1, Val::FuncRef(None)).is_err());
    assert_eq!(table.size(&store), 3);
    Ok(())
}

#[test]
fn trap_on_grow_failure_traps_with_the_reason() -> Result<()> {
    let limits = StoreLimitsBuilder::new().memory_size(2 << 16).trap_on_grow_failure(true).build();
    let (engine, mut store) = store_with(limits);
    let instance = Instance::new(&mut store, &Module::new(&engine, GROWER)?, &[])?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    assert_eq!(grow.call(&mut store, 1)?, 1);
    let err = grow.call(&mut store, 1).unwrap_err();
    assert!(format!("{err:#}").contains("exceeds the limit of 131072"), "{err:#}");
    // The store is still usable afterwards.
    assert_eq!(grow.call(&mut store, 0)?, 2);
    Ok(())
}

#[test]
fn instantiation_is_checked_against_counts_and_initial_sizes() -> Result<()> {
    let (engine, mut store) = store_with(StoreLimitsBuilder::new().instances(1).memory_size(1 << 20).build());
    let module = Module::new(&engine, GROWER)?;
    Instance::new(&mut store, &module, &[])?;
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("at most 1 instances"), "{err:#}");

    let (engine, mut store) = store_with(StoreLimitsBuilder::new().memory_size(1 << 20).build());
    let big = Module::new(&engine, "(module (memory 17))")?;
    let err = Instance::new(&mut store, &big, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("refused a memory of 1114112 bytes"), "{err:#}");
    let err = Memory::new(&mut store, MemoryType::new(17, None)).unwrap_err();
    assert!(format!("{err:#}").contains("refused a memory"), "{err:#}");
    Memory::new(&mut store, MemoryType::new(16, None))?;

    let (_, mut store) = store_with(StoreLimitsBuilder::new().memories(1).tables(0).build());
    Memory::new(&mut store, MemoryType::new(1, None))?;
    let err = Memory::new(&mut store, MemoryType::new(1, None)).unwrap_err();
    assert!(format!("{err:#}").contains("at most 1 memories"), "{err:#}");
    let err = Table::new(&mut store, TableType::new(ValType::FuncRef, 1, None), Val::FuncRef(None)).unwrap_err();
    assert!(format!("{err:#}").contains("at most 0 tables"), "{err:#}");
    Ok(())
}

/// A limiter of the embedder's own: it sees every request with the right sizes, its error traps the wasm that
/// asked, its panic reaches the embedder, and it hears of growth past a memory's maximum.
#[test]
fn a_custom_limiter_sees_every_request() -> Result<()> {
    #[derive(Default)]
    struct Recorder {
        requests: Vec<(&'static str, usize, usize, Option<usize>)>,
        failures: Vec<String>,
        fail_next: bool,
        panic_next: bool,
    }
    impl ResourceLimiter for Recorder {
        fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> Result<bool> {
            self.requests.push(("memory", current, desired, maximum));
            if std::mem::take(&mut self.panic_next) {
                panic!("limiter panic");
            }
            if std::mem::take(&mut self.fail_next) {
                anyhow::bail!("limiter says no");
            }
            Ok(true)
        }
        fn memory_grow_failed(&mut self, error: anyhow::Error) -> Result<()> {
            self.failures.push(error.to_string());
            Ok(())
        }
        fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> Result<bool> {
            self.requests.push(("table", current, desired, maximum));
            Ok(true)
        }
    }
    let engine = Engine::default();
    let mut store = Store::new(&engine, Recorder::default());
    store.limiter(|r| r);
    let module = Module::new(
        &engine,
        r#"(module (memory 1 3) (table 2 funcref)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;
    assert_eq!(
        store.data().requests,
        [("memory", 0, 65536, Some(196608)), ("table", 0, 2, None)],
        "initial sizes are asked about at instantiation"
    );
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    assert_eq!(grow.call(&mut store, 1)?, 1);
    assert_eq!(store.data().requests[2], ("memory", 65536, 131072, Some(196608)));
    assert_eq!(grow.call(&mut store, 5)?, -1, "past the declared maximum");
    assert_eq!(store.data().failures.len(), 1, "{:?}", store.data().failures);
    store.data_mut().fail_next = true;
    let err = grow.call(&mut store, 1).unwrap_err();
    assert!(format!("{err:#}").contains("limiter says no"), "{err:#}");
    store.data_mut().panic_next = true;
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grow.call(&mut store, 1))).unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"limiter panic"));
    assert_eq!(grow.call(&mut store, 1)?, 2, "the store works after both");
    Ok(())
}
