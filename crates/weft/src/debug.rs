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
use std::collections::HashMap;
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
    let frames = Frames::new(module, code);
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
        let mut host_pointers = HashMap::new();
        let outside = Scope { frame: None, memory_base: None };
        convert_entry(&mut unit, root_id, &root, &mapper, &convert_address, outside, &mut host_pointers, warnings);
        // Made when the first variable outside every function needs it.
        let mut memory_base: Option<Option<write::UnitEntryId>> = None;
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
            let scope = match frame {
                Some(frame) => Scope { frame: Some(frame), memory_base: None },
                None if scopes.is_empty() && entry.attr(constants::DW_AT_location).is_some() => Scope {
                    frame: None,
                    memory_base: *memory_base.get_or_insert_with(|| memory_base_procedure(&mut unit, &mapper, &frames)),
                },
                None => outside,
            };
            convert_entry(&mut unit, id, &entry, &mapper, &convert_address, scope, &mut host_pointers, warnings);
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

/// Copies `entry`'s attributes to `id` with addresses mapped. Locations and frame bases are translated from wasm
/// state to the machine frame (see [`translate_expression`]); what cannot be is left out, which a debugger shows as
/// optimised out. An attribute that cannot be converted is left out with a warning, the rest of the entry kept.
fn convert_entry<R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'_, R>,
    id: write::UnitEntryId,
    entry: &write::ConvertUnitEntry<'_, R>,
    mapper: &AddressMapper<'_>,
    convert_address: &dyn Fn(u64) -> Option<Address>,
    scope: Scope<'_>,
    host_pointers: &mut HashMap<gimli::UnitOffset, write::UnitEntryId>,
    warnings: &mut Vec<String>,
) {
    let low_pc = low_pc(entry);
    // Pointers without a size of their own have the unit's address size, which is now the host's: give them their
    // wasm32 size back, or a debugger would read 8 bytes for each.
    if matches!(
        entry.tag,
        constants::DW_TAG_pointer_type | constants::DW_TAG_reference_type | constants::DW_TAG_rvalue_reference_type
    ) && entry.attr(constants::DW_AT_byte_size).is_none()
    {
        unit.unit.get_mut(id).set(constants::DW_AT_byte_size, WriteValue::Udata(4));
    }
    let mut replaced_type = false;
    for name in [constants::DW_AT_location, constants::DW_AT_frame_base] {
        let Some(attr) = entry.attr(name) else { continue };
        let gimli::AttributeValue::Exprloc(expression) = attr.value() else {
            // A location list: where the variable is over each range of the function's code.
            if let Some(list) = translate_location_list(entry, attr, scope, mapper) {
                let list = unit.unit.locations.add(list);
                unit.unit.get_mut(id).set(name, WriteValue::LocationListRef(list));
            }
            continue;
        };
        let frame_base = name == constants::DW_AT_frame_base;
        let Some((expression, in_memory)) =
            translate_expression(expression, entry.read_unit.encoding(), scope, frame_base)
        else {
            continue;
        };
        // A variable holding a wasm32 pointer is shown as the host address it points at, under a pointer type of
        // the host's size, so that `print *p`, `p->field` and `p[i]` read linear memory.
        let host_pointer = if in_memory && !frame_base { pointer_type_of(entry) } else { None };
        match host_pointer.and_then(|(offset, pointee)| {
            let value = pointer_value(expression.clone(), scope)?;
            Some((host_pointer_type(unit, offset, pointee, convert_address, host_pointers), value))
        }) {
            Some((ty, value)) => {
                unit.unit.get_mut(id).set(name, WriteValue::Exprloc(value));
                unit.unit.get_mut(id).set(constants::DW_AT_type, WriteValue::UnitRef(ty));
                replaced_type = true;
            }
            None => unit.unit.get_mut(id).set(name, WriteValue::Exprloc(expression)),
        }
    }
    for attr in &entry.attrs {
        match attr.name() {
            constants::DW_AT_location | constants::DW_AT_frame_base => continue,
            constants::DW_AT_type if replaced_type => continue,
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

/// A location list over wasm code as one over the machine code: each range mapped, each expression translated
/// (entries without a translation left out). `None` when nothing is left.
fn translate_location_list<R: gimli::Reader<Offset = usize>>(
    entry: &write::ConvertUnitEntry<'_, R>,
    attr: &gimli::read::Attribute<R>,
    scope: Scope<'_>,
    mapper: &AddressMapper<'_>,
) -> Option<write::LocationList> {
    let mut list = entry.read_unit.attr_locations(attr.value()).ok()??;
    let frame_base = attr.name() == constants::DW_AT_frame_base;
    let mut out = Vec::new();
    while let Some(location) = list.next().ok()? {
        let Some((data, _)) = translate_expression(location.data, entry.read_unit.encoding(), scope, frame_base) else {
            continue;
        };
        let (Some(begin), Some(end)) = (mapper.native(location.range.begin), mapper.native(location.range.end)) else {
            continue;
        };
        // Machine code does not keep the wasm order everywhere; a range whose ends cross describes nothing.
        if begin < end {
            out.push(write::Location::StartEnd { begin: Address::Constant(begin), end: Address::Constant(end), data });
        }
    }
    (!out.is_empty()).then_some(write::LocationList(out))
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
#[derive(Clone, Copy)]
struct FrameLocations<'a> {
    /// Frame-pointer offsets of the vmctx and locals.
    frame: &'a weft_environ::DebugFrame,
    /// Offset in the vmctx of the pointer to memory 0's definition, if the module has a memory.
    memory_pointer: Option<u32>,
    /// vmctx offset and size in bytes of each global's value, by global index, for the globals the module defines.
    global_values: &'a [Option<(u32, u8)>],
}

/// The frame layouts of a module's compiled functions.
struct Frames<'a> {
    code: &'a CompiledCode,
    memory_pointer: Option<u32>,
    global_values: Vec<Option<(u32, u8)>>,
}

impl<'a> Frames<'a> {
    fn new(module: &Module, code: &'a CompiledCode) -> Self {
        let offsets = weft_environ::VMOffsets::new(module);
        let memory_pointer =
            (!module.memories.is_empty()).then(|| offsets.memory_pointer(weft_environ::MemoryIndex::from_u32(0)));
        let global_values = (0..module.globals.len() as u32)
            .map(|g| {
                let defined = module.defined_global_index(weft_environ::GlobalIndex::from_u32(g))?;
                let size = match module.globals[g as usize].content {
                    weft_environ::ValType::I32 | weft_environ::ValType::F32 => 4,
                    weft_environ::ValType::V128 => 16,
                    _ => 8,
                };
                Some((offsets.defined_global(defined), size))
            })
            .collect();
        Frames { code, memory_pointer, global_values }
    }

    fn frame(&self, func: usize) -> Option<FrameLocations<'_>> {
        let frame = self.code.debug_frames.get(func)?;
        Some(FrameLocations { frame, memory_pointer: self.memory_pointer, global_values: &self.global_values })
    }
}

/// How an expression reaches the instance's state: through the frame of the function it belongs to, or, outside
/// every function (a global variable), through a DWARF procedure that reads the memory base in whichever wasm
/// frame the debugger has selected (see [`memory_base_procedure`]).
#[derive(Clone, Copy)]
struct Scope<'a> {
    frame: Option<FrameLocations<'a>>,
    memory_base: Option<write::UnitEntryId>,
}

/// A `DW_TAG_dwarf_procedure` whose location list gives, over each compiled function's code, the operations that
/// push the memory base from that function's frame: calling it finds the memory of the selected frame's instance.
fn memory_base_procedure<R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'_, R>,
    mapper: &AddressMapper<'_>,
    frames: &Frames<'_>,
) -> Option<write::UnitEntryId> {
    let mut list = Vec::new();
    for (func, loc) in mapper.code.functions.iter().enumerate() {
        let Some(frame) = frames.frame(func) else { continue };
        let mut data = write::Expression::new();
        push_memory_base(&mut data, Scope { frame: Some(frame), memory_base: None })?;
        let begin = mapper.text_start + u64::from(loc.start);
        list.push(write::Location::StartLength {
            begin: Address::Constant(begin),
            length: u64::from(loc.length),
            data,
        });
    }
    if list.is_empty() {
        return None;
    }
    let list = unit.unit.locations.add(write::LocationList(list));
    let root = unit.unit.root();
    let id = unit.unit.add(root, constants::DW_TAG_dwarf_procedure);
    unit.unit.get_mut(id).set(constants::DW_AT_location, WriteValue::LocationListRef(list));
    Some(id)
}

/// Appends the operations that push the vmctx pointer.
fn push_vmctx(out: &mut write::Expression, frame: FrameLocations<'_>) {
    out.op_breg(FRAME_POINTER, i64::from(frame.frame.vmctx));
    out.op_deref();
}

/// Appends the operations that push memory 0's base address.
fn push_memory_base(out: &mut write::Expression, scope: Scope<'_>) -> Option<()> {
    match (scope.frame, scope.memory_base) {
        (Some(frame), _) => {
            push_vmctx(out, frame);
            out.op_plus_uconst(u64::from(frame.memory_pointer?));
            out.op_deref();
            out.op_deref();
        }
        (None, Some(procedure)) => out.op_call(procedure),
        (None, None) => return None,
    }
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
    scope: Scope<'_>,
    frame_base: bool,
) -> Option<(write::Expression, bool)> {
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
                let frame = scope.frame?;
                let (offset, size) = *frame.frame.locals.get(index as usize)?;
                out.op_breg(FRAME_POINTER, i64::from(offset));
                if finish_wasm_place(&mut out, scope, size, frame_base, whole(i))? {
                    return Some((out, true));
                }
            }
            Op::WasmGlobal { index } => {
                let frame = scope.frame?;
                let (offset, size) = (*frame.global_values.get(index as usize)?)?;
                push_vmctx(&mut out, frame);
                out.op_plus_uconst(u64::from(offset));
                if finish_wasm_place(&mut out, scope, size, frame_base, whole(i))? {
                    return Some((out, true));
                }
            }
            Op::Address { address } => {
                push_memory_base(&mut out, scope)?;
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
    let memory_location = !matches!(operations.last(), Some(Op::StackValue | Op::Piece { .. }));
    Some((out, memory_location))
}

/// The host-sized pointer type standing in for the wasm32 pointer type at `offset` (made once per unit).
fn host_pointer_type<R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'_, R>,
    offset: gimli::UnitOffset,
    pointee: Option<gimli::read::Attribute<R>>,
    convert_address: &dyn Fn(u64) -> Option<Address>,
    host_pointers: &mut HashMap<gimli::UnitOffset, write::UnitEntryId>,
) -> write::UnitEntryId {
    if let Some(id) = host_pointers.get(&offset) {
        return *id;
    }
    let read_unit = unit.read_unit;
    // gdb keeps one pointer type per pointee and gives it the size of the last pointer DIE it read, so a host
    // pointer to `T` beside the wasm32 pointers to `T` (struct fields keep those) would resize them all. The host
    // pointer therefore points at a typedef of `T` under `T`'s name: a pointee of its own, the same to the eye.
    // The name: the first named type through qualifiers (`const struct node` is shown as `node`); `void` only for
    // a pointer to void.
    let mut name = None;
    let mut next = pointee.as_ref().map(|attr| attr.value());
    for _ in 0..8 {
        let Some(gimli::AttributeValue::UnitRef(target)) = next else { break };
        let Ok(target) = read_unit.entry(target) else { break };
        if let Some(found) = target.attr_value(constants::DW_AT_name) {
            name = read_unit.attr_string(found).ok().and_then(|n| n.to_slice().ok().map(|n| n.into_owned()));
            break;
        }
        next = target.attr_value(constants::DW_AT_type);
    }
    let name = name.or_else(|| pointee.is_none().then(|| b"void".to_vec()));
    let pointee = pointee.and_then(|attr| unit.convert_attribute_value(read_unit, &attr, convert_address).ok());
    let root = unit.unit.root();
    let alias = unit.unit.add(root, constants::DW_TAG_typedef);
    if let Some(name) = name {
        unit.unit.get_mut(alias).set(constants::DW_AT_name, WriteValue::String(name));
    }
    if let Some(pointee) = pointee {
        unit.unit.get_mut(alias).set(constants::DW_AT_type, pointee);
    }
    let id = unit.unit.add(root, constants::DW_TAG_pointer_type);
    unit.unit.get_mut(id).set(constants::DW_AT_byte_size, WriteValue::Udata(8));
    unit.unit.get_mut(id).set(constants::DW_AT_type, WriteValue::UnitRef(alias));
    host_pointers.insert(offset, id);
    id
}

/// With the address of a wasm local's or global's value (`size` bytes) pushed: a frame base is the host address
/// of the linear-memory address it holds; a location that is the place alone (`whole`) is done, `Some(true)`;
/// otherwise the value is read for the operations that follow. `None` for what cannot be read (a `v128`).
fn finish_wasm_place(
    out: &mut write::Expression,
    scope: Scope<'_>,
    size: u8,
    frame_base: bool,
    whole: bool,
) -> Option<bool> {
    if frame_base {
        out.op_deref_size(size.min(4));
        push_memory_base(out, scope)?;
        out.op(constants::DW_OP_plus);
    } else if !whole {
        if size > 8 {
            return None;
        }
        out.op_deref_size(size);
    }
    Some(whole)
}

/// Turns `location`, the place in memory of a wasm32 pointer, into the host address it points at (as a computed
/// value): the memory base plus the pointer, or null for null.
fn pointer_value(mut location: write::Expression, scope: Scope<'_>) -> Option<write::Expression> {
    location.op_deref_size(4);
    location.op(constants::DW_OP_dup);
    let non_null = location.op_bra();
    let done = location.op_skip();
    let add_base = location.next_index();
    location.set_target(non_null, add_base);
    push_memory_base(&mut location, scope)?;
    location.op(constants::DW_OP_plus);
    let end = location.next_index();
    location.set_target(done, end);
    location.op(constants::DW_OP_stack_value);
    Some(location)
}

/// The pointer type `entry`'s `DW_AT_type` names, through typedefs and qualifiers: its offset and `DW_AT_type`.
fn pointer_type_of<R: gimli::Reader<Offset = usize>>(
    entry: &write::ConvertUnitEntry<'_, R>,
) -> Option<(gimli::UnitOffset, Option<gimli::read::Attribute<R>>)> {
    let mut value = entry.attr_value(constants::DW_AT_type)?;
    for _ in 0..8 {
        let gimli::AttributeValue::UnitRef(offset) = value else { return None };
        let target = entry.read_unit.entry(offset).ok()?;
        let next = target.attr(constants::DW_AT_type);
        match target.tag {
            constants::DW_TAG_pointer_type => return Some((offset, next.cloned())),
            constants::DW_TAG_typedef | constants::DW_TAG_const_type | constants::DW_TAG_volatile_type => {
                value = next?.value();
            }
            _ => return None,
        }
    }
    None
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
        // Where the source's own prologue ends (a C function's shadow-stack setup, which its compiler marks), and
        // otherwise where the machine prologue ends: the first instruction compiled from the body, after the frame
        // setup, the stack-limit check and the stores of the locals to their slots, which have no wasm location.
        // A debugger stops there for `break function`, where the arguments can be read.
        let marks_prologue_end = rows[first..]
            .iter()
            .take_while(|(a, _)| a + code_section_start < body_end)
            .any(|(_, row)| row.prologue_end);
        let mut last: Option<(write::FileId, u64, u64)> = None;
        let mut emit =
            |code_offset: u32, row: &write::LineRow, prologue_end: bool, program: &mut write::LineProgram| {
                let key = (row.file, row.line, row.column);
                if last == Some(key) && !prologue_end {
                    return;
                }
                last = Some(key);
                let address_offset = u64::from(code_offset - loc.start);
                *program.row() = write::LineRow { address_offset, prologue_end, ..*row };
                program.generate_row();
            };
        emit(loc.start, &write::LineRow { prologue_end: false, ..entry_row }, false, &mut program);
        let mut in_machine_prologue = true;
        let map = &mapper.code.address_map;
        let from = map.partition_point(|&(offset, _)| offset < loc.start);
        let mut prologue_marked = false;
        for &(code_offset, value) in map[from..].iter().take_while(|(offset, _)| *offset < loc.start + loc.length) {
            let Some(wasm) = mapper.code.innermost_offset(value) else { continue };
            let Some(row) = row_at(u64::from(wasm)) else { continue };
            // A marked row ends the prologue at the first instruction compiled from it.
            let marked = marks_prologue_end && row.prologue_end && !prologue_marked;
            prologue_marked |= marked;
            let ends_machine_prologue = !marks_prologue_end && std::mem::take(&mut in_machine_prologue);
            let row = write::LineRow { prologue_end: false, ..*row };
            emit(code_offset, &row, marked || ends_machine_prologue, &mut program);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Engine, Module as WasmModule};
    use object::{Object, ObjectSection, ObjectSymbol};

    fn translate(bytes: &[u8], frame_base: bool) -> Option<(write::Expression, bool)> {
        let encoding = gimli::Encoding { format: gimli::Format::Dwarf32, version: 4, address_size: 4 };
        let debug_frame = weft_environ::DebugFrame { vmctx: -8, locals: vec![(-32, 4), (-24, 8), (-16, 4)] };
        let frame = FrameLocations { frame: &debug_frame, memory_pointer: Some(200), global_values: &[Some((48, 4))] };
        let expression = gimli::Expression(EndianSlice::new(bytes, LittleEndian));
        let scope = Scope { frame: Some(frame), memory_base: None };
        translate_expression(expression, encoding, scope, frame_base)
    }

    fn memory_base(out: &mut write::Expression) {
        out.op_breg(FRAME_POINTER, -8);
        out.op_deref();
        out.op_plus_uconst(200);
        out.op_deref();
        out.op_deref();
    }

    #[test]
    fn a_local_is_its_stack_slot() {
        let mut slot = write::Expression::new();
        slot.op_breg(FRAME_POINTER, -24);
        // DW_OP_WASM_location 0x0 1, alone and as a value.
        assert_eq!(translate(&[0xed, 0x00, 0x01], false), Some((slot.clone(), true)));
        assert_eq!(translate(&[0xed, 0x00, 0x01, 0x9f], false), Some((slot, true)));
        // Computing with it reads the slot: local 0 (4 bytes) plus 4, as a value.
        let mut value = write::Expression::new();
        value.op_breg(FRAME_POINTER, -32);
        value.op_deref_size(4);
        value.op_plus_uconst(4);
        value.op(constants::DW_OP_stack_value);
        assert_eq!(translate(&[0xed, 0x00, 0x00, 0x23, 0x04, 0x9f], false), Some((value, false)));
    }

    #[test]
    fn a_frame_base_becomes_a_host_address_in_linear_memory() {
        // The C frame pointer in local 2, as clang writes it: a linear-memory address.
        let mut expected = write::Expression::new();
        expected.op_breg(FRAME_POINTER, -16);
        expected.op_deref_size(4);
        memory_base(&mut expected);
        expected.op(constants::DW_OP_plus);
        assert_eq!(translate(&[0xed, 0x00, 0x02, 0x9f], true), Some((expected, true)));
        // A variable in linear memory at a static address, and one in a global.
        let mut static_address = write::Expression::new();
        memory_base(&mut static_address);
        static_address.op_plus_uconst(0x400);
        assert_eq!(translate(&[0x03, 0x00, 0x04, 0x00, 0x00], false), Some((static_address, true)));
        let mut global = write::Expression::new();
        global.op_breg(FRAME_POINTER, -8);
        global.op_deref();
        global.op_plus_uconst(48);
        assert_eq!(translate(&[0xed, 0x01, 0x00], false), Some((global, true)));
    }

    #[test]
    fn what_has_no_translation_is_left_out() {
        // The operand stack, a local the function does not have, an unknown location kind, truncated input.
        assert_eq!(translate(&[0xed, 0x02, 0x00], false), None);
        assert_eq!(translate(&[0xed, 0x00, 0x09], false), None);
        assert_eq!(translate(&[0xed, 0x07, 0x00], false), None);
        assert_eq!(translate(&[0xed, 0x00], false), None);
        // Reading linear memory through a wasm address would read host memory.
        assert_eq!(translate(&[0xed, 0x00, 0x00, 0x06], false), None);
    }

    fn debug_engine() -> Engine {
        let mut config = Config::new();
        config.debug_info(true).cache_dir(None::<std::path::PathBuf>);
        Engine::new(&config).unwrap()
    }

    /// The image of the committed -O0 test program: line rows, subprograms and frame bases for the machine code.
    #[test]
    fn the_image_describes_the_machine_code() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/debug");
        let source = std::fs::read_to_string(root.join("debuggee.c")).unwrap();
        let fib_return = source.lines().position(|l| l.contains("line: fib-return ")).unwrap() as u64 + 1;
        let module = WasmModule::from_file(&debug_engine(), root.join("debuggee-O0.wasm")).unwrap();
        let (image, warnings) = gdb_image(&module.inner.module, &module.inner.code).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");

        let file = object::File::parse(&*image).unwrap();
        let fib = file.symbols().find(|s| s.name() == Ok("fib")).expect("a symbol for fib");
        let text = module.inner.code.text_start() as u64;
        assert!(fib.address() >= text && fib.address() + fib.size() <= text + module.inner.code.text().len() as u64);
        let section = |id: gimli::SectionId| -> gimli::Result<EndianSlice<'_, LittleEndian>> {
            let data = file.section_by_name(id.name()).and_then(|s| s.data().ok()).unwrap_or(&[]);
            Ok(EndianSlice::new(data, LittleEndian))
        };
        let dwarf = gimli::Dwarf::load(section).unwrap();
        let mut units = dwarf.units();
        let header = units.next().unwrap().expect("a compile unit");
        let unit = dwarf.unit(header).unwrap();
        assert_eq!(unit.encoding().address_size, 8);

        // The line the test stops on has rows inside fib's machine code, and only there.
        let mut rows = unit.line_program.clone().unwrap().rows();
        let mut fib_return_rows = Vec::new();
        while let Some((_, row)) = rows.next_row().unwrap() {
            if row.line().map(|l| l.get()) == Some(fib_return) && !row.end_sequence() {
                fib_return_rows.push(row.address());
            }
        }
        assert!(!fib_return_rows.is_empty());
        for address in fib_return_rows {
            assert!((fib.address()..fib.address() + fib.size()).contains(&address), "{address:#x}");
        }

        // fib's subprogram covers its machine code, and its frame base is computed from the frame pointer.
        let mut entries = unit.entries();
        let mut found = false;
        while let Some(entry) = entries.next_dfs().unwrap() {
            if entry.tag() != constants::DW_TAG_subprogram {
                continue;
            }
            let name = entry.attr_value(constants::DW_AT_name).and_then(|n| dwarf.attr_string(&unit, n).ok());
            if name.map(|n| n.slice()) != Some(b"fib") {
                continue;
            }
            found = true;
            let low =
                entry.attr_value(constants::DW_AT_low_pc).and_then(|v| dwarf.attr_address(&unit, v).ok().flatten());
            assert_eq!(low, Some(fib.address()));
            assert_eq!(entry.attr(constants::DW_AT_high_pc).and_then(|a| a.udata_value()), Some(fib.size()));
            let Some(gimli::AttributeValue::Exprloc(base)) = entry.attr_value(constants::DW_AT_frame_base) else {
                panic!("fib has no frame base");
            };
            let first = base.operations(unit.encoding()).next().unwrap();
            assert!(
                matches!(first, Some(gimli::Operation::RegisterOffset { register, .. }) if register == FRAME_POINTER)
            );
        }
        assert!(found, "no subprogram for fib");
    }

    /// Malformed DWARF costs the debug information, never the module.
    #[test]
    fn malformed_dwarf_is_left_out_with_a_warning() {
        let wat = r#"(module
            (func (export "answer") (result i32) (i32.const 42))
            (@custom ".debug_info" "\ff\ff\ff\ff garbage")
            (@custom ".debug_abbrev" "\01\02")
            (@custom ".debug_line" "\10\00\00\00\09\00"))"#;
        let engine = debug_engine();
        let module = WasmModule::new(&engine, wat).unwrap();
        let (image, warnings) = gdb_image(&module.inner.module, &module.inner.code).unwrap();
        assert!(warnings.iter().any(|w| w.contains("DWARF")), "{warnings:?}");
        // The image still names the code.
        let file = object::File::parse(&*image).unwrap();
        assert!(file.symbols().any(|s| s.name().is_ok_and(|n| n.starts_with("wasm-function["))));
        let mut store = crate::Store::new(&engine, ());
        let instance = crate::Instance::new(&mut store, &module, &[]).unwrap();
        let answer = instance.get_typed_func::<(), i32>(&mut store, "answer").unwrap();
        assert_eq!(answer.call(&mut store, ()).unwrap(), 42);
    }

    /// Without `debug_info` nothing is kept or made for debuggers.
    #[test]
    fn without_debug_info_nothing_is_paid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/debug");
        let mut config = Config::new();
        config.cache_dir(None::<std::path::PathBuf>);
        let module = WasmModule::from_file(&Engine::new(&config).unwrap(), root.join("debuggee-O0.wasm")).unwrap();
        assert!(module.inner.module.dwarf.is_none());
        assert!(module.inner.code.info().debug_frames.is_empty());
        assert!(module.inner.text_as_compiled.is_none());
    }
}
