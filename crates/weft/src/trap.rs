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
    func_offset: Option<u32>,
    /// Source file and line of the instruction, from the module's DWARF line tables, when it has them.
    source: Option<(String, u32)>,
    /// The compiled module the frame's code belongs to (its identity, for core dumps).
    pub(crate) module_id: usize,
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
    /// The source file and line of the instruction, when the module carries DWARF line tables (a `-g` build).
    pub fn source_location(&self) -> Option<(&str, u32)> {
        self.source.as_ref().map(|(file, line)| (file.as_str(), *line))
    }
    /// Byte offset of that instruction from the start of its function's body.
    pub fn func_offset(&self) -> Option<u32> {
        self.func_offset
    }
    /// The instance whose code the frame runs, when `store` holds exactly one instance of the frame's module.
    /// Weft's frames record the code, not the instance (finding it would cost every call a store of its vmctx),
    /// so with several instances of one module this is `None` rather than a guess.
    pub fn instance(&self, store: impl crate::AsContext) -> Option<crate::Instance> {
        unique_instances(&store.as_context().0.opaque, std::slice::from_ref(self)).pop().flatten()
    }
}

/// For each frame, the only instance of its module in `store` (`None` when there are none or several): one pass
/// over the store's instances for all the frames, since a store may hold hundreds of thousands.
fn unique_instances(store: &crate::store::StoreOpaque, frames: &[FrameInfo]) -> Vec<Option<crate::Instance>> {
    // Per module of the frames: the instance found, and whether a second one was.
    let mut found: std::collections::HashMap<usize, (usize, bool)> = std::collections::HashMap::new();
    let wanted: std::collections::HashSet<usize> = frames.iter().map(|f| f.module_id).collect();
    for (index, data) in store.instances.iter().enumerate() {
        if data.module.is_none() {
            continue;
        }
        let id = std::sync::Arc::as_ptr(data.handle.module()) as *const () as usize;
        if wanted.contains(&id) {
            found.entry(id).and_modify(|(_, several)| *several = true).or_insert((index, false));
        }
    }
    frames
        .iter()
        .map(|f| match found.get(&f.module_id) {
            Some(&(index, false)) => Some(crate::Instance { store: store.id, index }),
            _ => None,
        })
        .collect()
}

/// The wasm frames active when a trap happened, innermost first. Attached to trap errors; get it with
/// `error.downcast_ref::<WasmBacktrace>()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// [`FrameInfo::instance`] for every frame, innermost first, looked up in one pass over the store.
    pub fn frame_instances(&self, store: impl crate::AsContext) -> Vec<Option<crate::Instance>> {
        unique_instances(&store.as_context().0.opaque, &self.frames)
    }

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
                Some(name) => write!(f, "{module}!{name}")?,
                None => write!(f, "{module}!<wasm function {}>", frame.func_index)?,
            }
            match &frame.source {
                Some((file, line)) => writeln!(f, " at {file}:{line}")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for WasmBacktrace {}

impl WasmBacktrace {
    /// The backtrace for the compiled-code PCs `pcs` (innermost first); trampolines are left out.
    pub(crate) fn from_pcs(pcs: &[usize]) -> WasmBacktrace {
        WasmBacktrace { frames: pcs.iter().flat_map(|pc| frames_at(*pc)).collect() }
    }
}

/// Turns the reason a wasm call unwound into the error `Func::call` returns (resuming a host panic).
///
/// A trap becomes an error whose outermost context is the [`Trap`] (its `Display` is the spec's message) over the
/// [`WasmBacktrace`]. A host function's error keeps its own type (downcastable) and gains the backtrace of the
/// wasm frames that called the host function as context.
pub(crate) fn unwind_to_error(store: &StoreOpaque, reason: UnwindReason) -> anyhow::Error {
    match reason {
        UnwindReason::Trap(info) => {
            let backtrace = WasmBacktrace::from_pcs(&info.frames);
            if store.engine.config().coredump_on_trap {
                let dump = crate::WasmCoreDump::capture(store, &backtrace);
                anyhow::Error::new(dump).context(backtrace).context(info.trap)
            } else {
                anyhow::Error::new(backtrace).context(info.trap)
            }
        }
        UnwindReason::Host(payload, pcs) => {
            let error = match payload.downcast::<anyhow::Error>() {
                Ok(e) => *e,
                // A host function called directly from the host, throwing.
                Err(payload) => match payload.downcast::<weft_runtime::ExceptionPtr>() {
                    Ok(exn) => {
                        return anyhow::Error::new(crate::Exception::from(crate::ExnRef::handed_out(store, exn.0)));
                    }
                    Err(_) => anyhow::anyhow!("host function failed"),
                },
            };
            let backtrace = WasmBacktrace::from_pcs(&pcs);
            if backtrace.frames.is_empty() || error.downcast_ref::<WasmBacktrace>().is_some() {
                error
            } else {
                error.context(backtrace)
            }
        }
        UnwindReason::Panic(payload) => std::panic::resume_unwind(payload),
        UnwindReason::Exception(exn) => {
            anyhow::Error::new(crate::Exception::from(crate::ExnRef::handed_out(store, exn.0)))
        }
    }
}

/// Demangles Rust and C++ symbol names; other names are returned as they are.
pub(crate) fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}");
    }
    if name.starts_with("_Z")
        && let Ok(symbol) = cpp_demangle::Symbol::new(name)
        && let Ok(d) = symbol.demangle()
    {
        return d;
    }
    name.to_string()
}

/// The wasm frames executing at `pc`, innermost first, from the process-wide code registry (so it names frames of
/// any module, of any store): one frame, or for inlined code one per inlined function plus the function that holds
/// the code. Empty for trampolines and non-wasm code.
pub(crate) fn frames_at(pc: usize) -> Vec<FrameInfo> {
    let Some(found) = weft_runtime::lookup_code(pc) else { return Vec::new() };
    let (code, offset) = (found.code, found.offset);
    let Some(module) = found.module else { return Vec::new() };
    // Functions are laid out in index order, so their starts are sorted: a binary search, not a scan of every
    // function of a large module for each frame.
    let def = code.functions.partition_point(|f| f.start <= offset).wrapping_sub(1);
    let Some(loc) = code.functions.get(def) else { return Vec::new() };
    if offset >= loc.start + loc.length {
        return Vec::new();
    }
    // A lazily compiled function's code holds that function alone, whose defined index is `first_function`.
    let holder = module.func_index(weft_environ::DefinedFuncIndex::from_u32(code.first_function + def as u32));
    let module_id = std::sync::Arc::as_ptr(&module) as *const () as usize;
    let frame = |index: weft_environ::FuncIndex, wasm_offset: Option<u32>| {
        let body_start =
            module.defined_func_index(index).and_then(|d| module.func_body_offsets.get(d.index()).copied());
        FrameInfo {
            module_name: module.name.clone(),
            func_index: index.as_u32(),
            func_name: module.func_names.get(&index).map(|n| demangle(n)),
            wasm_offset,
            func_offset: wasm_offset.zip(body_start).map(|(at, start)| at.saturating_sub(start)),
            source: wasm_offset.zip(module.line_table.as_ref()).and_then(|(at, lines)| {
                let row = lines.lookup(at)?;
                (row.line > 0).then(|| (lines.file_name(row).to_string(), row.line))
            }),
            module_id,
        }
    };
    let locations = code.lookup_wasm_locations(offset);
    if locations.is_empty() {
        return vec![frame(holder, None)];
    }
    locations.iter().map(|l| frame(l.inlined.unwrap_or(holder), Some(l.wasm_offset))).collect()
}
