//! The page: the viewer (HTML, style, script) with the module's data embedded as JSON.
//!
//! The data are one `<script type="application/json">` block listing the functions and one block per function,
//! which the viewer parses only when the function is shown, so a large module costs the browser parsing its text
//! once, not building its whole listing. All text from the module (names, wasm text) is escaped: in the JSON every
//! `<`, `>` and `&` is written `\u003c`, `\u003e`, `\u0026`, so nothing in it can end the block, and the viewer
//! inserts text as text.

use crate::disasm::Instruction;
use crate::wasm_text::FunctionText;
use base64::Engine as _;
use std::fmt::Write as _;
use std::io::Write;
use weft::CompiledFunction;

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page being written.
pub(crate) struct Page {
    title: String,
    /// The function list's JSON: `{"module": name, "arch": arch, "functions": [[index, name, code bytes, wasm body
    /// bytes], ...]}`, without its closing `]}`.
    index: String,
    /// The functions' blocks, the `k`th function's with id `f{k}`.
    blocks: Vec<String>,
}

/// One function's part of the page: its entry in the function list and its block.
pub(crate) struct FunctionPart {
    entry: String,
    block: String,
}

impl Page {
    pub(crate) fn new(module_name: Option<&str>, arch: &str) -> Page {
        let mut index = String::from("{\"module\":");
        json_option(&mut index, module_name);
        index.push_str(",\"arch\":");
        json_string(&mut index, arch);
        index.push_str(",\"functions\":[");
        let title = match module_name {
            Some(name) => format!("{name} - weft explore"),
            None => "weft explore".to_string(),
        };
        Page { title, index, blocks: Vec::new() }
    }

    /// Adds the next function (the `k`th, as [`function_part`] was told).
    pub(crate) fn push(&mut self, part: FunctionPart) {
        if !self.blocks.is_empty() {
            self.index.push(',');
        }
        self.index.push_str(&part.entry);
        self.blocks.push(part.block);
    }

    /// Writes the whole page to `out`.
    pub(crate) fn write_to(mut self, out: &mut dyn Write) -> std::io::Result<()> {
        self.index.push_str("]}");
        let (head, tail) = TEMPLATE.split_once("<!--DATA-->").expect("the template has a data marker");
        // The style first: the title comes from the module, and a `{{STYLE}}` in it must stay text.
        let head = head.replace("{{STYLE}}", STYLE).replace("{{TITLE}}", &escape_html(&self.title));
        out.write_all(head.as_bytes())?;
        out.write_all(b"<script type=\"application/json\" id=\"index\">")?;
        out.write_all(self.index.as_bytes())?;
        out.write_all(b"</script>\n")?;
        for block in self.blocks {
            out.write_all(block.as_bytes())?;
        }
        out.write_all(tail.replace("{{SCRIPT}}", SCRIPT).as_bytes())
    }
}

/// The `k`th function's part of the page: its wasm lines and its machine instructions, each instruction tied to the
/// wasm instruction it came from by the function's address map.
pub(crate) fn function_part(
    k: usize,
    function: &CompiledFunction<'_>,
    text: FunctionText<'_>,
    code: &[Instruction],
) -> FunctionPart {
    let body_start = text.body.start;
    let relative = |offset: Option<u32>| offset.and_then(|o| o.checked_sub(body_start)).map_or(-1, i64::from);

    let mut entry = format!("[{},", function.index());
    json_option(&mut entry, function.name());
    let _ = write!(entry, ",{},{}]", function.machine_code().len(), text.body.len());

    // {"b": body start, "w": wasm lines, "wo": their offsets from the body's start (-1: none), "a": machine
    // instructions ("mnemonic\toperands" lines), "al": their lengths, "aw": the wasm offset each came from, "c": the
    // machine code (base64)}
    let mut out = String::new();
    let _ = write!(out, "<script type=\"application/json\" id=\"f{k}\">{{\"b\":{body_start},\"w\":");
    let wasm_lines: Vec<&str> = text.lines.iter().map(|(_, line)| *line).collect();
    json_string(&mut out, &wasm_lines.join("\n"));
    out.push_str(",\"wo\":");
    json_numbers(&mut out, text.lines.iter().map(|(offset, _)| relative(*offset)));
    let mut asm = String::new();
    for (i, insn) in code.iter().enumerate() {
        if i > 0 {
            asm.push('\n');
        }
        let _ = write!(asm, "{}\t{}", insn.mnemonic, insn.operands);
    }
    out.push_str(",\"a\":");
    json_string(&mut out, &asm);
    out.push_str(",\"al\":");
    json_numbers(&mut out, code.iter().map(|insn| i64::from(insn.len)));
    out.push_str(",\"aw\":");
    json_numbers(&mut out, wasm_offsets(function, code).into_iter().map(relative));
    out.push_str(",\"c\":\"");
    base64::engine::general_purpose::STANDARD.encode_string(function.machine_code(), &mut out);
    out.push_str("\"}</script>\n");
    FunctionPart { entry, block: out }
}

/// The wasm offset each instruction came from: that of the last address-map entry at or before it.
pub(crate) fn wasm_offsets(function: &CompiledFunction<'_>, code: &[Instruction]) -> Vec<Option<u32>> {
    let mut map = function.address_map().peekable();
    let mut current = None;
    code.iter()
        .map(|insn| {
            while let Some(&(offset, wasm)) = map.peek()
                && offset <= insn.offset
            {
                current = wasm;
                map.next();
            }
            current
        })
        .collect()
}

/// Writes `s` as a JSON string that is also safe inside an HTML `<script>` element.
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_option(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_string(out, s),
        None => out.push_str("null"),
    }
}

fn json_numbers(out: &mut String, numbers: impl Iterator<Item = i64>) {
    out.push('[');
    for (i, n) in numbers.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{n}");
    }
    out.push(']');
}

/// `s` as HTML text.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_cannot_end_a_script_block() {
        let mut out = String::new();
        json_string(&mut out, "</script><img src=x onerror=alert(1)>\"\\\n\u{1}\u{2028}");
        assert_eq!(out, r#""\u003c/script\u003e\u003cimg src=x onerror=alert(1)\u003e\"\\\n\u0001\u2028""#);
        assert!(!out.contains('<'));
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(escape_html("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    }
}
