//! Instances: a `VMContext` plus the memories, tables and globals a module defines.

use crate::code_memory::CodeMemory;
use crate::memory::LinearMemory;
use crate::table::Table;
use crate::vmcontext::*;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Arc;
use weft_environ::*;

/// What an instance imports, in the module's import order per kind.
#[derive(Default)]
pub struct Imports {
    /// Imported functions (copied into the instance's `VMContext`).
    pub funcs: Vec<VMFuncRef>,
    /// Imported memories (each points into a `LinearMemory` of the same store).
    pub memories: Vec<*mut VMMemoryDefinition>,
    /// Imported tables (each points into a `Table` of the same store).
    pub tables: Vec<*mut VMTableDefinition>,
    /// Imported globals.
    pub globals: Vec<*mut VMGlobalDefinition>,
    /// Imported tags (each another instance's definition in the same store).
    pub tags: Vec<*const crate::VMTagDefinition>,
}

/// Why instantiation failed.
#[derive(Debug, thiserror::Error)]
pub enum InstantiationError {
    /// Memory or table could not be allocated.
    #[error("resource allocation failed: {0}")]
    Resource(String),
    /// Initialisation trapped: a segment did not fit. Segments are applied in order, so earlier ones stay written,
    /// as the current specification requires.
    #[error("{0}")]
    Trap(Trap),
}

/// An instance of a module.
#[allow(
    clippy::vec_box,
    reason = "the VMContext holds pointers to each item, so items must not move when the Vec grows"
)]
pub struct Instance {
    module: Arc<Module>,
    code: Option<Arc<CodeMemory>>,
    offsets: VMOffsets,
    memories: Vec<Box<LinearMemory>>,
    tables: Vec<Box<Table>>,
    /// The tags this instance defines; their addresses are their identities.
    tags: Vec<Box<crate::VMTagDefinition>>,
    /// Data segments dropped by `data.drop` or, for active segments, by instantiation.
    dropped_data: Vec<bool>,
    /// Whether the active data segments were applied by mapping memory images when the memories were created.
    data_imaged: bool,
    /// Element segments dropped by `elem.drop`, or active and declared segments after instantiation.
    dropped_elems: Vec<bool>,
    vmctx: NonNull<u8>,
    /// Where the `VMContext` lives: a pooling allocator's slot, or the heap with this layout.
    vmctx_storage: VMContextStorage,
    /// The pooling allocator this instance's tables come from, if any.
    pooled: Option<Arc<crate::ReservationPool>>,
}

// SAFETY: an instance's raw pointers refer to memory owned by it or by its store; the store is used by one thread
// at a time (`&mut Store`), and moving it between threads moves all of it.
unsafe impl Send for Instance {}
// SAFETY: shared references to an instance expose no unsynchronised interior mutation.
unsafe impl Sync for Instance {}

impl Instance {
    /// Allocates and initialises an instance: its `VMContext`, defined memories, tables and globals. Segments are
    /// applied by [`Instance::initialize_segments`], which the owner calls once it has taken ownership: a segment
    /// that traps leaves earlier segments' writes (including pointers to this instance's functions in imported
    /// tables) in place, so the instance must outlive a failed initialisation. The start function is not run.
    ///
    /// # Safety
    /// `imports` must match the module's imports in number and type and point to live definitions owned by the
    /// same store as `store`; `type_ids` must hold the engine-wide id of every module type; `code` must be the
    /// module's compiled code (it may be `None` only for modules without defined functions); `images`, if given,
    /// must have been made for this module with these tunables.
    pub unsafe fn new(
        module: Arc<Module>,
        code: Option<Arc<CodeMemory>>,
        imports: Imports,
        store: *mut VMStoreContext,
        type_ids: &[u32],
        tunables: &Tunables,
        images: Option<&crate::MemoryImages>,
    ) -> Result<Box<Instance>, InstantiationError> {
        // SAFETY: the caller guarantees `store` is live.
        let pool = unsafe { (*store).reservation_pool.clone() }.filter(|p| p.pooling_limits().is_some());
        let defined_tables = module.tables.len() - module.num_imported_tables as usize;
        if let Some(limits) = pool.as_ref().and_then(|p| p.pooling_limits()) {
            let memories = module.memories.len() - module.num_imported_memories as usize;
            if memories > limits.max_memories_per_module as usize {
                return Err(InstantiationError::Resource(format!(
                    "the module defines {memories} memories; the pooling allocator allows {} per instance",
                    limits.max_memories_per_module
                )));
            }
            if defined_tables > limits.max_tables_per_module as usize {
                return Err(InstantiationError::Resource(format!(
                    "the module defines {defined_tables} tables; the pooling allocator allows {} per instance",
                    limits.max_tables_per_module
                )));
            }
        }
        let offsets = VMOffsets::new(&module);
        let (vmctx, vmctx_storage) = match &pool {
            Some(pool) => {
                let slot = pool
                    .take_instance_slot(offsets.size() as usize)
                    .map_err(InstantiationError::Resource)?
                    .expect("a pooling allocator gives slots");
                (slot.base, VMContextStorage::Pooled(slot))
            }
            None => {
                let layout = Layout::from_size_align(offsets.size() as usize, 16).expect("vmctx layout");
                // SAFETY: the layout has non-zero size (the header alone is 32 bytes).
                let vmctx = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
                    .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
                (vmctx, VMContextStorage::Heap(layout))
            }
        };
        let mut instance = Box::new(Instance {
            module: module.clone(),
            code,
            offsets,
            memories: Vec::new(),
            tables: Vec::new(),
            tags: Vec::new(),
            dropped_data: vec![false; module.data.len()],
            // SAFETY: `store` is live (the caller's guarantee). Memories the embedder provides get no images.
            data_imaged: images.is_some() && unsafe { (*store).memory_creator.is_none() },
            dropped_elems: vec![false; module.elements.len()],
            vmctx,
            vmctx_storage,
            pooled: pool,
        });
        let self_ptr: *mut Instance = &mut *instance;
        // SAFETY: every write below is inside the freshly allocated vmctx, at offsets `VMOffsets` computed for this
        // module, and of the type compiled code expects there.
        unsafe {
            instance.write(VMOffsets::MAGIC, VMCONTEXT_MAGIC);
            instance.write(VMOffsets::INSTANCE, self_ptr);
            instance.write(VMOffsets::STORE_CONTEXT, store);
            instance.write(VMOffsets::BUILTINS, &crate::libcalls::BUILTINS as *const VMBuiltinFunctions);
            for (i, id) in type_ids.iter().enumerate() {
                instance.write(instance.offsets.type_id(TypeIndex::from_u32(i as u32)), *id);
            }
            let vmctx_ptr = instance.vmctx();
            for (i, f) in imports.funcs.iter().enumerate() {
                instance.write(instance.offsets.func_ref(FuncIndex::from_u32(i as u32)), *f);
            }
            let lazy = instance.code.as_ref().and_then(|code| code.lazy()).cloned();
            if let Some(lazy) = &lazy {
                instance.write(VMOffsets::LAZY_CODE, lazy.table());
                instance.write(VMOffsets::TIER_COUNTERS, lazy.counters());
            }
            for def in 0..module.num_defined_funcs() {
                let def = DefinedFuncIndex::from_u32(def);
                let index = module.func_index(def);
                let ty = module.functions[index.index()];
                let code = instance.code.as_ref().expect("a module with functions has code");
                let info = code.info();
                // A lazily compiled function is called through its dispatch stub, which follows the code table.
                let wasm_call = match &lazy {
                    Some(lazy) => lazy.dispatch_stub(def),
                    None => code.at(info.functions[def.index()].start),
                };
                let func_ref =
                    VMFuncRef::new(code.at(info.trampoline(ty).start), wasm_call, vmctx_ptr, type_ids[ty.index()]);
                instance.write(instance.offsets.func_ref(index), func_ref);
            }
            for (i, m) in imports.memories.iter().enumerate() {
                instance.write(instance.offsets.memory_pointer(MemoryIndex::from_u32(i as u32)), *m);
            }
            for (i, t) in imports.tables.iter().enumerate() {
                instance.write(instance.offsets.table_pointer(TableIndex::from_u32(i as u32)), *t);
            }
            for (i, g) in imports.globals.iter().enumerate() {
                instance.write(instance.offsets.global_pointer(GlobalIndex::from_u32(i as u32)), *g);
            }
            for (i, t) in imports.tags.iter().enumerate() {
                instance.write(instance.offsets.tag_pointer(TagIndex::from_u32(i as u32)), *t);
            }
            for (i, ty) in module.tags.iter().enumerate().skip(module.num_imported_tags as usize) {
                let tag = Box::new(crate::VMTagDefinition { type_id: type_ids[ty.index()] });
                let ptr: *const crate::VMTagDefinition = &*tag;
                instance.write(instance.offsets.tag_pointer(TagIndex::from_u32(i as u32)), ptr);
                instance.tags.push(tag);
            }
        }
        for (i, ty) in module.memories[module.num_imported_memories as usize..].iter().enumerate() {
            let image = images
                .filter(|_| instance.data_imaged)
                .and_then(|images| images.get(DefinedMemoryIndex::from_u32(i as u32)));
            let mut memory =
                // SAFETY: `store` is the live context of the store the instance is created in.
                unsafe {
                    LinearMemory::new(
                        ty,
                        tunables,
                        (*store).reservation_pool.as_ref(),
                        image.map(|i| &**i),
                        (*store).memory_creator.as_ref(),
                    )
                }
                .map_err(|e| InstantiationError::Resource(e.to_string()))?;
            let index = MemoryIndex::from_u32(module.num_imported_memories + instance.memories.len() as u32);
            let def = memory.definition();
            // SAFETY: writes the memory's (boxed, address-stable) definition into its vmctx slot.
            unsafe { instance.write(instance.offsets.memory_pointer(index), def) };
            instance.memories.push(memory);
        }
        for ty in &module.tables[module.num_imported_tables as usize..] {
            // The table keeps its type in engine-wide terms (a typed element names its type's engine id), so tables
            // of different modules compare by what they hold.
            let mut ty = *ty;
            ty.element = ty.element.canonical(type_ids, None).unwrap_or(ty.element);
            let ty = &ty;
            let slot = match &instance.pooled {
                Some(pool) => pool.take_table_slot().map_err(InstantiationError::Resource)?,
                None => None,
            };
            let limit = slot.as_ref().map_or(u64::MAX, |s| s.capacity as u64);
            let mut table = Table::with_storage(ty, limit, slot).ok_or_else(|| {
                InstantiationError::Resource(format!("a table of {} elements (at most {limit})", ty.limits.min))
            })?;
            let index = TableIndex::from_u32(module.num_imported_tables + instance.tables.len() as u32);
            let def = table.definition();
            // SAFETY: as for memories.
            unsafe { instance.write(instance.offsets.table_pointer(index), def) };
            instance.tables.push(table);
        }
        for (m, ty) in module.memories.iter().enumerate() {
            if !tunables.guard_pages(ty) {
                continue;
            }
            let m = MemoryIndex::from_u32(m as u32);
            // SAFETY: every memory slot was filled above with a live memory of this store.
            let memory = unsafe { &*instance.memory(m) };
            // Compiled code reads this copy instead of the definition; that is only right if the base never
            // moves, which guard pages guarantee (the engine lays out every memory of a type the same way).
            assert!(memory.has_guard_pages(), "a moving memory where the engine compiled for guard pages");
            // SAFETY: the slot is the memory base copy of memory `m`.
            unsafe { instance.write(instance.offsets.memory_base(m), memory.base()) };
        }
        for (i, init) in module.global_inits.iter().enumerate() {
            let defined = DefinedGlobalIndex::from_u32(i as u32);
            let index = GlobalIndex::from_u32(module.num_imported_globals + i as u32);
            let value = instance.eval_const(init);
            let offset = instance.offsets.defined_global(defined);
            // SAFETY: the global's value lives in its vmctx slot, which stays at this address until the instance
            // is dropped; the pointer slot lets code that does not know whether a global is imported find it.
            unsafe {
                instance.write(offset, VMGlobalDefinition { storage: value.bytes() });
                let ptr = instance.vmctx.as_ptr().add(offset as usize).cast::<VMGlobalDefinition>();
                instance.write(instance.offsets.global_pointer(index), ptr);
            }
        }
        // A table with an initialiser expression starts with every element set to its value (after the globals,
        // which the expression may read).
        for (i, init) in module.table_inits.iter().enumerate() {
            let Some(init) = init else { continue };
            let value = instance.eval_const(init).get_ptr();
            let table = &mut instance.tables[i];
            for element in table.elements_mut() {
                *element = value;
            }
        }
        Ok(instance)
    }

    /// Writes `value` at `offset` in the vmctx.
    ///
    /// # Safety
    /// `offset` must be a field of type `T` in this module's `VMContext` layout.
    unsafe fn write<T>(&self, offset: u32, value: T) {
        assert!(offset as usize + std::mem::size_of::<T>() <= self.offsets.size() as usize);
        // SAFETY: in bounds (asserted) of our allocation; the caller guarantees the field's type.
        unsafe { self.vmctx.as_ptr().add(offset as usize).cast::<T>().write_unaligned(value) }
    }

    /// Reads the field of type `T` at `offset` in the vmctx.
    ///
    /// # Safety
    /// `offset` must be a field of type `T` in this module's `VMContext` layout.
    unsafe fn read<T: Copy>(&self, offset: u32) -> T {
        assert!(offset as usize + std::mem::size_of::<T>() <= self.offsets.size() as usize);
        // SAFETY: in bounds (asserted); initialised by `new`; the caller guarantees the type.
        unsafe { self.vmctx.as_ptr().add(offset as usize).cast::<T>().read_unaligned() }
    }

    /// The instance owning `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the live `VMContext` of an instance, and the caller must not create overlapping mutable
    /// references to that instance.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> &'a mut Instance {
        // SAFETY: the caller guarantees `vmctx` is live; its INSTANCE field was set by `new`.
        unsafe { &mut **(vmctx as *mut u8).add(VMOffsets::INSTANCE as usize).cast::<*mut Instance>() }
    }

    /// The instance's `VMContext`.
    pub fn vmctx(&self) -> *mut VMContext {
        self.vmctx.as_ptr().cast()
    }

    /// The module this is an instance of.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// The compiled code, if the module defines functions.
    pub fn code(&self) -> Option<&Arc<CodeMemory>> {
        self.code.as_ref()
    }

    /// The function reference of function `f` (imported or defined).
    pub fn func_ref(&self, f: FuncIndex) -> *mut VMFuncRef {
        // SAFETY: `func_ref(f)` is inside the vmctx (VMOffsets asserts the index).
        unsafe { self.vmctx.as_ptr().add(self.offsets.func_ref(f) as usize).cast() }
    }

    /// Memory `m` (possibly imported from another instance of the same store).
    pub fn memory(&self, m: MemoryIndex) -> *mut LinearMemory {
        // SAFETY: the slot holds a pointer to a `VMMemoryDefinition`, which is the first field of a
        // `#[repr(C)] LinearMemory`.
        unsafe { self.read::<*mut VMMemoryDefinition>(self.offsets.memory_pointer(m)).cast() }
    }

    /// Table `t` (possibly imported).
    pub fn table(&self, t: TableIndex) -> *mut Table {
        // SAFETY: as for `memory`, with `Table`'s first field.
        unsafe { self.read::<*mut VMTableDefinition>(self.offsets.table_pointer(t)).cast() }
    }

    /// Global `g`'s storage (possibly imported).
    pub fn global(&self, g: GlobalIndex) -> *mut VMGlobalDefinition {
        // SAFETY: the slot holds the global's storage pointer, set by `new`.
        unsafe { self.read::<*mut VMGlobalDefinition>(self.offsets.global_pointer(g)) }
    }

    /// Tag `t`'s definition (possibly imported); its address is the tag's identity.
    pub fn tag(&self, t: TagIndex) -> *const crate::VMTagDefinition {
        // SAFETY: the slot holds the tag's definition pointer, set by `new`.
        unsafe { self.read::<*const crate::VMTagDefinition>(self.offsets.tag_pointer(t)) }
    }

    /// Grows memory `m` by `delta` pages if the store's limiter allows: the old size in pages, `None` when denied
    /// or impossible, `Err` when the limiter failed.
    pub fn memory_grow(&mut self, m: MemoryIndex, delta: u64) -> Result<Option<u64>, crate::HookFailure> {
        // SAFETY: the memory is live (owned by this store) and, while this `&mut self` exists, not otherwise
        // borrowed: compiled code only reaches it through this call. The store context is this instance's own.
        unsafe { crate::grow_memory(crate::limiter_of(self.store_context()), &mut *self.memory(m), delta) }
    }

    /// Grows table `t` by `delta` elements set to `init`, as [`Instance::memory_grow`].
    ///
    /// # Safety
    /// `init` must be null or an element of table `t`'s type that this store owns (compiled code dereferences
    /// what it finds in a table).
    pub unsafe fn table_grow(
        &mut self,
        t: TableIndex,
        delta: u64,
        init: *mut u8,
    ) -> Result<Option<u64>, crate::HookFailure> {
        // SAFETY: the table is live and not otherwise borrowed, as for `memory_grow`; `init` is valid for it (the
        // caller's guarantee).
        unsafe { crate::grow_table(crate::limiter_of(self.store_context()), &mut *self.table(t), delta, init) }
    }

    /// How many memories and tables this instance defines (owns).
    pub fn defined_counts(&self) -> (usize, usize) {
        (self.memories.len(), self.tables.len())
    }

    /// The store context this instance was created in.
    fn store_context(&self) -> *const crate::VMStoreContext {
        // SAFETY: the slot was written at creation with the store's context, which outlives the instance.
        unsafe { self.read(VMOffsets::STORE_CONTEXT) }
    }

    /// `memory.copy`: `false` (and nothing copied) if either range is out of bounds.
    pub fn memory_copy(&mut self, dst_mem: MemoryIndex, dst: u64, src_mem: MemoryIndex, src: u64, len: u64) -> bool {
        // SAFETY: both memories belong to this store and are live. They may be the same memory, so only raw
        // pointers are used (no references), and `ptr::copy` has memmove semantics.
        unsafe {
            let (dst_base, dst_len) = LinearMemory::raw_parts(self.memory(dst_mem));
            let (src_base, src_len) = LinearMemory::raw_parts(self.memory(src_mem));
            let (Some(d), Some(s)) =
                (crate::table::range(dst, len, dst_len as u64), crate::table::range(src, len, src_len as u64))
            else {
                return false;
            };
            std::ptr::copy(src_base.add(s.start), dst_base.add(d.start), len as usize);
        }
        true
    }

    /// `memory.fill`: `false` (and nothing written) if the range is out of bounds.
    pub fn memory_fill(&mut self, mem: MemoryIndex, dst: u64, value: u8, len: u64) -> bool {
        // SAFETY: the memory belongs to this store, is live, and is not otherwise borrowed while wasm runs.
        let memory = unsafe { &mut *self.memory(mem) };
        let size = memory.data().len() as u64;
        match crate::table::range(dst, len, size) {
            Some(r) => {
                memory.data_mut()[r].fill(value);
                true
            }
            None => false,
        }
    }

    /// `memory.init`: `false` if either range is out of bounds (a dropped segment has length 0).
    pub fn memory_init(&mut self, mem: MemoryIndex, data: DataIndex, dst: u64, src: u32, len: u32) -> bool {
        let module = self.module.clone();
        let bytes: &[u8] = if self.dropped_data[data.index()] { &[] } else { &module.data[data.index()].data };
        let Some(src) = crate::table::range(u64::from(src), u64::from(len), bytes.len() as u64) else {
            return false;
        };
        // SAFETY: as for `memory_fill`.
        let memory = unsafe { &mut *self.memory(mem) };
        let size = memory.data().len() as u64;
        match crate::table::range(dst, u64::from(len), size) {
            Some(d) => {
                memory.data_mut()[d].copy_from_slice(&bytes[src]);
                true
            }
            None => false,
        }
    }

    /// `data.drop`.
    pub fn data_drop(&mut self, data: DataIndex) {
        self.dropped_data[data.index()] = true;
    }

    /// `table.copy`: `false` (and nothing copied) if either range is out of bounds.
    pub fn table_copy(&mut self, dst_table: TableIndex, src_table: TableIndex, dst: u64, src: u64, len: u64) -> bool {
        // SAFETY: both tables belong to this store and are live; they may be the same table, so copy through a
        // temporary.
        unsafe {
            let s = &*self.table(src_table);
            let Some(src_range) = crate::table::range(src, len, s.size()) else {
                return false;
            };
            let values: Vec<*mut u8> =
                (src_range.start..src_range.end).map(|i| s.get(i as u64).unwrap_or_default()).collect();
            let d = &mut *self.table(dst_table);
            let Some(dst_range) = crate::table::range(dst, len, d.size()) else {
                return false;
            };
            d.elements_mut()[dst_range].copy_from_slice(&values);
        }
        true
    }

    /// `table.init`: `false` if either range is out of bounds (a dropped segment has length 0).
    pub fn table_init(&mut self, table: TableIndex, elem: ElemIndex, dst: u64, src: u32, len: u32) -> bool {
        let module = self.module.clone();
        let values = if self.dropped_elems[elem.index()] {
            Vec::new()
        } else {
            self.elem_values(&module.elements[elem.index()].items)
        };
        let Some(src) = crate::table::range(u64::from(src), u64::from(len), values.len() as u64) else {
            return false;
        };
        // SAFETY: the table belongs to this store, is live, and is not otherwise borrowed while wasm runs.
        let t = unsafe { &mut *self.table(table) };
        let Some(d) = crate::table::range(dst, u64::from(len), t.size()) else {
            return false;
        };
        t.elements_mut()[d].copy_from_slice(&values[src]);
        true
    }

    /// `elem.drop`.
    pub fn elem_drop(&mut self, elem: ElemIndex) {
        self.dropped_elems[elem.index()] = true;
    }

    fn eval_const(&self, expr: &ConstExpr) -> ValRaw {
        let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
        for op in expr.ops.iter() {
            let value = match *op {
                ConstOp::I32(v) => ValRaw::i32(v),
                ConstOp::I64(v) => ValRaw::i64(v),
                ConstOp::F32(v) => ValRaw::f32(v),
                ConstOp::F64(v) => ValRaw::f64(v),
                ConstOp::V128(v) => ValRaw::u128(v),
                // SAFETY: validation guarantees the global exists and was initialised before this expression.
                ConstOp::GlobalGet(g) => ValRaw::from_bytes(unsafe { (*self.global(g)).storage }),
                ConstOp::RefNull(_) => ValRaw::ptr(std::ptr::null_mut()),
                ConstOp::RefFunc(f) => ValRaw::ptr(self.func_ref(f).cast()),
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (b, a) = (stack.pop().unwrap_or_default().get_i32(), stack.pop().unwrap_or_default().get_i32());
                    ValRaw::i32(match *op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (b, a) = (stack.pop().unwrap_or_default().get_i64(), stack.pop().unwrap_or_default().get_i64());
                    ValRaw::i64(match *op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
            };
            stack.push(value);
        }
        stack.pop().unwrap_or_default()
    }

    fn elem_values(&self, items: &ElemItems) -> Vec<*mut u8> {
        match items {
            ElemItems::Functions(fs) => fs.iter().map(|f| self.func_ref(*f).cast()).collect(),
            ElemItems::Expressions(_, es) => es.iter().map(|e| self.eval_const(e).get_ptr()).collect(),
        }
    }

    /// Applies the active element and data segments in order, then drops them. On a trap the writes made so far
    /// stay, as the specification requires; keep the instance alive either way.
    pub fn initialize_segments(&mut self) -> Result<(), InstantiationError> {
        let module = self.module.clone();
        // Active and declared segments are dropped once instantiation has used them.
        for (i, seg) in module.elements.iter().enumerate() {
            self.dropped_elems[i] = !matches!(seg.mode, SegmentMode::Passive);
        }
        for (i, seg) in module.data.iter().enumerate() {
            self.dropped_data[i] = !matches!(seg.mode, SegmentMode::Passive);
        }
        // An offset is an i32, or an i64 for a 64-bit memory or table.
        let offset_of = |this: &Self, e: &ConstExpr, wide: bool| {
            let value = this.eval_const(e);
            if wide { value.get_i64() as u64 } else { u64::from(value.get_i32() as u32) }
        };
        for seg in &module.elements {
            if let SegmentMode::Active { target, offset } = &seg.mode {
                let start = offset_of(self, offset, module.tables[target.index()].table64);
                let values = self.elem_values(&seg.items);
                // SAFETY: the table is live and owned by this store; no other reference to it is active.
                let table = unsafe { &mut *self.table(*target) };
                if start.checked_add(values.len() as u64).is_none_or(|end| end > table.size()) {
                    return Err(InstantiationError::Trap(Trap::TableOutOfBounds));
                }
                for (i, v) in values.into_iter().enumerate() {
                    table.set(start + i as u64, v);
                }
            }
        }
        // With memory images the memories were created with the data in place (which requires every segment to be
        // known to fit, so none could trap).
        let data = if self.data_imaged { &[][..] } else { &module.data[..] };
        for seg in data {
            if let SegmentMode::Active { target, offset } = &seg.mode {
                let start = usize::try_from(offset_of(self, offset, module.memories[target.index()].memory64))
                    .map_err(|_| InstantiationError::Trap(Trap::MemoryOutOfBounds))?;
                // SAFETY: the memory is live and owned by this store; no other reference to it is active.
                let memory = unsafe { &mut *self.memory(*target) };
                let dest = start
                    .checked_add(seg.data.len())
                    .and_then(|end| memory.data_mut().get_mut(start..end))
                    .ok_or(InstantiationError::Trap(Trap::MemoryOutOfBounds))?;
                dest.copy_from_slice(&seg.data);
            }
        }
        Ok(())
    }
}

/// Where an instance's `VMContext` lives.
enum VMContextStorage {
    /// Allocated zeroed from the heap with this layout; freed when the instance drops.
    Heap(Layout),
    /// A pooling allocator's slot, zeroed and given back when the instance drops (by the slot's own `Drop`).
    Pooled(#[allow(dead_code, reason = "held for its Drop")] crate::memory::InstanceSlot),
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let VMContextStorage::Heap(layout) = self.vmctx_storage {
            // SAFETY: allocated in `new` with this layout; compiled code can no longer run (the store is going
            // away).
            unsafe { std::alloc::dealloc(self.vmctx.as_ptr(), layout) }
        }
    }
}
