//! A compiled module's functions as data, for tools that show what the compiler made of a module (`weft explore`):
//! each defined function's machine code and the map from its instructions back to the wasm they came from.

use crate::{Module, Result};
use weft_environ::{CompiledCode, DefinedFuncIndex, FunctionLoc, INLINE_SITE_BIT};

/// One defined function of an eagerly compiled module, as [`Module::compiled_functions`] lists it.
#[derive(Clone)]
pub struct CompiledFunction<'a> {
    index: u32,
    name: Option<&'a str>,
    machine_code: &'a [u8],
    loc: FunctionLoc,
    info: &'a CompiledCode,
}

impl std::fmt::Debug for CompiledFunction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFunction")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("machine_code_len", &self.machine_code.len())
            .finish_non_exhaustive()
    }
}

impl<'a> CompiledFunction<'a> {
    /// The function's index in the module's function index space (imported functions first).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The function's name from the module's name section, as written there (not demangled), if it has one.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// The function's machine code as compiled for the engine's target ([`crate::Engine::target`]). Calls to
    /// other functions are resolved; calls to the runtime's helpers may show the loaded addresses.
    pub fn machine_code(&self) -> &'a [u8] {
        self.machine_code
    }

    /// Where the machine code came from: `(code offset, wasm offset)` pairs sorted by code offset, the code offset
    /// counted from the start of [`CompiledFunction::machine_code`], the wasm offset a byte offset in the module's
    /// binary encoding. The instructions from one entry's code offset up to the next entry's came from that wasm
    /// instruction; `None` marks code that came from no instruction (the prologue, for one). Code inlined from
    /// another function is attributed to the call it replaced, an instruction of this function.
    pub fn address_map(&self) -> impl Iterator<Item = (u32, Option<u32>)> + 'a {
        let (start, end) = (self.loc.start, self.loc.start + self.loc.length);
        let info = self.info;
        let first = info.address_map.partition_point(|&(offset, _)| offset < start);
        info.address_map[first..]
            .iter()
            .take_while(move |&&(offset, _)| offset < end)
            .map(move |&(offset, value)| (offset - start, outermost_offset(info, value)))
    }
}

/// The wasm offset an address-map value stands for in the function that holds the code: for inlined code, the call
/// site the inlining started from.
fn outermost_offset(info: &CompiledCode, mut value: u32) -> Option<u32> {
    // Each site's caller was recorded before the site, so the chain ends; the bound guards a corrupt table.
    for _ in 0..=info.inline_sites.len() {
        if value == u32::MAX {
            return None;
        }
        if value & INLINE_SITE_BIT == 0 {
            return Some(value);
        }
        value = info.inline_sites.get((value & !INLINE_SITE_BIT) as usize)?.caller;
    }
    None
}

impl Module {
    /// The module's defined functions with their machine code and address maps, in index order.
    ///
    /// Only for a module compiled whole: one compiled lazily or tiered ([`crate::Compilation`]) has no code for
    /// functions not yet called, and this fails; compile with
    /// [`Config::compilation`](crate::Config::compilation)`(Compilation::Eager)` to look at every function.
    pub fn compiled_functions(&self) -> Result<Vec<CompiledFunction<'_>>> {
        let code = &self.inner.code;
        if code.lazy().is_some() {
            anyhow::bail!(
                "the module was compiled lazily, so its functions have no code yet: compile it with \
                 Compilation::Eager to list its machine code"
            );
        }
        let text = self.inner.text_as_compiled.as_deref().unwrap_or(code.text());
        let info = code.info();
        let module = &self.inner.module;
        info.functions
            .iter()
            .enumerate()
            .map(|(i, loc)| {
                let index = module.func_index(DefinedFuncIndex::from_u32(info.first_function + i as u32));
                let machine_code = usize::try_from(loc.start)
                    .ok()
                    .and_then(|start| text.get(start..start + loc.length as usize))
                    .ok_or_else(|| anyhow::anyhow!("function {} lies outside the text section", index.as_u32()))?;
                Ok(CompiledFunction {
                    index: index.as_u32(),
                    name: module.func_names.get(&index).map(String::as_str),
                    machine_code,
                    loc: *loc,
                    info,
                })
            })
            .collect()
    }
}
