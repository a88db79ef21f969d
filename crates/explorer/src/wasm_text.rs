//! The module's wasm text, printed once with each line's binary offset and cut into its functions.

use std::collections::HashMap;
use std::ops::Range;
use wasmparser::{Parser, Payload, TypeRef};
use weft::Result;

/// A printed module, its lines grouped by defined function.
pub(crate) struct WasmText {
    text: String,
    /// Each line's byte range in `text` (without its newline) and binary offset.
    lines: Vec<(Range<usize>, Option<u32>)>,
    /// Each defined function's body range in the binary and its lines (a range of `lines`), by function index.
    functions: HashMap<u32, (Range<u32>, Range<usize>)>,
}

/// One function's lines: the body's range in the binary and each line with its binary offset.
pub(crate) struct FunctionText<'a> {
    pub(crate) body: Range<u32>,
    pub(crate) lines: Vec<(Option<u32>, &'a str)>,
}

/// Records where each printed line starts and the binary offset it stands for.
struct Lines<'a> {
    text: &'a mut String,
    starts: Vec<(usize, Option<u32>)>,
}

impl wasmprinter::Print for Lines<'_> {
    fn write_str(&mut self, s: &str) -> std::io::Result<()> {
        self.text.push_str(s);
        Ok(())
    }

    fn start_line(&mut self, binary_offset: Option<u64>) {
        self.starts.push((self.text.len(), binary_offset.and_then(|o| u32::try_from(o).ok())));
    }
}

impl WasmText {
    /// Prints `wasm` (binary) and finds its functions' lines.
    pub(crate) fn new(wasm: &[u8]) -> Result<WasmText> {
        let mut bodies = Vec::new();
        let mut imported_funcs = 0u32;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                            imported_funcs += 1;
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    bodies.push(range.start as u32..range.end as u32);
                }
                _ => {}
            }
        }

        let mut text = String::new();
        let mut printed = Lines { text: &mut text, starts: Vec::new() };
        // One space per level, not wasmprinter's two: indentation is a good part of a large module's text, and the
        // viewer doubles it back.
        wasmprinter::Config::new().indent_text(" ").print(wasm, &mut printed)?;
        let starts = printed.starts;
        let mut lines = Vec::with_capacity(starts.len());
        for (i, &(start, offset)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(text.len(), |&(next, _)| next);
            let line = &text[start..end];
            let trimmed = line.trim_end_matches(['\n', '\r']);
            lines.push((start..start + trimmed.len(), offset));
        }

        // A function's lines are those from the first whose offset lies in its body (the `(func` line, at the
        // body's start) to the last (its closing parenthesis, at the body's `end`), lines without an offset between
        // them included.
        let mut functions = HashMap::with_capacity(bodies.len());
        let mut line = 0;
        for (defined, body) in bodies.into_iter().enumerate() {
            let inside = |offset: Option<u32>| offset.is_some_and(|o| body.contains(&o));
            while line < lines.len() && !inside(lines[line].1) {
                line += 1;
            }
            let first = line;
            let mut last = line;
            while line < lines.len() && (lines[line].1.is_none() || inside(lines[line].1)) {
                if lines[line].1.is_some() {
                    last = line + 1;
                }
                line += 1;
            }
            line = last;
            functions.insert(imported_funcs + defined as u32, (body, first..last));
        }
        Ok(WasmText { text, lines, functions })
    }

    /// The lines of the function with index `index` (empty for an unknown index).
    pub(crate) fn function(&self, index: u32) -> FunctionText<'_> {
        let Some((body, lines)) = self.functions.get(&index) else {
            return FunctionText { body: 0..0, lines: Vec::new() };
        };
        FunctionText {
            body: body.clone(),
            lines: self.lines[lines.clone()]
                .iter()
                .map(|(range, offset)| (*offset, &self.text[range.clone()]))
                .collect(),
        }
    }
}
