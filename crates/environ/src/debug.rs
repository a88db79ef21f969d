//! Source line tables from a module's DWARF custom sections, for profilers.
//!
//! Compilers that emit DWARF for WebAssembly (clang `-g`, rustc with debug info) put the standard sections in
//! custom sections named `.debug_info`, `.debug_line`, …; their addresses are byte offsets from the start of the
//! code section's contents. This module reads only the line programs and turns them into a table keyed by module
//! byte offset, the offsets Weft's address map records. Debug information is optional: if it is malformed the
//! module simply has no line table, it never fails to compile.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A module's DWARF custom sections, as the compiler that made the module wrote them: addresses in them are byte
/// offsets from the start of the code section's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DwarfSections {
    /// Module offset of the code section's contents (DWARF address 0).
    pub code_section_start: u32,
    /// `(name, contents)` of each `.debug_*` section, in module order.
    pub sections: Vec<(String, Vec<u8>)>,
    /// Module offset range (`start..end`) of each defined function's body, by defined index.
    pub func_body_ranges: Vec<(u32, u32)>,
}

impl DwarfSections {
    /// The contents of section `name` (e.g. `.debug_info`), empty if the module has none.
    pub fn section(&self, name: &str) -> &[u8] {
        self.sections.iter().find(|(n, _)| n == name).map_or(&[], |(_, data)| data.as_slice())
    }
}

/// Which source line each wasm instruction came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTable {
    /// Source file paths, indexed by [`LineRow::file`].
    pub files: Vec<String>,
    /// Rows sorted by `wasm_offset`; a row covers the instructions up to the next row.
    pub rows: Vec<LineRow>,
}

/// One row of a [`LineTable`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRow {
    /// Byte offset in the module of the first instruction the row covers.
    pub wasm_offset: u32,
    /// Index into [`LineTable::files`].
    pub file: u32,
    /// 1-based line number; 0 where the compiler gave no line.
    pub line: u32,
}

impl LineTable {
    /// The row covering the instruction at module byte offset `wasm_offset`.
    pub fn lookup(&self, wasm_offset: u32) -> Option<LineRow> {
        let i = self.rows.partition_point(|r| r.wasm_offset <= wasm_offset).checked_sub(1)?;
        Some(self.rows[i])
    }

    /// The file name of `row`.
    pub fn file_name(&self, row: LineRow) -> &str {
        self.files.get(row.file as usize).map_or("", String::as_str)
    }
}

/// Reads the line programs of the DWARF sections in `sections` (by name, e.g. `.debug_line`), whose addresses are
/// relative to `code_section_start`, the module offset of the code section's contents. `None` without
/// `.debug_line` or when the sections cannot be read.
pub(crate) fn read_line_table(sections: &HashMap<&str, &[u8]>, code_section_start: u32) -> Option<LineTable> {
    use gimli::{EndianSlice, LittleEndian};
    sections.get(".debug_line")?;
    let dwarf = gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
        Ok(EndianSlice::new(sections.get(id.name()).copied().unwrap_or(&[]), LittleEndian))
    })
    .ok()?;
    let mut table = LineTable::default();
    let mut file_ids: HashMap<String, u32> = HashMap::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else { continue };
        let Some(program) = unit.line_program.clone() else { continue };
        let comp_dir = unit.comp_dir.map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        let mut rows = program.rows();
        while let Ok(Some((header, row))) = rows.next_row() {
            if row.end_sequence() {
                continue;
            }
            let Some(wasm_offset) = u32::try_from(row.address()).ok().and_then(|a| a.checked_add(code_section_start))
            else {
                continue;
            };
            let path = row.file(header).map(|file| {
                let name = dwarf.attr_string(&unit, file.path_name()).map(|s| s.to_string_lossy().into_owned());
                let dir = file
                    .directory(header)
                    .and_then(|d| dwarf.attr_string(&unit, d).ok())
                    .map(|s| s.to_string_lossy().into_owned());
                join_path(&comp_dir, dir.as_deref().unwrap_or(""), &name.unwrap_or_default())
            });
            let path = path.unwrap_or_default();
            let next_id = table.files.len() as u32;
            let file = *file_ids.entry(path.clone()).or_insert_with(|| {
                table.files.push(path);
                next_id
            });
            let line = row.line().map_or(0, |l| u32::try_from(l.get()).unwrap_or(u32::MAX));
            table.rows.push(LineRow { wasm_offset, file, line });
        }
    }
    if table.rows.is_empty() {
        return None;
    }
    table.rows.sort_by_key(|r| r.wasm_offset);
    Some(table)
}

/// A file's path from its compilation directory, include directory and name, each of which may be absolute.
fn join_path(comp_dir: &str, dir: &str, name: &str) -> String {
    let mut path = std::path::PathBuf::from(comp_dir);
    path.push(dir);
    path.push(name);
    // Without the `.` components that relative directories leave (`./././a.c` is `a.c`); `..` is kept, since it
    // cannot be resolved without the file system.
    let cleaned: std::path::PathBuf =
        path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    cleaned.to_string_lossy().into_owned()
}
