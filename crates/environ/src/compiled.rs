//! What the compiler hands the runtime: machine code plus the tables needed to run it and explain its traps.

use crate::{FuncIndex, Trap, TypeIndex};
use serde::{Deserialize, Serialize};

/// A range of the text section.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionLoc {
    /// Offset of the first byte within the text section.
    pub start: u32,
    /// Length in bytes.
    pub length: u32,
}

/// A trapping instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapSite {
    /// Offset of the instruction within the text section.
    pub code_offset: u32,
    /// Which trap it raises.
    pub trap: Trap,
}

/// A call inside a `try_table`: where an exception thrown by the callee (or by anything it calls) resumes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionHandlerSite {
    /// Offset within the text section of the call's return address (how the unwinder finds the frame's call).
    pub return_offset: u32,
    /// Offset within the text section of the handler (the `try_table`'s catch dispatch).
    pub handler_offset: u32,
    /// The calling frame's stack pointer at the call is its frame pointer minus this many bytes.
    pub sp_to_fp: u32,
}

/// An address-map value with this bit set is not a wasm offset but an index into [`CompiledCode::inline_sites`]:
/// the instruction came from a function inlined into the one whose code holds it.
pub const INLINE_SITE_BIT: u32 = 1 << 31;

/// Where an instruction of inlined code came from: an instruction of `func` at `wasm_offset`, in the copy of `func`
/// inlined at the call `caller` (an address-map value: the call's wasm offset in the function that holds the code,
/// or, for a call that was itself inlined, another site).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InlineSite {
    /// The inlined function.
    pub func: FuncIndex,
    /// Byte offset, in the module, of the instruction within `func`.
    pub wasm_offset: u32,
    /// The call that was replaced by this copy of `func`.
    pub caller: u32,
}

/// One wasm frame of the code at a machine-code offset: the function (`None` for the function that holds the code)
/// and the wasm offset executing in it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WasmLocation {
    /// The inlined function, or `None` for the function the code belongs to.
    pub inlined: Option<FuncIndex>,
    /// Byte offset, in the module, of the instruction executing in that function.
    pub wasm_offset: u32,
}

/// A runtime function the code calls by absolute address (filled in when the code is loaded).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs, reason = "the names say which libm operation each one is")]
pub enum Libcall {
    CeilF32,
    CeilF64,
    FloorF32,
    FloorF64,
    TruncF32,
    TruncF64,
    NearestF32,
    NearestF64,
    FmaF32,
    FmaF64,
    /// The runtime's lazy-compilation entry, which the compile stubs of a lazily compiled module jump to.
    LazyEntry,
}

/// A place in the text section where the loader writes a libcall's absolute address (8 bytes, little-endian).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibcallRelocation {
    /// Offset of the 8-byte field within the text section.
    pub offset: u32,
    /// The function whose address goes there.
    pub libcall: Libcall,
    /// Added to the address.
    pub addend: i64,
}

/// A direct call, in a lazily compiled function, to another function of its module whose code was final (optimised)
/// when the caller was compiled: the loader writes the callee's address relative to the call once it places the
/// caller.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRelocation {
    /// Offset within the text of the call instruction's displacement field (x86-64: its 4-byte `rel32`; aarch64:
    /// the `bl` instruction).
    pub offset: u32,
    /// The callee's defined index.
    pub callee: u32,
    /// Added to the callee's address (x86-64: -4, the field's distance from the end of the instruction).
    pub addend: i64,
    /// `bl` (aarch64) rather than `rel32` (x86-64).
    pub arm64: bool,
}

/// Writes the displacement `delta` (target minus the field's address, addend included) of the direct call whose
/// field is at `text[at..]`: x86-64's 4-byte `rel32`, or aarch64's `bl` instruction (a signed 26-bit count of
/// instructions, so a reach of 128 MiB either way). `false` when the target is out of reach or the field outside
/// `text`; the linker and the loader of lazily compiled code share it.
pub fn patch_call(text: &mut [u8], at: usize, delta: i64, arm64: bool) -> bool {
    let Some(field) = at.checked_add(4).and_then(|end| text.get_mut(at..end)) else { return false };
    if arm64 {
        if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
            return false;
        }
        let insn = u32::from_le_bytes((&*field).try_into().expect("4 bytes"));
        field.copy_from_slice(&((insn & 0xfc00_0000) | ((delta >> 2) as u32 & 0x03ff_ffff)).to_le_bytes());
    } else {
        let Ok(value) = i32::try_from(delta) else { return false };
        field.copy_from_slice(&value.to_le_bytes());
    }
    true
}

/// Where a function compiled for native debug information keeps its vmctx and its wasm locals: each in a stack
/// slot of its own for the whole function, at a fixed offset from the frame pointer (negative: below it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugFrame {
    /// Frame-pointer offset of the slot holding the vmctx pointer.
    pub vmctx: i32,
    /// Frame-pointer offset and size in bytes of each wasm local's slot, by local index (parameters first).
    pub locals: Vec<(i32, u8)>,
}

/// Where the stubs of a lazily compiled module are in its text: for defined function `i`, the *compile stub* at
/// `start + i * stride` (the function's code-table entry until it is compiled: it passes `i` to the runtime's lazy
/// entry, which compiles the function and jumps to it) and the *dispatch stub* at `start + i * stride + dispatch`
/// (the function's `VMFuncRef::wasm_call`: it jumps through the code table, so calls through function references
/// reach the function's current code).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LazyStubs {
    /// Text offset of function 0's compile stub.
    pub start: u32,
    /// Bytes from one function's stubs to the next one's.
    pub stride: u32,
    /// Offset of a function's dispatch stub from its compile stub.
    pub dispatch: u32,
}

impl LazyStubs {
    /// Text offset of defined function `def`'s compile stub.
    pub fn compile_stub(&self, def: u32) -> u32 {
        self.start + def * self.stride
    }
    /// Text offset of defined function `def`'s dispatch stub.
    pub fn dispatch_stub(&self, def: u32) -> u32 {
        self.compile_stub(def) + self.dispatch
    }
}

/// A compiled module's code and metadata.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CompiledCode {
    /// The machine code of every function and trampoline, relocated except for libcalls.
    pub text: Vec<u8>,
    /// Location of each defined function, by defined index counted from `first_function`.
    pub functions: Vec<FunctionLoc>,
    /// The defined index of `functions[0]`: 0 for a whole module; for one lazily compiled function, its index.
    pub first_function: u32,
    /// For a lazily compiled module's text (trampolines and stubs, no functions), where its stubs are.
    pub lazy_stubs: Option<LazyStubs>,
    /// The host-to-wasm entry trampoline of each type, by type index.
    pub array_to_wasm_trampolines: Vec<FunctionLoc>,
    /// Trapping instructions, sorted by offset.
    pub traps: Vec<TrapSite>,
    /// Calls that have an exception handler, sorted by return offset.
    pub exception_handlers: Vec<ExceptionHandlerSite>,
    /// `(code offset, wasm location)` pairs, sorted by code offset: the instructions from a code offset up to the
    /// next entry came from that location: a wasm byte offset, `u32::MAX` (none, as in prologues), or an index into
    /// `inline_sites` marked with [`INLINE_SITE_BIT`].
    pub address_map: Vec<(u32, u32)>,
    /// The origins of inlined instructions, referred to by `address_map`.
    pub inline_sites: Vec<InlineSite>,
    /// Libcall addresses to fill in.
    pub libcall_relocations: Vec<LibcallRelocation>,
    /// Calls to other functions' final code, to fill in when the code is placed (lazily compiled functions only).
    pub call_relocations: Vec<CallRelocation>,
    /// The `.eh_frame` section describing how to unwind every function (one CIE, one FDE per function, zero
    /// terminator), for registration with the system unwinder.
    pub eh_frame: Vec<u8>,
    /// Offsets in `eh_frame` of 8-byte fields that hold an offset into the text section: the loader adds the text
    /// section's address to each.
    pub eh_frame_relocations: Vec<u32>,
    /// With native debug information, where each defined function keeps its vmctx and locals (by defined index);
    /// empty without.
    pub debug_frames: Vec<DebugFrame>,
}

impl CompiledCode {
    /// The trap raised by the instruction at `code_offset`, if it is a trap site.
    pub fn lookup_trap(&self, code_offset: u32) -> Option<Trap> {
        let i = self.traps.binary_search_by_key(&code_offset, |t| t.code_offset).ok()?;
        Some(self.traps[i].trap)
    }

    /// The wasm byte offset of the instruction at `code_offset`, in the innermost function it came from (the
    /// inlined one, for inlined code).
    pub fn lookup_wasm_offset(&self, code_offset: u32) -> Option<u32> {
        let i = match self.address_map.binary_search_by_key(&code_offset, |a| a.0) {
            Ok(i) => i,
            Err(0) => return None,
            Err(i) => i - 1,
        };
        self.innermost_offset(self.address_map[i].1)
    }

    /// The wasm offset an address-map value stands for in its innermost function (the first of
    /// [`CompiledCode::expand_location`], without building the whole chain).
    pub fn innermost_offset(&self, value: u32) -> Option<u32> {
        if value == u32::MAX {
            None
        } else if value & INLINE_SITE_BIT != 0 {
            self.inline_sites.get((value & !INLINE_SITE_BIT) as usize).map(|site| site.wasm_offset)
        } else {
            Some(value)
        }
    }

    /// The wasm frames executing at `code_offset`, innermost first: for inlined code, each inlined function with
    /// its offset, out to the function that holds the code; otherwise that function alone. Empty where the code
    /// has no wasm location (prologues, trampolines).
    pub fn lookup_wasm_locations(&self, code_offset: u32) -> Vec<WasmLocation> {
        let i = match self.address_map.binary_search_by_key(&code_offset, |a| a.0) {
            Ok(i) => i,
            Err(0) => return Vec::new(),
            Err(i) => i - 1,
        };
        self.expand_location(self.address_map[i].1)
    }

    /// The frames an address-map value stands for, innermost first (see [`CompiledCode::lookup_wasm_locations`]).
    pub fn expand_location(&self, mut value: u32) -> Vec<WasmLocation> {
        let mut frames = Vec::new();
        // Each site's caller was recorded before the site, so the chain ends; the bound guards a corrupt table.
        while value != u32::MAX && value & INLINE_SITE_BIT != 0 && frames.len() <= self.inline_sites.len() {
            let Some(site) = self.inline_sites.get((value & !INLINE_SITE_BIT) as usize) else { return frames };
            frames.push(WasmLocation { inlined: Some(site.func), wasm_offset: site.wasm_offset });
            value = site.caller;
        }
        if value != u32::MAX && value & INLINE_SITE_BIT == 0 {
            frames.push(WasmLocation { inlined: None, wasm_offset: value });
        }
        frames
    }

    /// The handler of the call whose return address is at `return_offset`, if that call is inside a `try_table`.
    pub fn lookup_exception_handler(&self, return_offset: u32) -> Option<ExceptionHandlerSite> {
        let i = self.exception_handlers.binary_search_by_key(&return_offset, |h| h.return_offset).ok()?;
        Some(self.exception_handlers[i])
    }

    /// The entry trampoline for functions of type `ty`.
    pub fn trampoline(&self, ty: TypeIndex) -> FunctionLoc {
        self.array_to_wasm_trampolines[ty.index()]
    }
}
