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
