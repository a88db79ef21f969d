//! Trap backtraces (names, offsets, order), host errors and panics through nested wasm frames.

use wasmparser::{Operator, Parser, Payload};
use weft::*;

/// The byte offsets of the operators in each function body that satisfy `pick`, found independently of Weft.
fn operator_offsets(wasm: &[u8], pick: impl Fn(&Operator<'_>) -> bool) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut found = Vec::new();
            let mut ops = body.get_operators_reader().unwrap();
            while !ops.eof() {
                let (op, offset) = ops.read_with_offset().unwrap();
                if pick(&op) {
                    found.push(offset as u32);
                }
            }
            out.push(found);
        }
    }
    out
}

const THREE_DEEP: &str = r#"(module $app
    (import "host" "act" (func $act))
    (func $level3 (call $act) (unreachable))
    (func $level2 (nop) (call $level3))
    (func $level1 (export "run") (nop) (nop) (call $level2)))"#;

#[test]
fn trap_backtrace_offsets_match_the_module() {
    let wat = r#"(module $m
        (func $crash (unreachable))
        (func $middle (nop) (call $crash))
        (func $top (export "top") (nop) (nop) (call $middle)))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let offsets = operator_offsets(&wasm, |op| matches!(op, Operator::Unreachable | Operator::Call { .. }));
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let err = instance.get_typed_func::<(), ()>(&mut store, "top").unwrap().call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached));
    let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
    let got: Vec<_> =
        bt.frames().iter().map(|f| (f.func_name().unwrap(), f.func_index(), f.wasm_offset().unwrap())).collect();
    assert_eq!(got, [("crash", 0, offsets[0][0]), ("middle", 1, offsets[1][0]), ("top", 2, offsets[2][0])]);
    assert!(bt.frames().iter().all(|f| f.module_name() == Some("m")));
    let text = format!("{err:#}");
    assert!(text.contains("m!crash") && text.contains("m!middle") && text.contains("m!top"), "{text}");
}

#[test]
fn rust_and_cpp_names_are_demangled() {
    let (mut store, instance) = crate::instantiate(
        r#"(module
             (func $_ZN4core9panicking5panic17h0123456789abcdefE (unreachable))
             (func $_Z3fooi (call $_ZN4core9panicking5panic17h0123456789abcdefE))
             (func (export "run") (call $_Z3fooi)))"#,
    );
    let err = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ()).unwrap_err();
    let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
    assert_eq!(bt.frames()[0].func_name(), Some("core::panicking::panic"));
    assert_eq!(bt.frames()[1].func_name(), Some("foo(int)"));
    assert_eq!(bt.frames()[2].func_name(), None);
}

#[derive(Debug)]
struct HostRefusal(&'static str);
impl std::fmt::Display for HostRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host refused: {}", self.0)
    }
}
impl std::error::Error for HostRefusal {}

fn three_deep(act: impl Fn() -> Result<()> + Send + Sync + 'static) -> (Store<()>, TypedFunc<(), ()>) {
    let engine = Engine::default();
    let module = Module::new(&engine, THREE_DEEP).unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "act", act).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    (store, run)
}

#[test]
fn host_error_passes_through_three_wasm_frames_with_a_backtrace() {
    let (mut store, run) = three_deep(|| Err(HostRefusal("no").into()));
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<HostRefusal>().map(|e| e.0), Some("no"));
    assert!(err.downcast_ref::<Trap>().is_none(), "a host error is not a trap");
    let bt = err.downcast_ref::<WasmBacktrace>().expect("the wasm frames that called the host");
    let names: Vec<_> = bt.frames().iter().map(|f| f.func_name().unwrap()).collect();
    assert_eq!(names, ["level3", "level2", "level1"]);
}

#[test]
fn host_panic_passes_through_three_wasm_frames_intact() {
    let (mut store, run) = three_deep(|| std::panic::panic_any(String::from("payload from the host")));
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, ()))).unwrap_err();
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("payload from the host"));
    // The store still works, including the same path without a panic.
    let (mut store, run) = three_deep(|| Ok(()));
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached));
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

#[test]
fn a_million_traps_leave_memory_flat() {
    let (mut store, instance) = crate::instantiate(
        r#"(module (func $f (param i32) (if (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1)))) (else (unreachable))))
                   (func (export "run") (call $f (i32.const 3))))"#,
    );
    let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    for _ in 0..10_000 {
        assert!(run.call(&mut store, ()).is_err());
    }
    let before = resident_kib();
    for _ in 0..1_000_000 {
        let err = run.call(&mut store, ()).unwrap_err();
        debug_assert!(err.downcast_ref::<Trap>().is_some());
    }
    let after = resident_kib();
    assert!(after < before + 8 * 1024, "resident memory grew from {before} KiB to {after} KiB");
}

#[test]
fn backtrace_spans_host_calls_back_into_wasm() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module $nest
             (import "h" "reenter" (func $reenter))
             (func $deep (unreachable))
             (func $inner (export "inner") (call $deep))
             (func $outer2 (call $reenter))
             (func $outer1 (export "outer") (call $outer2)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, None::<Func>);
    let reenter = Func::wrap(&mut store, |mut caller: Caller<'_, Option<Func>>| -> Result<()> {
        let inner = caller.data().unwrap();
        inner.call(&mut caller, &[], &mut [])
    });
    let instance = Instance::new(&mut store, &module, &[reenter.into()]).unwrap();
    let inner = instance.get_func(&mut store, "inner").unwrap();
    *store.data_mut() = Some(inner);
    let err = instance.get_typed_func::<(), ()>(&mut store, "outer").unwrap().call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached));
    let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
    let names: Vec<_> = bt.frames().iter().map(|f| f.func_name().unwrap()).collect();
    assert_eq!(names, ["deep", "inner", "outer2", "outer1"]);
}
