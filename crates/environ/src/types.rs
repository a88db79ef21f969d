//! WebAssembly types as Weft describes them, independent of `wasmparser`'s representation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A WebAssembly value type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector.
    V128,
    /// A nullable function reference.
    FuncRef,
    /// A nullable host reference.
    ExternRef,
}

impl ValType {
    /// True for `funcref` and `externref`.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// The type of a function: its parameters and results.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncType {
    /// Parameter types, in order.
    pub params: Box<[ValType]>,
    /// Result types, in order.
    pub results: Box<[ValType]>,
}

impl FuncType {
    /// Builds a function type.
    pub fn new(params: impl IntoIterator<Item = ValType>, results: impl IntoIterator<Item = ValType>) -> Self {
        Self { params: params.into_iter().collect(), results: results.into_iter().collect() }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        write!(f, "(func (param {}) (result {}))", list(&self.params), list(&self.results))
    }
}

/// Size limits of a memory or table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Initial size (pages or elements).
    pub min: u64,
    /// Optional maximum size.
    pub max: Option<u64>,
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) => write!(f, "{} {}", self.min, max),
            None => write!(f, "{}", self.min),
        }
    }
}

/// The type of a linear memory (sizes in 64 KiB pages).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryType {
    /// Initial and maximum size in pages.
    pub limits: Limits,
    /// Whether addresses are 64-bit (`i64`, the memory64 proposal) rather than 32-bit.
    pub memory64: bool,
}

impl MemoryType {
    /// A 32-bit memory of `min` pages, growing to `max` pages (4 GiB at most).
    pub fn new(min: u32, max: Option<u32>) -> MemoryType {
        MemoryType { limits: Limits { min: min.into(), max: max.map(u64::from) }, memory64: false }
    }

    /// A 64-bit memory of `min` pages, growing to `max` pages.
    pub fn new64(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType { limits: Limits { min, max }, memory64: true }
    }

    /// The type of its addresses, sizes and page counts: `i32`, or `i64` for a 64-bit memory.
    pub fn index_type(&self) -> ValType {
        if self.memory64 { ValType::I64 } else { ValType::I32 }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.memory64 { write!(f, "(memory i64 {})", self.limits) } else { write!(f, "(memory {})", self.limits) }
    }
}

/// The type of a table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableType {
    /// The element type (a reference type).
    pub element: ValType,
    /// Initial and maximum size in elements.
    pub limits: Limits,
    /// Whether indices are 64-bit (`i64`, the memory64 proposal's 64-bit tables) rather than 32-bit.
    pub table64: bool,
}

impl TableType {
    /// A 32-bit table of `element`s, `min` long, growing to `max`.
    pub fn new(element: ValType, min: u32, max: Option<u32>) -> TableType {
        TableType { element, limits: Limits { min: min.into(), max: max.map(u64::from) }, table64: false }
    }

    /// A 64-bit table of `element`s, `min` long, growing to `max`.
    pub fn new64(element: ValType, min: u64, max: Option<u64>) -> TableType {
        TableType { element, limits: Limits { min, max }, table64: true }
    }

    /// The type of its indices and sizes: `i32`, or `i64` for a 64-bit table.
    pub fn index_type(&self) -> ValType {
        if self.table64 { ValType::I64 } else { ValType::I32 }
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = if self.table64 { "i64 " } else { "" };
        write!(f, "(table {index}{} {})", self.limits, self.element)
    }
}

/// The type of a global.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalType {
    /// The value type.
    pub content: ValType,
    /// Whether the global may be written.
    pub mutable: bool,
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable { write!(f, "(global (mut {}))", self.content) } else { write!(f, "(global {})", self.content) }
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityType {
    /// A function with the given type (index into the module's types).
    Func(TypeIndex),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

use crate::TypeIndex;
