//! Profiling agents: telling `perf` where compiled wasm functions are and what they are called.
//!
//! Two formats, both process-wide files that any number of engines in the process append to:
//!
//! * **jitdump** (`jit-<pid>.dump` in the current directory): perf's format for JIT code. Each function is a
//!   `JIT_CODE_LOAD` record holding its address, size, name and a copy of its machine code, so that `perf inject
//!   --jit` can write an ELF image per function and `perf report` can annotate it; when the module carries DWARF
//!   line tables, a `JIT_CODE_DEBUG_INFO` record before it maps its instructions to source lines. The file is
//!   also mapped executable once, which is how `perf record` notices it.
//! * **perf map** (`/tmp/perf-<pid>.map`): one `START SIZE name` line per function; perf reads it directly, with
//!   no inject step, but can show names only.
//!
//! And one in-process API: **VTune** (`vtune.rs`), Intel's ITT JIT profiling API, which hands each function to the
//! collector library VTune names in `INTEL_JIT_PROFILER64`, with its source lines when the module has DWARF.

use crate::Result;
use anyhow::Context as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use weft_environ::{CompiledCode, DefinedFuncIndex, FunctionLoc, LineRow, LineTable, Module};
use weft_runtime::CodeMemory;

mod vtune;

/// Which profiler an engine tells about the code it compiles (see [`crate::Config::profiler`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ProfilingStrategy {
    /// No profiler (the default).
    #[default]
    None,
    /// Write a perf jitdump file, `jit-<pid>.dump` in the current directory; use with `perf record -k mono`
    /// and `perf inject --jit`.
    JitDump,
    /// Write a perf map file, `/tmp/perf-<pid>.map`, which `perf report` reads by itself.
    PerfMap,
    /// Report code to Intel VTune through its JIT profiling API (ITT): run the program under VTune, e.g.
    /// `vtune -collect hotspots -- …`, which tells the process where its collector is. Without VTune the
    /// agent does nothing. x86-64 only: elsewhere creating an engine with it fails.
    VTune,
}

/// A function to announce: its name and where it lies in a text section.
pub(crate) struct Symbol {
    pub(crate) name: String,
    pub(crate) loc: FunctionLoc,
}

/// Code as a profiler sees it: machine code at an address, with its metadata and module.
pub(crate) struct CodeView<'a> {
    pub(crate) base: usize,
    pub(crate) text: &'a [u8],
    pub(crate) info: &'a CompiledCode,
    pub(crate) module: Option<&'a Module>,
}

impl<'a> CodeView<'a> {
    /// A loaded module's text section.
    pub(crate) fn of(code: &'a CodeMemory) -> CodeView<'a> {
        CodeView {
            base: code.text_start() as usize,
            text: code.text(),
            info: code.info(),
            module: code.module().map(|m| &**m),
        }
    }
}

/// Receives every piece of code an engine loads, and every function a lazily compiled module compiles.
pub(crate) trait ProfilingAgent: Send + Sync {
    /// `symbols` lie in `code`'s text.
    fn register_view(&self, code: &CodeView<'_>, symbols: &[Symbol]);

    /// `symbols` lie in `code`'s text section.
    fn register(&self, code: &CodeMemory, symbols: &[Symbol]) {
        self.register_view(&CodeView::of(code), symbols)
    }
}

/// The agent for `strategy`; agents of one kind are shared by every engine in the process, since each format has
/// one file per process.
pub(crate) fn agent(strategy: ProfilingStrategy) -> Result<Option<Box<dyn ProfilingAgent>>> {
    static JITDUMP: Mutex<Option<Arc<JitDump>>> = Mutex::new(None);
    static PERFMAP: Mutex<Option<Arc<PerfMap>>> = Mutex::new(None);
    static VTUNE: Mutex<Option<Arc<vtune::VTune>>> = Mutex::new(None);
    let pid = std::process::id();
    Ok(match strategy {
        ProfilingStrategy::None => None,
        ProfilingStrategy::JitDump => {
            Some(Box::new(shared(&JITDUMP, || JitDump::create(Path::new(&format!("jit-{pid}.dump"))))?))
        }
        ProfilingStrategy::PerfMap => {
            Some(Box::new(shared(&PERFMAP, || PerfMap::create(Path::new(&format!("/tmp/perf-{pid}.map"))))?))
        }
        ProfilingStrategy::VTune => Some(Box::new(shared(&VTUNE, vtune::VTune::new)?)),
    })
}

/// The process's one agent of a kind, created on first use. Creation happens under the lock: two engines created
/// at once must not both create (and truncate) the file.
fn shared<A>(cell: &'static Mutex<Option<Arc<A>>>, create: impl FnOnce() -> Result<A>) -> Result<Arc<A>> {
    let mut cell = cell.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(agent) = &*cell {
        return Ok(agent.clone());
    }
    let agent = Arc::new(create()?);
    *cell = Some(agent.clone());
    Ok(agent)
}

impl<A: ProfilingAgent> ProfilingAgent for Arc<A> {
    fn register_view(&self, code: &CodeView<'_>, symbols: &[Symbol]) {
        (**self).register_view(code, symbols)
    }
}

/// The symbols of a compiled module: every defined function, named `module::function` from the name section
/// (demangled) or `wasm-function[N]`, and every entry trampoline.
pub(crate) fn module_symbols(module: &Module, code: &CompiledCode) -> Vec<Symbol> {
    let prefix = module.name.as_deref().map(|n| format!("{n}::")).unwrap_or_default();
    let functions = code.functions.iter().enumerate().map(|(i, loc)| {
        let index = module.func_index(DefinedFuncIndex::from_u32(code.first_function + i as u32));
        let name = match module.func_names.get(&index) {
            Some(name) => crate::trap::demangle(name),
            None => format!("wasm-function[{}]", index.as_u32()),
        };
        Symbol { name: format!("{prefix}{name}"), loc: *loc }
    });
    let trampolines = code
        .array_to_wasm_trampolines
        .iter()
        .zip(&module.types)
        .map(|(loc, ty)| Symbol { name: format!("{prefix}host-to-wasm trampoline {ty}"), loc: *loc });
    functions.chain(trampolines).filter(|s| s.loc.length > 0).collect()
}

/// `/tmp/perf-<pid>.map`.
struct PerfMap {
    file: Mutex<File>,
}

impl PerfMap {
    fn create(path: &Path) -> Result<PerfMap> {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(PerfMap { file: Mutex::new(file) })
    }
}

impl ProfilingAgent for PerfMap {
    fn register_view(&self, code: &CodeView<'_>, symbols: &[Symbol]) {
        let base = code.base;
        let mut lines = String::new();
        for s in symbols {
            // perf reads the rest of the line as the name, so names may contain spaces but not newlines.
            let name = s.name.replace('\n', " ");
            lines.push_str(&format!("{:x} {:x} {name}\n", base + s.loc.start as usize, s.loc.length));
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // Profiling is best effort: a full disk must not fail compilation.
        let _ = file.write_all(lines.as_bytes());
    }
}

/// A jitdump file (format: `tools/perf/Documentation/jitdump-specification.txt` in Linux).
pub(crate) struct JitDump {
    state: Mutex<JitDumpState>,
    _marker: weft_runtime::JitDumpMarker,
}

struct JitDumpState {
    file: File,
    /// Each `JIT_CODE_LOAD` record carries a unique, increasing index.
    next_code_index: u64,
}

const JITDUMP_MAGIC: u32 = 0x4A69_5444;
const JITDUMP_VERSION: u32 = 1;
const JIT_CODE_LOAD: u32 = 0;
const JIT_CODE_DEBUG_INFO: u32 = 2;
#[cfg(target_arch = "x86_64")]
const ELF_MACHINE: u32 = 62; // EM_X86_64
#[cfg(target_arch = "aarch64")]
const ELF_MACHINE: u32 = 183; // EM_AARCH64

impl JitDump {
    pub(crate) fn create(path: &Path) -> Result<JitDump> {
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut header = Vec::with_capacity(40);
        header.extend_from_slice(&JITDUMP_MAGIC.to_le_bytes());
        header.extend_from_slice(&JITDUMP_VERSION.to_le_bytes());
        header.extend_from_slice(&40u32.to_le_bytes()); // size of this header
        header.extend_from_slice(&ELF_MACHINE.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes()); // padding
        header.extend_from_slice(&std::process::id().to_le_bytes());
        header.extend_from_slice(&weft_runtime::monotonic_ns().to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes()); // flags
        file.write_all(&header).with_context(|| format!("cannot write {}", path.display()))?;
        let marker = weft_runtime::JitDumpMarker::new(&file)
            .with_context(|| format!("cannot map {} for perf to find", path.display()))?;
        Ok(JitDump { state: Mutex::new(JitDumpState { file, next_code_index: 0 }), _marker: marker })
    }
}

fn record_header(out: &mut Vec<u8>, id: u32, total_size: usize) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(total_size as u32).to_le_bytes());
    out.extend_from_slice(&weft_runtime::monotonic_ns().to_le_bytes());
}

/// Where the source line changes in the function at `loc`: (code offset in the text, row), from the address map
/// (code offset → wasm offset) and the module's line table (wasm offset → file and line). The first entry is at
/// `loc.start`. Empty for code without lines, such as trampolines.
fn line_changes(lines: &LineTable, code: &CompiledCode, loc: FunctionLoc) -> Vec<(u32, LineRow)> {
    let end = loc.start + loc.length;
    let first = code.address_map.partition_point(|&(offset, _)| offset < loc.start);
    let mut entries: Vec<(u32, LineRow)> = Vec::new();
    for &(offset, wasm) in code.address_map[first..].iter().take_while(|&&(offset, _)| offset < end) {
        // Inlined code gets the inlined function's line: the one a reader of the source would expect.
        let Some(row) = code.innermost_offset(wasm).and_then(|at| lines.lookup(at)) else { continue };
        match entries.last() {
            // The prologue (stack check, frame set-up) has no wasm offset: count it to the function's first line.
            None => entries.push((loc.start, row)),
            Some((_, last)) if (last.file, last.line) != (row.file, row.line) => entries.push((offset, row)),
            Some(_) => {}
        }
    }
    entries
}

/// The `JIT_CODE_DEBUG_INFO` record for the function at `loc` (which perf wants before its `JIT_CODE_LOAD`): an
/// entry wherever the source line changes ([`line_changes`]). Nothing for code without lines, such as trampolines.
fn write_debug_info(out: &mut Vec<u8>, lines: &LineTable, code: &CompiledCode, loc: FunctionLoc, base: u64) {
    let entries: Vec<(u64, LineRow)> =
        line_changes(lines, code, loc).into_iter().map(|(offset, row)| (base + u64::from(offset), row)).collect();
    if entries.is_empty() {
        return;
    }
    let size: usize = 16 + 16 + entries.iter().map(|(_, row)| 16 + lines.file_name(*row).len() + 1).sum::<usize>();
    record_header(out, JIT_CODE_DEBUG_INFO, size);
    out.extend_from_slice(&(base + u64::from(loc.start)).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (addr, row) in entries {
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&row.line.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // discriminator
        out.extend_from_slice(lines.file_name(row).replace('\0', " ").as_bytes());
        out.push(0);
    }
}

impl ProfilingAgent for JitDump {
    fn register_view(&self, code: &CodeView<'_>, symbols: &[Symbol]) {
        let base = code.base as u64;
        let text = code.text;
        let pid = std::process::id();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        let lines = code.module.and_then(|m| m.line_table.as_ref());
        for s in symbols {
            let addr = base + u64::from(s.loc.start);
            let bytes = &text[s.loc.start as usize..][..s.loc.length as usize];
            if let Some(lines) = lines {
                write_debug_info(&mut out, lines, code.info, s.loc, base);
            }
            let name = s.name.replace('\0', " ");
            record_header(&mut out, JIT_CODE_LOAD, 16 + 40 + name.len() + 1 + bytes.len());
            out.extend_from_slice(&pid.to_le_bytes());
            out.extend_from_slice(&pid.to_le_bytes()); // tid: the records describe code, not a thread
            out.extend_from_slice(&addr.to_le_bytes()); // vma
            out.extend_from_slice(&addr.to_le_bytes()); // code_addr
            out.extend_from_slice(&u64::from(s.loc.length).to_le_bytes());
            out.extend_from_slice(&state.next_code_index.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(bytes);
            state.next_code_index += 1;
        }
        // Profiling is best effort: a full disk must not fail compilation.
        let _ = state.file.write_all(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Module};

    #[test]
    fn jitdump_records_match_the_loaded_code() {
        let path = std::env::temp_dir().join(format!("weft-jitdump-unit-{}.dump", std::process::id()));
        let agent = JitDump::create(&path).unwrap();
        let module = Module::new(
            &Engine::default(),
            r#"(module $m (func $f (export "f") (result i32) i32.const 1) (func (param i64) (result i64) local.get 0))"#,
        )
        .unwrap();
        let code = &module.inner.code;
        let symbols = module_symbols(&module.inner.module, code.info());
        agent.register(code, &symbols);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        assert_eq!(u32_at(20), std::process::id(), "the header names this process");
        let mut at = 40;
        let mut found = Vec::new();
        while at < bytes.len() {
            let size = u32_at(at + 4) as usize;
            if u32_at(at) == JIT_CODE_LOAD {
                let name_start = at + 56;
                let name_len = bytes[name_start..].iter().position(|&b| b == 0).unwrap();
                let name = String::from_utf8(bytes[name_start..name_start + name_len].to_vec()).unwrap();
                let code_bytes = bytes[name_start + name_len + 1..at + size].to_vec();
                found.push((u64_at(at + 32), u64_at(at + 40), name, code_bytes, u64_at(at + 48)));
            }
            at += size;
        }
        assert_eq!(found.len(), symbols.len());
        let base = code.text_start() as u64;
        for (i, (symbol, (addr, size, name, code_bytes, index))) in symbols.iter().zip(&found).enumerate() {
            assert_eq!(*addr, base + u64::from(symbol.loc.start), "{name}");
            assert_eq!(*size, u64::from(symbol.loc.length), "{name}");
            assert_eq!(name, &symbol.name);
            assert_eq!(&code_bytes[..], &code.text()[symbol.loc.start as usize..][..symbol.loc.length as usize]);
            assert_eq!(*index, i as u64, "code indices count up");
        }
        let names: Vec<&str> = found.iter().map(|f| f.2.as_str()).collect();
        assert_eq!(names[..2], ["m::f", "m::wasm-function[1]"]);
    }

    /// A module with hand-made DWARF: a line program saying the `n`th operator of `$sum` is on line `100 + n` of
    /// `/src/calc.c`.
    pub(super) fn module_with_dwarf() -> Vec<u8> {
        use gimli::write::{Address, DwarfUnit, EndianVec, LineProgram, LineString, Sections};
        use gimli::{Encoding, Format, LineEncoding, LittleEndian};
        let wasm = wat::parse_str(
            r#"(module $calc (func $sum (export "sum") (param i32 i32) (result i32)
                local.get 0 local.get 1 i32.add i32.const 3 i32.mul))"#,
        )
        .unwrap();
        let mut code_start = 0;
        let mut offsets = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            match payload.unwrap() {
                wasmparser::Payload::CodeSectionStart { unchecked_range, .. } => code_start = unchecked_range.start,
                wasmparser::Payload::CodeSectionEntry(body) => {
                    let mut ops = body.get_operators_reader().unwrap();
                    while !ops.eof() {
                        offsets.push(ops.read_with_offset().unwrap().1 - code_start);
                    }
                }
                _ => {}
            }
        }
        let encoding = Encoding { format: Format::Dwarf32, version: 4, address_size: 4 };
        let mut program = LineProgram::new(
            encoding,
            LineEncoding::default(),
            LineString::String(b"/src".to_vec()),
            None,
            LineString::String(b"calc.c".to_vec()),
            None,
        );
        let dir = program.default_directory();
        let file = program.add_file(LineString::String(b"calc.c".to_vec()), dir, None);
        program.begin_sequence(Some(Address::Constant(offsets[0])));
        for (n, offset) in offsets.iter().enumerate() {
            program.row().address_offset = offset - offsets[0];
            program.row().file = file;
            program.row().line = 100 + n as u64;
            program.generate_row();
        }
        program.end_sequence(offsets.last().unwrap() - offsets[0] + 1);
        let mut dwarf = DwarfUnit::new(encoding);
        dwarf.unit.line_program = program;
        // As compilers do: the unit names its compilation directory, which DWARF 4 file entries are relative to.
        let root = dwarf.unit.root();
        let comp_dir = gimli::write::AttributeValue::String(b"/src".to_vec());
        dwarf.unit.get_mut(root).set(gimli::DW_AT_comp_dir, comp_dir);
        let mut sections = Sections::new(EndianVec::new(LittleEndian));
        dwarf.write(&mut sections).unwrap();
        let mut out = wasm;
        sections
            .for_each(|id, data| -> Result<(), ()> {
                if !data.slice().is_empty() {
                    append_custom_section(&mut out, id.name(), data.slice());
                }
                Ok(())
            })
            .unwrap();
        out
    }

    fn append_custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
        fn leb(out: &mut Vec<u8>, mut v: usize) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                out.push(if v == 0 { byte } else { byte | 0x80 });
                if v == 0 {
                    break;
                }
            }
        }
        let mut payload = Vec::new();
        leb(&mut payload, name.len());
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        wasm.push(0);
        leb(wasm, payload.len());
        wasm.extend_from_slice(&payload);
    }

    #[test]
    fn jitdump_maps_instructions_to_dwarf_source_lines() {
        let module = Module::new(&Engine::default(), module_with_dwarf()).unwrap();
        let lines = module.inner.module.line_table.as_ref().expect("the DWARF line program was read");
        assert_eq!(lines.files, ["/src/calc.c"]);
        assert_eq!(lines.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [100, 101, 102, 103, 104, 105]);
        let path = std::env::temp_dir().join(format!("weft-jitdump-dwarf-{}.dump", std::process::id()));
        let agent = JitDump::create(&path).unwrap();
        let code = &module.inner.code;
        agent.register(code, &module_symbols(&module.inner.module, code.info()));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let (mut at, mut kinds, mut entries) = (40, Vec::new(), Vec::new());
        let sum = code.text_start() as u64 + u64::from(code.info().functions[0].start);
        while at < bytes.len() {
            let (id, size) = (u32_at(at), u32_at(at + 4) as usize);
            kinds.push(id);
            if id == JIT_CODE_DEBUG_INFO {
                assert_eq!(u64_at(at + 16), sum, "the record names the function's address");
                let mut entry = at + 32;
                for _ in 0..u64_at(at + 24) {
                    let (addr, line) = (u64_at(entry), u32_at(entry + 8));
                    let name_len = bytes[entry + 16..].iter().position(|&b| b == 0).unwrap();
                    assert_eq!(&bytes[entry + 16..entry + 16 + name_len], b"/src/calc.c");
                    entries.push((addr, line));
                    entry += 16 + name_len + 1;
                }
                assert_eq!(entry, at + size, "the record's size covers its entries exactly");
            }
            at += size;
        }
        assert_eq!(kinds[..2], [JIT_CODE_DEBUG_INFO, JIT_CODE_LOAD], "line info precedes the code it describes");
        assert_eq!(kinds.iter().filter(|&&k| k == JIT_CODE_DEBUG_INFO).count(), 1, "trampolines have no lines");
        let len = u64::from(code.info().functions[0].length);
        assert!(entries.iter().all(|&(addr, _)| addr >= sum && addr < sum + len), "{entries:x?}");
        assert_eq!(entries[0].0, sum, "the prologue counts to the first line with code");
        assert!(entries.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 != w[1].1), "{entries:?}");
        let lines: std::collections::BTreeSet<u32> = entries.iter().map(|e| e.1).collect();
        assert!(lines.len() >= 3 && lines.iter().all(|l| (100..=105).contains(l)), "{lines:?}");
    }
}
