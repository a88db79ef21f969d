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
    /// A nullable function reference, `(ref null func)`.
    FuncRef,
    /// A nullable host reference, `(ref null extern)`.
    ExternRef,
    /// Any other reference type of the typed function references proposal: non-nullable, of a concrete function
    /// type, or a bottom type. (`(ref null func)` and `(ref null extern)` are always `FuncRef` and `ExternRef`.)
    Ref(RefType),
}

/// A reference type other than `funcref` and `externref`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    /// Whether null is a value of the type.
    pub nullable: bool,
    /// What it refers to.
    pub heap: HeapType,
}

/// What a reference refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// No function (the bottom of the function types: only null).
    NoFunc,
    /// No host value (only null).
    NoExtern,
    /// Any exception (exception handling proposal: `exnref` is `(ref null exn)`).
    Exn,
    /// No exception (only null).
    NoExn,
    /// Functions of one type: in a module's own description, the index of the type in its type section; in the
    /// types the embedding API reports, the engine-wide id of that type (see [`ValType::canonical`]).
    Concrete(u32),
}

/// In the engine's key for a recursion group, a reference to the group's own member `k` is
/// `Concrete(REC_GROUP_LOCAL + k)`: equal groups of different modules then have equal keys, whatever their types'
/// indices. Engine ids stay far below it.
pub const REC_GROUP_LOCAL: u32 = 0xC000_0000;

impl ValType {
    /// True for every reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef | ValType::Ref(_))
    }

    /// A reference type, in its normal form (`(ref null func)` is `FuncRef`, `(ref null extern)` is `ExternRef`).
    pub fn reference(nullable: bool, heap: HeapType) -> ValType {
        match (nullable, heap) {
            (true, HeapType::Func) => ValType::FuncRef,
            (true, HeapType::Extern) => ValType::ExternRef,
            _ => ValType::Ref(RefType { nullable, heap }),
        }
    }

    /// The normal form of this type: a nullable reference to any function or host value is `FuncRef` or
    /// `ExternRef`, however it was written.
    pub fn normal(self) -> ValType {
        match self {
            ValType::Ref(RefType { nullable, heap }) => ValType::reference(nullable, heap),
            other => other,
        }
    }

    /// This type with every module type index replaced by the engine-wide id `ids` gives it; a reference into
    /// `group` (the recursion group `(first, count)` being defined) becomes group-relative ([`REC_GROUP_LOCAL`]).
    /// `None` for a reference to a type outside the group and not in `ids`.
    pub fn canonical(self, ids: &[u32], group: Option<(u32, u32)>) -> Option<ValType> {
        Some(match self {
            ValType::Ref(RefType { nullable, heap: HeapType::Concrete(index) }) => {
                let id = match group {
                    Some((first, count)) if (first..first + count).contains(&index) => {
                        REC_GROUP_LOCAL + (index - first)
                    }
                    _ => *ids.get(index as usize)?,
                };
                ValType::Ref(RefType { nullable, heap: HeapType::Concrete(id) })
            }
            other => other,
        })
    }

    /// This type with group-relative references ([`REC_GROUP_LOCAL`]) replaced by the ids of the group's members.
    pub fn resolve_group(self, member_ids: &[u32]) -> ValType {
        match self {
            ValType::Ref(RefType { nullable, heap: HeapType::Concrete(id) }) if id >= REC_GROUP_LOCAL => {
                let id = member_ids.get((id - REC_GROUP_LOCAL) as usize).copied().unwrap_or(id);
                ValType::Ref(RefType { nullable, heap: HeapType::Concrete(id) })
            }
            other => other,
        }
    }

    /// Whether a value of type `self` is also of type `other` (subtyping: `(ref $t) <: (ref null $t) <: funcref`,
    /// `nofunc` below every function type, `noextern` below `externref`). Both must use the same index space.
    pub fn matches(self, other: ValType) -> bool {
        if self == other {
            return true;
        }
        let (Some((n1, h1)), Some((n2, h2))) = (self.as_ref_parts(), other.as_ref_parts()) else { return false };
        if n1 && !n2 {
            return false;
        }
        match (h1, h2) {
            (a, b) if a == b => true,
            (HeapType::Concrete(_) | HeapType::NoFunc, HeapType::Func) => true,
            (HeapType::NoFunc, HeapType::Concrete(_)) => true,
            (HeapType::NoExtern, HeapType::Extern) => true,
            (HeapType::NoExn, HeapType::Exn) => true,
            _ => false,
        }
    }

    /// `(nullable, heap type)` of a reference type.
    pub fn as_ref_parts(self) -> Option<(bool, HeapType)> {
        match self {
            ValType::FuncRef => Some((true, HeapType::Func)),
            ValType::ExternRef => Some((true, HeapType::Extern)),
            ValType::Ref(RefType { nullable, heap }) => Some((nullable, heap)),
            _ => None,
        }
    }

    /// `exnref`, the type of a caught exception (`(ref null exn)`).
    pub const EXNREF: ValType = ValType::Ref(RefType { nullable: true, heap: HeapType::Exn });

    /// Whether values of this type are exception references (or null).
    pub fn is_exn_ref(self) -> bool {
        matches!(self.as_ref_parts(), Some((_, HeapType::Exn | HeapType::NoExn)))
    }

    /// Whether values of this type are function references (or null), rather than host references.
    pub fn is_func_ref(self) -> bool {
        matches!(self.as_ref_parts(), Some((_, HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_))))
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
            ValType::Ref(r) => {
                let null = if r.nullable { "null " } else { "" };
                return match r.heap {
                    HeapType::Func => write!(f, "(ref {null}func)"),
                    HeapType::Extern => write!(f, "(ref {null}extern)"),
                    HeapType::NoFunc => write!(f, "(ref {null}nofunc)"),
                    HeapType::NoExtern => write!(f, "(ref {null}noextern)"),
                    HeapType::Exn => write!(f, "(ref {null}exn)"),
                    HeapType::NoExn => write!(f, "(ref {null}noexn)"),
                    HeapType::Concrete(i) if i >= REC_GROUP_LOCAL => {
                        write!(f, "(ref {null}rec.{})", i - REC_GROUP_LOCAL)
                    }
                    HeapType::Concrete(i) => write!(f, "(ref {null}{i})"),
                };
            }
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
    /// This type in engine-wide terms (see [`ValType::canonical`]), as a member of the recursion group `group`
    /// (`(first, count)`) of a module whose earlier types have the engine-wide ids `ids`; `None` if it refers to a
    /// type after its group.
    pub fn canonical(&self, ids: &[u32], group: (u32, u32)) -> Option<FuncType> {
        let earlier = &ids[..(group.0 as usize).min(ids.len())];
        let map =
            |ts: &[ValType]| ts.iter().map(|t| t.canonical(earlier, Some(group))).collect::<Option<Box<[ValType]>>>();
        Some(FuncType { params: map(&self.params)?, results: map(&self.results)? })
    }

    /// This type with group-relative references replaced by the ids of its group's members (see
    /// [`ValType::resolve_group`]).
    pub fn resolve_group(&self, member_ids: &[u32]) -> FuncType {
        let map = |ts: &[ValType]| ts.iter().map(|t| t.resolve_group(member_ids)).collect();
        FuncType { params: map(&self.params), results: map(&self.results) }
    }

    /// Builds a function type (its reference types in normal form, see [`ValType::normal`]).
    pub fn new(params: impl IntoIterator<Item = ValType>, results: impl IntoIterator<Item = ValType>) -> Self {
        Self {
            params: params.into_iter().map(ValType::normal).collect(),
            results: results.into_iter().map(ValType::normal).collect(),
        }
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

    /// Initial size in pages (Wasmtime's name for `limits.min`).
    pub fn minimum(&self) -> u64 {
        self.limits.min
    }

    /// Maximum size in pages, if any (Wasmtime's name for `limits.max`).
    pub fn maximum(&self) -> Option<u64> {
        self.limits.max
    }

    /// Whether it is a 64-bit memory (Wasmtime's name for `memory64`).
    pub fn is_64(&self) -> bool {
        self.memory64
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

    /// The element type (Wasmtime's name for the `element` field).
    pub fn element(&self) -> &ValType {
        &self.element
    }

    /// Initial size in elements.
    pub fn minimum(&self) -> u64 {
        self.limits.min
    }

    /// Maximum size in elements, if any.
    pub fn maximum(&self) -> Option<u64> {
        self.limits.max
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

/// Whether a global may be written (Wasmtime's way of saying [`GlobalType::mutable`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Read-only.
    Const,
    /// Writable.
    Var,
}

impl GlobalType {
    /// A global of `content`, writable if `mutability` is [`Mutability::Var`].
    pub fn new(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType { content, mutable: mutability == Mutability::Var }
    }

    /// The value type (Wasmtime's name for the `content` field).
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// Whether it may be written, as a [`Mutability`].
    pub fn mutability(&self) -> Mutability {
        if self.mutable { Mutability::Var } else { Mutability::Const }
    }
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
    /// An exception tag whose payload is the parameters of the given function type (index into the module's types).
    Tag(TypeIndex),
}

use crate::TypeIndex;
