//! Arbitrary sequences of embedding-API calls: the `api` target.
//!
//! The fuzzer's bytes drive a small interpreter over stores, instances, host and guest items: create and drop
//! stores, instantiate (through a linker, or with whatever items the store holds as imports), call exports with
//! arbitrary arguments (dynamically and through `TypedFunc`), grow memories and tables by any amount, read and
//! write them at any offset, get and set globals with values of any type, interrupt, set fuel, round-trip modules
//! through serialization. Every call may fail; none may crash, hang or corrupt what a later call observes. Handles
//! are only ever used with their own store (using one with another store is a documented panic).

use arbitrary::{Result as ArbResult, Unstructured};
use weft::{Engine, Extern, Func, Global, Instance, Linker, Memory, Module, Store, Table, Val, ValType};

/// A module whose imports the linker of every store provides, written to reach the places where the host and
/// wasm meet: a host function that grows the memory wasm is using, re-entry into wasm from a host call, indirect
/// calls through a table the host can rewrite, unbounded recursion, and a loop that only an interrupt or the fuel
/// ends.
/// Host-provided memories for the fueled engine: a `Vec` of 16-byte units (so the base is 16-byte aligned),
/// grown by reallocating, so the memory moves as explicitly bounds-checked code allows.
struct VecMemories;

/// The largest vector memory (it is zero-filled when allocated, unlike a mapping).
const VEC_MEMORY_MAX: usize = 32 << 20;

struct VecMemory {
    units: Vec<u128>,
    size: usize,
}

// SAFETY: `as_ptr` points into `units`, which holds at least `size` bytes (`grow_to` resizes it first) and is owned
// by this value; it may move when it grows, which memories created without a reservation may.
unsafe impl weft::LinearMemory for VecMemory {
    fn byte_size(&self) -> usize {
        self.size
    }
    fn byte_capacity(&self) -> usize {
        self.units.len() * 16
    }
    fn grow_to(&mut self, new_size: usize) -> weft::Result<()> {
        anyhow::ensure!(new_size <= VEC_MEMORY_MAX, "a vector memory stays below {VEC_MEMORY_MAX} bytes");
        if new_size > self.units.len() * 16 {
            self.units.try_reserve(new_size.div_ceil(16) - self.units.len())?;
            self.units.resize(new_size.div_ceil(16), 0);
        }
        self.size = new_size;
        Ok(())
    }
    fn as_ptr(&self) -> *mut u8 {
        self.units.as_ptr() as *mut u8
    }
}

// SAFETY: every memory is a `VecMemory`; no reservation is honoured, so it refuses to make guard-page memories.
unsafe impl weft::MemoryCreator for VecMemories {
    fn new_memory(
        &self,
        _ty: weft::MemoryType,
        minimum: usize,
        _maximum: Option<usize>,
        reserved: Option<usize>,
        _guard: usize,
    ) -> Result<Box<dyn weft::LinearMemory>, String> {
        if reserved.is_some() {
            return Err("this creator makes only explicitly bounds-checked memories".into());
        }
        if minimum > VEC_MEMORY_MAX {
            return Err(format!("a vector memory stays below {VEC_MEMORY_MAX} bytes"));
        }
        let mut units = Vec::new();
        units.try_reserve(minimum.div_ceil(16)).map_err(|e| e.to_string())?;
        units.resize(minimum.div_ceil(16), 0);
        Ok(Box::new(VecMemory { units, size: minimum }))
    }
}

/// Memory slots of the pooled engine: few, so that sequences exhaust them.
const POOLED_MEMORIES: u32 = 12;

const HOST_MODULE: &str = r#"
(module
  (type $ret_i32 (func (result i32)))
  (import "host" "memory" (memory $mem 1 64))
  (import "host" "table" (table $tab 4 100 funcref))
  (import "host" "counter" (global $counter (mut i32)))
  (import "host" "grow" (func $grow (param i32) (result i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (export "memory" (memory $mem))
  (export "table" (table $tab))
  (export "counter" (global $counter))
  (func $load (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "grow_then_load") (param $pages i32) (param $addr i32) (result i32)
    (drop (i32.load (local.get $addr)))
    (drop (call $grow (local.get $pages)))
    (i32.load (local.get $addr)))
  (func (export "reenter") (param i32) (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $reenter (local.get 0)))
  (func (export "call_indirect") (param i32) (result i32)
    (call_indirect (type $ret_i32) (local.get 0)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (i32.const 1) (call $recurse (local.get 0))))
  (func (export "spin")
    (loop $l (global.set $counter (i32.add (global.get $counter) (i32.const 1))) (br $l)))
  (func $seven (result i32) (i32.const 7))
  (func (export "table_grow") (param i32) (result i32) (table.grow $tab (ref.func $seven) (local.get 0)))
  (func (export "memory_grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (elem declare func $seven)
  (elem (table $tab) (i32.const 0) func $seven $load)
)
"#;

/// What a sequence did, for the seeded test to check that it exercised something.
#[derive(Debug, Default)]
pub struct ApiRun {
    /// API calls attempted.
    pub calls: usize,
    /// Of those, the ones that returned an error (expected for many).
    pub errors: usize,
    /// Calls into wasm that completed (returned or trapped).
    pub wasm_calls: usize,
}

/// Stores alive at once, and items kept per store, at most (the fuzzer's memory limit stays far away).
const MAX_STORES: usize = 4;
const MAX_ITEMS: usize = 32;

/// A store's data: the limits its limiter enforces, when it has one.
#[derive(Default)]
struct Limits {
    limits: weft::StoreLimits,
    /// The most bytes a memory may have, and elements a table, if limited.
    memory_size: Option<u64>,
    table_elements: Option<u64>,
}

struct StoreState {
    store: Store<Limits>,
    engine: usize,
    linker: Linker<Limits>,
    instances: Vec<Instance>,
    /// Functions, each with whether it loops forever (the host module's `spin`).
    funcs: Vec<(Func, bool)>,
    memories: Vec<Memory>,
    tables: Vec<Table>,
    globals: Vec<Global>,
}

struct World {
    engines: Vec<Engine>,
    /// Modules with the engine (index) each was compiled for.
    modules: Vec<(usize, Module)>,
    stores: Vec<StoreState>,
    run: ApiRun,
}

/// Runs the sequence of API calls `data` describes.
pub fn api_sequence(data: &[u8]) -> ApiRun {
    let mut u = Unstructured::new(data);
    let mut world = World::new(&mut u);
    while !u.is_empty() && world.run.calls < 200 {
        if world.step(&mut u).is_err() {
            break;
        }
    }
    world.run
}

/// The two engines, and the host module compiled for each, made once per process: they are immutable and
/// compiling the host module for every input would take most of the fuzzer's time. One interruptible engine with
/// guard-page memories from a small pooling allocator (12 memory slots, exhausted and reused by the sequences), and
/// one whose memories the embedder provides (`VecMemories`) and one with explicit bounds checks (moving memories) and fuel: the two ways wasm is stopped
/// and the two ways memory is checked.
fn shared_engines_and_host_modules() -> (Vec<Engine>, Vec<(usize, Module)>) {
    static SHARED: std::sync::OnceLock<(Vec<Engine>, Vec<(usize, Module)>)> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let mut interruptible = weft::Config::new();
            interruptible.interruptible(true);
            // The interruptible engine allocates from a small pool, so sequences exhaust it and reuse its slots.
            let mut pooling = weft::PoolingAllocationConfig::new();
            pooling
                .total_memories(POOLED_MEMORIES)
                .total_tables(64)
                .total_core_instances(64)
                .max_memories_per_module(4)
                .max_tables_per_module(4)
                .max_memory_size(64 << 20)
                .linear_memory_keep_resident(65536);
            interruptible.allocation_strategy(weft::InstanceAllocationStrategy::Pooling(pooling));
            let mut fueled = weft::Config::new();
            // Its memories' storage comes from the embedder (a `Vec` that moves when it grows).
            fueled.explicit_bounds_checks(true).consume_fuel(true).with_host_memory(std::sync::Arc::new(VecMemories));
            let engines: Vec<Engine> =
                [interruptible, fueled].iter().map(|c| Engine::new(c).expect("a valid configuration")).collect();
            let modules = engines
                .iter()
                .enumerate()
                .map(|(i, engine)| (i, Module::new(engine, HOST_MODULE).expect("the host module compiles")))
                .collect();
            (engines, modules)
        })
        .clone()
}

impl World {
    fn new(u: &mut Unstructured<'_>) -> World {
        let (engines, mut modules) = shared_engines_and_host_modules();
        let generated = u.int_in_range(0..=2u8).unwrap_or(0);
        for _ in 0..generated {
            let engine = usize::from(u.arbitrary::<bool>().unwrap_or(false));
            let Ok(len) = u.int_in_range(0..=4096usize) else { break };
            let Ok(bytes) = u.bytes(len.min(u.len())) else { break };
            if let Some(wasm) = crate::generate(bytes)
                && let Ok(module) = Module::new(&engines[engine], &wasm)
            {
                modules.push((engine, module));
            }
        }
        World { engines, modules, stores: Vec::new(), run: ApiRun::default() }
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> ArbResult<()> {
        self.run.calls += 1;
        let op = u.int_in_range(0..=15u8)?;
        if op == 0 || self.stores.is_empty() {
            return self.new_store(u);
        }
        let s = u.choose_index(self.stores.len())?;
        let ok = match op {
            1 => {
                self.stores.swap_remove(s);
                true
            }
            2 => self.instantiate_linked(u, s)?,
            3 => self.instantiate_with_held_items(u, s)?,
            4 | 5 => self.call(u, s)?,
            6 => self.call_typed(u, s)?,
            7 => self.grow_memory(u, s)?,
            8 => self.access_memory(u, s)?,
            9 => self.grow_table(u, s)?,
            10 => self.access_table(u, s)?,
            11 => self.access_global(u, s)?,
            12 => self.new_host_item(u, s)?,
            13 => {
                let st = &mut self.stores[s];
                if u.arbitrary()? {
                    st.store.interrupt_handle().map(|h| h.interrupt()).is_ok()
                } else {
                    let fuel = u.int_in_range(0..=1_000_000u64)?;
                    st.store.set_fuel(fuel).is_ok()
                }
            }
            14 => self.inspect(s),
            _ => self.round_trip_module(u)?,
        };
        if !ok {
            self.run.errors += 1;
        }
        if let Some(st) = self.stores.get(s) {
            st.check_limits();
        }
        Ok(())
    }

    fn new_store(&mut self, u: &mut Unstructured<'_>) -> ArbResult<()> {
        if self.stores.len() >= MAX_STORES {
            self.stores.remove(0);
        }
        let engine = usize::from(u.arbitrary::<bool>()?);
        let mut store = Store::new(&self.engines[engine], Limits::default());
        let _ = store.set_fuel(u.int_in_range(0..=1_000_000u64)?);
        // Half the stores have a limiter that may deny growth (wasm then sees -1, the API an error, or, trapping,
        // an error either way); every growth that succeeds must stay within it.
        if u.arbitrary()? {
            let memory_size = u.int_in_range(1..=80u64)? * 65536;
            let table_elements = u.int_in_range(0..=200u64)?;
            let trap = u.arbitrary()?;
            let data = store.data_mut();
            data.limits = weft::StoreLimitsBuilder::new()
                .memory_size(memory_size as usize)
                .table_elements(table_elements as usize)
                .trap_on_grow_failure(trap)
                .build();
            (data.memory_size, data.table_elements) = (Some(memory_size), Some(table_elements));
            store.limiter(|data| &mut data.limits);
        }
        let mut linker = Linker::default();
        let memory_max = u.int_in_range(1..=64u64)?;
        // The table starts no larger than the limiter allows.
        let elements = store.data().table_elements.unwrap_or(4).min(4);
        let items = (
            Memory::new(&mut store, memory_type(1, Some(memory_max))),
            Table::new(&mut store, table_type(ValType::FuncRef, elements, Some(100)), Val::FuncRef(None)),
            Global::new(&mut store, weft::GlobalType { content: ValType::I32, mutable: true }, Val::I32(0)),
        );
        let (memory, table, counter) = match items {
            (Ok(m), Ok(t), Ok(g)) => (m, t, g),
            // The pooled engine's slots may all be taken by the other stores: a clean refusal, nothing to do.
            _ if engine == 0 => return Ok(()),
            (m, t, g) => {
                panic!("small host items within limits were refused: {:?} {:?} {:?}", m.err(), t.err(), g.err())
            }
        };
        // A fresh memory is zero, even in a slot an earlier store used and wrote.
        assert!(memory.data(&store).iter().all(|b| *b == 0), "a new memory shows an earlier memory's bytes");
        linker.define("host", "memory", memory).expect("first definition");
        linker.define("host", "table", table).expect("first definition");
        linker.define("host", "counter", counter).expect("first definition");
        // Grows the caller's memory while wasm is using it: the caller must see the new size and its old data.
        linker
            .func_wrap("host", "grow", |mut caller: weft::Caller<'_, Limits>, pages: i32| -> i32 {
                match caller.get_export("memory").and_then(Extern::into_memory) {
                    Some(memory) => memory.grow(&mut caller, u64::from(pages as u32)).map_or(-1, |old| old as i32),
                    None => -2,
                }
            })
            .expect("first definition");
        // Calls back into the caller's `load` (or, with an odd argument, its `reenter` again, down to a depth).
        linker
            .func_wrap("host", "reenter", |mut caller: weft::Caller<'_, Limits>, arg: i32| -> weft::Result<i32> {
                let name = if arg & 1 == 1 && arg < 64 { "reenter" } else { "load" };
                let Some(func) = caller.get_export(name).and_then(Extern::into_func) else { return Ok(-1) };
                let next = if name == "reenter" { arg + 2 } else { arg & 0xfff0 };
                func.typed::<i32, i32>(&caller)?.call(&mut caller, next)
            })
            .expect("first definition");
        self.stores.push(StoreState {
            store,
            engine,
            linker,
            instances: Vec::new(),
            funcs: Vec::new(),
            memories: vec![memory],
            tables: vec![table],
            globals: vec![counter],
        });
        Ok(())
    }

    fn pick_module(&self, u: &mut Unstructured<'_>) -> ArbResult<&Module> {
        Ok(&self.modules[u.choose_index(self.modules.len())?].1)
    }

    fn instantiate_linked(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let module = self.pick_module(u)?.clone();
        let st = &mut self.stores[s];
        let result = st.linker.instantiate(&mut st.store, &module);
        Ok(st.keep_instance(result))
    }

    /// Instantiates with imports chosen from whatever the store holds, mostly of the wrong kind or type.
    fn instantiate_with_held_items(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let module = self.pick_module(u)?.clone();
        let st = &mut self.stores[s];
        let count = u.int_in_range(0..=module.imports().len() + 1)?;
        let mut imports = Vec::new();
        for _ in 0..count {
            let held = st.held_items();
            if held.is_empty() {
                break;
            }
            imports.push(held[u.choose_index(held.len())?]);
        }
        let result = Instance::new(&mut st.store, &module, &imports);
        Ok(st.keep_instance(result))
    }

    fn call(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        let Some((func, endless)) = st.pick_func(u)? else { return Ok(false) };
        let ty = func.ty(&st.store);
        // Sometimes the wrong number or types of arguments and results, which must be refused.
        let wrong = u.ratio(1, 8)?;
        let params: Vec<Val> = if wrong {
            let n = u.int_in_range(0..=3)?;
            (0..n).map(|_| any_val(u, &mut st.store)).collect::<ArbResult<_>>()?
        } else {
            ty.params.iter().map(|t| arbitrary_val(u, *t, &mut st.store)).collect::<ArbResult<_>>()?
        };
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        if wrong && u.arbitrary()? {
            results.push(Val::I32(0));
        }
        if !st.prepare_to_end(endless, u)? {
            return Ok(false);
        }
        let result = func.call(&mut st.store, &params, &mut results);
        self.run.wasm_calls += usize::from(!wrong);
        if result.is_ok() {
            // What a call returns is a value of the declared type, usable as an argument again.
            for (value, ty) in results.iter().zip(ty.results.iter()) {
                assert_eq!(value.ty(), *ty, "a result of the wrong type");
            }
        }
        Ok(result.is_ok())
    }

    fn call_typed(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        let Some((func, endless)) = st.pick_func(u)? else { return Ok(false) };
        if !st.prepare_to_end(endless, u)? {
            return Ok(false);
        }
        let arg: i32 = u.arbitrary()?;
        let result = match u.int_in_range(0..=2u8)? {
            0 => func.typed::<i32, i32>(&st.store).and_then(|f| f.call(&mut st.store, arg)).map(drop),
            1 => func.typed::<(), ()>(&st.store).and_then(|f| f.call(&mut st.store, ())),
            _ => func.typed::<(i32, i32), ()>(&st.store).and_then(|f| f.call(&mut st.store, (arg, arg))),
        };
        self.run.wasm_calls += 1;
        Ok(result.is_ok())
    }

    fn grow_memory(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        if st.memories.is_empty() {
            return Ok(false);
        }
        let memory = st.memories[u.choose_index(st.memories.len())?];
        let delta = arbitrary_size(u, 70_000)?;
        let before = memory.size(&st.store);
        let result = memory.grow(&mut st.store, delta);
        let after = memory.size(&st.store);
        match result {
            Ok(old) => {
                assert_eq!(old, before, "grow returned a size other than the old one");
                assert_eq!(after, before + delta, "grow did not grow by delta");
                assert_eq!(memory.data(&st.store).len() as u64, after * 65536, "data does not cover the new size");
                if let Some(limit) = st.store.data().memory_size
                    && delta > 0
                {
                    assert!(after * 65536 <= limit, "grew to {after} pages past the limiter's {limit} bytes");
                }
            }
            Err(_) => assert_eq!(after, before, "a failed grow changed the size"),
        }
        Ok(result.is_ok())
    }

    fn access_memory(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        if st.memories.is_empty() {
            return Ok(false);
        }
        let memory = st.memories[u.choose_index(st.memories.len())?];
        let len = memory.data(&st.store).len();
        let offset = usize::try_from(arbitrary_size(u, len as u64 + 16)?).unwrap_or(usize::MAX);
        let count = u.int_in_range(0..=64usize)?.min(u.len());
        let bytes = u.bytes(count)?;
        let written = memory.write(&mut st.store, offset, bytes);
        let mut back = vec![0; bytes.len()];
        let read = memory.read(&st.store, offset, &mut back);
        let in_bounds = offset.checked_add(bytes.len()).is_some_and(|end| end <= len);
        assert_eq!(written.is_ok(), in_bounds, "write at {offset}+{} of {len}", bytes.len());
        assert_eq!(read.is_ok(), in_bounds, "read at {offset}+{} of {len}", bytes.len());
        if in_bounds {
            assert_eq!(back, bytes, "read back what was written");
        }
        Ok(in_bounds)
    }

    fn grow_table(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        if st.tables.is_empty() {
            return Ok(false);
        }
        let table = st.tables[u.choose_index(st.tables.len())?];
        let init = st.arbitrary_ref(u, table.ty(&st.store).element)?;
        let delta = arbitrary_size(u, 200)?;
        let before = table.size(&st.store);
        let result = table.grow(&mut st.store, delta, init);
        let after = table.size(&st.store);
        match &result {
            Ok(old) => {
                assert_eq!(*old, before);
                assert_eq!(after, before + delta);
                if let Some(limit) = st.store.data().table_elements
                    && delta > 0
                {
                    assert!(after <= limit, "grew to {after} elements past the limiter's {limit}");
                }
            }
            Err(_) => assert_eq!(after, before, "a failed grow changed the size"),
        }
        Ok(result.is_ok())
    }

    fn access_table(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        if st.tables.is_empty() {
            return Ok(false);
        }
        let table = st.tables[u.choose_index(st.tables.len())?];
        let size = table.size(&st.store);
        let index = arbitrary_size(u, size + 4)?;
        let element = table.ty(&st.store).element;
        // Sometimes a value of the other reference type (or not a reference), which must be refused.
        let value = if u.ratio(1, 4)? { any_val(u, &mut st.store)? } else { st.arbitrary_ref(u, element)? };
        let set = table.set(&mut st.store, index, value.clone());
        let got = table.get(&mut st.store, index);
        assert_eq!(got.is_some(), index < size, "get at {index} of {size}");
        if set.is_ok() {
            assert!(index < size && value.ty() == element, "set at {index} of {size} with {:?} accepted", value.ty());
            if let (Some(Val::FuncRef(got)), Val::FuncRef(set)) = (&got, &value) {
                assert_eq!(got.is_none(), set.is_none(), "get returned another reference than set stored");
            }
        }
        Ok(set.is_ok())
    }

    fn access_global(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        if st.globals.is_empty() {
            return Ok(false);
        }
        let global = st.globals[u.choose_index(st.globals.len())?];
        let ty = global.ty(&st.store);
        let value =
            if u.ratio(1, 4)? { any_val(u, &mut st.store)? } else { arbitrary_val(u, ty.content, &mut st.store)? };
        let set = global.set(&mut st.store, value.clone());
        let got = global.get(&mut st.store);
        assert_eq!(got.ty(), ty.content, "a global holds a value of another type");
        if set.is_ok() {
            assert!(ty.mutable && value.ty() == ty.content, "set of an immutable or mistyped global accepted");
            assert_eq!(bits(&got), bits(&value), "get returned another value than set stored");
        }
        Ok(set.is_ok())
    }

    fn new_host_item(&mut self, u: &mut Unstructured<'_>, s: usize) -> ArbResult<bool> {
        let st = &mut self.stores[s];
        if st.held_items().len() >= MAX_ITEMS {
            return Ok(false);
        }
        let ok = match u.int_in_range(0..=3u8)? {
            0 => {
                let (min, max) = (arbitrary_size(u, 70_000)?, arbitrary_max(u, 70_000)?);
                // Keep what is actually allocated small; the large requests must be refused, not attempted.
                let ty = memory_type(min, max);
                match Memory::new(&mut st.store, ty) {
                    Ok(m) => {
                        assert!(min <= 65536 && max.is_none_or(|max| min <= max && max <= 65536), "{ty} accepted");
                        assert_eq!(m.size(&st.store), min);
                        let fresh = m.data(&st.store).iter().take(1 << 20).all(|b| *b == 0);
                        assert!(fresh, "a new memory shows an earlier memory's bytes");
                        st.memories.push(m);
                        true
                    }
                    Err(_) => false,
                }
            }
            1 => {
                let element = if u.arbitrary()? { ValType::FuncRef } else { ValType::ExternRef };
                let (min, max) = (arbitrary_size(u, 20_000)?, arbitrary_max(u, 20_000)?);
                let init = st.arbitrary_ref(u, element)?;
                match Table::new(&mut st.store, table_type(element, min, max), init) {
                    Ok(t) => {
                        assert!(max.is_none_or(|max| min <= max), "a table with min {min} > max {max:?}");
                        st.tables.push(t);
                        true
                    }
                    Err(_) => false,
                }
            }
            2 => {
                let content = arbitrary_type(u)?;
                let mutable = u.arbitrary()?;
                let value =
                    if u.ratio(1, 4)? { any_val(u, &mut st.store)? } else { arbitrary_val(u, content, &mut st.store)? };
                match Global::new(&mut st.store, weft::GlobalType { content, mutable }, value.clone()) {
                    Ok(g) => {
                        assert_eq!(value.ty(), content, "a global of {content:?} made with a {:?}", value.ty());
                        st.globals.push(g);
                        true
                    }
                    Err(_) => false,
                }
            }
            _ => {
                // A host function that traps, returns, or calls back into a function the store holds.
                let behaviour = u.int_in_range(0..=2u8)?;
                let func = Func::wrap(&mut st.store, move |x: i32| -> weft::Result<i32> {
                    match behaviour {
                        0 => Err(anyhow::anyhow!("host function failed")),
                        1 => Ok(x.wrapping_mul(3)),
                        _ => Ok(x),
                    }
                });
                st.funcs.push((func, false));
                true
            }
        };
        Ok(ok)
    }

    /// Lists every export of every instance with its type.
    fn inspect(&mut self, s: usize) -> bool {
        let st = &mut self.stores[s];
        for instance in st.instances.clone() {
            for (name, item) in instance.exports(&mut st.store) {
                let ty = item.ty(&st.store).expect("an export of this store has a type");
                let again = instance.get_export(&mut st.store, &name).expect("a listed export can be looked up");
                assert_eq!(again.ty(&st.store).expect("its type"), ty, "export {name} changed type");
            }
        }
        true
    }

    /// Serializes a module and loads it back (into the same engine, or the other, which must refuse it).
    fn round_trip_module(&mut self, u: &mut Unstructured<'_>) -> ArbResult<bool> {
        let index = u.choose_index(self.modules.len())?;
        let (engine, module) = self.modules[index].clone();
        let Ok(bytes) = module.serialize() else { return Ok(false) };
        let target = usize::from(u.arbitrary::<bool>()?);
        let loaded = Module::deserialize(&self.engines[target], &bytes);
        assert_eq!(loaded.is_ok(), target == engine, "an artifact loaded into an engine with other settings");
        if let Ok(module) = loaded
            && self.modules.len() < 8
        {
            self.modules.push((target, module));
        }
        Ok(target == engine)
    }
}

impl StoreState {
    /// Whatever ran (wasm's `memory.grow`/`table.grow`, host functions, the API), no memory or table of a store
    /// with a limiter is larger than the limiter allows.
    fn check_limits(&self) {
        let data = self.store.data();
        if let Some(limit) = data.memory_size {
            for memory in &self.memories {
                let bytes = memory.size(&self.store) * 65536;
                assert!(bytes <= limit, "a memory of {bytes} bytes in a store limited to {limit}");
            }
        }
        if let Some(limit) = data.table_elements {
            for table in &self.tables {
                let size = table.size(&self.store);
                assert!(size <= limit, "a table of {size} elements in a store limited to {limit}");
            }
        }
    }

    fn keep_instance(&mut self, result: weft::Result<Instance>) -> bool {
        let Ok(instance) = result else { return false };
        if self.instances.len() < MAX_ITEMS {
            self.instances.push(instance);
            for (name, item) in instance.exports(&mut self.store) {
                match item {
                    Extern::Func(f) => self.funcs.push((f, name == "spin")),
                    Extern::Memory(m) => self.memories.push(m),
                    Extern::Table(t) => self.tables.push(t),
                    Extern::Global(g) => self.globals.push(g),
                    Extern::Tag(_) => {}
                }
            }
        }
        true
    }

    fn held_items(&self) -> Vec<Extern> {
        let funcs = self.funcs.iter().map(|&(f, _)| Extern::Func(f));
        let memories = self.memories.iter().map(|&m| Extern::Memory(m));
        let tables = self.tables.iter().map(|&t| Extern::Table(t));
        let globals = self.globals.iter().map(|&g| Extern::Global(g));
        funcs.chain(memories).chain(tables).chain(globals).collect()
    }

    fn pick_func(&self, u: &mut Unstructured<'_>) -> ArbResult<Option<(Func, bool)>> {
        if self.funcs.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.funcs[u.choose_index(self.funcs.len())?]))
    }

    /// Makes sure a call ends: the fueled engine gets a bounded amount of fuel, the interruptible one runs a
    /// function that never ends only with an interrupt pending. `false` if the call must be skipped.
    fn prepare_to_end(&mut self, endless: bool, u: &mut Unstructured<'_>) -> ArbResult<bool> {
        if self.engine == 1 {
            let _ = self.store.set_fuel(u.int_in_range(0..=2_000_000u64)?);
            return Ok(true);
        }
        // Only the host module's `spin` loops forever (generated modules are bounded); a pending interrupt ends
        // it, and stops any other function at its first check.
        if u.arbitrary()? {
            self.store.interrupt_handle().expect("interruptible").interrupt();
            return Ok(true);
        }
        Ok(!endless)
    }

    fn arbitrary_ref(&mut self, u: &mut Unstructured<'_>, ty: ValType) -> ArbResult<Val> {
        Ok(match ty {
            ValType::FuncRef if !self.funcs.is_empty() && u.arbitrary()? => {
                Val::FuncRef(Some(self.funcs[u.choose_index(self.funcs.len())?].0))
            }
            ValType::ExternRef if u.arbitrary()? => {
                let value = u.arbitrary::<u32>()?;
                Val::ExternRef(Some(weft::ExternRef::new(&mut self.store, value).expect("never fails")))
            }
            other => Val::default_for(other),
        })
    }
}

/// A value's bits, or for a reference whether it is null.
fn bits(value: &Val) -> (ValType, u128) {
    let bits = match value {
        Val::I32(x) => *x as u32 as u128,
        Val::I64(x) => *x as u64 as u128,
        Val::F32(x) => u128::from(*x),
        Val::F64(x) => u128::from(*x),
        Val::V128(x) => *x,
        Val::FuncRef(f) => u128::from(f.is_some()),
        Val::ExternRef(r) => u128::from(r.is_some()),
        Val::ExnRef(r) => u128::from(r.is_some()),
    };
    (value.ty(), bits)
}

fn memory_type(min: u64, max: Option<u64>) -> weft::MemoryType {
    weft::MemoryType { limits: weft::Limits { min, max }, memory64: false }
}

fn table_type(element: ValType, min: u64, max: Option<u64>) -> weft::TableType {
    weft::TableType { element, limits: weft::Limits { min, max }, table64: false }
}

/// A size or index: usually small, sometimes near `typical`, sometimes anything at all.
fn arbitrary_size(u: &mut Unstructured<'_>, typical: u64) -> ArbResult<u64> {
    Ok(match u.int_in_range(0..=7u8)? {
        0..=3 => u.int_in_range(0..=16)?,
        4 | 5 => u.int_in_range(0..=typical)?,
        6 => u64::from(u.arbitrary::<u32>()?),
        _ => u.arbitrary()?,
    })
}

fn arbitrary_max(u: &mut Unstructured<'_>, typical: u64) -> ArbResult<Option<u64>> {
    Ok(if u.arbitrary()? { Some(arbitrary_size(u, typical)?) } else { None })
}

fn arbitrary_type(u: &mut Unstructured<'_>) -> ArbResult<ValType> {
    use ValType::*;
    Ok(*u.choose(&[I32, I64, F32, F64, V128, FuncRef, ExternRef])?)
}

fn any_val(u: &mut Unstructured<'_>, store: &mut Store<Limits>) -> ArbResult<Val> {
    let ty = arbitrary_type(u)?;
    arbitrary_val(u, ty, store)
}

/// A value of type `ty`; a non-null `externref` is created in `store`.
fn arbitrary_val(u: &mut Unstructured<'_>, ty: ValType, store: &mut Store<Limits>) -> ArbResult<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(u.arbitrary()?),
        ValType::I64 => Val::I64(u.arbitrary()?),
        ValType::F32 => Val::F32(u.arbitrary()?),
        ValType::F64 => Val::F64(u.arbitrary()?),
        ValType::V128 => Val::V128(u.arbitrary()?),
        ValType::FuncRef => Val::FuncRef(None),
        // Typed references (never generated here: the generator leaves function references off).
        ValType::Ref(_) => Val::FuncRef(None),
        ValType::ExternRef => Val::ExternRef(if u.arbitrary()? {
            Some(weft::ExternRef::new(&mut *store, u.arbitrary::<u64>()?).expect("never fails"))
        } else {
            None
        }),
    })
}
