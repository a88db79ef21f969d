//! The page's data, without a browser: what the JSON blocks hold and how module text is escaped.

use serde_json::Value;
use weft::{Compilation, Config, Engine, Module};

const MODULE: &str = r#"
(module $demo
  (import "host" "log" (func $log (param i32)))
  (func $add (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func $count (param $n i32) (result i32) (local $acc i32)
    (loop $top
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (br_if $top (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func $"</script><img src=x onerror=alert(1)>" (result i32) (i32.const 7))
  (func (result f64) (f64.sqrt (f64.const 2))))
"#;

/// The JSON block with id `id`.
fn block(page: &str, id: &str) -> Value {
    let start = format!("<script type=\"application/json\" id=\"{id}\">");
    let from = page.find(&start).unwrap_or_else(|| panic!("no block {id}")) + start.len();
    let to = from + page[from..].find("</script>").unwrap();
    serde_json::from_str(&page[from..to]).unwrap()
}

#[test]
fn names_cannot_inject_markup() {
    let page = weft_explorer::explore(MODULE.as_bytes()).unwrap();
    assert!(!page.contains("<img"), "a name from the module became markup");
    assert!(!page.contains("</script><"), "a name from the module ended a script block");
    let index = block(&page, "index");
    assert_eq!(index["module"], "demo");
    let functions = index["functions"].as_array().unwrap();
    let indexes: Vec<u64> = functions.iter().map(|f| f[0].as_u64().unwrap()).collect();
    assert_eq!(indexes, [1, 2, 3, 4], "defined functions only, after the import");
    let names: Vec<Value> = functions.iter().map(|f| f[1].clone()).collect();
    assert_eq!(
        names,
        [Value::from("add"), "count".into(), "</script><img src=x onerror=alert(1)>".into(), Value::Null]
    );
}

#[test]
fn machine_code_maps_to_wasm_lines() {
    let page = weft_explorer::explore(MODULE.as_bytes()).unwrap();
    let f = block(&page, "f1");
    let lines: Vec<&str> = f["w"].as_str().unwrap().split('\n').collect();
    let line_offsets: Vec<i64> = f["wo"].as_array().unwrap().iter().map(|o| o.as_i64().unwrap()).collect();
    assert_eq!(lines.len(), line_offsets.len());
    assert!(lines[0].trim_start().starts_with("(func $count"), "{lines:?}");
    assert_eq!(lines.last().unwrap().trim(), ")");
    assert!(lines.iter().any(|l| l.trim() == "loop $top"), "{lines:?}");

    // Every machine instruction that came from wasm points at one of the function's wasm lines.
    let instruction_offsets: Vec<i64> = f["aw"].as_array().unwrap().iter().map(|o| o.as_i64().unwrap()).collect();
    let mapped: Vec<i64> = instruction_offsets.iter().copied().filter(|&o| o >= 0).collect();
    assert!(!mapped.is_empty());
    for o in &mapped {
        assert!(line_offsets.contains(o), "offset {o} is no line of {line_offsets:?}");
    }

    // The instructions cover the machine code exactly, and each takes the wasm offset of the last address-map entry
    // at or before it.
    use base64::Engine as _;
    let code = base64::engine::general_purpose::STANDARD.decode(f["c"].as_str().unwrap()).unwrap();
    let lengths: Vec<u32> = f["al"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as u32).collect();
    assert_eq!(lengths.iter().sum::<u32>() as usize, code.len());
    assert_eq!(f["a"].as_str().unwrap().split('\n').count(), lengths.len());

    let mut config = Config::new();
    config.compilation(Compilation::Eager);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let functions = module.compiled_functions().unwrap();
    let count = &functions[1];
    // Function indexes count the imported function first.
    assert_eq!((count.index(), count.name()), (2, Some("count")));
    assert_eq!(count.machine_code(), &code[..]);
    let map: Vec<(u32, Option<u32>)> = count.address_map().collect();
    assert!(map.windows(2).all(|w| w[0].0 < w[1].0), "sorted by code offset: {map:?}");
    let body_start = f["b"].as_i64().unwrap();
    let mut offset = 0;
    for (len, wasm) in lengths.iter().zip(&instruction_offsets) {
        let expected = map.iter().rev().find(|(code, _)| *code <= offset).and_then(|(_, wasm)| *wasm);
        assert_eq!(expected.map_or(-1, |w| i64::from(w) - body_start), *wasm, "the instruction at {offset:#x}");
        offset += len;
    }
}

#[test]
fn lazily_compiled_modules_have_no_code_to_list() {
    let mut config = Config::new();
    config.compilation(Compilation::Lazy);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let error = module.compiled_functions().unwrap_err();
    assert!(error.to_string().contains("Compilation::Eager"), "{error}");
    let error = weft_explorer::explore_with(&engine, MODULE.as_bytes()).unwrap_err();
    assert!(error.to_string().contains("Compilation::Eager"), "{error}");
}

#[test]
fn invalid_modules_are_errors() {
    let error = weft_explorer::explore(b"(module (func (result i32)))").unwrap_err();
    assert!(format!("{error:#}").contains("type mismatch"), "{error:#}");
    let error = weft_explorer::explore(b"(module (func").unwrap_err();
    assert!(format!("{error:#}").contains("cannot parse"), "{error:#}");
}
