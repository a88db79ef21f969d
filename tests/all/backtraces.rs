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

const MILLION_TRAPS_CHILD_ENV: &str = "WEFT_MILLION_TRAPS_CHILD";

/// Runs only as the child process of `a_million_traps_leave_memory_flat`, alone, so that the resident memory it
/// measures is its own and not that of tests running beside it (allocators keep what those free).
#[test]
#[ignore = "runs only as the child process of a_million_traps_leave_memory_flat"]
fn a_million_traps_child() {
    assert!(std::env::var_os(MILLION_TRAPS_CHILD_ENV).is_some(), "run by a_million_traps_leave_memory_flat only");
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
    println!("WEFT-RESIDENT-KIB {before} {after}");
}

#[test]
fn a_million_traps_leave_memory_flat() {
    let output = crate::run_test_in_child("backtraces::a_million_traps_child", MILLION_TRAPS_CHILD_ENV);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the child failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    // libtest prints the test's name before running it, so the figures may follow it on the same line.
    let line = stdout.lines().find_map(|l| l.split("WEFT-RESIDENT-KIB ").nth(1)).expect("the child's figures");
    let figures: Vec<u64> = line.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let (before, after) = (figures[0], figures[1]);
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

/// Small helpers called from a loop: most are inlined into their caller (the test checks the listing), and each can
/// trap in its own way, so that traps raised inside inlined code are compared with those of the same module
/// compiled without inlining.
const INLINED: &str = r#"(module $inl
    (memory 1)
    (table 3 funcref)
    (type $v (func))
    (elem (i32.const 0) $nop $nop $nop)
    (func $nop)
    (func $load (param i32) (result i32) (i32.load (local.get 0)))
    (func $div (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
    (func $indirect (param i32) (call_indirect (type $v) (local.get 0)))
    (func $inner (param i32) (drop (i32.rem_u (i32.const 7) (local.get 0))))
    (func $outer (param i32) (call $inner (i32.sub (local.get 0) (i32.const 1))))
    (func $sum (param $n i32) (param $what i32) (result i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (local.get $acc) (call $load (i32.mul (local.get $n) (i32.const 4)))))
            (local.set $acc (i32.add (local.get $acc) (call $div (local.get $n) (local.get $what))))
            (call $indirect (local.get $what))
            (call $outer (local.get $what))
            (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l))
        (local.get $acc))
    (func $run (export "run") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1))))"#;

fn run_inlined(
    inlining: bool,
    fuel: bool,
    n: i32,
    what: i32,
) -> (std::result::Result<i32, String>, Vec<(String, u32)>, u64) {
    let mut config = Config::new();
    config.inlining(inlining).consume_fuel(fuel);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, INLINED).unwrap();
    let mut store = Store::new(&engine, ());
    if fuel {
        store.set_fuel(1_000_000).unwrap();
    }
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance.get_typed_func::<(i32, i32), i32>(&mut store, "run").unwrap();
    let result = run.call(&mut store, (n, what));
    let left = if fuel { store.get_fuel().unwrap() } else { 0 };
    match result {
        Ok(v) => (Ok(v), Vec::new(), left),
        Err(e) => {
            let frames = e
                .downcast_ref::<WasmBacktrace>()
                .expect("a trap has a backtrace")
                .frames()
                .iter()
                .map(|f| (f.func_name().unwrap_or("?").to_string(), f.wasm_offset().unwrap()))
                .collect();
            (Err(e.downcast_ref::<Trap>().expect("a trap").to_string()), frames, left)
        }
    }
}

#[test]
fn inlined_frames_keep_their_names_and_offsets() {
    // The helpers really are inlined: `sum` calls `load`, `div` and `outer` no more, but the copy of `outer`
    // inlined into it keeps its call of `inner` (one level is inlined), and without inlining `sum` calls them all.
    let listing = |inlining: bool| {
        let mut config = Config::new();
        config.inlining(inlining);
        let text = Module::code_listing(&Engine::new(&config).unwrap(), INLINED, CodeListing::Asm).unwrap();
        let sum = text.split(";; function ").find(|f| f.contains("(sum)")).unwrap().to_string();
        // A direct call: `call User(..)` on x86-64, `bl` on aarch64.
        let direct = |l: &str| (l.starts_with("call ") && l.contains("User(")) || l.starts_with("bl ");
        sum.lines().filter(|l| direct(l.trim_start())).count()
    };
    assert_eq!(listing(false), 4, "load, div, outer and the indirect helper are called");
    // `indirect` stays a call: `call_indirect`'s checks make it 22 Cranelift instructions, over the limit.
    assert_eq!(listing(true), 2, "`indirect`, and `outer`'s own call of `inner`, are left");

    let wasm = wat::parse_str(INLINED).unwrap();
    let call_offsets = operator_offsets(&wasm, |op| matches!(op, Operator::Call { .. }));
    let trap_offsets = operator_offsets(&wasm, |op| {
        matches!(op, Operator::I32Load { .. } | Operator::I32DivU | Operator::CallIndirect { .. } | Operator::I32RemU)
    });
    // Function indices: 0 nop, 1 load, 2 div, 3 indirect, 4 inner, 5 outer, 6 sum, 7 run.
    let sum_calls = &call_offsets[6];
    let run_call = call_offsets[7][0];
    let cases: [(i32, i32, &str, Vec<(&str, u32)>); 4] = [
        // n * 4 is past the 64 KiB memory: a fault in inlined code, turned into a trap by the signal handler.
        (20_000, 1, "out of bounds memory access", vec![("load", trap_offsets[1][0]), ("sum", sum_calls[0])]),
        (3, 0, "integer divide by zero", vec![("div", trap_offsets[2][0]), ("sum", sum_calls[1])]),
        (3, 5, "undefined element", vec![("indirect", trap_offsets[3][0]), ("sum", sum_calls[2])]),
        // `inner` is called (not inlined) from the copy of `outer` inlined into `sum`: three frames, two of
        // them in one machine frame.
        (
            3,
            1,
            "integer divide by zero",
            vec![("inner", trap_offsets[4][0]), ("outer", call_offsets[5][0]), ("sum", sum_calls[3])],
        ),
    ];
    for (n, what, message, mut expected) in cases {
        expected.push(("run", run_call));
        let expected: Vec<(String, u32)> = expected.into_iter().map(|(f, at)| (f.to_string(), at)).collect();
        for inlining in [false, true] {
            let (result, frames, _) = run_inlined(inlining, false, n, what);
            assert!(result.as_ref().is_err_and(|e| e.contains(message)), "inlining {inlining}: {result:?}");
            assert_eq!(frames, expected, "inlining {inlining}, case {message}");
        }
    }
    // Fuel is counted the same in inlined code, whether the run ends normally or by a trap.
    for (n, what) in [(100, 2), (3, 0), (3, 1)] {
        let (a, frames_a, fuel_a) = run_inlined(false, true, n, what);
        let (b, frames_b, fuel_b) = run_inlined(true, true, n, what);
        assert!(fuel_a < 1_000_000);
        assert_eq!((a, frames_a, fuel_a), (b, frames_b, fuel_b), "n {n}, what {what}");
    }
}
