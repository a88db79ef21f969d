//! Bad input gets a clear error, never a panic.

use weft::*;

fn compile_err(bytes: &[u8]) -> String {
    let engine = Engine::default();
    format!("{:#}", Module::new(&engine, bytes).unwrap_err())
}

#[test]
fn malformed_binary() {
    let msg = compile_err(b"\0asm\x01\0\0\0\x01\x05");
    assert!(msg.contains("offset"), "{msg}");
    let msg = compile_err(b"\0asm\x02\0\0\0");
    assert!(msg.contains("version"), "{msg}");
}

#[test]
fn text_syntax_error() {
    let msg = compile_err(b"(module (func (i32.add))");
    assert!(msg.contains("text"), "{msg}");
}

#[test]
fn invalid_module() {
    let msg = compile_err(b"(module (func (result i32) (i64.const 1)))");
    assert!(msg.contains("type mismatch"), "{msg}");
}

#[test]
fn disabled_feature_is_named() {
    type Disable = fn(&mut Config) -> &mut Config;
    let cases: [(&str, Disable, &str); 6] = [
        ("(module (func (drop (v128.const i64x2 0 0))))", |c| c.wasm_simd(false), "simd"),
        ("(module (func (result i32 i32) (i32.const 1) (i32.const 2)))", |c| c.wasm_multi_value(false), "multi-value"),
        (
            "(module (func (param i32) (result i32) (i32.extend8_s (local.get 0))))",
            |c| c.wasm_sign_extension(false),
            "sign-extension",
        ),
        (
            "(module (func (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0))))",
            |c| c.wasm_saturating_float_to_int(false),
            "saturating-float-to-int",
        ),
        (
            "(module (memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))",
            |c| c.wasm_bulk_memory(false),
            "bulk-memory",
        ),
        ("(module (func (param externref)))", |c| c.wasm_reference_types(false), "reference-types"),
    ];
    for (wat, disable, name) in cases {
        // Accepted by default...
        Module::new(&Engine::default(), wat).unwrap_or_else(|e| panic!("{wat}: {e:#}"));
        // ...and rejected, naming the proposal, when it is turned off.
        let mut config = Config::new();
        disable(&mut config);
        let msg = format!("{:#}", Module::new(&Engine::new(&config).unwrap(), wat).unwrap_err());
        assert!(msg.contains(name), "{wat}: {msg}");
    }
    let mut config = Config::new();
    config.wasm_1_0_only();
    let engine = Engine::new(&config).unwrap();
    assert!(Module::new(&engine, "(module (func (drop (v128.const i64x2 0 0))))").is_err());
}

#[test]
fn missing_import_names_module_and_field() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (import "env" "missing" (func (param i32))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let msg = format!("{:#}", Linker::new(&engine).instantiate(&mut store, &module).unwrap_err());
    assert!(msg.contains("env::missing") && msg.contains("i32"), "{msg}");
}

#[test]
fn mistyped_import_names_expected_and_found() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "f", |_: i64| {}).unwrap();
    let msg = format!("{:#}", linker.instantiate(&mut store, &module).unwrap_err());
    assert!(
        msg.contains("env::f") && msg.contains("expected (func (param i32)") && msg.contains("found (func (param i64)"),
        "{msg}"
    );
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(err.downcast_ref::<LinkError>().is_some());

    let module = Module::new(&engine, r#"(module (import "env" "m" (memory 2)))"#).unwrap();
    let small = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let msg = format!("{:#}", Instance::new(&mut store, &module, &[small.into()]).unwrap_err());
    assert!(msg.contains("env::m") && msg.contains("memory"), "{msg}");
    let f = Func::wrap(&mut store, || {});
    let msg = format!("{:#}", Instance::new(&mut store, &module, &[f.into()]).unwrap_err());
    assert!(msg.contains("expected (memory 2)") && msg.contains("found (func"), "{msg}");
    let msg = format!("{:#}", Instance::new(&mut store, &module, &[]).unwrap_err());
    assert!(msg.contains("1 imports"), "{msg}");
}

#[test]
fn wrong_arguments_to_call() {
    let (mut store, instance) =
        crate::instantiate(r#"(module (func (export "f") (param i32 f64) (result i32) (i32.const 0)))"#);
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut out = [Val::I32(0)];
    let msg = format!("{:#}", f.call(&mut store, &[Val::I32(1)], &mut out).unwrap_err());
    assert!(msg.contains("takes 2") && msg.contains("1 given"), "{msg}");
    let msg = format!("{:#}", f.call(&mut store, &[Val::I32(1), Val::F32(0)], &mut out).unwrap_err());
    assert!(msg.contains("argument 1") && msg.contains("f32") && msg.contains("f64"), "{msg}");
    let msg = format!("{:#}", f.call(&mut store, &[Val::I32(1), Val::F64(0)], &mut []).unwrap_err());
    assert!(msg.contains("results"), "{msg}");
    let msg = format!("{:#}", f.typed::<i32, i32>(&store).unwrap_err());
    assert!(msg.contains("type mismatch"), "{msg}");
    let msg = format!("{:#}", instance.get_typed_func::<(), ()>(&mut store, "nope").unwrap_err());
    assert!(msg.contains("nope"), "{msg}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let engine = Engine::default();
    let valid = wat::parse_str(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))) (data (i32.const 0) "abc"))"#,
    )
    .unwrap();
    // Every truncation and many single-byte corruptions of a valid module.
    for len in 0..valid.len() {
        let _ = Module::from_binary(&engine, &valid[..len]);
    }
    for i in 8..valid.len() {
        for b in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut bytes = valid.clone();
            bytes[i] = b;
            let _ = Module::from_binary(&engine, &bytes);
        }
    }
}
