//! Native debug information (`Config::debug_info`): a module's DWARF rewritten for the machine code compiled from
//! it, in an in-memory ELF image that gdb reads through its JIT interface.
//!
//! Compilers targeting wasm describe a program with addresses that are byte offsets into the code section. Each
//! such address is mapped to the machine code compiled from that wasm instruction, through the address map the
//! compiler records:
//!
//! * **line programs** are rebuilt, one sequence per compiled function, from the machine code's own order: each
//!   run of instructions gets the source row of the wasm instruction it came from, so `break file.c:LINE`,
//!   `step` and `next` work on machine addresses;
//! * **the DIE tree** (compile units, subprograms, types, variables, scopes) is carried over with its addresses
//!   mapped (a subprogram's `DW_AT_high_pc` length becomes its machine code's length), so `break function`, `bt`
//!   with function names and `ptype` work;
//! * **variable locations** are not mapped yet (they name wasm locals and linear-memory addresses that live in
//!   registers and the instance's memory): they are dropped, so a debugger shows such variables as optimised out
//!   rather than wrong.
//!
//! The image also carries a symbol per compiled function and trampoline and the code's `.eh_frame`, so a debugger
//! unwinds through wasm frames by the same tables the runtime's unwinder uses. Malformed DWARF never fails a
//! compilation: what cannot be read is left out and reported as a warning.

use anyhow::{Context, Result};
use gimli::write::{self, Address, AttributeValue as WriteValue, ConvertLineRow, EndianVec};
use gimli::{EndianSlice, LittleEndian, constants};
use object::elf;
use object::write::elf::{FileHeader, SectionHeader, Sym, Writer};
use weft_environ::{CompiledCode, DwarfSections, Module};
use weft_runtime::CodeMemory;

/// Maps wasm DWARF addresses (code-section offsets) to the addresses of the machine code compiled from them.
struct AddressMapper<'a> {
    dwarf: &'a DwarfSections,
    code: &'a CompiledCode,
    text_start: u64,
    /// Per defined function, `(wasm module offset, code offset)` pairs sorted by wasm offset, then code offset.
    by_wasm_offset: Vec<Vec<(u32, u32)>>,
}

impl<'a> AddressMapper<'a> {
    fn new(dwarf: &'a DwarfSections, code: &'a CompiledCode, text_start: u64) -> Self {
        let mut by_wasm_offset = vec![Vec::new(); code.functions.len()];
        let mut func = 0;
        for &(code_offset, value) in &code.address_map {
            while func < code.functions.len() && code_offset >= code.functions[func].start + code.functions[func].length
            {
                func += 1;
            }
            let Some(loc) = code.functions.get(func) else { break };
            if code_offset < loc.start {
                continue;
            }
            if let Some(wasm) = code.innermost_offset(value) {
                by_wasm_offset[func].push((wasm, code_offset));
            }
        }
        for pairs in &mut by_wasm_offset {
            pairs.sort_unstable();
        }
        AddressMapper { dwarf, code, text_start, by_wasm_offset }
    }

    /// The defined function whose body holds module offset `at`, or ends exactly there.
    fn function_at(&self, at: u32) -> Option<usize> {
        let ranges = &self.dwarf.func_body_ranges;
        let i = ranges.partition_point(|&(start, _)| start <= at).checked_sub(1)?;
        (at <= ranges[i].1 && i < self.code.functions.len()).then_some(i)
    }

    /// The machine address of DWARF address `address`: the first machine instruction compiled from the wasm
    /// instruction there (or, for an address between instructions, from the next one); a function's end maps to
    /// the end of its machine code. `None` outside every function.
    fn native(&self, address: u64) -> Option<u64> {
        let at = u32::try_from(address).ok()?.checked_add(self.dwarf.code_section_start)?;
        let func = self.function_at(at)?;
        let loc = self.code.functions[func];
        let (body_start, body_end) = self.dwarf.func_body_ranges[func];
        let code_offset = if at == body_end {
            loc.start + loc.length
        } else if at <= body_start {
            loc.start
        } else {
            let pairs = &self.by_wasm_offset[func];
            let i = pairs.partition_point(|&(wasm, _)| wasm < at);
            pairs.get(i).map_or(loc.start + loc.length, |&(_, code_offset)| code_offset)
        };
        Some(self.text_start + u64::from(code_offset))
    }
}

/// Builds the ELF image describing `code` (loaded at its final addresses) with `module`'s DWARF. Returns the image
/// and the warnings about DWARF that had to be left out.
pub(crate) fn gdb_image(module: &Module, code: &CodeMemory) -> Result<(Vec<u8>, Vec<String>)> {
    let info = code.info();
    let text_start = code.text_start() as u64;
    let mut warnings = Vec::new();
    let mut dwarf_sections: Vec<(&'static str, Vec<u8>)> = Vec::new();
    if let Some(dwarf) = &module.dwarf {
        match transform_dwarf(module, dwarf, info, text_start, &mut warnings) {
            Ok(sections) => dwarf_sections = sections,
            Err(e) => warnings.push(format!("the module's DWARF cannot be read, debug information left out: {e:#}")),
        }
    }
    let mut symbols: Vec<(String, u64, u64)> = Vec::new();
    for (i, loc) in info.functions.iter().enumerate() {
        let index = module.func_index(weft_environ::DefinedFuncIndex::from_u32(i as u32));
        let name =
            module.func_names.get(&index).cloned().unwrap_or_else(|| format!("wasm-function[{}]", index.as_u32()));
        symbols.push((name, text_start + u64::from(loc.start), u64::from(loc.length)));
    }
    for (i, loc) in info.array_to_wasm_trampolines.iter().enumerate() {
        if loc.length > 0 {
            symbols.push((
                format!("weft-array-to-wasm-trampoline[{i}]"),
                text_start + u64::from(loc.start),
                u64::from(loc.length),
            ));
        }
    }
    let image = write_elf(text_start, code.text().len() as u64, code.eh_frame(), &dwarf_sections, &symbols)
        .context("cannot write the debug image")?;
    Ok((image, warnings))
}

/// The module's DWARF with machine addresses, as `(section name, contents)`.
fn transform_dwarf(
    module: &Module,
    dwarf: &DwarfSections,
    code: &CompiledCode,
    text_start: u64,
    warnings: &mut Vec<String>,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let read = gimli::read::Dwarf::load(|id| -> gimli::Result<_> {
        Ok(EndianSlice::new(dwarf.section(id.name()), LittleEndian))
    })?;
    let mapper = AddressMapper::new(dwarf, code, text_start);
    let frames = Frames { module, code };
    // Addresses nothing was compiled from (dead code the wasm linker kept a tombstone for) become 0.
    let convert_address = |address: u64| Some(Address::Constant(mapper.native(address).unwrap_or(0)));

    let mut out = write::Dwarf::new();
    let mut units = out.convert(&read)?;
    while let Some((mut unit, root)) = units.read_unit()? {
        let encoding = gimli::Encoding { address_size: 8, ..unit.read_unit.encoding() };
        unit.unit.set_encoding(encoding);
        if let Some(program) = unit.read_line_program(Some(encoding), None)? {
            let (program, files) = rebuild_line_program(program, &mapper)?;
            unit.set_line_program(program, files);
        }
        let root_id = unit.unit.root();
        convert_entry(&mut unit, root_id, &root, &mapper, &convert_address, None, warnings);
        // The defined function of each enclosing subprogram, with its depth: variables find their frame by it.
        let mut scopes: Vec<(isize, Option<usize>)> = Vec::new();
        let mut entry = root;
        while let Some(id) = unit.read_entry(&mut entry)? {
            let Some(id) = id else { continue };
            while scopes.last().is_some_and(|(depth, _)| *depth >= entry.depth) {
                scopes.pop();
            }
            if entry.tag == constants::DW_TAG_subprogram {
                let func = low_pc(&entry).and_then(|low| {
                    let at = u32::try_from(low).ok()?.checked_add(dwarf.code_section_start)?;
                    mapper.function_at(at)
                });
                scopes.push((entry.depth, func));
            }
            let frame = scopes.last().and_then(|(_, func)| *func).and_then(|func| frames.frame(func));
            let id = unit.add_entry(Some(id), &entry);
            convert_entry(&mut unit, id, &entry, &mapper, &convert_address, frame.as_ref(), warnings);
        }
    }
    let mut sections = write::Sections::new(EndianVec::new(LittleEndian));
    out.write(&mut sections)?;
    let mut result = Vec::new();
    sections.for_each(|id, data| -> gimli::write::Result<()> {
        if !data.slice().is_empty() {
            result.push((id.name(), data.slice().to_vec()));
        }
        Ok(())
    })?;
    Ok(result)
}

/// Copies `entry`'s attributes to `id` with addresses mapped. Variable locations and frame bases are left out
/// (they describe wasm locals and linear memory, not machine state); an attribute that cannot be converted is
/// left out with a warning, the rest of the entry kept.
fn convert_entry<R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'_, R>,
    id: write::UnitEntryId,
    entry: &write::ConvertUnitEntry<'_, R>,
    mapper: &AddressMapper<'_>,
    convert_address: &dyn Fn(u64) -> Option<Address>,
    frame: Option<&FrameLocations>,
    warnings: &mut Vec<String>,
) {
    let low_pc = low_pc(entry);
    for attr in &entry.attrs {
        match attr.name() {
            name @ (constants::DW_AT_location | constants::DW_AT_frame_base) => {
                // Expressions over wasm state become expressions over the frame; what cannot be (location lists
                // for now, the operand stack, a global location outside any function) is left out, which a
                // debugger shows as optimised out.
                let gimli::AttributeValue::Exprloc(expression) = attr.value() else { continue };
                let translated = frame.and_then(|frame| {
                    translate_expression(
                        expression,
                        entry.read_unit.encoding(),
                        frame,
                        name == constants::DW_AT_frame_base,
                    )
                });
                if let Some(expression) = translated {
                    unit.unit.get_mut(id).set(name, WriteValue::Exprloc(expression));
                }
                continue;
            }
            constants::DW_AT_high_pc => {
                if let (Some(len), Some(low)) = (attr.udata_value(), low_pc) {
                    // A length: the machine code's, from the mapped start to the mapped end.
                    let (start, end) = (mapper.native(low).unwrap_or(0), mapper.native(low + len).unwrap_or(0));
                    unit.unit.get_mut(id).set(attr.name(), WriteValue::Udata(end.saturating_sub(start)));
                    continue;
                }
            }
            _ => {}
        }
        match unit.convert_attribute_value(entry.read_unit, attr, convert_address) {
            Ok(value) => unit.unit.get_mut(id).set(attr.name(), value),
            Err(e) => {
                if warnings.len() < 20 {
                    warnings.push(format!(
                        "DWARF attribute {} of the entry at {:#x} left out: {e}",
                        attr.name(),
                        entry.offset.0
                    ))
                }
            }
        }
    }
}

/// The `DW_AT_low_pc` of `entry`, as a wasm DWARF address.
fn low_pc<R: gimli::Reader<Offset = usize>>(entry: &write::ConvertUnitEntry<'_, R>) -> Option<u64> {
    let attr = entry.attrs.iter().find(|a| a.name() == constants::DW_AT_low_pc)?;
    entry.read_unit.attr_address(attr.value()).ok().flatten()
}

/// The DWARF number of the frame pointer register.
const FRAME_POINTER: gimli::Register =
    if cfg!(target_arch = "aarch64") { gimli::Register(29) } else { gimli::Register(6) };

/// Where the wasm state a function's DWARF refers to lives in its machine frame.
struct FrameLocations {
    /// Frame-pointer offsets of the vmctx and locals.
    frame: weft_environ::DebugFrame,
    /// Offset in the vmctx of the pointer to memory 0's definition, if the module has a memory.
    memory_pointer: Option<u32>,
    /// vmctx offset of each global's value, by global index, for the globals the module defines.
    global_values: Vec<Option<u32>>,
}

/// The frame layouts of a module's compiled functions.
struct Frames<'a> {
    module: &'a Module,
    code: &'a CompiledCode,
}

impl Frames<'_> {
    fn frame(&self, func: usize) -> Option<FrameLocations> {
        let frame = self.code.debug_frames.get(func)?.clone();
        let offsets = weft_environ::VMOffsets::new(self.module);
        let memory_pointer =
            (!self.module.memories.is_empty()).then(|| offsets.memory_pointer(weft_environ::MemoryIndex::from_u32(0)));
        let global_values = (0..self.module.globals.len() as u32)
            .map(|g| {
                let defined = self.module.defined_global_index(weft_environ::GlobalIndex::from_u32(g))?;
                Some(offsets.defined_global(defined))
            })
            .collect();
        Some(FrameLocations { frame, memory_pointer, global_values })
    }
}

/// Appends the operations that push the vmctx pointer.
fn push_vmctx(out: &mut write::Expression, frame: &FrameLocations) {
    out.op_breg(FRAME_POINTER, i64::from(frame.frame.vmctx));
    out.op_deref();
}

/// Appends the operations that push memory 0's base address.
fn push_memory_base(out: &mut write::Expression, frame: &FrameLocations) -> Option<()> {
    push_vmctx(out, frame);
    out.op_plus_uconst(u64::from(frame.memory_pointer?));
    out.op_deref();
    out.op_deref();
    Some(())
}

/// Translates a DWARF expression over wasm state (locals, globals, linear-memory addresses) into one over the
/// machine frame: a local is its stack slot, a global its place in the vmctx, a linear-memory address the
/// instance's memory base plus it. A frame base, whose value is a linear-memory address, becomes the machine
/// address there. `None` for what has no translation (the operand stack, memories other than the first,
/// operations that read linear memory through a wasm address).
fn translate_expression<R: gimli::Reader<Offset = usize>>(
    expression: gimli::Expression<R>,
    encoding: gimli::Encoding,
    frame: &FrameLocations,
    frame_base: bool,
) -> Option<write::Expression> {
    use gimli::Operation as Op;
    let mut operations = Vec::new();
    let mut iter = expression.operations(encoding);
    while let Some(op) = iter.next().ok()? {
        operations.push(op);
    }
    let mut out = write::Expression::new();
    let mut i = 0;
    while i < operations.len() {
        // Whether the wasm location at `i` is the whole location (alone, or only made a value): then it is a
        // place in memory of its own, not a value to compute with.
        let whole = |i: usize| {
            i + 1 == operations.len() || (i + 2 == operations.len() && matches!(operations[i + 1], Op::StackValue))
        };
        match operations[i] {
            Op::WasmLocal { index } => {
                let (offset, size) = *frame.frame.locals.get(index as usize)?;
                out.op_breg(FRAME_POINTER, i64::from(offset));
                if frame_base {
                    // The frame base is the linear-memory address the local holds, at its machine address.
                    out.op_deref_size(size.min(4));
                    push_memory_base(&mut out, frame)?;
                    out.op(constants::DW_OP_plus);
                    if whole(i) {
                        return Some(out);
                    }
                } else if whole(i) {
                    return Some(out);
                } else {
                    out.op_deref_size(size);
                }
            }
            Op::WasmGlobal { index } => {
                let offset = (*frame.global_values.get(index as usize)?)?;
                push_vmctx(&mut out, frame);
                out.op_plus_uconst(u64::from(offset));
                if frame_base {
                    out.op_deref_size(4);
                    push_memory_base(&mut out, frame)?;
                    out.op(constants::DW_OP_plus);
                    if whole(i) {
                        return Some(out);
                    }
                } else if whole(i) {
                    return Some(out);
                } else {
                    out.op_deref();
                }
            }
            Op::Address { address } => {
                push_memory_base(&mut out, frame)?;
                out.op_plus_uconst(address);
            }
            Op::FrameOffset { offset } => out.op_fbreg(offset),
            Op::UnsignedConstant { value } => out.op_constu(value),
            Op::SignedConstant { value } => out.op_consts(value),
            Op::PlusConstant { value } => out.op_plus_uconst(value),
            Op::StackValue => out.op(constants::DW_OP_stack_value),
            Op::Piece { size_in_bits, bit_offset: None } if size_in_bits % 8 == 0 => out.op_piece(size_in_bits / 8),
            Op::Plus => out.op(constants::DW_OP_plus),
            Op::Minus => out.op(constants::DW_OP_minus),
            Op::Mul => out.op(constants::DW_OP_mul),
            Op::And => out.op(constants::DW_OP_and),
            Op::Or => out.op(constants::DW_OP_or),
            Op::Xor => out.op(constants::DW_OP_xor),
            Op::Neg => out.op(constants::DW_OP_neg),
            Op::Not => out.op(constants::DW_OP_not),
            Op::Shl => out.op(constants::DW_OP_shl),
            Op::Shr => out.op(constants::DW_OP_shr),
            Op::Shra => out.op(constants::DW_OP_shra),
            Op::Swap => out.op(constants::DW_OP_swap),
            Op::Drop => out.op(constants::DW_OP_drop),
            Op::Nop => {}
            _ => return None,
        }
        i += 1;
    }
    Some(out)
}

/// The unit's line program for the machine code: one sequence per compiled function the program covers, a row
/// wherever the source position of the machine code changes.
fn rebuild_line_program<R: gimli::Reader<Offset = usize>>(
    mut program: write::ConvertLineProgram<'_, R>,
    mapper: &AddressMapper<'_>,
) -> Result<(write::LineProgram, Vec<write::FileId>)> {
    let mut rows: Vec<(u64, write::LineRow)> = Vec::new();
    let mut base = 0;
    while let Some(row) = program.read_row()? {
        match row {
            ConvertLineRow::SetAddress(address) => base = address,
            ConvertLineRow::Row(row) => rows.push((base + row.address_offset, row)),
            ConvertLineRow::EndSequence(_) => {}
        }
    }
    rows.sort_by_key(|(address, _)| *address);
    let (mut program, files) = program.program();
    let code_section_start = u64::from(mapper.dwarf.code_section_start);
    for (func, loc) in mapper.code.functions.iter().enumerate() {
        let Some(&(body_start, body_end)) = mapper.dwarf.func_body_ranges.get(func) else { break };
        let (body_start, body_end) = (u64::from(body_start), u64::from(body_end));
        // The row in effect at module offset `at`, if it belongs to this function's body.
        let row_at = |at: u64| -> Option<&write::LineRow> {
            let address = at.checked_sub(code_section_start)?;
            let i = rows.partition_point(|(a, _)| *a <= address).checked_sub(1)?;
            let (row_address, row) = &rows[i];
            (row_address + code_section_start >= body_start).then_some(row)
        };
        let first = rows.partition_point(|(a, _)| a + code_section_start < body_start);
        if rows.get(first).is_none_or(|(a, _)| a + code_section_start >= body_end) {
            continue;
        }
        let entry_row = rows[first].1;
        program.begin_sequence(Some(Address::Constant(mapper.text_start + u64::from(loc.start))));
        let mut last: Option<(write::FileId, u64, u64)> = None;
        let map = &mapper.code.address_map;
        let from = map.partition_point(|&(offset, _)| offset < loc.start);
        let mut emit = |code_offset: u32, row: &write::LineRow, program: &mut write::LineProgram| {
            let key = (row.file, row.line, row.column);
            if last == Some(key) {
                return;
            }
            last = Some(key);
            *program.row() = write::LineRow { address_offset: u64::from(code_offset - loc.start), ..*row };
            program.generate_row();
        };
        // The prologue belongs to the function's first line.
        emit(loc.start, &entry_row, &mut program);
        for &(code_offset, value) in map[from..].iter().take_while(|(offset, _)| *offset < loc.start + loc.length) {
            let Some(wasm) = mapper.code.innermost_offset(value) else { continue };
            if let Some(row) = row_at(u64::from(wasm)) {
                emit(code_offset, row, &mut program);
            }
        }
        program.end_sequence(u64::from(loc.length));
    }
    Ok((program, files))
}

/// An ELF object that tells a debugger about code at `text_start`: its `.text` occupies no bytes in the image
/// (`SHT_NOBITS` at the code's address), beside the unwind table, the DWARF sections and the symbols.
fn write_elf(
    text_start: u64,
    text_len: u64,
    eh_frame: &[u8],
    dwarf: &[(&'static str, Vec<u8>)],
    symbols: &[(String, u64, u64)],
) -> Result<Vec<u8>> {
    let (machine, is_64) = match std::env::consts::ARCH {
        "x86_64" => (elf::EM_X86_64, true),
        "aarch64" => (elf::EM_AARCH64, true),
        other => anyhow::bail!("no debug images for {other}"),
    };
    let mut buffer = Vec::new();
    let mut w = Writer::new(object::Endianness::Little, is_64, &mut buffer);
    w.reserve_file_header();

    w.reserve_null_section_index();
    let text_name = w.add_section_name(b".text");
    let text_index = w.reserve_section_index();
    let eh_frame_name = (!eh_frame.is_empty()).then(|| w.add_section_name(b".eh_frame"));
    let eh_frame_index = eh_frame_name.map(|_| w.reserve_section_index());
    let dwarf_names: Vec<_> = dwarf.iter().map(|(name, _)| w.add_section_name(name.as_bytes())).collect();
    let dwarf_indices: Vec<_> = dwarf.iter().map(|_| w.reserve_section_index()).collect();
    let symbol_names: Vec<_> = symbols.iter().map(|(name, ..)| w.add_string(name.as_bytes())).collect();
    w.reserve_null_symbol_index();
    for _ in symbols {
        w.reserve_symbol_index(Some(text_index));
    }
    w.reserve_symtab_section_index();
    w.reserve_strtab_section_index();
    w.reserve_shstrtab_section_index();

    let eh_frame_offset = w.reserve(eh_frame.len(), 8);
    let dwarf_offsets: Vec<_> = dwarf.iter().map(|(_, data)| w.reserve(data.len(), 1)).collect();
    w.reserve_symtab();
    w.reserve_strtab();
    w.reserve_shstrtab();
    w.reserve_section_headers();

    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_EXEC,
        e_machine: machine,
        e_entry: 0,
        e_flags: 0,
    })?;
    w.write_align(8);
    w.write(eh_frame);
    for (_, data) in dwarf {
        w.write(data);
    }
    w.write_null_symbol();
    for ((_, address, size), name) in symbols.iter().zip(&symbol_names) {
        w.write_symbol(&Sym {
            name: Some(*name),
            section: Some(text_index),
            st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
            st_other: elf::STV_DEFAULT,
            st_shndx: 0,
            st_value: *address,
            st_size: *size,
        });
    }
    w.write_strtab();
    w.write_shstrtab();

    w.write_null_section_header();
    w.write_section_header(&SectionHeader {
        name: Some(text_name),
        sh_type: elf::SHT_NOBITS,
        sh_flags: u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR),
        sh_addr: text_start,
        sh_offset: 0,
        sh_size: text_len,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 16,
        sh_entsize: 0,
    });
    if let (Some(name), Some(_)) = (eh_frame_name, eh_frame_index) {
        w.write_section_header(&SectionHeader {
            name: Some(name),
            sh_type: elf::SHT_PROGBITS,
            sh_flags: u64::from(elf::SHF_ALLOC),
            // Its pointers are absolute (the loader relocated them), so where the section sits does not matter.
            sh_addr: eh_frame.as_ptr() as u64,
            sh_offset: eh_frame_offset as u64,
            sh_size: eh_frame.len() as u64,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: 8,
            sh_entsize: 0,
        });
    }
    for ((name, offset), (_, data)) in dwarf_names.iter().zip(&dwarf_offsets).zip(dwarf) {
        w.write_section_header(&SectionHeader {
            name: Some(*name),
            sh_type: elf::SHT_PROGBITS,
            sh_flags: 0,
            sh_addr: 0,
            sh_offset: *offset as u64,
            sh_size: data.len() as u64,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: 1,
            sh_entsize: 0,
        });
    }
    let _ = dwarf_indices;
    w.write_symtab_section_header(1);
    w.write_strtab_section_header();
    w.write_shstrtab_section_header();
    debug_assert_eq!(w.reserved_len(), w.len());
    Ok(buffer)
}
