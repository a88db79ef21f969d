//! The ways WebAssembly execution can trap.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A trap: the reason a WebAssembly computation stopped abnormally.
///
/// The compiler encodes each as a Cranelift trap code; the runtime maps a faulting instruction back to one of these.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Trap {
    /// The wasm call stack exceeded `Config::max_wasm_stack`.
    StackOverflow,
    /// A load or store outside the bounds of a linear memory.
    MemoryOutOfBounds,
    /// A table access outside the bounds of a table.
    TableOutOfBounds,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null table element.
    UninitializedElement,
    /// `call_indirect` to a function of another type.
    BadSignature,
    /// Signed integer overflow (`i32.div_s` of `INT_MIN / -1`, or a float too large for an integer conversion).
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A NaN converted to an integer.
    BadConversionToInteger,
    /// The `unreachable` instruction was executed.
    UnreachableCodeReached,
    /// A null reference was dereferenced.
    NullReference,
    /// Execution was interrupted by the embedder.
    Interrupted,
    /// The store ran out of fuel.
    OutOfFuel,
    /// `call_ref` (or `return_call_ref`) of a null function reference.
    NullFunctionReference,
}

/// Wasmtime's names for the traps Weft names differently, so code written for Wasmtime matches on them unchanged
/// (`Some(Trap::Interrupt)`, `Trap::IndirectCallToNull => ...`); each is the same value as Weft's variant.
#[allow(non_upper_case_globals, reason = "they stand in for enum variants of the same name in Wasmtime")]
impl Trap {
    /// Wasmtime's name for [`Trap::Interrupted`].
    pub const Interrupt: Trap = Trap::Interrupted;
    /// Wasmtime's name for [`Trap::UninitializedElement`] (`call_indirect` through a null element).
    pub const IndirectCallToNull: Trap = Trap::UninitializedElement;
}

impl Trap {
    /// Every trap, in the order of their codes.
    pub const ALL: [Trap; 14] = [
        Trap::StackOverflow,
        Trap::MemoryOutOfBounds,
        Trap::TableOutOfBounds,
        Trap::UndefinedElement,
        Trap::UninitializedElement,
        Trap::BadSignature,
        Trap::IntegerOverflow,
        Trap::IntegerDivisionByZero,
        Trap::BadConversionToInteger,
        Trap::UnreachableCodeReached,
        Trap::NullReference,
        Trap::Interrupted,
        Trap::OutOfFuel,
        Trap::NullFunctionReference,
    ];

    /// A small stable number for the trap, used in compiled code metadata (1-based).
    pub fn code(self) -> u8 {
        Trap::ALL.iter().position(|t| *t == self).map(|i| i as u8 + 1).unwrap_or(u8::MAX)
    }

    /// The trap with the given [`Trap::code`].
    pub fn from_code(code: u8) -> Option<Trap> {
        Trap::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// The message the WebAssembly specification uses for this trap.
    pub fn message(self) -> &'static str {
        match self {
            Trap::StackOverflow => "call stack exhausted",
            Trap::MemoryOutOfBounds => "out of bounds memory access",
            Trap::TableOutOfBounds => "out of bounds table access",
            Trap::UndefinedElement => "undefined element",
            Trap::UninitializedElement => "uninitialized element",
            Trap::BadSignature => "indirect call type mismatch",
            Trap::IntegerOverflow => "integer overflow",
            Trap::IntegerDivisionByZero => "integer divide by zero",
            Trap::BadConversionToInteger => "invalid conversion to integer",
            Trap::UnreachableCodeReached => "unreachable",
            Trap::NullReference => "null reference",
            Trap::Interrupted => "interrupted",
            Trap::OutOfFuel => "all fuel consumed",
            Trap::NullFunctionReference => "null function reference",
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Trap {}
