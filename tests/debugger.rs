//! gdb on running wasm: `weft run -g` under `gdb -batch`, over tests/debug/debuggee.c built with -g at -O0 and -O1
//! (tests/wasi/build.sh). They install gdb when it is missing (scripts/ensure-gdb.sh: Debian's package).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The line of tests/debug/debuggee.c marked with the comment `line: {marker}`.
fn line_of(marker: &str) -> usize {
    line_in("debuggee.c", marker)
}

/// The line of tests/debug/`file` marked with the comment `line: {marker}`.
fn line_in(file: &str, marker: &str) -> usize {
    let source = std::fs::read_to_string(root().join("tests/debug").join(file)).unwrap();
    let needle = format!("line: {marker}");
    let marked = |l: &&str| l.split_once(&needle).is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with(' '));
    source.lines().position(|l| marked(&l)).unwrap_or_else(|| panic!("no line marked {marker}")) + 1
}

/// Installs gdb when it is missing (scripts/ensure-gdb.sh, once per test run), or fails saying how to.
fn ensure_gdb() {
    static INSTALLED: std::sync::Mutex<Option<bool>> = std::sync::Mutex::new(None);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let present = || Command::new("gdb").arg("--version").output().is_ok_and(|o| o.status.success());
    if installed.is_none() {
        if !present() {
            let _ = Command::new(root().join("scripts/ensure-gdb.sh")).status();
        }
        *installed = Some(present());
    }
    assert_eq!(
        *installed,
        Some(true),
        "these tests drive gdb, which is missing and could not be installed: run scripts/ensure-gdb.sh"
    );
}

/// Runs `weft run -g PROGRAM ARGS` under gdb in batch mode with `commands`, and returns what gdb printed.
fn gdb(program: &str, args: &[&str], commands: &[&str]) -> String {
    ensure_gdb();
    // A bound on the whole session, so that a gdb that waits on something never stops the test run.
    let mut gdb = Command::new("timeout");
    gdb.current_dir(root().join("tests/debug")).args(["300", "gdb", "-batch", "-nx"]);
    // Breakpoints on source that is not loaded yet (the code is compiled after gdb starts the program) stay
    // pending until the JIT image arrives; wasm traps use SIGSEGV, which gdb would otherwise stop on.
    for setup in ["set breakpoint pending on", "set pagination off", "handle SIGSEGV nostop noprint pass"] {
        gdb.args(["-ex", setup]);
    }
    for command in commands {
        gdb.args(["-ex", command]);
    }
    let cache = std::env::temp_dir().join(format!("weft-debugger-test-{}", std::process::id()));
    gdb.arg("--args").arg(env!("CARGO_BIN_EXE_weft")).args(["run", "-g", program]).args(args);
    gdb.env("WEFT_CACHE_DIR", cache);
    let out = gdb.output().expect("gdb runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!printed.contains("Segmentation fault") && !printed.contains("internal-error"), "{printed}");
    printed
}

/// The text gdb printed between the first line containing `from` and the next line containing `to`.
fn after<'a>(printed: &'a str, from: &str) -> &'a str {
    let at = printed.find(from).unwrap_or_else(|| panic!("gdb did not print {from:?}:\n{printed}"));
    &printed[at..]
}

#[test]
fn debugger_stops_on_lines_and_shows_frames_arguments_and_locals() {
    let fib_return = line_of("fib-return");
    let main_call = line_of("main-call");
    let printed = gdb(
        "debuggee-O0.wasm",
        &[],
        &[
            &format!("break debuggee.c:{fib_return}"),
            "run",
            "bt",
            "info args",
            "info locals",
            "up",
            "info args",
            "delete",
            "finish",
            "continue",
        ],
    );
    // The first stop is the deepest recursion that reaches the line: fib(2), called from fib(3), fib(4), ...
    let stop = after(&printed, "Breakpoint 1, fib (n=2) at debuggee.c:");
    assert!(stop.contains(&format!("debuggee.c:{fib_return}")), "{printed}");
    // Wasm frames by source function and line, out to the program's entry and the host frames around it.
    assert!(stop.contains("in fib (n=3) at debuggee.c:"), "{printed}");
    assert!(stop.contains("in fib (n=4) at debuggee.c:"), "{printed}");
    assert!(stop.contains(&format!("in start () at debuggee.c:{main_call}")), "{printed}");
    assert!(stop.contains("weft-array-to-wasm-trampoline"), "{printed}");
    assert!(stop.contains("weft_runtime::traphandlers::call_func_ref"), "{printed}");
    // fib(2): a = fib(1) = 1, b = fib(0) = 0, both kept in linear memory (the C shadow stack) at -O0.
    let locals = after(stop, "\nn = 2");
    assert!(locals.contains("\na = 1\nb = 0"), "{printed}");
    // One frame up, fib(3)'s own argument.
    assert!(after(locals, "#1 ").contains("\nn = 3"), "{printed}");
    // `finish` from fib(3) returns fib(3) = 2 to fib(4); the program then runs to its end.
    assert!(printed.contains("Value returned is $1 = 2"), "{printed}");
    assert!(printed.contains("result = 110"), "{printed}");
}

#[test]
fn debugger_shows_structs_arrays_and_steps() {
    let printed = gdb(
        "debuggee-O0.wasm",
        &[],
        &[
            "break sum_points",
            "run",
            "info args",
            "print points[1]",
            "print points[2].y",
            "print *points",
            "next",
            "next",
            "next",
            "info locals",
            "up",
            "print points",
            "print points[1].x",
            "print *cursor",
            "print cursor[1]",
            "print table",
            "print table[6]",
            "down",
            "finish",
            "continue",
        ],
    );
    let stop = after(&printed, "Breakpoint 1, sum_points (points=");
    assert!(stop.contains("count=3) at debuggee.c:"), "{printed}");
    assert!(stop.contains("\ncount = 3\n"), "{printed}");
    // Through the pointer argument into linear memory.
    assert!(stop.contains("$1 = {x = 3, y = 4}"), "{printed}");
    assert!(stop.contains("$2 = 6"), "{printed}");
    assert!(stop.contains("$3 = {x = 1, y = 2}"), "{printed}");
    // Three `next`s from the function's first line run `total = 0`, enter the loop and add the first product.
    let sum_loop = line_of("sum-loop");
    assert!(stop.contains(&format!("\n{sum_loop}\t")), "{printed}");
    // The caller's array, in its frame of linear memory.
    assert!(stop.contains("$4 = {{x = 1, y = 2}, {x = 3, y = 4}, {x = 5, y = 6}}"), "{printed}");
    assert!(stop.contains("$5 = 3"), "{printed}");
    // A pointer variable holding a linear-memory address, followed into the memory: `cursor = &table[3]`.
    assert!(stop.contains("$6 = 5\n$7 = 8\n"), "{printed}");
    // A global array in linear memory, found from the selected wasm frame.
    assert!(stop.contains("$8 = {1, 2, 3, 5, 8, 13, 21, 34}\n$9 = 21\n"), "{printed}");
    // 1*2 + 3*4 + 5*6.
    assert!(stop.contains("Value returned is $10 = 44"), "{printed}");
    assert!(printed.contains("result = 110"), "{printed}");
}

#[test]
fn debugger_reads_pointers_stored_in_linear_memory_as_wasm_pointers() {
    let printed = gdb(
        "debuggee-O0.wasm",
        &[],
        &[
            "break walk",
            "run",
            "print head->value",
            "print head->tag",
            "print sizeof(head->next)",
            "print head->next == &nodes[1]",
            "print nodes[2]",
            "print *head",
            "continue",
        ],
    );
    let stop = after(&printed, "Breakpoint 1, walk (head=");
    // The field after the 4-byte pointer is read where it is: a pointer read as 8 bytes would swallow it.
    assert!(stop.contains("$1 = 1\n$2 = 7\n$3 = 4\n"), "{printed}");
    // The stored pointer holds the wasm address of nodes[1]: `&nodes[1]` is a host address, so they differ, and
    // the field is shown as the wasm address it is, never as a host address cut short.
    assert!(stop.contains("$4 = 0\n"), "{printed}");
    assert!(stop.contains("$5 = {value = 3, next = 0x0, tag = 9}"), "{printed}");
    assert!(stop.contains("$6 = {value = 1, next = 0x"), "{printed}");
    assert!(stop.contains(", tag = 7}"), "{printed}");
    assert!(printed.contains("result = 110"), "{printed}");
}

#[test]
fn debugger_works_on_optimised_code() {
    let divide = line_of("divide");
    let printed = gdb(
        "debuggee-O1.wasm",
        &["divide-by-zero"],
        &["break sum_points", &format!("break debuggee.c:{divide}"), "run", "bt 2", "continue", "info args", "bt 2"],
    );
    // `count` is described by a location list at -O1 (it lives in a wasm local over part of the function).
    let stop = after(&printed, "Breakpoint 1, sum_points (");
    assert!(stop.contains("count=3) at debuggee.c:"), "{printed}");
    assert!(stop.contains("in start () at debuggee.c:"), "{printed}");
    // The argument values at -O1 live in wasm locals, which the machine code keeps in their stack slots.
    let stop = after(stop, "Breakpoint 2, divide (");
    assert!(stop.contains(&format!("at debuggee.c:{divide}")), "{printed}");
    assert!(stop.contains("\na = 110\nb = 0\n"), "{printed}");
}

#[test]
fn debugger_works_on_rust() {
    let printed = gdb(
        "debuggee_rs-O1.wasm",
        &[],
        &[
            "break debuggee_rs::scaled",
            "break debuggee_rs::area",
            "run",
            "bt 2",
            "info args",
            "print *p",
            "print p.y",
            "continue",
            "info args",
            "continue",
        ],
    );
    let stop = after(&printed, "Breakpoint 1, debuggee_rs::scaled (p=0x");
    let (file, line) = ("debuggee_rs.rs", line_in("debuggee_rs.rs", "rs-scaled"));
    assert!(stop.contains(&format!("factor=10) at {file}:{line}")), "{printed}");
    assert!(stop.contains(&format!("in debuggee_rs::_start () at {file}:")), "{printed}");
    // A reference argument, followed into linear memory.
    assert!(stop.contains("$1 = debuggee_rs::Point {x: 3, y: 4}\n$2 = 4\n"), "{printed}");
    assert!(after(stop, "Breakpoint 2, debuggee_rs::area (").contains(&format!(" at {file}:")), "{printed}");
    // 1*2 + 3*4 + 30 + 40.
    assert!(printed.contains("answer = 084"), "{printed}");
}

#[test]
fn trap_backtraces_name_source_lines() {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .current_dir(root())
        .args(["run", "tests/debug/debuggee-O1.wasm", "divide-by-zero"])
        .env("WEFT_CACHE_DIR", std::env::temp_dir().join(format!("weft-debugger-test-{}", std::process::id())))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("integer divide by zero"), "{stderr}");
    assert!(stderr.contains(&format!("debuggee-O1.wasm!divide at debuggee.c:{}", line_of("divide"))), "{stderr}");
    assert!(stderr.contains(&format!("debuggee-O1.wasm!start at debuggee.c:{}", line_of("start-divide"))), "{stderr}");
}
