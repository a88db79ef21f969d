//! The C API from C: each program in `tests/c/` and each example in `examples/c/` is compiled with the system's C
//! compiler against `include/` and `libweft.a`, run, and its output compared; the examples also run under
//! AddressSanitizer's leak checker.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory cargo put this crate's libraries in (`target/<profile>`), found from this test's own path
/// (`target/<profile>/deps/c-<hash>`).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// Builds `libweft.a` as it is now: `cargo test` builds only this crate's tests, which do not link the library,
/// so a library left from an earlier build could be stale.
fn build_library() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let profile = library_dir().file_name().expect("a profile directory").to_string_lossy().into_owned();
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "-q", "-p", "weft-c-api"]);
        if profile == "release" {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building libweft failed");
    });
}

/// Compiles `tests/c/<name>.c` into a temporary directory; returns the executable.
fn compile(name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c").join(format!("{name}.c"));
    compile_source(&source, name, &[])
}

/// Compiles `source` (with `extra` compiler flags) into a temporary executable named after `name`.
fn compile_source(source: &Path, name: &str, extra: &[&str]) -> PathBuf {
    build_library();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("weft-c-api-{}-{name}", std::process::id()));
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(extra)
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(source)
        .arg(library_dir().join("libweft.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(status.success(), "compiling {} failed", source.display());
    out
}

/// The examples in `examples/c/`, by name.
fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/c exists")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".c").map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Runs example `name` (built by `compile_source`), with what it needs (the WASI example: a directory holding
/// input.txt), under `env`; returns its output and status, and checks what the WASI example wrote.
fn run_example(exe: &Path, name: &str, env: &[(&str, &str)]) -> (String, String, bool) {
    // Unique per call: the tests run in parallel, and two of them run the same example.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("weft-c-api-{}-{name}-{run}-dir", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("input.txt"), "hello file").unwrap();
    let mut command = Command::new(exe);
    if name == "wasi" {
        command.arg(&dir);
    }
    let output = command.envs(env.iter().copied()).output().expect("the example runs");
    if name == "wasi" && output.status.success() {
        assert_eq!(std::fs::read_to_string(dir.join("output.txt")).unwrap(), "hello file", "the WASI example's copy");
    }
    std::fs::remove_dir_all(&dir).ok();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&output.stdout), text(&output.stderr), output.status.success())
}

#[test]
fn examples_print_what_they_should() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c");
    let names = examples();
    assert!(names.len() >= 16, "the examples are missing: {names:?}");
    for name in names {
        let exe = compile_source(&dir.join(format!("{name}.c")), &name, &[]);
        let (stdout, stderr, ok) = run_example(&exe, &name, &[]);
        assert!(ok, "example {name} failed:\n{stdout}\n{stderr}");
        let expected = std::fs::read_to_string(dir.join("expected").join(format!("{name}.txt")))
            .unwrap_or_else(|e| panic!("examples/c/expected/{name}.txt: {e}"));
        assert_eq!(stdout, expected, "the output of example {name}");
        std::fs::remove_file(&exe).ok();
    }
}

/// Every example, built with AddressSanitizer, runs clean: no leak (LeakSanitizer checks at exit, Rust's
/// allocations included, since both sides use the C allocator), no invalid access. Weft's own signal handler
/// stays in charge of faults in compiled code (`handle_segv=0`).
#[test]
fn examples_leak_nothing_under_address_sanitizer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c");
    let options = [("ASAN_OPTIONS", "detect_leaks=1:handle_segv=0:allow_user_segv_handler=1:exitcode=23")];
    for name in examples() {
        let exe = compile_source(&dir.join(format!("{name}.c")), &format!("{name}-asan"), &["-fsanitize=address"]);
        let (stdout, stderr, ok) = run_example(&exe, &name, &options);
        assert!(ok && !stderr.contains("Sanitizer"), "example {name} under AddressSanitizer:\n{stdout}\n{stderr}");
        std::fs::remove_file(&exe).ok();
    }
}

fn run(exe: &Path, args: &[&Path]) -> String {
    let output = Command::new(exe).args(args).output().expect("the program runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{}",
        exe.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn basics() {
    let wasm = std::env::temp_dir().join(format!("weft-c-api-{}-basics.wasm", std::process::id()));
    let module = wat::parse_str(
        r#"(module
             (import "host" "add_env" (func $add (param i32) (result i32)))
             (import "host" "fail" (func $fail))
             (memory 1 3)
             (data (i32.const 0) "\07")
             (func (export "twice_plus") (param i32) (result i32) (call $add (i32.add (local.get 0) (local.get 0))))
             (func (export "call_fail") (call $fail))
             (func (export "divide") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
             (export "memory" (memory 0))
             (export "mem" (memory 0)))"#,
    )
    .unwrap();
    std::fs::write(&wasm, module).unwrap();
    let exe = compile("basics");
    // The default mode, then eager, lazy and tiered (`weft_config_compilation_set`): the same answers in each.
    for mode in ["", "1", "2", "3"] {
        let mode = Path::new(mode);
        let args: Vec<&Path> = if mode.as_os_str().is_empty() { vec![&wasm] } else { vec![&wasm, mode] };
        let output = run(&exe, &args);
        assert_eq!(
            output,
            "valid: 1\n\
         garbage valid: 0, compiles: 0\n\
         exports: 5\n\
         export 3 as a function: (nil)\n\
         kinds: 0 3\n\
         arity: 2 -> 1\n\
         twice_plus(5): no trap\n\
         result: 110, host calls: 1\n\
         call_fail(): the host says no\n\
         trap origin: function 4, offset 5 in it, 143 in the module; 1 frame(s); the instance: 1\n\
         divide(7, 0): wasm trap: integer divide by zero\n\
         divide with an i64: trap\n\
         memory: 1 page(s), 65536 bytes, byte 0 = 7\n\
         grow: 1, now 2 pages, byte 10 = 42\n\
         grow past the maximum: 0\n\
         finalized before the store goes: 0\n\
         finalized after: 1\n",
            "compilation mode {mode:?}"
        );
    }
    std::fs::remove_file(&wasm).ok();
    std::fs::remove_file(&exe).ok();
}

#[test]
fn reflection_globals_memories_serialization() {
    let wasm = std::env::temp_dir().join(format!("weft-c-api-{}-reflect.wasm", std::process::id()));
    let module = wat::parse_str(
        r#"(module
             (import "host" "counter" (global $counter (mut i64)))
             (import "host" "memory" (memory 1))
             (table 3 10 funcref)
             (func (export "bump")
               (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
               (i64.store (i32.const 0) (global.get $counter)))
             (global (export "limit") i32 (i32.const 99))
             (export "table" (table 0))
             (export "memory" (memory 0)))"#,
    )
    .unwrap();
    std::fs::write(&wasm, module).unwrap();
    let exe = compile("reflect");
    assert_eq!(
        run(&exe, &[&wasm]),
        "import host.counter: global kind 1 var\n\
         import host.memory: memory 1..none\n\
         export bump: func 0 -> 0\n\
         export limit: global kind 0 const\n\
         export table: table 3..10\n\
         export memory: memory 1..none\n\
         deserialized: 1\n\
         counter after two bumps: 42\n\
         memory byte 0 (the counter's low byte): 42\n\
         exported constant: 99 (kind 0)\n\
         after setting the constant: 99\n\
         its type: global kind 0 const, kind global\n"
    );
    std::fs::remove_file(&wasm).ok();
    std::fs::remove_file(&exe).ok();
}

#[test]
fn interrupting_from_another_thread_fuel_and_epochs() {
    let wasm = std::env::temp_dir().join(format!("weft-c-api-{}-interrupt.wasm", std::process::id()));
    std::fs::write(&wasm, wat::parse_str(r#"(module (func (export "spin") (loop $l (br $l))))"#).unwrap()).unwrap();
    let exe = compile("interrupt");
    assert_eq!(
        run(&exe, &[&wasm]),
        "fuel: ok\n\
         spin, interrupted: wasm trap: interrupted\n\
         fuel: ok\n\
         spin, with fuel: wasm trap: all fuel consumed\n\
         get fuel: ok\n\
         fuel left: 0\n\
         fuel: ok\n\
         deadline: ok\n\
         spin, past the deadline: wasm trap: interrupted\n\
         handle without interrupts: (nil)\n\
         fuel without consumption: fuel is disabled: enable it with Config::consume_fuel(true)\n"
    );
    std::fs::remove_file(&wasm).ok();
    std::fs::remove_file(&exe).ok();
}

/// `scripts/install-c-api.sh` installs the library, headers and `weft.pc`, and a program built with the flags
/// `pkg-config` then gives (dynamic and static) runs.
#[test]
fn installs_with_pkg_config() {
    if Command::new("pkg-config").arg("--version").output().is_err() {
        panic!("pkg-config is not installed (Debian package pkgconf)");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prefix = std::env::temp_dir().join(format!("weft-c-api-{}-prefix", std::process::id()));
    let profile = library_dir().file_name().unwrap().to_string_lossy().into_owned();
    let status = Command::new(root.join("scripts/install-c-api.sh"))
        .arg(&prefix)
        .env("WEFT_PROFILE", &profile)
        .env("CARGO_TARGET_DIR", library_dir().parent().unwrap())
        .status()
        .expect("the install script runs");
    assert!(status.success(), "install-c-api.sh failed");
    for file in ["include/wasm.h", "include/weft.h", "include/wasi.h", "lib/libweft.a", "lib/libweft.so"] {
        assert!(prefix.join(file).exists(), "{file} was not installed");
    }
    let pkg_config = |args: &[&str]| {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("weft")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .unwrap();
        assert!(out.status.success(), "pkg-config {args:?} weft: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().split_whitespace().map(str::to_string).collect::<Vec<_>>()
    };
    let cflags = pkg_config(&["--cflags"]);
    let libdir = pkg_config(&["--variable=libdir"]).concat();
    for (kind, libs) in [("dynamic", pkg_config(&["--libs"])), ("static", pkg_config(&["--static", "--libs"]))] {
        let exe = prefix.join(format!("hello-{kind}"));
        let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
        cc.args(&cflags).arg(root.join("examples/c/hello.c"));
        if kind == "static" {
            cc.arg(prefix.join("lib/libweft.a"));
        }
        let status = cc.args(&libs).arg(format!("-Wl,-rpath,{libdir}")).arg("-o").arg(&exe).status().unwrap();
        assert!(status.success(), "building hello ({kind}) with pkg-config's flags failed");
        assert!(run(&exe, &[]).starts_with("Hello from the host"), "hello ({kind})");
    }
    std::fs::remove_dir_all(&prefix).ok();
}

#[test]
fn boundary_reports_misuse() {
    let exe = compile("boundary");
    assert_eq!(
        run(&exe, &[]),
        "calling NULL: wasm_func_call: the function is NULL\n\
         instantiating NULL: wasm_instance_new: the store or module is NULL\n\
         a truncated module: unexpected end-of-file (at offset 0xa)\n\
         bad text: extra tokens remaining after parse\n     --> <anon>:1:43\n      |\n    1 | (module (func (result i32) (i64.const 1)))x\n      |                                           ^\n\
         an f64 for an i32: argument 0 (f64) is not of the type the function expects, i32\n\
         no argument: wrong number of arguments: the function takes 1, 0 given\n\
         an import from another store: wasm_instance_new: import 0 belongs to another store\n\
         too few imports: the module has 1 imports, but 0 were given\n\
         linking with nothing defined: unknown import: `::f` has not been defined (the module expects (func (param ) (result )))\n\
         fuel when it is off: fuel is disabled: enable it with Config::consume_fuel(true)\n\
         failures: 0\n"
    );
    std::fs::remove_file(&exe).ok();
}

#[test]
fn host_memory_creator() {
    let exe = compile("host_memory");
    assert_eq!(
        run(&exe, &[]),
        "memories made by the host: 1\n\
         poke(100): no trap\n\
         the host's storage holds what wasm wrote: 4\n\
         poke(65536), past the size: wasm trap: out of bounds memory access\n\
         grow(2): no trap\n\
         memory.grow returned 1; the host grew it 1 time(s); size now 3 pages\n\
         poke(65536), now inside: no trap\n\
         a 5-page memory: refused\n\
         why: instantiation failed: resource allocation failed: cannot allocate a linear memory of 5 pages: this host \
         gives at most 4 pages\n\
         memories freed with the store: 1 of 1\n"
    );
    std::fs::remove_file(&exe).ok();
}
