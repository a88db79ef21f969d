//! Traps and the errors wasm calls return.

use crate::store::StoreOpaque;
use std::fmt;
pub use weft_environ::Trap;
use weft_runtime::UnwindReason;

/// One frame of a [`WasmBacktrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    module_name: Option<String>,
    func_index: u32,
    func_name: Option<String>,
    wasm_offset: Option<u32>,
}

impl FrameInfo {
    /// The module's name (from its name section), if it has one.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }
    /// The function's index in its module.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }
    /// The function's name (from the name section), if it has one.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }
    /// Byte offset, in the module, of the instruction executing in this frame.
    pub fn wasm_offset(&self) -> Option<u32> {
        self.wasm_offset
    }
}

/// The wasm frames active when a trap happened, innermost first. Attached to trap errors; get it with
/// `error.downcast_ref::<WasmBacktrace>()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            let module = frame.module_name.as_deref().unwrap_or("<unknown>");
            write!(f, "  {i:>3}: ")?;
            if let Some(offset) = frame.wasm_offset {
                write!(f, "{offset:#8x} - ")?;
            }
            match &frame.func_name {
                Some(name) => writeln!(f, "{module}!{name}")?,
                None => writeln!(f, "{module}!<wasm function {}>", frame.func_index)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for WasmBacktrace {}

/// Turns the reason a wasm call unwound into the error `Func::call` returns (resuming a host panic).
pub(crate) fn unwind_to_error(store: &StoreOpaque, reason: UnwindReason) -> anyhow::Error {
    match reason {
        UnwindReason::Trap(info) => {
            let frames = info.frames.iter().filter_map(|pc| frame_at(store, *pc)).collect();
            anyhow::Error::new(WasmBacktrace { frames }).context(info.trap)
        }
        UnwindReason::Host(payload) => match payload.downcast::<anyhow::Error>() {
            Ok(e) => *e,
            Err(_) => anyhow::anyhow!("host function failed"),
        },
        UnwindReason::Panic(payload) => std::panic::resume_unwind(payload),
    }
}

fn frame_at(store: &StoreOpaque, pc: usize) -> Option<FrameInfo> {
    let (code, offset) = weft_runtime::lookup_code(pc)?;
    let module = store.instances.iter().find_map(|i| {
        let m = i.module.as_ref()?;
        std::ptr::eq(m.inner.code.info(), &*code).then(|| m.inner.module.clone())
    })?;
    let def = code.functions.iter().position(|f| offset >= f.start && offset < f.start + f.length)?;
    let index = module.func_index(weft_environ::DefinedFuncIndex::from_u32(def as u32));
    Some(FrameInfo {
        module_name: module.name.clone(),
        func_index: index.as_u32(),
        func_name: module.func_names.get(&index).cloned(),
        wasm_offset: code.lookup_wasm_offset(offset),
    })
}
