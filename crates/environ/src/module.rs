//! The plain-data description of a validated module.

use crate::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An import: where it comes from and what it must be.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Import {
    /// The module name.
    pub module: String,
    /// The field name.
    pub field: String,
    /// The expected type.
    pub ty: EntityType,
}

/// What an export refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityIndex {
    /// A function.
    Func(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
    /// An exception tag.
    Tag(TagIndex),
}

/// An export.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Export {
    /// Exported name.
    pub name: String,
    /// The exported entity.
    pub index: EntityIndex,
}

/// One operator of a constant expression.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ConstOp {
    /// `i32.const`.
    I32(i32),
    /// `i64.const`.
    I64(i64),
    /// `f32.const` (bits).
    F32(u32),
    /// `f64.const` (bits).
    F64(u64),
    /// `v128.const`.
    V128(u128),
    /// `global.get`.
    GlobalGet(GlobalIndex),
    /// `ref.null`.
    RefNull(ValType),
    /// `ref.func`.
    RefFunc(FuncIndex),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
}

/// A constant expression (used by global initialisers and segment offsets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstExpr {
    /// The operators, in order; a valid expression leaves exactly one value.
    pub ops: Box<[ConstOp]>,
}

/// The contents of an element segment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ElemItems {
    /// A list of function indices.
    Functions(Box<[FuncIndex]>),
    /// A list of constant expressions of the segment's element type.
    Expressions(ValType, Box<[ConstExpr]>),
}

impl ElemItems {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Functions(f) => f.len(),
            ElemItems::Expressions(_, e) => e.len(),
        }
    }
    /// True when the segment has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a segment is used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SegmentMode<I> {
    /// Copied into the given table or memory at instantiation.
    Active {
        /// Target table or memory.
        target: I,
        /// Start offset.
        offset: ConstExpr,
    },
    /// Available to `table.init`/`memory.init`.
    Passive,
    /// Declares functions for `ref.func` only (element segments).
    Declared,
}

/// An element segment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ElementSegment {
    /// How the segment is used.
    pub mode: SegmentMode<TableIndex>,
    /// The elements.
    pub items: ElemItems,
}

/// A data segment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSegment {
    /// How the segment is used.
    pub mode: SegmentMode<MemoryIndex>,
    /// The bytes.
    pub data: Box<[u8]>,
}

/// A validated module's description.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Module {
    /// The module's name from the name section, if any.
    pub name: Option<String>,
    /// Function types, by type index.
    pub types: Vec<FuncType>,
    /// The recursion groups of the type section as `(first type, number of types)`, in order; every type is in
    /// exactly one (a type outside an explicit `rec` is a group of its own). Empty for modules made by the host,
    /// whose types are each a group of their own.
    pub rec_groups: Vec<(u32, u32)>,
    /// Imports in order.
    pub imports: Vec<Import>,
    /// The type of every function, imports first.
    pub functions: Vec<TypeIndex>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Every table, imports first.
    pub tables: Vec<TableType>,
    /// The initial element of each defined table (`None`: null), by defined index (function references
    /// proposal: `(table 10 (ref $t) (ref.func $f))`).
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Every memory, imports first.
    pub memories: Vec<MemoryType>,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Every global, imports first.
    pub globals: Vec<GlobalType>,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Initialisers of the defined globals.
    pub global_inits: Vec<ConstExpr>,
    /// The type of every exception tag (a function type with no results: the payload), imports first.
    pub tags: Vec<TypeIndex>,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Exports in order.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Function names from the name section.
    pub func_names: HashMap<FuncIndex, String>,
    /// Byte offset in the module of each defined function's body, by defined index (for function-relative code
    /// offsets, as wasm core dumps record them).
    pub func_body_offsets: Vec<u32>,
    /// Functions whose reference may be taken (`ref.func`, exports, element segments).
    pub escaping_funcs: Vec<FuncIndex>,
    /// Source lines from the module's DWARF sections, if it has them (for profilers).
    pub line_table: Option<crate::LineTable>,
    /// The module's DWARF sections, kept only when the engine makes native debug information
    /// ([`ModuleTranslation::module_keeping_dwarf`](crate::ModuleTranslation::module_keeping_dwarf)).
    pub dwarf: Option<crate::DwarfSections>,
}

impl Module {
    /// The type of function `f`.
    pub fn func_type(&self, f: FuncIndex) -> &FuncType {
        &self.types[self.functions[f.index()].index()]
    }
    /// Number of defined functions.
    pub fn num_defined_funcs(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_funcs
    }
    /// The defined index of `f`, or `None` if it is imported.
    pub fn defined_func_index(&self, f: FuncIndex) -> Option<DefinedFuncIndex> {
        f.as_u32().checked_sub(self.num_imported_funcs).map(DefinedFuncIndex::from_u32)
    }
    /// The function index of a defined function.
    pub fn func_index(&self, d: DefinedFuncIndex) -> FuncIndex {
        FuncIndex::from_u32(d.as_u32() + self.num_imported_funcs)
    }
    /// The defined index of table `t`, or `None` if imported.
    pub fn defined_table_index(&self, t: TableIndex) -> Option<DefinedTableIndex> {
        t.as_u32().checked_sub(self.num_imported_tables).map(DefinedTableIndex::from_u32)
    }
    /// The defined index of memory `m`, or `None` if imported.
    pub fn defined_memory_index(&self, m: MemoryIndex) -> Option<DefinedMemoryIndex> {
        m.as_u32().checked_sub(self.num_imported_memories).map(DefinedMemoryIndex::from_u32)
    }
    /// The defined index of global `g`, or `None` if imported.
    pub fn defined_global_index(&self, g: GlobalIndex) -> Option<DefinedGlobalIndex> {
        g.as_u32().checked_sub(self.num_imported_globals).map(DefinedGlobalIndex::from_u32)
    }
    /// The defined index of tag `t`, or `None` if imported.
    pub fn defined_tag_index(&self, t: TagIndex) -> Option<DefinedTagIndex> {
        t.as_u32().checked_sub(self.num_imported_tags).map(DefinedTagIndex::from_u32)
    }
    /// The payload types of tag `t`.
    pub fn tag_params(&self, t: TagIndex) -> &[ValType] {
        &self.types[self.tags[t.index()].index()].params
    }
    /// The type of an exported or imported entity.
    pub fn entity_type(&self, index: EntityIndex) -> EntityType {
        match index {
            EntityIndex::Func(f) => EntityType::Func(self.functions[f.index()]),
            EntityIndex::Table(t) => EntityType::Table(self.tables[t.index()]),
            EntityIndex::Memory(m) => EntityType::Memory(self.memories[m.index()]),
            EntityIndex::Global(g) => EntityType::Global(self.globals[g.index()]),
            EntityIndex::Tag(t) => EntityType::Tag(self.tags[t.index()]),
        }
    }
    /// The name of function `f` for diagnostics: its name-section name or `func[N]`.
    pub fn func_display_name(&self, f: FuncIndex) -> String {
        match self.func_names.get(&f) {
            Some(n) => n.clone(),
            None => format!("func[{}]", f.as_u32()),
        }
    }
}
