//! Wasm core dumps: what a store held when a trap happened, for post-mortem debugging with tools that read the
//! tool-conventions core dump format (a wasm module whose custom sections describe the modules, instances and
//! stack, and whose memory, global and data sections hold the memories' and globals' contents).

use crate::store::StoreOpaque;
use crate::trap::FrameInfo;
use crate::{AsContext, AsContextMut, Global, Instance, Memory, Module, Val, WasmBacktrace};
use std::collections::HashMap;
use std::fmt;
use weft_environ::{GlobalIndex, MemoryIndex};

/// The state of a store when a trap happened: the wasm frames, and every module, instance, memory and global the
/// store held. Attached to the trap's error when [`crate::Config::coredump_on_trap`] is on; get it with
/// `error.downcast_ref::<WasmCoreDump>()`. The memories and globals are handles into the store: their contents are
/// read when asked for (or serialized), so read them before running more code in the store.
#[derive(Debug)]
pub struct WasmCoreDump {
    frames: Vec<FrameInfo>,
    /// For each frame, the index in `instances` of an instance of the frame's module.
    frame_instances: Vec<u32>,
    modules: Vec<Module>,
    instances: Vec<Instance>,
    /// For each instance: its module's index, and the indices (in `memories`, `globals`) of its memories and globals.
    instance_items: Vec<(u32, Vec<u32>, Vec<u32>)>,
    memories: Vec<Memory>,
    globals: Vec<Global>,
}

impl WasmCoreDump {
    /// Records the state of `store` for a trap with `backtrace`.
    pub(crate) fn capture(store: &StoreOpaque, backtrace: &WasmBacktrace) -> WasmCoreDump {
        let mut dump = WasmCoreDump {
            frames: backtrace.frames().to_vec(),
            frame_instances: Vec::new(),
            modules: Vec::new(),
            instances: Vec::new(),
            instance_items: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
        };
        // Every memory and global the store owns, defined by module instances or created by the host, keyed by
        // the address instances see it at (so an import finds its definition).
        let (mut memory_at, mut global_at) = (HashMap::new(), HashMap::new());
        for (i, data) in store.instances.iter().enumerate() {
            let module = data.handle.module();
            for m in module.num_imported_memories as usize..module.memories.len() {
                let index = MemoryIndex::from_u32(m as u32);
                memory_at.insert(data.handle.memory(index) as usize, dump.memories.len() as u32);
                dump.memories.push(Memory { store: store.id, instance: i, index });
            }
            for g in module.num_imported_globals as usize..module.globals.len() {
                let index = GlobalIndex::from_u32(g as u32);
                global_at.insert(data.handle.global(index) as usize, dump.globals.len() as u32);
                dump.globals.push(Global { store: store.id, instance: i, index });
            }
        }
        let mut module_ids: HashMap<usize, u32> = HashMap::new();
        let mut instance_of_module: HashMap<usize, u32> = HashMap::new();
        for (i, data) in store.instances.iter().enumerate() {
            // Host-created memories, tables and globals are instances inside Weft, not wasm module instances.
            let Some(module) = &data.module else { continue };
            let env = data.handle.module();
            let id = std::sync::Arc::as_ptr(env) as *const () as usize;
            let module_index = *module_ids.entry(id).or_insert_with(|| {
                dump.modules.push(module.clone());
                dump.modules.len() as u32 - 1
            });
            let memories = (0..env.memories.len())
                .filter_map(|m| memory_at.get(&(data.handle.memory(MemoryIndex::from_u32(m as u32)) as usize)))
                .copied()
                .collect();
            let globals = (0..env.globals.len())
                .filter_map(|g| global_at.get(&(data.handle.global(GlobalIndex::from_u32(g as u32)) as usize)))
                .copied()
                .collect();
            instance_of_module.entry(id).or_insert(dump.instances.len() as u32);
            dump.instances.push(Instance { store: store.id, index: i });
            dump.instance_items.push((module_index, memories, globals));
        }
        // A frame names its module, not its instance: with several instances of one module, the first stands in.
        dump.frame_instances =
            dump.frames.iter().map(|f| instance_of_module.get(&f.module_id).copied().unwrap_or(0)).collect();
        dump
    }

    /// The wasm frames active at the trap, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// The modules of the store's instances, each once.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The store's module instances.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// Every memory the store owns (defined by its instances or created by the host).
    pub fn memories(&self) -> &[Memory] {
        &self.memories
    }

    /// Every global the store owns (defined by its instances or created by the host).
    pub fn globals(&self) -> &[Global] {
        &self.globals
    }

    /// The dump in the tool-conventions core dump format, as a wasm module: custom sections `core` (with `name`,
    /// conventionally the program's file name), `coremodules`, `coreinstances` and `corestack` (one thread,
    /// `main`, its frames with function-relative code offsets; locals and operand stack values are not recorded),
    /// then the memories (their current sizes, and their non-zero bytes as active data segments) and the globals
    /// (their current values, as immutable globals). Read from `store`, which must be the store the trap happened in.
    pub fn serialize(&self, mut store: impl AsContextMut, name: &str) -> Vec<u8> {
        use wasm_encoder as enc;
        let mut store = store.as_context_mut();
        let mut module = enc::Module::new();
        module.section(&enc::CoreDumpSection::new(name));
        let mut modules = enc::CoreDumpModulesSection::new();
        for m in &self.modules {
            modules.module(m.name().unwrap_or("<unnamed module>"));
        }
        module.section(&modules);
        let mut instances = enc::CoreDumpInstancesSection::new();
        for (module_index, memories, globals) in &self.instance_items {
            instances.instance(*module_index, memories.iter().copied(), globals.iter().copied());
        }
        module.section(&instances);
        let mut stack = enc::CoreDumpStackSection::new("main");
        for (frame, instance) in self.frames.iter().zip(&self.frame_instances) {
            stack.frame(*instance, frame.func_index(), frame.func_offset().unwrap_or(0), [], []);
        }
        module.section(&stack);

        let mut memories = enc::MemorySection::new();
        let mut data = enc::DataSection::new();
        for (i, memory) in self.memories.iter().enumerate() {
            let ty = memory.ty(&store);
            memories.memory(enc::MemoryType {
                minimum: memory.size(&store),
                maximum: None,
                memory64: ty.memory64,
                shared: false,
                page_size_log2: None,
            });
            for (start, bytes) in non_zero_runs(memory.data(store.as_context())) {
                let offset = if ty.memory64 {
                    enc::ConstExpr::i64_const(start as i64)
                } else {
                    enc::ConstExpr::i32_const(start as i32)
                };
                data.active(i as u32, &offset, bytes.iter().copied());
            }
        }
        let mut globals = enc::GlobalSection::new();
        for global in &self.globals {
            let value = global.get(&mut store);
            let (val_type, init) = const_for(&value);
            globals.global(enc::GlobalType { val_type, mutable: false, shared: false }, &init);
        }
        module.section(&memories);
        module.section(&globals);
        module.section(&data);
        module.finish()
    }
}

/// The encoder's type and a constant expression for a global's value. References are recorded as null of their
/// type: a core dump has no way to name a host object or a function of another instance.
fn const_for(value: &Val) -> (wasm_encoder::ValType, wasm_encoder::ConstExpr) {
    use wasm_encoder::{ConstExpr, HeapType, RefType, ValType as E};
    match value {
        Val::I32(v) => (E::I32, ConstExpr::i32_const(*v)),
        Val::I64(v) => (E::I64, ConstExpr::i64_const(*v)),
        Val::F32(bits) => (E::F32, ConstExpr::f32_const(wasm_encoder::Ieee32::new(*bits))),
        Val::F64(bits) => (E::F64, ConstExpr::f64_const(wasm_encoder::Ieee64::new(*bits))),
        Val::V128(v) => (E::V128, ConstExpr::v128_const(*v as i128)),
        Val::ExternRef(_) => (E::Ref(RefType::EXTERNREF), ConstExpr::ref_null(HeapType::EXTERN)),
        Val::ExnRef(_) => (E::Ref(RefType::EXNREF), ConstExpr::ref_null(RefType::EXNREF.heap_type)),
        Val::FuncRef(_) => (E::Ref(RefType::FUNCREF), ConstExpr::ref_null(HeapType::FUNC)),
    }
}

/// The runs of non-zero bytes of `bytes`, as `(offset, run)`, with gaps of fewer than 16 zero bytes kept inside a
/// run (a segment's own overhead is a few bytes).
fn non_zero_runs(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    const GAP: usize = 16;
    let mut runs = Vec::new();
    let mut i = 0;
    while let Some(start) = bytes[i..].iter().position(|b| *b != 0).map(|p| p + i) {
        let mut end = start;
        let mut zeros = 0;
        let mut j = start;
        while j < bytes.len() && zeros < GAP {
            if bytes[j] == 0 {
                zeros += 1;
            } else {
                zeros = 0;
                end = j + 1;
            }
            j += 1;
        }
        runs.push((start, &bytes[start..end]));
        i = end;
    }
    runs
}

impl fmt::Display for WasmCoreDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wasm core dump: {} frames, {} modules, {} instances, {} memories, {} globals",
            self.frames.len(),
            self.modules.len(),
            self.instances.len(),
            self.memories.len(),
            self.globals.len()
        )
    }
}

impl std::error::Error for WasmCoreDump {}

#[cfg(test)]
mod tests {
    use super::non_zero_runs;

    #[test]
    fn non_zero_runs_merge_short_gaps_and_split_long_ones() {
        let mut bytes = vec![0u8; 100];
        bytes[3] = 1;
        bytes[10] = 2; // 6 zero bytes after the first: merged
        bytes[60] = 3; // 49 after the second: a new run
        let runs = non_zero_runs(&bytes);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].0, 3);
        assert_eq!(runs[0].1, &bytes[3..11]);
        assert_eq!(runs[1], (60, &bytes[60..61]));
        assert!(non_zero_runs(&[0; 64]).is_empty());
    }
}
