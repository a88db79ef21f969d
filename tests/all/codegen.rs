//! Properties of the generated code that no wasm program can observe directly, read from the IR listing.

use weft::{CodeListing, Config, Engine, Module};

/// A function of each kind of bounds-checked access: an indirect call, a table read, a load whose static offset
/// (3 GiB) is beyond the guard region, and a plain load.
const ACCESSES: &str = r#"
(module
  (type $t (func (result i32)))
  (table 4 funcref)
  (memory 1)
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "table_get") (param i32) (result funcref) (table.get (local.get 0)))
  (func (export "far_load") (param i32) (result i32) (i32.load offset=3221225472 (local.get 0)))
  (func (export "plain_load") (param i32) (result i32) (i32.load (local.get 0))))
"#;

fn guards_per_function(config: &Config) -> Vec<usize> {
    let engine = Engine::new(config).unwrap();
    let clif = Module::code_listing(&engine, ACCESSES, CodeListing::Clif).unwrap();
    // Each function's listing starts with its `function` line.
    clif.split("\nfunction ")
        .skip(usize::from(!clif.starts_with("function ")))
        .map(|f| f.matches("select_spectre_guard").count())
        .collect()
}

/// Every access whose bounds are checked by compiled code takes its address through `select_spectre_guard`, so a
/// mispredicted check cannot read out of bounds speculatively; accesses that guard pages cover pay nothing.
#[test]
fn checked_accesses_are_guarded_against_speculation() {
    assert_eq!(guards_per_function(&Config::new()), [1, 1, 1, 0], "guard pages");
    let mut explicit = Config::new();
    explicit.explicit_bounds_checks(true);
    assert_eq!(guards_per_function(&explicit), [1, 1, 1, 1], "explicit bounds checks");
}

/// A leaf function whose `live` loaded values are all alive at once (summed in the reverse order of loading), so
/// that register allocation spills most of them: its frame grows with `live`.
fn leaf_with_live_values(live: usize) -> String {
    let mut body = String::new();
    for i in 0..live {
        body.push_str(&format!("(local.set {} (i64.load offset={} (local.get $p)))\n", i + 1, 8 * i));
    }
    body.push_str("(i64.const 0)\n");
    for i in (0..live).rev() {
        body.push_str(&format!("(i64.xor (i64.mul (local.get {}) (i64.const {})))\n", i + 1, 2 * i + 1));
    }
    format!(
        "(module (memory 1) (func $leaf (export \"leaf\") (param $p i32) (result i64) (local {}) {body}))",
        "i64 ".repeat(live)
    )
}

/// Leaf functions whose frame fits in the slack the runtime keeps below the stack limit skip the limit check;
/// larger ones, and every function that calls, keep it, so the limit stays exact where it protects anything.
#[test]
fn only_small_leaf_frames_skip_the_stack_check() {
    let engine = Engine::default();
    let checks = |wat: &str| {
        let asm = Module::code_listing(&engine, wat, CodeListing::Asm).unwrap();
        asm.matches("stk_ovf").count()
    };
    // 40 live values: a frame of a few hundred bytes (spills and saved registers), under the slack.
    let small = leaf_with_live_values(40);
    let asm = Module::code_listing(&engine, &small, CodeListing::Asm).unwrap();
    let has_frame = if cfg!(target_arch = "x86_64") { "subq $" } else { "stp x" };
    assert!(asm.contains(has_frame), "it has a frame:\n{asm}");
    assert_eq!(checks(&small), 0, "a small leaf frame is not checked");
    // 1,500 live values: about 12 KiB of spills, over the 8 KiB slack.
    assert_eq!(checks(&leaf_with_live_values(1500)), 1, "a large leaf frame is checked");
    // The same small body with a call in it (of an import, which cannot be inlined) is no leaf.
    let calling = small
        .replace("(i64.const 0)\n", "(call $host) (i64.const 0)\n")
        .replace("(module (memory 1)", "(module (import \"env\" \"f\" (func $host)) (memory 1)");
    assert_eq!(checks(&calling), 1, "a function that calls is checked");
}
