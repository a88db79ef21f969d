//! Index-space newtypes, so a defined index is never mistaken for an index that counts imports.

macro_rules! entity {
    ($(#[$doc:meta] $name:ident;)*) => {$(
        #[$doc]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub struct $name(u32);

        impl $name {
            /// Wraps a raw index.
            pub const fn from_u32(index: u32) -> Self {
                Self(index)
            }
            /// The raw index.
            pub const fn as_u32(self) -> u32 {
                self.0
            }
            /// The raw index, for indexing a `Vec`.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

entity! {
    /// A type in the module's type section.
    TypeIndex;
    /// A function in the module's function index space (imports first).
    FuncIndex;
    /// A function defined (not imported) by the module.
    DefinedFuncIndex;
    /// A table in the module's table index space (imports first).
    TableIndex;
    /// A table defined by the module.
    DefinedTableIndex;
    /// A memory in the module's memory index space (imports first).
    MemoryIndex;
    /// A memory defined by the module.
    DefinedMemoryIndex;
    /// A global in the module's global index space (imports first).
    GlobalIndex;
    /// A global defined by the module.
    DefinedGlobalIndex;
    /// An exception tag in the module's tag index space (imports first).
    TagIndex;
    /// A tag defined by the module.
    DefinedTagIndex;
    /// An element segment.
    ElemIndex;
    /// A data segment.
    DataIndex;
}
